"""Features designed by hand against features learned (seed 002's opening comparison).

    python examples/features_vs_cnn.py                 # the 8x8 digits (about a minute)
    python examples/features_vs_cnn.py fashion-mnist   # 10,000 / 2,000 Fashion-MNIST images

A linear classifier on raw pixels, a colour histogram, HOG and a bag of visual words, then
a CNN trained by convnet on the same images; prints test accuracy and seconds for each.
"""

import sys

from convnet.features.compare import compare


def main(dataset: str = "digits") -> None:
    limits = {} if dataset == "digits" else {"train_limit": 10_000, "test_limit": 2_000}
    epochs = 20 if dataset == "digits" else 3
    rows = compare(dataset, cnn_epochs=epochs, **limits)
    print(f"{dataset}: test accuracy of each method")
    width = max(len(name) for name, _, _ in rows)
    for name, accuracy, seconds in rows:
        print(f"  {name:<{width}}  {accuracy:7.2%}  {seconds:6.1f} s")


if __name__ == "__main__":
    main(*sys.argv[1:2])
