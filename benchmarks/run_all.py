"""Every performance target of the project in one run: the table of measured ratios.

Run from the repository root:

    python benchmarks/run_all.py                 # median of 5 repeats (training: 10 steps)
    python benchmarks/run_all.py --quick         # 3 repeats, 6 training steps, 3 memory steps
    python benchmarks/run_all.py --repeats 9 --with-tests --with-epochs

Targets (issues 18 and 25), all measured in this run for each convnet backend (NumPy/numba,
and oneDNN where it is installed), each library and each backend in its own worker process
(benchmarks/_workers.py: one OpenMP runtime per process, each configured as its users run
it), the workers timed in turns (float32; torch on the CPU with 2 threads; NumPy's BLAS left
as it is). The thresholds are in THRESHOLDS:

1. conv forward+backward over the 7 shapes of benchmarks/conv.py (``conv2d`` then
   ``backward(g)``): geometric mean of convnet time / torch time <= 0.9, worst shape <= 1.1.
2. GEMM efficiency on the GEMM-heavy shapes 1, 3, 4, 5 (0-based indices into conv.SHAPES):
   convnet's fwd+bwd throughput, 2*MACs*3 flops / time, as a fraction of NumPy's float32
   matmul throughput on the same three GEMMs an im2col convolution does (forward
   cols(M,K) @ W^T(K,Co), weight gradient dY^T(Co,M) @ cols(M,K), input gradient
   dY(M,Co) @ W(Co,K), with M = N*OH*OW, K = Cin*k*k), the conv and the three bare
   products timed in turns in this run; the fraction is 1 / the median of their time
   ratios. Every shape must reach >= 0.70.
3. max pooling 2x2 stride 2 forward+backward on (64, 64, 32, 32) (NCHW for both): convnet
   time / torch time < 1.
4. one training step (zero_grad, forward, cross-entropy, backward, SGD momentum 0.9 step,
   loss.item()) of 'lenet' (1x28x28) and 'uwnet-cifar' (3x32x32), batch 128, 10 classes:
   convnet / torch <= 1.0 (benchmarks/train_step.py; torch twin with copied weights, the
   losses of the first two steps checked to agree); the U-Net of the segmentation issue at
   128x128, batch 8: <= 1.0 (benchmarks/unet_step.py).
5. peak memory of those training steps, each library in its own process: convnet step
   memory / torch step memory <= 1.2, step memory = peak RSS over the steps (VmHWM, reset
   just before them; ru_maxrss would carry this parent's peak into the children) minus the
   RSS after imports, model, optimizer, batch and one warm-up step on a batch of 2 that
   loads each library's compiled code (benchmarks/memory.py; that one-time first-use
   growth and the raw peaks are shown beside it).
6. whole epochs (timed with ``--with-epochs``, about 10 minutes; else listed with the
   command that measures them): a Fashion-MNIST epoch of fashion-cnn <= 1.0x PyTorch's and
   the wall time to 91% test accuracy no more than PyTorch's (benchmarks/train_fashion.py,
   5 epochs: the training times of the same number of epochs, and both accuracies after
   them), and an epoch of the notes' CIFAR net on 50,000 CIFAR-shaped images, loader and
   random crops included, batch 32, Adam: <= 1.0x (benchmarks/cifar_epoch.py).
7. the figure users see (timed with ``--cifar10-folders DATA``, about 6 minutes): ``convnet
   train --dataset folder:DATA --model uwnet-cifar --augment --epochs 15`` on the CIFAR-10 JPEG
   folders against the same recipe in PyTorch, whole runs: <= 1.0 (benchmarks/cifar10_folders.py).
8. numerical tests: ``python -m pytest -q`` (run only with --with-tests).

Every time is a median of repeats after a warm-up (4 calls a block for the convolutions:
see CONV_WARMUP), each block preceded by a short sleep (``settle``). Each section prints
its detail table; the last table lists target, measured value, threshold and whether it is
met, then the machine (CPUs, load average, versions, BLAS as reported by threadpoolctl
when importable).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _timing import (  # noqa: E402
    REPO_ROOT, add_repo_to_path, geomean, import_torch, machine_note, print_table, settle,
    shape_label,
)
from _workers import Worker, paired_blocks  # noqa: E402

add_repo_to_path()
import conv  # noqa: E402
import memory  # noqa: E402
import pool  # noqa: E402
import train_step  # noqa: E402
import unet_step  # noqa: E402

# issue 25's targets (issue 18's were 1.2, 1.6, 1.0, 1.0, 1.2 and 1.5); GEMM efficiency is
# issue 18's measure of the NumPy backend
THRESHOLDS = {"conv_geomean": 0.9, "conv_worst": 1.1, "gemm": 0.70, "pool": 1.0,
              "step": 1.0, "unet_step": 1.0, "memory": 1.2}

GEMM_SHAPES = (1, 3, 4, 5)
# untimed calls at the start of each block, both sides alike: after the block's pause the
# first few calls of a library that splits work between threads run at up to half speed
# (the idle second vCPU wakes slowly: a 1x1 convolution took 14, 14, 13, 14, then 8 ms),
# which a training loop, calling back to back, never sees
CONV_WARMUP = 4
POOL_SHAPE = (64, 64, 32, 32)
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def start_workers() -> tuple[dict, object]:
    """({backend: convnet worker}, torch worker): NumPy always, oneDNN where it loads."""
    from convnet.ops.onednn import library
    backends = ["numpy"] + (["onednn"] if library.lib() is not None else [])
    workers = {backend: Worker("convnet", backend) for backend in backends}
    torch_worker = Worker("torch")
    for worker in (*workers.values(), torch_worker):
        log(f"worker {worker.name}: {worker.describe()}")
    return workers, torch_worker


LOSS_TOLERANCE = 1e-4        # the first two training-step losses, as train_step.verify
CHECKSUM_TOLERANCE = 1e-3    # relative, on sums of float32 outputs and gradients


def _checks_agree(target: str, checks) -> bool:
    """Whether every convnet worker's check value matches the torch worker's (the last)."""
    reference = np.asarray(checks[-1], dtype=np.float64)
    if target in ("step", "unet"):
        return all(np.abs(np.asarray(c) - reference).max() <= LOSS_TOLERANCE
                   for c in checks[:-1])
    scale = CHECKSUM_TOLERANCE * max(1.0, float(np.abs(reference).max()))
    return all(np.allclose(np.asarray(c, dtype=np.float64), reference,
                           rtol=CHECKSUM_TOLERANCE, atol=scale) for c in checks[:-1])


def timed_in_turns(workers, torch_worker, target, *args, repeats, warmup, block=3):
    """{'ms': {side: median ms}, 'ratio': {backend: convnet/torch}} of ``target`` built in
    every worker (their check values must agree: the same computation everywhere)."""
    sides = [*workers.values(), torch_worker]
    checks = [worker.setup(target, *args) for worker in sides]
    if not _checks_agree(target, checks):
        raise SystemExit(f"{target} {args}: the workers disagree ({checks}); the timings "
                         "would not be of the same computation")
    medians, ratios = paired_blocks([(worker, 0) for worker in sides], repeats, warmup, block)
    names = [*workers, "torch"]
    return {"ms": {name: m * 1e3 for name, m in zip(names, medians)},
            "ratio": dict(zip(workers, ratios))}


def _columns(backends):
    return ([f"{b} ms" for b in backends] + ["torch ms"]
            + [f"{b}/torch" for b in backends])


def _cells(result, backends):
    return ([result["ms"][b] for b in backends] + [result["ms"]["torch"]]
            + [result["ratio"][b] for b in backends])


def conv_section(torch, workers, torch_worker, repeats):
    """{index: result of timed_in_turns} over every conv.SHAPES."""
    conv.verify(torch, True)
    results = {}
    for i, shape in enumerate(conv.SHAPES):
        settle()
        results[i] = timed_in_turns(workers, torch_worker, "conv", i, repeats=repeats,
                                    warmup=CONV_WARMUP)
        log(f"  conv {i}: {shape_label(shape)}")
    print_table(["conv fwd+bwd (N x Cin x H x W -> Cout)"] + _columns(workers),
                [[f"{i}: {shape_label(conv.SHAPES[i])}"] + _cells(r, workers)
                 for i, r in results.items()])
    return results


def gemm_section(worker, repeats):
    """{index: fraction of NumPy GEMM throughput reached by convnet fwd+bwd} on the NumPy
    backend: the conv and its three bare products timed in turns, fraction = 1 / median
    ratio."""
    rows, fractions = [], {}
    for i in GEMM_SHAPES:
        shape = conv.SHAPES[i]
        flops = worker.setup("gemm", i)
        settle()
        (t_conv, t_gemm), (ratio,) = paired_blocks([(worker, 0), (worker, 1)], max(repeats, 6),
                                                   warmup=CONV_WARMUP)
        fractions[i] = 1 / ratio
        rows.append([f"{i}: {shape_label(shape)}", flops / t_conv / 1e9, flops / t_gemm / 1e9,
                     fractions[i]])
    print_table(["GEMM-heavy shape (NumPy backend)", "convnet GFLOP/s", "numpy matmul GFLOP/s",
                 "fraction"], rows)
    return fractions


def pool_section(torch, workers, torch_worker, repeats):
    """timed_in_turns of max pool 2x2 s2 forward+backward on POOL_SHAPE."""
    pool.check(torch, np.random.default_rng(0))
    settle()
    result = timed_in_turns(workers, torch_worker, "pool", POOL_SHAPE, repeats=max(repeats, 9),
                            warmup=1)
    print_table(["max pool 2x2 s2 fwd+bwd"] + _columns(workers),
                [["x".join(map(str, POOL_SHAPE))] + _cells(result, workers)])
    return result


def step_section(workers, torch_worker, repeats):
    """{case: timed_in_turns} of the training steps (LeNet, CIFAR net, U-Net)."""
    results = {}
    for name in train_step.CASES:
        log(f"training step {name}, batch 128 ...")
        results[name] = timed_in_turns(workers, torch_worker, "step", name,
                                       repeats=3 * repeats, warmup=3, block=repeats)
    log("U-Net step, 128x128, batch 8 ...")
    results["unet"] = timed_in_turns(workers, torch_worker, "unet", repeats=3 * repeats,
                                     warmup=2, block=max(2, repeats // 2))
    labels = {"lenet": "lenet, batch 128", "uwnet-cifar": "uwnet-cifar, batch 128",
              "unet": "U-Net 3x128x128, batch 8"}
    print_table(["training step"] + _columns(workers),
                [[labels[name]] + _cells(r, workers) for name, r in results.items()])
    return results


def memory_section(torch, backends, steps):
    """{backend: memory.run result} plus the U-Net's step memory per side."""
    results = {}
    for backend in backends:
        log(f"memory ({backend}): one child process per model ...")
        first = not results                      # torch's children run once, beside the first
        results[backend] = memory.run(torch if first else None, list(train_step.CASES), steps,
                                      log=log, backend=backend)
        if not first:
            for name, result in results[backend].items():
                result["torch"] = results[backends[0]][name]["torch"]
        print(f"convnet backend: {backend}")
        print_table(memory.HEADERS, memory.table_rows(results[backend]), ".1f")
    print(f"({steps} steps; {memory.NOTE})\n")
    unet = {backend: unet_step.memory("convnet", backend) for backend in backends}
    unet["torch"] = unet_step.memory("torch")
    return results, unet


