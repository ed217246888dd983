"""Each library, and each convnet backend, timed in its own process, in turns.

A process holds one OpenMP runtime whose settings are read once, when it loads: PyTorch's
threads and oneDNN's (in convnet) would share it, and the short spin that convnet sets for
itself (convnet/process_settings.py) would then also apply to PyTorch. So each side runs
in a worker process of its own, configured as its users run it (convnet with
``process_settings.apply()`` and ``CONVNET_BACKEND`` set; PyTorch with 2 threads and
nothing else), and the parent asks the workers for blocks of timed calls in turns
(:func:`paired_blocks`), as ``_timing.paired_times`` does within one process.

A target is built in every worker from the same seeds (``TARGETS``); ``setup`` returns what
the parent checks before timing (losses of the first two training steps, outputs'
checksums), so the workers are shown to compute the same thing.

Example (from the repository root):
    >>> import sys; sys.path.insert(0, "benchmarks")
    >>> from _workers import Worker, paired_blocks
    >>> workers = [Worker("convnet", "numpy"), Worker("torch")]     # doctest: +SKIP
    >>> checks = [w.setup("pool") for w in workers]                 # doctest: +SKIP
    >>> medians, ratios = paired_blocks(workers, repeats=6)         # doctest: +SKIP
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- targets (run in a worker)
def _conv_target(lib, torch, index):
    import conv
    shape = conv.SHAPES[index]
    x, w, b, g = conv.make_inputs(shape)
    stride, pad = shape[6], shape[7]
    impl = (conv.ConvnetImpl(x, w, b, g, stride, pad) if lib == "convnet"
            else conv.TorchImpl(torch, x, w, b, g, stride, pad))
    y, grads = impl.fwd_bwd()
    check = [float(_numpy(t).astype("float64").sum()) for t in (y, *grads)]

    def call():
        impl.reset()
        impl.fwd_bwd()
    return [call], check


def gemm_products(shape):
    """(a function running the three float32 GEMMs of an im2col conv fwd+bwd of ``shape``,
    their flop count)."""
    import numpy as np
    n, c, h, w, co, k, s, p = shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    m, kk = n * oh * ow, c * k * k
    rng = np.random.default_rng(0)
    cols = rng.standard_normal((m, kk), dtype=np.float32)
    wmat = rng.standard_normal((co, kk), dtype=np.float32)
    dy = rng.standard_normal((m, co), dtype=np.float32)

    def products():
        cols @ wmat.T
        dy.T @ cols
        dy @ wmat
    return products, 3 * 2 * m * kk * co


def _gemm_target(lib, torch, index):
    """convnet only: the conv and the three bare products its im2col form does."""
    import conv
    shape = conv.SHAPES[index]
    x, w, b, g = conv.make_inputs(shape)
    impl = conv.ConvnetImpl(x, w, b, g, shape[6], shape[7])
    products, flops = gemm_products(shape)

    def call():
        impl.reset()
        impl.fwd_bwd()
    return [call, products], flops


def _pool_target(lib, torch, shape):
    import numpy as np
    import pool
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape, dtype=np.float32)
    dy = rng.standard_normal(shape[:2] + (shape[2] // 2, shape[3] // 2), dtype=np.float32)
    if lib == "convnet":
        ours = pool.convnet.tensor(x, requires_grad=True)

        def call():
            ours.grad = None
            pool.convnet_pool(ours, "max", 2, 2, (0, 0)).backward(dy)
        call()
        grad = ours.grad
    else:
        tx, tdy = torch.tensor(x, requires_grad=True), torch.tensor(dy)

        def call():
            tx.grad = None
            pool.torch_pool(torch, tx, "max", 2, 2, (0, 0)).backward(tdy)
        call()
        grad = tx.grad
    return [call], float(_numpy(grad).astype("float64").sum())


def _step_target(lib, torch, name):
    import train_step
    images, labels = train_step.make_batch(name)
    model = train_step.build_convnet(name)
    step = (train_step.ConvnetStep(model, images, labels) if lib == "convnet" else
            train_step.TorchStep(torch, train_step.build_twin(torch, model, name), images, labels))
    return [step], [step(), step()]


def _unet_target(lib, torch):
    import unet_step
    images, masks = unet_step.make_batch()
    model = unet_step.build_convnet()
    step = (unet_step.Step("convnet", model, images, masks) if lib == "convnet" else
            unet_step.Step("torch", unet_step.build_twin(torch, model), images, masks, torch))
    return [step], [step(), step()]


def _inference_target(lib, torch, name, weights, shape):
    """Eval forward of model ``name`` holding the weights in the .npz file ``weights``:
    convnet's (slots: fused, unfused) or torchvision's (slot: eager, channels-last)."""
    import inference
    return inference.target(lib, torch, name, weights, shape)


TARGETS = {"conv": _conv_target, "gemm": _gemm_target, "pool": _pool_target,
           "step": _step_target, "unet": _unet_target, "inference": _inference_target}


def _numpy(value):
    data = getattr(value, "data", value)
    if hasattr(data, "detach"):
        data = data.detach().numpy()
    import numpy as np
    return np.asarray(data)


def _serve(connection, lib, backend):
    """A worker's loop: build targets, run blocks of timed calls, until told to stop."""
    sys.path.insert(0, HERE)
    from _timing import add_repo_to_path, import_torch
    torch = import_torch(2) if lib == "torch" else None
    add_repo_to_path()           # convnet's process settings; switched off in a torch worker
    calls = []
    while True:
        command, *args = connection.recv()
        try:
            if command == "stop":
                break
            if command == "setup":
                calls, check = TARGETS[args[0]](lib, torch, *args[1:])
                connection.send(("ok", check))
            elif command == "block":
                slot, warmup, count = args
                times = []
                for call in range(warmup + count):
                    started = time.perf_counter()
                    calls[slot]()
                    if call >= warmup:
                        times.append(time.perf_counter() - started)
                connection.send(("ok", times))
            elif command == "describe":
                connection.send(("ok", _describe(lib, torch)))
        except Exception as error:          # the parent raises it with the worker's name
            connection.send(("error", f"{type(error).__name__}: {error}"))


