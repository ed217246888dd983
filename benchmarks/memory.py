"""Peak memory of training steps, convnet vs PyTorch, each library in its own process.

Run from the repository root:

    python benchmarks/memory.py                 # lenet and uwnet-cifar, batch 128, 5 steps
    python benchmarks/memory.py --steps 3 --models lenet

Method. For each (model, library) a fresh child process (``python benchmarks/memory.py
--child LIB ...``) imports only NumPy and that library (the torch child never imports
convnet), builds the model, the SGD optimizer (momentum 0.9) and one random batch of 128,
then runs one warm-up training step on a batch of 2 (same model and optimizer; both
libraries load their compiled code there: numba's cached kernels, about 50 MiB of LLVM
JIT memory for convnet, and set up their thread pools). The RSS growth over that step is
reported as *first use*. It then runs ``gc.collect()``, records the resident set size,
VmRSS of /proc/self/status, as the *base*, resets the kernel's peak-RSS mark (``5``
written to /proc/self/clear_refs, which sets VmHWM to the current RSS), runs ``--steps``
training steps of benchmarks/train_step.py (forward, cross-entropy, backward, SGD step)
on the batch of 128 and reads the *peak*, VmHWM. Reported: first use, base, peak, and
*step memory* = peak - base, what a training step of that batch needs (activations,
saved tensors, gradients, momentum buffers, workspaces, BLAS buffers for its products,
shape-specific primitives). The target compares convnet step memory / torch step
memory; the raw peaks, which include everything, are printed beside it.

Why not ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: on Linux a process's ru_maxrss
carries over the peak of the process it was forked from across exec, so a child started
from a large parent (run_all.py holds both libraries and the conv inputs, ~600 MiB) reports
the parent's peak. VmHWM belongs to the child's own address space. Without /proc (macOS)
the child uses ru_maxrss before and after the steps instead, which is only meaningful
from a small parent such as ``python benchmarks/memory.py``.

The torch model is the twin of the convnet one (same weights), passed to the child
through ``torch.save`` in a temporary file. Torch runs with 2 threads.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _timing import add_repo_to_path, machine_note, print_table  # noqa: E402

add_repo_to_path()


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss   # KiB on Linux, bytes on macOS
    return kb / 1024 if sys.platform != "darwin" else kb / 2 ** 20


def _status_mb(field: str) -> float | None:
    """A ``Vm...`` field of /proc/self/status in MiB, or None without /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Set VmHWM to the current RSS (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def child(lib: str, name: str, steps: int, batch: int, twin_path: str | None) -> dict:
    """Body of a child process: base RSS, then peak RSS after ``steps`` steps."""
    import train_step as ts
    images, labels = ts.make_batch(name, batch)
    warm_images, warm_labels = ts.make_batch(name, 2, seed=1)
    if lib == "convnet":
        step = ts.ConvnetStep(ts.build_convnet(name), images, labels)
        warm_up = ts.ConvnetStep(step.model, warm_images, warm_labels)
    else:
        import torch
        torch.set_num_threads(2)
        step = ts.TorchStep(torch, torch.load(twin_path, weights_only=False), images, labels)
        warm_up = ts.TorchStep(torch, step.model, warm_images, warm_labels)
    warm_up.optimizer = step.optimizer                 # the same optimizer state goes on
    gc.collect()
    before_warm_up = _status_mb("VmRSS")
    warm_up()
    gc.collect()
    base, base_maxrss = _status_mb("VmRSS"), _maxrss_mb()
    first_use = None if base is None else base - before_warm_up
    reset = base is not None and _reset_peak()
    losses = [step() for _ in range(steps)]
    peak = _status_mb("VmHWM")
    if base is None or peak is None:      # no /proc: ru_maxrss before and after the steps
        base, peak = base_maxrss, _maxrss_mb()
    return {"lib": lib, "model": name, "steps": steps, "first_use_mb": first_use,
            "base_mb": base, "peak_mb": peak,
            "step_mb": peak - base, "peak_reset": reset,
            "maxrss_mb": _maxrss_mb(), "first_loss": losses[0]}


def measure(name: str, lib: str, steps: int, batch: int = 128, twin_path: str | None = None,
            timeout: float = 300, backend: str | None = None) -> dict:
    """Run one child process (convnet on ``backend`` when given) and return its JSON
    result."""
    cmd = [sys.executable, os.path.join(HERE, "memory.py"), "--child", lib, "--models", name,
           "--steps", str(steps), "--batch", str(batch)]
    if twin_path:
        cmd += ["--twin", twin_path]
    env = {**os.environ, **({"CONVNET_BACKEND": backend} if backend else {})}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {lib} {name} failed ({done.returncode}):\n"
                           f"{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def save_twin(torch, name: str, folder: str) -> str:
    """Save the torch twin of the convnet model of ``name`` (seed 0) into ``folder``."""
    import train_step as ts
    path = os.path.join(folder, f"{name}-twin.pt")
    torch.save(ts.build_twin(torch, ts.build_convnet(name), name), path)
    return path


def run(torch, names, steps: int, batch: int = 128, log=print, backend: str | None = None) -> dict:
    """{name: {'convnet': result, 'torch': result or None}}, one child process each (convnet
    on ``backend`` when given)."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="convnet-memory-") as folder:
        for name in names:
            cn = measure(name, "convnet", steps, batch, backend=backend)
            th = (measure(name, "torch", steps, batch, save_twin(torch, name, folder))
                  if torch is not None else None)
            if th is not None and abs(cn["first_loss"] - th["first_loss"]) > 1e-4:
                log(f"WARNING {name}: first-step losses differ in the memory children "
                    f"({cn['first_loss']:.6f} vs {th['first_loss']:.6f})")
            results[name] = {"convnet": cn, "torch": th}
    return results


def table_rows(results: dict) -> list:
    rows = []
    for name, res in results.items():
        cn, th = res["convnet"], res["torch"]
        rows.append([name, cn["first_use_mb"], cn["base_mb"], cn["peak_mb"], cn["step_mb"],
                     th and th["first_use_mb"], th and th["base_mb"], th and th["peak_mb"],
                     th and th["step_mb"], th and cn["step_mb"] / th["step_mb"]])
    return rows


NOTE = ("first use: RSS growth over a warm-up step on a batch of 2 (compiled code loaded); "
        "base: RSS after it; peak: VmHWM over the steps; step = peak - base (MiB)")
HEADERS = ["model", "cn first use", "cn base", "cn peak", "cn step", "th first use",
           "th base", "th peak", "th step", "cn/th step"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["lenet", "uwnet-cifar"],
                    choices=["lenet", "uwnet-cifar"])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--child", choices=["convnet", "torch"], help=argparse.SUPPRESS)
    ap.add_argument("--twin", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.models[0], args.steps, args.batch, args.twin)))
        return
    from _timing import import_torch
    torch = import_torch(2)
    print(f"machine: {machine_note()}; batch {args.batch}, {args.steps} steps; MB = MiB")
    print_table(HEADERS, table_rows(run(torch, args.models, args.steps, args.batch)), ".1f")
    print(NOTE)


if __name__ == "__main__":
    main()
