"""ONNX export and import (``pip install "convnet[onnx]"``).

- :func:`export` writes a convnet model as an ONNX file that computes exactly what the model
  computes in eval mode (named and called as ``torch.onnx.export``), or refuses.
- :func:`load` reads an ONNX file of the CNN operator subset as a trainable convnet module.

Example:
    >>> import io, numpy as np, convnet.nn as nn, convnet.onnx
    >>> model = nn.Sequential(nn.Conv2d(1, 2, 3, rng=0), nn.ReLU())
    >>> buffer = io.BytesIO()
    >>> _ = convnet.onnx.export(model, np.ones((1, 1, 5, 5), np.float32), buffer)
    >>> again = convnet.onnx.load(io.BytesIO(buffer.getvalue()))
    >>> bool((again(np.ones((1, 1, 5, 5), np.float32)).data == model(np.ones((1, 1, 5, 5), np.float32)).data).all())
    True
"""

from .export import export, required_opset
from .graph import ExportError
from .load import OnnxGraph, OnnxImportError, load

__all__ = ["export", "load", "ExportError", "OnnxImportError", "OnnxGraph", "required_opset"]
