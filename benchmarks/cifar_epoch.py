"""A whole epoch of the notes' CIFAR net on CIFAR-shaped data, loader and augmentation
included: convnet's DataLoader + Augment + Trainer-style loop against the same pipeline in
PyTorch.

Run from the repository root:

    python benchmarks/cifar_epoch.py              # 50,000 random 32x32 RGB images, 1 epoch
    python benchmarks/cifar_epoch.py --limit 5000 # a tenth of it

Data: ``--limit`` (50,000) random uint8 images scaled to [0, 1] (the shape of CIFAR-10's
training set; the speed of an epoch does not depend on the pixel values) and random labels
of 10 classes. Each library, per epoch: a seeded shuffle, batches of 32, random crops with
4 pixels of zero padding (a random offset per image), normalisation by the channel means,
then forward, cross-entropy, backward and an Adam step (lr 1e-3). convnet uses its own
``DataLoader(..., augment=Augment(crop_padding=4))``; PyTorch pads each batch with
``F.pad`` and cuts the crops with one ``unfold``-free gather, in the same loop, from a
uint8 tensor (how a CPU pipeline without worker processes runs). Both start from the same
weights (the torch twin of benchmarks/train_fashion.py). The epochs are timed one after the
other (convnet, then torch, then convnet and torch again); the ratio is the median of the
two pairs' ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import add_repo_to_path, import_torch, machine_note, print_table, settle  # noqa: E402

add_repo_to_path()

import convnet  # noqa: E402
import convnet.functional as F  # noqa: E402
from convnet.data import Augment, DataLoader, Dataset  # noqa: E402
from convnet.models import build_model  # noqa: E402

BATCH, PADDING, LR = 32, 4, 1e-3


def make_data(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, count).astype(np.int64)
    return images, labels


def convnet_epoch(model, optimizer, images, labels, seed: int) -> float:
    data = Dataset(images.astype(np.float32) / 255, labels, [str(i) for i in range(10)])
    loader = DataLoader(data, BATCH, shuffle=True, rng=seed, normalize=True,
                        augment=Augment(crop_padding=PADDING))
    model.train()
    started = time.perf_counter()
    for batch, target in loader:
        loss = F.cross_entropy(model(convnet.Tensor(batch)), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - started


def torch_epoch(torch, model, optimizer, images, labels, seed: int) -> float:
    tf = torch.nn.functional
    started = time.perf_counter()
    data = torch.from_numpy(images)
    target = torch.from_numpy(labels)
    scaled = data.float().div_(255)
    mean = scaled.mean(dim=(0, 2, 3)).view(1, 3, 1, 1)
    std = scaled.std(dim=(0, 2, 3)).view(1, 3, 1, 1)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=generator)
    rows = torch.arange(32).view(1, 32, 1)
    model.train()
    for start in range(0, len(order), BATCH):
        index = order[start:start + BATCH]
        batch = tf.pad(scaled[index], (PADDING,) * 4)
        n = len(index)
        dy = torch.randint(0, 2 * PADDING + 1, (n, 1, 1), generator=generator)
        dx = torch.randint(0, 2 * PADDING + 1, (n, 1, 1), generator=generator)
        ys, xs = (rows + dy).unsqueeze(1), (rows.transpose(1, 2) + dx).unsqueeze(1)
        crops = batch[torch.arange(n).view(n, 1, 1, 1), torch.arange(3).view(1, 3, 1, 1), ys, xs]
        crops = (crops - mean) / std
        loss = tf.cross_entropy(model(crops), target[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()
    return time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=50_000, help="images (50,000)")
    parser.add_argument("--json", default=None, metavar="PATH",
                        help="also write the epoch times to PATH (run_all.py)")
    args = parser.parse_args(argv)
    torch = import_torch(2)
    if torch is None:
        raise SystemExit("PyTorch is needed for the comparison: pip install torch==2.13.0")
    from train_fashion import torch_twin
    images, labels = make_data(args.limit)
    model = build_model("uwnet-cifar", (3, 32, 32), 10, rng=0)
    twin = torch_twin(model, (3, 32, 32), torch)
    ours = convnet.optim.Adam(model.parameters(), lr=LR)
    theirs = torch.optim.Adam(twin.parameters(), lr=LR)
    print(f"uwnet-cifar, {args.limit} images of 3x32x32, batch {BATCH}, random crops (padding "
          f"{PADDING}), Adam; torch {torch.__version__} (2 threads); {machine_note()}")
    times = {"convnet": [], "torch": []}
    for epoch in range(2):
        settle()
        times["convnet"].append(convnet_epoch(model, ours, images, labels, epoch))
        settle()
        times["torch"].append(torch_epoch(torch, twin, theirs, images, labels, epoch))
    ratios = [c / t for c, t in zip(times["convnet"], times["torch"])]
    print_table(["epoch", "convnet s", "torch s", "convnet/torch"],
                [[i + 1, c, t, r] for i, (c, t, r) in enumerate(zip(times["convnet"],
                                                                     times["torch"], ratios))])
    print(f"median ratio {float(np.median(ratios)):.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"images": args.limit, "seconds": times,
                       "ratio": float(np.median(ratios))}, f)


if __name__ == "__main__":
    main()
