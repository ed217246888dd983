"""Helpers shared by the convnet.nn tests that use PyTorch as the oracle (import after
``pytest.importorskip('torch')``): tolerance-aware comparison and state_dict conversion.

PyTorch (CPU build) is the oracle: key names and order, shapes, outputs and gradients come
from ``torch.nn`` built with the same architecture and the same weights (copied from torch
into convnet with ``load_state_dict``). What torch lacks (untied bias, maxout, the notes'
init rule, the repr notation) is checked against an explicit computation or the notes.

Tolerances (:func:`assert_close`): float64 rtol=1e-10 with an absolute floor of 1e-12 times
the largest magnitude of the expected array; float32 rtol=1e-5 (atol 1e-6 times that
magnitude). Both libraries compute in the same dtype, so these bound reordering error, not
algorithmic differences.
"""

from __future__ import annotations

import numpy as np
import torch

tnn = torch.nn
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def assert_close(actual, expected, dtype=np.float64, what=""):
    actual = np.asarray(getattr(actual, "data", actual))
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    if dtype == np.float64:
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12 * max(scale, 1.0),
                                   err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6 * max(scale, 1.0),
                                   err_msg=what)


def torch_state(module) -> dict:
    """A torch state_dict converted to numpy (copies, so torch can change afterwards)."""
    return {key: value.detach().numpy().copy() for key, value in module.state_dict().items()}


def randomize_torch(module, seed=0):
    """Give every parameter and floating buffer of a torch module distinctive values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=generator, dtype=b.dtype) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=generator, dtype=b.dtype) * 0.3)
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)
