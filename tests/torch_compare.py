"""Run the same expression in convnet and in PyTorch and compare (test helper).

``compare(fn, *arrays)`` builds convnet Tensors and torch tensors from the same numpy
arrays (all with requires_grad=True unless ``requires_grad`` says otherwise), evaluates
``fn(*convnet_tensors)`` and ``torch_fn(*torch_tensors)`` (``torch_fn`` defaults to
``fn``), back-propagates the same random upstream gradient through both, and asserts
that the outputs and every input gradient agree.  PyTorch is the oracle: nothing is
computed with convnet except the values under test.

Tolerances follow the suite's rule: float64 rtol=atol=1e-12, float32 rtol=1e-5
(atol 1e-6, because values of order one computed in a different order may differ
by a few float32 ulps in absolute terms near zero).
"""

from __future__ import annotations

import numpy as np

import convnet

try:  # the helper must stay importable without torch; the tests skip themselves
    import torch
except ImportError:  # pragma: no cover - exercised only without torch
    torch = None

TOLERANCES = {
    np.dtype(np.float64): dict(rtol=1e-12, atol=1e-12),
    np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6),
}


def tolerance(dtype) -> dict:
    return TOLERANCES[np.dtype(dtype)]


def to_torch(array: np.ndarray, requires_grad: bool = False):
    """A torch tensor holding a copy of ``array`` (keeps the dtype)."""
    t = torch.from_numpy(np.array(array, copy=True))
    if requires_grad:
        t.requires_grad_(True)
    return t


def compare(fn, *arrays, torch_fn=None, dtype=None, requires_grad=None, seed=0,
            rtol=None, atol=None, check_dtype=True):
    """Assert ``fn`` agrees with PyTorch in value and in input gradients.

    ``arrays`` are converted to ``dtype`` when given (else used as they are).
    ``requires_grad`` is a list of booleans, one per array (default: all True).
    Returns ``(convnet_output, convnet_inputs)`` for further checks.
    """
    if torch is None:  # pragma: no cover
        import pytest
        pytest.skip("PyTorch is not installed; torch comparison tests need it")
    torch_fn = fn if torch_fn is None else torch_fn
    arrays = [np.array(a, dtype=dtype) if dtype is not None else np.array(a) for a in arrays]
    requires_grad = [True] * len(arrays) if requires_grad is None else list(requires_grad)
    assert len(requires_grad) == len(arrays)

    ours = [convnet.tensor(a.copy(), requires_grad=rg) for a, rg in zip(arrays, requires_grad)]
    theirs = [to_torch(a, requires_grad=rg) for a, rg in zip(arrays, requires_grad)]

    out = fn(*ours)
    ref = torch_fn(*theirs)
    ref_np = ref.detach().numpy()

    assert isinstance(out, convnet.Tensor), f"expected a convnet.Tensor, got {type(out).__name__}"
    assert tuple(out.shape) == tuple(ref_np.shape), f"output shape {out.shape} != torch {ref_np.shape}"
    out_data = np.asarray(out.data)
    tol = dict(tolerance(ref_np.dtype))
    if rtol is not None:
        tol["rtol"] = rtol
    if atol is not None:
        tol["atol"] = atol
    if check_dtype:
        assert out_data.dtype == ref_np.dtype, f"output dtype {out_data.dtype} != torch {ref_np.dtype}"
    np.testing.assert_allclose(out_data, ref_np, err_msg="forward value", **tol)

    if not any(requires_grad):
        return out, ours

    rng = np.random.default_rng(seed)
    upstream = rng.standard_normal(ref_np.shape).astype(ref_np.dtype)
    given = upstream.copy()
    out.backward(given)
    ref.backward(torch.from_numpy(upstream.copy()))

    for i, (mine, theirs_t, rg) in enumerate(zip(ours, theirs, requires_grad)):
        if not rg:
            assert mine.grad is None, f"input {i} has requires_grad=False but received a gradient"
            continue
        if theirs_t.grad is None:  # input not used by fn: torch leaves grad None
            assert mine.grad is None or not np.any(mine.grad), f"unused input {i} got a gradient"
            continue
        expected = theirs_t.grad.numpy()
        assert mine.grad is not None, f"input {i} received no gradient"
        grad = np.asarray(mine.grad)
        assert grad.shape == arrays[i].shape, f"input {i}: grad shape {grad.shape} != {arrays[i].shape}"
        if check_dtype:
            assert grad.dtype == arrays[i].dtype, f"input {i}: grad dtype {grad.dtype} != {arrays[i].dtype}"
        np.testing.assert_allclose(grad, expected, err_msg=f"gradient of input {i}", **tol)

    for i, (mine, original) in enumerate(zip(ours, arrays)):
        np.testing.assert_array_equal(np.asarray(mine.data), original,
                                      err_msg=f"input {i} data was modified in place")
    np.testing.assert_array_equal(given, upstream,
                                  err_msg="backward() modified the upstream gradient array it was given")
    return out, ours
