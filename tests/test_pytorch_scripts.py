"""PyTorch model code runs on convnet with only its import lines changed.

Two kinds of source, each executed twice (as written, on torch; with ``torch`` ->
``convnet`` in its imports, on convnet), the convnet model then loading the torch model's
weights from a ``torch.save`` file: outputs, input gradients and parameter gradients must
agree (float64).

- Models written here in torch's vocabulary (a style-transfer network: reflection padding,
  instance norm, residual blocks, nearest upsampling; a sub-pixel super-resolution network:
  PixelShuffle, orthogonal initialisation), always run.
- The public pytorch/examples repository's ``fast_neural_style/neural_style/
  transformer_net.py`` and ``super_resolution/model.py``, read from a checkout named by
  ``$PYTORCH_EXAMPLES`` (a work tree, or a bare git directory read with ``git show``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import convnet
from convnet.porting import port_source

torch = pytest.importorskip("torch", reason="PyTorch is the oracle for these scripts")

STYLE_NET = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Padded(nn.Module):
    def __init__(self, cin, cout, kernel_size, stride=1):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride)

    def forward(self, x):
        return self.conv(self.pad(x))


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.block = nn.Sequential(Padded(channels, channels, 3),
                                   nn.InstanceNorm2d(channels, affine=True), nn.ReLU(inplace=True),
                                   Padded(channels, channels, 3),
                                   nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.block(x)


class StyleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(Padded(3, 8, 5), nn.InstanceNorm2d(8, affine=True), nn.ReLU(),
                                  Padded(8, 16, 3, stride=2), nn.InstanceNorm2d(16, affine=True),
                                  nn.ReLU())
        self.residuals = nn.ModuleList([Residual(16) for _ in range(2)])
        self.up = Padded(16, 8, 3)
        self.norm = nn.InstanceNorm2d(8, affine=True)
        self.out = Padded(8, 3, 5)

    def forward(self, x):
        y = self.down(x)
        for block in self.residuals:
            y = block(y)
        y = F.interpolate(y, mode="nearest", scale_factor=2)
        y = torch.relu(self.norm(self.up(y)))
        return torch.sigmoid(self.out(y)) * 255
'''

SUPER_RESOLUTION = '''
import torch
import torch.nn as nn
import torch.nn.init as init


class SubPixel(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2)), nn.Tanh(),
                                  nn.Conv2d(16, 8, (3, 3), (1, 1), (1, 1)), nn.Tanh(),
                                  nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1)))
        self.shuffle = nn.PixelShuffle(upscale_factor)
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):
                init.orthogonal_(layer.weight, init.calculate_gain('tanh'))

    def forward(self, x):
        return self.shuffle(self.body(x)).clamp(0, 1)
'''


def for_convnet(source: str) -> str:
    """``source`` ported by convnet.porting: its torch imports point at convnet, nothing else
    changed."""
    changed = port_source(source)
    remaining = [line for line in changed.splitlines()
                 if re.match(r"\s*(import|from)\s+torch\b", line)]
    assert not remaining, f"imports left to map: {remaining}"
    code_lines = [a for a, b in zip(source.splitlines(), changed.splitlines()) if a != b]
    assert all(re.match(r"\s*import ", line) for line in code_lines)
    return changed


def module_from(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def compare_models(torch_model, convnet_model, input_shape, tmp_path, seed=0):
    """Load the torch model's weights into the convnet model through a torch.save file and
    compare outputs and gradients in float64."""
    path = tmp_path / "weights.pth"
    torch.save(torch_model.state_dict(), path)
    convnet_model.load_state_dict(convnet.load(str(path)))
    torch_model.double()
    convnet_model.double()
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 1, input_shape)
    expected_in = torch.tensor(image, requires_grad=True)
    actual_in = convnet.tensor(image, requires_grad=True)
    expected, actual = torch_model(expected_in), convnet_model(actual_in)
    np.testing.assert_allclose(actual.data, expected.detach().numpy(), rtol=1e-9, atol=1e-9)
    upstream = rng.standard_normal(expected.shape)
    (expected * torch.tensor(upstream)).sum().backward()
    (actual * convnet.tensor(upstream)).sum().backward()
    scale = np.abs(expected_in.grad.numpy()).max()
    np.testing.assert_allclose(actual_in.grad, expected_in.grad.numpy(), rtol=1e-8,
                               atol=1e-10 * scale)
    torch_params = dict(torch_model.named_parameters())
    convnet_params = dict(convnet_model.named_parameters())
    assert list(torch_params) == list(convnet_params)
    # a bias followed by instance norm has a zero gradient in exact arithmetic: both libraries
    # give rounding noise there, so the absolute tolerance is relative to the largest gradient
    largest = max(np.abs(p.grad.numpy()).max() for p in torch_params.values())
    for name, parameter in torch_params.items():
        np.testing.assert_allclose(convnet_params[name].grad, parameter.grad.numpy(), rtol=1e-8,
                                   atol=1e-11 * largest, err_msg=name)


def test_style_network_written_for_torch(tmp_path):
    ours = module_from(for_convnet(STYLE_NET), "style_convnet")
    theirs = module_from(STYLE_NET, "style_torch")
    torch.manual_seed(0)
    compare_models(theirs.StyleNet(), ours.StyleNet(), (2, 3, 16, 16), tmp_path)


def test_super_resolution_network_written_for_torch(tmp_path):
    ours = module_from(for_convnet(SUPER_RESOLUTION), "sr_convnet")
    theirs = module_from(SUPER_RESOLUTION, "sr_torch")
    torch.manual_seed(0)
    model = ours.SubPixel(3)
    weight = model.body[0].weight.data.reshape(16, -1)
    gain = convnet.nn.init.calculate_gain("tanh")
    np.testing.assert_allclose(weight @ weight.T, gain ** 2 * np.eye(16), atol=1e-5)
    compare_models(theirs.SubPixel(3), model, (2, 1, 8, 8), tmp_path)


def _examples_file(path: str) -> str:
    root = os.environ.get("PYTORCH_EXAMPLES")
    if not root:
        pytest.skip("set PYTORCH_EXAMPLES to a checkout of the public pytorch/examples "
                    "repository (a work tree or a bare git directory) to run its models")
    if os.path.isfile(os.path.join(root, path)):
        with open(os.path.join(root, path), encoding="utf-8") as file:
            return file.read()
    return subprocess.run(["git", "-C", root, "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def test_pytorch_examples_fast_neural_style(tmp_path):
    source = _examples_file("fast_neural_style/neural_style/transformer_net.py")
    ours = module_from(for_convnet(source), "transformer_net_convnet")
    theirs = module_from(source, "transformer_net_torch")
    compare_models(theirs.TransformerNet(), ours.TransformerNet(), (1, 3, 16, 16), tmp_path)


def test_pytorch_examples_super_resolution(tmp_path):
    source = _examples_file("super_resolution/model.py")
    ours = module_from(for_convnet(source), "super_resolution_convnet")
    theirs = module_from(source, "super_resolution_torch")
    compare_models(theirs.Net(upscale_factor=3), ours.Net(upscale_factor=3), (2, 1, 12, 12),
                   tmp_path)


TO_TORCH = [(r"^import convnet as torch$", "import torch"),
            (r"^import convnet\.nn as nn$", "import torch.nn as nn"),
            (r"^import convnet\.nn\.functional as F$", "import torch.nn.functional as F"),
            (r"^from convnet\.utils\.data import", "from torch.utils.data import")]


def test_tutorial_training_loop_learns_like_torch(tmp_path):
    """examples/pytorch_training_loop.py (a DataLoader with 2 workers over a TensorDataset,
    CrossEntropyLoss, SGD, OneCycleLR) runs unchanged on convnet and, with its imports
    pointed at torch, on torch: both learn the digits to the same accuracy."""
    source_path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "examples", "pytorch_training_loop.py")
    with open(source_path, encoding="utf-8") as file:
        source = file.read()
    torch_source = source
    for pattern, replacement in TO_TORCH:
        torch_source = re.sub(pattern, replacement, torch_source, flags=re.MULTILINE)
    changed = [a for a, b in zip(source.splitlines(), torch_source.splitlines()) if a != b]
    assert len(changed) == 4 and all(re.match(r"(import|from) ", line) for line in changed)
    torch_path = tmp_path / "torch_version.py"
    torch_path.write_text(torch_source)
    results = {}
    for name, path in (("convnet", source_path), ("torch", str(torch_path))):
        run = subprocess.run([sys.executable, path, "--epochs", "8", "--workers", "2", "--save",
                              str(tmp_path / f"{name}.weights")], capture_output=True, text=True,
                             timeout=300, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        results[name] = float(run.stdout.strip().splitlines()[-1].split()[-1])
    assert results["convnet"] >= 0.95 and results["torch"] >= 0.95, results
    assert abs(results["convnet"] - results["torch"]) <= 0.03, results
    saved = convnet.load(str(tmp_path / "convnet.weights"))
    assert list(saved) == list(torch.load(tmp_path / "torch.weights"))
