"""U-Net against the same network built in PyTorch (weights copied): outputs and every
gradient, both up-convolutions, odd input sizes; the two up-convolutions are different
operations; save and load round-trip.

The notes' 'same' for the 2x2 up-convolution pads one row and column after (the centre of
an even filter is the top-left of its central square, seed 000); the torch twin pads so.
"""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.functional as F
from convnet.io import load, save
from convnet.nn import UNet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
tnn, TF = torch.nn, torch.nn.functional


class PadConv2x2(tnn.Module):
    """The notes' 'same' 2x2 convolution: zero row and column after, then valid."""

    def __init__(self, channels_in, channels_out):
        super().__init__()
        self.weight = tnn.Parameter(torch.zeros(channels_out, channels_in, 2, 2, dtype=torch.float64))
        self.bias = tnn.Parameter(torch.zeros(channels_out, dtype=torch.float64))

    def forward(self, x):
        return TF.conv2d(TF.pad(x, (0, 1, 0, 1)), self.weight, self.bias)


def torch_double_conv(cin, cout, bn):
    layers = []
    for channels in (cin, cout):
        layers.append(tnn.Conv2d(channels, cout, 3, padding=1, bias=not bn, dtype=torch.float64))
        if bn:
            layers.append(tnn.BatchNorm2d(cout, dtype=torch.float64))
        layers.append(tnn.ReLU())
    return tnn.Sequential(*layers)


def centred(x, size):
    """The torch twin's own centred crop or zero pad of the last two dims."""
    h, w = x.shape[-2:]
    ch, cw = max(h - size[0], 0), max(w - size[1], 0)
    x = x[..., ch // 2:ch // 2 + min(h, size[0]), cw // 2:cw // 2 + min(w, size[1])]
    gh, gw = max(size[0] - h, 0), max(size[1] - w, 0)
    return TF.pad(x, (gw // 2, gw - gw // 2, gh // 2, gh - gh // 2))


class TorchUNet(tnn.Module):
    def __init__(self, cin, classes, depth, width, bn, up):
        super().__init__()
        widths = [width * 2 ** level for level in range(depth + 1)]
        self.depth = depth
        self.encoder = tnn.ModuleList([torch_double_conv(cin if l == 0 else widths[l - 1],
                                                         widths[l], bn) for l in range(depth + 1)])
        self.ups = tnn.ModuleList([
            tnn.ConvTranspose2d(widths[l], widths[l] // 2, 2, stride=2, dtype=torch.float64)
            if up == "transpose" else
            tnn.Sequential(tnn.Upsample(scale_factor=2, mode="nearest"),
                           PadConv2x2(widths[l], widths[l] // 2))
            for l in range(depth, 0, -1)])
        self.decoder = tnn.ModuleList([torch_double_conv(widths[l], widths[l - 1], bn)
                                       for l in range(depth, 0, -1)])
        self.head = tnn.Conv2d(width, classes, 1, dtype=torch.float64)

    def forward(self, x):
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x)
            if level < self.depth:
                skips.append(x)
                x = TF.max_pool2d(x, 2)
        for up, block, skip in zip(self.ups, self.decoder, reversed(skips)):
            x = block(torch.cat([skip, centred(up(x), skip.shape[-2:])], dim=1))
        return self.head(x)


@pytest.mark.parametrize("up", ["repeat", "transpose"])
@pytest.mark.parametrize("size, bn", [((16, 16), True), ((13, 10), False), ((11, 17), True)])
def test_unet_equals_the_torch_build(up, size, bn):
    ours = UNet(2, 3, depth=2, width=4, batch_norm=bn, up=up, dtype=np.float64, rng=0)
    twin = TorchUNet(2, 3, 2, 4, bn, up)
    state = {key: torch.tensor(np.asarray(value)) for key, value in ours.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2) + size)
    upstream = rng.standard_normal((2, 3) + size)
    xc = convnet.tensor(x, requires_grad=True)
    y = ours(xc)
    y.backward(upstream)
    xt = torch.tensor(x, requires_grad=True)
    yt = twin(xt)
    yt.backward(torch.tensor(upstream))
    scale = float(np.abs(yt.detach().numpy()).max())
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-9, atol=1e-10 * scale)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-10)
    grads = dict(twin.named_parameters())
    for name, parameter in ours.named_parameters():
        np.testing.assert_allclose(parameter.grad, grads[name].grad.numpy(), rtol=1e-8,
                                   atol=1e-9, err_msg=name)


def test_the_two_up_convolutions_differ():
    x = np.random.default_rng(2).standard_normal((1, 1, 8, 8))
    a = UNet(1, 2, depth=1, width=2, batch_norm=False, up="repeat", dtype=np.float64, rng=0)
    b = UNet(1, 2, depth=1, width=2, batch_norm=False, up="transpose", dtype=np.float64, rng=0)
    shared = {k: v for k, v in a.state_dict().items() if not k.startswith("ups.")}
    b.load_state_dict({**b.state_dict(), **shared})
    up_a, up_b = a.ups[0][1], b.ups[0]
    up_b.weight.data[...] = np.transpose(up_a.weight.data, (1, 0, 2, 3))  # the same 2x2 taps
    up_b.bias.data[...] = up_a.bias.data
    assert not np.allclose(a(x).data, b(x).data)


def test_save_load_round_trip_and_errors(tmp_path):
    model = UNet(1, 2, depth=2, width=4, rng=0)
    save(model, tmp_path / "unet.safetensors")
    again = load(tmp_path / "unet.safetensors")
    x = np.random.default_rng(3).standard_normal((1, 1, 9, 12)).astype(np.float32)
    with convnet.no_grad():
        np.testing.assert_array_equal(model.eval()(x).data, again(x).data)
    with pytest.raises(ValueError, match="up: expected one of"):
        UNet(up="bilinear")
    with pytest.raises(ValueError, match="depth: expected a positive int"):
        UNet(depth=0)
