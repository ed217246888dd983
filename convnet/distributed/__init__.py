"""A process group over MPI, named and behaving as ``torch.distributed``.

Data-parallel training runs one process per replica (``mpiexec -n 4 python train.py``);
each holds the whole model and a shard of every batch, and after each backward pass the
gradients are averaged so every replica takes the same step
(:class:`convnet.nn.parallel.DistributedDataParallel`). Needs ``pip install
"convnet[distributed]"`` (mpi4py and an MPI). Reductions are a reduce to rank 0 followed by
a broadcast, so every rank holds bit-identical results.

Once the group is initialised, an exception that escapes in any rank aborts all of them
(``MPI_Abort``) within seconds, so no rank waits forever for a dead peer.

Example (one process is a group of one):
    >>> import numpy as np
    >>> from convnet import distributed as dist
    >>> dist.init_process_group("mpi")  # doctest: +SKIP
    >>> x = np.ones(3); dist.all_reduce(x)  # doctest: +SKIP
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["init_process_group", "is_initialized", "get_rank", "get_world_size", "all_reduce",
           "broadcast", "barrier", "destroy_process_group", "ReduceOp", "is_mpi_launched"]

_COMM = None
_PREVIOUS_HOOK = None


class ReduceOp:
    """Names of the reductions :func:`all_reduce` accepts (torch's ``ReduceOp`` names)."""
    SUM, MAX, MIN = "sum", "max", "min"


def is_mpi_launched() -> bool:
    """True when this process was started by an MPI launcher (``mpiexec``/``mpirun``)."""
    import os
    return any(name in os.environ for name in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                               "PMIX_RANK", "MPI_LOCALNRANKS"))


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError('distributed training needs mpi4py and an MPI: '
                          'pip install "convnet[distributed]"') from None
    return MPI


def init_process_group(backend: str = "mpi") -> None:
    """Join the process group of every process the MPI launcher started (idempotent)."""
    global _COMM, _PREVIOUS_HOOK
    if backend != "mpi":
        raise ValueError(f"backend: only 'mpi' is supported, got {backend!r}")
    if _COMM is not None:
        return
    _COMM = _mpi().COMM_WORLD
    _PREVIOUS_HOOK = sys.excepthook
    if _COMM.Get_size() > 1:
        sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(kind, value, traceback) -> None:
    """An exception escaping one rank stops every rank (never a hang)."""
    _PREVIOUS_HOOK(kind, value, traceback)
    print(f"convnet.distributed: rank {get_rank()} failed ({kind.__name__}); aborting all "
          f"{get_world_size()} processes", file=sys.stderr, flush=True)
    _COMM.Abort(1)


def is_initialized() -> bool:
    return _COMM is not None


def _group():
    if _COMM is None:
        raise RuntimeError("the default process group is not initialised: call "
                           "convnet.distributed.init_process_group('mpi') first")
    return _COMM


def get_rank() -> int:
    """This process's rank, 0 .. world size - 1."""
    return _group().Get_rank()


def get_world_size() -> int:
    return _group().Get_size()


def _buffer(array_or_tensor) -> np.ndarray:
    from ..tensor import Tensor
    array = array_or_tensor.data if isinstance(array_or_tensor, Tensor) else array_or_tensor
    if not isinstance(array, np.ndarray) or not array.flags.c_contiguous:
        raise TypeError(f"expected a C-contiguous ndarray or a Tensor holding one, got "
                        f"{type(array_or_tensor).__name__}")
    return array


def all_reduce(array_or_tensor, op: str = ReduceOp.SUM) -> None:
    """Reduce ``array_or_tensor`` over every rank, in place; all ranks get the same bits."""
    MPI = _mpi()
    ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}
    if op not in ops:
        raise ValueError(f"op: expected one of {sorted(ops)}, got {op!r}")
    comm, array = _group(), _buffer(array_or_tensor)
    if comm.Get_size() == 1:
        return
    if comm.Get_rank() == 0:
        comm.Reduce(MPI.IN_PLACE, array, op=ops[op], root=0)
    else:
        comm.Reduce(array, None, op=ops[op], root=0)
    comm.Bcast(array, root=0)


def broadcast(array_or_tensor, src: int = 0) -> None:
    """Copy ``src``'s values of ``array_or_tensor`` into every rank's, in place."""
    _group().Bcast(_buffer(array_or_tensor), root=src)


def barrier() -> None:
    """Wait until every rank gets here."""
    _group().Barrier()


def destroy_process_group() -> None:
    """Leave the group (MPI itself is finalised when the process exits)."""
    global _COMM
    if _COMM is not None:
        sys.excepthook = _PREVIOUS_HOOK
    _COMM = None
