"""convnet.optim against PyTorch (the oracle): SGD, Adam, AdamW, schedulers, state dicts.

Both get the same parameters and gradients (random ``.grad``; none for the last parameter
on odd steps, so skipping is checked too); parameters are compared after every step.
"""

from __future__ import annotations

import functools
import types

import numpy as np
import pytest

import convnet.nn as nn
from convnet import optim

torch = pytest.importorskip("torch")

F64 = dict(rtol=1e-12, atol=1e-12)
SHAPES = [(4, 3, 3, 3), (4,), (5, 6), (1,)]  # conv weight, its bias, linear weight, its bias

# torch's single-tensor code path is the one convnet reproduces operation for operation
TORCH = types.SimpleNamespace(**{name: functools.partial(getattr(torch.optim, name), foreach=False)
                                 for name in ("SGD", "Adam", "AdamW")})


def make_pair(shapes=SHAPES, dtype=np.float64):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    return ([nn.Parameter(a.copy()) for a in arrays],
            [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays])


def random_grads(rng, params, step):
    grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]
    return grads[:-1] + [None] if step % 2 else grads


def set_grads(grads, theirs, *ours):
    for params in ours:
        for param, grad in zip(params, grads):
            param.grad = None if grad is None else grad.copy()
    for param, grad in zip(theirs, grads):
        param.grad = None if grad is None else torch.from_numpy(grad.copy())


def bias_exempt_groups(params, lr):
    """Weights decay; biases (the notes' framework) do not, and here get half the lr."""
    return [{"params": [params[0], params[2]]},
            {"params": [params[1], params[3]], "weight_decay": 0, "lr": 0.5 * lr}]


def compare_training(build, steps=8, dtype=np.float64):
    """Run ``build(lib, params)`` in both libraries on the same gradients; compare each step."""
    tol = F64 if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    ours, theirs = make_pair(dtype=dtype)
    opt, reference = build(optim, ours), build(TORCH, theirs)
    rng = np.random.default_rng(1)
    for step in range(steps):
        set_grads(random_grads(rng, ours, step), theirs, ours)
        opt.step()
        reference.step()
        for mine, expected in zip(ours, theirs):
            assert mine.data.dtype == dtype
            np.testing.assert_allclose(mine.data, expected.detach().numpy(), **tol,
                                       err_msg=f"after step {step + 1}")
    return opt


CONFIGS = {
    "SGD": dict(lr=0.1),
    "SGD-momentum": dict(lr=0.05, momentum=0.9),
    "SGD-decay": dict(lr=0.1, weight_decay=1e-2),
    "SGD-notes-momentum-decay": dict(lr=0.01, momentum=0.9, weight_decay=5e-3),
    "SGD-nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "SGD-nesterov-decay": dict(lr=0.05, momentum=0.8, weight_decay=1e-3, nesterov=True),
    "SGD-dampening": dict(lr=0.05, momentum=0.9, dampening=0.3),
    "SGD-dampening-decay": dict(lr=0.05, momentum=0.5, dampening=0.9, weight_decay=0.1),
    "Adam": dict(),
    "Adam-betas-eps": dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    "Adam-decay": dict(lr=0.01, weight_decay=0.1),
    "Adam-amsgrad": dict(lr=0.01, amsgrad=True),
    "Adam-amsgrad-decay": dict(lr=0.01, weight_decay=1e-2, amsgrad=True, betas=(0.5, 0.9)),
    "AdamW": dict(),
    "AdamW-decay": dict(lr=0.01, weight_decay=0.2),
    "AdamW-amsgrad": dict(lr=0.01, amsgrad=True, betas=(0.7, 0.95)),
    # parameter groups: biases exempt from decay (and at half the learning rate)
    "SGD-groups": dict(lr=0.01, momentum=0.9, weight_decay=5e-3, groups=True),
    "Adam-groups": dict(lr=0.01, weight_decay=5e-3, groups=True),
    "AdamW-groups": dict(lr=0.01, weight_decay=5e-3, groups=True),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CONFIGS)
def test_optimizer_matches_torch(name, dtype):
    options = dict(CONFIGS[name])
    groups = options.pop("groups", False)

    def build(lib, params):
        params = bias_exempt_groups(params, options["lr"]) if groups else params
        return getattr(lib, name.split("-")[0])(params, **options)
    opt = compare_training(build, steps=10, dtype=dtype)
    if groups:
        assert [g["weight_decay"] for g in opt.param_groups] == [5e-3, 0]


