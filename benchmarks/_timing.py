"""Shared helpers for the benchmark scripts in this folder.

Not a benchmark itself. Provides:

* ``add_repo_to_path()`` -- make ``import convnet`` find the package in this repository
  when it is not installed.
* ``median_time(fn, repeats, warmup=1, setup=None)`` -- median wall time in seconds of
  ``fn()`` over ``repeats`` runs after ``warmup`` untimed runs, using ``time.perf_counter``.
  ``setup()`` (if given) runs before every call, outside the timed region.
* ``paired_times(fns, repeats, warmup=1, setups=None, block=3, gap=0.2)`` -- the
  libraries timed in turns, in blocks of back-to-back calls after a short sleep (ABBA
  order): median seconds of each and
  the median over rounds of the block ratio fns[0] / fns[1]. On a shared machine whose
  speed drifts over seconds, the ratio of two long blocks timed one after the other moves
  by up to 2x between runs; interleaved blocks see the same drift.
* ``geomean(values)`` -- geometric mean, ignoring ``None``/NaN/non-positive entries.
* ``import_torch(num_threads=2)`` -- the ``torch`` module with its thread count set, or
  ``None`` (with a note on stderr) when torch cannot be imported.
* ``settle(seconds=0.2)`` -- short sleep before a timed block, so idle worker threads
  left spinning by the previous library (OpenBLAS, OpenMP) stop competing for cores.
* ``machine_note()`` -- one line with the CPU count and load average, to print with results
  (timings on a loaded machine are noisy).
* ``format_table(headers, rows)`` / ``print_table(headers, rows)`` -- plain-text table;
  ``None``/NaN cells print as ``-``, floats with ``floatfmt`` (default 2 decimals).
* ``smoke_test_arguments(doc, default_repeats)`` -- the ``--repeats``/``--quick`` command
  line of the per-operation benchmarks: ``(rounds, quick)``.
* ``both_backends_table(cases, repeats, first_column, note)`` -- check, time and print
  ``(label, ours, theirs, close)`` cases: convnet as installed and with
  ``CONVNET_BACKEND=numpy`` against PyTorch, one row each and the geometric means.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from typing import Callable, Iterable, Optional, Sequence

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def add_repo_to_path() -> str:
    """Put the repository root first on ``sys.path`` (idempotent) and apply the process
    settings that ``convnet train`` and the Trainer apply (``import convnet`` alone does
    not); return the root."""
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    from convnet import process_settings
    process_settings.apply()
    return REPO_ROOT


def median_time(
    fn: Callable[[], object],
    repeats: int = 5,
    warmup: int = 1,
    setup: Optional[Callable[[], object]] = None,
) -> float:
    """Median seconds of ``fn()`` over ``repeats`` timed runs after ``warmup`` runs."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        if setup is not None:
            setup()
        fn()
    times = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def blocks_in_turns(
    run_block: Callable[[int], list[float]],
    sides: int,
    repeats: int = 5,
    block: int = 3,
    gap: float = 0.2,
) -> tuple[list[float], list[float]]:
    """([median seconds of each side], [median over rounds of side i's block median / the
    last side's, for every side but the last]).

    ``run_block(i)`` times one block of side ``i`` and returns its timed calls' seconds. The
    sides are timed in turns, in rounds of blocks (ABBA order: forward, then reversed), each
    block after a ``gap`` of sleep (the other side's idle threads stop spinning: PyTorch's
    OpenMP threads spin for milliseconds after its last call). There are
    ``max(3, ceil(repeats / block))`` rounds.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rounds = max(3, -(-repeats // block))
    times: list[list[float]] = [[] for _ in range(sides)]
    block_medians: list[list[float]] = [[] for _ in range(sides)]
    for round_ in range(rounds):
        order = range(sides) if round_ % 2 == 0 else reversed(range(sides))
        for i in order:
            time.sleep(gap)
            block_times = run_block(i)
            times[i] += block_times
            block_medians[i].append(statistics.median(block_times))
    ratios = [statistics.median(a / b for a, b in zip(block_medians[i], block_medians[-1]))
              for i in range(sides - 1)]
    return [statistics.median(t) for t in times], ratios


def paired_times(
    fns: Sequence[Callable[[], object]],
    repeats: int = 5,
    warmup: int = 1,
    setups: Optional[Sequence[Optional[Callable[[], object]]]] = None,
    block: int = 3,
    gap: float = 0.2,
) -> tuple[list[float], float]:
    """([median seconds of each fn], median over rounds of the ratio of the two block
    medians, fns[0] / fns[1]), both in this process (:func:`blocks_in_turns`): each block
    is ``warmup`` untimed calls and ``block`` timed calls back to back, as a training loop
    runs them, each call after its ``setups`` function."""
    setups = list(setups) if setups is not None else [None] * len(fns)

    def run_block(i: int) -> list[float]:
        timed = []
        for call in range(warmup + block):
            if setups[i] is not None:
                setups[i]()
            t0 = time.perf_counter()
            fns[i]()
            if call >= warmup:
                timed.append(time.perf_counter() - t0)
        return timed
    medians, (ratio,) = blocks_in_turns(run_block, 2, repeats, block, gap)
    return medians, ratio


def settle(seconds: float = 0.2) -> None:
    """Sleep briefly so worker threads of the previously timed library go idle."""
    time.sleep(seconds)


def machine_note() -> str:
    """CPU count and 1/5/15-minute load average (where the OS provides it)."""
    note = f"{os.cpu_count()} CPUs"
    try:
        la = os.getloadavg()
        note += f", load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
    except (AttributeError, OSError):
        pass
    return note


def geomean(values: Iterable[Optional[float]]) -> Optional[float]:
    """Geometric mean of the positive finite values; ``None`` if there are none."""
    vals = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def import_torch(num_threads: int = 2):
    """Return ``torch`` with ``torch.set_num_threads(num_threads)``, or ``None`` if absent."""
    try:
        import torch  # noqa: WPS433 (optional dependency)
    except Exception as exc:  # ImportError, or a broken install
        print(f"note: torch not available ({exc.__class__.__name__}: {exc}); "
              "skipping the torch column", file=sys.stderr)
        return None
    torch.set_num_threads(num_threads)
    return torch


def _cell(value, floatfmt: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return format(value, floatfmt)
    return str(value)


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    floatfmt: str = ".2f",
) -> str:
    """Plain-text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v, floatfmt) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r):
        parts = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        return "  ".join(parts).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def print_table(headers, rows, floatfmt: str = ".2f") -> None:
    print(format_table(headers, rows, floatfmt))


