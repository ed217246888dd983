"""convnet._runtime: the process settings applied at import, and their off switches.

Each case imports convnet in a fresh interpreter (the settings are made once, at import)
and reports what was applied; a matrix product after the BLAS thread pool restarted must
equal NumPy's float64 product of the same operands.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, numpy as np
rng = np.random.default_rng(0)
a, b = rng.standard_normal((300, 200)), rng.standard_normal((200, 100))
before = a @ b
import convnet._runtime as r
after = a.astype(np.float32) @ b.astype(np.float32)
import os
print(json.dumps({"malloc": r.MALLOC_TUNED, "blas": r.BLAS_TUNED,
                  "env_clean": "OPENBLAS_THREAD_TIMEOUT" not in os.environ,
                  "error": float(np.abs(after - before).max())}))
"""


def probe(**env) -> dict:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("CONVNET_MALLOC_TUNING", "CONVNET_BLAS_THREAD_TIMEOUT",
                                "OPENBLAS_THREAD_TIMEOUT")}
    environment.update(env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=environment, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the settings are Linux-only")
def test_settings_applied_by_default_and_products_still_right():
    result = probe()
    assert result["malloc"] is True
    assert all("openblas" in path for path in result["blas"])
    assert result["env_clean"]            # nothing left for other libraries to read
    assert result["error"] < 1e-3          # float32 product of N(0,1) data, K = 200


def test_each_setting_has_an_off_switch():
    result = probe(CONVNET_MALLOC_TUNING="0", CONVNET_BLAS_THREAD_TIMEOUT="0")
    assert result["malloc"] is False and result["blas"] == []


def test_a_users_own_openblas_timeout_is_left_alone():
    assert probe(OPENBLAS_THREAD_TIMEOUT="20")["blas"] == []
