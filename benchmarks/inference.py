"""Benchmark eval-mode inference of whole models: convnet (fused and unfused) vs PyTorch.

Run from the repository root:

    python benchmarks/inference.py            # 5 rounds per model
    python benchmarks/inference.py --quick    # smoke test: 2 rounds, one model

Each model is torchvision's definition in PyTorch and convnet.vision.models' in convnet,
holding the same weights (written once to a file by this process; batch norms with
non-trivial running statistics), run in eval mode under ``no_grad`` on one float32 batch.
convnet as installed fuses each convolution with its batch norm, residual sum and
activation into one oneDNN primitive (:mod:`convnet.nn.fusion`); "unfused" runs the same
layers one by one (``fusion_disabled()``). PyTorch runs eagerly (its default: each layer on
its own) with 2 threads, its tensors in channels-last memory as convnet's are. Each library
runs in its own worker process (benchmarks/_workers.py: one OpenMP runtime each), timed in
turns; the outputs' checksums are compared first. Ratios are convnet / PyTorch (< 1:
convnet faster).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import REPO_ROOT, add_repo_to_path, geomean, machine_note, print_table  # noqa: E402

MODELS = [("resnet18", (16, 3, 112, 112)), ("resnet50", (8, 3, 112, 112)),
          ("mobilenet_v2", (16, 3, 112, 112)), ("efficientnet_b0", (16, 3, 112, 112))]


def batch(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def write_weights(name: str, path: str) -> None:
    """convnet's model ``name`` with seeded weights and running statistics, saved as .npz."""
    add_repo_to_path()
    import convnet
    import convnet.vision.models as models
    convnet.manual_seed(0)
    model = models.get_model(name)
    state = {key: np.array(getattr(value, "data", value))
             for key, value in model.state_dict().items()}
    rng = np.random.default_rng(1)
    for key in state:
        if key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 1.5, state[key].shape).astype(np.float32)
        elif key.endswith("running_mean"):
            state[key] = rng.normal(0, 0.1, state[key].shape).astype(np.float32)
    np.savez(path, **state)


def target(lib, torch, name, weights, shape):
    """What a worker times (benchmarks/_workers.py): ``([calls], checksum)``."""
    state = dict(np.load(weights))
    x = batch(shape)
    if lib == "torch":
        sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
        from torchvision_oracle import import_torchvision
        model = import_torchvision().models.get_model(name).eval()
        model.load_state_dict({key: torch.from_numpy(value) for key, value in state.items()})
        model = model.to(memory_format=torch.channels_last)
        xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)

        def eager():
            with torch.no_grad():
                return model(xt).numpy()
        return [eager], float(eager().astype(np.float64).sum())
    import convnet
    import convnet.vision.models as models
    from convnet.nn.fusion import fusion_disabled
    model = models.get_model(name).eval()
    model.load_state_dict(state)
    xc = convnet.from_numpy(x)

    def fused():
        with convnet.no_grad():
            return model(xc).data

    def unfused():
        with convnet.no_grad(), fusion_disabled():
            return model(xc).data
    return [fused, unfused], [float(f().astype(np.float64).sum()) for f in (fused, unfused)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="rounds of blocks per model")
    parser.add_argument("--quick", action="store_true", help="2 rounds, one model")
    args = parser.parse_args()
    from _workers import Worker, paired_blocks
    repeats = 2 if args.quick else args.repeats
    workers = [Worker("convnet", "onednn"), Worker("torch")]
    rows, ratios = [], {"fused": [], "unfused": []}
    try:
        with tempfile.TemporaryDirectory() as folder:
            for name, shape in MODELS[:1] if args.quick else MODELS:
                path = os.path.join(folder, f"{name}.npz")
                write_weights(name, path)
                (fused_sum, unfused_sum), torch_sum = [w.setup("inference", name, path, shape)
                                                       for w in workers]
                for value in (fused_sum, unfused_sum):     # same outputs, to float rounding
                    assert abs(value - torch_sum) <= 1e-3 * max(1.0, abs(torch_sum)), \
                        (name, value, torch_sum)
                medians, (ratio, unfused_ratio) = paired_blocks(
                    [(workers[0], 0), (workers[0], 1), (workers[1], 0)], repeats)
                ratios["fused"].append(ratio)
                ratios["unfused"].append(unfused_ratio)
                rows.append([f"{name} {'x'.join(map(str, shape))}", *(m * 1e3 for m in medians),
                             ratio, unfused_ratio])
            description = [w.describe() for w in workers]
    finally:
        for worker in workers:
            worker.stop()
    rows.append(["geomean", None, None, None, geomean(ratios["fused"]),
                 geomean(ratios["unfused"])])
    print(machine_note())
    print("; ".join(description))
    print("eval forward ms; cn: convnet (fused where oneDNN loads); un: convnet unfused; "
          "th: PyTorch eager, channels-last; each in its own process")
    print_table(["model, batch", "cn", "un", "th", "cn/th", "un/th"], rows)


if __name__ == "__main__":
    main()
