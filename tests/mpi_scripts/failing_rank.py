"""Run under mpiexec: rank 1 raises after joining; every rank must stop, none may hang."""

import time

from convnet import distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise RuntimeError("rank 1 fails on purpose")
dist.barrier()          # would wait forever for rank 1 without the abort
time.sleep(60)
