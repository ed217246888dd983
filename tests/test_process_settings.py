"""``import convnet`` leaves the process alone; :func:`convnet.process_settings.apply` does
what it documents, once, and each setting has an off switch.

Each case runs in a fresh interpreter. glibc's mmap threshold is seen through behaviour:
a fresh 64 MB array (above glibc's largest dynamic threshold, 32 MB) is a separate mapping
(``mallinfo2().hblks`` grows) under glibc's defaults and comes from the heap once the threshold is raised. OpenBLAS's state is read
through threadpoolctl and the environment; a product after the pools restarted must equal
NumPy's float64 product of the same operands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="the settings exist on Linux with glibc only")

PROBE = r"""
import ctypes, json, os, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2

def big_array_is_mapped():
    before = libc.mallinfo2().hblks
    block = np.ones(16 * 2**20, np.float32)  # 64 MB
    mapped = libc.mallinfo2().hblks > before
    del block
    return mapped

from threadpoolctl import threadpool_info  # before the environment is read: it sets a variable


def blas_state():
    return {pool["filepath"]: pool["num_threads"] for pool in threadpool_info()}

environment, blas = dict(os.environ), blas_state()
mapped_before = big_array_is_mapped()
import convnet, convnet.functional, convnet.nn  # noqa: E401
after = blas_state()  # libraries loaded by the import (SciPy's BLAS) may add pools: not changes
result = {"env_same": dict(os.environ) == environment,
          "blas_same": all(after.get(path) == threads for path, threads in blas.items()),
          "mapped_before": mapped_before, "mapped_after_import": big_array_is_mapped()}
if sys.argv[1] == "apply":
    from convnet import process_settings
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
    applied = process_settings.apply()
    result.update(applied=applied, again=process_settings.apply() == applied,
                  mapped_after_apply=big_array_is_mapped(),
                  env_same_after_apply=dict(os.environ) == environment,
                  error=float(np.abs(a.astype(np.float32) @ b.astype(np.float32) - a @ b).max()))
if sys.argv[1] == "split":
    from convnet import process_settings
    from convnet.ops import batch_threads
    before = process_settings._BLAS_TUNED
    batch_threads.run_parts(lambda lo, hi: None, [(0, 1), (1, 2)])
    result.update(tuned_before=before, tuned=process_settings._BLAS_TUNED,
                  applied=process_settings.apply(),
                  env_same_after_split=dict(os.environ) == environment)
print(json.dumps(result))
"""


def probe(mode: str, **env) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("CONVNET_MALLOC_TUNING", "CONVNET_BLAS_THREAD_TIMEOUT",
                                "OPENBLAS_THREAD_TIMEOUT", "CONVNET_OPENMP_SPIN",
                                "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    environment.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE, mode], env=environment, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_changes_nothing_in_the_process():
    result = probe("import")
    assert result["env_same"] and result["blas_same"]
    assert result["mapped_before"] is True          # glibc's default: a 40 MB block is mmapped
    assert result["mapped_after_import"] is True    # and still is after import convnet


def test_apply_raises_the_heap_threshold_and_restarts_blas_once():
    result = probe("apply")
    assert result["applied"]["malloc"] is True and result["mapped_after_apply"] is False
    assert all("openblas" in path for path in result["applied"]["blas_libraries"])
    assert result["again"] and result["env_same_after_apply"]
    assert result["error"] < 1e-3                    # float32 product of N(0,1) data, K = 200


def test_each_setting_has_an_off_switch():
    result = probe("apply", CONVNET_MALLOC_TUNING="0", CONVNET_BLAS_THREAD_TIMEOUT="0",
                   CONVNET_OPENMP_SPIN="0")
    assert result["applied"] == {"malloc": False, "blas_libraries": [], "openmp_spin": None}
    assert result["mapped_after_apply"] is True


def test_a_users_own_openblas_timeout_is_left_alone():
    assert probe("apply", OPENBLAS_THREAD_TIMEOUT="20")["applied"]["blas_libraries"] == []


def test_the_first_split_between_threads_shortens_the_blas_spin_once():
    result = probe("split")
    assert result["tuned_before"] is None and result["env_same_after_split"]
    assert result["tuned"] == result["applied"]["blas_libraries"]   # apply() does not redo it
    assert any("openblas" in path for path in result["tuned"])
    assert probe("split", CONVNET_BLAS_THREAD_TIMEOUT="0")["tuned"] == []


SPIN_PROBE = r"""
import ctypes, json, os, sys
environment = dict(os.environ)
if sys.argv[1] == "torch-first":
    ctypes.CDLL("libgomp.so.1")            # another library brought libgomp in first
import convnet  # noqa: F401
from convnet import process_settings
from convnet.ops.onednn import library
result = {"loaded_by_import": bool(process_settings.loaded_libraries("libgomp"))}
if sys.argv[1] == "apply":
    result["spin"] = process_settings.apply()["openmp_spin"]
else:
    library.lib()
    result["spin"] = process_settings.tune_openmp_spin()
result["env_same"] = dict(os.environ) == environment
sys.stdout.flush()
ctypes.CDLL("libgomp.so.1").omp_display_env(1)   # the runtime's own report, on stderr
print(json.dumps(result))
"""


def spin_probe(mode: str, **env) -> tuple[dict, str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("CONVNET_OPENMP_SPIN", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    environment.update(env)
    done = subprocess.run([sys.executable, "-c", SPIN_PROBE, mode], env=environment,
                          check=True, capture_output=True, text=True)
    spin = [line.split("=")[1].strip(" '") for line in done.stderr.splitlines()
            if line.strip().startswith("GOMP_SPINCOUNT")]
    return json.loads(done.stdout.strip().splitlines()[-1]), spin[0] if spin else ""


def test_apply_loads_libgomp_with_a_short_spin_and_restores_the_environment():
    result, runtime_spin = spin_probe("apply")
    assert result["loaded_by_import"] is False       # import convnet does not load it
    assert result["spin"] == 1000 and runtime_spin == "1000"
    assert result["env_same"]


def test_loading_onednn_brings_libgomp_in_with_the_short_spin():
    from convnet.ops.onednn import library
    if library.lib() is None:
        pytest.skip("oneDNN is not installed (pip install onednn-cpu-gomp)")
    result, runtime_spin = spin_probe("onednn", CONVNET_BACKEND="onednn")
    assert result["spin"] == 1000 and runtime_spin == "1000" and result["env_same"]


def test_openmp_spin_respects_the_user_and_a_runtime_already_loaded():
    assert spin_probe("apply", GOMP_SPINCOUNT="5000") == ({"loaded_by_import": False,
                                                           "spin": None, "env_same": True}, "5000")
    result, runtime_spin = spin_probe("apply", CONVNET_OPENMP_SPIN="0")
    assert result["spin"] is None and runtime_spin == "300000"     # libgomp's default
    result, runtime_spin = spin_probe("torch-first")
    assert result["spin"] is None and runtime_spin == "300000"
