"""``convnet info``: what this installation computes with (versions, backends, threads).

Example:
    $ convnet info
    convnet 0.1.0 (Python 3.11.7, NumPy 2.4.6, numba 0.62.1)
    convolution backend: oneDNN 3.2.0 (jit:avx512_core), /.../lib/libdnnl.so.3
    also on oneDNN: transposed convolution; max/average pooling; batch normalisation; ...
    ...
"""

from __future__ import annotations

import os
import platform


# the op families with a oneDNN backend besides convolution (float32; each falls back to
# NumPy/numba for the cases its ``supports`` refuses)
ONEDNN_FAMILIES = ("transposed convolution", "max/average pooling", "batch normalisation",
                   "SiLU, GELU, hardswish, hardsigmoid, sigmoid", "softmax, log-softmax",
                   "nearest upsampling by whole factors, linear resampling",
                   "fully connected layers")


def collect() -> dict:
    """The facts ``convnet info`` prints, as a dict."""
    import numba
    import numpy as np

    from .. import __version__, process_settings
    from ..ops.conv import conv_spec, onednn
    from ..ops.onednn import library
    facts = {"convnet": __version__, "python": platform.python_version(), "numpy": np.__version__,
             "numba": numba.__version__, "cpus": os.cpu_count(), **library.describe()}
    spec = conv_spec((8, 16, 14, 14), np.float32, (16, 16, 3, 3), padding=1)
    facts["onednn_kernel"] = onednn.implementation(spec)
    facts["openmp_spin"] = process_settings.tune_openmp_spin()
    try:
        from threadpoolctl import threadpool_info
        facts["thread_pools"] = [(pool.get("internal_api"), pool.get("num_threads"))
                                 for pool in threadpool_info()]
    except ImportError:  # pragma: no cover - a core dependency
        facts["thread_pools"] = []
    return facts


def run(args) -> int:
    facts = collect()
    print(f"convnet {facts['convnet']} (Python {facts['python']}, NumPy {facts['numpy']}, "
          f"numba {facts['numba']}), {facts['cpus']} CPUs")
    if facts["onednn"] and facts["chosen"] == "onednn":
        print(f"convolution backend: oneDNN {facts['version']} ({facts['onednn_kernel']}), "
              f"{facts['path']}")
        print(f"also on oneDNN: {'; '.join(ONEDNN_FAMILIES)}")
    elif facts["onednn"]:
        print(f"convolution backend: NumPy/numba; oneDNN {facts['version']} "
              f"({facts['onednn_kernel']}) is installed, used with CONVNET_BACKEND=onednn")
    elif facts["disabled_by_environment"]:
        print("convolution backend: NumPy/numba (oneDNN turned off by CONVNET_BACKEND=numpy)")
    elif facts["load_error"]:
        print(f"convolution backend: NumPy/numba (oneDNN failed to load: {facts['load_error']})")
    else:
        print("convolution backend: NumPy/numba (oneDNN not installed: pip install "
              "onednn-cpu-gomp)")
    pools = ", ".join(f"{name} {threads}" for name, threads in facts["thread_pools"]) or "none"
    spin = (f"libgomp's idle threads spin {facts['openmp_spin']} iterations (set by convnet)"
            if facts["openmp_spin"] else "libgomp's spin left as it was")
    print(f"thread pools: {pools}; {spin}")
    return 0


def add_parser(commands) -> None:
    parser = commands.add_parser("info", help="versions, active backends and threads")
    parser.set_defaults(run=run)
