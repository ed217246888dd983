"""Residual blocks in the notes' notation, ``res( ... )`` (convnet/arch.py): the same values and
gradients as PyTorch with the same weights (identity and option-A shortcuts), errors that point
at the token, and a model file that rebuilds them."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet.models import ArchError, build_model
from convnet.ops.windows import resolve_padding

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
TF = torch.nn.functional

BLOCK = "res( [8|3x3] bn relu [8|3x3] bn ) relu"
WIDENING = "res( [16|3x3 s2] bn relu [16|3x3] bn ) relu"


def torch_forward(model, x: np.ndarray):
    """The model's layers replayed in PyTorch with its weights: (output, input tensor)."""
    xt = torch.tensor(x, requires_grad=True)

    def run(module, value):
        if isinstance(module, nn.Sequential):
            for child in module:
                value = run(child, value)
            return value
        if isinstance(module, nn.Residual):
            shortcut = value[:, :, ::module.stride, ::module.stride]
            before = module.extra_channels // 2
            shortcut = TF.pad(shortcut, (0, 0, 0, 0, before, module.extra_channels - before))
            return run(module.block, value) + shortcut
        if isinstance(module, nn.Conv2d):   # the notes' 'same' padding, resolved as convnet does
            pairs = resolve_padding(module.padding, tuple(value.shape[2:]), module.kernel_size,
                                    module.stride, (1, 1))
            value = TF.pad(value, [v for pair in reversed(pairs) for v in pair])
            return TF.conv2d(value, torch.tensor(module.weight.data),
                             torch.tensor(module.bias.data), module.stride)
        if isinstance(module, nn.BatchNorm2d):
            return TF.batch_norm(value, None, None, torch.tensor(module.weight.data),
                                 torch.tensor(module.bias.data), training=True,
                                 eps=module.eps)
        if isinstance(module, nn.ReLU):
            return TF.relu(value)
        if isinstance(module, nn.AdaptiveAvgPool2d):
            return TF.adaptive_avg_pool2d(value, 1)
        if isinstance(module, nn.Flatten):
            return torch.flatten(value, 1)
        if isinstance(module, nn.Linear):
            return TF.linear(value, torch.tensor(module.weight.data),
                             torch.tensor(module.bias.data))
        raise AssertionError(f"no torch twin for {type(module).__name__}")
    return run(model, xt), xt


@pytest.mark.parametrize("arch, channels, size", [
    (BLOCK, 8, 8),
    (WIDENING, 8, 8),
    (f"[8|3x3] relu {BLOCK} {WIDENING} gap fc10", 3, 9),      # odd size: the stride rounds up
])
def test_residual_blocks_match_torch(arch, channels, size):
    convnet.manual_seed(0)
    model = build_model(arch, (channels, size, size), rng=0)
    model.double().train()
    x = np.random.default_rng(1).standard_normal((2, channels, size, size))
    ours_in = convnet.tensor(x, requires_grad=True)
    ours = model(ours_in)
    theirs, theirs_in = torch_forward(model, x)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-9,
                               atol=1e-9)
    upstream = np.random.default_rng(2).standard_normal(ours.shape)
    ours.backward(upstream)
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours_in.grad, theirs_in.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_the_widening_block_is_a_cifar_resnet_basic_block():
    model = build_model(WIDENING, (8, 8, 8), rng=0)
    residual = model[0]
    assert isinstance(residual, nn.Residual)
    assert (residual.stride, residual.extra_channels) == (2, 8)
    block = nn.BasicBlock(8, 16, stride=2)
    conv1, bn1, _, conv2, bn2 = residual.block
    with convnet.no_grad():
        block.conv1.weight[...] = conv1.weight.detach().numpy()
        block.conv2.weight[...] = conv2.weight.detach().numpy()
        conv1.bias.fill_(0)
        conv2.bias.fill_(0)
    x = convnet.randn(2, 8, 8, 8)
    np.testing.assert_allclose(model(x).detach().numpy(), block(x).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("arch, fragment", [
    ("res( [8|3x3] relu", "'res(' is never closed"),
    ("[8|3x3] ) relu", "')' without a 'res('"),
    ("[16|3x3] res( [8|3x3] )", "narrows 16 channels to 8"),
    ("[8|3x3] res( [8|3x3] fc10 )", "no flatten or fc inside"),
    ("[8|3x3] res( [8|3x3 valid] )", "not a stride of it"),
    ("[8|3x3] res( )", "an empty residual block"),
    ("fc10 res( relu )", "cannot follow a flattened layer"),
])
def test_bad_residual_blocks_name_the_token(arch, fragment):
    with pytest.raises(ArchError, match="column") as error:
        build_model(arch, (1, 8, 8))
    assert fragment in str(error.value)


def test_a_model_file_rebuilds_residual_blocks(tmp_path):
    model = build_model(f"[8|3x3] relu {BLOCK} {WIDENING} gap fc10", (1, 8, 8), rng=0)
    model.eval()
    path = tmp_path / "residual.safetensors"
    convnet.save(model, str(path))
    again = convnet.load(str(path))
    again.eval()
    x = convnet.randn(3, 1, 8, 8)
    np.testing.assert_array_equal(model(x).detach().numpy(), again(x).detach().numpy())