def _met(condition: bool) -> str:
    return "yes" if condition else "no"


def blas_note() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: threadpoolctl not importable"
    parts = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        path = info.get("filepath", "?")
        lib = os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))
        parts.append(f"{info.get('internal_api')} {info.get('version')} "
                     f"({info.get('num_threads')} threads, {info.get('architecture', '?')}, {lib})")
    return "BLAS: " + ("; ".join(parts) if parts else "none reported")


FASHION_EPOCHS = 5          # fashion-cnn passes 91% test accuracy in 4-5 epochs (90.3% after 3)


def run_script(script: str, *args: str, backend: str | None = None) -> dict | None:
    """Run a benchmark of this folder in its own process (with ``CONVNET_BACKEND=backend``
    when given); its --json result, or None."""
    import json
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.json")
        log(f"running {script} {' '.join(args)} ({backend or 'default'} backend) ...")
        env = {**os.environ, **({"CONVNET_BACKEND": backend} if backend else {})}
        done = subprocess.run([sys.executable, os.path.join(HERE, script), *args, "--json", path],
                              cwd=REPO_ROOT, capture_output=True, text=True, env=env)
        if done.returncode != 0 or not os.path.exists(path):
            log(f"{script} failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")
            return None
        with open(path) as f:
            return json.load(f)


