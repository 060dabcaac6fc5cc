"""Learning-rate schedules: hand-worked values, state-dict round trips, errors.
(PyTorch parity is in test_optim_torch.py.)"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import ConfigError, StateError, optim
from chainrule.optim import lr_scheduler as S


def _opt(lr=1.0, groups=1):
    return optim.SGD([{"params": [cr.Tensor([1.0], requires_grad=True)]} for _ in range(groups)], lr=lr)


def _run(opt, sched, epochs):
    out = [sched.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_lr():
    opt = _opt()
    # η₀ · 0.1^⌊e/3⌋ for e = 0..7
    assert _run(opt, S.StepLR(opt, step_size=3), 7) == pytest.approx(
        [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)
    assert opt.param_groups[0]["initial_lr"] == 1.0


def test_exponential_lr():
    opt = _opt(lr=2.0)
    assert _run(opt, S.ExponentialLR(opt, gamma=0.5), 3) == pytest.approx([2, 1, 0.5, 0.25])


def test_cosine_annealing_lr():
    opt = _opt()
    # η_e = (1 + cos(π e / 4)) / 2 down to 0 at e = 4, then back up (no restarts)
    c = math.cos(math.pi / 4)
    got = _run(opt, S.CosineAnnealingLR(opt, T_max=4), 6)
    assert got == pytest.approx([1, (1 + c) / 2, 0.5, (1 - c) / 2, 0, (1 - c) / 2, 0.5], abs=1e-12)
    opt = _opt()
    got = _run(opt, S.CosineAnnealingLR(opt, T_max=2, eta_min=0.2), 2)
    assert got == pytest.approx([1, 0.6, 0.2])   # 0.2 + 0.8 (1 + cos(π e/2)) / 2


def test_schedule_drives_the_optimizer_steps():
    w = cr.Tensor(np.array([1.0]), requires_grad=True)
    opt = optim.SGD([w], lr=0.5)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        w.grad = np.array([1.0])
        opt.step()
        sched.step()
    # steps of 0.5, 0.25, 0.125
    assert w.data[0] == pytest.approx(1 - 0.875)


def test_reduce_on_plateau_patience_cooldown_and_min_lr():
    opt = _opt()
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1, min_lr=0.3)
    lrs = []
    for loss in [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]:
        sched.step(loss)
        lrs.append(sched.get_last_lr()[0])
    # best 0.5 at epoch 2; bad epochs 3, 4 (> patience 1) → 0.5; epoch 5 is cooldown;
    # bad epochs 6, 7 → max(0.25, 0.3) = 0.3; cooldown at 8; then the floor holds
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3]


def test_reduce_on_plateau_max_mode_and_threshold():
    opt = _opt()
    sched = S.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1)
    sched.step(1.0)
    sched.step(1.05)      # not 10% better: a bad epoch, more than patience 0
    assert sched.get_last_lr() == [pytest.approx(0.1)]
    sched.step(cr.Tensor([2.0]))   # one-element tensors are accepted
    assert sched.best == 2.0


@pytest.mark.parametrize("make", [
    lambda o: S.StepLR(o, step_size=2, gamma=0.5),
    lambda o: S.ExponentialLR(o, gamma=0.7),
    lambda o: S.CosineAnnealingLR(o, T_max=5, eta_min=0.05),
])
def test_state_dict_round_trip(make):
    opt = _opt(groups=2)
    sched = make(opt)
    _run(opt, sched, 3)
    saved_opt, saved = opt.state_dict(), json.loads(json.dumps(sched.state_dict()))
    expected = _run(opt, sched, 6)
    opt2 = _opt(groups=2)
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert _run(opt2, sched2, 6) == expected


def test_reduce_on_plateau_state_dict_round_trip():
    losses = [3.0, 2.0, 2.5, 2.4, 2.3, 2.2, 2.6, 2.7]
    opt = _opt()
    sched = S.ReduceLROnPlateau(opt, patience=1)
    for loss in losses[:4]:
        sched.step(loss)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    for loss in losses[4:]:
        sched.step(loss)
    opt2 = _opt()
    sched2 = S.ReduceLROnPlateau(opt2, patience=1)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    for loss in losses[4:]:
        sched2.step(loss)
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert sched2.state_dict() == sched.state_dict()


@pytest.mark.parametrize("make,message", [
    (lambda o: S.StepLR(o, step_size=0), r"Invalid step_size: 0 \(expected an integer"),
    (lambda o: S.StepLR(o, step_size=2, gamma=-1), "Invalid gamma: -1"),
    (lambda o: S.ExponentialLR(o, gamma=0), "Invalid gamma: 0"),
    (lambda o: S.CosineAnnealingLR(o, T_max=2.5), "Invalid T_max: 2.5"),
    (lambda o: S.CosineAnnealingLR(o, T_max=3, eta_min=-1), "Invalid eta_min"),
    (lambda o: S.ReduceLROnPlateau(o, mode="lowest"), "Invalid mode: 'lowest'"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), r"Invalid factor: 1.0 \(expected 0 < factor < 1\)"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="pct"), "Invalid threshold_mode"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), "Invalid patience"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1, 0.2]), "2 values"),
    (lambda o: S.StepLR(object(), step_size=1), "expected a chainrule.optim Optimizer"),
    (lambda o: S.ExponentialLR(o, gamma=0.5, last_epoch=3), "needs 'initial_lr'"),
])
def test_bad_arguments_raise_config_error(make, message):
    with pytest.raises(ConfigError, match=message):
        make(_opt())


def test_load_state_dict_rejects_unknown_entries():
    sched = S.StepLR(_opt(), step_size=2)
    with pytest.raises(StateError, match="unexpected entries \\['T_max'\\]"):
        sched.load_state_dict({"T_max": 3})


# ------------------------------------------------------------------------ protocol
@pytest.mark.parametrize("make,wants_metric", [
    (lambda o: S.StepLR(o, step_size=2), False),
    (lambda o: S.ExponentialLR(o, gamma=0.5), False),
    (lambda o: S.CosineAnnealingLR(o, T_max=3), False),
    (lambda o: S.ReduceLROnPlateau(o), True),
])
def test_needs_metric_says_whether_step_takes_the_metric(make, wants_metric):
    sched = make(_opt())
    assert S.LRScheduler.needs_metric is False
    assert getattr(sched, "needs_metric", False) is wants_metric
    if wants_metric:
        sched.step(1.0)
    else:
        sched.step()
    assert "needs_metric" not in sched.state_dict()  # a class attribute, not state
