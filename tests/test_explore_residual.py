"""The explorer's unit view of a residual block's output (the CIFAR ResNets' ``sum_relu``
rows): ``relu(branch + shortcut)``, each part recomputed in PyTorch from the block's own
weights and input, for identity, option-A (subsample, zero channels) and option-B
(projection) shortcuts."""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn as nn
from convnet.explore import ExploreSession
from convnet.nn.regularization import _BatchNorm

torch = pytest.importorskip("torch", reason="PyTorch recomputes the block")
TF = torch.nn.functional


def session_for(shortcut):
    convnet.manual_seed(0)
    model = nn.CifarResNet(6, num_classes=4, width=4, rng=0, blocks=(1, 1),
                           shortcut=shortcut) if shortcut == "B" else \
        nn.CifarResNet(14, num_classes=4, width=4, rng=0)
    rng = np.random.default_rng(1)
    for module in model.modules():           # batch norms far from the identity
        if isinstance(module, _BatchNorm):
            size = module.running_mean.shape
            module.running_mean[...] = rng.normal(0, 0.3, size)
            module.running_var[...] = rng.uniform(0.5, 2.0, size)
            module.weight.data[...] = rng.uniform(0.5, 1.5, size)
            module.bias.data[...] = rng.normal(0, 0.3, size)
    samples = rng.uniform(0, 1, (3, 3, 12, 12)).astype(np.float32)
    metadata = {"input_shape": [3, 12, 12], "classes": list("abcd"),
                "normalize": {"mean": [0.5] * 3, "std": [0.25] * 3}}
    return ExploreSession(model.eval(), metadata, samples=samples)


def torch_bn(value, bn):
    return TF.batch_norm(value, *(torch.tensor(a, dtype=torch.float64) for a in (
        bn.running_mean, bn.running_var, bn.weight.data, bn.bias.data)), False, 0.0, bn.eps)


def torch_conv(value, conv):
    return TF.conv2d(value, torch.tensor(conv.weight.data, dtype=torch.float64), None,
                     conv.stride, conv.padding)


def torch_parts(block, block_input):
    """(branch, shortcut) of one basic block, in float64 PyTorch."""
    x = torch.tensor(block_input[None], dtype=torch.float64)
    branch = torch_bn(torch_conv(TF.relu(torch_bn(torch_conv(x, block.conv1), block.bn1)),
                                 block.conv2), block.bn2)
    if block.downsample is not None:
        shortcut = torch_bn(torch_conv(x, block.downsample[0]), block.downsample[1])
    else:
        shortcut = x[:, :, ::block.stride, ::block.stride]
        before = block.extra_channels // 2
        shortcut = TF.pad(shortcut, (0, 0, 0, 0, before, block.extra_channels - before))
    return branch[0].numpy(), shortcut[0].numpy()


def block_input_of(session, name):
    """The input of block ``name`` for sample 1, from the model's own forward pass."""
    from convnet.explore.session import _record
    calls, _ = _record(session.model, session._normalized(session.samples[1]))
    return {call[0]: call for call in calls}[f"{name}.conv1"][2][0]


@pytest.mark.parametrize("shortcut, block_name, units", [
    ("A", "layer1.1", [(0, 0, 0), (3, 5, 7)]),                  # identity
    ("A", "layer2.0", [(0, 2, 3), (3, 5, 5), (6, 1, 4), (7, 0, 0)]),   # zero channels 0,1,6,7
    ("B", "layer2.0", [(0, 0, 0), (5, 3, 2)]),                  # projection
])
def test_residual_unit_is_relu_of_branch_plus_shortcut(shortcut, block_name, units):
    session = session_for(shortcut)
    names = [row.name for row in session.rows]
    layer = names.index(f"{block_name}.sum_relu")
    block = session.model.get_submodule(block_name)
    branch, short = torch_parts(block, block_input_of(session, block_name))
    for channel, y, x in units:
        answer = session.unit({"sample": 1}, layer, channel, y, x)
        assert answer["kind"] == "residual"
        assert answer["branch"] == pytest.approx(branch[channel, y, x], abs=1e-5)
        assert answer["shortcut"] == pytest.approx(short[channel, y, x], abs=1e-5)
        total = branch[channel, y, x] + short[channel, y, x]
        assert answer["sum"] == pytest.approx(max(total, 0.0), abs=1e-5)
        assert answer["forward_value"] == pytest.approx(max(total, 0.0), abs=1e-5)
        if shortcut == "B":
            assert answer["shortcut_kind"].startswith("projection")
            assert answer["shortcut_source"] is None
        elif block.stride == 1:
            assert answer["shortcut_kind"] == "identity"
            assert answer["shortcut_source"] == [channel, y, x]
        elif 2 <= channel < 6:                                  # 4 channels in, 2 zeros each side
            assert answer["shortcut_source"] == [channel - 2, 2 * y, 2 * x]
        else:
            assert answer["shortcut_source"] is None and answer["shortcut"] == 0.0


def test_the_page_shows_a_residual_unit(tmp_path):
    """Clicking a block's output map shows branch, shortcut and their sum, and the page's
    value is the session's."""
    pytest.importorskip("starlette", reason="Starlette serves the page")
    pytest.importorskip("uvicorn", reason="uvicorn runs the server")
    from browser import chromium_browser, open_explorer
    from explore_server import Server
    session = session_for("A")
    layer = [row.name for row in session.rows].index("layer2.0.sum_relu")
    server = Server(session)
    try:
        with chromium_browser() as browser:
            page, errors = open_explorer(browser, server.url, height=2400)
            page.locator(f"canvas.map[data-layer='{layer}'][data-channel='1']").click(
                position={"x": 1, "y": 1})
            page.wait_for_selector("#unit-sum")
            clicked = page.evaluate("state.unit")
            unit = session.unit(page.evaluate("state.image"), layer, 1, clicked["y"], clicked["x"])
            text = page.locator("#unit").inner_text()
            assert "branch + shortcut" in text and "a zero channel" in text   # channel 1: padded
            assert "ReLU(branch + shortcut)" in text
            shown = float(page.locator("#unit-equation").get_attribute("data-sum"))
            assert shown == pytest.approx(unit["sum"], abs=1e-6) and errors == []
    finally:
        server.stop()
