"""The whole suite once more with oneDNN turned off (``CONVNET_BACKEND=numpy``).

oneDNN is the default backend where it loads, so the main run tests it; this run holds the
NumPy/numba backends, the fallback on machines without oneDNN, to the same tests. It is
one pytest process started from here (the environment variable is read when convnet first
dispatches, so it cannot change inside this process).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from convnet.ops.onednn import library

INNER = "CONVNET_SUITE_PASS"


@pytest.mark.skipif(os.environ.get(INNER) == "numpy", reason="this is the inner run itself")
def test_the_whole_suite_passes_with_onednn_turned_off():
    if library.lib() is None or library.disabled():
        pytest.skip("oneDNN is not in use here: the main run already tested the NumPy backends")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run(
        # the documentation site is built and browsed once, by the main run
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--ignore=tests/test_docs_site.py"],
        cwd=root, capture_output=True, text=True,
        env={**os.environ, "CONVNET_BACKEND": "numpy", INNER: "numpy"})
    tail = "\n".join((done.stdout + done.stderr).splitlines()[-40:])
    assert done.returncode == 0, f"with CONVNET_BACKEND=numpy:\n{tail}"
    assert "[100%]" in tail                      # every test ran (pytest -qq: no summary line)
