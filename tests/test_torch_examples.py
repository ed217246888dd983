"""Whole training scripts written for PyTorch and torchvision run on convnet once
``convnet port`` has pointed their imports at convnet, and learn as they do on torch.

Each script of tests/torch_scripts/ (a CNN classifier with Adadelta and StepLR, a VAE, a
DCGAN: the kinds of the public pytorch/examples mnist, vae and dcgan scripts) runs twice on
the same files in torchvision's MNIST layout (the 8x8 digits drawn at 20x20 in a 28x28 frame,
1500 for training, 297 for testing): as written on torch + torchvision, and ported to convnet.
Oracles: the same final accuracy / loss within the seed-to-seed spread measured for each
script, identical training steps from identical weights (float64), and the files each writes
(state dicts, image grids) read back by torch and Pillow. The public scripts themselves run
when ``$PYTORCH_EXAMPLES`` names a checkout (tests/test_pytorch_examples_scripts.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_writers import write_idx
from torchvision_oracle import import_torchvision

import convnet
from convnet.porting import port_source

torchvision = import_torchvision()
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402  (convnet.save writes safetensors)

SCRIPTS = Path(__file__).parent / "torch_scripts"
RUNNER = Path(__file__).parent / "run_with_torchvision.py"


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory) -> Path:
    """A folder holding MNIST/raw/{train,t10k}-{images,labels} (uncompressed, as torchvision
    leaves them) made from scikit-learn's digits."""
    from sklearn.datasets import load_digits
    digits = load_digits()
    scaled = (digits.images * (255 / 16)).astype(np.uint8)
    images = np.stack([np.pad(np.asarray(Image.fromarray(image).resize((20, 20),
                                                                       Image.BILINEAR)), 4)
                       for image in scaled])
    labels = digits.target.astype(np.uint8)
    root = tmp_path_factory.mktemp("torch_examples") / "data"
    raw = root / "MNIST" / "raw"
    for stem, array in (("train-images-idx3-ubyte", images[:1500]),
                        ("train-labels-idx1-ubyte", labels[:1500]),
                        ("t10k-images-idx3-ubyte", images[1500:]),
                        ("t10k-labels-idx1-ubyte", labels[1500:])):
        write_idx(raw / stem, array, compress=False)
    return root


def run_ported(script: Path, workspace: Path, *args: str, timeout: int = 300) -> dict:
    """Run ``script`` on torch and, ported by ``convnet port`` (which must change its torch
    imports and nothing else), on convnet, each in workspace/run_WHO (with a ``results/``
    folder, as pytorch/examples' vae expects). Returns {'torch': stdout, 'convnet': stdout}."""
    ported = workspace / f"{script.stem}_convnet.py"
    port = subprocess.run([sys.executable, "-m", "convnet", "port", str(script), "-o",
                           str(ported)], capture_output=True, text=True, timeout=60)
    assert port.returncode == 0, port.stderr
    changed = [(a, b) for a, b in zip(script.read_text().splitlines(),
                                      ported.read_text().splitlines()) if a != b]
    assert changed and all(re.match(r"(import|from) torch", a) for a, _ in changed), changed
    outputs = {}
    for who, command in (("torch", [sys.executable, str(RUNNER), str(script)]),
                         ("convnet", [sys.executable, str(ported)])):
        folder = workspace / f"run_{who}"
        (folder / "results").mkdir(parents=True)
        done = subprocess.run(command + list(args), capture_output=True, text=True,
                              timeout=timeout, cwd=folder)
        assert done.returncode == 0, f"{who}: {done.stderr[-3000:]}"
        outputs[who] = done.stdout
    return outputs


def run_both(name: str, tmp_path: Path, *args: str) -> dict:
    """:func:`run_ported` of tests/torch_scripts/NAME.py."""
    return run_ported(SCRIPTS / f"{name}.py", tmp_path, *args)


