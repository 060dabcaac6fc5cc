"""Parity with torch.optim: same problem, same initial weights, ~20 steps, every option.

Runs in float64 so that the comparison pins the formulas (a different order of the same
operations would differ by ~1e-16), plus float32 runs at float32 tolerances.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

STEPS = 20


def _problem(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4)).astype(dtype)
    Y = rng.normal(size=(8, 3)).astype(dtype)
    W = (rng.normal(size=(3, 4)) * 0.5).astype(dtype)
    b = (rng.normal(size=(3,)) * 0.1).astype(dtype)
    v = rng.normal(size=(3,)).astype(dtype)   # in the optimizer, not always in the loss
    return X, Y, W, b, v


def _run_ours(cls, kwargs, dtype, steps=STEPS, groups=None):
    X, Y, W, b, v = _problem(dtype)
    Xc, Yc = cr.Tensor(X), cr.Tensor(Y)
    pW, pb, pv = (cr.Tensor(a.copy(), requires_grad=True) for a in (W, b, v))
    opt = cls(groups(pW, pb, pv) if groups else [pW, pb, pv], **kwargs)
    for k in range(steps):
        opt.zero_grad()
        out = (Xc @ pW.T + pb).tanh()
        loss = ((out - Yc) ** 2).mean()
        if k % 3 == 0:
            loss = loss + (pv * pv).sum() * 0.1   # v gets a gradient on some steps only
        loss.backward()
        opt.step()
    return [p.data for p in (pW, pb, pv)]


def _run_torch(cls, kwargs, dtype, steps=STEPS, groups=None):
    X, Y, W, b, v = _problem(dtype)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    pW, pb, pv = (torch.tensor(a.copy(), requires_grad=True) for a in (W, b, v))
    opt = cls(groups(pW, pb, pv) if groups else [pW, pb, pv], **kwargs)
    for k in range(steps):
        opt.zero_grad()
        out = torch.tanh(Xt @ pW.T + pb)
        loss = ((out - Yt) ** 2).mean()
        if k % 3 == 0:
            loss = loss + (pv * pv).sum() * 0.1
        loss.backward()
        opt.step()
    return [p.detach().numpy() for p in (pW, pb, pv)]


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.5}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.05, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.5, "maximize": True}),
    ("SGD", {}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "centered": True, "momentum": 0.5,
                 "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-5, "maximize": True}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch_float64(name, kwargs):
    ours = _run_ours(getattr(optim, name), kwargs, np.float64)
    ref = _run_torch(getattr(torch.optim, name), kwargs, np.float64)
    for a, r in zip(ours, ref):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
])
def test_matches_torch_float32(name, kwargs):
    ours = _run_ours(getattr(optim, name), kwargs, np.float32)
    ref = _run_torch(getattr(torch.optim, name), kwargs, np.float32)
    for a, r in zip(ours, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, r, rtol=2e-4, atol=2e-5)


def test_param_groups_with_different_lrs_match_torch():
    def groups(W, b, v):
        return [{"params": [W], "lr": 0.05, "betas": (0.8, 0.9)}, {"params": [b, v]}]

    ours = _run_ours(optim.Adam, {"lr": 0.01}, np.float64, groups=groups)
    ref = _run_torch(torch.optim.Adam, {"lr": 0.01}, np.float64, groups=groups)
    for a, r in zip(ours, ref):
        np.testing.assert_allclose(a, r, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------- L-BFGS
def _rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


@pytest.mark.parametrize("kwargs", [
    {"lr": 0.5, "max_iter": 10},
    {"line_search_fn": "strong_wolfe", "max_iter": 15},
    {"line_search_fn": "strong_wolfe", "history_size": 3, "max_iter": 10},
])
def test_lbfgs_matches_torch_on_rosenbrock(kwargs):
    def ours():
        x = cr.Tensor(np.array([-1.5, 2.0]), requires_grad=True)
        opt = optim.LBFGS([x], **kwargs)

        def closure():
            opt.zero_grad()
            loss = _rosenbrock(x[0], x[1])
            loss.backward()
            return loss
        losses = [float(opt.step(closure)) for _ in range(3)]
        return x.data, losses

    def ref():
        x = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([x], **kwargs)

        def closure():
            opt.zero_grad()
            loss = _rosenbrock(x[0], x[1])
            loss.backward()
            return loss
        losses = [float(opt.step(closure).detach()) for _ in range(3)]
        return x.detach().numpy(), losses

    (xa, la), (xr, lr) = ours(), ref()
    np.testing.assert_allclose(xa, xr, rtol=1e-6, atol=1e-9)  # Rosenbrock is ill-conditioned
    np.testing.assert_allclose(la, lr, rtol=1e-6)


# ---------------------------------------------------------------------------- clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    ours = [cr.Tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad = g.copy()
        t.grad = torch.from_numpy(g.copy())
    total = optim.clip_grad_norm_(ours, max_norm, norm_type)
    total_ref = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total == pytest.approx(float(total_ref), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------------------- schedules
def _lrs(make_sched, opt_mod, tensor, epochs=30, metrics=None):
    p = tensor()
    opt = opt_mod.SGD([{"params": [p]}, {"params": [tensor()], "lr": 0.3}], lr=1.0)
    sched = make_sched(opt)
    out = []
    for e in range(epochs):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
        out.append(list(sched.get_last_lr()))
    return out


SCHEDULES = {
    "StepLR": lambda m: (lambda o: m.StepLR(o, step_size=4, gamma=0.5)),
    "ExponentialLR": lambda m: (lambda o: m.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": lambda m: (lambda o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01)),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedules_match_torch(name):
    ours = _lrs(SCHEDULES[name](optim.lr_scheduler), optim, lambda: cr.Tensor([1.0], requires_grad=True))
    ref = _lrs(SCHEDULES[name](torch.optim.lr_scheduler), torch.optim,
               lambda: torch.tensor([1.0], requires_grad=True))
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("kwargs", [
    {"patience": 2},
    {"mode": "max", "factor": 0.5, "patience": 1, "cooldown": 2, "threshold_mode": "abs",
     "threshold": 0.05, "min_lr": [0.05, 0.1]},
    {"patience": 0, "min_lr": 0.02, "threshold": 0.1},
])
def test_reduce_on_plateau_matches_torch(kwargs):
    rng = np.random.default_rng(3)
    metrics = list(np.maximum.accumulate(rng.uniform(0, 1, 30))[::-1] + rng.uniform(0, 0.05, 30))
    ours = _lrs(lambda o: optim.ReduceLROnPlateau(o, **kwargs), optim,
                lambda: cr.Tensor([1.0], requires_grad=True), metrics=metrics)
    ref = _lrs(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs), torch.optim,
               lambda: torch.tensor([1.0], requires_grad=True), metrics=metrics)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
