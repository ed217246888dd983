"""Choosing how to compute a transposed convolution: NumPy (:mod:`.transpose`: a BLAS product
and col2im, any dtype, bias and padding) or oneDNN (:mod:`.transpose_onednn`: the backward
data pass of the convolution it transposes, float32, where the library loads and
``CONVNET_BACKEND`` does not turn it off). The saved state is ``(backend, what it saved)``.

Example:
    >>> import numpy as np
    >>> from convnet.ops.conv.transpose import conv_transpose_spec
    >>> x, w = np.ones((1, 1, 3)), np.ones((1, 1, 2))
    >>> spec = conv_transpose_spec(x.shape, x.dtype, w.shape, stride=2)
    >>> y, saved = forward(x, w, None, spec)
    >>> saved[0].__name__, y.tolist()
    ('convnet.ops.conv.transpose', [[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]])
"""

from __future__ import annotations

import numpy as np

from ..onednn import library as L
from . import transpose, transpose_onednn

BACKENDS = {"reference": transpose, "onednn": transpose_onednn}


def choose_backend(x: np.ndarray, weight: np.ndarray, spec):
    """oneDNN where it is preferred and supports the call, else the NumPy reference."""
    if L.preferred() and transpose_onednn.supports(spec, x, weight):
        return transpose_onednn
    return transpose


def forward(x, weight, bias, spec):
    """``(y, (backend, saved))`` by the chosen backend."""
    backend = choose_backend(x, weight, spec)
    y, saved = backend.forward(x, weight, bias, spec)
    return y, (backend, saved)


def backward(dy, saved, spec, need_input_grad: bool = True, need_weight_grad: bool = True):
    """``(dx, dweight, dbias)`` by the backend :func:`forward` used."""
    backend, inner = saved
    return backend.backward(dy, inner, spec, need_input_grad=need_input_grad,
                            need_weight_grad=need_weight_grad)
