"""The one-buffer fast path of the optimizers gives the per-parameter path's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

CONFIGS = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}),
    (optim.Adam, {"lr": 0.05}),
    (optim.Adam, {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    (optim.AdamW, {"lr": 0.05}),
    (optim.RMSprop, {"lr": 0.01, "momentum": 0.5, "centered": True}),
    (optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}),
]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [cr.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
            for s in [(3, 4), (4,), (2, 3), (1,)]]


def _loss(ps):
    return sum((p * p * (i + 1)).sum() + p.tanh().sum() for i, p in enumerate(ps))


def _run(cls, kwargs, flat, steps=6, skip=None):
    ps = _params()
    opt = cls(ps, **kwargs)
    opt.flat = flat
    for t in range(steps):
        opt.zero_grad()
        used = [p for i, p in enumerate(ps) if not (skip is not None and t == 2 and i == skip)]
        _loss(used).backward()
        opt.step()
    return ps, opt


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", ""))
def test_flat_and_per_parameter_paths_agree(cls, kwargs):
    flat, opt = _run(cls, kwargs, True)
    plain, _ = _run(cls, kwargs, False)
    assert opt._flats[0] is not None, "the flat path should be in use"
    for a, b in zip(flat, plain):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cls,kwargs", CONFIGS[1:5], ids=lambda c: getattr(c, "__name__", ""))
def test_a_parameter_without_gradient_falls_back_and_stays_correct(cls, kwargs):
    flat, _ = _run(cls, kwargs, True, skip=1)
    plain, _ = _run(cls, kwargs, False, skip=1)
    for a, b in zip(flat, plain):
        np.testing.assert_allclose(a.data, b.data, rtol=1e-6, atol=1e-7)


def test_flat_state_dict_round_trip_continues_identically():
    ps, opt = _run(optim.Adam, {"lr": 0.05}, True, steps=3)
    saved = opt.state_dict()
    snapshot = [p.data.copy() for p in ps]
    ps2 = [cr.Tensor(d.copy(), requires_grad=True) for d in snapshot]
    opt2 = optim.Adam(ps2, lr=0.05)
    opt2.load_state_dict(saved)
    for group in (ps, ps2):
        o = opt if group is ps else opt2
        for _ in range(3):
            o.zero_grad()
            _loss(group).backward()
            o.step()
    for a, b in zip(ps, ps2):
        np.testing.assert_array_equal(a.data, b.data)


def test_parameters_become_views_of_one_buffer_and_rebinding_is_picked_up():
    ps, opt = _run(optim.SGD, {"lr": 0.1}, True, steps=1)
    buf = opt._flats[0].P
    assert all(np.shares_memory(p.data, buf) for p in ps)
    ps[0].data = np.zeros((3, 4), dtype=np.float32)  # user code rebinds a parameter
    opt.zero_grad()
    _loss(ps).backward()
    opt.step()
    assert np.shares_memory(ps[0].data, buf)
    np.testing.assert_allclose(ps[0].data, -0.1 * (0 * 2 + 1), rtol=1e-6)  # grad of 1·p² + tanh p at 0


def test_a_parameter_changing_dtype_after_construction_is_a_clear_error():
    ps, opt = _run(optim.Adam, {"lr": 0.05}, True, steps=1)
    ps[0].data = ps[0].data.astype(np.float64)
    opt.zero_grad()
    _loss(ps).backward()
    with pytest.raises(cr.ConfigError, match="parameter 0 changed from float32.*float64.*new optimizer"):
        opt.step()
