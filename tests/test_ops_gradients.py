"""Every registered primitive, in reverse and forward mode, against finite differences."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor
from chainrule.ops import OPS

from chainrule.samples import collect

SAMPLES = collect()
CASES = [pytest.param(name, case, id=f"{name}-{case.id or i}")
         for name in OPS for i, case in enumerate(SAMPLES.get(name, []))]


def test_every_registered_op_has_samples():
    missing = [name for name in OPS if not SAMPLES.get(name)]
    assert not missing, f"ops without gradient samples in chainrule/samples: {missing}"
    unknown = sorted(set(SAMPLES) - set(OPS))
    assert not unknown, f"samples for ops that are not registered: {unknown}"


@pytest.mark.parametrize(("name", "case"), CASES)
def test_op_gradients_match_finite_differences(name, case):
    report = cr.check_grad(case.f, *case.inputs, name=name, **case.tol)
    assert report.reverse_error < 1e-5 and report.forward_error < 1e-5


@pytest.mark.parametrize(("name", "case"), CASES)
def test_jvp_and_vjp_are_adjoint(name, case):
    """⟨u, J v⟩ from forward mode equals ⟨Jᵀu, v⟩ from reverse mode to machine precision."""
    rng = np.random.default_rng(0)
    xs = [np.array(x, dtype=np.float64) for x in case.inputs]
    vs = [rng.standard_normal(x.shape) for x in xs]
    out = case.f(*[Dual(x, v) for x, v in zip(xs, vs)])
    u = rng.standard_normal(out.primal.shape)
    forward = float(np.sum(u * out.tangent_or_zeros()))
    ts = [Tensor(x, requires_grad=True) for x in xs]
    case.f(*ts).backward(u)
    reverse = sum(float(np.sum(t.grad * v)) for t, v in zip(ts, vs) if t.grad is not None)
    assert forward == pytest.approx(reverse, rel=1e-10, abs=1e-10)


@pytest.mark.parametrize(("name", "case"), CASES)
def test_gradients_keep_input_dtype(name, case):
    ts = [Tensor(np.asarray(x, dtype=np.float32), requires_grad=True) for x in case.inputs]
    out = case.f(*ts)
    assert out.dtype == np.float32, f"{name} turned float32 into {out.dtype}"
    out.backward(np.ones(out.shape, dtype=np.float32))
    for t in ts:
        assert t.grad is None or (t.grad.dtype == np.float32 and t.grad.shape == t.shape)
