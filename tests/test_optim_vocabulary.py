"""The rest of torch.optim's vocabulary against PyTorch (the oracle).

Optimizers (RMSprop, Adagrad, Adadelta, NAdam, RAdam, Adamax, Adam/AdamW with amsgrad)
train the same float64 least-squares problem for 20 steps in both libraries, each
library computing its own gradients (NumPy formulas here, autograd in torch); the bias
gets no gradient every fourth step, so skipping is checked too. Schedulers are compared
rate by rate (and momentum by momentum for OneCycleLR), across a state-dict resume.
"""

from __future__ import annotations

import functools
import inspect
import math
import types

import numpy as np
import pytest

import convnet.nn as nn
from convnet import optim
from convnet.nn import utils as nn_utils

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((8, 3)), RNG.standard_normal((8, 2))
W0, B0 = RNG.standard_normal((3, 2)), RNG.standard_normal(2)
OPTIMIZERS = ("RMSprop", "Adagrad", "Adadelta", "NAdam", "RAdam", "Adamax", "Adam", "AdamW")
OURS = types.SimpleNamespace(
    name="convnet", optim=optim, sched=optim.lr_scheduler,
    param=lambda a: nn.Parameter(np.array(a, dtype=np.float64)),
    value=lambda p: p.data, opt=lambda name: getattr(optim, name))
THEIRS = types.SimpleNamespace(
    name="torch", optim=torch.optim, sched=torch.optim.lr_scheduler,
    param=lambda a: torch.nn.Parameter(torch.tensor(np.array(a, dtype=np.float64))),
    value=lambda p: p.detach().numpy(),
    opt=lambda name: functools.partial(getattr(torch.optim, name), foreach=False))


def set_gradients(lib, weight, bias, step):
    """Least squares ``0.5 * sum((X w + b - Y)**2) / N``, differentiated by each library."""
    if lib is OURS:
        residual = X @ weight.data + bias.data - Y
        weight.grad, bias.grad = X.T @ residual / len(X), residual.mean(axis=0)
    else:
        weight.grad = bias.grad = None
        loss = 0.5 * ((torch.from_numpy(X) @ weight + bias - torch.from_numpy(Y)) ** 2).sum()
        (loss / len(X)).backward()
    if step % 4 == 3:
        bias.grad = None


def build(lib, name, options, groups, weight=W0, bias=B0):
    params = [lib.param(weight), lib.param(bias)]
    if groups:  # the bias in its own group, at a different rate
        lr = options.get("lr", inspect.signature(getattr(optim, name)).parameters["lr"].default)
        spec = [{"params": params[:1]}, {"params": params[1:], "lr": 0.3 * lr}]
    else:
        spec = params
    return params, lib.opt(name)(spec, **options)


def train(lib, params, opt, steps, start=0):
    for step in range(start, start + steps):
        set_gradients(lib, *params, step)
        opt.step()


CONFIGS = {
    "RMSprop": dict(),
    "RMSprop-decay": dict(lr=0.02, alpha=0.9, weight_decay=0.1),
    "RMSprop-momentum": dict(momentum=0.9, eps=1e-4),
    "RMSprop-centered": dict(centered=True),
    "RMSprop-centered-momentum": dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01),
    "Adagrad": dict(),
    "Adagrad-all": dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.5,
                        eps=1e-6),
    "Adadelta": dict(),
    "Adadelta-all": dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1),
    "NAdam": dict(),
    "NAdam-decay": dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, momentum_decay=0.01),
    "NAdam-decoupled": dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    "RAdam": dict(lr=0.01),
    "RAdam-decay": dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1),
    "RAdam-decoupled": dict(lr=0.01, betas=(0.7, 0.8), weight_decay=0.1,
                            decoupled_weight_decay=True),
    "Adamax": dict(),
    "Adamax-all": dict(lr=0.01, betas=(0.7, 0.9), eps=1e-3, weight_decay=0.1),
    "Adam-amsgrad": dict(lr=0.01, amsgrad=True, weight_decay=0.05),
    "AdamW-amsgrad": dict(lr=0.01, amsgrad=True, betas=(0.6, 0.9)),
}


