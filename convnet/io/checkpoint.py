"""Models, weights and training state in safetensors files: no pickle, no code from the file.

- :func:`save` / :func:`load`: a whole model: ``model.state_dict()`` as tensors and,
  in the header's ``__metadata__``, ``format = "convnet.model/1"``, the module tree as
  JSON (``architecture``, see :mod:`convnet.io.architecture`) and optional user
  ``metadata`` (JSON, read back with :func:`read_metadata`). As ``torch.save``/``torch.load``,
  they also take a state_dict or a container of arrays (an optimizer's ``state_dict()``):
  ``format = "convnet.object/1"``, the structure as JSON in ``object`` (as in
  :func:`save_state`) and the positions of its OrderedDicts in ``ordered``. :func:`load`
  also reads files written by ``torch.save`` (see :mod:`convnet.io.torch_file`).
- :func:`save_weights` / :func:`load_weights`: the state_dict alone
  (``format = "convnet.weights/1"``), for models built in code.
- :func:`save_state` / :func:`load_state`: a nested structure of arrays and plain
  values, e.g. an optimizer's state and epoch counters (``format = "convnet.state/1"``).

Every file is written atomically (:mod:`convnet.io.atomic`). Reading checks the
file before using it and reports a damaged, truncated or foreign file as a
ValueError that names the file and what is wrong. Example: see :mod:`convnet.io`.
"""

from __future__ import annotations

import collections
import json
import os
import re

import numpy as np
import safetensors.numpy

from ..nn.init import skip_init
from . import limits
from .architecture import Decoder, Encoder, _plain_dtype, build, describe
from .atomic import atomic_write_bytes
from .limits import check_module_count, read_regular_file
from .torch_file import is_legacy_torch, is_torch_zip, parse_torch_file

__all__ = ["save", "load", "save_weights", "load_weights", "save_state", "load_state",
           "read_metadata", "MODEL_FORMAT", "WEIGHTS_FORMAT", "STATE_FORMAT", "OBJECT_FORMAT"]

MODEL_FORMAT = "convnet.model/1"
WEIGHTS_FORMAT = "convnet.weights/1"
STATE_FORMAT = "convnet.state/1"
OBJECT_FORMAT = "convnet.object/1"
_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
# safetensors dtype codes that NumPy holds exactly (BF16 and the FP8 codes have no NumPy type)
_READABLE_DTYPES = ("F16", "F32", "F64", "I8", "I16", "I32", "I64", "U8", "U16", "U32", "U64",
                    "BOOL")
