"""What ``convnet train`` checks before it trains: its arguments, its data, and a resume.

A resumed run must be the same run: the settings that decide its weights (data, model,
optimizer, learning rate, batch size, split, seed, augmentation) are stored in the
checkpoint and compared before anything is loaded (:meth:`convnet.train.Trainer.load_checkpoint`); only ``--epochs`` (and ``--patience``)
may change. Asking for more epochs than the run had extends it: the added epochs take the
learning rates that a straight run of the new length takes at those epochs, while the
epochs already done keep theirs (so with ``--schedule none`` the result equals a straight
run bit for bit; with a schedule that depends on the length it cannot).
"""

from __future__ import annotations

import os

import numpy as np

# settings that decide the weights of a run; --epochs and --patience may change on resume
RUN_SETTINGS = ("dataset", "arch", "optimizer", "lr", "momentum", "weight_decay", "schedule",
                "batch_size", "val_split", "limit", "seed", "augment", "hflip", "sync_bn",
                "image_size", "ignore_index", "crop_padding", "label_smoothing")


def check_arguments(args) -> None:
    """One-line errors for values argparse accepts but training cannot use."""
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit: expected a positive number of images, got {args.limit}")
    if args.patience is not None and args.patience < 1:
        raise ValueError(f"--patience: expected a positive number of epochs, got {args.patience}")
    if args.lr is not None and not (np.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"--lr: expected a positive learning rate, got {args.lr}")
    crop_padding = getattr(args, "crop_padding", None)
    if crop_padding is not None and crop_padding < 0:
        raise ValueError(f"--crop-padding: expected a non-negative number of pixels, "
                         f"got {crop_padding}")
    if crop_padding is not None and not args.augment:
        raise ValueError("--crop-padding: random crops are part of --augment; add --augment")
    smoothing = getattr(args, "label_smoothing", 0.0)
    if not 0.0 <= smoothing < 1.0:  # also refuses NaN
        raise ValueError(f"--label-smoothing: expected a fraction in [0, 1), got {smoothing}")


def check_training_data(data) -> None:
    """A training set a classifier can learn from: some images, at least two classes."""
    if len(data) == 0:
        raise ValueError(f"--dataset: the training set of {data.name} holds no images")
    present = np.unique(data.labels)
    if len(data.classes) < 2 or present.size < 2:
        names = [data.classes[i] for i in present] if len(data.classes) else []
        raise ValueError(f"--dataset: {data.name} has images of {present.size} class(es) "
                         f"{names}; a classifier needs at least two")


def run_settings(args, arch: str, lr: float, batch_size: int) -> dict:
    """The settings of this command that decide the run's weights (see RUN_SETTINGS)."""
    values = {"dataset": args.dataset, "arch": arch, "optimizer": args.optimizer, "lr": lr,
              "momentum": args.momentum if args.optimizer == "sgd" else None,
              "weight_decay": args.weight_decay, "schedule": args.schedule,
              "batch_size": batch_size, "val_split": args.val_split, "limit": args.limit,
              "seed": args.seed, "augment": args.augment, "hflip": args.hflip,
              "sync_bn": args.sync_bn, "image_size": getattr(args, "image_size", None),
              "ignore_index": getattr(args, "ignore_index", 255),
              "crop_padding": getattr(args, "crop_padding", None),
              "label_smoothing": getattr(args, "label_smoothing", 0.0)}
    return {key: values[key] for key in RUN_SETTINGS}


def remove_stale_temporaries(run_dir: str) -> list[str]:
    """Delete temporary files that a killed atomic write left in ``run_dir``."""
    removed = []
    if not os.path.isdir(run_dir):
        return removed
    for entry in os.listdir(run_dir):
        if entry.startswith(".") and entry.endswith(".tmp"):  # atomic_write's temporary names
            path = os.path.join(run_dir, entry)
            if os.path.isfile(path):
                os.unlink(path)
                removed.append(path)
    return removed