@pytest.mark.parametrize("groups", [False, True], ids=["one-group", "two-groups"])
@pytest.mark.parametrize("config", CONFIGS)
def test_optimizer_trajectory_matches_torch(config, groups):
    name = config.split("-")[0]
    trained = []
    for lib in (OURS, THEIRS):
        params, opt = build(lib, name, CONFIGS[config], groups)
        train(lib, params, opt, 20)
        trained.append([lib.value(p) for p in params])
    for mine, theirs in zip(*trained):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-12)
    assert not np.allclose(trained[0][0], W0)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_mid_run(name):
    options = dict(weight_decay=0.01, lr=0.01)
    params, opt = build(OURS, name, options, groups=True)
    reference_params, reference = build(THEIRS, name, options, groups=True)
    train(OURS, params, opt, 10)
    train(THEIRS, reference_params, reference, 10)
    saved = opt.state_dict()
    expected = reference.state_dict()
    assert {k: sorted(v) for k, v in saved["state"].items()} == {
        k: sorted(v) for k, v in expected["state"].items()}
    assert [g["params"] for g in saved["param_groups"]] == [
        g["params"] for g in expected["param_groups"]]
    copies, resumed = build(OURS, name, dict(lr=0.5), groups=True, weight=params[0].data,
                            bias=params[1].data)
    resumed.load_state_dict(saved)
    train(OURS, params, opt, 10, start=10)
    train(OURS, copies, resumed, 10, start=10)
    train(THEIRS, reference_params, reference, 10, start=10)
    for mine, again, theirs in zip(params, copies, reference_params):
        np.testing.assert_array_equal(again.data, mine.data)
        np.testing.assert_allclose(mine.data, THEIRS.value(theirs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_stays_float32(name):
    values = []
    for lib, cast in ((OURS, lambda a: nn.Parameter(a.astype(np.float32))),
                      (THEIRS, lambda a: torch.nn.Parameter(torch.tensor(a, dtype=torch.float32)))):
        params = [cast(W0), cast(B0)]
        opt = lib.opt(name)(params, lr=0.01)
        for step in range(5):
            for param, grad in zip(params, (np.cos(step + W0), np.sin(step + B0))):
                param.grad = grad.astype(np.float32) if lib is OURS else torch.tensor(
                    grad, dtype=torch.float32)
            opt.step()
        values.append([lib.value(p) for p in params])
    for mine, theirs in zip(*values):
        assert mine.dtype == np.float32
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_signature_and_defaults_match_torch(name):
    torch_only = {"foreach", "maximize", "capturable", "differentiable", "fused"}
    if name == "Adam":  # convnet spells Adam(decoupled_weight_decay=True) as AdamW
        torch_only.add("decoupled_weight_decay")
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = {key: value for key, value in inspect.signature(getattr(torch.optim, name))
              .parameters.items() if key not in torch_only}
    assert list(ours) == list(theirs)
    assert {k: p.default for k, p in ours.items()} == {k: p.default for k, p in theirs.items()}


# ------------------------------------------------------------------ schedulers
def lambda_decay(epoch):
    return 0.9 ** epoch


SCHEDULERS = {  # name: (build from (scheduler module, optimizer), optimizer class)
    "LambdaLR": (lambda s, o: s.LambdaLR(o, lambda_decay), "SGD"),
    "LambdaLR-list": (lambda s, o: s.LambdaLR(o, [lambda_decay, lambda e: 1 / (1 + e)]), "SGD"),
    "MultiplicativeLR": (lambda s, o: s.MultiplicativeLR(o, lambda e: 0.8 if e % 3 else 1.1),
                         "SGD"),
    "MultiStepLR": (lambda s, o: s.MultiStepLR(o, [3, 7, 7, 12], gamma=0.5), "SGD"),
    "ExponentialLR": (lambda s, o: s.ExponentialLR(o, gamma=0.9), "SGD"),
    "ConstantLR": (lambda s, o: s.ConstantLR(o), "SGD"),
    "ConstantLR-factor": (lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=8), "SGD"),
    "LinearLR": (lambda s, o: s.LinearLR(o), "SGD"),
    "LinearLR-down": (lambda s, o: s.LinearLR(o, 1.0, 0.1, total_iters=11), "SGD"),
    "PolynomialLR": (lambda s, o: s.PolynomialLR(o), "SGD"),
    "PolynomialLR-power": (lambda s, o: s.PolynomialLR(o, total_iters=15, power=2.5), "SGD"),
    "CosineWarmRestarts": (lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=4), "SGD"),
    "CosineWarmRestarts-mult": (lambda s, o: s.CosineAnnealingWarmRestarts(
        o, T_0=2, T_mult=2, eta_min=0.01), "SGD"),
    "OneCycleLR": (lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=25), "SGD"),
    "OneCycleLR-linear-3phase": (lambda s, o: s.OneCycleLR(
        o, max_lr=[1.0, 0.5], epochs=5, steps_per_epoch=6, pct_start=0.25,
        anneal_strategy="linear", three_phase=True, div_factor=10.0), "SGD"),
    "OneCycleLR-adam": (lambda s, o: s.OneCycleLR(
        o, max_lr=0.01, total_steps=30, base_momentum=[0.8, 0.7], max_momentum=0.9), "Adam"),
    "OneCycleLR-nadam-3phase": (lambda s, o: s.OneCycleLR(
        o, max_lr=0.01, total_steps=27, three_phase=True), "NAdam"),
    "OneCycleLR-rmsprop-no-momentum": (lambda s, o: s.OneCycleLR(
        o, max_lr=0.1, total_steps=26, cycle_momentum=False, final_div_factor=10.0), "RMSprop"),
    "Sequential-linear-exponential": (lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, 0.1, total_iters=4), s.ExponentialLR(o, 0.9)], [4]), "SGD"),
    "Sequential-three": (lambda s, o: s.SequentialLR(
        o, [s.ConstantLR(o, 0.5, 2), s.CosineAnnealingWarmRestarts(o, 3),
            s.PolynomialLR(o, 10, 2.0)], [3, 11]), "SGD"),
    "Sequential-lambda-multistep": (lambda s, o: s.SequentialLR(
        o, [s.LambdaLR(o, lambda_decay), s.MultiStepLR(o, [2, 5])], [6]), "SGD"),
    "Plateau": (lambda s, o: s.ReduceLROnPlateau(o, patience=2), "SGD"),
    "Plateau-max-abs-cooldown": (lambda s, o: s.ReduceLROnPlateau(
        o, mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs",
        cooldown=2, min_lr=[0.02, 0.01]), "SGD"),
    "Plateau-min-lr-eps": (lambda s, o: s.ReduceLROnPlateau(
        o, factor=0.3, patience=0, min_lr=0.004, eps=1e-3, threshold=0.0), "SGD"),
}
METRICS = [5.0, 4.0, 4.5, 4.4, 4.3, 4.2, 3.0, 3.0, 3.0, 2.9999, 3.1, 1.0, 1.2, 1.1, 1.05,
           1.0, 0.9, 0.9, 0.95, 2.0, 0.5, 0.5, 0.6, 0.7, 0.8]