def _describe(lib, torch):
    if lib == "torch":
        return f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    from convnet.ops.onednn import library
    from convnet import process_settings
    facts = library.describe()
    backend = f"oneDNN {facts['version']}" if library.preferred() else "NumPy/numba"
    return f"convnet on {backend}; settings {process_settings.apply()}"


# ---------------------------------------------------------------- the parent's side
class Worker:
    """One worker process: ``lib`` 'convnet' (with ``backend`` 'numpy' or 'onednn') or
    'torch'."""

    def __init__(self, lib: str, backend: str | None = None):
        self.lib, self.backend = lib, backend
        self.name = f"{lib}-{backend}" if backend else lib
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, lib, backend), daemon=True)
        # the environment the worker starts with (read as it imports, before _serve runs)
        overrides = ({"CONVNET_BACKEND": backend} if lib == "convnet" else
                     {"CONVNET_OPENMP_SPIN": "0", "CONVNET_MALLOC_TUNING": "0",
                      "CONVNET_BLAS_THREAD_TIMEOUT": "0"})
        saved = {name: os.environ.get(name) for name in overrides}
        os.environ.update(overrides)
        try:
            self.process.start()
        finally:
            for name, value in saved.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value

    def _ask(self, *command):
        self.connection.send(command)
        status, value = self.connection.recv()
        if status != "ok":
            raise RuntimeError(f"worker {self.name}, {command[0]} {command[1:]}: {value}")
        return value

    def setup(self, target: str, *args):
        """Build ``target`` in this worker; returns its check value."""
        return self._ask("setup", target, *args)

    def block(self, slot: int, warmup: int, count: int) -> list[float]:
        return self._ask("block", slot, warmup, count)

    def describe(self) -> str:
        return self._ask("describe")

    def stop(self) -> None:
        if self.process.is_alive():
            self.connection.send(("stop",))
            self.process.join(timeout=30)


def paired_blocks(runs, repeats: int = 5, warmup: int = 1, block: int = 3, gap: float = 0.2):
    """([median seconds of each run], [run i / the last run, for every run but the last]) for
    ``runs``, a list of ``(worker, slot)`` pairs, timed in turns (``_timing.blocks_in_turns``):
    each block is ``warmup`` untimed calls and ``block`` timed ones in the worker."""
    from _timing import blocks_in_turns

    def run_block(i):
        worker, slot = runs[i]
        return worker.block(slot, warmup, block)
    return blocks_in_turns(run_block, len(runs), repeats, block, gap)