def last_number(text: str, label: str) -> float:
    return float(re.findall(rf"{label} ([-\d.]+)", text)[-1])


def script_module(name: str, for_convnet: bool) -> types.ModuleType:
    source = (SCRIPTS / f"{name}.py").read_text()
    module = types.ModuleType(f"{name}_{'convnet' if for_convnet else 'torch'}")
    exec(compile(port_source(source) if for_convnet else source, module.__name__, "exec"),
         module.__dict__)
    return module


def test_classifier_learns_as_on_torch_and_its_weights_load_in_torch(mnist_root, tmp_path):
    """4 epochs: both reach >= 0.85 test accuracy, within 0.04 of each other (seeds 1-5
    measured 0.889-0.913 on convnet, 0.896-0.913 on torch); the state dict convnet saved,
    loaded into the torch script's Net, gives the accuracy convnet printed."""
    out = run_both("classify_mnist", tmp_path, "--root", str(mnist_root), "--epochs", "4",
                   "--save-model", "weights.pt")
    accuracy = {who: last_number(text, "accuracy") for who, text in out.items()}
    assert min(accuracy.values()) >= 0.85, accuracy
    assert abs(accuracy["torch"] - accuracy["convnet"]) <= 0.04, accuracy
    theirs = script_module("classify_mnist", for_convnet=False)
    net = theirs.Net()
    net.load_state_dict(load_file(tmp_path / "run_convnet" / "weights.pt"))
    dataset = torchvision.datasets.MNIST(str(mnist_root), train=False,
                                         transform=theirs.transforms.Compose([
                                             theirs.transforms.ToTensor(),
                                             theirs.transforms.Normalize((0.1307,), (0.3081,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=200)
    assert theirs.evaluate(net, loader) == pytest.approx(accuracy["convnet"], abs=1e-4)


def test_vae_learns_as_on_torch_and_writes_the_same_grids(mnist_root, tmp_path):
    """3 epochs: test losses within 3% (seeds 1-5: 190.3-191.1 nats on convnet, 189.5-190.8
    on torch); the reconstruction
    and sample grids are PNGs of torchvision's grid size."""
    out = run_both("vae_mnist", tmp_path, "--root", str(mnist_root), "--epochs", "3")
    loss = {who: last_number(text, "test loss") for who, text in out.items()}
    assert abs(loss["convnet"] - loss["torch"]) <= 0.03 * loss["torch"], loss
    for name in ("reconstruction_3.png", "sample_3.png"):
        ours = Image.open(tmp_path / "run_convnet" / "results" / name)
        theirs = Image.open(tmp_path / "run_torch" / "results" / name)
        assert ours.size == theirs.size and ours.mode == theirs.mode
        assert np.asarray(ours).std() > 10  # a picture, not a blank grid


def test_vae_loss_and_gradients_equal_torch_with_the_same_weights():
    """The script's loss (BCE summed + KL) and every gradient, float64, from the same weights
    and the same encoder noise."""
    theirs, ours = script_module("vae_mnist", False), script_module("vae_mnist", True)
    torch_model, model = theirs.VAE().double(), ours.VAE()
    model.double()
    model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (5, 1, 28, 28))
    noise = rng.normal(size=(5, 10))
    losses = []
    for module, lib, net in ((theirs, torch, torch_model), (ours, convnet, model)):
        x = lib.tensor(images)
        mean, log_variance = net.encode(x.view(-1, 784))
        z = mean + lib.tensor(noise) * lib.exp(0.5 * log_variance)
        loss = module.loss_function(net.decode(z), x, mean, log_variance)
        loss.backward()
        losses.append((loss.item(), [np.asarray(p.grad) for p in net.parameters()]))
    assert losses[1][0] == pytest.approx(losses[0][0], rel=1e-12)
    for ours_grad, their_grad in zip(losses[1][1], losses[0][1]):
        np.testing.assert_allclose(ours_grad, their_grad, rtol=1e-9, atol=1e-12)


def test_dcgan_trains_as_on_torch_and_its_checkpoints_load_in_torch(mnist_root, tmp_path):
    """One epoch (24 steps of 64): mean generator and discriminator losses within the
    seed-to-seed spread (10 seeds each side measured mean Loss_G 1.08-1.31 on torch, 1.08-1.55
    on convnet; Loss_D 0.48-0.78); sample grids written; the generator checkpoint loads into
    the torch script's generator (strict) and draws the same images as convnet's."""
    out = run_both("dcgan_mnist", tmp_path, "--root", str(mnist_root), "--outf", "out")
    means = {}
    for who, text in out.items():
        rows = re.findall(r"Loss_D: (\S+) Loss_G: (\S+) D\(x\): (\S+)", text)
        assert len(rows) == 24, (who, len(rows))
        means[who] = np.asarray(rows, dtype=float).mean(axis=0)
    assert np.all(np.isfinite(means["convnet"]))
    assert abs(means["convnet"][1] - means["torch"][1]) <= 0.5, means
    assert abs(means["convnet"][0] - means["torch"][0]) <= 0.35, means
    for name in ("real_samples.png", "fake_samples_epoch_000.png"):
        assert (Image.open(tmp_path / "run_convnet" / "out" / name).size
                == Image.open(tmp_path / "run_torch" / "out" / name).size)
    theirs = script_module("dcgan_mnist", for_convnet=False)
    ours = script_module("dcgan_mnist", for_convnet=True)
    state = load_file(tmp_path / "run_convnet" / "out" / "netG_epoch_0.pth")
    torch_generator = theirs.generator(32, 16)
    torch_generator.load_state_dict(state, strict=True)
    generator = ours.generator(32, 16)
    generator.load_state_dict(convnet.load(tmp_path / "run_convnet" / "out" / "netG_epoch_0.pth"))
    noise = np.random.default_rng(0).normal(size=(4, 32, 1, 1)).astype(np.float32)
    torch_generator.eval(), generator.eval()
    with torch.no_grad():
        expected = torch_generator(torch.tensor(noise)).numpy()
    ours = generator(convnet.tensor(noise)).detach().numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_dcgan_steps_equal_torch_from_the_same_weights():
    """Five alternating discriminator / generator Adam steps of the script's networks, float64,
    from torch's initial weights on the same batches and noise: every loss equal to 1e-12."""
    theirs, ours = script_module("dcgan_mnist", False), script_module("dcgan_mnist", True)
    torch.manual_seed(0)
    nets_t = [theirs.generator(8, 4).double(), theirs.Discriminator(4).double()]
    for net in nets_t:
        net.apply(theirs.weights_init)
    nets_c = [ours.generator(8, 4), ours.Discriminator(4)]
    for mine, reference in zip(nets_c, nets_t):
        mine.double()
        mine.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    losses = []
    for lib, (net_g, net_d) in ((torch, nets_t), (convnet, nets_c)):
        criterion = lib.nn.BCELoss()
        opt_d = lib.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_g = lib.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        rng, history = np.random.default_rng(1), []
        for _ in range(5):
            real = lib.tensor(rng.uniform(-1, 1, (6, 1, 32, 32)))
            noise = lib.tensor(rng.normal(size=(6, 8, 1, 1)))
            net_d.zero_grad()
            label = lib.full((6,), 1, dtype=real.dtype)
            error_real = criterion(net_d(real), label)
            error_real.backward()
            fake = net_g(noise)
            label.fill_(0)
            error_fake = criterion(net_d(fake.detach()), label)
            error_fake.backward()
            opt_d.step()
            net_g.zero_grad()
            label.fill_(1)
            error_g = criterion(net_d(fake), label)
            error_g.backward()
            opt_g.step()
            history.append([error_real.item(), error_fake.item(), error_g.item()])
        losses.append(np.asarray(history))
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-12, atol=1e-12)