_HOLDS = {MODEL_FORMAT: "a whole model: use load(path)",
          WEIGHTS_FORMAT: "weights only: build the model in code and use load_weights(model, path)",
          STATE_FORMAT: "a training state: use load_state(path)",
          OBJECT_FORMAT: "a state_dict or container saved by save(obj, path): use load(path)",
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


def _read(path, data: bytes | None = None) -> tuple[dict, dict]:
    """(tensors, string metadata) of a checked safetensors file (``data``: its bytes, if read)."""
    path = os.fspath(path)
    if data is None:
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

    As ``torch.save``, ``model`` may also be a state_dict or a dict, list or tuple of
    arrays, Tensors (stored as arrays) and plain values (an optimizer's ``state_dict()``,
    a checkpoint ``{'model': ..., 'optimizer': ..., 'epoch': 3}``); :func:`load` gives it
    back, OrderedDicts (a state_dict) as OrderedDicts. Never pickle: the structure is JSON,
    the arrays tensors; a state_dict's tensors keep its keys as names, so
    :func:`load_weights` reads such a file too.

    Raises ValueError (suggesting :func:`save_weights`) when a constructor argument
    cannot be recorded or the recorded arguments do not rebuild the same weights, or
    naming a value that cannot be stored.

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> save(nn.Linear(3, 2), os.path.join(folder.name, 'linear.safetensors'))
        >>> save(nn.Linear(3, 2).state_dict(), os.path.join(folder.name, 'weights.safetensors'))
        >>> folder.cleanup()
    """
    from ..nn import Module
    from ..tensor import Tensor
    if isinstance(model, (dict, list, tuple, np.ndarray, Tensor)):
        _save_object(model, path, metadata)
        return
    if not isinstance(model, Module):
        raise TypeError(f"save: expected a convnet.nn.Module as the model, got "
                        f"{type(model).__name__} ({model!r:.40}); save also takes a state_dict or "
                        f"a dict, list or tuple of arrays and plain values")
    try:
        description, classes = describe(model)
    except ValueError as error:
        raise ValueError(f"save: {error}; use save_weights(model, path) for such models") from None
    _check_rebuilds(model, description, classes)
    _write(path, model.state_dict(), {"format": MODEL_FORMAT, "architecture": _json(description)},
           metadata)


def _plain_tree(value, position: tuple, ordered: list):
    """``value`` with Tensors as arrays; the positions of its OrderedDicts go to ``ordered``."""
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, dict):
        if isinstance(value, collections.OrderedDict):
            ordered.append(list(position))
        return {key: _plain_tree(item, (*position, index), ordered)
                for index, (key, item) in enumerate(value.items())}
    if isinstance(value, (list, tuple)):
        items = [_plain_tree(item, (*position, index), ordered) for index, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    return value


def _save_object(obj, path, metadata) -> None:
    ordered, tensors = [], {}
    encoder = Encoder(tensors)
    try:
        tree = _plain_tree(obj, (), ordered)
        if isinstance(tree, dict) and all(isinstance(key, str) for key in tree):
            # a state_dict's tensors are named by its keys, as save_weights names them
            data = {"dict": {key: encoder.value(value, key) for key, value in tree.items()}}
        else:
            data = encoder.value(tree, "obj")
    except RecursionError:
        raise ValueError("save: the object is nested too deeply, or contains itself") from None
    except ValueError as error:
        raise ValueError(f"save: {error}") from None
    _write(path, tensors, {"format": OBJECT_FORMAT, "object": _json(data),
                           "ordered": _json(ordered)}, metadata)


def _load_object(path, tensors: dict, metadata: dict):
    decoder = Decoder(tensors)
    tree = _decode(path, metadata, "object", lambda data: decoder.value(data, "object"))
    if set(tensors) - decoder.used:
        raise ValueError(f"{os.fspath(path)}: tensors not referenced by the object: "
                         f"{sorted(set(tensors) - decoder.used)[:5]}")
    ordered = _decode(path, metadata, "ordered", lambda data: data)
    if not (isinstance(ordered, list) and all(
            isinstance(position, list) and all(type(index) is int for index in position)
            for position in ordered)):
        raise ValueError(f"{os.fspath(path)}: the 'ordered' metadata is not a list of positions")
    wanted = {tuple(position) for position in ordered}
    found = set()

    def restore(value, position: tuple):
        if isinstance(value, dict):
            items = [(key, restore(item, (*position, index)))
                     for index, (key, item) in enumerate(value.items())]
            if position in wanted:
                found.add(position)
                return collections.OrderedDict(items)
            return dict(items)
        if isinstance(value, (list, tuple)):
            items = [restore(item, (*position, index)) for index, item in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        return value

    tree = restore(tree, ()) if wanted else tree
    if found != wanted:
        raise ValueError(f"{os.fspath(path)}: the 'ordered' metadata names positions that hold "
                         f"no dict: {sorted(wanted - found)[:3]}")
    return tree


_DEVICE = re.compile(r"(cpu|cuda|mps|xpu|meta|hpu|xla|privateuseone)(:\d+)?")


def _check_map_location(map_location) -> None:
    """Accept what torch.load takes as ``map_location`` naming devices; every array is on the CPU."""
    if isinstance(map_location, dict):  # {'cuda:0': 'cpu'}
        names = all(isinstance(key, str) and isinstance(value, str)
                    for key, value in map_location.items())
    else:
        names = (map_location is None or isinstance(getattr(map_location, "type", None), str)
                 or (isinstance(map_location, str) and _DEVICE.fullmatch(map_location)))
    if names:  # torch.device and convnet.device have a str ``type``
        return
    raise TypeError(f"map_location: expected None, a device name such as 'cpu', a device or a dict "
                    f"of device names, got {type(map_location).__name__} ({map_location!r:.40}); "
                    f"convnet loads every tensor as a NumPy array on the CPU")


def _read_source(f) -> tuple[str, bytes]:
    """(name for errors, bytes) of a path or a binary file object."""
    if hasattr(f, "read") and not isinstance(f, (str, bytes, os.PathLike)):
        name = str(getattr(f, "name", "<file object>"))
        data = f.read(limits.MAX_FILE_BYTES + 1)
        if not isinstance(data, bytes):
            raise TypeError(f"f: expected a file opened in binary mode, got one that gives "
                            f"{type(data).__name__}")
        if len(data) > limits.MAX_FILE_BYTES:
            raise ValueError(f"{name}: more than the {limits.MAX_FILE_BYTES:,} bytes a file may "
                             f"have")
        return name, data
    if not isinstance(f, (str, bytes, os.PathLike)):
        raise TypeError(f"f: expected a file name (str or os.PathLike) or a binary file object, "
                        f"got {type(f).__name__} ({f!r:.40})")
    path = os.fspath(f)
    path = path.decode() if isinstance(path, bytes) else path
    return path, read_regular_file(path, "model file (safetensors or torch.save)")


def load(f, map_location=None, *, weights_only=True, classes=None):
    """What :func:`save` or ``torch.save`` wrote to ``f`` (a path or a binary file object).

    - A model saved by :func:`save`: rebuilt, in eval mode. ``classes``: ``{name: class}``
      for Module classes of your own that the file names (e.g. ``{'Net': Net}``);
      convnet.nn's classes are always known. No other class is ever instantiated and
      nothing named by the file is imported.
    - A state_dict or container saved by ``save(obj, path)``: the same structure, arrays
      as arrays, OrderedDicts as OrderedDicts.
    - A file written by ``torch.save`` (a zip archive, recognized by its first bytes):
      the object, tensors as NumPy arrays, through the restricted reader of
      :mod:`convnet.io.torch_file` (any other class in the file is refused), so
      ``model.load_state_dict(convnet.load('resnet18.pth'))`` works.

    As ``torch.load``: ``map_location`` may name a device (``'cpu'``, ``'cuda:0'``, a
    device object or a dict of names) and is ignored: arrays live on the CPU.
    ``weights_only`` is accepted and changes nothing: loading is always restricted, as
    torch's ``weights_only=True``. For backward compatibility a dict of classes given as
    the second positional argument is taken as ``classes``.

    Raises FileNotFoundError, or ValueError naming the file and the problem (damaged
    or truncated file, another kind of file, unknown class, weights that do not fit).

    Example:
        >>> import os, tempfile, convnet.nn as nn
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'bn.safetensors')
        >>> save(nn.BatchNorm2d(8), path)
        >>> load(path)
        BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
        >>> save(nn.Linear(2, 1).state_dict(), path)
        >>> weights = load(path, map_location='cpu')
        >>> type(weights).__name__, list(weights), weights['weight'].shape
        ('OrderedDict', ['weight', 'bias'], (1, 2))
        >>> folder.cleanup()
    """
    if (classes is None and isinstance(map_location, dict) and map_location
            and all(isinstance(value, type) for value in map_location.values())):
        classes, map_location = map_location, None  # load(path, {'Net': Net}) before map_location
    _check_map_location(map_location)
    if weights_only not in (True, False, None):
        raise TypeError(f"weights_only: expected True, False or None, got {weights_only!r:.40}")
    path, data = _read_source(f)
    if is_torch_zip(data) or is_legacy_torch(data):
        return parse_torch_file(data, path)
    tensors, metadata = _read(path, data)
    if metadata.get("format") == OBJECT_FORMAT:
        return _load_object(path, tensors, metadata)
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
