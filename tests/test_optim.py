"""Optimizers: hand-worked steps against the published formulas, groups, state dicts, dtypes,
errors. (PyTorch parity lives in test_optim_torch.py; schedules in test_optim_schedulers.py.)

The hand-worked steps minimize E(w) = w² from w = 1, so ∂E/∂w = 2w, in float64 so that the
arithmetic in the comments is what the code computes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import ConfigError, StateError, optim
from chainrule.optim import transforms as T


def _w(value=1.0, dtype=np.float64):
    return cr.Tensor(np.array([value], dtype=dtype), requires_grad=True)


def _quad_steps(opt, w, n):
    """n steps on E = w² (gradient 2w); the values of w after each step."""
    out = []
    for _ in range(n):
        w.grad = 2 * w.data
        opt.step()
        out.append(float(w.data[0]))
    return out


# ------------------------------------------------------------------------ hand-worked steps
def test_sgd_hand_worked():
    w = _w()
    # θ ← θ − η g: 1 − 0.1·2 = 0.8; 0.8 − 0.1·1.6 = 0.64
    assert _quad_steps(optim.SGD([w], lr=0.1), w, 2) == pytest.approx([0.8, 0.64], abs=1e-15)


def test_sgd_momentum_hand_worked():
    w = _w()
    # step 1: g = 2, b = g = 2 (no damping on the first step), w = 1 − 0.1·2 = 0.8
    # step 2: g = 1.6, b = 0.9·2 + 1.6 = 3.4, w = 0.8 − 0.1·3.4 = 0.46
    assert _quad_steps(optim.SGD([w], lr=0.1, momentum=0.9), w, 2) == pytest.approx([0.8, 0.46])


def test_sgd_dampening_hand_worked():
    w = _w()
    # step 2: b = 0.9·2 + (1 − 0.5)·1.6 = 2.6, w = 0.8 − 0.26 = 0.54
    opt = optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    assert _quad_steps(opt, w, 2) == pytest.approx([0.8, 0.54])


def test_sgd_nesterov_hand_worked():
    w = _w()
    # step 1: g = 2, b = 2, d = g + 0.9·b = 3.8, w = 1 − 0.38 = 0.62
    # step 2: g = 1.24, b = 0.9·2 + 1.24 = 3.04, d = 1.24 + 0.9·3.04 = 3.976, w = 0.62 − 0.3976
    opt = optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    assert _quad_steps(opt, w, 2) == pytest.approx([0.62, 0.2224])


def test_sgd_weight_decay_is_the_l2_prior_gradient():
    w = _w()
    # g + λθ = 2 + 0.5·1 = 2.5 (the gradient of w² + ½·0.5·w²), w = 1 − 0.1·2.5 = 0.75
    assert _quad_steps(optim.SGD([w], lr=0.1, weight_decay=0.5), w, 1) == pytest.approx([0.75])


def test_sgd_maximize_is_gradient_ascent():
    w = _w()
    # ascent on E: w ← w + η g = 1 + 0.1·2 = 1.2
    assert _quad_steps(optim.SGD([w], lr=0.1, maximize=True), w, 1) == pytest.approx([1.2])


def test_adam_hand_worked():
    w = _w()
    # step 1: g = 2; m = 0.1·2 = 0.2; v = 0.001·4 = 0.004; m̂ = 0.2/(1 − 0.9) = 2;
    #   v̂ = 0.004/(1 − 0.999) = 4; w = 1 − 0.1·2/(√4 + 1e-8) = 0.9000000005
    # step 2: g = 1.800000001; m = 0.9·0.2 + 0.1·g = 0.3600000001; v = 0.999·0.004 + 0.001·g²
    #   = 0.0072360000036; m̂ = m/0.19 = 1.894736842631579; v̂ = v/0.001999 = 3.619809906753429;
    #   w = 0.9000000005 − 0.1·1.894736842631579/(1.9025798872 + 1e-8) = 0.8004122286917928
    got = _quad_steps(optim.Adam([w], lr=0.1), w, 2)
    assert got == pytest.approx([0.9000000005, 0.8004122286917928], rel=1e-13)


def test_adam_amsgrad_keeps_the_largest_second_moment():
    w_plain, w_ams = _w(), _w()
    plain = optim.Adam([w_plain], lr=0.1)
    ams = optim.Adam([w_ams], lr=0.1, amsgrad=True)
    for w, opt in ((w_plain, plain), (w_ams, ams)):
        w.grad = np.array([2.0])
        opt.step()
        w.grad = np.array([0.0])   # v falls to 0.999·0.004 = 0.003996; max stays 0.004
        opt.step()
    # m = 0.18, m̂ = 0.18/0.19 = 0.947368…; bias-corrected √v over √(1 − 0.999²) = √0.001999:
    # plain: √(0.003996/0.001999) = 1.413860…, amsgrad: √(0.004/0.001999) = 1.414567…
    m_hat = 0.18 / 0.19
    step_plain = 0.1 * m_hat / (math.sqrt(0.003996 / 0.001999) + 1e-8)
    step_ams = 0.1 * m_hat / (math.sqrt(0.004 / 0.001999) + 1e-8)
    first = 1 - 0.1 * 2 / (2 + 1e-8)
    assert w_plain.data[0] == pytest.approx(first - step_plain, rel=1e-12)
    assert w_ams.data[0] == pytest.approx(first - step_ams, rel=1e-12)
    state = ams.state_dict()["state"][0]
    assert state["max_exp_avg_sq"][0] == pytest.approx(0.004)
    assert state["exp_avg_sq"][0] == pytest.approx(0.003996)


def test_adamw_decouples_the_decay():
    w = _w()
    # θ(1 − ηλ) − η·m̂/(√v̂ + ε) = 1·(1 − 0.1·0.5) − 0.1·2/(2 + 1e-8) = 0.95 − 0.0999999995
    got = _quad_steps(optim.AdamW([w], lr=0.1, weight_decay=0.5), w, 1)
    assert got == pytest.approx([0.8500000005], rel=1e-13)
    # Adam's L2 decay instead enters g: g = 2.5, and the first Adam step is ≈ lr·sign(g)
    w2 = _w()
    assert _quad_steps(optim.Adam([w2], lr=0.1, weight_decay=0.5), w2, 1) == pytest.approx([0.9])


def test_rmsprop_hand_worked():
    w = _w()
    # step 1: s = 0.01·4 = 0.04, w = 1 − 0.01·2/(√0.04 + 1e-8) = 0.9 (to 1e-9)
    # step 2: g = 1.8, s = 0.99·0.04 + 0.01·3.24 = 0.072, w = 0.9 − 0.01·1.8/√0.072 = 0.832918…
    got = _quad_steps(optim.RMSprop([w], lr=0.01), w, 2)
    assert got == pytest.approx([0.9, 0.9 - 0.018 / math.sqrt(0.072)], rel=1e-7)


def test_rmsprop_centered_and_momentum_hand_worked():
    w = _w()
    # centered: ḡ = 0.01·2 = 0.02, s − ḡ² = 0.04 − 0.0004 = 0.0396, w = 1 − 0.02/√0.0396
    got = _quad_steps(optim.RMSprop([w], lr=0.01, centered=True), w, 1)
    assert got == pytest.approx([1 - 0.02 / math.sqrt(0.0396)], rel=1e-7)
    w = _w()
    # momentum: b₁ = 2/0.2 = 10, w = 0.9; b₂ = 0.9·10 + 1.8/√0.072 = 15.7082…, w = 0.9 − 0.01·b₂
    got = _quad_steps(optim.RMSprop([w], lr=0.01, momentum=0.9), w, 2)
    assert got == pytest.approx([0.9, 0.9 - 0.01 * (9 + 1.8 / math.sqrt(0.072))], rel=1e-7)


def test_adagrad_hand_worked():
    w = _w()
    # step 1: S = 4, w = 1 − 0.5·2/√4 = 0.5;  step 2: g = 1, S = 5, w = 0.5 − 0.5/√5 = 0.2763932
    got = _quad_steps(optim.Adagrad([w], lr=0.5), w, 2)
    assert got == pytest.approx([0.5, 0.5 - 0.5 / math.sqrt(5)], rel=1e-9)
    w = _w()
    # lr_decay 1: step 2 uses η / (1 + (2 − 1)·1) = 0.25: w = 0.5 − 0.25/√5
    got = _quad_steps(optim.Adagrad([w], lr=0.5, lr_decay=1.0), w, 2)
    assert got == pytest.approx([0.5, 0.5 - 0.25 / math.sqrt(5)], rel=1e-9)
    w = _w()
    # initial accumulator 5: S = 5 + 4 = 9, w = 1 − 0.5·2/3
    got = _quad_steps(optim.Adagrad([w], lr=0.5, initial_accumulator_value=5.0), w, 1)
    assert got == pytest.approx([1 - 1 / 3], rel=1e-9)


def test_lbfgs_hand_worked_on_a_parabola():
    # E = x², x₀ = 2, g = 4. Iteration 1: d = −g, t = min(1, 1/‖g‖₁)·lr = 0.25, x₁ = 2 − 1 = 1.
    # Iteration 2: g = 2, y = 2 − 4 = −2, s = t·d = −1, yᵀs = 2, ρ = 1/2, H₀ = yᵀs/yᵀy = 0.5;
    #   two loops: α = ρ sᵀq = 0.5·(−1)(−2) = 1, q = −2 − α y = 0, r = H₀ q = 0,
    #   β = ρ yᵀr = 0, r += (α − β) s = −1; x₂ = 1 + 1·(−1) = 0: the secant step is exact.
    x = _w(2.0)
    # (the default max_eval, max_iter·5//4 = 2 evaluations, would stop after iteration 1)
    opt = optim.LBFGS([x], max_iter=2, max_eval=3)
    seen = []

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        seen.append(float(x.data[0]))
        return loss

    first = opt.step(closure)
    assert float(first) == 4.0
    assert seen == [2.0, 1.0]
    assert x.data[0] == 0.0


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] * x[0]) ** 2


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimizes_rosenbrock(line_search_fn):
    x = cr.Tensor(np.array([-1.5, 2.0]), requires_grad=True)
    lr = 1.0 if line_search_fn else 0.1
    opt = optim.LBFGS([x], lr=lr, max_iter=50, history_size=10, line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(20 if line_search_fn else 60):
        opt.step(closure)
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-4)


def test_lbfgs_fits_logistic_regression_like_sklearn():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X @ [1.5, -2.0, 0.5] + 0.3 + rng.normal(size=60) > 0).astype(np.float64)
    w = cr.Tensor(np.zeros(3), requires_grad=True)
    b = cr.Tensor(np.zeros(1), requires_grad=True)
    Xt, yt = cr.Tensor(X), cr.Tensor(y)
    opt = optim.LBFGS([w, b], line_search_fn="strong_wolfe", max_iter=100)

    def closure():
        opt.zero_grad()
        z = Xt @ w + b
        # Σ log(1 + eᶻ) − y z, the negative log-likelihood, plus sklearn's ½‖w‖² (C = 1)
        loss = (cr.functional.softplus(z) - yt * z).sum() + (w * w).sum() * 0.5
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    ref = sklearn.LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(w.data, ref.coef_[0], atol=1e-5)
    np.testing.assert_allclose(b.data, ref.intercept_, atol=1e-5)


def test_step_runs_the_closure_and_returns_its_loss():
    w = _w()
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():   # the closure still records its graph
        loss = opt.step(closure)
    assert float(loss) == 1.0 and w.data[0] == pytest.approx(0.8)


# ------------------------------------------------------------------------ groups and skipping
def test_param_groups_with_their_own_lrs():
    a, b = _w(), _w()
    opt = optim.SGD([{"params": [a], "lr": 0.1}, {"params": b}], lr=0.25, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.25]
    assert opt.param_groups[0]["momentum"] == 0.0   # the defaults fill the rest
    a.grad, b.grad = np.array([2.0]), np.array([2.0])
    opt.step()
    assert (a.data[0], b.data[0]) == pytest.approx((0.8, 0.5))
    c = _w()
    opt.add_param_group({"params": [c], "lr": 0.5})
    c.grad = np.array([1.0])
    a.grad = b.grad = None
    opt.step()
    assert (a.data[0], b.data[0], c.data[0]) == pytest.approx((0.8, 0.5, 0.5))


def test_lr_is_read_from_the_group_every_step():
    w = _w()
    opt = optim.Adam([w], lr=0.1)
    _quad_steps(opt, w, 1)
    before = float(w.data[0])
    opt.param_groups[0]["lr"] = 0.0
    _quad_steps(opt, w, 1)
    assert w.data[0] == before


def test_changing_momentum_mid_training_adds_the_buffer():
    w = _w()
    opt = optim.SGD([w], lr=0.1)
    _quad_steps(opt, w, 1)                       # w = 0.8, no buffer
    opt.param_groups[0]["momentum"] = 0.9
    # the first step with momentum starts the buffer at g = 1.6: w = 0.8 − 0.16
    assert _quad_steps(opt, w, 1) == pytest.approx([0.64])
    assert "momentum_buffer" in opt.state_dict()["state"][0]


def test_parameters_without_grad_are_skipped_and_keep_their_step_count():
    a, b = _w(), _w()
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = np.array([2.0])
    opt.step()
    assert b.data[0] == 1.0
    b.grad = np.array([2.0])
    opt.step()
    steps = {i: s["step"] for i, s in opt.state_dict()["state"].items()}
    assert steps == {0: 2, 1: 1}
    # b's first step is Adam's first step: ≈ lr·sign(g)
    assert b.data[0] == pytest.approx(0.9)


def test_grad_is_left_untouched_and_zero_grad_resets_it():
    w = _w()
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.1)
    g = np.array([2.0])
    w.grad = g
    opt.step()
    assert w.grad is g and g[0] == 2.0
    opt.zero_grad(set_to_none=False)
    assert w.grad is g and g[0] == 0.0
    opt.zero_grad()
    assert w.grad is None


def test_updates_are_in_place():
    w = _w()
    data = w.data
    opt = optim.Adam([w], lr=0.1)
    _quad_steps(opt, w, 3)
    assert w.data is data


# ------------------------------------------------------------------------ dtypes
ALL = [
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    (optim.Adam, {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.1}),
    (optim.RMSprop, {"centered": True, "momentum": 0.9, "weight_decay": 0.1}),
    (optim.Adagrad, {"lr_decay": 0.1, "weight_decay": 0.1}),
]


@pytest.mark.parametrize("cls,kwargs", ALL, ids=[c.__name__ for c, _ in ALL])
def test_float32_is_preserved(cls, kwargs):
    w = cr.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32), requires_grad=True)
    opt = cls([w], **kwargs)
    for _ in range(3):
        w.grad = (2 * w.data).astype(np.float64)   # even a float64 gradient
        opt.step()
    assert w.data.dtype == np.float32
    for value in opt.state_dict()["state"][0].values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


def test_lbfgs_keeps_float32():
    x = cr.Tensor(np.array([3.0, -1.0], dtype=np.float32), requires_grad=True)
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((x - 1.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert x.data.dtype == np.float32
    np.testing.assert_allclose(x.data, [1.0, 1.0], atol=1e-5)
    assert opt.state_dict()["state"][0]["d"].dtype == np.float32


# ------------------------------------------------------------------------ state dicts
def _plain(x):
    """True when x holds only plain numbers, strings, None, lists/tuples/dicts and ndarrays."""
    if isinstance(x, dict):
        return all(isinstance(k, (int, str)) and _plain(v) for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return all(_plain(v) for v in x)
    return x is None or isinstance(x, (bool, int, float, str, np.ndarray))


def _jsonish(sd):
    """What a JSON + safetensors round trip does: string keys, tuples become lists."""
    def conv(x):
        if isinstance(x, dict):
            return {str(k): conv(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        return x.copy() if isinstance(x, np.ndarray) else x
    return conv(sd)


def _model(seed=0):
    rng = np.random.default_rng(seed)
    return [cr.Tensor(rng.normal(size=(3, 2)), requires_grad=True),
            cr.Tensor(rng.normal(size=(2,)), requires_grad=True)]


def _train(opt, params, steps, seed):
    rng = np.random.default_rng(seed)
    X = cr.Tensor(rng.normal(size=(5, 3)))
    for _ in range(steps):
        opt.zero_grad()
        W, b = params
        loss = ((X @ W + b).tanh() ** 2).mean()
        loss.backward()
        opt.step()


ROUND_TRIP = ALL + [(optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.3})]


@pytest.mark.parametrize("cls,kwargs", ROUND_TRIP, ids=[c.__name__ for c, _ in ROUND_TRIP])
def test_state_dict_round_trip_continues_identically(cls, kwargs):
    params = _model()
    opt = cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], **kwargs)
    _train(opt, params, 4, seed=1)
    saved = opt.state_dict()
    weights = [p.data.copy() for p in params]
    assert _plain(saved)
    snapshot = {i: {k: np.copy(v) for k, v in e.items()} for i, e in saved["state"].items()}
    _train(opt, params, 4, seed=2)           # uninterrupted
    for i, entry in snapshot.items():        # the saved dict is a copy: training on left it alone
        for k, v in entry.items():
            np.testing.assert_array_equal(saved["state"][i][k], v)

    restored = [cr.Tensor(w, requires_grad=True) for w in weights]
    opt2 = cls([{"params": restored[:1]}, {"params": restored[1:]}], **kwargs)
    opt2.load_state_dict(_jsonish(saved))
    assert opt2.param_groups[1]["lr"] == 0.05
    _train(opt2, restored, 4, seed=2)
    for a, b in zip(params, restored):
        np.testing.assert_array_equal(a.data, b.data)


def test_lbfgs_state_dict_round_trip():
    def run(opt, x, n):
        def closure():
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss
        for _ in range(n):
            opt.step(closure)

    x = cr.Tensor(np.array([-1.5, 2.0]), requires_grad=True)
    opt = optim.LBFGS([x], max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    run(opt, x, 2)
    saved, start = opt.state_dict(), x.data.copy()
    assert _plain(saved) and saved["state"][0]["old_dirs"].shape[1] == 2
    run(opt, x, 2)
    y = cr.Tensor(start, requires_grad=True)
    opt2 = optim.LBFGS([y], max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    opt2.load_state_dict(_jsonish(saved))
    run(opt2, y, 2)
    np.testing.assert_array_equal(x.data, y.data)


def test_load_state_dict_errors():
    params = _model()
    opt = optim.Adam(params, lr=0.1)
    _train(opt, params, 1, seed=0)
    saved = opt.state_dict()
    with pytest.raises(StateError, match="the state has 1 parameter groups; this optimizer has 2"):
        optim.Adam([{"params": params[:1]}, {"params": params[1:]}]).load_state_dict(saved)
    with pytest.raises(StateError, match="group 0 has 2 parameters in the state and 1 here"):
        optim.Adam(params[:1]).load_state_dict(saved)
    bad = opt.state_dict()
    bad["state"][0]["exp_avg"] = np.zeros((2, 3))
    with pytest.raises(StateError, match=r"'exp_avg' of parameter 0: shape \(2, 3\); expected"):
        optim.Adam(params).load_state_dict(bad)
    bad = opt.state_dict()
    bad["state"][1]["momentum_buffer"] = np.zeros(2)
    with pytest.raises(StateError, match="unexpected state entry 'momentum_buffer'"):
        optim.Adam(params).load_state_dict(bad)
    bad = opt.state_dict()
    del bad["state"][1]["exp_avg_sq"]
    with pytest.raises(StateError, match="missing 'exp_avg_sq'"):
        optim.Adam(params).load_state_dict(bad)
    with pytest.raises(StateError, match="expected a dict with 'state' and 'param_groups'"):
        optim.Adam(params).load_state_dict({"weights": 1})


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1), r"Invalid learning rate: -1 \(expected lr >= 0\)"),
    (lambda p: optim.SGD(p, lr="fast"), r"Invalid learning rate: 'fast' \(expected a number"),
    (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda p: optim.SGD(p, weight_decay=-1e-4), "Invalid weight_decay value: -0.0001"),
    (lambda p: optim.SGD(p, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), r"beta parameter at index 0: 1.0 \(expected"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "beta parameter at index 1: -0.1"),
    (lambda p: optim.Adam(p, betas=0.9), r"Invalid betas: 0.9 \(expected a pair"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Invalid epsilon value"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay value"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), "Invalid alpha value: -0.1"),
    (lambda p: optim.RMSprop(p, lr=float("nan")), "Invalid learning rate: nan"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value: -1"),
    (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
    (lambda p: optim.LBFGS(p, line_search_fn="armijo"), "Invalid line_search_fn: 'armijo'"),
    (lambda p: optim.LBFGS(p, max_iter=0), r"Invalid max_iter: 0 \(expected an integer"),
    (lambda p: optim.LBFGS(p, history_size=2.5), "Invalid history_size: 2.5"),
    (lambda p: optim.LBFGS([{"params": p[:1]}, {"params": p[1:]}]), "parameter groups"),
    (lambda p: optim.Adam([{"params": p[:1]}, {"params": p[1:], "lr": -2}]),
     "Invalid learning rate: -2 .* Adam parameter group 1"),
    (lambda p: optim.SGD([]), "empty parameter list"),
    (lambda p: optim.SGD(p[0]), "got a single Tensor"),
    (lambda p: optim.SGD([p[0], np.zeros(2)]), "parameter 1 of group 0 is a ndarray; expected a Tensor"),
    (lambda p: optim.SGD([p[0], p[0]]), "appears more than once"),
    (lambda p: optim.SGD([{"params": p}, {"params": p[:1]}]), "appears more than once"),
    (lambda p: optim.SGD([cr.Tensor([1, 2])]), "has dtype int64; expected a float Tensor"),
    (lambda p: optim.SGD([{"params": set(p)}]), "as a set"),
])
def test_bad_hyperparameters_raise_config_error(make, message):
    params = _model()
    with pytest.raises(ConfigError, match=message) as info:
        make(params)
    assert isinstance(info.value, ValueError)


def test_invalid_value_set_later_is_caught_at_the_next_step():
    w = _w()
    opt = optim.SGD([w], lr=0.1)
    opt.param_groups[0]["momentum"] = -1
    w.grad = np.array([1.0])
    with pytest.raises(ConfigError, match="Invalid momentum value: -1"):
        opt.step()


def test_lbfgs_needs_a_closure():
    w = _w()
    with pytest.raises(ConfigError, match="needs a closure"):
        optim.LBFGS([w]).step(None)


# ------------------------------------------------------------------------ clipping
def test_clip_grad_norm_hand_worked():
    a, b, c = _w(), cr.Tensor(np.zeros(2), requires_grad=True), _w()
    a.grad, b.grad = np.array([2.0]), np.array([-4.0, 4.0])
    # ‖(2, −4, 4)‖₂ = 6; scaled by 3/(6 + 1e-6); c has no gradient and is skipped
    total = optim.clip_grad_norm_([a, b, c], max_norm=3.0)
    assert total == pytest.approx(6.0, rel=1e-15)
    np.testing.assert_allclose(b.grad, [-2.0, 2.0], rtol=1e-6)
    assert c.grad is None
    # below the limit nothing changes; the ∞-norm is the largest |g|
    assert optim.clip_grad_norm_([a, b], max_norm=10.0, norm_type=math.inf) == pytest.approx(2.0)
    np.testing.assert_allclose(b.grad, [-2.0, 2.0], rtol=1e-6)
    assert optim.clip_grad_norm_([c], 1.0) == 0.0


def test_clip_grad_norm_nonfinite_and_errors():
    w = _w()
    w.grad = np.array([np.inf])
    with pytest.raises(cr.AnomalyError, match="is inf"):
        optim.clip_grad_norm_(w, 1.0, error_if_nonfinite=True)
    with pytest.raises(ConfigError, match="Invalid max_norm: -1.0"):
        optim.clip_grad_norm_(w, -1.0)
    with pytest.raises(ConfigError, match="Invalid norm_type: 0.0"):
        optim.clip_grad_norm_(w, 1.0, norm_type=0)
    with pytest.raises(ConfigError, match="Invalid clip_value"):
        optim.clip_grad_value_(w, -1.0)


def test_clip_grad_value_keeps_float32():
    w = cr.Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    w.grad = np.array([-5.0, 0.25, 7.0], dtype=np.float32)
    optim.clip_grad_value_([w], 0.5)
    np.testing.assert_array_equal(w.grad, np.array([-0.5, 0.25, 0.5], dtype=np.float32))
    assert w.grad.dtype == np.float32


# ------------------------------------------------------------------------ transforms
def test_transforms_work_on_one_flat_buffer():
    """The same chain on per-parameter arrays and on one flat buffer gives the same numbers."""
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (4,)]
    params = [rng.normal(size=s).astype(np.float32) for s in shapes]
    flat = np.concatenate([p.ravel() for p in params])
    tx = T.chain(T.add_decayed_weights(0.01), T.scale_by_adam(amsgrad=True), T.trace(0.5),
                 T.scale(-0.1))
    s_list, s_flat = tx.init(params), tx.init([flat])
    for _ in range(5):
        grads = [rng.normal(size=s).astype(np.float32) for s in shapes]
        ups = tx.update([g.copy() for g in grads], s_list, params)
        up_flat = tx.update([np.concatenate([g.ravel() for g in grads])], s_flat, [flat])
        for p, u in zip(params, ups):
            p += u
        flat += up_flat[0]
    np.testing.assert_allclose(flat, np.concatenate([p.ravel() for p in params]), rtol=1e-6)


def test_chain_rejects_clashing_state_names_but_shares_workspace():
    tx = T.chain(T.scale_by_rms(), T.scale_by_rss())     # both use the "_tmp" workspace
    state = tx.init([np.zeros(2)])
    assert sorted(state) == ["_tmp", "square_avg", "sum"]
    with pytest.raises(ConfigError, match="same name 'step'"):
        T.chain(T.scale_by_adam(), T.scale_by_schedule(lambda t: 1.0)).init([np.zeros(1)])


def test_base_optimizer_is_plain_gradient_descent():
    w = _w()
    opt = optim.Optimizer([w], {"lr": 0.25})
    assert _quad_steps(opt, w, 1) == [0.5]
    assert "Parameter Group 0" in repr(opt) and "lr: 0.25" in repr(opt)


# ------------------------------------------------------------------------ protocol
@pytest.mark.parametrize("cls", [optim.Optimizer, optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop,
                                 optim.Adagrad, optim.LBFGS])
def test_needs_closure_says_whether_step_needs_a_closure(cls):
    w = _w()
    opt = cls([w], {"lr": 0.1}) if cls is optim.Optimizer else cls([w], lr=0.1)
    assert getattr(opt, "needs_closure", None) is (cls is optim.LBFGS)
    if opt.needs_closure:
        def closure():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss
        opt.step(closure)
    else:
        w.grad = 2 * w.data
        opt.step()
    assert abs(float(w.data[0])) < 1.0


def test_lbfgs_is_closure_driven_not_a_chain_of_transforms():
    # L-BFGS shares the groups and state dicts but has no chain of its own (no stub)
    assert "_transform" not in vars(optim.LBFGS)
    w = _w()
    opt = optim.LBFGS([w])

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    opt.step(closure)
    assert opt._flats == [None] and not opt._chains
    assert set(opt.state_dict()["state"]) == {0}


@pytest.mark.parametrize("make,message", [
    (lambda w: optim.Adam([w], betas=(0.9, 1.0)),
     r"beta parameter at index 1: 1.0 \(expected 0 <= betas\[1\] < 1\)"),
    (lambda w: optim.LBFGS([w], history_size=2.5),
     r"Invalid history_size: 2.5 \(expected an integer history_size >= 1\)"),
    (lambda w: optim.LBFGS([w], line_search_fn="armijo"),
     r"Invalid line_search_fn: 'armijo' \(expected one of None, 'strong_wolfe'\)"),
])
def test_number_rules_read_as_ranges_and_integers(make, message):
    with pytest.raises(ConfigError, match=message):
        make(_w())