def scheduled(lib, name):
    make, kind = SCHEDULERS[name]
    params = [lib.param(W0), lib.param(B0)]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
    opt = getattr(lib.optim, kind)(groups, lr=0.1, **({"momentum": 0.9} if kind == "SGD" else {}))
    return opt, make(lib.sched, opt)


def observe(opt, scheduler):
    lrs = list(scheduler.get_last_lr())
    assert lrs == [group["lr"] for group in opt.param_groups]
    momenta = [group["betas"][0] if "betas" in group else group.get("momentum")
               for group in opt.param_groups]
    return lrs + momenta


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_matches_torch_at_every_step_across_a_resume(name):
    traces = []
    for lib in (OURS, THEIRS):
        opt, scheduler = scheduled(lib, name)
        trace = [observe(opt, scheduler)]
        for step in range(25):
            if step == 12 and lib is OURS:
                saved_opt, saved = opt.state_dict(), scheduler.state_dict()
                opt, scheduler = scheduled(lib, name)
                opt.load_state_dict(saved_opt)
                scheduler.load_state_dict(saved)
            opt.step()
            scheduler.step(METRICS[step]) if name.startswith("Plateau") else scheduler.step()
            trace.append(observe(opt, scheduler))
        traces.append(np.array(trace, dtype=np.float64))
    np.testing.assert_allclose(traces[0], traces[1], rtol=1e-13, atol=0)
    assert len(np.unique(traces[0][:, 0])) > 1, "the schedule should move"


