"""Tensor semantics that a PyTorch script relies on, each against torch: type promotion over
every pair of dtypes, in-place operations on the graph and the version counter, indexing
with assignment, grad modes, devices, seeded creation.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import convnet

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of tensor semantics")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _sample(dtype: str, shape=(3,)):
    return (np.arange(int(np.prod(shape))).reshape(shape) % 2 + 1).astype(dtype)


@pytest.mark.parametrize("left,right", list(itertools.product(DTYPES, repeat=2)))
def test_promotion_of_tensor_pairs(left, right):
    a, b = _sample(left), _sample(right)
    expected = (torch.from_numpy(a) * torch.from_numpy(b)).numpy().dtype
    assert (convnet.tensor(a) * convnet.tensor(b)).dtype == expected


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True], ids=["int", "float", "bool"])
def test_promotion_with_python_numbers_and_zero_dim(dtype, scalar):
    a = _sample(dtype)
    expected = (torch.from_numpy(a) + scalar).numpy().dtype
    assert (convnet.tensor(a) + scalar).dtype == expected
    zero_dim = np.array(3.0)
    expected = (torch.from_numpy(a) + torch.from_numpy(zero_dim)).numpy().dtype
    assert (convnet.tensor(a) + convnet.tensor(zero_dim)).dtype == expected


def test_division_and_comparisons_of_integers():
    a, b = np.array([7, -7, 3]), np.array([2, 2, 3])
    for op in (lambda x, y: x / y, lambda x, y: x // y, lambda x, y: x % y,
               lambda x, y: x == y, lambda x, y: (x > 2) & (y < 3)):
        expected = op(torch.tensor(a), torch.tensor(b)).numpy()
        actual = op(convnet.tensor(a), convnet.tensor(b)).data
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)


def _both(fn, *arrays):
    """Run ``fn(lib, *leaves)`` in both libraries; return the leaves' gradients."""
    grads = []
    for lib in (torch, convnet):
        leaves = [lib.tensor(a, requires_grad=True) for a in arrays]
        fn(lib, *leaves).sum().backward()
        grads.append([np.asarray(leaf.grad if lib is convnet else leaf.grad.numpy())
                      for leaf in leaves])
    for expected, actual in zip(*grads):
        np.testing.assert_allclose(actual, expected, rtol=1e-12)


def test_in_place_ops_on_the_graph_give_torch_gradients():
    def residual(lib, x, w):
        out = x * w
        out += x                      # ResNet's out += identity
        out.mul_(2).add_(w, alpha=3)
        out.clamp_(min=-1.0)
        return out.relu()
    rng = np.random.default_rng(0)
    _both(residual, rng.standard_normal(5), rng.standard_normal(5))


def test_setitem_records_gradients_as_torch():
    def assign(lib, x, v):
        y = x * 1.0
        y[1:3] = v * 2
        y[0, [0, 2]] = 5.0
        return y * y
    rng = np.random.default_rng(1)
    _both(assign, rng.standard_normal((4, 3)), rng.standard_normal(3))


def test_setitem_on_a_leaf_under_no_grad():
    for lib in (torch, convnet):
        w = lib.zeros(2, 3, requires_grad=True)
        with lib.no_grad():
            w[0] = 1.0
            w[:, 1].fill_(7.0)
        assert w.requires_grad and w.is_leaf
        np.testing.assert_array_equal(np.asarray(w.detach().numpy()), [[1, 7, 1], [0, 7, 0]])


def test_version_counter_shared_with_views():
    x = convnet.zeros(4)
    view = x[1:3]
    before = x._version
    view.add_(1)
    assert x._version == view._version == before + 1
    np.testing.assert_array_equal(x.data, [0, 1, 1, 0])


def test_modifying_an_input_saved_for_backward_raises():
    for lib in (torch, convnet):
        w = lib.ones(3, requires_grad=True)
        x = lib.ones(3) * 2
        y = (w * x).sum()
        x.add_(1)                     # mul saved x for w's gradient
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.backward()


def test_modifying_a_view_of_a_saved_input_raises():
    w = convnet.ones(3, requires_grad=True)
    x = convnet.ones(2, 3)
    y = (w * x).sum()
    x[0].mul_(5)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_unsaved_inputs_may_change_in_place():
    for lib in (torch, convnet):
        w = lib.ones(3, requires_grad=True)
        x = lib.ones(3)
        y = (w + x).sum()             # addition saves nothing
        x.add_(1)
        y.backward()
        np.testing.assert_array_equal(np.asarray(w.grad), np.ones(3))


def test_in_place_on_a_view_of_a_graph_tensor_is_refused_not_wrong():
    w = convnet.ones(4, requires_grad=True)
    y = w * 2
    with pytest.raises(RuntimeError, match="view"):
        y[1:3].mul_(2)


def test_grad_modes_as_context_and_decorator():
    w = convnet.ones(2, requires_grad=True)

    @convnet.no_grad()
    def frozen():
        return w * 2

    @convnet.enable_grad()
    def thawed():
        return w * 2
    assert not frozen().requires_grad
    with convnet.no_grad():
        assert thawed().requires_grad
    with convnet.inference_mode():
        assert not (w * 2).requires_grad
    convnet.set_grad_enabled(False)
    assert not convnet.is_grad_enabled()
    convnet.set_grad_enabled(True)
    with convnet.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert convnet.is_grad_enabled()


def test_devices_are_the_cpu():
    device = convnet.device("cuda" if convnet.cuda.is_available() else "cpu")
    x = convnet.ones(2).to(device)
    assert str(x.device) == "cpu" and x.device == "cpu" and not x.is_cuda
    assert not convnet.backends.mps.is_available() and convnet.accelerator.is_available() is False
    for call in (lambda: convnet.device("cuda:0"), lambda: x.cuda(),
                 lambda: convnet.zeros(2, device="cuda"), lambda: x.to("mps")):
        with pytest.raises(RuntimeError, match="CPU only"):
            call()


def test_from_numpy_shares_memory_as_tensor_copies():
    array = np.zeros(3, np.float32)
    shared = convnet.from_numpy(array)
    copied = convnet.tensor(array)
    array[0] = 5
    assert shared[0].item() == 5 and copied[0].item() == 0
    assert convnet.as_tensor(array).data is array
    with pytest.raises(TypeError):
        convnet.from_numpy([1, 2])


def test_random_creation_is_seeded():
    convnet.manual_seed(7)
    first = [convnet.rand(3), convnet.randn(2, 2), convnet.randint(0, 10, (4,)),
             convnet.randperm(5), convnet.normal(0.0, 2.0, size=(3,))]
    convnet.manual_seed(7)
    second = [convnet.rand(3), convnet.randn(2, 2), convnet.randint(0, 10, (4,)),
              convnet.randperm(5), convnet.normal(0.0, 2.0, size=(3,))]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.data, b.data)
    assert first[2].dtype == np.int64 and sorted(first[3].tolist()) == list(range(5))
    generator = convnet.Generator().manual_seed(3)
    again = convnet.Generator().manual_seed(3)
    np.testing.assert_array_equal(convnet.rand(4, generator=generator).data,
                                  convnet.rand(4, generator=again).data)


def test_scalar_conversions_as_torch():
    for lib in (torch, convnet):
        loss = lib.tensor([2.5]).sum()
        assert f"{loss:.2f}" == "2.50" and float(loss) == 2.5 and int(lib.tensor(3)) == 3
        assert [0, 1, 2][lib.tensor(1)] == 1
        assert len(lib.zeros(4, 2)) == 4
        assert [tuple(row.shape) for row in lib.zeros(2, 3)] == [(3,), (3,)]
