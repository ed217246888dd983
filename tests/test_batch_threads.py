"""Kernels split between threads (convnet.ops.batch_threads) compute what one thread does.

The split is taken only for large work (``MIN_PART_VALUES``), which the small arrays of the
other tests never reach; here it is forced on (one value a part is enough, two workers) and
every threaded path is held to PyTorch in float64 and to the same call on one thread:
the direct convolution (forward, input, weight and bias gradients), im2col/col2im of the
channels-last convolution, max pooling in both memory layouts (inside windows, border
windows, overlapping and tiling windows), ReLU and its masked backward.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.ops import batch_threads
from convnet.ops.conv import conv_spec, dispatch as conv_dispatch

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")


@pytest.fixture
def threads(monkeypatch):
    """A function that runs ``f`` with the batch split in two, then on one thread."""
    monkeypatch.setattr(batch_threads, "MIN_PART_VALUES", 1)

    def both(f):
        monkeypatch.setenv("CONVNET_NUM_THREADS", "2")
        split = f()
        monkeypatch.setenv("CONVNET_NUM_THREADS", "1")
        return split, f()
    return both


def test_bounds_cover_the_batch_without_empty_parts():
    for batch in range(0, 12):
        for parts in range(1, 5):
            ranges = batch_threads.bounds(batch, parts)
            assert [i for lo, hi in ranges for i in range(lo, hi)] == list(range(batch))
            assert all(hi > lo for lo, hi in ranges) and len(ranges) <= max(1, parts)


def test_workers_follow_the_environment(monkeypatch):
    monkeypatch.setenv("CONVNET_NUM_THREADS", "3")
    assert batch_threads.workers() == 3
    monkeypatch.setenv("CONVNET_NUM_THREADS", "999")
    assert batch_threads.workers() == batch_threads.MAX_WORKERS
    monkeypatch.setenv("CONVNET_NUM_THREADS", "none")
    assert batch_threads.workers() >= 1


def test_parts_run_on_two_threads_and_errors_reach_the_caller():
    seen = set()

    def record(lo, hi):
        seen.add(threading.get_ident())
    batch_threads.run_parts(record, [(0, 1), (1, 2)])
    assert len(seen) == 2 and threading.get_ident() in seen

    def fail_late(lo, hi):
        if lo > 0:
            raise ValueError(f"part {lo}:{hi} failed")
    with pytest.raises(ValueError, match="part 1:2 failed"):
        batch_threads.run_parts(fail_late, [(0, 1), (1, 2)])
    batch_threads.run_parts(record, [])            # an empty batch: nothing to run


def conv_grads(x, w, b, padding):
    X, W, B = (convnet.Tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(X, W, B, padding=padding)
    g = np.cos(np.arange(y.data.size)).reshape(y.shape)
    y.backward(convnet.Tensor(g))
    return [y.data, X.grad.data, W.grad.data, B.grad.data], g


def torch_conv_grads(x, w, b, padding, g):
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = torch.nn.functional.conv2d(xt, wt, bt, padding=padding)
    y.backward(torch.tensor(g))
    return [y.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()]


@pytest.mark.parametrize("channels, backend", [((2, 5), "direct"), ((6, 20), "channels_last")])
def test_convolution_split_between_threads(threads, channels, backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, channels[0], 9, 8))
    w = rng.standard_normal((channels[1], channels[0], 3, 3))
    b = rng.standard_normal(channels[1])
    chosen = conv_dispatch.choose_backend(x, w, conv_spec(x.shape, x.dtype, w.shape))
    assert chosen is conv_dispatch.BACKENDS[backend]
    (split, g), (single, _) = threads(lambda: conv_grads(x, w, b, 1))
    for ours, one, theirs in zip(split, single, torch_conv_grads(x, w, b, 1, g)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10 * np.abs(theirs).max())
        np.testing.assert_allclose(ours, one, rtol=1e-12, atol=1e-12 * np.abs(one).max())


def pool_grads(x, kernel, stride, padding):
    X = convnet.Tensor(x, requires_grad=True)
    y = F.max_pool2d(X, kernel, stride, padding)
    g = np.sin(np.arange(y.data.size)).reshape(y.shape)
    y.backward(convnet.Tensor(g))
    return [y.data, X.grad.data], g


@pytest.mark.parametrize("channels", [3, 8])
@pytest.mark.parametrize("channels_last", [False, True], ids=["planes", "channels_last"])
@pytest.mark.parametrize("kernel, stride, padding", [(3, 2, 1), (2, 2, 0), (3, 1, 0)])
def test_max_pooling_split_between_threads(threads, channels_last, kernel, stride, padding,
                                           channels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, channels, 12, 12))
    x[0, 0, 3, 3] = np.nan
    if channels_last:
        x = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 1, -1)), -1, 1)
    (split, g), (single, _) = threads(lambda: pool_grads(x, kernel, stride, padding))
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = torch.nn.functional.max_pool2d(xt, kernel, stride, padding)
    yt.backward(torch.tensor(g))
    for ours, one, theirs in zip(split, single, (yt.detach().numpy(), xt.grad.numpy())):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, one)


def test_relu_split_between_threads(threads):
    x = np.random.default_rng(2).standard_normal((4, 3, 7, 5)).astype(np.float32)
    x.flat[:3] = [np.nan, -0.0, np.inf]

    def run():
        X = convnet.Tensor(x, requires_grad=True)
        y = F.relu(X)
        y.backward(convnet.Tensor(np.full(x.shape, 2, np.float32)))
        return [y.data, X.grad.data]
    split, single = threads(run)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.relu(xt)
    yt.backward(torch.full(x.shape, 2.0))
    for ours, one, theirs in zip(split, single, (yt.detach().numpy(), xt.grad.numpy())):
        np.testing.assert_array_equal(ours, theirs)
        np.testing.assert_array_equal(ours, one)


def test_masked_select_of_strided_values_split_between_threads(threads):
    from convnet.ops.elementwise_kernels import select_or_zero
    rng = np.random.default_rng(3)
    values = np.repeat(rng.standard_normal((4, 3, 6, 5)), 2, axis=-1)[..., ::2]  # strided
    mask = np.moveaxis(np.ascontiguousarray(np.moveaxis(rng.random(values.shape) < 0.5, 1, -1)),
                       -1, 1)                                   # another layout
    split, single = threads(lambda: select_or_zero(values, mask))
    np.testing.assert_array_equal(split, np.where(mask, values, 0.0))
    np.testing.assert_array_equal(split, single)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork is POSIX only")
def test_a_forked_child_starts_its_own_threads():
    """A child forked after the pool started (a multiprocessing worker) has none of its
    threads; it must start its own rather than wait for them forever."""
    import multiprocessing
    batch_threads.run_parts(lambda lo, hi: None, [(0, 1), (1, 2)])     # the pool exists
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        result = pool.apply_async(_split_sum, (10,))
        assert result.get(timeout=60) == 45


def _split_sum(size):
    out = np.zeros(size)

    def part(lo, hi):
        out[lo:hi] = np.arange(lo, hi)
    batch_threads.run_parts(part, [(0, size // 2), (size // 2, size)])
    return int(out.sum())


def test_batch_norm_split_between_threads(threads):
    """Channels-last batch norm (the compiled rows path): statistics summed per thread."""
    rng = np.random.default_rng(4)
    x = np.moveaxis(np.ascontiguousarray(np.moveaxis(
        rng.standard_normal((5, 3, 6, 7)) * 3 + 1, 1, -1)), -1, 1)        # channels-last
    g = rng.standard_normal(x.shape)
    weight, bias = rng.standard_normal(3), rng.standard_normal(3)

    def run():
        bn = convnet.nn.BatchNorm2d(3)
        bn.weight.data, bn.bias.data = weight.copy(), bias.copy()       # float64 parameters
        X = convnet.Tensor(x, requires_grad=True)
        y = bn(X)
        y.backward(convnet.Tensor(g))
        return [y.data, X.grad.data, bn.weight.grad, bn.bias.grad]
    split, single = threads(run)
    tbn = torch.nn.BatchNorm2d(3).double()
    with torch.no_grad():
        tbn.weight[:], tbn.bias[:] = torch.tensor(weight), torch.tensor(bias)
    xt = torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yt = tbn(xt)
    yt.backward(torch.tensor(g))
    expected = [yt.detach().numpy(), xt.grad.numpy(), tbn.weight.grad.numpy(),
                tbn.bias.grad.numpy()]
    for ours, one, theirs in zip(split, single, expected):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours, one, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="POSIX timers")
def test_an_interrupt_while_waiting_lets_the_other_part_finish_first():
    """Ctrl-C while the caller waits for a helper: the helper's part still finishes before
    the KeyboardInterrupt is raised, so the next split does not see a stale 'done'."""
    import signal
    import time
    finished = []

    def part(lo, hi):
        if lo > 0:
            time.sleep(0.3)
            finished.append(lo)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    signal.signal(signal.SIGALRM, lambda *_: signal.raise_signal(signal.SIGINT))
    try:
        with pytest.raises(KeyboardInterrupt):
            batch_threads.run_parts(part, [(0, 1), (1, 2)])
        assert finished == [1]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGINT, previous)
    out = np.zeros(4)
    batch_threads.run_parts(lambda lo, hi: out.__setitem__(slice(lo, hi), 1), [(0, 2), (2, 4)])
    assert out.tolist() == [1, 1, 1, 1]
