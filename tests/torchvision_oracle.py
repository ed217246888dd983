"""torchvision as a test oracle beside the CPU build of torch.

The torchvision wheel from the package index registers compiled operators (``nms``, ...)
against its own torch build and fails to import beside torch's CPU build; its datasets,
transforms (on PIL images) and model definitions are pure Python. ``import_torchvision()``
stubs the module that registers the compiled operators' meta kernels, then imports it.
"""

from __future__ import annotations

import sys
import types

import pytest


def import_torchvision():
    """torchvision, or a skip naming why it is absent."""
    pytest.importorskip("torch", reason="PyTorch is the oracle")
    name = "torchvision._meta_registrations"
    if name not in sys.modules:
        sys.modules[name] = types.ModuleType(name)
    try:
        import torchvision
    except ImportError as error:  # pragma: no cover - depends on the environment
        pytest.skip(f"torchvision is not importable here ({error}); it is the oracle")
    return torchvision
