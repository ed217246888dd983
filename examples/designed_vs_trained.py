"""A designed network beside the same network trained from scratch (seed 001, E8.10).

The designed network (convnet.designed) tells squares from diamonds with four hand-set
line kernels, a threshold, a global max pooling and a +/-1 vote. Here the same layers
start from random weights and are trained with Adam on the shapes training split; both
are then measured on the test split, and their first-layer kernels are printed and
drawn side by side.

    python examples/designed_vs_trained.py [--out OUT_DIR] [--quick] [--seed N]

Writes OUT_DIR/kernels.png (designed vs learned 3x3 kernels) and OUT_DIR/feature_maps.png
(the designed network's four line detectors on one square and one diamond).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import convnet
from convnet import optim
from convnet.data import DataLoader
from convnet.data.shapes import load_shapes
from convnet.designed import (CLASSES, LINE_KERNELS, predict, squares_vs_diamonds_layers,
                              squares_vs_diamonds_network)
from convnet.train import Trainer
from convnet.viz import feature_maps, save_image


def kernel_text(weights: np.ndarray, names) -> str:
    """The (4, 1, 3, 3) kernels as rows of text, side by side."""
    lines = ["   ".join(f"{name:<20}" for name in names)]
    for row in range(weights.shape[2]):
        lines.append("   ".join(" ".join(f"{value:+6.2f}" for value in kernel[0, row]) + " "
                                for kernel in weights))
    return "\n".join(lines)


def tile(maps: np.ndarray, scale: int, gap: int = 1) -> np.ndarray:
    """(K, h, w) maps in a row, each min-max scaled to [0, 1] on its own, enlarged."""
    tiles = []
    for item in maps:
        low, high = item.min(), item.max()
        item = (item - low) / (high - low) if high > low else np.zeros_like(item)
        tiles.append(np.kron(item, np.ones((scale, scale))))
        tiles.append(np.full((tiles[-1].shape[0], gap * scale), 0.5))  # gray gaps
    return np.concatenate(tiles[:-1], axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", dest="out_dir", default="out/designed_vs_trained",
                        help="output folder (out/designed_vs_trained)")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster training run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(args.out_dir, exist_ok=True)

    train_images, train_labels, _ = load_shapes("train", num_samples=400 if args.quick else 2000)
    test_images, test_labels, _ = load_shapes("test")

    designed = squares_vs_diamonds_network()
    designed_accuracy = (predict(designed, test_images) == test_labels).mean()

    convnet.manual_seed(args.seed)
    trained = squares_vs_diamonds_layers()
    trainer = Trainer(trained, optim.Adam(trained.parameters(), lr=0.05),
                      DataLoader((train_images, train_labels), 32, shuffle=True, rng=args.seed),
                      progress=False, log=lambda *a, **k: None)
    started = time.perf_counter()
    trainer.fit(epochs=5 if args.quick else 15)
    seconds = time.perf_counter() - started
    trained_accuracy = (predict(trained, test_images) == test_labels).mean()

    print(f"designed (no training):          test accuracy {designed_accuracy:.2%} "
          f"on {len(test_labels)} images")
    print(f"trained from scratch ({len(train_labels)} images, {trainer.epoch} epochs, "
          f"{seconds:.1f} s): test accuracy {trained_accuracy:.2%}")
    print("\ndesigned first-layer kernels (bias "
          f"{designed[0].bias.data.tolist()}):")
    print(kernel_text(designed[0].weight.data, LINE_KERNELS))
    print("\nlearned first-layer kernels (bias ["
          + ", ".join(f"{value:+.2f}" for value in trained[0].bias.data) + "]):")
    print(kernel_text(trained[0].weight.data, [f"filter {i}" for i in range(4)]))
    print("\nlearned fully connected layer (rows: " + ", ".join(CLASSES) + "):")
    print(np.round(trained[4].weight.data, 2), "bias", np.round(trained[4].bias.data, 2))

    scale = 24
    designed_row = tile(designed[0].weight.data[:, 0], scale)
    learned_row = tile(trained[0].weight.data[:, 0], scale)
    separator = np.full((scale, designed_row.shape[1]), 0.5)
    save_image(np.concatenate([designed_row, separator, learned_row]),
               os.path.join(args.out_dir, "kernels.png"))
    square = test_images[np.flatnonzero(test_labels == 0)[0]]
    diamond = test_images[np.flatnonzero(test_labels == 1)[0]]
    rows = []
    for image in (square, diamond):
        maps = feature_maps(designed, image, "1")  # after the threshold and ReLU
        rows.append(tile(np.concatenate([image, maps]), 8))
        rows.append(np.full((8, rows[-1].shape[1]), 0.5))
    save_image(np.concatenate(rows[:-1]), os.path.join(args.out_dir, "feature_maps.png"))
    print(f"\nwrote {args.out_dir}/kernels.png (top: designed, bottom: learned; each kernel "
          f"min-max scaled) and {args.out_dir}/feature_maps.png (image, then horizontal, "
          f"vertical, diagonal, anti-diagonal maps; top: a square, bottom: a diamond)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
