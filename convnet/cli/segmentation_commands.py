"""``convnet evaluate`` and ``convnet predict`` for a model that labels every pixel.

- evaluate: pixel accuracy, mean IoU (one confusion matrix over the split), the per-image
  mean IoU beside it, and a table of each class's IoU and pixel accuracy.
- predict: each image at its own size (the models are fully convolutional); with
  ``-o mask.png`` the class-index PNG (palette mode: the values are the classes) and
  ``mask-overlay.png``, the image with the classes' colours; without ``-o`` the share of
  the image each class takes.
"""

from __future__ import annotations

import math
import os

import numpy as np


def evaluate(args, model, metadata, load_dataset) -> int:
    from ..data import DataLoader
    from ..train import Trainer
    from .evaluation import evaluation_data
    dataset = args.dataset or metadata.get("dataset") or ""
    options = {}
    if dataset.startswith("folder:"):
        options = {"size": metadata.get("image_size"),
                   "ignore_index": metadata.get("ignore_index", 255)}
    data, classes, loader = evaluation_data(args, metadata, load_dataset, 32, **options)
    if not data.is_segmentation:
        raise ValueError(f"--dataset: {data.name} has a label per image; {args.model} labels "
                         f"pixels")
    trainer = Trainer(model, None, None, progress=False, num_classes=len(classes),
                      ignore_index=data.ignore_index)
    metrics = trainer.evaluate(loader)
    print(f"{args.model} on {dataset} {args.split} ({len(data)} images, "
          f"{int(metrics.confusion.sum()):,} labelled pixels): pixel accuracy "
          f"{metrics.accuracy:.2%}, mean IoU {metrics.mean_iou:.4f} (per-image mean IoU "
          f"{metrics.per_image_mean_iou:.4f}), loss {metrics.loss:.4f}")
    print(f"  {'class':<14} {'IoU':>7} {'pixel acc':>10} {'pixels':>10}")
    for name, iou, accuracy, pixels in zip(classes, metrics.iou_per_class,
                                           metrics.per_class_accuracy, metrics.confusion.sum(1)):
        shown = "n/a" if math.isnan(iou) else f"{iou:.4f}"
        print(f"  {str(name):<14} {shown:>7} {accuracy:10.2%} {int(pixels):10,}")
    if metrics.collapsed() is not None:
        print(f"warning: the model predicts {classes[metrics.collapsed()]!r} for every pixel")
    return 0


def _outputs(images: list[str], output: str | None) -> list[tuple[str, str] | None]:
    """(mask path, overlay path) per image: ``output`` itself for one image, else a folder."""
    if output is None:
        return [None] * len(images)
    if len(images) == 1 and output.lower().endswith(".png"):
        stem = output[:-4]
        os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
        return [(output, stem + "-overlay.png")]
    os.makedirs(output, exist_ok=True)
    stems = [os.path.splitext(os.path.basename(path))[0] for path in images]
    return [(os.path.join(output, f"{stem}-mask.png"), os.path.join(output, f"{stem}-overlay.png"))
            for stem in stems]


def predict(args, model, metadata) -> int:
    from ..data.image_file import read_image
    from ..io.limits import check_input_shape
    from ..tensor import Tensor, no_grad
    from ..viz.images import save_image
    from ..viz.segmentation import overlay, save_mask
    from .model_file import normalized
    channels = metadata["input_shape"][0]
    classes = metadata.get("classes")
    size = metadata.get("image_size")
    model.eval()
    for path, target in zip(args.images, _outputs(args.images, args.output)):
        image = read_image(path, "L" if channels == 1 else "RGB", size)
        check_input_shape(list(image.shape), f"{path}: image")
        with no_grad():
            scores = model(Tensor(normalized(image[None], metadata))).data[0]
        mask = scores.argmax(axis=0)
        shares = np.bincount(mask.ravel(), minlength=scores.shape[0]) / mask.size
        listed = ", ".join(f"{classes[i] if classes else i} {shares[i]:.1%}"
                           for i in np.argsort(-shares) if shares[i] > 0)
        print(f"{path}: {mask.shape[1]}x{mask.shape[0]} pixels: {listed}")
        if target is not None:
            save_mask(mask, target[0])
            save_image(overlay(image, mask, 0.5) / 255.0, target[1])
            print(f"  wrote {target[0]} (class indices) and {target[1]}")
    return 0
