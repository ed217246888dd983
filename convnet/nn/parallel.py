"""Data-parallel training: :class:`DistributedDataParallel`, as ``torch.nn.parallel``'s.

Each process holds a replica of the model and computes gradients on its shard of the
batch; after every backward pass the gradients are averaged over the processes (flattened
into buckets of about ``bucket_cap_mb`` MB, one reduction each), so every replica takes
the same optimiser step. With a mean-reduced loss and equal shards, N processes with B/N
samples each take exactly the step one process takes with B samples.

Example (under ``mpiexec``; a single process is a group of one)::

    from convnet import distributed as dist
    dist.init_process_group("mpi")
    model = DistributedDataParallel(build_model(...))
    loss = F.cross_entropy(model(images_of_my_shard), labels_of_my_shard)
    loss.backward()          # gradients are averaged over the ranks here
    optimizer.step()
"""

from __future__ import annotations

import numpy as np

from .. import distributed as dist
from ..tensor import is_grad_enabled, queue_callback
from .module import Module

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wrap ``module``: rank 0's parameters and buffers are broadcast to every rank, and
    each backward pass ends with the gradients averaged over the ranks.

    Args:
        module: the replica.
        bucket_cap_mb: gradients are reduced in flat buckets of at most this many MB.
    """

    def __init__(self, module: Module, bucket_cap_mb: float = 25):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("DistributedDataParallel: call convnet.distributed."
                               "init_process_group('mpi') first")
        if not bucket_cap_mb > 0:
            raise ValueError(f"bucket_cap_mb: expected a positive size, got {bucket_cap_mb!r}")
        self.module, self.bucket_cap_mb = module, bucket_cap_mb
        for value in module.state_dict().values():  # the module's own arrays, written in place
            array = np.asarray(value)
            contiguous = np.ascontiguousarray(array)
            dist.broadcast(contiguous, src=0)
            if contiguous is not array:
                array[...] = contiguous
        self._pending = False

    def state_dict(self, *args, **kwargs):
        """The wrapped module's state_dict (no ``module.`` prefix): checkpoints are the same
        with or without data parallelism, and load into either."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.module.load_state_dict(*args, **kwargs)

    def forward(self, *args, **kwargs):
        output = self.module(*args, **kwargs)
        if is_grad_enabled() and self.training and not self._pending:
            self._pending = True
            queue_callback(self._average_gradients)
        return output

    def _buckets(self, parameters):
        limit = max(1, int(self.bucket_cap_mb * 2**20))
        bucket, size = [], 0
        for parameter in parameters:
            bucket.append(parameter)
            size += parameter.grad.nbytes
            if size >= limit:
                yield bucket
                bucket, size = [], 0
        if bucket:
            yield bucket

    def _average_gradients(self) -> None:
        self._pending = False
        world = dist.get_world_size()
        with_grad = [p for p in self.module.parameters() if p.grad is not None]
        by_dtype = {}
        for parameter in with_grad:
            by_dtype.setdefault(parameter.grad.dtype, []).append(parameter)
        for dtype, parameters in by_dtype.items():
            for bucket in self._buckets(parameters):
                flat = np.concatenate([p.grad.ravel() for p in bucket]).astype(dtype, copy=False)
                dist.all_reduce(flat)
                flat /= world
                start = 0
                for parameter in bucket:
                    size = parameter.grad.size
                    parameter.grad = flat[start:start + size].reshape(parameter.grad.shape).copy()
                    start += size
