"""He et al. 2016's CIFAR ResNets (resnet20 ... resnet110): the paper's parameter counts, the
same outputs and gradients as a PyTorch twin with the same weights, and the command line
training, saving and evaluating one."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet.models import RESIDUAL_MODELS, build_model

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
tnn = torch.nn
TF = torch.nn.functional


class TorchBlock(tnn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.stride, self.extra = stride, cout - cin

    def forward(self, x):
        out = self.bn2(self.conv2(TF.relu(self.bn1(self.conv1(x)))))
        short = x[:, :, ::self.stride, ::self.stride]
        if self.extra:
            short = TF.pad(short, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
        return TF.relu(out + short)


class TorchResNet(tnn.Module):
    def __init__(self, depth, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = tnn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(16)
        cin = 16
        for stage, (width, stride) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
            blocks = []
            for i in range(n):
                blocks.append(TorchBlock(cin, width, stride if i == 0 else 1))
                cin = width
            setattr(self, f"layer{stage}", tnn.Sequential(*blocks))
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(64, classes)

    def forward(self, x):
        x = TF.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.mark.parametrize("name, millions", [("resnet20", 0.27), ("resnet32", 0.46),
                                            ("resnet44", 0.66), ("resnet56", 0.85),
                                            ("resnet110", 1.7)])
def test_parameter_counts_are_the_papers(name, millions):
    model = build_model(name, (3, 32, 32), 10, rng=0)
    count = sum(p.size for p in model.parameters())
    assert round(count / 1e6, 2 if millions < 1 else 1) == millions


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_resnet20_matches_a_torch_twin(training):
    torch.manual_seed(0)
    theirs = TorchResNet(20).double().train(training)
    ours = build_model("resnet20", (3, 32, 32), 10, rng=0).double().train(training)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert_same_training_step(theirs, ours, np.random.default_rng(0).standard_normal(
        (4, 3, 16, 16)))


def assert_same_training_step(theirs, ours, x, grad_atol=1e-10):
    """Same outputs, input and parameter gradients and buffers (float64) for ``x``."""
    expected_in = torch.tensor(x, requires_grad=True)
    actual_in = convnet.tensor(x, requires_grad=True)
    expected, actual = theirs(expected_in), ours(actual_in)
    np.testing.assert_allclose(actual.data, expected.detach().numpy(), rtol=1e-9, atol=1e-10)
    upstream = np.random.default_rng(1).standard_normal(expected.shape)
    (expected * torch.tensor(upstream)).sum().backward()
    (actual * convnet.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(actual_in.grad, expected_in.grad.numpy(), rtol=1e-8, atol=1e-10)
    grads = dict(ours.named_parameters())
    for key, parameter in theirs.named_parameters():
        np.testing.assert_allclose(grads[key].grad, parameter.grad.numpy(), rtol=1e-7,
                                   atol=grad_atol, err_msg=key)
    for key, buffer in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], buffer.numpy(), rtol=1e-9, err_msg=key)


def test_bad_depth_is_refused():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        nn.CifarResNet(21)


def test_the_command_trains_saves_and_evaluates_a_resnet(tmp_path, capsys, monkeypatch):
    from convnet.cli import main
    assert "resnet56" in RESIDUAL_MODELS
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "digits", "--model", "resnet20", "--epochs", "1",
                 "--limit", "300", "--name", "r20"]) == 0
    assert "model: resnet20" in capsys.readouterr().out
    path = tmp_path / "runs" / "r20" / "model.safetensors"
    assert main(["evaluate", str(path)]) == 0
    model = convnet.load(str(path))
    assert isinstance(model, nn.CifarResNet) and model.depth == 20


def torchvision_resnet18_for_32x32():
    """torchvision's resnet18 with the usual CIFAR changes made in torch: a 3x3 stride-1
    stem and no max pooling, 10 classes."""
    from torchvision_oracle import import_torchvision
    torchvision = import_torchvision()
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    model.maxpool = torch.nn.Identity()
    return model


def test_resnet18_cifar_is_torchvisions_resnet18_with_a_cifar_stem():
    """Same keys, order and shapes as torchvision's adapted resnet18; with its weights, the
    same outputs, input and parameter gradients and batch statistics in training (float64)."""
    torch.manual_seed(0)
    theirs = torchvision_resnet18_for_32x32().double().train()
    ours = build_model("resnet18-cifar", (3, 32, 32), 10, rng=0).double().train()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert_same_training_step(theirs, ours, np.random.default_rng(2).standard_normal(
        (2, 3, 32, 32)), grad_atol=1e-9)


def test_resnet18_cifar_trains_from_the_command_and_its_file_rebuilds(tmp_path, capsys,
                                                                       monkeypatch):
    from convnet.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "digits", "--model", "resnet18-cifar", "--epochs", "1",
                 "--limit", "100", "--name", "r18", "--no-progress", "--no-plots"]) == 0
    assert "model: resnet18-cifar  (11,172,810 parameters)" in capsys.readouterr().out
    model = convnet.load(str(tmp_path / "runs" / "r18" / "model.safetensors"))
    assert isinstance(model, nn.CifarResNet) and model.layer4[0].downsample is not None
    assert main(["summary", "resnet18-cifar"]) == 0
    assert "Input shape: 1x3x32x32" in capsys.readouterr().out


def test_bad_blocks_and_shortcuts_are_refused():
    with pytest.raises(ValueError, match="depth = 2 \\* sum"):
        nn.CifarResNet(20, blocks=(2, 2, 2, 2))
    with pytest.raises(ValueError, match="shortcut"):
        nn.BasicBlock(4, 8, shortcut="C")
