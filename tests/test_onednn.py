"""The oneDNN binding and convolution backend beyond the shared backend grid: every padding
form, groups, dilation, 1-D and 3-D, channels-last inputs and outputs, the dispatch's
choice, the off switch and a library that fails to load.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from convnet.ops.conv import conv_spec, dispatch, onednn
from convnet.ops.onednn import library

torch = pytest.importorskip("torch", reason="PyTorch is the oracle")
pytestmark = pytest.mark.skipif(not library.available(),
                                reason="oneDNN (the onednn-cpu-gomp wheel) is not installed")


@pytest.fixture(autouse=True)
def onednn_chosen(monkeypatch):
    monkeypatch.setenv("CONVNET_BACKEND", "onednn")

# (input shape, out channels, kernel, stride, padding, dilation, groups, bias)
CASES = [
    ((2, 4, 9, 9), 6, 3, 2, "same", 1, 1, True),       # the notes' strided 'same'
    ((2, 4, 10, 10), 6, 4, 2, "same", 1, 1, False),    # even kernel
    ((2, 4, 8, 8), 6, 3, 1, "full", 1, 1, True),
    ((1, 3, 7, 8), 5, (2, 3), (1, 2), ((1, 0), (2, 1)), 1, 1, True),   # asymmetric pairs
    ((2, 6, 9, 9), 6, 3, 1, 2, 2, 1, True),            # dilation
    ((2, 8, 8, 8), 8, 3, 1, 1, 1, 8, True),            # depthwise
    ((2, 8, 8, 8), 12, 3, 2, 1, 1, 4, False),          # grouped, strided
    ((2, 4, 11), 6, 5, 2, 2, 1, 1, True),              # 1-D
    ((1, 3, 5, 6, 5), 4, 3, 1, 1, 1, 1, True),         # 3-D
]


def _run(case, channels_last=False, seed=0):
    shape, out_channels, kernel, stride, padding, dilation, groups, bias = case
    rng = np.random.default_rng(seed)
    ndim = len(shape) - 2
    kernel = (kernel,) * ndim if isinstance(kernel, int) else kernel
    x = rng.standard_normal(shape).astype(np.float32)
    if channels_last:
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        x = np.moveaxis(x, -1, 1)
    w = rng.standard_normal((out_channels, shape[1] // groups) + kernel).astype(np.float32)
    b = rng.standard_normal(out_channels).astype(np.float32) if bias else None
    spec = conv_spec(x.shape, x.dtype, w.shape, None if b is None else b.shape, stride, padding,
                     dilation, groups)
    assert onednn.supports(spec, x, w)
    assert dispatch.choose_backend(x, w, spec) in (onednn, dispatch.direct)
    y, saved = onednn.forward(x, w, b, spec)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    dx, dw, db = onednn.backward(dy, saved, spec)
    return x, w, b, spec, y, dy, (dx, dw, db)


def _torch(x, w, b, spec, dy):
    tensors = [None if a is None else torch.tensor(a.astype(np.float64), requires_grad=True)
               for a in (x, w, b)]
    pads = [v for pair in reversed(spec.padding) for v in pair]
    conv = (torch.nn.functional.conv1d, torch.nn.functional.conv2d,
            torch.nn.functional.conv3d)[len(spec.kernel_size) - 1]
    y = conv(torch.nn.functional.pad(tensors[0], pads), tensors[1], tensors[2], spec.stride, 0,
             spec.dilation, spec.groups)
    y.backward(torch.tensor(dy.astype(np.float64)))
    return y.detach().numpy(), [None if t is None else t.grad.numpy() for t in tensors]


def _close(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=2e-5 * np.abs(theirs).max())


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels-last"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-k{c[2]}-s{c[3]}-p{c[4]}-g{c[6]}")
def test_onednn_convolution_against_torch(case, channels_last):
    x, w, b, spec, y, dy, grads = _run(case, channels_last)
    expected, expected_grads = _torch(x, w, b, spec, dy)
    assert y.shape == expected.shape and y.dtype == np.float32
    _close(y, expected)
    for ours, theirs in zip(grads, expected_grads):
        if theirs is not None:
            assert ours.dtype == np.float32
            _close(ours, theirs)
    if len(spec.kernel_size) == 2:                     # convnet's convolutions hand on
        assert np.moveaxis(y, 1, -1).flags.c_contiguous   # channels-last memory


def test_weight_gradient_without_input_gradient():
    x, w, b, spec, y, dy, (dx, dw, db) = _run(CASES[0])
    _, saved = onednn.forward(x, w, b, spec)
    none, dw_again, db_again = onednn.backward(dy, saved, spec, need_input_grad=False)
    assert none is None
    np.testing.assert_array_equal(dw_again, dw)
    np.testing.assert_array_equal(db_again, db)


def test_unsupported_cases_go_elsewhere():
    x = np.ones((1, 2, 5, 5), np.float32)
    w = np.ones((3, 2, 3, 3), np.float32)
    for spec in (conv_spec(x.shape, x.dtype, w.shape, padding=1, padding_mode="reflect"),
                 conv_spec(x.shape, x.dtype, w.shape, (3, 5, 5), padding=1)):   # untied bias
        assert not onednn.supports(spec, x, w)
        assert dispatch.choose_backend(x, w, spec) is not onednn
    wide = x.astype(np.float64)
    spec = conv_spec(wide.shape, wide.dtype, w.shape, padding=1)
    assert not onednn.supports(spec, wide, w.astype(np.float64))


def _python(code: str, **environment) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **environment}, timeout=120)


def test_the_numpy_switch_turns_onednn_off():
    code = ("import numpy as np; from convnet.ops.conv import conv_spec, dispatch;"
            "x = np.ones((2, 8, 8, 8), np.float32); w = np.ones((8, 8, 3, 3), np.float32);"
            "print(dispatch.choose_backend(x, w, conv_spec(x.shape, x.dtype, w.shape, padding=1)"
            ").__name__)")
    for switch in ("onednn", ""):                   # oneDNN is the default where it loads
        assert _python(code, CONVNET_BACKEND=switch).stdout.strip() == "convnet.ops.conv.onednn"
    assert _python(code, CONVNET_BACKEND="numpy").stdout.strip() == \
        "convnet.ops.conv.channels_last"


def test_a_library_that_fails_to_load_warns_once_and_falls_back(tmp_path):
    broken = tmp_path / "libdnnl.so.3"
    broken.write_bytes(b"not a library")
    code = ("import warnings, numpy as np, convnet, convnet.functional as F;"
            "warnings.simplefilter('always');"
            "y = F.conv2d(np.ones((1, 8, 5, 5), np.float32), np.ones((8, 8, 3, 3), np.float32),"
            " padding=1); y2 = F.conv2d(np.ones((1, 8, 5, 5), np.float32),"
            " np.ones((8, 8, 3, 3), np.float32), padding=1); print(float(y.data[0, 0, 2, 2]))")
    result = _python(code, CONVNET_ONEDNN_LIBRARY=str(broken), CONVNET_BACKEND="onednn")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "72.0"
    assert result.stderr.count("oneDNN could not be loaded") == 1


def test_convnet_info_names_the_backend_and_its_kernel(capsys):
    from convnet.cli import main
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    kernel = re.search(rf"oneDNN {re.escape(library.version())} \((\w+):(\w+)\)", out)
    assert kernel and kernel.group(1) != "ref" and "CONVNET_BACKEND" not in out   # a JIT kernel
    assert "also on oneDNN: transposed convolution; max/average pooling; batch normalisation" \
        in out
    result = _python("from convnet.cli import main; main(['info'])", CONVNET_BACKEND="numpy")
    assert "oneDNN turned off by CONVNET_BACKEND=numpy" in result.stdout
    if not any(name in os.environ for name in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY",
                                                "CONVNET_OPENMP_SPIN")):
        assert "libgomp's idle threads spin 1000 iterations (set by convnet)" in result.stdout


def test_onednn_leaves_the_process_openmp_thread_setting_as_it_was():
    # PyTorch reads the same OpenMP setting: a small convolution runs oneDNN on one thread,
    # and afterwards torch must still see the threads it was given
    torch.set_num_threads(2)
    before = torch.get_num_threads()
    for shape, out_channels in (((1, 2, 5, 5), 2), ((32, 32, 16, 16), 32)):   # small, large
        x = np.ones(shape, np.float32)
        w = np.ones((out_channels, shape[1], 3, 3), np.float32)
        spec = conv_spec(x.shape, x.dtype, w.shape, padding=1)
        y, saved = onednn.forward(x, w, None, spec)
        onednn.backward(np.ones_like(y), saved, spec)
        assert torch.get_num_threads() == before


def test_a_bound_temporary_lives_until_the_primitive_has_run():
    """``memory.bind(np.ascontiguousarray(view))`` hands oneDNN the address of a copy that
    nothing else holds: the memory object keeps it until ``execute`` returns, then lets go."""
    import gc
    import weakref

    from convnet.ops.onednn.memory import plain_md
    from convnet.ops.onednn.primitive import Reorder
    source = np.arange(24, dtype=np.float32).reshape(4, 6)
    reorder = Reorder(plain_md((4, 3), np.float32), plain_md((4, 3), np.float32))
    target = np.empty((4, 3), np.float32)
    copy = np.ascontiguousarray(source[:, ::2])
    alive = weakref.ref(copy)
    bound = reorder.source.bind(copy)
    del copy
    gc.collect()
    for _ in range(50):                 # freed memory would be reused by these
        np.full((4, 3), -1.0, np.float32)
    assert alive() is not None
    reorder.primitive.execute({library.ARG_FROM: bound,
                               library.ARG_TO: reorder.target.bind(target)})
    np.testing.assert_array_equal(target, source[:, ::2])
    assert alive() is None and reorder.source.array is None
