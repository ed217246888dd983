"""``convnet evaluate``, ``convnet predict`` and ``convnet summary``."""

from __future__ import annotations

import os

import numpy as np


def add_parsers(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="accuracy of a saved model on a test set")
    evaluate.add_argument("model", help="a model.safetensors written by convnet train")
    evaluate.add_argument("--dataset", help="dataset to evaluate on (default: the model's)")
    evaluate.add_argument("--split", default="test", choices=("train", "test"))
    evaluate.add_argument("--data-dir", help="where to look for dataset files first")
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="top-k classes of images with a saved model")
    predict.add_argument("model", help="a model.safetensors written by convnet train")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    predict.add_argument("--top-k", type=int, default=3, help="classes shown per image (3)")
    predict.set_defaults(run=run_predict)

    summary = commands.add_parser("summary", help="layers, shapes, parameters and receptive fields")
    summary.add_argument("model", metavar="MODEL|ARCH",
                         help="a saved model file, a model name or an architecture string")
    summary.add_argument("--input-shape", default=None,
                         help="C,H,W of one input (default: the model's, else 1,28,28)")
    summary.add_argument("--classes", type=int, default=10, help="classes for model names (10)")
    summary.set_defaults(run=run_summary)


def load_model(path: str):
    """(model, metadata) from a file written by ``convnet train``, with one-line errors."""
    from ..io import load, read_metadata
    if not os.path.exists(path):
        raise FileNotFoundError(f"model: no such file: {path}")
    model = load(path)
    metadata = read_metadata(path) or {}
    return model, metadata


def _normalized(images: np.ndarray, metadata: dict) -> np.ndarray:
    normalize = metadata.get("normalize")
    if not normalize:
        return images
    shape = (1, -1, 1, 1)
    mean = np.asarray(normalize["mean"], np.float32).reshape(shape)
    std = np.asarray(normalize["std"], np.float32).reshape(shape)
    return ((images - mean) / std).astype(np.float32)


def run_evaluate(args) -> int:
    from ..data import DataLoader, load_dataset
    from ..train import Trainer
    model, metadata = load_model(args.model)
    dataset_name = args.dataset or metadata.get("dataset")
    if not dataset_name:
        raise ValueError(f"--dataset: {args.model} does not say which dataset it was trained on")
    data = load_dataset(dataset_name, args.split, data_dir=args.data_dir)
    classes = metadata.get("classes") or list(data.classes)
    normalize = metadata.get("normalize")
    loader = DataLoader(data, 256, normalize=(normalize["mean"], normalize["std"])
                        if normalize else None)
    trainer = Trainer(model, None, None, progress=False, num_classes=len(classes))
    metrics = trainer.evaluate(loader)
    print(f"{args.model} on {data.name} {args.split} ({len(data)} images): "
          f"accuracy {metrics.accuracy:.2%}, loss {metrics.loss:.4f}")
    for name, accuracy in zip(classes, metrics.per_class_accuracy):
        print(f"  {str(name):<14} {accuracy:7.2%}")
    return 0


def read_image(path: str, channels: int, size: tuple[int, int]) -> np.ndarray:
    """An image file as (channels, H, W) float32 in [0, 1], converted and resized to fit."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError('predict needs Pillow: pip install "convnet[data]"') from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"image: no such file: {path}")
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            array = np.asarray(image, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"image: cannot read {path} as an image ({error})") from None
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def run_predict(args) -> int:
    from .. import functional as F
    from ..tensor import no_grad
    model, metadata = load_model(args.model)
    if "input_shape" not in metadata:
        raise ValueError(f"model: {args.model} has no input shape in its metadata (was it "
                         f"written by convnet train?)")
    channels, height, width = metadata["input_shape"]
    classes = metadata.get("classes")
    images = np.stack([read_image(path, channels, (height, width)) for path in args.images])
    with no_grad():
        probabilities = F.softmax(model(_normalized(images, metadata)), dim=1).data
    top_k = max(1, min(args.top_k, probabilities.shape[1]))
    for path, row in zip(args.images, probabilities):
        best = np.argsort(-row)[:top_k]
        guesses = ", ".join(f"{classes[i] if classes else i} {row[i]:.1%}" for i in best)
        print(f"{path}: {guesses}")
    return 0


def run_summary(args) -> int:
    from ..models import build_model
    from ..summary import summary
    if os.path.exists(args.model) or args.model.endswith((".safetensors", ".npz")):
        model, metadata = load_model(args.model)  # a missing file is "no such file"
        input_shape = metadata.get("input_shape")
    else:
        model, input_shape = None, None
    if args.input_shape:
        try:
            input_shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError:
            raise ValueError(f"--input-shape: expected C,H,W such as 1,28,28, got "
                             f"{args.input_shape!r}") from None
        if len(input_shape) != 3 or min(input_shape) < 1:
            raise ValueError(f"--input-shape: expected three positive sizes C,H,W, got "
                             f"{args.input_shape!r}")
    input_shape = tuple(input_shape or (1, 28, 28))
    if model is None:
        model = build_model(args.model, input_shape, args.classes)
    print(summary(model, input_shape))
    return 0
