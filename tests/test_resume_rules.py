"""What ``--resume`` continues, and what it refuses.

A resumed run is the same run: settings that decide its weights must match the checkpoint's,
a checkpoint that is malformed is refused before anything loads, and asking for more epochs
extends the run under the schedule of the new length (PyTorch's CosineAnnealingLR is the
oracle for the learning rates).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from convnet.io import load, load_state, save_state
from test_cli import FAST, assert_same_file_weights, assert_user_error, offline, run  # noqa: F401

pytestmark = pytest.mark.usefixtures("offline")

BASE = ["train", "--dataset", "shapes", "--arch", "[4|3x3] relu maxpool fc{classes}",
        "--limit", "120", *FAST]


def history(name):
    with open(f"runs/{name}/metrics.json") as handle:
        return json.load(handle)["history"]


@pytest.mark.parametrize("changed", [["--optimizer", "sgd"], ["--lr", "1e30"], ["--seed", "3"],
                                     ["--batch-size", "16"]])
def test_resume_with_other_settings_is_refused(capsys, changed):
    assert run(capsys, *BASE, "--epochs", "1", "--name", "r")[0] == 0
    code, _, err = run(capsys, *BASE, "--epochs", "2", "--name", "r", "--resume", *changed)
    assert_user_error(code, err, "was trained with other settings", changed[0][2:].replace("-", "_"))


def test_extending_without_a_schedule_equals_a_straight_run(capsys):
    args = [*BASE, "--schedule", "none"]
    assert run(capsys, *args, "--epochs", "4", "--name", "straight")[0] == 0
    assert run(capsys, *args, "--epochs", "2", "--name", "grown")[0] == 0
    code, out, err = run(capsys, *args, "--epochs", "4", "--name", "grown", "--resume")
    assert code == 0, err and "after epoch 2" in out
    assert_same_file_weights("runs/straight/model.safetensors", "runs/grown/model.safetensors")
    assert history("straight")["train_loss"] == history("grown")["train_loss"]


def test_extending_a_cosine_run_takes_the_new_lengths_rates(capsys):
    torch = pytest.importorskip("torch")
    assert run(capsys, *BASE, "--epochs", "2", "--name", "cos")[0] == 0
    assert run(capsys, *BASE, "--epochs", "5", "--name", "cos", "--resume")[0] == 0

    def torch_rates(epochs):
        optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=3e-3)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
        rates = []
        for _ in range(epochs):
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            schedule.step()
        return rates

    expected = torch_rates(2)[:2] + torch_rates(5)[2:]
    np.testing.assert_allclose(history("cos")["lr"], expected, rtol=1e-12)


def test_asking_for_fewer_epochs_than_done(capsys):
    assert run(capsys, *BASE, "--epochs", "2", "--name", "r")[0] == 0
    code, _, err = run(capsys, *BASE, "--epochs", "1", "--name", "r", "--resume")
    assert_user_error(code, err, "already has 2 epochs")


@pytest.mark.parametrize("damage, fragment", [
    (lambda state: state.update(epoch=10**18), "counter says 1000000000000000000"),  # no replay
    (lambda state: state.update(epoch=-1), "epoch should be a count"),
    (lambda state: state.pop("history"), "no history"),
    (lambda state: state.update(history=[1, 2]), "history should map names to lists"),
])
def test_a_damaged_checkpoint_is_refused(capsys, damage, fragment):
    assert run(capsys, *BASE, "--epochs", "1", "--name", "r")[0] == 0
    path = "runs/r/checkpoint.safetensors"
    state = load_state(path)
    damage(state)
    save_state(path, state)
    code, _, err = run(capsys, *BASE, "--epochs", "2", "--name", "r", "--resume")
    assert_user_error(code, err, fragment)


def test_temporary_files_of_a_killed_write_are_removed(capsys):
    os.makedirs("runs/r")
    stale = "runs/r/.checkpoint.safetensors.k3j2x_.tmp"
    with open(stale, "wb") as handle:
        handle.write(b"half a checkpoint")
    code, out, _ = run(capsys, *BASE, "--epochs", "1", "--name", "r")
    assert code == 0 and not os.path.exists(stale) and "removed runs/r/.checkpoint" in out


def test_an_exploding_loss_warns_and_with_patience_stops(capsys):
    code, out, _ = run(capsys, *BASE, "--epochs", "2", "--lr", "1e6", "--name", "hot")
    assert code == 0 and "warning: the training loss exploded" in out
    code, _, err = run(capsys, *BASE, "--epochs", "2", "--lr", "1e6", "--patience", "3",
                       "--name", "hot2")
    assert_user_error(code, err, "the training loss exploded", "patience")


def test_a_diverged_run_keeps_its_last_good_weights_as_a_model(capsys, monkeypatch):
    from convnet.train import Trainer
    original = Trainer.train_epoch

    def poisoned(self):
        result = original(self)
        if self.epoch == 1:  # the second epoch ends with NaN weights
            next(iter(self.model.parameters())).data[...] = np.nan
        return result

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "train_epoch", poisoned)
        code, _, err = run(capsys, *BASE, "--epochs", "3", "--name", "nan")
    assert_user_error(code, err, "NaN", "model.safetensors holds its weights")
    good = load_state("runs/nan/checkpoint.safetensors")
    assert good["epoch"] == 1
    model = load("runs/nan/model.safetensors")
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(value), good["model"][key])
    code, out, err = run(capsys, "evaluate", "runs/nan/model.safetensors")
    assert code == 0, err
