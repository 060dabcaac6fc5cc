"""The schedules of issue 12 (LambdaLR, MultiStepLR, LinearLR, OneCycleLR, SequentialLR) against
torch.optim.lr_scheduler over many steps, their state dicts, and hand-worked values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim


def _run(mod, opt_mod, tensor, make, steps=40, opt="SGD", momentum=True):
    """Learning rates (and momentum / beta1) of two parameter groups over ``steps`` steps."""
    kw = {"momentum": 0.9} if opt == "SGD" and momentum else {}
    o = getattr(opt_mod, opt)([{"params": [tensor()]}, {"params": [tensor()], "lr": 0.3}], lr=1.0, **kw)
    sched = make(mod, o)
    out = []
    for _ in range(steps):
        o.step()
        with warnings.catch_warnings():  # torch's SequentialLR calls its step(0), which warns
            warnings.simplefilter("ignore")
            sched.step()
        g = o.param_groups
        out.append(list(sched.get_last_lr()) + [g[0].get("momentum", g[0].get("betas", (0,))[0])])
    return out


CASES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e / (1 + 0.1 * e)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e]),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.5),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.8, total_iters=9),
    "LinearLR-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=30),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 2.0], total_steps=40),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=1.0, epochs=5, steps_per_epoch=8, pct_start=0.25, anneal_strategy="linear",
        three_phase=True, div_factor=10.0, final_div_factor=100.0),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)],
        milestones=[5]),
    "SequentialLR-three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, end_factor=0.5, total_iters=3),
            m.ExponentialLR(o, gamma=0.9), m.StepLR(o, step_size=4, gamma=0.3)],
        milestones=[4, 15]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_schedules_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = _run(optim.lr_scheduler, optim, lambda: cr.Tensor([1.0], requires_grad=True), CASES[name])
    ref = _run(torch.optim.lr_scheduler, torch.optim, lambda: torch.tensor([1.0], requires_grad=True),
               CASES[name])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)


def test_one_cycle_cycles_adams_beta1_as_torch():
    torch = pytest.importorskip("torch")

    def make(m, o):
        return m.OneCycleLR(o, max_lr=0.01, total_steps=25, base_momentum=0.8, max_momentum=0.9)
    ours = _run(optim.lr_scheduler, optim, lambda: cr.Tensor([1.0], requires_grad=True), make,
                steps=25, opt="Adam")
    ref = _run(torch.optim.lr_scheduler, torch.optim, lambda: torch.tensor([1.0], requires_grad=True),
               make, steps=25, opt="Adam")
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def _opt():
    return optim.SGD([cr.Tensor([1.0], requires_grad=True)], lr=1.0, momentum=0.9)


def test_hand_worked_warm_up_then_decay():
    o = _opt()
    s = optim.SequentialLR(o, [optim.LinearLR(o, start_factor=0.25, total_iters=3),
                               optim.StepLR(o, step_size=2, gamma=0.1)], milestones=[3])
    lrs = [s.get_last_lr()[0]]
    for _ in range(5):
        s.step()
        lrs.append(s.get_last_lr()[0])
    # warm-up 0.25, 0.5, 0.75; then StepLR from the base rate: 1, 1, 0.1
    np.testing.assert_allclose(lrs, [0.25, 0.5, 0.75, 1.0, 1.0, 0.1])


def test_one_cycle_hand_worked_ends():
    o = _opt()
    s = optim.OneCycleLR(o, max_lr=1.0, total_steps=11, pct_start=0.5, div_factor=4.0,
                         final_div_factor=10.0)
    lrs = [s.get_last_lr()[0]]
    for _ in range(10):
        s.step()
        lrs.append(s.get_last_lr()[0])
    # starts at max_lr/4, peaks at step 4.5 (between 4 and 5), ends at 0.25/10
    assert lrs[0] == pytest.approx(0.25) and lrs[-1] == pytest.approx(0.025)
    assert max(lrs) <= 1.0 and o.param_groups[0]["momentum"] == pytest.approx(0.95)
    with pytest.raises(cr.ConfigError, match="past total_steps"):
        s.step()
        s.step()


@pytest.mark.parametrize("name", [n for n in CASES if "LambdaLR" not in n])
def test_state_dict_round_trip_resumes_the_same_rates(name):
    def make():
        t = lambda: cr.Tensor([1.0], requires_grad=True)  # noqa: E731
        o = optim.SGD([{"params": [t()]}, {"params": [t()], "lr": 0.3}], lr=1.0, momentum=0.9)
        return o, CASES[name](optim.lr_scheduler, o)
    o1, s1 = make()
    for _ in range(6):
        s1.step()
    o2, s2 = make()
    s2.load_state_dict(s1.state_dict())
    o2.load_state_dict(o1.state_dict())
    a, b = [], []
    for _ in range(10):
        s1.step()
        s2.step()
        a.append(s1.get_last_lr())
        b.append(s2.get_last_lr())
    assert a == b


def test_lambda_state_leaves_the_functions_out():
    s = optim.LambdaLR(_opt(), lambda e: 0.5)
    assert "lr_lambdas" not in s.state_dict()


@pytest.mark.parametrize("make, message", [
    (lambda o: optim.LinearLR(o, start_factor=0), "start_factor"),
    (lambda o: optim.LinearLR(o, end_factor=1.5), "end_factor"),
    (lambda o: optim.MultiStepLR(o, milestones=[-1]), "milestones"),
    (lambda o: optim.OneCycleLR(o, max_lr=1.0), "total_steps"),
    (lambda o: optim.OneCycleLR(optim.Adagrad([cr.Tensor([1.0], requires_grad=True)]),
                                max_lr=1.0, total_steps=3), "momentum or betas"),
    (lambda o: optim.LambdaLR(o, [lambda e: 1, lambda e: 2]), "lr_lambda"),
    (lambda o: optim.SequentialLR(o, [optim.StepLR(o, 2)], milestones=[3]), "milestones"),
])
def test_invalid_arguments_raise(make, message):
    with pytest.raises(cr.ConfigError, match=message):
        make(_opt())
