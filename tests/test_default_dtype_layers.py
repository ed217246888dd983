"""``convnet.set_default_dtype`` reaches every layer's parameters and buffers, as
``torch.set_default_dtype`` does for torch's layers (checked against torch, layer by layer),
and an explicit ``dtype`` still wins."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")

# (convnet layer, torch layer): the same constructor arguments
LAYERS = [
    (lambda: nn.Conv1d(2, 3, 3), lambda: torch.nn.Conv1d(2, 3, 3)),
    (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3)),
    (lambda: nn.Conv3d(2, 3, 3), lambda: torch.nn.Conv3d(2, 3, 3)),
    (lambda: nn.ConvTranspose2d(2, 3, 2), lambda: torch.nn.ConvTranspose2d(2, 3, 2)),
    (lambda: nn.Linear(4, 5), lambda: torch.nn.Linear(4, 5)),
    (lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3)),
    (lambda: nn.LayerNorm(4), lambda: torch.nn.LayerNorm(4)),
    (lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4)),
    (lambda: nn.Embedding(5, 3), lambda: torch.nn.Embedding(5, 3)),
]


@pytest.fixture
def float64_default():
    convnet.set_default_dtype(convnet.float64)
    torch.set_default_dtype(torch.float64)
    yield
    convnet.set_default_dtype(convnet.float32)
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("ours, theirs", LAYERS, ids=lambda f: "")
def test_layers_follow_the_default_dtype_as_torch(float64_default, ours, theirs):
    layer, twin = ours(), theirs()
    expected = {name: str(value.dtype).replace("torch.", "")
                for name, value in twin.state_dict().items()}
    got = {name: np.asarray(value).dtype.name for name, value in layer.state_dict().items()}
    assert got == expected


def test_the_default_and_an_explicit_dtype(float64_default):
    assert nn.Conv2d(1, 1, 3, dtype=np.float32).weight.dtype == np.float32
    x = convnet.randn(2, 1, 5, 5)                           # float64 now, as the parameters
    assert nn.Conv2d(1, 2, 3)(x).dtype == np.float64
    unet = nn.UNet(1, 2, depth=1, width=4)                   # built from the layers above
    assert {p.dtype for p in unet.parameters()} == {np.dtype(np.float64)}
    convnet.set_default_dtype(convnet.float32)
    assert nn.Conv2d(1, 1, 3).weight.dtype == np.float32
