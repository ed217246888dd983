"""``convnet train`` under an MPI launcher: one process per replica, detected, not flagged.

``mpiexec -n 4 convnet train ...`` starts four processes; each joins the process group,
trains a replica on its part of every global batch (``--batch-size`` stays the global
batch), and the gradients are averaged after each backward pass. Rank 0 alone prints and
writes the run folder; an error in any rank stops all of them.
"""

from __future__ import annotations

import contextlib
import io
import sys


def start() -> tuple[int, int]:
    """``(rank, world size)``: joins the MPI group when an MPI launcher started us."""
    from .. import distributed
    if not distributed.is_mpi_launched():
        return 0, 1
    distributed.init_process_group("mpi")
    return distributed.get_rank(), distributed.get_world_size()


def quiet_unless_rank_zero(rank: int):
    """Standard output of every rank but 0 goes nowhere (one copy of the progress)."""
    if rank == 0:
        return contextlib.nullcontext()
    return contextlib.redirect_stdout(io.StringIO())


def check_batch(batch_size: int, world: int) -> None:
    if world > 1 and batch_size % world:
        raise ValueError(f"--batch-size: {batch_size} images cannot be split evenly over {world} "
                         f"processes; give a multiple of {world}")


def drops_short_last_batch(count: int, batch_size: int, world: int) -> bool:
    """A last batch with fewer images than processes would leave a rank without any."""
    return world > 1 and 0 < count % batch_size < world


def report_and_abort(error: BaseException, rank: int, world: int) -> None:
    """After an error in this rank, say it and stop every rank (they would wait forever)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    print(f"convnet train (process {rank} of {world}): error: {text}", file=sys.stderr)
    abort_others(world)


def abort_others(world: int) -> None:
    """After an error in this rank, stop every rank (they would wait for it forever)."""
    from .. import distributed
    if world > 1 and distributed.is_initialized():
        sys.stderr.flush()
        from mpi4py import MPI
        MPI.COMM_WORLD.Abort(2)
