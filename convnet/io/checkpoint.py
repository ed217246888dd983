"""Models, weights and training state in safetensors files: no pickle, no code from the file.

- :func:`save` / :func:`load`: a whole model: ``model.state_dict()`` as tensors and,
  in the header's ``__metadata__``, ``format = "convnet.model/1"``, the module tree as
  JSON (``architecture``, see :mod:`convnet.io.architecture`) and optional user
  ``metadata`` (JSON, read back with :func:`read_metadata`).
- :func:`save_weights` / :func:`load_weights`: the state_dict alone
  (``format = "convnet.weights/1"``), for models built in code.
- :func:`save_state` / :func:`load_state`: a nested structure of arrays and plain
  values, e.g. an optimizer's state and epoch counters (``format = "convnet.state/1"``).

Every file is written atomically (:mod:`convnet.io.atomic`). Reading checks the
file before using it and reports a damaged, truncated or foreign file as a
ValueError that names the file and what is wrong. Example: see :mod:`convnet.io`.
"""

from __future__ import annotations

import json
import os

import numpy as np
import safetensors.numpy

from ..nn.init import skip_init
from .architecture import Decoder, Encoder, _plain_dtype, build, describe
from .atomic import atomic_write_bytes
from .limits import check_module_count, read_regular_file

__all__ = ["save", "load", "save_weights", "load_weights", "save_state", "load_state",
           "read_metadata", "MODEL_FORMAT", "WEIGHTS_FORMAT", "STATE_FORMAT"]

MODEL_FORMAT = "convnet.model/1"
WEIGHTS_FORMAT = "convnet.weights/1"
STATE_FORMAT = "convnet.state/1"
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
# safetensors dtype codes that NumPy holds exactly (BF16 and the FP8 codes have no NumPy type)
_READABLE_DTYPES = ("F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
                    "BOOL")
_HOLDS = {MODEL_FORMAT: "a whole model: use load(path)",
          WEIGHTS_FORMAT: "weights only: build the model in code and use load_weights(model, path)",
          STATE_FORMAT: "a training state: use load_state(path)",
          None: "no convnet 'format' tag (a safetensors file from elsewhere?); if it holds "
                "weights, use load_weights(model, path)"}


def _json(data) -> str:
    return json.dumps(data, allow_nan=False, separators=(",", ":"))


def _check_model(model, function: str) -> None:
    from ..nn import Module
    if not isinstance(model, Module):
        raise TypeError(f"{function}: expected a convnet.nn.Module as the model, got "
                        f"{type(model).__name__} ({model!r:.40})")


def _write(path, tensors: dict, metadata: dict, user_metadata=None) -> None:
    arrays = {}
    for key, value in tensors.items():
        array = np.asarray(value)
        if _plain_dtype(array.dtype) is None:
            raise ValueError(f"{key}: arrays of dtype {array.dtype} cannot be stored")
        arrays[key] = np.asarray(array, order="C")  # safetensors copies raw memory; keeps 0-d
    if user_metadata is not None:
        metadata["metadata"] = _json(Encoder().value(user_metadata, "metadata"))
    atomic_write_bytes(path, safetensors.numpy.save(arrays, metadata=metadata))


def _read(path) -> tuple[dict, dict]:
    """(tensors, string metadata) of a checked safetensors file."""
    path = os.fspath(path)
    data = read_regular_file(path, ".safetensors file")
    header_bytes = int.from_bytes(data[:8], "little")
    if header_bytes > min(len(data) - 8, _MAX_HEADER_BYTES):
        raise ValueError(f"{path}: not a safetensors file, or truncated: its first 8 bytes give a "
                         f"header of {header_bytes} bytes, the file has {max(0, len(data) - 8)} after them")
    try:
        header = json.loads(data[8:8 + header_bytes].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{path}: damaged or not a safetensors file: its header is not valid "
                         f"JSON ({error})") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: damaged safetensors file: the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()):
        raise ValueError(f"{path}: damaged safetensors file: __metadata__ must map str to str")
    data_end = 0
    for name, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(offset, int) for offset in offsets)):
            raise ValueError(f"{path}: damaged safetensors file: bad header entry for {name!r}")
        if entry.get("dtype") not in _READABLE_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has dtype {entry.get('dtype')!r:.20}, which "
                             f"convnet cannot read; supported: {', '.join(_READABLE_DTYPES)}")
        data_end = max(data_end, offsets[1])
    present = len(data) - 8 - header_bytes
    if data_end > present:
        raise ValueError(f"{path}: truncated: the header lists {data_end} bytes of tensor data, "
                         f"the file holds {present}")
    try:
        tensors = safetensors.numpy.load(data)
    except Exception as error:  # SafetensorError and friends from the Rust parser
        raise ValueError(f"{path}: damaged safetensors file: {error}") from None
    return tensors, metadata


