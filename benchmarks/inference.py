"""Benchmark eval-mode inference of whole models: convnet (fused and unfused) vs PyTorch.

Run from the repository root:

    python benchmarks/inference.py            # 5 rounds per model
    python benchmarks/inference.py --quick    # smoke test: 2 rounds, one model

Each model is torchvision's definition in PyTorch and convnet.vision.models' in convnet,
holding the same weights (batch norms with non-trivial running statistics), run in eval mode
under ``no_grad`` on one float32 batch. convnet as installed fuses each convolution with its
batch norm, residual sum and activation into one oneDNN primitive
(:mod:`convnet.nn.fusion`); "unfused" runs the same layers one by one
(``fusion_disabled()``). PyTorch runs eagerly (its default; each layer on its own) with 2
threads, its tensors in channels-last memory as convnet's are. Timed in interleaved blocks
(``_timing.paired_times``); the outputs are checked against PyTorch's first. Ratios are
convnet / PyTorch (< 1: convnet faster).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import (  # noqa: E402
    REPO_ROOT, add_repo_to_path, geomean, import_torch, machine_note, paired_times, print_table,
)

add_repo_to_path()

MODELS = [("resnet18", (16, 3, 112, 112)), ("resnet50", (8, 3, 112, 112)),
          ("mobilenet_v2", (16, 3, 112, 112)), ("efficientnet_b0", (16, 3, 112, 112))]


def import_torchvision():
    """torchvision beside the CPU build of torch (tests/torchvision_oracle.py), or None."""
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
    try:
        from torchvision_oracle import import_torchvision as importer
        return importer()
    except BaseException as error:     # pytest's skip is a BaseException
        print(f"torchvision is not importable ({error}); skipping", file=sys.stderr)
        return None


def models(torch, torchvision, name):
    import convnet.vision.models as ours_models
    torch.manual_seed(0)
    theirs = torchvision.models.get_model(name).eval()
    for layer in theirs.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            torch.nn.init.uniform_(layer.running_var, 0.5, 1.5)
            torch.nn.init.normal_(layer.running_mean, 0, 0.1)
    ours = ours_models.get_model(name).eval()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs.to(memory_format=torch.channels_last)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per model")
    parser.add_argument("--quick", action="store_true", help="2 rounds, one model")
    args = parser.parse_args()
    torch = import_torch()
    torchvision = import_torchvision() if torch is not None else None
    if torchvision is None:
        return
    import convnet
    from convnet.nn.fusion import fusion_disabled
    repeats = 2 if args.quick else args.repeats
    rows, ratios = [], {"fused": [], "unfused": []}
    for name, shape in MODELS[:1] if args.quick else MODELS:
        ours, theirs = models(torch, torchvision, name)
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        xc = convnet.from_numpy(x)
        xt = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)

        def fused():
            with convnet.no_grad():
                return ours(xc).data

        def unfused():
            with convnet.no_grad(), fusion_disabled():
                return ours(xc).data

        def eager():
            with torch.no_grad():
                return theirs(xt).numpy()
        expected = eager()
        for result in (fused(), unfused()):
            np.testing.assert_allclose(result, expected, rtol=1e-4,
                                       atol=1e-4 * np.abs(expected).max())
        (ours_s, theirs_s), ratio = paired_times([fused, eager], repeats)
        (unfused_s, _), unfused_ratio = paired_times([unfused, eager], repeats)
        ratios["fused"].append(ratio)
        ratios["unfused"].append(unfused_ratio)
        rows.append([f"{name} {'x'.join(map(str, shape))}", ours_s * 1e3, unfused_s * 1e3,
                     theirs_s * 1e3, ratio, unfused_ratio])
    rows.append(["geomean", None, None, None, geomean(ratios["fused"]),
                 geomean(ratios["unfused"])])
    print(machine_note())
    print("eval forward ms; cn: convnet (fused, oneDNN where loaded); un: convnet unfused; "
          "th: PyTorch eager, channels-last")
    print_table(["model, batch", "cn", "un", "th", "cn/th", "un/th"], rows)


if __name__ == "__main__":
    main()
