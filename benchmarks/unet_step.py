"""One U-Net training step at 128x128 (batch 8), convnet vs the same model in PyTorch:
time and peak memory.

Run from the repository root:

    python benchmarks/unet_step.py              # time (paired blocks) and memory
    python benchmarks/unet_step.py --quick      # 3 timed steps per block

The model is ``convnet.nn.UNet(3, 4, depth=3, width=16)`` (batch norm, the notes'
'repeat' up-convolution: nearest x2, then a 2x2 'same' convolution, which pads one row
and column after). Its torch twin below is the same network written with torch.nn, holding
a copy of the convnet initial weights. A step is ``zero_grad; loss = cross_entropy(model(x),
masks); backward; SGD(lr 0.01, momentum 0.9).step; loss.item()`` on one fixed batch of
standard normal images and random masks, float32. The first two steps of both must agree
to 1e-4 before anything is timed. Time: ``paired_times`` of _timing.py (blocks in turns,
ABBA). Memory: each library in a child process of its own; the step memory is the peak RSS
during its first 3 steps minus the RSS before them, with the model, the batch and the
library loaded (VmHWM reset through /proc/self/clear_refs, as memory.py does): what
training needs beyond the model and data, whether a library keeps it or gives it back.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _timing import add_repo_to_path, import_torch, machine_note, paired_times, print_table  # noqa: E402
from memory import _reset_peak, _status_mb  # noqa: E402

add_repo_to_path()

BATCH, SIZE, CHANNELS, CLASSES = 8, 128, 3, 4
DEPTH, WIDTH = 3, 16
LR, MOMENTUM = 0.01, 0.9


def make_batch(batch: int = BATCH, size: int = SIZE, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((batch, CHANNELS, size, size), dtype=np.float32)
    masks = rng.integers(0, CLASSES, (batch, size, size)).astype(np.int64)
    return images, masks


def build_convnet(seed: int = 0):
    from convnet.nn import UNet
    return UNet(CHANNELS, CLASSES, depth=DEPTH, width=WIDTH, rng=seed)


def build_twin(torch, model):
    """The torch.nn twin of ``model`` (a convnet UNet with 'repeat' up-convolutions)."""
    nn, F = torch.nn, torch.nn.functional

    def double(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                             nn.ReLU(), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU())

    class PadConv(nn.Module):           # the notes' 'same' 2x2: pad after, then valid
        def __init__(self, cin, cout):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(cout, cin, 2, 2))
            self.bias = nn.Parameter(torch.zeros(cout))

        def forward(self, x):
            return F.conv2d(F.pad(x, (0, 1, 0, 1)), self.weight, self.bias)

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            widths = [WIDTH * 2 ** level for level in range(DEPTH + 1)]
            self.encoder = nn.ModuleList([double(CHANNELS if l == 0 else widths[l - 1], widths[l])
                                          for l in range(DEPTH + 1)])
            self.ups = nn.ModuleList([nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                                    PadConv(widths[l], widths[l] // 2))
                                      for l in range(DEPTH, 0, -1)])
            self.decoder = nn.ModuleList([double(widths[l], widths[l - 1])
                                          for l in range(DEPTH, 0, -1)])
            self.head = nn.Conv2d(WIDTH, CLASSES, 1)

        def forward(self, x):
            skips = []
            for level, block in enumerate(self.encoder):
                x = block(x)
                if level < DEPTH:
                    skips.append(x)
                    x = F.max_pool2d(x, 2)
            for up, block, skip in zip(self.ups, self.decoder, reversed(skips)):
                x = block(torch.cat([skip, up(x)], dim=1))
            return self.head(x)

    twin = Twin()
    twin.load_state_dict({name: torch.tensor(np.array(value))
                          for name, value in model.state_dict().items()})
    return twin


class Step:
    """One training step of either library (``lib`` 'convnet' or 'torch')."""

    def __init__(self, lib, model, images, masks, torch=None):
        self.lib, self.model = lib, model
        if lib == "convnet":
            import convnet
            import convnet.functional as F
            self.loss_fn, self.x, self.y = F.cross_entropy, convnet.Tensor(images), masks
            self.optimizer = convnet.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        else:
            self.loss_fn = torch.nn.functional.cross_entropy
            self.x, self.y = torch.from_numpy(images.copy()), torch.from_numpy(masks.copy())
            self.optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def make_steps(torch, seed: int = 0):
    images, masks = make_batch(seed=seed)
    model = build_convnet(seed)
    twin = build_twin(torch, model)
    return Step("convnet", model, images, masks), Step("torch", twin, images, masks, torch)


def child(lib: str, steps: int = 3) -> dict:
    """Peak memory of ``steps`` training steps in this (fresh) process."""
    torch = import_torch(2) if lib == "torch" else None
    convnet_step, torch_step = make_steps(torch) if torch else (None, None)
    step = torch_step if torch else Step("convnet", build_convnet(), *make_batch())
    base = _status_mb("VmRSS")                      # model, batch and library loaded
    reset = _reset_peak()
    for _ in range(steps):                          # the first allocates buffers and state
        step()
    peak = _status_mb("VmHWM")
    return {"lib": lib, "base_mb": base, "peak_mb": peak,
            "step_mb": None if base is None or peak is None else peak - base, "reset": reset}


def memory(lib: str, backend: str | None = None) -> dict:
    """Peak memory of a few steps of ``lib`` in a child process (convnet on ``backend``)."""
    env = {**os.environ, **({"CONVNET_BACKEND": backend} if backend else {})}
    done = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", lib],
                          capture_output=True, text=True, timeout=600, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {lib} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(torch, repeats: int, log=print) -> dict:
    """{'convnet': s, 'torch': s, 'ratio': paired median ratio, 'memory': {...}}."""
    convnet_step, torch_step = make_steps(torch)
    ours, theirs = [convnet_step(), convnet_step()], [torch_step(), torch_step()]
    difference = max(abs(a - b) for a, b in zip(ours, theirs))
    if not difference <= 1e-4:
        raise SystemExit(f"convnet and torch disagree: losses {ours} vs {theirs}")
    log(f"verified: first-step loss {ours[0]:.6f}, convnet and torch agree to {difference:.1e} "
        f"over 2 SGD steps")
    (t_convnet, t_torch), ratio = paired_times([convnet_step, torch_step], 3 * repeats,
                                               warmup=2, block=repeats)
    return {"convnet": t_convnet, "torch": t_torch, "ratio": ratio,
            "memory": {lib: memory(lib) for lib in ("convnet", "torch")}}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="3 timed steps per block")
    parser.add_argument("--child", choices=("convnet", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    torch = import_torch(2)
    if torch is None:
        raise SystemExit("PyTorch is needed for the comparison: pip install torch==2.13.0")
    print(f"U-Net depth {DEPTH} width {WIDTH}, {CHANNELS}x{SIZE}x{SIZE}, batch {BATCH}, "
          f"{CLASSES} classes; numpy {np.__version__}, torch {torch.__version__} (2 threads)")
    print(f"machine: {machine_note()}")
    result = run(torch, 3 if args.quick else args.repeats)
    mem = result["memory"]
    ratio_mb = (mem["convnet"]["step_mb"] / mem["torch"]["step_mb"]
                if mem["convnet"]["step_mb"] and mem["torch"]["step_mb"] else None)
    print_table(["", "convnet", "torch", "convnet/torch"],
                [["step ms", result["convnet"] * 1e3, result["torch"] * 1e3, result["ratio"]],
                 ["step memory MB", mem["convnet"]["step_mb"], mem["torch"]["step_mb"], ratio_mb]])


if __name__ == "__main__":
    main()
