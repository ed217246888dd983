"""Run under mpiexec: N ranks with B/N samples each against one process with all B.

argv: out_folder optimizer drop_last. Every rank trains a float64 model with
DistributedDataParallel on its DistributedSampler shard of a fixed dataset for a few steps,
then rank 0 trains the same model alone on whole batches; rank 0 writes the largest
difference and every rank writes its parameters' bytes (to compare across ranks).
"""

import hashlib
import json
import sys

import numpy as np

import convnet
import convnet.functional as F
import convnet.nn as nn
from convnet import distributed as dist
from convnet.data import DistributedSampler
from convnet.nn.parallel import DistributedDataParallel

out, optimizer_name, drop_last = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()
BATCH, STEPS = 12, 4                      # 12 divides by 2 and 3: equal shards of a batch
rng = np.random.default_rng(0)
count = BATCH * STEPS + 5                 # an odd length: the sampler's tail case
images, labels = rng.standard_normal((count, 1, 6, 6)), rng.integers(0, 3, count)


def model(seed):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, dtype=np.float64, rng=seed), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 3, dtype=np.float64, rng=seed))


def optimizer(parameters):
    if optimizer_name == "sgd":
        return convnet.optim.SGD(parameters, lr=0.1, momentum=0.9, weight_decay=1e-3)
    return convnet.optim.Adam(parameters, lr=0.01)


replica = DistributedDataParallel(model(seed=rank))     # rank 0's weights win
step = optimizer(replica.parameters())
sampler = DistributedSampler(range(count), world, rank, shuffle=True, seed=7, drop_last=drop_last)
order = np.random.default_rng([7, 0]).permutation(count)   # the sampler's epoch-0 order
for index in range(STEPS):
    batch = order[index * BATCH:(index + 1) * BATCH]
    mine = batch[rank::world]
    step.zero_grad()
    F.cross_entropy(replica(images[mine]), labels[mine]).backward()
    step.step()
shard = sampler.indices()
gathered = np.zeros(count)
gathered[shard] += 1
dist.all_reduce(gathered)
digest = hashlib.sha256(b"".join(p.data.tobytes() for p in replica.parameters())).hexdigest()
result = {"rank": rank, "digest": digest, "coverage": gathered.tolist()}
if rank == 0:
    single = model(seed=0)
    alone = optimizer(single.parameters())
    for index in range(STEPS):
        batch = order[index * BATCH:(index + 1) * BATCH]
        alone.zero_grad()
        F.cross_entropy(single(images[batch]), labels[batch]).backward()
        alone.step()
    result["difference"] = max(float(np.abs(a.data - b.data).max())
                               for a, b in zip(replica.parameters(), single.parameters()))
with open(f"{out}/rank{rank}.json", "w") as handle:
    json.dump(result, handle)
