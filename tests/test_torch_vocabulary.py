"""torch's vocabulary, one lambda for both libraries (in the spirit of PyTorch's OpInfo and
tinygrad's ``helper_test_op``): each case runs ``fn(lib, F, *inputs)`` once with
``lib = torch`` and once with ``lib = convnet``; outputs (values, dtypes, shapes) and, for
floating inputs, the input gradients of ``sum(out * g)`` must agree, and float64 cases are
also checked against central differences. Error cases must raise the same exception type
(or a subclass of it).
"""

from __future__ import annotations

import numpy as np
import pytest

import convnet
import convnet.nn.functional as CF
from gradcheck import check_gradients

torch = pytest.importorskip("torch", reason="PyTorch is the oracle of the vocabulary table")
TF = torch.nn.functional

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def ints(*shape, high=5):
    return RNG.integers(0, high, shape).astype(np.int64)


def probabilities(*shape):
    return RNG.uniform(0.05, 0.95, shape)


TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
WITH_NAN = np.array([[1.0, np.nan, -2.0], [0.5, 4.0, 0.0]])
EMPTY = np.zeros((0, 3))

# name: (fn(lib, F, *inputs), inputs, finite-difference check)
CASES = {
    # ---------------------------------------------------------------- creation and dtypes
    "tensor ints": (lambda L, F: L.tensor([1, 2, 3]), [], False),
    "tensor floats": (lambda L, F: L.tensor([[1.5, 2.0]]), [], False),
    "tensor bools": (lambda L, F: L.tensor([True, False]), [], False),
    "tensor dtype=": (lambda L, F: L.tensor([1, 2], dtype=L.float64), [], False),
    "zeros": (lambda L, F: L.zeros(2, 3), [], False),
    "ones tuple int64": (lambda L, F: L.ones((2, 2), dtype=L.int64), [], False),
    "full int": (lambda L, F: L.full((2,), 7), [], False),
    "full float": (lambda L, F: L.full((2, 1), 0.5), [], False),
    "arange int": (lambda L, F: L.arange(5), [], False),
    "arange float": (lambda L, F: L.arange(0, 1, 0.25), [], False),
    "arange step": (lambda L, F: L.arange(10, 2, -3), [], False),
    "linspace": (lambda L, F: L.linspace(0, 1, 5), [], False),
    "eye": (lambda L, F: L.eye(3, 2), [], False),
    "zeros_like": (lambda L, F, a: L.zeros_like(a), [ints(2, 3)], False),
    "ones_like float": (lambda L, F, a: L.ones_like(a), [normal(2)], False),
    "full_like": (lambda L, F, a: L.full_like(a, 3), [normal(2)], False),
    "int + float scalar": (lambda L, F, a: a + 0.5, [ints(3)], False),
    "int * int scalar": (lambda L, F, a: a * 3, [ints(3)], False),
    "int / int": (lambda L, F, a, b: a / (b + 1), [ints(3), ints(3)], False),
    "int // int": (lambda L, F, a, b: a // (b + 1), [ints(3), ints(3)], False),
    "uint8 + int": (lambda L, F, a: a.to(L.uint8) + 3, [ints(4)], False),
    "float32 + float64 0-d": (lambda L, F, a, b: a.float() + b.sum(), [normal(3), normal(2)],
                              False),
    "bool sum": (lambda L, F, a: (a > 0).sum(), [normal(5)], False),
    "to float64": (lambda L, F, a: a.to(L.float64) * 2, [normal(3)], True),
    "long": (lambda L, F, a: (a * 3).long(), [normal(4)], False),
    "type_as": (lambda L, F, a, b: b.type_as(a), [normal(2), ints(2)], False),
    # ---------------------------------------------------------------- arithmetic
    "add broadcast": (lambda L, F, a, b: a + b, [normal(2, 3), normal(3)], True),
    "add alpha": (lambda L, F, a, b: L.add(a, b, alpha=2), [normal(2, 3), normal(2, 3)], True),
    "sub rsub": (lambda L, F, a: 1.0 - a, [normal(3)], True),
    "mul": (lambda L, F, a, b: a * b, [normal(2, 1), normal(1, 3)], True),
    "div": (lambda L, F, a, b: a / b, [normal(3), positive(3)], True),
    "div floor": (lambda L, F, a, b: L.div(a, b, rounding_mode="floor"),
                  [normal(4), positive(4)], False),
    "pow scalar": (lambda L, F, a: a ** 3, [normal(4)], True),
    "pow tensor": (lambda L, F, a, b: a.pow(b), [positive(3), normal(3)], True),
    "rpow": (lambda L, F, a: 2.0 ** a, [normal(3)], True),
    "neg abs": (lambda L, F, a: (-a).abs(), [normal(4)], True),
    "exp log sqrt": (lambda L, F, a: a.exp() + a.log() + a.sqrt(), [positive(4)], True),
    "matmul": (lambda L, F, a, b: a @ b, [normal(2, 3, 4), normal(4, 2)], True),
    "matmul vector": (lambda L, F, a, b: L.matmul(a, b), [normal(3, 4), normal(4)], True),
    "mm": (lambda L, F, a, b: L.mm(a, b), [normal(2, 3), normal(3, 2)], True),
    "bmm": (lambda L, F, a, b: L.bmm(a, b), [normal(2, 2, 3), normal(2, 3, 2)], True),
    "einsum": (lambda L, F, a, b: L.einsum("bij,jk->bik", a, b), [normal(2, 2, 3), normal(3, 4)],
               True),
    "einsum trace-free": (lambda L, F, a: L.einsum("ij->j", a), [normal(3, 4)], True),
    # ---------------------------------------------------------------- element-wise maths
    "clamp": (lambda L, F, a: a.clamp(-0.5, 0.5), [normal(6)], False),
    "clamp min": (lambda L, F, a: L.clamp(a, min=0.1), [normal(6)], False),
    "clip max": (lambda L, F, a: a.clip(max=0.2), [normal(6)], False),
    "where": (lambda L, F, a, b: L.where(a > 0, a, b), [normal(2, 3), normal(3)], True),
    "where scalar": (lambda L, F, a: L.where(a > 0, a, 0.0), [normal(5)], False),
    "masked_fill": (lambda L, F, a: a.masked_fill(a < 0, 0.0), [normal(2, 3)], False),
    "maximum": (lambda L, F, a, b: L.maximum(a, b), [normal(4), normal(4)], True),
    "minimum": (lambda L, F, a, b: L.minimum(a, b), [normal(4), normal(4)], True),
    "eq ==": (lambda L, F, a, b: (a == b, a.eq(b), a != b), [ints(5), ints(5)], False),
    "comparisons": (lambda L, F, a: (a > 0, a < 0, a >= 0.5, a <= 0.5), [normal(5)], False),
    "logical": (lambda L, F, a: ((a > 0) & (a < 1), (a > 0) | (a < -1), ~(a > 0)),
                [normal(6)], False),
    "isnan isfinite": (lambda L, F, a: (L.isnan(a), a.isfinite(), L.isinf(a)), [WITH_NAN], False),
    "floor ceil round": (lambda L, F, a: (a.floor(), a.ceil(), a.round(), a.sign()),
                         [normal(5) * 3], False),
    "sin cos log1p": (lambda L, F, a: a.sin() * a.cos() + a.log1p(), [positive(4)], True),
    "reciprocal rsqrt": (lambda L, F, a: a.reciprocal() + a.rsqrt(), [positive(4)], True),
    "remainder": (lambda L, F, a: a % 1.5, [normal(5) * 4], False),
    # ---------------------------------------------------------------- reductions
    "sum dims": (lambda L, F, a: a.sum(dim=(0, 2), keepdim=True), [normal(2, 3, 4)], True),
    "sum negative dim": (lambda L, F, a: a.sum(-1), [normal(2, 3)], True),
    "mean": (lambda L, F, a: a.mean(1), [normal(2, 3)], True),
    "max all": (lambda L, F, a: a.max(), [TIES], False),
    "max dim": (lambda L, F, a: a.max(dim=1), [normal(3, 4)], True),
    "max dim keepdim": (lambda L, F, a: a.max(0, keepdim=True), [normal(3, 4)], True),
    "min dim": (lambda L, F, a: L.min(a, 1), [normal(3, 4)], True),
    "max other": (lambda L, F, a, b: L.max(a, b), [normal(4), normal(4)], True),
    "max nan": (lambda L, F, a: a.max(dim=1), [WITH_NAN], False),
    "argmax": (lambda L, F, a: (a.argmax(), a.argmax(1), a.argmin(dim=0, keepdim=True)),
               [normal(3, 4)], False),
    "std var": (lambda L, F, a: (a.std(), a.var(1), a.std(0, unbiased=False)), [normal(3, 4)],
                False),
    "std grad": (lambda L, F, a: a.std(dim=1), [normal(3, 4)], True),
    "var correction": (lambda L, F, a: a.var(dim=0, correction=0), [normal(3, 4)], True),
    "norm": (lambda L, F, a: a.norm(), [normal(3, 4)], True),
    "norm p dim": (lambda L, F, a: a.norm(p=1, dim=1), [normal(3, 4)], True),
    "norm inf": (lambda L, F, a: a.norm(p=float("inf"), dim=0), [normal(3, 4)], False),
    "prod": (lambda L, F, a: a.prod(1), [normal(3, 4)], True),
    "prod all": (lambda L, F, a: a.prod(), [normal(2, 3)], True),
    "logsumexp": (lambda L, F, a: a.logsumexp(1), [normal(3, 4)], True),
    "cumsum": (lambda L, F, a: a.cumsum(1), [normal(3, 4)], True),
    "topk": (lambda L, F, a: a.topk(2, dim=1), [normal(3, 5)], True),
    "topk smallest": (lambda L, F, a: a.topk(2, largest=False), [normal(5)], True),
    "sort": (lambda L, F, a: a.sort(dim=1), [normal(3, 4)], True),
    "sort descending": (lambda L, F, a: L.sort(a, descending=True), [normal(6)], True),
    "argsort": (lambda L, F, a: a.argsort(dim=0), [normal(4, 2)], False),
    "any all": (lambda L, F, a: ((a > 0).any(), (a > 0).all(1), L.any(a > 2)), [normal(3, 4)],
                False),
    "sum empty": (lambda L, F, a: a.sum(0), [EMPTY], False),
    "mean of empty": (lambda L, F, a: a.mean(), [EMPTY], False),
    # ---------------------------------------------------------------- shapes
    "view view_as": (lambda L, F, a, b: a.view(3, 2).view_as(b), [normal(2, 3), normal(6)], True,
                     [0]),
    "reshape -1": (lambda L, F, a: a.reshape(-1, 2), [normal(2, 3)], True),
    "flatten": (lambda L, F, a: L.flatten(a, 1), [normal(2, 3, 4)], True),
    "unsqueeze squeeze": (lambda L, F, a: a.unsqueeze(-1).squeeze(1), [normal(3, 1, 2)], True),
    "squeeze dim": (lambda L, F, a: a.squeeze(0), [normal(1, 3)], True),
    "permute": (lambda L, F, a: a.permute(2, 0, 1), [normal(2, 3, 4)], True),
    "transpose": (lambda L, F, a: a.transpose(0, -1), [normal(2, 3, 4)], True),
    "t": (lambda L, F, a: a.t(), [normal(2, 3)], True),
    "expand": (lambda L, F, a: a.expand(2, 3, 4), [normal(3, 1)], True),
    "expand -1": (lambda L, F, a: a.expand(-1, 4), [normal(3, 1)], True),
    "repeat": (lambda L, F, a: a.repeat(2, 1, 3), [normal(2, 3)], True),
    "cat": (lambda L, F, a, b: L.cat([a, b], dim=1), [normal(2, 3), normal(2, 2)], True),
    "cat negative dim": (lambda L, F, a, b: L.cat((a, b), -1), [normal(2, 3), normal(2, 2)], True),
    "stack": (lambda L, F, a, b: L.stack([a, b], dim=1), [normal(2, 3), normal(2, 3)], True),
    "chunk": (lambda L, F, a: a.chunk(3, dim=1), [normal(2, 7)], True),
    "split size": (lambda L, F, a: a.split(2), [normal(5, 2)], True),
    "split sections": (lambda L, F, a: L.split(a, [1, 3], dim=1), [normal(2, 4)], True),
    "unbind": (lambda L, F, a: a.unbind(1), [normal(2, 3)], True),
    "contiguous": (lambda L, F, a: a.t().contiguous(), [normal(2, 3)], True),
    "flip roll": (lambda L, F, a: a.flip(0).roll(1, 1), [normal(2, 3)], True),
    "gather": (lambda L, F, a, i: a.gather(1, i), [normal(3, 4), ints(3, 2, high=4)], True),
    "scatter": (lambda L, F, a, i, s: a.scatter(1, i, s),
                [normal(3, 4), np.array([[0], [2], [3]]), normal(3, 1)], True),
    "scatter value": (lambda L, F, a, i: a.scatter(0, i, 9.0), [normal(2, 3), np.array([[1, 0, 1]])],
                      False),
    "index_select": (lambda L, F, a, i: a.index_select(0, i), [normal(4, 2), np.array([3, 0, 3])],
                     True),
    "getitem mixed": (lambda L, F, a: a[1:, None, [0, 2]], [normal(3, 4)], True),
    "getitem mask": (lambda L, F, a: a[a > 0], [normal(3, 4)], True),
    "masked_select": (lambda L, F, a: a.masked_select(a > 0), [normal(3, 4)], True),
    "nonzero": (lambda L, F, a: L.nonzero(a > 0), [normal(3, 4)], False),
    "movedim": (lambda L, F, a: a.movedim(0, -1), [normal(2, 3, 4)], True),
    "narrow": (lambda L, F, a: a.narrow(1, 1, 2), [normal(2, 4)], True),
    # ---------------------------------------------------------------- conversions
    "item tolist": (lambda L, F, a: (a.sum().item(), a.tolist()), [normal(2, 2)], False),
    "size numel dim": (lambda L, F, a: (tuple(a.size()), a.size(1), a.numel(), a.dim()),
                       [normal(2, 3)], False),
    # finite differences see through detach() and padding_idx: torch is the oracle there
    "clone detach": (lambda L, F, a: a.clone() * 2 + a.detach(), [normal(3)], False),
    "float of int": (lambda L, F, a: a.float() / 2, [ints(4)], False),
    # ---------------------------------------------------------------- in place
    "add_ mul_ clamp_": (lambda L, F, a, b: (a * 1).add_(b).mul_(2).clamp_(-1, 1),
                         [normal(2, 3), normal(3)], True),
    "fill_ copy_ zero_": (lambda L, F, a, b: ((a * 1).fill_(2.0) + (a * 0).copy_(b * 3),
                                              (b * 1).zero_()), [normal(3), normal(3)], True),
    "+= -= *= /=": (lambda L, F, a, b: _augmented(a, b), [normal(4), positive(4)], True),
    "setitem": (lambda L, F, a, b: _assigned(a, b), [normal(3, 4), normal(4)], True),
    "sub_ div_ with alpha": (lambda L, F, a, b: (a * 1).sub_(b, alpha=0.5).div_(b),
                             [normal(3), positive(3)], True),
    "masked_fill_": (lambda L, F, a: (a * 1).masked_fill_(a > 0.5, -1.0), [normal(5)], True),
    "cpu numpy of detached": (lambda L, F, a: a.cpu().detach().numpy() * 2, [normal(3)], False),
    # ---------------------------------------------------------------- nn.functional
    "silu gelu": (lambda L, F, a: F.silu(a) + F.gelu(a) + F.gelu(a, approximate="tanh"),
                  [normal(6)], True),
    "relu6 hardswish hardsigmoid": (
        lambda L, F, a: F.relu6(a * 4) + F.hardswish(a * 3) + F.hardsigmoid(a * 2),
        [normal(8)], False),
    "elu selu celu": (lambda L, F, a: F.elu(a, 0.7) + F.selu(a) + F.celu(a, 1.5), [normal(6)],
                      True),
    "mish softplus": (lambda L, F, a: F.mish(a) + F.softplus(a, beta=2.0), [normal(6)], True),
    "logsigmoid softsign": (lambda L, F, a: F.logsigmoid(a) + F.softsign(a), [normal(6)], True),
    "hardtanh": (lambda L, F, a: F.hardtanh(a, -0.5, 0.5), [normal(6)], False),
    "prelu": (lambda L, F, a, w: F.prelu(a, w), [normal(2, 3, 2), positive(3) * 0.1], True),
    "softmax log_softmax": (lambda L, F, a: a.softmax(1) + L.log_softmax(a, dim=0),
                            [normal(3, 4)], True),
    "layer_norm": (lambda L, F, a, w, b: F.layer_norm(a, (4,), w, b), [normal(3, 4), normal(4),
                                                                      normal(4)], True),
    "group_norm": (lambda L, F, a, w, b: F.group_norm(a, 2, w, b),
                   [normal(2, 4, 3), normal(4), normal(4)], True),
    "instance_norm": (lambda L, F, a: F.instance_norm(a), [normal(2, 3, 4, 4)], True),
    "local_response_norm": (lambda L, F, a: F.local_response_norm(a, 3), [normal(2, 5, 2, 2)],
                            True),
    "normalize": (lambda L, F, a: F.normalize(a, dim=1), [normal(3, 4)], True),
    "cosine_similarity": (lambda L, F, a, b: F.cosine_similarity(a, b), [normal(3, 4),
                                                                         normal(3, 4)], True),
    "pairwise_distance": (lambda L, F, a, b: F.pairwise_distance(a, b), [normal(3, 4),
                                                                         normal(3, 4)], True),
    "one_hot": (lambda L, F, a: F.one_hot(a, 6), [ints(2, 3)], False),
    "one_hot inferred": (lambda L, F, a: F.one_hot(a), [ints(4)], False),
    "embedding": (lambda L, F, i, w: F.embedding(i, w, padding_idx=0), [ints(2, 3), normal(5, 2)],
                  False, [1]),
    "pad reflect": (lambda L, F, a: F.pad(a, (1, 2, 2, 1), mode="reflect"), [normal(1, 2, 4, 4)],
                    True),
    "pad circular": (lambda L, F, a: F.pad(a, (1, 1), mode="circular"), [normal(1, 2, 4)], True),
    "pad replicate": (lambda L, F, a: F.pad(a, (2, 0, 1, 1), mode="replicate"),
                      [normal(1, 1, 3, 3)], True),
    "pixel shuffle": (lambda L, F, a: F.pixel_unshuffle(F.pixel_shuffle(a, 2) * 2, 2),
                      [normal(1, 8, 2, 3)], True),
    "channel_shuffle": (lambda L, F, a: F.channel_shuffle(a, 2), [normal(1, 4, 2, 2)], True),
    "unfold": (lambda L, F, a: F.unfold(a, 2, dilation=1, padding=1, stride=2),
               [normal(2, 2, 4, 5)], True),
    "fold": (lambda L, F, a: F.fold(a, (4, 4), 2, stride=1), [normal(1, 8, 9)], True),
    "l1 smooth_l1 huber": (lambda L, F, a, b: F.l1_loss(a, b) + F.smooth_l1_loss(a, b, beta=0.5)
                           + F.huber_loss(a, b, delta=0.7), [normal(3, 4), normal(3, 4)], True),
    "bce": (lambda L, F, p, t, w: F.binary_cross_entropy(p, t, weight=w),
            [probabilities(3, 2), probabilities(3, 2), positive(2)], True, [0, 1]),
    "bce with logits pos_weight": (
        lambda L, F, a, t, w: F.binary_cross_entropy_with_logits(a, t, pos_weight=w),
        [normal(3, 2), probabilities(3, 2), positive(2)], True, [0, 1]),
    "kl_div": (lambda L, F, a, t: F.kl_div(a.log_softmax(1), t.softmax(1), reduction="batchmean"),
               [normal(3, 4), normal(3, 4)], True),
    "kl_div log_target": (lambda L, F, a, t: F.kl_div(a, t, reduction="sum", log_target=True),
                          [normal(3, 4), normal(3, 4)], True),
    "cross_entropy options": (
        lambda L, F, a, t, w: F.cross_entropy(a, t, weight=w, ignore_index=1, label_smoothing=0.1),
        [normal(6, 4), ints(6, high=4), positive(4)], True, [0]),
    "nll_loss": (lambda L, F, a, t: F.nll_loss(a.log_softmax(1), t), [normal(5, 3), ints(5, high=3)],
                 True),
    "mse sum": (lambda L, F, a, b: F.mse_loss(a, b, reduction="sum"), [normal(4), normal(4)], True),
}


@pytest.mark.parametrize("make", [
    lambda L: L.rand(2, 3), lambda L: L.randn(4), lambda L: L.randint(0, 5, (3,)),
    lambda L: L.randint(7, (2, 2)), lambda L: L.randperm(4), lambda L: L.normal(0.0, 1.0, (3,)),
    lambda L: L.normal(L.zeros(2, dtype=L.float64), 1.0), lambda L: L.empty(2, 0),
    lambda L: L.rand(3, dtype=L.float64), lambda L: L.randn_like(L.zeros(2, dtype=L.float64)),
    lambda L: L.rand(2, generator=L.Generator().manual_seed(1))],
    ids=["rand", "randn", "randint", "randint high", "randperm", "normal", "normal tensor mean",
         "empty", "rand float64", "randn_like", "rand generator"])
def test_random_creation_shapes_and_dtypes_as_torch(make):
    expected, actual = make(torch), make(convnet)
    assert actual.shape == tuple(expected.shape) and actual.dtype == expected.numpy().dtype


# name: fn(lib, F) that must raise the same exception type in both libraries
ERRORS = {
    "cat shapes": lambda L, F: L.cat([L.zeros(2, 3), L.zeros(3, 2)], dim=0),
    "view size": lambda L, F: L.zeros(2, 3).view(4, 2),
    "dim out of range": lambda L, F: L.zeros(2, 3).sum(dim=5),
    "unsqueeze range": lambda L, F: L.zeros(2).unsqueeze(3),
    "matmul shapes": lambda L, F: L.zeros(2, 3) @ L.zeros(2, 3),
    "item of many": lambda L, F: L.zeros(3).item(),
    "bool of many": lambda L, F: bool(L.zeros(3)),
    "mean of int": lambda L, F: L.tensor([1, 2]).mean(),
    "int requires grad": lambda L, F: L.tensor([1, 2], requires_grad=True),
    "backward twice": lambda L, F: _backward_twice(L),
    "leaf in-place": lambda L, F: L.ones(2, requires_grad=True).add_(1),
    "in-place saved": lambda L, F: _modified_saved(L),
    "int += float": lambda L, F: L.tensor([1, 2]).add_(0.5),
    "gather dims": lambda L, F: L.zeros(2, 3).gather(1, L.zeros(2, dtype=L.int64)),
    "one_hot small": lambda L, F: F.one_hot(L.tensor([3]), 2),
    "where not bool": lambda L, F: L.where(L.tensor([1, 0]), L.zeros(2), L.ones(2)),
    "cuda device": lambda L, F: L.zeros(2).to("cuda") if not L.cuda.is_available()
    else L.tensor([]).item(),
    "topk too many": lambda L, F: L.zeros(3).topk(4),
    "chunk zero": lambda L, F: L.zeros(3).chunk(0),
    "expand mismatch": lambda L, F: L.zeros(3, 2).expand(3, 4),
    "permute not permutation": lambda L, F: L.zeros(2, 3).permute(0, 0),
    "numpy with grad": lambda L, F: L.zeros(2, requires_grad=True).numpy(),
    "bce out of range": lambda L, F: F.binary_cross_entropy(L.tensor([1.5]), L.tensor([1.0])),
    "masked_fill mask dtype": lambda L, F: L.zeros(2).masked_fill(L.tensor([1, 0]), 1.0),
    "randint bounds": lambda L, F: L.randint(5, 2, (3,)),
    "negative size": lambda L, F: L.zeros(-1),
}


def _augmented(a, b):
    out = a * 1
    out += b
    out -= 0.5
    out *= b
    out /= 2.0
    return out


def _assigned(a, b):
    out = a * 2
    out[0] = b
    out[1:, 1] = 7.0
    out[out > 5] = 0.0
    return out


def _backward_twice(L):
    w = L.ones(2, requires_grad=True)
    y = (w * w).sum()
    y.backward()
    y.backward()


def _modified_saved(L):
    w = L.ones(2, requires_grad=True)
    y = (w * 2).exp()
    y.mul_(2)
    y.sum().backward()


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, convnet.Tensor):
        return value.data
    return value


