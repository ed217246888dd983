"""Run under mpiexec: SyncBatchNorm on shards equals BatchNorm2d on the whole batch.

argv: out_folder. Rank 0 writes the largest differences of the output, the input gradient,
the weight and bias gradients (summed over ranks) and the running statistics.
"""

import json
import sys

import numpy as np

import convnet
import convnet.nn as nn
from convnet import distributed as dist

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
rng = np.random.default_rng(0)
x = rng.standard_normal((12, 3, 4, 5)) * 2 + 1
g = rng.standard_normal(x.shape)
mine = slice(rank * 12 // world, (rank + 1) * 12 // world)

sync = nn.SyncBatchNorm(3, dtype=np.float64)
sync.weight.data[...] = [0.5, 1.5, -1.0]
sync.bias.data[...] = [0.1, 0.0, -0.2]
xs = convnet.tensor(x[mine], requires_grad=True)
y = sync(xs)
y.backward(g[mine])
grads = np.concatenate([sync.weight.grad, sync.bias.grad])
dist.all_reduce(grads)

plain = nn.BatchNorm2d(3, dtype=np.float64)
plain.load_state_dict({**plain.state_dict(), "weight": sync.weight.data, "bias": sync.bias.data})
xt = convnet.tensor(x, requires_grad=True)
yt = plain(xt)
yt.backward(g)
result = {
    "output": float(np.abs(y.data - yt.data[mine]).max()),
    "input_grad": float(np.abs(xs.grad - xt.grad[mine]).max()),
    "param_grads": float(np.abs(grads - np.concatenate([plain.weight.grad, plain.bias.grad])).max()),
    "running": float(max(np.abs(sync.running_mean - plain.running_mean).max(),
                         np.abs(sync.running_var - plain.running_var).max())),
}
if rank == 0:
    with open(f"{sys.argv[1]}/sync_bn.json", "w") as handle:
        json.dump(result, handle)
