"""Data-parallel training over MPI: throughput for 1, 2 and 4 ranks, scaling efficiency and
the share of each step spent averaging gradients.

Run from the repository root (needs the distributed extra):

    python benchmarks/distributed.py                  # lenet and fashion-cnn, 20 timed steps
    python benchmarks/distributed.py --steps 10 --ranks 1 2

Each rank runs one thread (OMP/OpenBLAS) on a fixed per-rank batch of 64 Fashion-MNIST-
shaped images; the throughput is images/s over all ranks, the efficiency is
throughput(N) / (N x throughput(1)), and the all-reduce share is the time spent in the
gradient averaging (measured inside the step) over the step time. A last row runs one rank
with two threads for comparison with two ranks of one thread. More ranks than cores are
oversubscribed: on a 2-core machine the 4-rank row shares cores and cannot scale.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WORKER = r'''
import json, sys, time
import numpy as np
import convnet, convnet.functional as F
from convnet import distributed as dist, process_settings
from convnet.models import build_model
from convnet.nn.parallel import DistributedDataParallel
process_settings.apply()
model_name, steps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(rank)
images = rng.standard_normal((64, 1, 28, 28), dtype=np.float32)
labels = rng.integers(0, 10, 64)
model = DistributedDataParallel(build_model(model_name, (1, 28, 28), 10, rng=0))
optimizer = convnet.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
reduce_seconds = [0.0]
original = model._average_gradients
def timed():
    start = time.perf_counter(); original(); reduce_seconds[0] += time.perf_counter() - start
model._average_gradients = timed
def step():
    optimizer.zero_grad(); F.cross_entropy(model(images), labels).backward(); optimizer.step()
for _ in range(3):
    step()
dist.barrier(); reduce_seconds[0] = 0.0; start = time.perf_counter()
for _ in range(steps):
    step()
dist.barrier(); seconds = time.perf_counter() - start
if rank == 0:
    json.dump({"seconds": seconds, "reduce": reduce_seconds[0]}, open(out, "w"))
'''


def measure(model: str, ranks: int, threads: int, steps: int) -> dict:
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "PYTHONPATH": ROOT}
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "result.json")
        subprocess.run([mpiexec, "--map-by", ":OVERSUBSCRIBE", "-n", str(ranks), sys.executable,
                        "-c", WORKER, model, str(steps), out], env=env, check=True,
                       capture_output=True, text=True)
        with open(out) as handle:
            result = json.load(handle)
    result["images_per_second"] = 64 * ranks * steps / result["seconds"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lenet", "fashion-cnn"])
    parser.add_argument("--ranks", nargs="+", type=int, default=[1, 2, 4])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"{'model':<12} {'ranks x threads':>15} {'images/s':>9} {'efficiency':>10} "
          f"{'all-reduce share':>16}")
    for model in args.models:
        base = None
        for ranks in args.ranks:
            result = measure(model, ranks, 1, args.steps)
            base = base or result["images_per_second"]
            efficiency = result["images_per_second"] / (ranks * base)
            print(f"{model:<12} {f'{ranks} x 1':>15} {result['images_per_second']:9.0f} "
                  f"{efficiency:10.2f} {result['reduce'] / result['seconds']:16.1%}")
        result = measure(model, 1, 2, args.steps)
        print(f"{model:<12} {'1 x 2':>15} {result['images_per_second']:9.0f} {'-':>10} "
              f"{result['reduce'] / result['seconds']:16.1%}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{time.strftime('%Y-%m-%d')}")


if __name__ == "__main__":
    main()
