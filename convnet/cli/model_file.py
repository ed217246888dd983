"""A model file written by ``convnet train``, read once and checked before any command uses it.

The metadata (class names, input shape, normalisation, dataset) comes from a file that may
have been edited or made elsewhere, so it is validated here, in one place: its types, the
input size against :data:`convnet.io.limits.MAX_INPUT_VALUES`, and the number of class names
against the model's outputs (one forward pass on a blank input).
"""

from __future__ import annotations

import os

import numpy as np


def load_model(path: str):
    """``(model, metadata)`` of a model file, with a validated metadata dict.

    The dict has only the keys present in the file: ``classes`` (list of str),
    ``input_shape`` ((C, H, W)), ``normalize`` ({'mean', 'std'} float32 arrays of C values,
    std > 0), ``dataset`` and ``arch`` (str); for a segmentation model ``task``
    ('segmentation'), ``ignore_index`` (int) and ``image_size`` ((H, W) it was resized to). Raises ValueError naming the file and key.
    """
    from ..io import load, read_metadata
    if not os.path.exists(path):
        raise FileNotFoundError(f"model: no such file: {path}")
    if path.lower().endswith(".onnx"):
        model, raw = _load_onnx(path)
    else:
        model = load(path)
        raw = read_metadata(path)
    if raw is None:
        return model, {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: its metadata is a {type(raw).__name__}, expected an object "
                         f"with classes, input_shape and normalize")
    return model, _checked(path, model, raw)


def _load_onnx(path: str):
    """An ONNX file's module and metadata: convnet's own (written by ``convnet export`` and
    ``convnet train``), else the input shape its graph declares."""
    import json
    from ..onnx import load as load_onnx
    from ..onnx.export import require_onnx
    model = load_onnx(path)
    onnx = require_onnx()
    proto = onnx.load(path, load_external_data=False)
    props = {entry.key: entry.value for entry in proto.metadata_props}
    if "convnet" in props:
        try:
            return model, json.loads(props["convnet"])
        except ValueError:
            raise ValueError(f"{path}: its 'convnet' metadata is not JSON") from None
    inputs = [value for value in proto.graph.input
              if value.name not in {init.name for init in proto.graph.initializer}]
    dims = [d.dim_value if d.HasField("dim_value") else None
            for d in inputs[0].type.tensor_type.shape.dim] if inputs else []
    raw = {}
    if len(dims) == 4 and all(dims[1:]):
        raw["input_shape"] = dims[1:]
    return model, raw


def _checked(path: str, model, raw: dict) -> dict:
    from ..io.limits import check_input_shape
    metadata = {}
    for key in ("dataset", "arch"):
        if raw.get(key) is not None:
            if not isinstance(raw[key], str):
                raise ValueError(f"{path}: metadata {key!r} should be a string, got {raw[key]!r:.60}")
            metadata[key] = raw[key]
    if raw.get("task") is not None:
        if raw["task"] not in ("classification", "segmentation"):
            raise ValueError(f"{path}: metadata 'task' should be 'classification' or "
                             f"'segmentation', got {raw['task']!r:.60}")
        metadata["task"] = raw["task"]
    if raw.get("ignore_index") is not None:
        value = raw["ignore_index"]
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise ValueError(f"{path}: metadata 'ignore_index' should be an int, got {value!r:.60}")
        metadata["ignore_index"] = value
    if raw.get("image_size") is not None:
        size = raw["image_size"]
        if not (isinstance(size, list) and len(size) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 2**16 for v in size)):
            raise ValueError(f"{path}: metadata 'image_size' should be [height, width], got "
                             f"{size!r:.60}")
        metadata["image_size"] = tuple(size)
    if raw.get("input_shape") is not None:
        metadata["input_shape"] = check_input_shape(list(raw["input_shape"])
                                                    if isinstance(raw["input_shape"], tuple)
                                                    else raw["input_shape"],
                                                    f"{path}: metadata 'input_shape'")
    if raw.get("classes") is not None:
        classes = raw["classes"]
        if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) for c in classes):
            raise ValueError(f"{path}: metadata 'classes' should be a list of names, got "
                             f"{classes!r:.60}")
        metadata["classes"] = list(classes)
    if raw.get("normalize"):
        metadata["normalize"] = _normalization(path, raw["normalize"], metadata.get("input_shape"))
    if "classes" in metadata and "input_shape" in metadata:
        outputs = _output_count(model, metadata["input_shape"])
        if outputs is not None and outputs != len(metadata["classes"]):
            raise ValueError(f"{path}: the model gives {outputs} class scores but its metadata "
                             f"names {len(metadata['classes'])} classes")
    return metadata


def _normalization(path: str, normalize, input_shape) -> dict:
    where = f"{path}: metadata 'normalize'"
    if not isinstance(normalize, dict) or set(normalize) != {"mean", "std"}:
        raise ValueError(f"{where} should be an object with 'mean' and 'std', got {normalize!r:.60}")
    values = {}
    for key in ("mean", "std"):
        try:
            array = np.asarray(normalize[key], dtype=np.float32).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"{where}: {key} should be numbers, got {normalize[key]!r:.60}") from None
        channels = input_shape[0] if input_shape else array.size
        if array.size != channels or not np.isfinite(array).all():
            raise ValueError(f"{where}: {key} should be {channels} finite numbers, got "
                             f"{normalize[key]!r:.60}")
        values[key] = array
    if (values["std"] <= 0).any():
        raise ValueError(f"{where}: std should be positive, got {values['std'].tolist()}")
    return values


def _output_count(model, input_shape) -> int | None:
    """Size of the model's output axis 1 for one blank input (None for other output ranks)."""
    from ..tensor import Tensor, no_grad
    dtype = next((p.dtype for p in model.parameters()), np.float32)
    with no_grad():
        output = model(Tensor(np.zeros((1, *input_shape), dtype=dtype)))
    return int(output.shape[1]) if output.ndim >= 2 else None


def normalized(images: np.ndarray, metadata: dict) -> np.ndarray:
    """``images`` (N, C, H, W) normalised as the model's training data was (if it was)."""
    from ..data.loader import normalize_images
    normalize = metadata.get("normalize")
    if not normalize:
        return images
    return normalize_images(images.astype(np.float32, copy=False), normalize["mean"],
                            normalize["std"])