def shape_label(shape) -> str:
    """``(N, Cin, H, W, Cout, k, stride, pad)`` as ``NxCinxHxW->Cout kK sS pP``."""
    n, c, h, wd, co, k, s, p = shape
    return f"{n}x{c}x{h}x{wd}->{co} k{k} s{s} p{p}"


def time_impl(impl, repeats: int) -> tuple[float, float]:
    """(forward ms, forward+backward ms) of an object with forward, fwd_bwd and reset."""
    settle()
    fwd = median_time(impl.forward, repeats, warmup=1, setup=impl.reset)
    fb = median_time(impl.fwd_bwd, repeats, warmup=1, setup=impl.reset)
    return fwd * 1e3, fb * 1e3


def with_backend(choice, call):
    """``call`` run with CONVNET_BACKEND=choice (None: as the environment has it)."""
    if choice is None:
        return call

    def wrapped():
        before = os.environ.get("CONVNET_BACKEND")
        os.environ["CONVNET_BACKEND"] = choice
        try:
            return call()
        finally:
            if before is None:
                del os.environ["CONVNET_BACKEND"]
            else:
                os.environ["CONVNET_BACKEND"] = before
    return wrapped


def both_backends_vs_torch(ours: Callable[[], object], theirs: Callable[[], object],
                           repeats: int, **blocks):
    """``(convnet as installed, convnet with CONVNET_BACKEND=numpy, torch, ratio, numpy
    ratio)``: seconds and convnet/torch ratios, each pair timed by :func:`paired_times`
    (``blocks``: its ``warmup`` and ``block``)."""
    (default, other), ratio = paired_times([ours, theirs], repeats, **blocks)
    (numpy_only, _), numpy_ratio = paired_times([with_backend("numpy", ours), theirs], repeats,
                                                **blocks)
    return default, numpy_only, other, ratio, numpy_ratio


def smoke_test_arguments(doc: str, default_repeats: int = 5) -> tuple[int, bool]:
    """``(rounds, quick)`` from ``--repeats N`` and ``--quick`` (2 rounds, first 2 cases)."""
    import argparse
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=default_repeats,
                        help="interleaved rounds per case")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 2 cases (smoke test)")
    args = parser.parse_args()
    return (2 if args.quick else args.repeats), args.quick


def both_backends_table(cases, repeats: int, first_column: str, note: str,
                        floatfmt: str = ".2f") -> None:
    """For each ``(label, ours, theirs, close)``: ``close(a, b)`` asserts each result of
    ``ours()`` against ``theirs()``'s, then :func:`both_backends_vs_torch` times them; prints
    one row per case (ms and ratios) and the geometric means, after ``note``."""
    rows, ratios = [], ([], [])
    for label, ours, theirs, close in cases:
        for a, b in zip(ours(), theirs()):
            close(a, b)
        default, numpy_only, other, ratio, numpy_ratio = both_backends_vs_torch(ours, theirs,
                                                                                repeats)
        ratios[0].append(ratio)
        ratios[1].append(numpy_ratio)
        rows.append([label, default * 1e3, numpy_only * 1e3, other * 1e3, ratio, numpy_ratio])
    rows.append(["geomean", None, None, None, geomean(ratios[0]), geomean(ratios[1])])
    print(machine_note())
    print(note + "; cn: convnet as installed (oneDNN where loaded); np: CONVNET_BACKEND=numpy; "
          "th: PyTorch")
    print_table([first_column, "cn", "np", "th", "cn/th", "np/th"], rows, floatfmt)
