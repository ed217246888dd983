"""A pytest plugin: under CI, a test skipped because a module could not be imported fails.

The oracles (PyTorch, SciPy, OpenCV, scikit-image, scikit-learn, ONNX Runtime, ...) are in
the ``test`` extra, so in CI a missing one means the install is broken, and a skipped oracle
is a missing test. Locally (``CI`` unset) such tests still skip, so a partial install can run
the rest. Skips for other reasons (a real dataset that is absent) are left as skips.
``CONVNET_STRICT_ORACLES=1`` turns the rule on outside CI, ``=0`` off inside it.
"""

from __future__ import annotations

import os

import pytest

MISSING_MODULE = "could not import"  # the reason pytest.importorskip gives


def strict() -> bool:
    setting = os.environ.get("CONVNET_STRICT_ORACLES")
    if setting is not None:
        return setting == "1"
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def _fail_missing_module(report) -> None:
    if report.skipped and MISSING_MODULE in str(report.longrepr) and strict():
        report.outcome = "failed"
        report.longrepr = (f"an oracle's module is missing from the test install, so its tests "
                           f"would skip: {report.longrepr}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_missing_module(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_missing_module(outcome.get_result())
