"""Finite-difference gradient checking for convnet ops (test helper, float64).

``check_gradients(fn, *arrays)`` builds float64 Tensors from ``arrays``, evaluates
``fn(*tensors)`` to an output Tensor, contracts it with a random upstream gradient
``g`` (so every output element matters with a different weight), and compares the
autograd gradient of ``sum(out * g)`` with respect to each input against central
differences.
"""

from __future__ import annotations

import numpy as np

import convnet


def numerical_gradient(scalar_fn, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``scalar_fn(array) -> float`` (``array`` is perturbed in place)."""
    grad = np.zeros_like(array)
    flat = array.reshape(-1)
    grad_flat = grad.reshape(-1)
    for index in range(flat.size):
        original = flat[index]
        flat[index] = original + eps
        plus = scalar_fn()
        flat[index] = original - eps
        minus = scalar_fn()
        flat[index] = original
        grad_flat[index] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(fn, *arrays, wrt=None, seed: int = 0, eps: float = 1e-6,
                    rtol: float = 1e-6, atol: float = 1e-8):
    """Assert autograd and central differences agree for ``fn`` at ``arrays``.

    ``wrt`` lists the indices of the inputs to check (default: all of them).
    Returns the analytic gradients, in the order of ``wrt``.
    """
    rng = np.random.default_rng(seed)
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    wrt = list(range(len(arrays))) if wrt is None else list(wrt)

    tensors = [convnet.tensor(a, requires_grad=(i in wrt)) for i, a in enumerate(arrays)]
    out = fn(*tensors)
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    analytic = [tensors[i].grad for i in wrt]

    def scalar():
        with convnet.no_grad():
            value = fn(*[convnet.tensor(a) for a in arrays])
        return float(np.sum(np.asarray(value.data) * upstream))

    for position, i in enumerate(wrt):
        numeric = numerical_gradient(scalar, arrays[i], eps=eps)
        assert analytic[position] is not None, f"input {i} received no gradient"
        assert analytic[position].shape == arrays[i].shape, (
            f"input {i}: gradient shape {analytic[position].shape} != {arrays[i].shape}")
        np.testing.assert_allclose(analytic[position], numeric, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")
    return analytic