def epoch_rows(timed: bool, backends) -> list[list[str]]:
    """Target rows of the whole epochs, a (measured, met) pair per backend: measured with
    ``--with-epochs`` (each script in its own process, once per backend), else the commands."""
    fashion_target = "fashion-cnn epoch, and time to 91% test accuracy: convnet/torch"
    cifar_target = "uwnet-cifar epoch, 50,000 CIFAR-shaped images, crops, Adam: convnet/torch"
    if not timed:
        return [[fashion_target, "<= 1.0", "not timed here (--with-epochs): python "
                 f"benchmarks/train_fashion.py --epochs {FASHION_EPOCHS}", "-"],
                [cifar_target, "<= 1.0", "not timed here (--with-epochs): python "
                 "benchmarks/cifar_epoch.py", "-"]]
    fashion_row, cifar_row = [fashion_target, "<= 1.0"], [cifar_target, "<= 1.0"]
    for backend in backends:
        fashion = run_script("train_fashion.py", "--epochs", str(FASHION_EPOCHS), backend=backend)
        if fashion is None:
            fashion_row += ["not measured (Fashion-MNIST missing?)", "-"]
        else:
            seconds, accuracy = fashion["train_seconds"], fashion["accuracy"]
            ratio = seconds["convnet"] / seconds["torch"]
            fashion_row += [f"{ratio:.2f} ({seconds['convnet'] / FASHION_EPOCHS:.1f} vs "
                            f"{seconds['torch'] / FASHION_EPOCHS:.1f} s an epoch; after "
                            f"{FASHION_EPOCHS}: {accuracy['convnet']:.1%} vs "
                            f"{accuracy['torch']:.1%})",
                            _met(ratio <= 1.0 and accuracy["convnet"] >= 0.91)]
        cifar = run_script("cifar_epoch.py", backend=backend)
        if cifar is None:
            cifar_row += ["not measured", "-"]
        else:
            seconds = cifar["seconds"]
            cifar_row += [f"{cifar['ratio']:.2f} ({min(seconds['convnet']):.1f} vs "
                          f"{min(seconds['torch']):.1f} s)", _met(cifar["ratio"] <= 1.0)]
    return [fashion_row, cifar_row]


