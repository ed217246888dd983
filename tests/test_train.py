"""The Trainer: metrics, schedules, early stopping, checkpoints, exact resume, divergence.

Expected values are computed by hand here (NumPy on fixed weights and data, closed-form
schedules) or come from a second, uninterrupted run; never from the code under test.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

import convnet
import convnet.functional as F
import convnet.nn as nn
from convnet import optim
from convnet.data import Augment, DataLoader, Dataset, load_dataset, random_split
from convnet.io import load_state
from convnet.models import build_model
from convnet.train import Metrics, Trainer, TrainingDiverged

CHECKPOINT = "checkpoint.safetensors"


def quiet(message):  # the Trainer's per-epoch log line
    pass


def weights(model) -> dict:
    return {key: np.array(value, copy=True) for key, value in model.state_dict().items()}


def assert_same_weights(expected: dict, actual: dict) -> None:
    assert list(expected) == list(actual)
    for key in expected:
        assert expected[key].dtype == actual[key].dtype, key
        assert np.array_equal(expected[key], actual[key]), f"{key} differs"


# ----------------------------------------------------------------------------- a small run
def shapes_run(run_dir, seed: int = 0, dropout: str = "arch", lr: float = 3e-3, epochs: int = 3,
               optimizer: str = "adam", patience=None, loss_fn=F.cross_entropy):
    """A Trainer on 96 shapes images with Adam, a cosine schedule over ``epochs``, dropout
    and random crops: every source of randomness that resume has to restore.

    ``seed`` seeds everything built here; a resumed run is built with another seed to show
    that its state comes from the checkpoint, not from seeding the same way again.
    ``dropout``: "arch" (a Dropout owning a generator seeded by build_model) or "library"
    (a Dropout drawing from convnet's default generator).
    """
    convnet.manual_seed(seed)
    data = load_dataset("shapes", num_samples=96)
    train, val = random_split(data, [80, 16], rng=0)
    if dropout == "arch":
        model = build_model("[4|3x3] relu maxpool dropout0.5 fc{classes}".format(classes=2),
                            (1, 15, 15), 2, rng=seed)
    else:
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding="same", rng=seed), nn.ReLU(),
                              nn.MaxPool2d(2, 2), nn.Flatten(), nn.Dropout(0.5),
                              nn.Linear(4 * 7 * 7, 2, rng=seed))
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=lr)
    else:
        opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    loader = DataLoader(train, 32, shuffle=True, rng=seed, normalize=True,
                        augment=Augment(crop_padding=2))
    val_loader = DataLoader(val, 64, normalize=(loader.mean, loader.std))
    trainer = Trainer(model, opt, loader, val_loader, scheduler, run_dir=str(run_dir),
                      patience=patience, progress=False, num_classes=2, log=quiet,
                      loss_fn=loss_fn)
    return model, trainer


# ----------------------------------------------------------------------------- resume
@pytest.mark.parametrize("dropout", ["arch", "library"])
def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, dropout):
    model, trainer = shapes_run(tmp_path / "full", dropout=dropout)
    trainer.fit(3)
    expected, expected_history = weights(model), trainer.history

    _, first = shapes_run(tmp_path / "part", dropout=dropout)
    first.fit(1)
    assert load_state(tmp_path / "part" / CHECKPOINT)["epoch"] == 1
    # a new process: everything built with another seed, then restored from the checkpoint
    resumed_model, resumed = shapes_run(tmp_path / "part", seed=7, dropout=dropout)
    resumed.fit(3, resume=True)

    assert resumed.epoch == 3
    assert_same_weights(expected, weights(resumed_model))
    for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"):
        assert resumed.history[key] == expected_history[key], key
    # and the checkpoint of both runs now holds the same weights and optimizer state
    full, part = load_state(tmp_path / "full" / CHECKPOINT), load_state(tmp_path / "part" / CHECKPOINT)
    assert full["epoch"] == part["epoch"] == 3
    assert_same_weights(full["model"], part["model"])
    for index, buffers in full["optimizer"]["state"].items():
        for name, value in buffers.items():
            assert np.array_equal(value, part["optimizer"]["state"][index][name]), (index, name)


def test_the_random_parts_matter_so_the_resume_test_can_fail(tmp_path):
    """Two runs that differ only in the dropout/augmentation seed end with different
    weights: the resume test above compares something that restoring RNG state decides."""
    model_a, trainer_a = shapes_run(tmp_path / "a", seed=0)
    model_b, trainer_b = shapes_run(tmp_path / "b", seed=0)
    trainer_b.train_loader.rng = np.random.default_rng(12345)  # other shuffles and crops
    trainer_a.fit(1)
    trainer_b.fit(1)
    a, b = weights(model_a), weights(model_b)
    assert any(not np.array_equal(a[key], b[key]) for key in a)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    _, trainer = shapes_run(tmp_path / "nothing-here")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        trainer.fit(2, resume=True)


# ----------------------------------------------------------------------------- checkpoints
def test_a_checkpoint_is_written_after_every_epoch(tmp_path):
    model, trainer = shapes_run(tmp_path)
    for epoch in (1, 2):
        trainer.fit(epoch)
        state = load_state(tmp_path / CHECKPOINT)
        assert state["epoch"] == epoch
        assert_same_weights(weights(model), state["model"])
        assert len(state["history"]["train_loss"]) == epoch
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT]  # no temporary files left behind


def test_a_crash_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, monkeypatch):
    _, trainer = shapes_run(tmp_path)
    trainer.fit(1)
    before = (tmp_path / CHECKPOINT).read_bytes()

    import convnet.io.atomic as atomic

    def disk_full(descriptor):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(atomic.os, "fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            trainer.fit(2)
    assert (tmp_path / CHECKPOINT).read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT]
    assert load_state(tmp_path / CHECKPOINT)["epoch"] == 1


# ----------------------------------------------------------------------------- divergence
class NanAfter:
    """Cross-entropy that returns NaN from training batch ``bad_call`` on (1-based, counted
    over epochs; validation calls, in eval mode, are not counted). At training batch
    ``snapshot_call`` it records the checkpoint file and the model's weights."""

    def __init__(self, bad_call: int, snapshot_call: int | None = None, path=None, model=None):
        self.calls, self.bad_call, self.snapshot_call = 0, bad_call, snapshot_call
        self.path, self.model, self.checkpoint_bytes, self.weights = path, model, None, None

    def __call__(self, logits, labels):
        if not self.model.training:
            return F.cross_entropy(logits, labels)
        self.calls += 1
        if self.calls == self.snapshot_call:
            self.checkpoint_bytes = open(self.path, "rb").read()
            self.weights = weights(self.model)
        loss = F.cross_entropy(logits, labels)
        return loss * float("nan") if self.calls >= self.bad_call else loss


def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    # 80 training images in batches of 32: 3 batches per epoch; NaN at epoch 2, batch 2
    model, trainer = shapes_run(tmp_path)
    loss_fn = NanAfter(bad_call=5, snapshot_call=4, path=tmp_path / CHECKPOINT, model=model)
    trainer.loss_fn = loss_fn
    with pytest.raises(TrainingDiverged) as caught:
        trainer.fit(3)
    message = str(caught.value)
    assert "nan" in message and "epoch 2, batch 2" in message
    assert "epoch 1" in message and str(tmp_path / CHECKPOINT) in message
    assert len(message.splitlines()) == 1
    # the epoch-1 checkpoint is untouched and loads; it holds the weights after epoch 1
    assert (tmp_path / CHECKPOINT).read_bytes() == loss_fn.checkpoint_bytes
    state = load_state(tmp_path / CHECKPOINT)
    assert state["epoch"] == 1
    assert_same_weights(loss_fn.weights, state["model"])
    assert sorted(os.listdir(tmp_path)) == [CHECKPOINT]


def test_an_infinite_loss_in_the_first_epoch_writes_no_checkpoint(tmp_path):
    def infinite(logits, labels):
        return F.cross_entropy(logits, labels) * float("inf")

    _, trainer = shapes_run(tmp_path / "run", loss_fn=infinite)
    with pytest.raises(TrainingDiverged, match=r"inf at epoch 1, batch 1; no checkpoint"):
        trainer.fit(2)
    assert not (tmp_path / "run" / CHECKPOINT).exists()


def test_a_huge_learning_rate_diverges_without_numpy_warnings(tmp_path):
    _, trainer = shapes_run(tmp_path, lr=1e30, optimizer="sgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would raise here instead
        with pytest.raises(TrainingDiverged, match=r"at epoch 1, batch \d+"):
            trainer.fit(3)


class JumpTo:
    """A schedule that keeps the rate for ``after`` epochs, then sets ``lr``."""

    def __init__(self, optimizer, after: int, lr: float):
        self.optimizer, self.after, self.lr, self.epochs = optimizer, after, lr, 0

    def step(self):
        self.epochs += 1
        if self.epochs >= self.after:
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr

    def state_dict(self):
        return {"epochs": self.epochs}

    def load_state_dict(self, state):
        self.epochs = state["epochs"]


def test_weights_that_overflow_in_the_last_step_of_an_epoch_are_never_checkpointed(tmp_path):
    """One batch per epoch: epoch 2's only loss is finite, but its step makes the weights
    infinite. That epoch must not be saved as a good checkpoint."""
    rng = np.random.default_rng(0)
    images = rng.random((8, 1, 2, 2), dtype=np.float32)
    labels = np.arange(8) % 2
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, rng=0))
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, opt, DataLoader((images, labels), batch_size=8), scheduler=JumpTo(opt, 1, 1e39),
                      run_dir=str(tmp_path), progress=False, log=quiet)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TrainingDiverged, match="epoch 2") as caught:
            trainer.fit(3)
    assert "epoch 1" in str(caught.value)  # the checkpoint it says is kept
    state = load_state(tmp_path / CHECKPOINT)
    assert state["epoch"] == 1
    assert all(np.isfinite(value).all() for value in state["model"].values())


