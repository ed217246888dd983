"""BatchNorm's module-level PyTorch vocabulary: ``momentum=None`` (the cumulative average),
``reset_running_stats`` and ``reset_parameters``, against torch.nn.BatchNorm2d."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


def batches(count=3, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((4, 3, 5, 5)) * (i + 1) + i).astype(np.float32)
            for i in range(count)]


def assert_same_state(ours, theirs):
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[name]), value.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("momentum", [None, 0.1, 0.5])
def test_running_statistics_follow_torch(momentum):
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    for x in batches():
        y = ours(convnet.tensor(x))
        np.testing.assert_allclose(y.data, theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-4, atol=1e-5)
    assert_same_state(ours, theirs)
    ours.eval(), theirs.eval()
    x = batches(1, seed=1)[0]
    np.testing.assert_allclose(ours(convnet.tensor(x)).data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_reset_running_stats_then_cumulative_average_re_estimates_the_statistics():
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    for x in batches():
        ours(convnet.tensor(x)), theirs(torch.tensor(x))
    ours.reset_running_stats(), theirs.reset_running_stats()
    assert_same_state(ours, theirs)
    ours.momentum = theirs.momentum = None
    data = batches(4, seed=2)
    for x in data:
        ours(convnet.tensor(x)), theirs(torch.tensor(x))
    assert_same_state(ours, theirs)
    stacked = np.stack(data)               # equal batches: the mean of the batch means
    np.testing.assert_allclose(ours.running_mean, stacked.mean(axis=(0, 1, 3, 4)), rtol=1e-5)


def test_reset_parameters_restores_the_initial_state():
    ours, theirs = nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    ours.weight.data[...] = 2.0
    ours.bias.data[...] = -1.0
    ours(convnet.tensor(batches(1)[0]))
    ours.reset_parameters(), theirs.reset_parameters()
    assert_same_state(ours, theirs)
    np.testing.assert_array_equal(ours.weight.data, np.ones(3, np.float32))


@pytest.mark.parametrize("momentum", [None, 0.1])
def test_an_empty_batch_in_training_changes_only_the_count(momentum):
    """As torch: an empty batch normalises nothing, leaves the running statistics as they
    were, counts as a batch, and gives zero gradients to the weight and bias."""
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    for layer, lib in ((ours, convnet), (theirs, torch)):
        for x in batches(2) + [np.zeros((0, 3, 5, 5), np.float32)] + batches(1, seed=1):
            xt = lib.tensor(x, requires_grad=True)
            y = layer(xt)
            (y * y).sum().backward()      # the weight's gradient accumulates over the batches
            assert tuple(y.shape) == x.shape and tuple(xt.grad.shape) == x.shape
    assert_same_state(ours, theirs)
    np.testing.assert_allclose(np.asarray(ours.weight.grad), theirs.weight.grad.numpy(),
                               rtol=1e-5, atol=1e-5)
