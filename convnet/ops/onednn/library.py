"""The one binding to oneDNN's C API (ctypes, no compiler at install): loading the library,
its version, the CPU engine and stream, and every call's status turned into a Python error.

The library comes from the ``onednn-cpu-gomp`` wheel, which installs ``libdnnl.so.3`` in
``<prefix>/lib``; ``CONVNET_ONEDNN_LIBRARY`` may name another file. 'auto' dispatch chooses oneDNN
where it applies (``CONVNET_BACKEND=onednn``, the default), ``CONVNET_BACKEND=numpy`` turns it off
entirely (:func:`available` is then False); a library that fails to load (another CPU, a
missing libgomp) gives one warning and the NumPy backends run.

The enum values are those of oneDNN 3.x's ``dnnl_types.h`` (checked against 3.2).

Example:
    >>> from convnet.ops.onednn import library
    >>> library.available() in (True, False)
    True
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import warnings

# ---------------------------------------------------------------- enums (oneDNN 3.x)
SUCCESS = 0
DATA_TYPES = {"float32": 3, "float64": 7}
TAG_ANY = 1
PLAIN_TAGS = {1: 2, 2: 3, 3: 4, 4: 5, 5: 6, 6: 7}     # ndims -> a, ab, abc, abcd, abcde, abcdef
FORWARD_TRAINING, FORWARD_INFERENCE = 64, 96
CONVOLUTION_DIRECT = 1
POOLING_MAX, POOLING_AVG_INCLUDE, POOLING_AVG_EXCLUDE = 511, 767, 1023
CPU_ENGINE, STREAM_DEFAULT = 1, 1
ARG_SRC, ARG_DST, ARG_WEIGHTS, ARG_BIAS = 1, 17, 33, 41
ARG_DIFF_SRC, ARG_DIFF_DST, ARG_DIFF_WEIGHTS, ARG_DIFF_BIAS = 129, 145, 161, 169
ARG_WORKSPACE, ARG_SCRATCHPAD, ARG_FROM, ARG_TO = 64, 80, 1, 17
ARG_MEAN, ARG_VARIANCE, ARG_SCALE, ARG_SHIFT, ARG_DIFF_SCALE, ARG_DIFF_SHIFT = \
    49, 50, 51, 52, 255, 256
BACKWARD = 128
# batch normalisation flags
USE_GLOBAL_STATS, USE_SCALE, USE_SHIFT, FUSE_NORM_RELU = 0x1, 0x2, 0x4, 0x8
QUERY = {"src": 129, "diff_src": 130, "weights": 131, "diff_weights": 132, "dst": 133,
         "diff_dst": 134, "workspace": 135, "scratchpad": 136}
QUERY_IMPL_INFO = 8
SCRATCHPAD_USER = 1
STATUS_NAMES = {1: "out_of_memory", 2: "invalid_arguments", 3: "unimplemented",
                5: "runtime_error", 6: "not_required", 7: "invalid_graph",
                8: "invalid_graph_op", 9: "invalid_shape", 10: "invalid_data_type"}

Dims = ctypes.c_int64 * 12
handle = ctypes.c_void_p


class ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", handle)]


class Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int),
                ("hash", ctypes.c_char_p), ("cpu_runtime", ctypes.c_uint),
                ("gpu_runtime", ctypes.c_uint)]


class OneDNNError(RuntimeError):
    """A oneDNN call that did not succeed; the message names the primitive and the shapes."""


_SIGNATURES = {
    "dnnl_version": ([], ctypes.POINTER(Version)),
    "dnnl_engine_create": ([ctypes.POINTER(handle), ctypes.c_int, ctypes.c_size_t], ctypes.c_int),
    "dnnl_stream_create": ([ctypes.POINTER(handle), handle, ctypes.c_uint], ctypes.c_int),
    "dnnl_stream_wait": ([handle], ctypes.c_int),
    "dnnl_memory_desc_create_with_tag": (
        [ctypes.POINTER(handle), ctypes.c_int, Dims, ctypes.c_int, ctypes.c_int], ctypes.c_int),
    "dnnl_memory_desc_destroy": ([handle], ctypes.c_int),
    "dnnl_memory_desc_equal": ([handle, handle], ctypes.c_int),
    "dnnl_memory_desc_get_size": ([handle], ctypes.c_size_t),
    "dnnl_memory_create": ([ctypes.POINTER(handle), handle, handle, handle], ctypes.c_int),
    "dnnl_memory_set_data_handle": ([handle, handle], ctypes.c_int),
    "dnnl_memory_destroy": ([handle], ctypes.c_int),
    "dnnl_primitive_desc_query_md": ([handle, ctypes.c_int, ctypes.c_int], handle),
    "dnnl_primitive_desc_query": ([handle, ctypes.c_int, ctypes.c_int, ctypes.c_void_p],
                                  ctypes.c_int),
    "dnnl_primitive_desc_destroy": ([handle], ctypes.c_int),
    "dnnl_primitive_create": ([ctypes.POINTER(handle), handle], ctypes.c_int),
    "dnnl_primitive_destroy": ([handle], ctypes.c_int),
    "dnnl_primitive_execute": ([handle, handle, ctypes.c_int, ctypes.POINTER(ExecArg)],
                               ctypes.c_int),
    "dnnl_primitive_attr_create": ([ctypes.POINTER(handle)], ctypes.c_int),
    "dnnl_primitive_attr_set_scratchpad_mode": ([handle, ctypes.c_int], ctypes.c_int),
    "dnnl_reorder_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, handle, handle, handle, handle], ctypes.c_int),
    "dnnl_convolution_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle, handle,
         handle, Dims, Dims, Dims, Dims, handle], ctypes.c_int),
    "dnnl_convolution_backward_data_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, handle, Dims, Dims, Dims,
         Dims, handle, handle], ctypes.c_int),
    "dnnl_pooling_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle, Dims, Dims,
         Dims, Dims, Dims, handle], ctypes.c_int),
    "dnnl_eltwise_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle,
         ctypes.c_float, ctypes.c_float, handle], ctypes.c_int),
    "dnnl_eltwise_backward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, handle, ctypes.c_float,
         ctypes.c_float, handle, handle], ctypes.c_int),
    "dnnl_softmax_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, ctypes.c_int, handle, handle,
         ctypes.c_int, handle], ctypes.c_int),
    "dnnl_softmax_backward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, handle, ctypes.c_int,
         handle, handle], ctypes.c_int),
    "dnnl_resampling_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, handle,
         handle, handle], ctypes.c_int),
    "dnnl_resampling_backward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, ctypes.c_void_p, handle, handle, handle,
         handle], ctypes.c_int),
    "dnnl_batch_normalization_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, ctypes.c_float,
         ctypes.c_uint, handle], ctypes.c_int),
    "dnnl_batch_normalization_backward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, handle, ctypes.c_float,
         ctypes.c_uint, handle, handle], ctypes.c_int),
    "dnnl_pooling_backward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, Dims, Dims, Dims, Dims,
         Dims, handle, handle], ctypes.c_int),
    "dnnl_post_ops_create": ([ctypes.POINTER(handle)], ctypes.c_int),
    "dnnl_post_ops_destroy": ([handle], ctypes.c_int),
    "dnnl_post_ops_append_binary": ([handle, ctypes.c_int, handle], ctypes.c_int),
    "dnnl_post_ops_append_sum": ([handle, ctypes.c_float, ctypes.c_int32, ctypes.c_int],
                                 ctypes.c_int),
    "dnnl_post_ops_append_eltwise": ([handle, ctypes.c_int, ctypes.c_float, ctypes.c_float],
                                     ctypes.c_int),
    "dnnl_primitive_attr_set_post_ops": ([handle, handle], ctypes.c_int),
    "dnnl_inner_product_forward_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, handle, handle, handle],
        ctypes.c_int),
    "dnnl_inner_product_backward_data_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, handle, handle, handle, handle, handle], ctypes.c_int),
    "dnnl_inner_product_backward_weights_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, handle, handle, handle, handle, handle, handle],
        ctypes.c_int),
    "dnnl_convolution_backward_weights_primitive_desc_create": (
        [ctypes.POINTER(handle), handle, ctypes.c_int, handle, handle, handle, handle, Dims,
         Dims, Dims, Dims, handle, handle], ctypes.c_int),
}

_state = {"lib": None, "engine": None, "stream": None, "error": None, "loaded": False}
_lock = threading.Lock()


def _candidates() -> list[str]:
    named = os.environ.get("CONVNET_ONEDNN_LIBRARY")
    if named:
        return [named]
    folders = [os.path.join(prefix, "lib") for prefix in dict.fromkeys(
        (sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(sys.executable))))]
    return [os.path.join(folder, "libdnnl.so.3") for folder in folders] + ["libdnnl.so.3"]


# What 'auto' dispatch uses when CONVNET_BACKEND is unset: oneDNN wherever it is loaded and
# the case is supported (its convolutions run at 0.8-1.0x PyTorch's time and the training
# steps at or below the NumPy backends': docs/performance.md).
DEFAULT_BACKEND = "onednn"


def chosen_backend() -> str:
    """'onednn' or 'numpy': ``CONVNET_BACKEND`` if set, else :data:`DEFAULT_BACKEND`."""
    choice = os.environ.get("CONVNET_BACKEND", "").lower() or DEFAULT_BACKEND
    return "onednn" if choice == "onednn" else "numpy"


def disabled() -> bool:
    """True when ``CONVNET_BACKEND=numpy`` asks for the NumPy backends only."""
    return os.environ.get("CONVNET_BACKEND", "").lower() == "numpy"


def preferred() -> bool:
    """Whether 'auto' dispatch should pick oneDNN where it applies (loaded and chosen)."""
    return chosen_backend() == "onednn" and available()


def _load() -> None:
    from ... import process_settings
    process_settings.tune_openmp_spin()   # oneDNN brings libgomp in: load it with a short spin
    errors = []
    named = bool(os.environ.get("CONVNET_ONEDNN_LIBRARY"))
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            if named:
                errors.append(f"{path}: no such file")
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as error:
            errors.append(f"{path}: {error}")
            continue
        for name, (arguments, result) in _SIGNATURES.items():
            function = getattr(lib, name)
            function.argtypes, function.restype = arguments, result
        version = lib.dnnl_version().contents
        if version.major != 3:
            errors.append(f"{path}: oneDNN {version.major}.{version.minor}, expected 3.x")
            continue
        engine, stream = handle(), handle()
        if lib.dnnl_engine_create(ctypes.byref(engine), CPU_ENGINE, 0) != SUCCESS or \
                lib.dnnl_stream_create(ctypes.byref(stream), engine, STREAM_DEFAULT) != SUCCESS:
            errors.append(f"{path}: no CPU engine")
            continue
        _state.update(lib=lib, engine=engine, stream=stream, path=path,
                      version=f"{version.major}.{version.minor}.{version.patch}")
        return
    if errors:
        _state["error"] = "; ".join(errors)
        warnings.warn(f"oneDNN could not be loaded ({_state['error']}); convnet uses its NumPy "
                      f"backends", RuntimeWarning, stacklevel=4)


def lib():
    """The loaded library (ctypes CDLL) or None."""
    if not _state["loaded"]:
        with _lock:
            if not _state["loaded"]:
                _load()
                _state["loaded"] = True
    return _state["lib"]


def available() -> bool:
    """Whether oneDNN is loaded and not turned off by ``CONVNET_BACKEND=numpy``."""
    return not disabled() and lib() is not None


def engine():
    lib()
    return _state["engine"]


def stream():
    lib()
    return _state["stream"]


def version() -> str | None:
    """oneDNN's version string, or None when it is not loaded."""
    return _state.get("version") if lib() is not None else None