CIFAR10_EPOCHS = 15


def end_to_end_row(folders: str | None, backends) -> list[str]:
    """The figure users see: ``convnet train`` on the CIFAR-10 JPEG folders for 15 epochs
    against the same recipe in PyTorch (benchmarks/cifar10_folders.py), with the default
    backend only (about 6 minutes), measured when ``--cifar10-folders`` names the folders."""
    from convnet.ops.onednn import library
    default = library.chosen_backend() if library.available() else "numpy"
    row = [f"convnet train, CIFAR-10 JPEG folders, uwnet-cifar --augment, {CIFAR10_EPOCHS} "
           "epochs: convnet/torch", "<= 1.0"]
    if not folders:
        measured = ("not timed here (--cifar10-folders DATA): python "
                    "benchmarks/cifar10_folders.py --data DATA", "-")
    else:
        result = run_script("cifar10_folders.py", "--data", folders, "--epochs",
                            str(CIFAR10_EPOCHS))
        if result is None:
            measured = ("not measured (the folders missing?)", "-")
        else:
            seconds, accuracy = result["seconds"], result["accuracy"]
            ratio = seconds["convnet"] / seconds["torch"]
            measured = (f"{ratio:.2f} ({seconds['convnet']:.0f} vs {seconds['torch']:.0f} s; "
                        f"test {accuracy['convnet']:.1%} vs {accuracy['torch']:.1%})",
                        _met(ratio <= 1.0))
    for backend in backends:
        row += list(measured) if backend == default else ["(default backend only)", "-"]
    return row


def run_tests() -> tuple[str, bool]:
    log(f"running {' '.join(TEST_COMMAND)} ...")
    done = subprocess.run(TEST_COMMAND, cwd=REPO_ROOT, capture_output=True, text=True)
    lines = [line for line in done.stdout.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit status {done.returncode}"), done.returncode == 0


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed repeats per measurement (default 5, --quick 3); training "
                         "steps are timed over twice as many steps")
    ap.add_argument("--quick", action="store_true",
                    help="3 repeats, 6 timed training steps, 3 steps per memory child")
    ap.add_argument("--with-tests", action="store_true", help="also run python -m pytest -q")
    ap.add_argument("--cifar10-folders", metavar="DATA",
                    help="also time convnet train on the CIFAR-10 JPEG folders in DATA against "
                         "PyTorch (about 6 minutes; benchmarks/cifar10_folders.py)")
    ap.add_argument("--with-epochs", action="store_true",
                    help="also time the whole epochs (about 10 minutes): train_fashion.py "
                         f"--epochs {FASHION_EPOCHS} and cifar_epoch.py, each in its own process")
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 3 if args.quick else 5
    if args.repeats < 1:
        ap.error("--repeats must be >= 1")
    args.memory_steps = 3 if args.quick else 5
    return args


