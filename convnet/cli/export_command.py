"""``convnet export MODEL -o model.onnx``: a model written by ``convnet train`` as an ONNX
file, checked, with its class names and normalisation in the file's metadata.

The ONNX file computes exactly what the model computes in eval mode (see
:mod:`convnet.onnx`); a layer that ONNX cannot hold exactly is refused with its name and
nothing is written. With ONNX Runtime installed the file is run once on a random input and
the largest difference from convnet's own output is printed.
"""

from __future__ import annotations

import os

import numpy as np


def add_parser(commands) -> None:
    parser = commands.add_parser("export", help="write a trained model as an ONNX file",
                                 description="Write a model as ONNX (opset 17 unless a layer "
                                             "needs a newer one).")
    parser.add_argument("model", help="a model.safetensors written by convnet train")
    parser.add_argument("-o", "--output", help="the .onnx file (default: beside the model)")
    parser.add_argument("--opset", type=int, help="ONNX opset (default: the lowest that holds "
                                                  "the model)")
    parser.set_defaults(run=run)


def onnx_metadata(metadata: dict) -> dict:
    """The model file's metadata as plain JSON values."""
    plain = {}
    for key, value in metadata.items():
        if isinstance(value, dict):
            plain[key] = {k: np.asarray(v).tolist() for k, v in value.items()}
        elif isinstance(value, tuple):
            plain[key] = list(value)
        else:
            plain[key] = value
    return plain


def write_onnx(model, metadata: dict, path: str, opset: int | None = None) -> str:
    """Export ``model`` for inputs of ``metadata['input_shape']``; returns a one-line report."""
    from ..onnx import export
    shape = metadata.get("input_shape")
    if not shape:
        raise ValueError("the model's metadata gives no input shape to export it for")
    dtype = next((p.dtype for p in model.parameters()), np.float32)
    example = np.random.default_rng(0).standard_normal((2, *shape)).astype(dtype)
    proto = export(model, example, path, opset_version=opset, metadata=onnx_metadata(metadata))
    report = (f"{path}: opset {proto.opset_import[0].version}, {len(proto.graph.node)} nodes, "
              f"{os.path.getsize(path):,} bytes, passes onnx.checker (full check)")
    try:
        import onnxruntime
    except ImportError:
        return report
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    model.eval()
    difference = np.abs(session.run(None, {"input": example})[0] - model(example).data).max()
    return report + f"; ONNX Runtime differs from convnet by at most {difference:.1e}"


def run(args) -> int:
    from .model_file import load_model
    model, metadata = load_model(args.model)
    output = args.output or os.path.splitext(args.model)[0] + ".onnx"
    if not output.lower().endswith(".onnx"):
        raise ValueError(f"-o: expected a file name ending in .onnx, got {output!r}")
    print("wrote " + write_onnx(model, metadata, output, args.opset))
    return 0
