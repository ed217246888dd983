"""``convnet evaluate``, ``convnet predict`` and ``convnet summary``."""

from __future__ import annotations

import os

import numpy as np

from ..io.limits import check_input_shape
from .evaluation import evaluation_data
from .model_file import load_model, normalized


def add_parsers(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="accuracy (or pixel accuracy and mean IoU) of a "
                                                    "saved model on a test set")
    evaluate.add_argument("model", help="a model.safetensors written by convnet train, or .onnx")
    evaluate.add_argument("--dataset", help="dataset to evaluate on (default: the model's)")
    evaluate.add_argument("--split", default="test", choices=("train", "val", "test"),
                          help="test (default); val only for a segmentation folder")
    evaluate.add_argument("--data-dir", help="where to look for dataset files first")
    evaluate.set_defaults(run=run_evaluate)

    predict = commands.add_parser("predict", help="top-k classes of images with a saved model "
                                                  "(a mask with -o for a segmentation model)")
    predict.add_argument("model", help="a model.safetensors written by convnet train, or .onnx")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, ...)")
    predict.add_argument("--top-k", type=int, default=3, help="classes shown per image (3)")
    predict.add_argument("-o", "--output", metavar="MASK.png|FOLDER",
                         help="segmentation models: write the class-index PNG and a colour "
                              "overlay (a folder for several images)")
    predict.set_defaults(run=run_predict)

    summary = commands.add_parser("summary", help="layers, shapes, parameters and receptive fields")
    summary.add_argument("model", metavar="MODEL|ARCH",
                         help="a saved model file, a model name or an architecture string")
    summary.add_argument("--input-shape", default=None,
                         help="C,H,W of one input (default: the model's; 3,32,32 for the CIFAR "
                         "models by name, else 1,28,28)")
    summary.add_argument("--classes", type=int, default=10, help="classes for model names (10)")
    summary.set_defaults(run=run_summary)


def require_input_shape(path: str, metadata: dict) -> tuple[int, int, int]:
    """The model's (C, H, W), or a one-line error for a model file without it."""
    if "input_shape" not in metadata:
        raise ValueError(f"model: {path} has no input shape in its metadata (was it written by "
                         f"convnet train?)")
    return metadata["input_shape"]


def run_evaluate(args) -> int:
    from ..data import load_dataset
    from ..train import Trainer
    model, metadata = load_model(args.model)
    if metadata.get("task") == "segmentation":
        from .segmentation_commands import evaluate
        return evaluate(args, model, metadata, load_dataset)
    data, classes, loader = evaluation_data(args, metadata, load_dataset)
    trainer = Trainer(model, None, None, progress=False, num_classes=len(classes))
    metrics = trainer.evaluate(loader)
    print(f"{args.model} on {data.name} {args.split} ({len(data)} images): "
          f"accuracy {metrics.accuracy:.2%}, loss {metrics.loss:.4f}")
    for name, accuracy in zip(classes, metrics.per_class_accuracy):
        print(f"  {str(name):<14} {accuracy:7.2%}")
    return 0


def read_image(path: str, channels: int, size: tuple[int, int]) -> np.ndarray:
    """An image file as (channels, H, W) float32 in [0, 1], converted and resized to fit."""
    from ..data.image_file import read_image as read_image_file
    return read_image_file(path, "L" if channels == 1 else "RGB", size)


def run_predict(args) -> int:
    from .. import functional as F
    from ..tensor import no_grad
    if args.top_k < 1:
        raise ValueError(f"--top-k: expected a positive number of classes, got {args.top_k}")
    model, metadata = load_model(args.model)
    channels, height, width = require_input_shape(args.model, metadata)
    if metadata.get("task") == "segmentation":
        from .segmentation_commands import predict
        return predict(args, model, metadata)
    if args.output is not None:
        raise ValueError(f"-o: {args.model} classifies whole images; only a segmentation model "
                         f"writes a mask")
    classes = metadata.get("classes")
    images = np.stack([read_image(path, channels, (height, width)) for path in args.images])
    with no_grad():
        probabilities = F.softmax(model(normalized(images, metadata)), dim=1).data
    top_k = min(args.top_k, probabilities.shape[1])
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
    if input_shape is None:  # CIFAR's models by name see 32x32 colour images
        from ..models import RESIDUAL_MODELS
        cifar = args.model in RESIDUAL_MODELS or args.model == "uwnet-cifar"
        input_shape = (3, 32, 32) if cifar else (1, 28, 28)
    input_shape = check_input_shape(list(input_shape), "--input-shape")
    if model is None:
        model = build_model(args.model, input_shape, args.classes)
    print(summary(model, input_shape))
    return 0
