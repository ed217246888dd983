"""Files written by ``torch.save``, read without torch: tensors come back as NumPy arrays.

``torch.save`` writes a zip archive: ``<name>/data.pkl`` (a pickle of the object, its
storages named by persistent ids ``('storage', storage_type, key, location, numel)``),
``<name>/data/<key>`` (each storage's raw bytes) and ``<name>/byteorder``. The pickle is
read by :class:`TorchUnpickler`, whose ``find_class`` knows only what rebuilds tensors
and plain containers: ``torch._utils._rebuild_tensor_v2``/``_v3``, ``_rebuild_parameter``
(``_with_state``), ``collections.OrderedDict``, ``torch.Size``, the storage types
(``torch.FloatStorage``..., ``torch.storage.UntypedStorage``), dtypes (``torch.float32``...)
and, as protocol 2 writes them, ``set``, ``frozenset``, ``complex`` and ``bytes``. Any other
global (``os.system``, ``builtins.eval``, ``posix.system``...) raises :class:`TorchFileError`
when the pickle names it, before anything it names is called: nothing is imported and no
code from the file runs. ``find_class`` hands out inert stand-ins, never real classes or
functions, so a crafted ``BUILD``/``__setstate__`` has nothing to change; the stand-ins
become arrays (a copy out of the storage with the tensor's shape, strides and offset;
bfloat16 becomes float32) and ``numpy.dtype`` objects once the pickle is read.

Every problem is a one-line :class:`TorchFileError` naming the file: a ValueError (as
convnet's other errors) that is also a ``pickle.UnpicklingError`` (as torch's
``weights_only`` loader raises).

Example:
    >>> import io, zipfile
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, 'w') as archive:
    ...     archive.writestr('net/data.pkl', b'c__builtin__\\neval\\n(S"1+1"\\ntR.')
    >>> parse_torch_file(buffer.getvalue(), 'net.pt')
    Traceback (most recent call last):
    ...
    convnet.io.torch_file.TorchFileError: net.pt: the pickle asks for __builtin__.eval, which a torch file of tensors never needs; refused (nothing was run)
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import re
import zipfile

import numpy as np

from . import limits
from .restricted_pickle import Inert, RestrictedUnpickler, fail, latin1_encode, show

__all__ = ["TorchFileError", "TorchUnpickler", "load_torch_file", "parse_torch_file",
           "is_torch_zip", "is_legacy_torch"]

_LEGACY_MAGIC = (0x1950A86A20F9469CFC6C).to_bytes(10, "little")  # torch's pre-1.6 format
_STORAGE_DTYPES = {"DoubleStorage": "float64", "FloatStorage": "float32", "HalfStorage": "float16",
                   "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
                   "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
                   "BoolStorage": "bool", "ComplexFloatStorage": "complex64",
                   "ComplexDoubleStorage": "complex128", "UntypedStorage": "uint8"}
_TORCH_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
                 "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "complex128")
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}")


class TorchFileError(ValueError, pickle.UnpicklingError):
    """A torch file that cannot or may not be read; the message names the file."""


def is_torch_zip(data: bytes) -> bool:
    """Whether ``data`` looks like a ``torch.save`` file: a zip archive whose first member
    is ``<name>/data.pkl`` (other zips, such as NumPy's ``.npz``, are not).

    >>> is_torch_zip(b'PK\\x03\\x04' + bytes(22) + b'\\x10\\x00\\x00\\x00' + b'archive/data.pkl')
    True
    >>> is_torch_zip(b'PK\\x03\\x04' + bytes(22) + b'\\x0a\\x00\\x00\\x00' + b'weight.npy')
    False
    """
    if data[:4] != b"PK\x03\x04" or len(data) < 30:
        return False
    first = data[30:30 + int.from_bytes(data[26:28], "little")]
    return first.endswith(b"/data.pkl") and first.count(b"/") == 1


def is_legacy_torch(data: bytes) -> bool:
    """Whether ``data`` is torch's pre-1.6 format (a pickle that starts with torch's magic number).

    >>> is_legacy_torch(b'\\x80\\x02\\x8a\\nl\\xfc\\x9cF\\xf9 j\\xa8P\\x19.'), is_legacy_torch(b'PK')
    (True, False)
    """
    return data[:1] == b"\x80" and _LEGACY_MAGIC in data[:32]


# ----------------------------------------------------------------- inert stand-ins
class _DType(Inert):
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __str__(self):
        return f"torch.{self.name}"


class _StorageType(_DType):
    __slots__ = ()

    def __str__(self):
        return f"storage type {self.name}"


class _Storage(Inert):
    __slots__ = ("key", "dtype", "numel", "data")

    def __init__(self, key, dtype, numel, data):
        self.key, self.dtype, self.numel, self.data = key, dtype, numel, data

    def __str__(self):
        return f"storage {self.key!r}"


class _Tensor(Inert):
    __slots__ = ("storage", "offset", "size", "stride", "dtype", "conj", "neg")

    def __init__(self, storage, offset, size, stride, dtype, conj=False, neg=False):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.dtype, self.conj, self.neg = dtype, conj, neg

    def __str__(self):
        return "tensor"


def _ints(value, what: str, minimum: int = 0) -> tuple:
    if not (isinstance(value, tuple) and len(value) <= 64 and all(
            isinstance(item, int) and not isinstance(item, bool) and item >= minimum
            for item in value)):
        fail(f"{what}: expected a tuple of at most 64 ints >= {minimum}, got {show(value)}")
    return value


def _tensor_v2(storage, offset, size, stride, requires_grad, hooks, metadata=None):
    if not isinstance(storage, _Storage):
        fail(f"a tensor's storage is a {type(storage).__name__}, not a storage")
    return _tensor_v3(storage, offset, size, stride, requires_grad, hooks,
                      _DType(storage.dtype), metadata)


def _tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype, metadata=None):
    if not isinstance(storage, _Storage):
        fail(f"a tensor's storage is a {type(storage).__name__}, not a storage")
    if type(dtype) is not _DType:
        fail(f"a tensor's dtype is {show(dtype)}, not a torch dtype")
    _ints((offset,), "storage offset")
    size, stride = _ints(size, "size"), _ints(stride, "stride")
    if len(size) != len(stride):
        fail(f"a tensor has size {size} but stride {stride}")
    if metadata is not None and not (isinstance(metadata, dict)
                                     and set(metadata) <= {"conj", "neg"}):
        fail(f"unsupported tensor metadata {show(metadata)}")
    flags = metadata or {}
    return _Tensor(storage, offset, size, stride, dtype.name, bool(flags.get("conj")),
                   bool(flags.get("neg")))


def _parameter(data, requires_grad, hooks, state=None):
    if not isinstance(data, _Tensor):
        fail(f"a Parameter wraps a {type(data).__name__}, not a tensor")
    return data


def _ordered_dict(*args):
    if len(args) > 1 or (args and not isinstance(args[0], (list, tuple))):
        fail(f"OrderedDict called with {show(args)}")
    return collections.OrderedDict(*args)


def _size(dims):
    return _ints(tuple(dims) if isinstance(dims, (list, tuple)) else dims, "torch.Size")


def _plain(kind, most, *accepted):
    def build(*args):
        if len(args) > most or not all(isinstance(arg, accepted) for arg in args):
            fail(f"{kind.__name__} called with {show(args)}")
        return kind(*args)
    return build


_GLOBALS = {
    ("torch._utils", "_rebuild_tensor_v2"): _tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _parameter,
    ("collections", "OrderedDict"): _ordered_dict,
    ("torch", "Size"): _size,
    ("_codecs", "encode"): latin1_encode,
    **{(module, kind.__name__): _plain(kind, most, *accepted)
       for module in ("builtins", "__builtin__")  # protocol 2 writes __builtin__
       for kind, most, accepted in ((set, 1, (list, tuple)), (frozenset, 1, (list, tuple)),
                                    (bytes, 0, ()), (complex, 2, (int, float)))},
}


class TorchUnpickler(RestrictedUnpickler):
    """Reads a ``data.pkl``; ``storage(key, dtype, numel)`` returns a storage's bytes."""

    purpose, error, GLOBALS = "a torch file of tensors", TorchFileError, _GLOBALS

    def __init__(self, file, storage):
        super().__init__(file)
        self._storage, self._storages = storage, {}

    def extra_class(self, module, name):
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _TORCH_DTYPES:
            return _DType(name)
        return None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[3], str) and isinstance(pid[4], int) and pid[4] >= 0):
            fail(f"unexpected persistent id {show(pid)}")
        _, storage_type, key, _location, numel = pid  # every storage is read onto the CPU
        known = self._storages.get(key)
        if known is None:
            known = self._storages[key] = _Storage(key, storage_type.name, numel,
                                                   self._storage(key, storage_type.name, numel))
        elif (known.dtype, known.numel) != (storage_type.name, numel):
            fail(f"storage {key!r} is named as {known.numel} {known.dtype} and as {numel} "
                  f"{storage_type.name}")
        return known