def _expect(path, metadata: dict, wanted: str) -> None:
    found = metadata.get("format")
    if found != wanted:
        holds = _HOLDS.get(found, f"the unknown format {found!r} (from a newer convnet?)")
        raise ValueError(f"{os.fspath(path)}: expected a {wanted!r} file, but it holds {holds}")


def _decode(path, metadata: dict, key: str, convert):
    """``convert(JSON of metadata[key])``, its errors reported against the file."""
    if key not in metadata:
        raise ValueError(f"{os.fspath(path)}: the file's metadata has no {key!r} entry")
    try:
        return convert(json.loads(metadata[key]))
    except json.JSONDecodeError as error:
        raise ValueError(f"{os.fspath(path)}: the {key!r} metadata is not valid JSON ({error})") from None
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{os.fspath(path)}: {key}: {error}") from None


def _load_into(path, model, tensors: dict, strict: bool, exact_dtypes: bool):
    own = model.state_dict()
    wrong = [f"{key}: file has {tensors[key].dtype}, model has {own[key].dtype}" for key in own
             if key in tensors and tensors[key].dtype != own[key].dtype
             and (exact_dtypes or tensors[key].dtype.kind != own[key].dtype.kind)]
    if wrong:
        raise ValueError(f"{os.fspath(path)}: wrong dtypes: " + "; ".join(wrong))
    try:
        return model.load_state_dict(tensors, strict=strict)
    except ValueError as error:
        raise ValueError(f"{os.fspath(path)}: the weights do not fit the model: {error}") from None


def _check_rebuilds(model, description: dict, classes: dict) -> None:
    """Refuse to write a file that load() could not turn back into this model."""
    advice = "save the weights with save_weights(model, path) and rebuild the model in code"
    try:
        rebuilt = build(description, classes)
    except ValueError as error:
        raise ValueError(f"save: the model cannot be rebuilt from its constructor arguments "
                         f"({error}); {advice}") from None
    layout = {key: (value.shape, value.dtype) for key, value in model.state_dict().items()}
    again = {key: (value.shape, value.dtype) for key, value in rebuilt.state_dict().items()}
    if layout != again:
        differences = [f"{key}: {layout.get(key, 'absent')} vs rebuilt {again.get(key, 'absent')}"
                       for key in {**layout, **again} if layout.get(key) != again.get(key)]
        raise ValueError(f"save: rebuilding {type(model).__name__} from its constructor arguments "
                         f"gives other weights ({'; '.join(differences[:5])}); was the model changed "
                         f"after construction? {advice}")


def save(model, path, metadata=None) -> None:
    """Write ``model`` (architecture and weights) to the safetensors file ``path``, atomically.

    Each module is recorded by class name and constructor arguments (its classes may
    be the caller's own, see :func:`load`). ``metadata``: optional JSON-like value
    (dicts, lists, tuples, numbers, str, None, small arrays); see :func:`read_metadata`.

    Raises ValueError (suggesting :func:`save_weights`) when a constructor argument
    cannot be recorded or the recorded arguments do not rebuild the same weights.

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> save(nn.Linear(3, 2), os.path.join(folder.name, 'linear.safetensors'))
        >>> folder.cleanup()
    """
    _check_model(model, "save")
    try:
        description, classes = describe(model)
    except ValueError as error:
        raise ValueError(f"save: {error}; use save_weights(model, path) for such models") from None
    _check_rebuilds(model, description, classes)
    _write(path, model.state_dict(), {"format": MODEL_FORMAT, "architecture": _json(description)},
           metadata)