def test_warm_restarts_with_fractional_epochs():
    epochs = [0.5, 1.25, 3.7, 4.0, 9.1, 2.5, 0, 17.3]
    for T_mult in (1, 2, 3):
        rates = []
        for lib in (OURS, THEIRS):
            opt, _ = scheduled(lib, "LambdaLR")
            scheduler = lib.sched.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=T_mult)
            for epoch in epochs:
                scheduler.step(epoch)
            rates.append(scheduler.get_last_lr() + [scheduler.T_cur, scheduler.T_i])
        np.testing.assert_allclose(rates[0], rates[1], rtol=1e-13)


# ------------------------------------------------------------------ nn.utils
def gradients_pair(dtype):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in [(4, 3), (3,), (2, 2)]]
    grads = [3 * rng.standard_normal(a.shape).astype(dtype) for a in arrays]
    ours = [nn.Parameter(a.copy()) for a in arrays]
    theirs = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    for index, (mine, their, grad) in enumerate(zip(ours, theirs, grads)):
        if index != 1:  # the middle one has no gradient
            mine.grad, their.grad = grad.copy(), torch.from_numpy(grad.copy())
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3.5, 0])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ours, theirs = gradients_pair(dtype)
    total = nn_utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    tol = dict(rtol=1e-12) if dtype == np.float64 else dict(rtol=1e-6)
    np.testing.assert_allclose(float(total), expected.item(), **tol)
    assert np.asarray(total).dtype == dtype
    for mine, their in zip(ours, theirs):
        assert (mine.grad is None) == (their.grad is None)
        if mine.grad is not None:
            assert mine.grad.dtype == dtype
            np.testing.assert_allclose(mine.grad, their.grad.numpy(), **tol)


def test_clip_grad_value_and_vectors_match_torch():
    ours, theirs = gradients_pair(np.float64)
    nn_utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for mine, their in zip(ours[::2], theirs[::2]):
        np.testing.assert_array_equal(mine.grad, their.grad.numpy())
    single = nn.Parameter(np.zeros(2))
    single.grad = np.array([np.nan, 7.0])
    assert math.isnan(float(nn_utils.clip_grad_norm_(single, 1.0)))
    vector = nn_utils.parameters_to_vector(ours)
    np.testing.assert_array_equal(
        vector.data, torch.nn.utils.parameters_to_vector(theirs).detach().numpy())
    storage = ours[0].data
    new = np.arange(vector.data.size, dtype=np.float64)
    for source in (new, nn_utils.parameters_to_vector(ours) * 0 + new):
        nn_utils.vector_to_parameters(source, ours)
        with torch.no_grad():
            torch.nn.utils.vector_to_parameters(torch.from_numpy(new.copy()), theirs)
        for mine, their in zip(ours, theirs):
            np.testing.assert_array_equal(mine.data, their.detach().numpy())
    assert ours[0].data is storage, "parameters are filled in place"


# ------------------------------------------------------------------ errors
def sgd(lib):
    return lib.optim.SGD([lib.param([1.0, 2.0])], lr=0.1, momentum=0.9)


def stepped_too_far(lib):
    opt = sgd(lib)
    scheduler = lib.sched.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    for _ in range(3):
        opt.step()
        scheduler.step()


def p(lib):
    return [lib.param([1.0, 2.0])]