def test_sgd_is_the_notes_update_by_hand():
    # seed 000, "Update": delta_t = dL/dw + lambda*w + m*delta_{t-1};  w = w - eta*delta_t
    eta, m, lam = 0.1, 0.9, 5e-3
    w0 = np.array([[1.0, -2.0], [0.5, 3.0]])
    g1, g2 = np.array([[0.2, -0.4], [1.0, 0.0]]), np.array([[-0.3, 0.1], [0.5, 2.0]])
    delta1 = g1 + lam * w0 + m * np.zeros_like(w0)
    w1 = w0 - eta * delta1
    delta2 = g2 + lam * w1 + m * delta1
    w2 = w1 - eta * delta2

    param = nn.Parameter(w0.copy())
    storage = param.data
    opt = optim.SGD([param], lr=eta, momentum=m, weight_decay=lam)
    for grad, expected in [(g1, w1), (g2, w2)]:
        param.grad = grad.copy()
        opt.step()
        np.testing.assert_allclose(param.data, expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(opt.state[param]["momentum_buffer"], delta2, rtol=1e-15, atol=0)
    assert param.data is storage, "the update must be in place, never rebind p.data"


def test_updates_in_place_shared_with_module_state_dict():
    model = nn.Linear(3, 2)
    storage = model.state_dict()
    before = {key: value.copy() for key, value in storage.items()}
    opt = optim.Adam(model.parameters(), lr=0.1)  # a generator of Parameters
    weight, bias = model.parameters()
    weight.grad = np.ones_like(weight.data)
    opt.step()  # bias has no gradient: skipped
    for key, array in model.state_dict().items():
        assert array is storage[key]
        assert np.allclose(array, before[key]) == (key == "bias")
    opt.zero_grad(set_to_none=False)
    assert np.array_equal(weight.grad, np.zeros_like(weight.data)) and bias.grad is None
    opt.zero_grad()
    assert weight.grad is None


# ------------------------------------------------------------------ state dicts
def is_plain(value):
    if isinstance(value, dict):
        return all(isinstance(k, (str, int)) and is_plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(is_plain(v) for v in value)
    return isinstance(value, (int, float, bool, np.ndarray)) or value is None


@pytest.mark.parametrize("cls, options", [
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=5e-3, nesterov=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=1e-3)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.9))),
])
def test_state_dict_round_trip(cls, options):
    def build(lib, params):
        return getattr(lib, cls)(bias_exempt_groups(params, options["lr"]), **options)

    ours, theirs = make_pair()
    opt, reference = build(optim, ours), build(TORCH, theirs)
    rng = np.random.default_rng(2)
    grads = [random_grads(rng, ours, step) for step in range(6)]
    for step in range(3):
        set_grads(grads[step], theirs, ours)
        opt.step()
        reference.step()
    saved = opt.state_dict()
    assert is_plain(saved)
    expected = reference.state_dict()  # parameters by index, with the same buffers
    assert [g["params"] for g in saved["param_groups"]] == [
        g["params"] for g in expected["param_groups"]]
    assert {k: sorted(v) for k, v in saved["state"].items()} == {
        k: sorted(v) for k, v in expected["state"].items()}
    snapshot = {k: {n: np.copy(v) for n, v in s.items()} for k, s in saved["state"].items()}

    copies = [nn.Parameter(p.data.copy()) for p in ours]
    resumed = build(optim, copies)
    resumed.load_state_dict(saved)
    for step in range(3, 6):
        set_grads(grads[step], theirs, ours, copies)
        opt.step()
        resumed.step()
        reference.step()
        for original, copy_, expected in zip(ours, copies, theirs):
            np.testing.assert_array_equal(copy_.data, original.data)
            np.testing.assert_allclose(copy_.data, expected.detach().numpy(), **F64)
    for key, state in saved["state"].items():  # a snapshot: training on did not change it
        for name, value in state.items():
            np.testing.assert_array_equal(value, snapshot[key][name])
    assert resumed.param_groups[1]["weight_decay"] == 0


def test_load_state_dict_rejects_other_layout():
    params = [nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))]
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="parameter group 0"):
        optim.SGD([nn.Parameter(np.ones(3))], lr=0.1).load_state_dict(opt.state_dict())
    split = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="parameter groups"):
        split.load_state_dict(opt.state_dict())


# ------------------------------------------------------------------ schedulers
SCHEDULERS = {  # name: (convnet scheduler, torch scheduler or None for the same call, steps)
    "StepLR": (lambda s, o: s.StepLR(o, step_size=3, gamma=0.5), None, 12),
    "Cosine": (lambda s, o: s.CosineAnnealingLR(o, T_max=7), None, 21),
    "Cosine-eta_min": (lambda s, o: s.CosineAnnealingLR(o, T_max=5, eta_min=0.01), None, 15),
    "LinearWarmup": (lambda s, o: s.LinearWarmup(o, warmup_steps=5, start_factor=0.1),
                     lambda s, o: s.LinearLR(o, start_factor=0.1, end_factor=1.0,
                                             total_iters=5), 9),
    "LinearWarmup-default": (lambda s, o: s.LinearWarmup(o, 4),
                             lambda s, o: s.LinearLR(o, end_factor=1.0, total_iters=4), 6),
    "Sequential": (lambda s, o: s.SequentialLR(o, [s.LinearWarmup(o, 3, 0.2),
                                                   s.CosineAnnealingLR(o, T_max=6)], [3]),
                   lambda s, o: s.SequentialLR(o, [s.LinearLR(o, 0.2, total_iters=3),
                                                   s.CosineAnnealingLR(o, T_max=6)], [3]), 18),
}


def scheduled_sgd(opt_cls, sched_lib, make, params):
    opt = opt_cls([{"params": params[:2]}, {"params": params[2:], "lr": 0.05}], lr=0.1,
                  momentum=0.9)
    return opt, make(sched_lib, opt)