def load(path, classes=None):
    """Rebuild the model saved by :func:`save` in ``path``, in eval mode.

    ``classes``: ``{name: class}`` for Module classes of your own that the file names
    (e.g. ``{'Net': Net}``); convnet.nn's classes are always known. No other class is
    ever instantiated and nothing named by the file is imported.

    Raises FileNotFoundError, or ValueError naming the file and the problem (damaged
    or truncated file, another kind of file, unknown class, weights that do not fit).

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'bn.safetensors')
        >>> save(nn.BatchNorm2d(8), path)
        >>> load(path)
        BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
        >>> folder.cleanup()
    """
    tensors, metadata = _read(path)
    _expect(path, metadata, MODEL_FORMAT)
    # counted before parsing: a file listing a million modules is refused in microseconds
    check_module_count(metadata.get("architecture", "").count('"class"'), f"{path}: architecture")
    with skip_init():  # the file's weights replace every initial value: draw none
        model = _decode(path, metadata, "architecture", lambda data: build(data, classes))
    _load_into(path, model, tensors, strict=True, exact_dtypes=True)
    return model.eval()


def read_metadata(path):
    """The ``metadata`` given to :func:`save` / :func:`save_weights` for ``path`` (None if none).

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'w.safetensors')
        >>> save_weights(nn.ReLU(), path, metadata={'accuracy': 0.97, 'classes': ('cat', 'dog')})
        >>> read_metadata(path)
        {'accuracy': 0.97, 'classes': ('cat', 'dog')}
        >>> folder.cleanup()
    """
    _, metadata = _read(path)
    if "metadata" not in metadata:
        return None
    return _decode(path, metadata, "metadata", lambda data: Decoder().value(data, "metadata"))


def save_weights(model, path, metadata=None) -> None:
    """Write ``model.state_dict()`` (keys as state_dict gives them) to ``path``, atomically.

    For models :func:`save` cannot describe; rebuild the model in code, then
    :func:`load_weights`.

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'w.safetensors')
        >>> save_weights(nn.Linear(3, 2, rng=0), path)
        >>> load_weights(nn.Linear(3, 2, rng=1), path)
        ([], [])
        >>> folder.cleanup()
    """
    _check_model(model, "save_weights")
    _write(path, model.state_dict(), {"format": WEIGHTS_FORMAT}, metadata)


def load_weights(model, path, strict: bool = True):
    """Copy the weights in ``path`` (any safetensors state_dict) into ``model``, in place.

    ``strict`` as ``Module.load_state_dict``; float64 weights may load into a float32
    model (rounded), but never across kinds (int into float). Returns
    ``(missing_keys, unexpected_keys)``.

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'w.safetensors')
        >>> save_weights(nn.Sequential(nn.Linear(3, 2)), path)
        >>> load_weights(nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 2)), path, strict=False)
        (['1.weight', '1.bias'], [])
        >>> folder.cleanup()
    """
    tensors, metadata = _read(path)
    if metadata.get("format") == STATE_FORMAT:
        _expect(path, metadata, WEIGHTS_FORMAT)
    return _load_into(path, model, tensors, strict=strict, exact_dtypes=False)


def save_state(path, tree) -> None:
    """Write a nested structure of arrays and plain values to ``path``, atomically.

    Arrays and NumPy scalars become tensors; dicts (plain keys), lists, tuples, None,
    bool, int, float (nan/inf too) and str go to the JSON metadata. :func:`load_state`
    gives back an equal structure: same types, dtypes and shapes.

    Example:
        >>> import os, tempfile, numpy as np
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'state.safetensors')
        >>> save_state(path, {'epoch': 3, 'state': {0: {'momentum': np.zeros(2)}}})
        >>> load_state(path)
        {'epoch': 3, 'state': {0: {'momentum': array([0., 0.])}}}
        >>> folder.cleanup()
    """
    tensors = {}
    tree_json = _json(Encoder(tensors).value(tree, "state"))
    _write(path, tensors, {"format": STATE_FORMAT, "state": tree_json})


def load_state(path):
    """The structure saved by :func:`save_state` in ``path``.

    Example:
        >>> import os, tempfile, numpy as np
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'state.safetensors')
        >>> save_state(path, {'step': np.int64(7), 'lr': (0.1, None)})
        >>> load_state(path)
        {'step': np.int64(7), 'lr': (0.1, None)}
        >>> folder.cleanup()
    """
    tensors, metadata = _read(path)
    _expect(path, metadata, STATE_FORMAT)
    decoder = Decoder(tensors)
    tree = _decode(path, metadata, "state", lambda data: decoder.value(data, "state"))
    if set(tensors) - decoder.used:
        raise ValueError(f"{os.fspath(path)}: tensors not referenced by the state: "
                         f"{sorted(set(tensors) - decoder.used)[:5]}")
    return tree
