"""Inside a small CNN: train it on the 8x8 digits, then look at its filters, the feature
maps of each layer for one digit, and a saliency map.

    python examples/inside_a_network.py [--out OUT_DIR] [--quick]

Writes OUT_DIR/filters.png (first-layer 3x3 filters), feature_maps_<layer>.png (the
output of the first conv layer, its ReLU, and the ReLU after the second conv layer, for
one test digit) and saliency.png (|d score / d pixel| of the predicted class: the pixels that would
change the decision most). Needs matplotlib (pip install "convnet[viz]").
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import convnet
from convnet import optim
from convnet.data import DataLoader, load_dataset
from convnet.models import build_model
from convnet.train import Trainer
from convnet.viz import plot_feature_maps, plot_filters, plot_saliency, saliency_map

ARCH = "[8|3x3] relu [16|3x3] relu maxpool[2x2 s2] fc10"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out/inside_a_network", help="output folder")
    parser.add_argument("--quick", action="store_true", help="train on fewer images, 2 epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    convnet.manual_seed(args.seed)
    train, test = load_dataset("digits", "train"), load_dataset("digits", "test")
    if args.quick:
        train = train.subset(np.arange(300))
    loader = DataLoader(train, 32, shuffle=True, rng=args.seed)
    model = build_model(ARCH, train.image_shape, rng=args.seed)
    trainer = Trainer(model, optim.Adam(model.parameters(), lr=3e-3), loader,
                      progress=False, log=lambda *a, **k: None)
    started = time.perf_counter()
    trainer.fit(epochs=2 if args.quick else 10)
    accuracy = trainer.evaluate(DataLoader(test, 256)).accuracy
    print(f"{ARCH}: {len(train)} training digits, {trainer.epoch} epochs in "
          f"{time.perf_counter() - started:.1f} s, test accuracy {accuracy:.1%}")
    print(model)

    index = int(np.flatnonzero(test.labels == 3)[0])
    digit, label = test.images[index], int(test.labels[index])
    written = [plot_filters(model[0].weight, os.path.join(args.out, "filters.png"),
                            title="first layer: 8 filters of 3x3")]
    for layer in ("0", "1", "3"):  # first conv, its ReLU, the second conv's ReLU
        written.append(plot_feature_maps(model, digit, layer,
                                         os.path.join(args.out, f"feature_maps_{layer}.png")))
    written.append(plot_saliency(model, digit, os.path.join(args.out, "saliency.png")))
    saliency = saliency_map(model, digit)
    row, col = np.unravel_index(np.argmax(saliency), saliency.shape)
    print(f"test digit {index} (a {label}): the most sensitive pixel is row {row}, column {col}")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
