"""Adam's and AdamW's update of one parameter as one compiled pass.

The NumPy form of the update (:class:`convnet.optim.Adam`) walks each parameter eight times
and allocates five temporaries; this kernel reads the weight, gradient and both moments
once and writes them back, on the batch threads of :mod:`convnet.ops.batch_threads` for
large parameters. It performs the same float operations in the same order, with every
scalar rounded to the parameter's dtype first, as NumPy does with a Python number, so the
result is identical bit for bit (tests/test_optim_kernels.py), and so PyTorch's order of
operations carries over.

Example:
    >>> import numpy as np
    >>> w, g = np.array([1.0, -2.0], np.float32), np.array([3.0, -0.5], np.float32)
    >>> m, v = np.zeros(2, np.float32), np.zeros(2, np.float32)
    >>> update(w, g, m, v, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, step=1,
    ...        weight_decay=0.0, decoupled=False)
    True
    >>> w            # the first step moves each weight by about lr
    array([ 0.9, -1.9], dtype=float32)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..ops.batch_threads import run_parts, split

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


@njit(cache=True, nogil=True, error_model="numpy")
def _adam(w, g, m, v, decay, weight_decay, lerp_weight, one_minus_lerp_weight,
          beta2, one_minus_beta2, bias_correction2_sqrt, eps, step_size):
    # over whole (sliced) arrays from 0: a loop from ``lo`` keeps LLVM from vectorising
    # (negative-index handling), as does Python's division-by-zero check (error_model)
    for i in range(w.size):
        wi = w[i]
        if decay != 1:                       # AdamW: w = w * (1 - lr * weight_decay)
            wi = wi * decay
        gi = g[i]
        if weight_decay != 0:                # Adam's L2 penalty: g = g + weight_decay * w
            gi = gi + weight_decay * wi
        mi = m[i]
        if lerp_weight < 0.5:                # torch.lerp's two forms
            mi = mi + lerp_weight * (gi - mi)
        else:
            mi = gi - (gi - mi) * one_minus_lerp_weight
        vi = v[i] * beta2
        vi = vi + one_minus_beta2 * gi * gi
        denom = np.sqrt(vi) / bias_correction2_sqrt + eps
        m[i] = mi
        v[i] = vi
        w[i] = wi + step_size * (mi / denom)


def update(weights, grad, exp_avg, exp_avg_sq, *, lr: float, beta1: float, beta2: float,
           eps: float, step: int, weight_decay: float, decoupled: bool) -> bool:
    """Apply one Adam (``decoupled=False``) or AdamW step to ``weights`` and the moments in
    place and return True; False (nothing changed) when the arrays are not all C-contiguous
    float32 or float64 of one dtype and shape: the caller's NumPy form handles those.

    Shapes: all four arrays alike (any shape). ``step`` counts from 1.
    """
    dtype = weights.dtype
    arrays = (weights, grad, exp_avg, exp_avg_sq)
    if dtype not in _FLOATS or any(a.dtype != dtype or a.shape != weights.shape
                                   or not a.flags.c_contiguous for a in arrays):
        return False
    if not weights.flags.writeable:
        return False
    scalar = dtype.type
    lerp_weight = 1 - beta1
    decay = 1 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
    flat = [a.reshape(-1) for a in arrays]
    args = (scalar(decay), scalar(0 if decoupled else weight_decay), scalar(lerp_weight),
            scalar(1 - lerp_weight), scalar(beta2), scalar(1 - beta2),
            scalar((1 - beta2 ** step) ** 0.5), scalar(eps), scalar(-(lr / (1 - beta1 ** step))))
    run_parts(lambda lo, hi: _adam(*[a[lo:hi] for a in flat], *args),
              split(weights.size, 4 * weights.size))
    return True
