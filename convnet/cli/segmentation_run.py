"""What ``convnet train`` does differently when every pixel has a label (seed 002,
"Structured Outputs"): which data it loads, how it reports, what pictures it draws.

A segmentation run is one on ``shapes-seg``, ``fashion-seg`` or a ``folder:PATH`` in one of
the layouts of :mod:`convnet.data.segmentation_folder`. Its metrics are computed from one
confusion matrix of pixels over the whole split (:mod:`convnet.segmentation_metrics`).
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

# the default model and schedule per segmentation dataset
DEFAULTS = {
    "shapes-seg": {"model": "unet", "epochs": 6, "batch_size": 16, "lr": 3e-3},
    "fashion-seg": {"model": "unet", "epochs": 12, "batch_size": 16, "lr": 3e-3},
    "folder": {"model": "unet", "epochs": 20, "batch_size": 8, "lr": 1e-3},
}
LAYOUT_NAMES = {"images-masks": "images/ and masks/ per split", "camvid": "CamVid/SegNet: train + trainannot"}


def layout_of(dataset: str) -> str | None:
    """'builtin', a folder layout name, or None when ``dataset`` is not segmentation data."""
    from ..data import SEGMENTATION_DATASETS
    from ..data.segmentation_folder import detect_layout
    if dataset.lower() in SEGMENTATION_DATASETS:
        return "builtin"
    if dataset.startswith("folder:"):
        return detect_layout(dataset[len("folder:"):])
    return None


def parse_image_size(text: str | None) -> tuple[int, int] | None:
    """``"HxW"`` (or one number for a square) -> (H, W); a one-line error otherwise."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d{1,5})\s*(?:[xX,]\s*(\d{1,5}))?\s*", text)
    if not match or int(match.group(1)) < 1 or (match.group(2) and int(match.group(2)) < 1):
        raise ValueError(f"--image-size: expected HxW such as 128x128, got {text!r}")
    height = int(match.group(1))
    return height, int(match.group(2) or height)


def load_splits(args, load_dataset):
    """(train, val or None, test or None, test name) of a segmentation dataset."""
    options = {}
    if args.dataset.startswith("folder:"):
        root = args.dataset[len("folder:"):]
        options = {"size": parse_image_size(args.image_size), "ignore_index": args.ignore_index}
        train = load_dataset(args.dataset, "train", data_dir=args.data_dir, **options)
        splits = {}
        for split in ("val", "test"):
            layout_folder = os.path.join(root, split)
            if os.path.isdir(layout_folder):
                splits[split] = load_dataset(args.dataset, split, data_dir=args.data_dir, **options)
        return train, splits.get("val"), splits.get("test"), "test"
    if args.image_size is not None:
        size = parse_image_size(args.image_size)
        if size[0] != size[1]:
            raise ValueError(f"--image-size: {args.dataset} draws square images; got {args.image_size}")
        options["image_size"] = size[0]
    train = load_dataset(args.dataset, "train", data_dir=args.data_dir, **options)
    test = load_dataset(args.dataset, "test", data_dir=args.data_dir, **options)
    return train, None, test, "test"


def check_masks(data) -> None:
    """Some labelled pixels of at least two classes."""
    if len(data) == 0:
        raise ValueError(f"--dataset: the training set of {data.name} holds no images")
    present = np.unique(data.labels[data.labels != data.ignore_index])
    if present.size < 2:
        raise ValueError(f"--dataset: the masks of {data.name} label {present.size} class(es) "
                         f"{present.tolist()}; segmentation needs at least two")


def first_line(data, layout: str, counts: tuple[int, int, int], dataset: str) -> str:
    """What the run says first: that this is segmentation, in which layout, of what size."""
    where = dataset if layout == "builtin" else f"{dataset} ({LAYOUT_NAMES[layout]})"
    train, val, test = counts
    return (f"convnet train: segmentation dataset {where}: {train} train, {val} validation, "
            f"{test} test images of {'x'.join(map(str, data.image_shape))} with masks, "
            f"{len(data.classes)} classes, ignore label {data.ignore_index}")


def report(test: dict, test_name: str, classes, epochs: int, seconds: float) -> list[str]:
    """The lines printed after a run: pixel accuracy, mean IoU and the IoU of each class."""
    lines = [f"{test_name} pixel accuracy {test['pixel_accuracy']:.2%}, mean IoU "
             f"{test['mean_iou']:.4f} (per-image mean IoU {test['per_image_mean_iou']:.4f}) on "
             f"{test['count']} {test_name} images, after {epochs} epochs in {seconds:.1f} s",
             "IoU per class: " + ", ".join(
                 f"{name} {'n/a' if value is None else f'{value:.3f}'}"
                 for name, value in test["iou_per_class"].items())]
    predicted = [index for index, column in enumerate(np.array(test["confusion_matrix"]).sum(0))
                 if column]
    if len(predicted) == 1:
        lines.append(f"warning: the model predicts {classes[predicted[0]]!r} for every pixel; it "
                     f"has collapsed to one class")
    return lines


def pictures(run_dir, model, history, results, test_data, normalize, classes) -> list[str]:
    """Training curves, an image | truth | prediction overlay and the IoU of each class."""
    from ..tensor import Tensor, no_grad
    try:
        from .. import viz
        from ..viz._figure import require_matplotlib
        require_matplotlib()
    except ImportError as error:
        print(f"(no pictures: {error})")
        return []
    paths = [viz.plot_training_curves(history, os.path.join(run_dir, "curves.png"))]
    if test_data is not None and len(test_data):
        images = test_data.images[:4]
        mean, std = (np.asarray(v, np.float32)[:, None, None] for v in normalize)
        model.eval()
        with no_grad():
            predicted = model(Tensor((images - mean) / std)).data.argmax(axis=1)
        paths.append(viz.plot_segmentation(images, test_data.labels[:4], predicted, classes,
                                           os.path.join(run_dir, "overlay.png"),
                                           test_data.ignore_index))
    if "test" in results:
        iou = [math.nan if v is None else v for v in results["test"]["iou_per_class"].values()]
        paths.append(viz.plot_iou_per_class(iou, classes, os.path.join(run_dir, "iou.png"),
                                            results["test"]["mean_iou"]))
    return paths
