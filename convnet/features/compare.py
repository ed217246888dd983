"""Features designed by hand against features learned: the comparison the notes open with.

For one dataset, a linear classifier (scikit-learn's multinomial logistic regression on
standardised features) is trained on the raw pixels, a colour histogram, HOG and a bag of
visual words, and a CNN of convnet on the same images; :func:`compare` returns the test
accuracy and the time of each.

Example (slow: run ``python examples/features_vs_cnn.py``):
    >>> rows = compare('digits', cnn_epochs=1)  # doctest: +SKIP
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .bag_of_words import BagOfVisualWords
from .histograms import colour_histogram, hog_features

__all__ = ["compare", "FEATURES"]

FEATURES = {
    "raw pixels": lambda train, test, seed: (train.reshape(len(train), -1),
                                              test.reshape(len(test), -1)),
    "colour histogram (16 bins)": lambda train, test, seed: (colour_histogram(train, 16),
                                                             colour_histogram(test, 16)),
    "HOG (4x4 cells, 9 orientations)": lambda train, test, seed: (hog_features(train),
                                                                  hog_features(test)),
    "bag of visual words (k-means, 64 words)": lambda train, test, seed: _words(train, test, seed),
}


def _words(train, test, seed):
    words = BagOfVisualWords(vocabulary=64, patch=4, stride=2, seed=seed).fit(train)
    return words.transform(train), words.transform(test)


def _linear_accuracy(train_features, train_labels, test_features, test_labels, seed) -> float:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300,
                                                                    random_state=seed))
    with warnings.catch_warnings():  # 300 L-BFGS iterations: a fixed budget for every feature
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(train_features, train_labels)
    return float(accuracy_score(test_labels, classifier.predict(test_features)))


def _cnn_accuracy(train, test, model: str, epochs: int, seed: int) -> float:
    import convnet
    from ..data import DataLoader
    from ..models import build_model
    from ..train import Trainer
    convnet.manual_seed(seed)
    net = build_model(model, train.image_shape, len(train.classes), rng=seed)
    loader = DataLoader(train, 64, shuffle=True, rng=seed, normalize=True)
    trainer = Trainer(net, convnet.optim.Adam(net.parameters(), lr=2e-3), loader,
                      progress=False, log=lambda message: None)
    trainer.fit(epochs)
    return trainer.evaluate(DataLoader(test, 256, normalize=(loader.mean, loader.std))).accuracy


def compare(dataset: str = "digits", train_limit: int | None = None,
            test_limit: int | None = None, cnn_model: str | None = None, cnn_epochs: int = 3,
            seed: int = 0) -> list[tuple[str, float, float]]:
    """``[(method, test accuracy, seconds), ...]``: each hand-made feature with a linear
    classifier, then the CNN, on the first ``train_limit``/``test_limit`` images."""
    from ..data import load_dataset
    train, test = load_dataset(dataset, "train"), load_dataset(dataset, "test")
    if train_limit:
        train = train.subset(np.arange(min(train_limit, len(train))))
    if test_limit:
        test = test.subset(np.arange(min(test_limit, len(test))))
    rows = []
    for name, make in FEATURES.items():
        started = time.perf_counter()
        train_features, test_features = make(train.images, test.images, seed)
        accuracy = _linear_accuracy(train_features, train.labels, test_features, test.labels,
                                    seed)
        rows.append((f"{name} + linear classifier", accuracy, time.perf_counter() - started))
    model = cnn_model or ("digits-cnn" if dataset == "digits" else "fashion-cnn")
    started = time.perf_counter()
    accuracy = _cnn_accuracy(train, test, model, cnn_epochs, seed)
    rows.append((f"CNN {model}, {cnn_epochs} epochs (features learned)", accuracy,
                 time.perf_counter() - started))
    return rows