def check(status: int, what: str) -> None:
    """Raise :class:`OneDNNError` naming ``what`` unless ``status`` is success."""
    if status != SUCCESS:
        raise OneDNNError(f"oneDNN {what}: {STATUS_NAMES.get(status, status)}")


def dims(values) -> Dims:
    array = Dims()
    for index, value in enumerate(values):
        array[index] = int(value)
    return array


def describe() -> dict:
    """What the process uses: whether oneDNN is loaded and chosen, its version and path."""
    active = available()
    return {"onednn": active, "chosen": chosen_backend(),
            "version": version() if active else None,
            "path": _state.get("path") if active else None,
            "disabled_by_environment": disabled(), "load_error": _state.get("error")}


# ---------------------------------------------------------------- OpenMP threads
_openmp: dict = {}
SMALL_WORK = 2_000_000     # multiply-adds below which one thread beats the hand-off


def _openmp_functions():
    """(omp_get_max_threads, omp_set_num_threads) of the process's libgomp, or None."""
    if "functions" not in _openmp:
        try:
            runtime = ctypes.CDLL("libgomp.so.1")
            get, set_ = runtime.omp_get_max_threads, runtime.omp_set_num_threads
            get.argtypes, get.restype = [], ctypes.c_int
            set_.argtypes, set_.restype = [ctypes.c_int], None
            _openmp["functions"] = (get, set_)
        except (OSError, AttributeError):  # pragma: no cover - another OpenMP runtime
            _openmp["functions"] = None
    return _openmp["functions"]


def threads_for(work: int) -> int | None:
    """How many OpenMP threads a primitive of ``work`` multiply-adds runs on: one for small
    work (waking the other thread costs more than it saves, and its spin afterwards takes
    the core convnet's own threads need), else None: as many as the process's OpenMP
    setting says (``OMP_NUM_THREADS``, or ``torch.set_num_threads`` in a process that also
    runs PyTorch), at most ``CONVNET_NUM_THREADS``."""
    if work < SMALL_WORK:
        return 1
    cap = os.environ.get("CONVNET_NUM_THREADS")
    return int(cap) if cap and cap.isdigit() and int(cap) > 0 else None


@contextlib.contextmanager
def threads(count: int | None):
    """Run the primitives inside on ``count`` OpenMP threads (None: the process's setting,
    or fewer if that is more), then put the process's setting back, so that other users
    of the same OpenMP runtime (PyTorch, numba) see it unchanged.

    Example:
        >>> with threads(1):
        ...     pass
    """
    functions = _openmp_functions() if count is not None else None
    if functions is None:
        yield
        return
    get, set_ = functions
    before = get()
    count = min(count, before)
    if count != before:
        set_(count)
    try:
        yield
    finally:
        if count != before:
            set_(before)