@pytest.mark.parametrize("name", SCHEDULERS)
def test_scheduler_lr_sequence_matches_torch_across_a_resume(name):
    """get_last_lr() after every step; convnet's run restarts from state dicts halfway."""
    make, torch_make, steps = SCHEDULERS[name]
    sequences = []
    for params, opt_cls, sched_lib, make_one in [
            (make_pair()[0], optim.SGD, optim.lr_scheduler, make),
            (make_pair()[1], TORCH.SGD, torch.optim.lr_scheduler, torch_make or make)]:
        opt, scheduler = scheduled_sgd(opt_cls, sched_lib, make_one, params)
        values = [scheduler.get_last_lr()]
        for step in range(steps):
            if step == steps // 2 and sched_lib is optim.lr_scheduler:
                saved_opt, saved = opt.state_dict(), scheduler.state_dict()
                assert is_plain(saved) and is_plain(saved_opt)
                opt, scheduler = scheduled_sgd(opt_cls, sched_lib, make_one, params)
                opt.load_state_dict(saved_opt)  # after building the scheduler, as in torch
                scheduler.load_state_dict(saved)
            opt.step()
            scheduler.step()
            values.append(scheduler.get_last_lr())
            assert [g["lr"] for g in opt.param_groups] == values[-1]
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
        sequences.append(np.array(values, dtype=np.float64))
    np.testing.assert_allclose(sequences[0], sequences[1], rtol=1e-12, atol=0)


# ------------------------------------------------------------------ errors
def one_param():
    return [nn.Parameter(np.ones(2))]


def sgd():
    return optim.SGD(one_param(), lr=0.1)


SHARED = nn.Parameter(np.ones(2))


@pytest.mark.parametrize("build, match", [
    (lambda: optim.SGD(one_param(), lr=-0.1), "lr"),
    (lambda: optim.SGD(one_param(), lr=0.1, momentum=-0.9), "momentum"),
    (lambda: optim.SGD(one_param(), lr=0.1, weight_decay=-1e-3), "weight_decay"),
    (lambda: optim.SGD(one_param(), lr=0.1, dampening=-0.5), "dampening"),
    (lambda: optim.SGD(one_param(), lr=0.1, nesterov=True), "nesterov"),
    (lambda: optim.SGD(one_param(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "nesterov"),
    (lambda: optim.Adam(one_param(), lr=-1e-3), "lr"),
    (lambda: optim.Adam(one_param(), weight_decay=-0.1), "weight_decay"),
    (lambda: optim.AdamW(one_param(), eps=-1e-8), "eps"),
    (lambda: optim.Adam(one_param(), betas=(1.0, 0.999)), "betas"),
    (lambda: optim.Adam(one_param(), betas=(0.9, 1.5)), "betas"),
    (lambda: optim.AdamW(one_param(), betas=(-0.1, 0.999)), "betas"),
    (lambda: optim.Adam(one_param(), betas=(0.9,)), "betas"),
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.Adam(iter([])), "empty parameter list"),
    (lambda: optim.SGD([{"params": []}], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD([{"params": one_param()}, {"params": one_param(), "lr": -1}], lr=0.1),
     "lr"),
    (lambda: optim.SGD([{"params": [SHARED]}, {"params": [SHARED] + one_param()}], lr=0.1),
     "more than one parameter group"),
    (lambda: optim.Adam([SHARED]).add_param_group({"params": [SHARED]}),
     "more than one parameter group"),
    (lambda: optim.SGD([SHARED, SHARED], lr=0.1), "more than once"),
    (lambda: optim.StepLR(sgd(), step_size=0), "step_size"),
    (lambda: optim.CosineAnnealingLR(sgd(), T_max=0), "T_max"),
    (lambda: optim.CosineAnnealingLR(sgd(), T_max=5, eta_min=-1.0), "eta_min"),
    (lambda: optim.LinearWarmup(sgd(), warmup_steps=3, start_factor=0.0), "start_factor"),
    (lambda: optim.LinearWarmup(sgd(), warmup_steps=3, start_factor=1.5), "start_factor"),
    (lambda: optim.LinearWarmup(sgd(), warmup_steps=0), "warmup_steps"),
    (lambda: optim.StepLR(sgd(), step_size=2, last_epoch=3), "last_epoch"),
    (lambda: optim.SequentialLR(sgd(), [], milestones=[]), "schedulers"),
])
def test_bad_arguments_raise_value_error_naming_them(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_bad_types_and_scheduler_mixups():
    with pytest.raises(TypeError, match="params"):
        optim.SGD(nn.Parameter(np.ones(2)), lr=0.1)
    with pytest.raises(TypeError, match="params"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="optimizer"):
        optim.StepLR(object(), step_size=2)
    opt, other = sgd(), sgd()
    with pytest.raises(ValueError, match="milestones"):
        optim.SequentialLR(opt, [optim.StepLR(opt, 2)], milestones=[1])
    with pytest.raises(ValueError, match="schedulers"):
        optim.SequentialLR(opt, [optim.StepLR(other, 2)], milestones=[])
