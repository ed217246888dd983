"""``convnet train``: train a model on a dataset and write a run folder.

A run folder ``runs/<name>/`` holds ``model.safetensors`` (architecture, weights and
what ``predict`` needs: class names, input shape, normalisation), ``metrics.json``,
``checkpoint.safetensors`` (for ``--resume``), ``curves.png``, ``filters.png`` and
``confusion.png``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from . import data_parallel, segmentation_run
from .train_checks import (check_arguments, check_training_data, remove_stale_temporaries,
                           run_settings)

# the default model and schedule per dataset: what `convnet train --dataset NAME` runs
DEFAULTS = {
    "digits": {"model": "digits-cnn", "epochs": 25, "batch_size": 32, "lr": 3e-3},
    "shapes": {"model": "[8|3x3] relu maxpool [16|3x3] relu gap fc{classes}", "epochs": 10,
               "batch_size": 32, "lr": 3e-3},
    "mnist": {"model": "fashion-cnn", "epochs": 5, "batch_size": 64, "lr": 1e-3},
    "fashion-mnist": {"model": "fashion-cnn", "epochs": 5, "batch_size": 64, "lr": 1e-3},
    "kmnist": {"model": "fashion-cnn", "epochs": 5, "batch_size": 64, "lr": 1e-3},
    "cifar10": {"model": "uwnet-cifar", "epochs": 10, "batch_size": 128, "lr": 1e-3},
    "folder": {"model": "lenet", "epochs": 10, "batch_size": 32, "lr": 1e-3},
}


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "train", help="train a model (default: a small CNN on the bundled 8x8 digits)",
        description="Train a CNN. With no arguments: the bundled 8x8 digits, in under a minute.")
    parser.add_argument("--dataset", default="digits",
                        help="digits (default), shapes, mnist, fashion-mnist, kmnist, cifar10, "
                             "folder:PATH, or for segmentation shapes-seg, fashion-seg or a "
                             "folder:PATH of images and masks")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", help="a model name: digits-cnn, lenet, lenet-1998, fashion-cnn, "
                                       "uwnet-cifar, mlp, resnet20/32/44/56/110 (CIFAR "
                                       "ResNets), resnet18-cifar; per pixel: unet, "
                                       "unet-transpose, fcn, refine (default: the dataset's)")
    model.add_argument("--refine", type=int, metavar="T",
                       help="segmentation: the recurrent refinement model, T labellings by "
                            "one shared stage")
    model.add_argument("--arch", help="an architecture in the notes' notation, e.g. "
                                      "\"[32|5x5] relu maxpool[2x2 s2] fc10\"")
    parser.add_argument("--epochs", type=int, help="number of epochs (default: the dataset's)")
    parser.add_argument("--batch-size", type=int, help="images per batch")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (0.9)")
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help="L2 weight decay (biases exempt, as the notes' framework does)")
    parser.add_argument("--schedule", choices=("cosine", "step", "none"), default="cosine",
                        help="learning-rate schedule over the epochs (cosine)")
    parser.add_argument("--val-split", type=float, default=0.1,
                        help="fraction of the training set held out for validation (0.1)")
    parser.add_argument("--augment", action="store_true",
                        help="random crops (padding 2, or --crop-padding) and, for cifar10 or "
                             "with --hflip, horizontal flips")
    parser.add_argument("--crop-padding", type=int, metavar="P",
                        help="with --augment: pixels of zero padding around each image before "
                             "the random crop back to its size (2; 4 is the CIFAR ResNet recipe)")
    parser.add_argument("--hflip", action="store_true",
                        help="with --augment: also flip images left-right at random (natural "
                             "images; on by default for cifar10)")
    parser.add_argument("--label-smoothing", type=float, default=0.0, metavar="S",
                        help="cross-entropy against targets that give S of their mass evenly to "
                             "all classes, as torch's CrossEntropyLoss(label_smoothing=S) (0)")
    parser.add_argument("--patience", type=int, help="early stopping after N epochs without a "
                                                     "better validation loss")
    parser.add_argument("--limit", type=int, help="use only the first N training images")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--data-dir", help="where to look for dataset files first")
    parser.add_argument("--runs-dir", default="runs", help="parent folder of run folders (runs)")
    parser.add_argument("--name", help="run folder name (default: the dataset's name)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in the run folder from its last checkpoint")
    parser.add_argument("--sync-bn", action="store_true",
                        help="under mpiexec: batch-norm statistics over every process "
                             "(default: each process's own part of the batch, as PyTorch)")
    parser.add_argument("--image-size", metavar="HxW",
                        help="segmentation folders: resize images (bilinear) and masks (nearest)")
    parser.add_argument("--ignore-index", type=int, default=255,
                        help="segmentation: the mask value of unlabelled pixels (255)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    parser.set_defaults(run=run)


def _parameter_groups(model, weight_decay: float):
    """Decay weights, not biases or batch-norm parameters (the notes' homework framework)."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        (no_decay if parameter.ndim <= 1 or name.endswith("bias") else decay).append(parameter)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def run(args) -> int:
    rank, world = data_parallel.start()
    try:
        with data_parallel.quiet_unless_rank_zero(rank):
            return _run(args, rank, world)
    except BaseException as error:
        if world > 1:
            data_parallel.report_and_abort(error, rank, world)
        raise


def _run(args, rank: int, world: int) -> int:
    import convnet
    from .. import optim
    from ..data import DataLoader, load_dataset, random_split
    from ..io import save
    from ..models import (MODELS, RESIDUAL_MODELS, SEGMENTATION_MODELS, build_model,
                          is_segmentation_model)
    from ..train import Trainer, TrainingDiverged, write_metrics

    key = "folder" if args.dataset.startswith("folder:") else args.dataset.lower()
    layout = segmentation_run.layout_of(args.dataset)
    defaults = (segmentation_run.DEFAULTS if layout else DEFAULTS).get(key, DEFAULTS["folder"])
    # `is None`, not `or`: an explicit 0 is an error to report, not a request for the default
    epochs = defaults["epochs"] if args.epochs is None else args.epochs
    batch_size = defaults["batch_size"] if args.batch_size is None else args.batch_size
    lr = defaults["lr"] if args.lr is None else args.lr
    for name, value in (("--epochs", epochs), ("--batch-size", batch_size)):
        if value < 1:
            raise ValueError(f"{name}: expected a positive number, got {value}")
    if not 0 <= args.val_split < 1:
        raise ValueError(f"--val-split: expected a fraction in [0, 1), got {args.val_split}")
    check_arguments(args)
    data_parallel.check_batch(batch_size, world)

    convnet.manual_seed(args.seed)
    if layout:
        full_train, val, test, _ = segmentation_run.load_splits(args, load_dataset)
    else:
        if args.image_size is not None or args.refine is not None:
            raise ValueError(f"--{'image-size' if args.image_size else 'refine'}: for "
                             f"segmentation datasets; {args.dataset} has a label per image")
        full_train, val = load_dataset(args.dataset, "train", data_dir=args.data_dir), None
        test = _test_split(args, load_dataset)
    if args.limit is not None:
        full_train = full_train.subset(np.arange(min(args.limit, len(full_train))))
    (segmentation_run.check_masks if layout else check_training_data)(full_train)
    n_val = 0 if val is not None else int(round(len(full_train) * args.val_split))
    if n_val:
        train, val = random_split(full_train, [len(full_train) - n_val, n_val], rng=args.seed)
    else:
        train = full_train
    test_name = "test"
    if test is None:  # a folder without test/: the validation part stands in for it, and says so
        test, test_name = val, "validation"

    augment = None
    if args.augment:
        from ..data import Augment
        augment = Augment(crop_padding=2 if args.crop_padding is None else args.crop_padding,
                          hflip=args.hflip or key == "cifar10",
                          ignore_index=args.ignore_index)
    shard = (rank, world) if world > 1 else None  # each process takes its part of every batch
    train_loader = DataLoader(train, batch_size, shuffle=True, rng=args.seed, normalize=True,
                              augment=augment, shard=shard,
                              drop_last=data_parallel.drops_short_last_batch(len(train),
                                                                             batch_size, world))
    normalize = (train_loader.mean, train_loader.std)
    val_loader = DataLoader(val, 256, normalize=normalize, shard=shard) if val is not None else None
    test_loader = DataLoader(test, 256, normalize=normalize, shard=shard) if test is not None else None

    classes = list(full_train.classes)
    if args.model is not None and args.model not in MODELS and args.model not in \
            SEGMENTATION_MODELS and args.model not in RESIDUAL_MODELS:
        raise ValueError(f"--model: unknown model {args.model!r}; expected one of "
                         f"{', '.join([*MODELS, *RESIDUAL_MODELS, *SEGMENTATION_MODELS])} (or an "
                         f"architecture with "
                         f"--arch)")
    refine = None if args.refine is None else f"refine steps={args.refine}"
    arch = next(choice for choice in (args.arch, args.model, refine, defaults["model"])
                if choice is not None)
    arch = arch.replace("{classes}", str(len(classes)))
    if bool(layout) != is_segmentation_model(arch):
        raise ValueError(f"--model: {arch!r} gives " + (
            f"a label per image, but {args.dataset} has masks; use unet, unet-transpose, fcn "
            f"or refine" if layout else
            f"a label per pixel, but {args.dataset} has a label per image"))
    model = build_model(arch, full_train.image_shape, len(classes), rng=args.seed)
    replica = model
    if world > 1:  # gradients averaged over the processes after each backward pass
        from ..nn import SyncBatchNorm
        from ..nn.parallel import DistributedDataParallel
        if args.sync_bn:
            model = SyncBatchNorm.convert_sync_batchnorm(model)
        replica = DistributedDataParallel(model)
    if args.optimizer == "adam":
        optimizer = optim.Adam(_parameter_groups(replica, args.weight_decay), lr=lr)
    else:
        optimizer = optim.SGD(_parameter_groups(replica, args.weight_decay), lr=lr,
                              momentum=args.momentum)
    make_scheduler = {
        "cosine": lambda: optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs),
        "step": lambda: optim.lr_scheduler.StepLR(optimizer, max(1, epochs // 3), 0.3),
        "none": lambda: None}[args.schedule]
    scheduler = make_scheduler()

    run_dir = os.path.join(args.runs_dir, args.name or key.replace(":", "-"))
    os.makedirs(run_dir, exist_ok=True)
    for path in remove_stale_temporaries(run_dir):
        print(f"removed {path}, left by an interrupted write")
    if world > 1:
        print(f"convnet train: {world} processes (MPI), global batch {batch_size} = {world} x "
              f"{batch_size // world}; rank 0 prints and writes the run folder")
    counts = (len(train), 0 if val is None else len(val), 0 if test is None else len(test))
    if layout:
        print(segmentation_run.first_line(full_train, layout, counts, args.dataset))
    else:
        print(f"convnet train: {full_train.name} ({counts[0]} train, {counts[1]} validation, "
              f"{counts[2]} test images of {'x'.join(map(str, full_train.image_shape))}, "
              f"{len(classes)} classes)")
    print(f"model: {arch}  ({sum(p.size for p in model.parameters()):,} parameters)")
    print(f"optimizer: {args.optimizer} lr {lr} ({args.schedule} schedule), batch {batch_size}, "
          f"{epochs} epochs, seed {args.seed}; run folder: {run_dir}")

    model_metadata = {
        "dataset": dataset_spec(args.dataset, full_train.name), "classes": classes,
        "input_shape": list(full_train.image_shape),
        "normalize": {"mean": normalize[0].tolist(), "std": normalize[1].tolist()}, "arch": arch}
    if layout:
        model_metadata.update(task="segmentation", ignore_index=full_train.ignore_index)
        if args.image_size is not None and key == "folder":
            model_metadata["image_size"] = list(segmentation_run.parse_image_size(args.image_size))
    trainer = Trainer(replica, optimizer, train_loader, val_loader, scheduler, run_dir=run_dir,
                      patience=args.patience, progress=not args.no_progress,
                      num_classes=len(classes), config=run_settings(args, arch, lr, batch_size),
                      ignore_index=full_train.ignore_index, label_smoothing=args.label_smoothing)
    if args.resume:
        trainer.load_checkpoint()
        print(f"resumed from {trainer.checkpoint_path} after epoch {trainer.epoch}")
        if trainer.epoch > epochs:
            raise ValueError(f"--epochs {epochs}: the run in {run_dir} already has {trainer.epoch} "
                             f"epochs; ask for more to extend it")
        if scheduler is not None:
            # the schedule of the new length, replayed to where the run stopped: the added
            # epochs take the rates a straight run of --epochs takes there (train_checks.py)
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"]
            trainer.scheduler = make_scheduler()
            for _ in range(trainer.epoch):
                trainer.scheduler.step()
    started = time.perf_counter()
    try:
        history = trainer.fit(epochs)
    except TrainingDiverged as error:
        if rank == 0 and _keep_last_good_model(trainer, run_dir, model_metadata):
            raise TrainingDiverged(f"{error}; {run_dir}/model.safetensors holds its weights") from None
        raise
    seconds = time.perf_counter() - started

    results = {"dataset": model_metadata["dataset"], "model": arch, "classes": classes,
               "epochs": trainer.epoch, "train_seconds": seconds, "history": history,
               "seed": args.seed}
    if test_loader is not None:
        metrics = trainer.evaluate(test_loader)
        results["test"] = {**metrics.to_dict(classes), "split": test_name}
    model_path = os.path.join(run_dir, "model.safetensors")
    pictures, onnx_path = [], None
    if rank == 0:  # the replicas are identical: one writes
        save(model, model_path, metadata=model_metadata)
        write_metrics(os.path.join(run_dir, "metrics.json"), results)
        onnx_path = _write_onnx(model, model_metadata, run_dir)
        if args.no_plots:
            pictures = []
        elif layout:
            pictures = segmentation_run.pictures(run_dir, model, history, results, test,
                                                 normalize, classes)
        else:
            pictures = _pictures(run_dir, model, history, results, classes)

    print()
    if "test" in results and layout:
        print("\n".join(segmentation_run.report(results["test"], test_name, classes,
                                                trainer.epoch, seconds)))
    elif "test" in results:
        test_metrics = results["test"]
        print(f"{test_name} accuracy {test_metrics['accuracy']:.2%} (loss "
              f"{test_metrics['loss']:.4f}) on {test_metrics['count']} {test_name} images, after {trainer.epoch} epochs in {seconds:.1f} s")
        worst = sorted(test_metrics["per_class_accuracy"].items(), key=lambda kv: kv[1])[:3]
        print("hardest classes: " + ", ".join(f"{name} {value:.1%}" for name, value in worst))
    print(f"wrote {model_path}, {os.path.join(run_dir, 'metrics.json')}"
          + (f", {onnx_path}" if rank == 0 and onnx_path else "")
          + "".join(f", {path}" for path in pictures))
    print(f"next: convnet predict {model_path} IMAGE.png{' -o mask.png' if layout else ''}   |   "
          f"convnet evaluate {model_path}")
    return 0


def _write_onnx(model, metadata: dict, run_dir: str) -> str | None:
    """model.onnx beside model.safetensors when the onnx package is installed (Netron and
    ONNX Runtime read it); a model ONNX cannot hold exactly is said, not approximated."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return None
    from ..onnx import ExportError
    from .export_command import write_onnx
    path = os.path.join(run_dir, "model.onnx")
    try:
        write_onnx(model, metadata, path)
    except ExportError as error:
        print(f"(no model.onnx: {error})")
        return None
    return path


def _test_split(args, load_dataset):
    """The dataset's test split; None for a folder without train/ and test/ sub-folders."""
    if args.dataset.startswith("folder:"):
        root = args.dataset[len("folder:"):]
        if not (os.path.isdir(os.path.join(root, "train")) and os.path.isdir(os.path.join(root, "test"))):
            return None
    return load_dataset(args.dataset, "test", data_dir=args.data_dir)


def dataset_spec(argument: str, name: str) -> str:
    """What ``convnet evaluate`` needs to find the data again: a folder's absolute path."""
    if argument.startswith("folder:"):
        return "folder:" + os.path.abspath(argument[len("folder:"):])
    return name


def _keep_last_good_model(trainer, run_dir: str, metadata: dict) -> bool:
    """After a diverged run, write model.safetensors from the last good checkpoint (if any)."""
    from ..io import load_state, save
    if not trainer.epoch or not trainer.checkpoint_path or not os.path.exists(trainer.checkpoint_path):
        return False
    model = getattr(trainer.model, "module", trainer.model)  # the replica inside a data-parallel run
    model.load_state_dict(load_state(trainer.checkpoint_path)["model"])
    save(model, os.path.join(run_dir, "model.safetensors"), metadata=metadata)
    return True


def _pictures(run_dir, model, history, results, classes) -> list[str]:
    """Training curves, first-layer filters and the confusion matrix, when matplotlib is there."""
    try:
        from .. import viz
        paths = [viz.plot_training_curves(history, os.path.join(run_dir, "curves.png"))]
        first_conv = next((m for m in model.modules() if hasattr(m, "kernel_size")
                           and hasattr(m, "weight")), None)
        if first_conv is not None:
            paths.append(viz.plot_filters(first_conv.weight, os.path.join(run_dir, "filters.png"),
                                          title="first-layer filters"))
        if "test" in results:
            paths.append(viz.plot_confusion_matrix(np.array(results["test"]["confusion_matrix"]),
                                                   classes, os.path.join(run_dir, "confusion.png")))
        return paths
    except ImportError as error:
        print(f"(no pictures: {error})")
        return []
