"""The compiled Adam/AdamW update (convnet.optim.adam_kernel) against the NumPy form it
replaces, bit for bit: float32 and float64, both of torch.lerp's forms (beta1 above and
at 0.5, DCGAN's betas), L2 and decoupled weight decay, a parameter large enough to be split
between threads, and the arrays the kernel declines (a strided gradient, amsgrad), which
the NumPy form takes. PyTorch itself is the oracle of both in tests/test_optim.py."""

from __future__ import annotations

import numpy as np
import pytest

from convnet import nn, optim
from convnet.ops import batch_threads
from convnet.optim import adam_kernel

SHAPES = [(8, 4, 3, 3), (8,), (300, 300)]     # the last is split between the batch threads

CONFIGS = {
    "adam": (optim.Adam, dict(lr=1e-3)),
    "adam-decay": (optim.Adam, dict(lr=1e-2, weight_decay=1e-2, betas=(0.8, 0.99))),
    "adam-dcgan": (optim.Adam, dict(lr=2e-4, betas=(0.5, 0.999))),
    "adam-beta1-small": (optim.Adam, dict(lr=1e-2, betas=(0.3, 0.9), eps=1e-6)),
    "adamw": (optim.AdamW, dict(lr=1e-3)),
    "adamw-decay": (optim.AdamW, dict(lr=1e-2, weight_decay=0.1, betas=(0.5, 0.95))),
}


def run(config, dtype, kernel: bool, monkeypatch, steps=5, strided=False):
    cls, options = CONFIGS[config]
    rng = np.random.default_rng(0)
    params = [nn.Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]
    opt = cls(params, **options)
    calls = []
    original = adam_kernel.update
    with monkeypatch.context() as patch:
        patch.setattr(adam_kernel, "update", lambda *a, **k: (
            calls.append(1), kernel and original(*a, **k))[1])
        for _ in range(steps):
            for p in params:
                grad = rng.standard_normal(p.shape).astype(dtype) * 3
                if strided:                      # the same values in Fortran order
                    grad = np.asfortranarray(grad)
                p.grad = grad
            opt.step()
    assert len(calls) == steps * len(SHAPES)
    return [p.data for p in params], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_the_compiled_update_is_the_numpy_update_bit_for_bit(config, dtype, monkeypatch):
    compiled, opt = run(config, dtype, True, monkeypatch)
    numpy_form, _ = run(config, dtype, False, monkeypatch)
    for ours, reference in zip(compiled, numpy_form):
        assert ours.dtype == dtype
        np.testing.assert_array_equal(ours, reference)
    state = opt.state[next(iter(opt.state))]
    assert state["step"] == 5 and state["exp_avg"].dtype == dtype


def test_the_large_parameter_is_split_between_threads():
    size = 300 * 300
    assert len(batch_threads.split(size, 4 * size)) == min(2, batch_threads.workers())


def test_declined_arrays_take_the_numpy_form(monkeypatch):
    w = np.ones((4, 5), np.float32)
    grad, moments = np.ones((5, 4), np.float32).T, np.zeros((2, 4, 5), np.float32)
    kwargs = dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, step=1, weight_decay=0.0,
                  decoupled=False)
    assert not adam_kernel.update(w, grad, moments[0], moments[1], **kwargs)      # strided
    assert not adam_kernel.update(w, np.ascontiguousarray(grad, np.float64), *moments, **kwargs)
    assert (w == 1).all() and (moments == 0).all()                              # untouched
    assert adam_kernel.update(w, np.ascontiguousarray(grad), *moments, **kwargs)
    # a strided gradient gives what its contiguous copy gives, through the NumPy form
    strided, _ = run("adam-decay", np.float32, True, monkeypatch, strided=True)
    contiguous, _ = run("adam-decay", np.float32, True, monkeypatch)
    for a, b in zip(strided, contiguous):
        np.testing.assert_array_equal(a, b)


def test_amsgrad_keeps_the_numpy_form(monkeypatch):
    p = nn.Parameter(np.ones(3, np.float32))
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    monkeypatch.setattr(adam_kernel, "update", lambda *a, **k: pytest.fail("kernel called"))
    p.grad = np.array([1.0, -1.0, 0.5], np.float32)
    opt.step()
    assert "max_exp_avg_sq" in opt.state[p]
