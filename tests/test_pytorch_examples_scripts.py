"""The public pytorch/examples scripts ``mnist/main.py``, ``vae/main.py`` and
``dcgan/main.py``, read from a checkout named by ``$PYTORCH_EXAMPLES``, run on torch and,
ported by ``convnet port``, on convnet, on the same MNIST-layout files (the digits fixture of
test_torch_examples.py): they learn alike and convnet's files read back in torch.

Without the checkout these skip; tests/test_torch_examples.py runs scripts of the same three
kinds, written here, in every run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_torch_examples import last_number, mnist_root, run_ported  # noqa: F401 (mnist_root: a fixture)
from torchvision_oracle import import_torchvision

torchvision = import_torchvision()
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402


def example_script(path: str) -> Path:
    root = os.environ.get("PYTORCH_EXAMPLES")
    if not root or not (Path(root) / path).is_file():
        pytest.skip("set PYTORCH_EXAMPLES to a work tree of the public pytorch/examples "
                    "repository to run its mnist, vae and dcgan scripts")
    return Path(root) / path


def run_both(path: str, workspace: Path, *args: str) -> dict:
    """The public example at ``path`` through :func:`run_ported` (the data is ``../data``)."""
    return run_ported(example_script(path), workspace, *args, timeout=900)


@pytest.fixture
def workspace(mnist_root, tmp_path):  # noqa: F811  (the imported fixture)
    (tmp_path / "data").symlink_to(mnist_root, target_is_directory=True)
    return tmp_path


def test_mnist_main(workspace):
    out = run_both("mnist/main.py", workspace, "--epochs", "3", "--log-interval", "50",
                   "--save-model")
    accuracy = {who: int(re.findall(r"Accuracy: (\d+)/", text)[-1]) / 297
                for who, text in out.items()}
    assert min(accuracy.values()) >= 0.85 and abs(accuracy["torch"] - accuracy["convnet"]) <= 0.05
    state = load_file(workspace / "run_convnet" / "mnist_cnn.pt")
    assert set(state) == {f"{layer}.{kind}" for layer in ("conv1", "conv2", "fc1", "fc2")
                          for kind in ("weight", "bias")}


def test_vae_main(workspace):
    out = run_both("vae/main.py", workspace, "--epochs", "2")
    loss = {who: last_number(text, "Test set loss:") for who, text in out.items()}
    assert abs(loss["convnet"] - loss["torch"]) <= 0.05 * loss["torch"], loss
    for name in ("reconstruction_2.png", "sample_2.png"):
        assert (Image.open(workspace / "run_convnet" / "results" / name).size
                == Image.open(workspace / "run_torch" / "results" / name).size)


def test_dcgan_main(workspace):
    """One epoch of the example's 64x64 DCGAN (24 steps): measured mean Loss_D / Loss_G /
    D(x) 0.353 / 6.59 / 0.960 on torch, 0.327 / 6.84 / 0.963 on convnet (seed 1 each)."""
    out = run_both("dcgan/main.py", workspace, "--dataset", "mnist", "--dataroot", "../data",
                   "--niter", "1", "--manualSeed", "1", "--outf", "out")
    means = {}
    for who, text in out.items():
        rows = re.findall(r"Loss_D: (\S+) Loss_G: (\S+) D\(x\): (\S+)", text)
        means[who] = np.asarray(rows, dtype=float).mean(axis=0)
    assert len(rows) == 24 and np.all(np.isfinite(means["convnet"])), means
    assert abs(means["convnet"][1] - means["torch"][1]) <= 1.0, means
    generator = load_file(workspace / "run_convnet" / "out" / "netG_epoch_0.pth")
    their_generator = torch.load(workspace / "run_torch" / "out" / "netG_epoch_0.pth")
    assert {k: v.shape for k, v in generator.items()} == {
        k: v.shape for k, v in their_generator.items()}
    for name in ("real_samples.png", "fake_samples_epoch_000.png"):
        assert (Image.open(workspace / "run_convnet" / "out" / name).size
                == Image.open(workspace / "run_torch" / "out" / name).size)
