"""``convnet train --crop-padding`` and ``--label-smoothing``, and the Trainer's
``label_smoothing``: the training loss is torch's CrossEntropyLoss(label_smoothing=...) on the
same logits, the evaluation loss is the plain one, and both settings belong to the run."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet import optim
from convnet.data import DataLoader, Dataset
from convnet.train import Trainer

from test_cli import FAST, assert_user_error, offline, run  # noqa: F401 (offline: autouse)

torch = pytest.importorskip("torch", reason="torch's CrossEntropyLoss is the oracle")

ARCH = "[2|3x3] relu gap fc{classes}"


def tiny_problem(smoothing):
    rng = np.random.default_rng(0)
    images = rng.standard_normal((12, 1, 4, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 12)
    data = Dataset(images, labels, classes=["a", "b", "c"], name="tiny")
    convnet.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3, rng=0))
    loader = DataLoader(data, 12)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0), loader, progress=False,
                      log=lambda message: None, process_settings=False,
                      label_smoothing=smoothing)
    return trainer, model, images, labels


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.35])
def test_training_loss_is_torch_label_smoothed_and_evaluation_is_plain(smoothing):
    trainer, model, images, labels = tiny_problem(smoothing)
    logits = torch.from_numpy(model(convnet.Tensor(images)).data.astype(np.float64))
    target = torch.from_numpy(labels)
    loss, _ = trainer.train_epoch()          # lr 0: the weights stay, one batch
    expected = torch.nn.functional.cross_entropy(logits, target, label_smoothing=smoothing)
    assert loss == pytest.approx(float(expected), rel=1e-6)
    plain = torch.nn.functional.cross_entropy(logits, target)
    assert trainer.evaluate(trainer.train_loader).loss == pytest.approx(float(plain), rel=1e-6)


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan")])
def test_trainer_refuses_a_smoothing_outside_0_1(value):
    with pytest.raises(ValueError, match="label_smoothing"):
        tiny_problem(value)


@pytest.mark.parametrize("argv, fragments", [
    (["--augment", "--crop-padding", "-1"], ["--crop-padding", "non-negative", "-1"]),
    (["--crop-padding", "4"], ["--crop-padding", "add --augment"]),
    (["--label-smoothing", "1"], ["--label-smoothing", "[0, 1)", "1.0"]),
    (["--label-smoothing", "nan"], ["--label-smoothing", "nan"]),
])
def test_bad_values_are_one_line(capsys, argv, fragments):
    code, _, err = run(capsys, "train", "--limit", "40", "--epochs", "1", "--arch", ARCH,
                       *argv, *FAST)
    assert_user_error(code, err, *fragments)


def test_the_settings_belong_to_the_run(capsys):
    """Both are stored with the run: resuming with another value is refused, naming it."""
    def argv(crop_padding="3", smoothing="0.2"):
        return ["train", "--limit", "60", "--arch", ARCH, "--augment", "--crop-padding",
                crop_padding, "--label-smoothing", smoothing, *FAST]
    code, out, err = run(capsys, *argv(), "--epochs", "1")
    assert code == 0, err
    code, out, err = run(capsys, *argv(), "--epochs", "2", "--resume")
    assert code == 0, err
    assert "resumed from" in out
    for changed, name in ((argv(crop_padding="1"), "crop_padding 3 -> 1"),
                          (argv(smoothing="0.1"), "label_smoothing 0.2 -> 0.1")):
        code, _, err = run(capsys, *changed, "--epochs", "3", "--resume")
        assert code == 2 and name in err, err