# ----------------------------------------------------------------- reading the archive
def _item_size(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def _archive(data: bytes, name: str):
    """(zip file, member prefix) of a checked torch archive."""
    def fail(why):
        raise TorchFileError(f"{name}: {why}")
    if data[:4] != b"PK\x03\x04":
        if is_legacy_torch(data):
            fail("torch's legacy format (before torch 1.6, or _use_new_zipfile_serialization=False) "
                 "is not supported; re-save it with torch.save in torch >= 1.6")
        fail("not a torch.save file: not a zip archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as error:  # what zipfile's parser meets: BadZipFile, NotImplementedError...
        fail(f"not a torch.save file, or truncated: {show(str(error))[1:-1]}")
    for member in members:
        parts = member.filename.split("/")
        if (member.filename.startswith("/") or "\\" in member.filename or "\x00" in member.filename
                or ".." in parts or re.match(r"[A-Za-z]:", member.filename)):
            fail(f"the member name {member.filename!r:.80} escapes the archive")
    declared = sum(member.file_size for member in members)
    if declared > limits.MAX_FILE_BYTES:
        fail(f"its members hold {declared:,} bytes, more than the {limits.MAX_FILE_BYTES:,} a "
             f"torch file may have")
    pickles = [member.filename for member in members if member.filename.count("/") == 1
               and member.filename.endswith("/data.pkl")]
    if len(pickles) != 1:
        fail(f"expected one '<name>/data.pkl' member, found {len(pickles)}: not a torch.save file")
    prefix = pickles[0][:-len("data.pkl")]
    if any(member.filename.startswith(prefix + "code/") for member in members):
        fail("a TorchScript archive (torch.jit.save) is not supported; save a state_dict instead")
    return archive, prefix


def _read_member(archive, member: str, name: str) -> bytes:
    try:
        return archive.read(member)
    except KeyError:
        raise TorchFileError(f"{name}: the archive has no member {show(member)}") from None
    except Exception as error:  # BadZipFile (a wrong CRC), NotImplementedError, zlib.error...
        raise TorchFileError(f"{name}: member {show(member)} is damaged: "
                             f"{show(str(error))[1:-1]}") from None


def parse_torch_file(data: bytes, name: str = "<bytes>"):
    """The object in ``data``, the bytes of a ``torch.save`` file; ``name`` is used in errors.

    Example (what ``torch.save(torch.tensor([1.5, -2.0]), f)`` writes, by hand):
        >>> import io, zipfile, numpy as np
        >>> pkl = (b"ctorch._utils\\n_rebuild_tensor_v2\\n("  # storage, offset, size, ...
        ...        b"(S'storage'\\nctorch\\nFloatStorage\\nS'0'\\nS'cpu'\\nI2\\ntQ"  # storage '0'
        ...        b"I0\\n(I2\\nt(I1\\ntI00\\nccollections\\nOrderedDict\\n)RtR.")
        >>> buffer = io.BytesIO()
        >>> with zipfile.ZipFile(buffer, 'w') as archive:
        ...     archive.writestr('archive/data.pkl', pkl)
        ...     archive.writestr('archive/data/0', np.array([1.5, -2], '<f4').tobytes())
        >>> parse_torch_file(buffer.getvalue())
        array([ 1.5, -2. ], dtype=float32)
    """
    archive, prefix = _archive(data, name)
    with archive:
        order = "little"
        if prefix + "byteorder" in archive.namelist():
            order = _read_member(archive, prefix + "byteorder", name).decode("latin1")
            if order not in ("little", "big"):
                raise TorchFileError(f"{name}: unknown byte order {show(order)}")

        def storage(key: str, dtype: str, numel: int) -> bytes:
            if not _KEY.fullmatch(key):
                raise TorchFileError(f"{name}: the storage key {show(key)} escapes the archive")
            raw = _read_member(archive, f"{prefix}data/{key}", name)
            if len(raw) < numel * _item_size(dtype):
                raise TorchFileError(f"{name}: storage {key!r} holds {len(raw)} bytes, shorter "
                                     f"than the {numel} {dtype} values it should hold")
            return raw

        unpickler = TorchUnpickler(io.BytesIO(_read_member(archive, prefix + "data.pkl", name)),
                                   storage)
        try:
            tree = unpickler.load()
        except TorchFileError as error:
            if str(error).startswith(f"{name}: "):
                raise
            raise TorchFileError(f"{name}: {error}") from None
        except Exception as error:  # a damaged or crafted pickle: any error of the pickle machine
            message = " ".join(str(error).split())
            raise TorchFileError(f"{name}: data.pkl: {message:.200} "
                                 f"({type(error).__name__})") from None
    try:
        return _Materializer(name, order).value(tree)
    except RecursionError:
        raise TorchFileError(f"{name}: the object is nested too deeply") from None


class _Materializer:
    """Turns the stand-ins into arrays and dtypes; shared objects stay shared."""

    def __init__(self, name: str, order: str):
        self.name, self.order = name, "<" if order == "little" else ">"
        self.done, self.budget = {}, 0

    def fail(self, why: str):
        raise TorchFileError(f"{self.name}: {why}")

    def value(self, item):
        if id(item) in self.done:
            return self.done[id(item)][1]
        if isinstance(item, (_Tensor, _Storage)):
            result = self.tensor(item) if isinstance(item, _Tensor) else self.tensor(
                _Tensor(item, 0, (item.numel,), (1,), item.dtype))
        elif isinstance(item, _DType):
            result = np.dtype("float32" if item.name == "bfloat16" else item.name)
        elif isinstance(item, Inert):
            self.fail(f"the object holds {item}, not data")
        elif isinstance(item, dict):
            self.done[id(item)] = (item, item)  # before the children: cycles end here
            pairs = [(self.value(key), self.value(entry)) for key, entry in item.items()]
            item.clear()
            try:
                item.update(pairs)
            except TypeError:
                self.fail("a dict key is an array")
            if type(item) is collections.OrderedDict and vars(item):  # e.g. a state_dict's _metadata
                vars(item).update({key: self.value(entry) for key, entry in vars(item).items()})
            return item
        elif isinstance(item, list):
            self.done[id(item)] = (item, item)
            item[:] = [self.value(entry) for entry in item]
            return item
        elif isinstance(item, (tuple, set, frozenset)):
            try:
                result = type(item)(self.value(entry) for entry in item)
            except TypeError:
                self.fail("a set holds an array")
        else:
            result = item
        self.done[id(item)] = (item, result)  # the original kept alive: its id stays unique
        return result

    def tensor(self, tensor: _Tensor) -> np.ndarray:
        storage, size, dtype = tensor.storage, tensor.size, tensor.dtype
        wire = np.dtype("uint16" if dtype == "bfloat16" else dtype).newbyteorder(self.order)
        available = storage.numel * _item_size(storage.dtype) // wire.itemsize
        count = int(np.prod(size, dtype=object))
        self.budget += count * wire.itemsize
        if self.budget > limits.MAX_FILE_BYTES:
            self.fail(f"its tensors would take more than the {limits.MAX_FILE_BYTES:,} bytes a "
                      f"torch file may hold")
        if count == 0:
            values = np.zeros(size, wire)
        else:
            last = tensor.offset + sum((length - 1) * step
                                       for length, step in zip(size, tensor.stride))
            if last >= available:
                self.fail(f"storage {storage.key!r} holds {available} {dtype} values, a tensor of "
                          f"size {size} at offset {tensor.offset} needs {last + 1}")
            base = np.frombuffer(storage.data, wire, count=available)[tensor.offset:]
            values = np.lib.stride_tricks.as_strided(
                base, size, tuple(step * wire.itemsize for step in tensor.stride), writeable=False)
        values = np.array(values, wire.newbyteorder("="), order="C")
        if dtype == "bfloat16":
            values = (values.astype(np.uint32) << 16).view(np.float32)
        if tensor.conj:
            values = np.conj(values)
        if tensor.neg:
            values = np.negative(values)
        return values


def load_torch_file(path):
    """The object that ``torch.save`` wrote to ``path``, tensors as NumPy arrays.

    The file is read whole into memory, within :data:`convnet.io.limits.MAX_FILE_BYTES`.
    Raises FileNotFoundError, or :class:`TorchFileError` (a ValueError) naming the file.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = os.path.join(folder.name, 'weights.pth')
        >>> with open(path, 'wb') as f:
        ...     _ = f.write(b'not a zip')
        >>> load_torch_file(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        convnet.io.torch_file.TorchFileError: ...weights.pth: not a torch.save file: not a zip archive
        >>> folder.cleanup()
    """
    path = os.fspath(path)
    try:
        data = limits.read_regular_file(path, "torch file")
    except ValueError as error:
        raise TorchFileError(str(error)) from None
    return parse_torch_file(data, path)
