"""chainrule.explain.trace: the slides' forward and backward tables for any scalar function
(notes §4), with the notes' exercise y = e^(xz) + xz/ln x + sin(ln x)/(xz) at x = 2, z = 3."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from chainrule import ConfigError, GraphError, ShapeError, Tensor
from chainrule.explain import GraphTrace, trace
from chainrule.explain_trace import adjoints, describe, node_name


def exercise(x, z):
    xz, lnx = x * z, x.log()
    return xz.exp() + xz / lnx + lnx.sin() / xz


def exact(x, z):
    """∂y/∂x and ∂y/∂z by hand."""
    lx = math.log(x)
    dx = (z * math.exp(x * z) + z / lx - z / lx ** 2
          + math.cos(lx) / (x * x * z) - math.sin(lx) / (x * x * z))
    dz = x * math.exp(x * z) + x / lx - math.sin(lx) / (x * z * z)
    return dx, dz


def test_the_notes_exercise_forward_rows_in_the_slides_order():
    t = trace(exercise, 2.0, 3.0)
    assert isinstance(t, GraphTrace) and t.inputs == ["x", "z"]
    rows = [(r["node"], r["op"], r["expression"]) for r in t.forward]
    assert rows == [("v₋₁", "input", "x"), ("v₀", "input", "z"), ("v₁", "Mul", "v₋₁ · v₀"),
                    ("v₂", "Log", "log(v₋₁)"), ("v₃", "Exp", "exp(v₁)"), ("v₄", "Div", "v₁ / v₂"),
                    ("v₅", "Add", "v₃ + v₄"), ("v₆", "Sin", "sin(v₂)"), ("v₇", "Div", "v₆ / v₁"),
                    ("v₈", "Add", "v₅ + v₇")]
    values = [float(r["value"]) for r in t.forward]
    np.testing.assert_allclose(values[:5], [2, 3, 6, math.log(2), math.exp(6)], rtol=1e-15)
    want = math.exp(6) + 6 / math.log(2) + math.sin(math.log(2)) / 6
    assert t.value == pytest.approx(want, rel=1e-15) and values[-1] == t.value


def test_the_notes_exercise_adjoints_and_rules():
    t = trace(exercise, 2.0, 3.0)
    assert [round(g, 2) for g in t.gradient] == [1208.38, 809.71]
    np.testing.assert_allclose(t.gradient, exact(2.0, 3.0), rtol=1e-13)
    assert t.engine_difference < 1e-12
    by = {r["node"]: r for r in t.backward}
    assert [r["node"] for r in t.backward] == ["v₈", "v₇", "v₆", "v₅", "v₄", "v₃", "v₂", "v₁",
                                              "v₀", "v₋₁"]       # from the output down
    assert by["v₈"]["rule"] == "v̄₈ = ȳ = 1" and float(by["v₈"]["adjoint"]) == 1
    assert by["v₆"]["rule"] == "v̄₆ = v̄₇ · 1/v₁"
    assert by["v₂"]["rule"] == "v̄₂ = v̄₄ · (−v₁/v₂²) + v̄₆ · cos(v₂)"
    assert by["v₁"]["rule"] == "v̄₁ = v̄₃ · v₃ + v̄₄ · 1/v₂ + v̄₇ · (−v₆/v₁²)"
    assert by["v₋₁"]["rule"] == "v̄₋₁ = v̄₁ · v₀ + v̄₂ · 1/v₋₁"
    # each term is v̄_k · ∂v_k/∂v_i by hand, and the adjoint is their sum
    v1, v2 = 6.0, math.log(2)
    bar2 = -v1 / v2 ** 2 + (1 / v1) * math.cos(v2)
    np.testing.assert_allclose([float(a) for a in by["v₂"]["terms"]],
                               [-v1 / v2 ** 2, math.cos(v2) / v1], rtol=1e-14)
    assert float(by["v₂"]["adjoint"]) == pytest.approx(bar2, rel=1e-14)
    for row in t.backward[1:]:
        assert float(np.sum(row["terms"])) == pytest.approx(float(row["adjoint"]), rel=1e-14)


def test_printed_tables():
    text = str(trace(exercise, 2.0, 3.0))
    for piece in ("Forward (primal) trace", "Backward (adjoint) trace", "inputs x = v₋₁, z = v₀",
                  "v̄₂ = v̄₄ · (−v₁/v₂²) + v̄₆ · cos(v₂)", "1208.38", "809.707",
                  "-12.4882 + 0.128206", "1214.56 − 6.18"):
        assert piece in text, piece
    assert re.search(r"v₃ +Exp +exp\(v₁\) +403\.429", text)
    lines = text.splitlines()
    rows = [line for line in lines if line.startswith("  v̄")]
    # the columns line up although v̄ carries a combining bar
    assert len({line.index("v̄", 3) for line in rows[1:]}) == 1


def test_the_namespace_form_repeats_steps_and_constants_show_by_value():
    def f(x, z, m):
        return m.exp(x * z) + 2 * x + x ** 2 - x / 4

    t = trace(f, 2.0, 3.0)
    exprs = [r["expression"] for r in t.forward]
    assert "2 · v₋₁" in exprs and "v₋₁ ^ 2" in exprs and "v₋₁ / 4" in exprs
    rule = next(r["rule"] for r in t.backward if r["node"] == "v₋₁")
    assert "· 2 +" in rule and "(2·v₋₁^(2 − 1))" in rule and "· 1/4" in rule
    np.testing.assert_allclose(t.gradient, [3 * math.exp(6) + 2 + 4 - 0.25, 2 * math.exp(6)],
                               rtol=1e-13)


def test_an_input_used_nowhere_has_adjoint_zero_and_names_can_be_given():
    t = trace(lambda a, b: (a * a).sin(), 0.5, 7.0, names=["a", "b"])
    assert t.gradient == [pytest.approx(2 * 0.5 * math.cos(0.25)), 0.0]
    assert next(r for r in t.backward if r["node"] == "v₀")["rule"] == "v̄₀ = 0"
    # an op without a written rule gets the generic one, with the op's name; numbers still come
    t = trace(lambda x: x.logaddexp(x * 2), 0.3)
    assert t.backward[-1]["rule"] == "v̄₀ = v̄₁ · 2 + v̄₂ · ∂v₂/∂v₀ (LogAddExp)"   # one input: v₀
    e1, e2 = math.exp(0.3), math.exp(0.6)
    assert t.gradient[0] == pytest.approx((e1 + 2 * e2) / (e1 + e2), rel=1e-14)


def test_arrays_and_describe():
    t = trace(lambda w: (w * w).sum(), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(t.backward[-1]["adjoint"], [2.0, 4.0, 6.0])
    assert describe(np.arange(3.0)) == "[0, 1, 2]"
    assert describe(np.ones((10, 10))) == "(10, 10) ‖·‖=10"
    assert describe(np.float64(-0.0)) == "0"
    assert node_name(-1) == "v₋₁" and node_name(12) == "v₁₂"


def test_adjoints_leave_grad_and_graph_alone():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True, dtype="float64")
    h = x.tanh()
    y = (h * x).sum()
    bars = adjoints(y)
    assert x.grad is None
    np.testing.assert_allclose(bars[id(x)], np.tanh(x.data) + x.data * (1 - np.tanh(x.data) ** 2))
    y.backward()                                  # the graph was not freed by adjoints()
    np.testing.assert_allclose(x.grad, bars[id(x)], rtol=1e-15)
    with pytest.raises(GraphError, match="freed"):
        adjoints(y)


def test_bad_functions():
    with pytest.raises(ShapeError, match="scalar"):
        trace(lambda x: x * 2, np.array([1.0, 2.0]))
    with pytest.raises(ConfigError, match="computed from its inputs"):
        trace(lambda x: 3.0, 1.0)
    with pytest.raises(ConfigError, match="1 name"):
        trace(lambda x, z: x * z, 1.0, 2.0, names=["x"])
