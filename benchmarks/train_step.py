"""One training step (forward, cross-entropy, backward, SGD with momentum), convnet vs PyTorch.

Run from the repository root:

    python benchmarks/train_step.py                  # lenet and uwnet-cifar, batch 128
    python benchmarks/train_step.py --quick          # 3 timed steps each
    python benchmarks/train_step.py --models lenet --repeats 20

A step is, in each library's idiom, ``zero_grad; loss = cross_entropy(model(x), y);
loss.backward(); optimizer.step(); loss.item()`` with SGD(lr 0.01, momentum 0.9), float32,
on one fixed random batch (standard normal images, uniform labels). The convnet model is
``build_model(name, ...)`` of convnet/models.py; the PyTorch model is its twin from
benchmarks/train_fashion.py (``torch_twin``: explicit -inf padding layers for the notes'
asymmetric 'same' pooling), holding a copy of the convnet initial weights. Before timing,
the first two steps of both are compared (loss of step 1 checks the forward pass, loss of
step 2 checks gradients and the momentum update); they must agree to 1e-4.

The libraries are timed in turns, in 3 rounds (ABBA) of one block per library: 3 untimed
steps (after a pause the first steps of either library are slow), then ``--repeats``
timed steps back to back, as a training loop runs them (the weights keep changing). Each
time is the median over all timed steps, the ratio the median over rounds of the blocks'
median ratio (``paired_times`` in _timing.py): the shared machine's speed drifts by up to
2x over tens of seconds, and three pairs of blocks see the drift alike. Torch runs with
2 threads; NumPy's BLAS is left as it is.
Also used by run_all.py and memory.py.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    add_repo_to_path, import_torch, machine_note, median_time, paired_times, print_table, settle,
)

add_repo_to_path()

# name -> (input shape (C, H, W), classes)
CASES = {
    "lenet": ((1, 28, 28), 10),
    "uwnet-cifar": ((3, 32, 32), 10),
}
BATCH = 128
LR, MOMENTUM = 0.01, 0.9
WARMUP = 2
BLOCK_WARMUP = 3   # after a pause the first steps are slow (threads asleep, pages reclaimed)


def make_batch(name: str, batch: int = BATCH, seed: int = 0):
    """(images float32 (batch, C, H, W), labels int64 (batch,)) for a case of CASES."""
    shape, classes = CASES[name]
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((batch,) + shape, dtype=np.float32)
    labels = rng.integers(0, classes, size=batch).astype(np.int64)
    return images, labels


def build_convnet(name: str, seed: int = 0):
    """The convnet model of a case, initial weights from ``seed``."""
    from convnet.models import build_model
    shape, classes = CASES[name]
    return build_model(name, shape, classes, rng=np.random.default_rng(seed))


def build_twin(torch, model, name: str):
    """The torch twin of a convnet model, with a copy of its weights."""
    from train_fashion import torch_twin
    return torch_twin(model, CASES[name][0], torch)


class ConvnetStep:
    name = "convnet"

    def __init__(self, model, images, labels):
        import convnet
        import convnet.functional as F
        self.F, self.model = F, model
        self.optimizer = convnet.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        self.x, self.y = convnet.Tensor(images), labels

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


class TorchStep:
    name = "torch"

    def __init__(self, torch, model, images, labels):
        self.cross_entropy, self.model = torch.nn.functional.cross_entropy, model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        self.x, self.y = torch.from_numpy(images.copy()), torch.from_numpy(labels.copy())

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def make_steps(torch, name: str, batch: int = BATCH, seed: int = 0):
    """(ConvnetStep, TorchStep or None) on the same batch from the same initial weights."""
    images, labels = make_batch(name, batch, seed)
    model = build_convnet(name, seed)
    th = TorchStep(torch, build_twin(torch, model, name), images, labels) if torch else None
    return ConvnetStep(model, images, labels), th


def verify(cn, th, tol: float = 1e-4) -> tuple[float, float]:
    """Run steps 1 and 2 of both; return the two losses (convnet); stop if they disagree."""
    c_losses = [cn(), cn()]
    t_losses = [th(), th()]
    diff = max(abs(c - t) for c, t in zip(c_losses, t_losses))
    if not diff <= tol:
        raise SystemExit(f"convnet and torch disagree: losses {c_losses} vs {t_losses}; "
                         "the timings would not be of the same computation")
    return c_losses[0], diff


def time_steps(step, repeats: int) -> float:
    """Median seconds of one training step, after WARMUP steps."""
    settle()
    return median_time(step, repeats, warmup=WARMUP)


def run(torch, names, repeats: int, batch: int = BATCH, log=print):
    """{name: {'convnet': s, 'torch': s or None, 'ratio': median paired ratio or None,
    'loss': first loss, 'diff': loss difference}}; both libraries in this process, their
    steps timed in turns (``paired_times``) when torch is there."""
    results = {}
    for name in names:
        cn, th = make_steps(torch, name, batch)
        loss, diff = verify(cn, th) if th is not None else (None, None)
        if loss is not None:
            log(f"verified {name}: first-step loss {loss:.6f}, convnet and torch agree to "
                f"{diff:.1e} over 2 SGD steps")
        if th is None:
            results[name] = {"convnet": time_steps(cn, repeats), "torch": None, "ratio": None,
                             "loss": loss, "diff": diff}
            continue
        settle()
        (t_cn, t_th), ratio = paired_times([cn, th], 3 * repeats, warmup=BLOCK_WARMUP,
                                           block=repeats)
        results[name] = {"convnet": t_cn, "torch": t_th, "ratio": ratio, "loss": loss,
                         "diff": diff}
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--quick", action="store_true", help="3 timed steps (smoke test)")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    torch = import_torch(2)
    print(f"numpy {np.__version__}" + (f", torch {torch.__version__} (2 threads)" if torch else "")
          + f"; batch {args.batch}, SGD lr {LR} momentum {MOMENTUM}, median of {repeats} steps")
    print(f"machine: {machine_note()}")
    results = run(torch, args.models, repeats, args.batch)
    rows = [[name, r["convnet"] * 1e3, r["torch"] and r["torch"] * 1e3, r["ratio"]]
            for name, r in results.items()]
    print_table(["model", "convnet ms", "torch ms", "convnet/torch"], rows)


if __name__ == "__main__":
    main()