def _flatten(value) -> list:
    """Tuples (several results, (values, indices) pairs) flattened; lists are values."""
    if isinstance(value, tuple):
        return [item for part in value for item in _flatten(part)]
    return [value]


def _run(lib, fn, arrays, differentiable):
    functional = TF if lib is torch else CF
    inputs = [lib.tensor(a, requires_grad=i in differentiable) for i, a in enumerate(arrays)]
    return inputs, fn(lib, functional, *inputs)


def _float_outputs(outputs) -> list:
    return [o for o in outputs if isinstance(o, (torch.Tensor, convnet.Tensor))
            and o.dtype in (torch.float64, np.float64) and o.requires_grad]


@pytest.mark.parametrize("name", list(CASES))
def test_same_results_as_torch(name):
    fn, arrays, finite_differences, *only = CASES[name]
    differentiable = only[0] if only else [i for i, a in enumerate(arrays) if a.dtype.kind == "f"]
    torch_inputs, torch_out = _run(torch, fn, arrays, differentiable)
    ours_inputs, ours_out = _run(convnet, fn, arrays, differentiable)
    theirs, ours = _flatten(torch_out), _flatten(ours_out)
    assert len(theirs) == len(ours), f"{name}: {len(ours)} outputs, torch gives {len(theirs)}"
    for index, (expected, actual) in enumerate(zip(theirs, ours)):
        expected, actual = _to_numpy(expected), _to_numpy(actual)
        if isinstance(expected, np.ndarray):
            assert isinstance(actual, np.ndarray), f"{name}[{index}]: not a tensor: {actual!r}"
            assert actual.dtype == expected.dtype, f"{name}[{index}]: {actual.dtype} vs {expected.dtype}"
            assert actual.shape == expected.shape, f"{name}[{index}]: {actual.shape} vs {expected.shape}"
            np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7, equal_nan=True,
                                       err_msg=f"{name}[{index}]")
        else:
            assert type(actual) is type(expected) and np.allclose(actual, expected), (
                f"{name}[{index}]: {actual!r} vs {expected!r}")
    theirs_float, ours_float = _float_outputs(theirs), _float_outputs(ours)
    assert len(theirs_float) == len(ours_float)
    if not ours_float:
        return
    upstream = [RNG.standard_normal(o.shape) for o in ours_float]
    sum(((o * torch.tensor(g)).sum() for o, g in zip(theirs_float, upstream))).backward()
    sum(((o * convnet.tensor(g)).sum() for o, g in zip(ours_float, upstream))).backward()
    for index, (expected, actual) in enumerate(zip(torch_inputs, ours_inputs)):
        if expected.grad is None:
            assert actual.grad is None or not np.any(actual.grad), f"{name}: grad {index}"
            continue
        np.testing.assert_allclose(actual.grad, expected.grad.numpy(), rtol=1e-6, atol=1e-8,
                                   err_msg=f"{name}: gradient of input {index}")
    if finite_differences:
        def scalar(*floats):
            given = iter(floats)
            tensors = [next(given) if i in differentiable else convnet.tensor(a)
                       for i, a in enumerate(arrays)]
            return next(o for o in _flatten(fn(convnet, CF, *tensors))
                        if isinstance(o, convnet.Tensor) and o.dtype == np.float64)
        check_gradients(scalar, *[arrays[i] for i in differentiable])


@pytest.mark.parametrize("name", list(ERRORS))
def test_same_errors_as_torch(name):
    with pytest.raises(Exception) as theirs:
        ERRORS[name](torch, TF)
    with pytest.raises(Exception) as ours:
        ERRORS[name](convnet, CF)
    assert isinstance(ours.value, theirs.type), (
        f"{name}: convnet raised {ours.type.__name__}({ours.value}), torch "
        f"{theirs.type.__name__}({theirs.value})")