def target_rows(conv_results, fractions, pool_result, steps, memory_results, unet_memory,
                backends) -> list[list[str]]:
    """The summary: one row per target, a 'measured' and a 'met' cell per backend."""
    t = THRESHOLDS
    rows = []

    def row(target, threshold, measure):
        cells = []
        for backend in backends:
            text, met = measure(backend)
            cells += [text, _met(met) if met is not None else "-"]
        rows.append([target, threshold] + cells)

    def conv_ratios(backend):
        return {i: r["ratio"][backend] for i, r in conv_results.items()}

    row("conv fwd+bwd, 7 shapes: geomean convnet/torch", f"<= {t['conv_geomean']}",
        lambda b: (f"{geomean(conv_ratios(b).values()):.2f}",
                   geomean(conv_ratios(b).values()) <= t["conv_geomean"]))

    def worst(backend):
        ratios = conv_ratios(backend)
        i = max(ratios, key=ratios.get)
        return f"{ratios[i]:.2f} (shape {i})", ratios[i] <= t["conv_worst"]
    row("conv fwd+bwd: worst shape convnet/torch", f"<= {t['conv_worst']}", worst)
    low = min(fractions, key=fractions.get)
    row(f"conv GEMM efficiency (NumPy backend), shapes {','.join(map(str, GEMM_SHAPES))}: "
        f"worst", f">= {t['gemm']:.0%}",
        lambda b: ((f"{fractions[low]:.0%} (shape {low}; geomean "
                    f"{geomean(fractions.values()):.0%})", fractions[low] >= t["gemm"])
                   if b == "numpy" else ("-", None)))
    row("max pool 2x2 s2 fwd+bwd (64,64,32,32): convnet/torch", f"< {t['pool']}",
        lambda b: (f"{pool_result['ratio'][b]:.2f}", pool_result["ratio"][b] < t["pool"]))
    for name, result in steps.items():
        limit = t["unet_step"] if name == "unet" else t["step"]
        label = "U-Net 128x128 b8" if name == "unet" else f"{name} b128"
        row(f"train step {label}: convnet/torch", f"<= {limit}",
            lambda b, r=result, limit=limit: (
                f"{r['ratio'][b]:.2f} ({r['ms'][b]:.1f} vs {r['ms']['torch']:.1f} ms)",
                r["ratio"][b] <= limit))
    for name in train_step.CASES:
        def step_memory(backend, name=name):
            cn, th = memory_results[backend][name]["convnet"], memory_results[backend][name]["torch"]
            q = cn["step_mb"] / th["step_mb"]
            return f"{q:.2f} ({cn['step_mb']:.0f}/{th['step_mb']:.0f} MiB)", q <= t["memory"]
        row(f"peak memory {name} b128: convnet/torch step memory", f"<= {t['memory']}",
            step_memory)

    def unet_step_memory(backend):
        cn, th = unet_memory[backend]["step_mb"], unet_memory["torch"]["step_mb"]
        if not (cn and th):
            return "not measured", None
        return f"{cn / th:.2f} ({cn:.0f}/{th:.0f} MiB)", cn / th <= t["memory"]
    row("peak memory U-Net b8: convnet/torch step memory", f"<= {t['memory']}", unet_step_memory)
    return rows


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    torch = import_torch(2)
    if torch is None:
        raise SystemExit("run_all.py compares with PyTorch; install torch (CPU) first")
    machine_before = machine_note()
    print(f"float32; median of {args.repeats} repeats after a warm-up; each library and each "
          f"convnet backend in its own process, timed in turns; torch {torch.get_num_threads()} "
          f"threads; machine at the start: {machine_before}\n", flush=True)
    workers, torch_worker = start_workers()
    backends = list(workers)
    try:
        conv_results = conv_section(torch, workers, torch_worker, args.repeats)
        print()
        fractions = gemm_section(workers["numpy"], args.repeats)
        print()
        pool_result = pool_section(torch, workers, torch_worker, args.repeats)
        print()
        steps = step_section(workers, torch_worker, args.repeats)
        print()
    finally:
        for worker in (*workers.values(), torch_worker):
            worker.stop()
    memory_results, unet_memory = memory_section(torch, backends, args.memory_steps)

    rows = target_rows(conv_results, fractions, pool_result, steps, memory_results,
                       unet_memory, backends)
    extra = epoch_rows(args.with_epochs, backends)
    extra.append(end_to_end_row(args.cifar10_folders, backends))
    if args.with_tests:
        summary, ok = run_tests()
        extra.append(["numerical tests: python -m pytest -q", "all pass", summary,
                      "yes" if ok else "no"])
    else:
        extra.append(["numerical tests", "all pass",
                      "not run (--with-tests, or: python -m pytest -q)", "-"])
    headers = ["target", "threshold"]
    for backend in backends:
        headers += [f"{backend} backend", "met"]
    print_table(headers, rows + [row + [""] * (len(headers) - len(row)) for row in extra])
    print(f"\nmachine: start {machine_before}; end {machine_note()}")
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"python {sys.version.split()[0]}; {blas_note()}")
    print(f"ratios are convnet / torch time (< 1: convnet faster); total "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return rows


if __name__ == "__main__":
    main()
