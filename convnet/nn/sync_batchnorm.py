"""Batch normalisation whose statistics are taken over every process of a data-parallel run.

With :class:`~convnet.nn.parallel.DistributedDataParallel`, a plain BatchNorm normalises
each process's shard by the shard's own statistics (PyTorch's default, kept here).
:class:`SyncBatchNorm` sums the shards' counts, sums and squared deviations over the ranks,
so the replicas together normalise as one process would normalise the whole batch, and its
gradients flow through the same all-reduced statistics.

Example (outside a data-parallel run it is exactly BatchNorm):
    >>> import numpy as np, convnet.nn as nn
    >>> SyncBatchNorm(3)(np.random.rand(4, 3, 5, 5)).shape
    (4, 3, 5, 5)
"""

from __future__ import annotations

import numpy as np

from .. import distributed as dist
from ..tensor import Tensor, no_grad, record
from .regularization import _BatchNorm

__all__ = ["SyncBatchNorm", "all_reduce_sum"]


def all_reduce_sum(x: Tensor) -> Tensor:
    """Sum of ``x`` over the ranks, differentiable: every rank's output depends on every
    rank's input, so the gradient is the all-reduced sum of the upstream gradients."""
    data = np.ascontiguousarray(x.data).copy()
    dist.all_reduce(data)

    def backward(grad):
        grad = np.ascontiguousarray(grad).copy()
        dist.all_reduce(grad)
        return (grad,)

    return record(data, (x,), backward)


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *spatial) inputs with statistics shared by every rank."""

    expected_dims = (2, 3, 4, 5)

    def forward(self, x):
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(x)  # one process: exactly BatchNorm
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        count = np.array([x.data.size // x.shape[1]], dtype=np.float64)
        dist.all_reduce(count)
        total = float(count[0])
        mean = all_reduce_sum(x.sum(dim=axes)) * (1.0 / total)
        centred = x - mean.reshape(shape)
        var = all_reduce_sum((centred * centred).sum(dim=axes)) * (1.0 / total)
        y = centred * ((var + self.eps) ** -0.5).reshape(shape)
        if self.weight is not None:
            y = y * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats:
            self.num_batches_tracked += 1
            with no_grad():
                unbiased = var.data * (total / max(total - 1, 1))
                self.running_mean[...] = ((1 - self.momentum) * self.running_mean
                                          + self.momentum * mean.data)
                self.running_var[...] = ((1 - self.momentum) * self.running_var
                                         + self.momentum * unbiased)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module):
        """``module`` with every BatchNorm1d/2d replaced by a SyncBatchNorm holding its
        parameters and running statistics (as torch's method of the same name)."""
        from .regularization import BatchNorm1d, BatchNorm2d
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine,
                       module.track_running_stats)
            sync.load_state_dict(module.state_dict())
            return sync
        for name, child in list(module.named_children()):
            setattr(module, name, cls.convert_sync_batchnorm(child))
        return module