# ----------------------------------------------------------------------------- early stopping
def test_early_stopping_after_patience_epochs_without_a_better_validation_loss(tmp_path):
    # lr 0: the weights never change, so the validation loss of epoch 1 is never beaten
    logged = []
    model, trainer = shapes_run(tmp_path, optimizer="sgd", lr=0.0, patience=2, epochs=10)
    trainer.log = logged.append
    before = weights(model)
    history = trainer.fit(10)
    assert trainer.epoch == 3  # epoch 1 sets the best loss, epochs 2 and 3 do not beat it
    assert len(history["val_loss"]) == len(history["train_loss"]) == 3
    assert history["val_loss"][0] == history["val_loss"][1] == history["val_loss"][2]
    assert "early stopping" in logged[-1]
    assert load_state(tmp_path / CHECKPOINT)["epoch"] == 3
    assert_same_weights(before, weights(model))


def test_without_patience_every_epoch_runs(tmp_path):
    _, trainer = shapes_run(tmp_path, optimizer="sgd", lr=0.0, epochs=4)
    assert len(trainer.fit(4)["val_loss"]) == 4


def test_early_stopping_counts_across_a_resume(tmp_path):
    _, trainer = shapes_run(tmp_path, optimizer="sgd", lr=0.0, patience=3, epochs=10)
    trainer.fit(2)  # best at epoch 1, one epoch without improvement
    _, resumed = shapes_run(tmp_path, optimizer="sgd", lr=0.0, patience=3, epochs=10)
    resumed.fit(10, resume=True)
    assert resumed.epoch == 4  # epochs 2, 3, 4 without improvement