BAD = [  # (call on a library namespace, exception torch raises)
    *[(lambda L, n=name, k=key: getattr(L.optim, n)(p(L), **{k: -0.5}), ValueError)
      for name, keys in [("RMSprop", ["lr", "alpha", "eps", "weight_decay", "momentum"]),
                         ("Adagrad", ["lr", "lr_decay", "weight_decay",
                                      "initial_accumulator_value", "eps"]),
                         ("Adadelta", ["lr", "rho", "eps", "weight_decay"]),
                         ("NAdam", ["lr", "eps", "weight_decay", "momentum_decay"]),
                         ("RAdam", ["lr", "eps", "weight_decay"]),
                         ("Adamax", ["lr", "eps", "weight_decay"])] for key in keys],
    (lambda L: L.optim.Adadelta(p(L), rho=1.5), ValueError),
    *[(lambda L, n=name, b=betas: getattr(L.optim, n)(p(L), betas=b), ValueError)
      for name in ("NAdam", "RAdam", "Adamax") for betas in [(1.0, 0.9), (0.9, 1.0), (-0.1, 0.9)]],
    (lambda L: L.optim.RMSprop(p(L), lr="fast"), TypeError),
    (lambda L: L.sched.LinearLR(sgd(L), start_factor=0), ValueError),
    (lambda L: L.sched.LinearLR(sgd(L), end_factor=1.5), ValueError),
    (lambda L: L.sched.ConstantLR(sgd(L), factor=1.5), ValueError),
    (lambda L: L.sched.LambdaLR(sgd(L), [lambda_decay, lambda_decay]), ValueError),
    (lambda L: L.sched.MultiplicativeLR(sgd(L), 0.9), TypeError),
    (lambda L: L.sched.CosineAnnealingWarmRestarts(sgd(L), T_0=0), ValueError),
    (lambda L: L.sched.CosineAnnealingWarmRestarts(sgd(L), T_0=2.5), ValueError),
    (lambda L: L.sched.CosineAnnealingWarmRestarts(sgd(L), T_0=2, T_mult=0), ValueError),
    (lambda L: L.sched.CosineAnnealingWarmRestarts(sgd(L), T_0=2, eta_min="0"), ValueError),
    (lambda L: L.sched.CosineAnnealingWarmRestarts(sgd(L), T_0=2).step(-1), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), max_lr=1.0), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), max_lr=1.0, total_steps=0), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), 1.0, epochs=2, steps_per_epoch=0), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), 1.0, 10, pct_start=1.5), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), 1.0, 10, pct_start=1), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), 1.0, 10, anneal_strategy="exp"), ValueError),
    (lambda L: L.sched.OneCycleLR(sgd(L), [1.0, 2.0], 10), ValueError),
    (lambda L: L.sched.OneCycleLR(L.optim.Adagrad(p(L)), 1.0, 10), ValueError),
    (stepped_too_far, ValueError),
    (lambda L: L.sched.OneCycleLR(object(), 1.0, 10), TypeError),
    (lambda L: L.sched.ReduceLROnPlateau(sgd(L), factor=1.0), ValueError),
    (lambda L: L.sched.ReduceLROnPlateau(sgd(L), mode="lowest"), ValueError),
    (lambda L: L.sched.ReduceLROnPlateau(sgd(L), threshold_mode="pct"), ValueError),
    (lambda L: L.sched.ReduceLROnPlateau(sgd(L), min_lr=[0.1, 0.2]), ValueError),
    (lambda L: L.sched.ReduceLROnPlateau(object()), TypeError),
    (lambda L: (lambda o: L.sched.SequentialLR(o, [L.sched.ReduceLROnPlateau(o)], []))(sgd(L)),
     ValueError),
    (lambda L: (lambda o: L.sched.SequentialLR(o, [L.sched.ExponentialLR(o, 0.9), object()],
                                               [2]))(sgd(L)), TypeError),
]
@pytest.mark.parametrize("call, error", BAD)
def test_bad_arguments_raise_what_torch_raises(call, error):
    with pytest.raises(error):
        call(THEIRS)
    with pytest.raises(error):
        call(OURS)


def test_utils_bad_arguments_raise_what_torch_raises():
    for utils, lib, array in ((torch.nn.utils, THEIRS, functools.partial(torch.tensor,
                                                                        dtype=torch.float64)),
                              (nn_utils, OURS, np.array)):
        weight = lib.param([1.0, 2.0])
        weight.grad = array([math.inf, 1.0])
        with pytest.raises(RuntimeError):
            utils.clip_grad_norm_([weight], 1.0, error_if_nonfinite=True)
        with pytest.raises(TypeError):
            utils.vector_to_parameters([1.0, 2.0], [weight])