# ----------------------------------------------------------------------------- schedules
def tiny_trainer(scheduler_factory, lr=0.1):
    images = np.random.default_rng(0).random((8, 1, 2, 2), dtype=np.float32)
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, rng=0))
    opt = optim.SGD(model.parameters(), lr=lr)
    return Trainer(model, opt, DataLoader((images, np.arange(8) % 2), batch_size=4),
                   scheduler=scheduler_factory(opt), progress=False, log=quiet)


def test_cosine_schedule_rates_per_epoch():
    trainer = tiny_trainer(lambda opt: optim.lr_scheduler.CosineAnnealingLR(opt, 4))
    history = trainer.fit(4)
    expected = [0.1 * (1 + math.cos(math.pi * epoch / 4)) / 2 for epoch in range(4)]
    np.testing.assert_allclose(history["lr"], expected, rtol=1e-12, atol=1e-15)


def test_step_schedule_rates_per_epoch():
    trainer = tiny_trainer(lambda opt: optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5))
    assert trainer.fit(5)["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025], rel=1e-12)


# ----------------------------------------------------------------------------- metrics
def test_metrics_equal_a_hand_computation():
    # logits = the three input values (identity weights): the prediction is the largest one
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 3, bias=True, dtype=np.float64))
    model[1].weight.data[...] = np.eye(3)
    model[1].bias.data[...] = 0.0
    inputs = np.array([[3, 1, 0],   # predicted 0, true 0
                       [2, 0, 1],   # predicted 0, true 0
                       [0, 2, 1],   # predicted 1, true 0
                       [0, 5, 1],   # predicted 1, true 1
                       [4, 1, 0],   # predicted 0, true 1
                       [0, 1, 2],   # predicted 2, true 2
                       [1, 0, 3]],  # predicted 2, true 2
                      dtype=np.float64)
    labels = np.array([0, 0, 0, 1, 1, 2, 2])
    loader = DataLoader(Dataset(inputs[:, None, None, :], labels), batch_size=3)
    metrics = Trainer(model, None, None, progress=False, num_classes=3).evaluate(loader)

    assert isinstance(metrics, Metrics)
    assert metrics.confusion.tolist() == [[2, 1, 0],
                                          [1, 1, 0],
                                          [0, 0, 2]]
    assert metrics.per_class_accuracy == pytest.approx([2 / 3, 1 / 2, 2 / 2], abs=1e-15)
    assert metrics.accuracy == pytest.approx(5 / 7, abs=1e-15)
    assert metrics.count == 7
    log_probs = inputs - np.log(np.exp(inputs).sum(axis=1, keepdims=True))
    expected_loss = -log_probs[np.arange(7), labels].mean()
    assert metrics.loss == pytest.approx(expected_loss, rel=1e-12)
    as_dict = metrics.to_dict(["a", "b", "c"])
    assert as_dict["per_class_accuracy"] == pytest.approx({"a": 2 / 3, "b": 0.5, "c": 1.0})
    assert as_dict["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [0, 0, 2]]


def test_training_accuracy_counts_correct_predictions_of_each_batch():
    # lr 0: the weights stay the initial ones, so the training accuracy and loss of the
    # epoch are those of the fixed model, computed by hand
    rng = np.random.default_rng(1)
    images = rng.standard_normal((10, 1, 1, 3))
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    model = nn.Sequential(nn.Flatten(), nn.Linear(3, 3, dtype=np.float64, rng=0))
    weight, bias = model[1].weight.data.copy(), model[1].bias.data.copy()
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.0),
                      DataLoader((images, labels), batch_size=4), progress=False, log=quiet)
    history = trainer.fit(1)
    logits = images.reshape(10, 3) @ weight.T + bias
    expected_accuracy = float((logits.argmax(axis=1) == labels).mean())
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert history["train_accuracy"] == [pytest.approx(expected_accuracy, abs=1e-15)]
    assert history["train_loss"][0] == pytest.approx(-log_probs[np.arange(10), labels].mean(),
                                                     rel=1e-12)


# ----------------------------------------------------------------------------- progress
def test_progress_bar_on_stderr_only_when_asked(tmp_path, capsys):
    pytest.importorskip("tqdm")
    _, trainer = shapes_run(tmp_path / "bar")
    trainer.progress = True
    trainer.fit(1)
    err = capsys.readouterr().err
    assert "epoch 1" in err and "3/3" in err and "batch" in err

    _, trainer = shapes_run(tmp_path / "quiet")
    trainer.fit(1)
    assert capsys.readouterr().err == ""
