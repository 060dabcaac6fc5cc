"""chainrule.explain.differentiate: the notes' four ways to differentiate (notes §5)."""

import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import Differentiation, differentiate

EXPECTED = [1208.3812151266095, 809.707479218564]  # by hand: z e^{xz} + z/ln x − z/ln²x + ...


def notes_exercise(x, z, m):
    return m.exp(x * z) + x * z / m.log(x) + m.sin(m.log(x)) / (x * z)


def test_the_notes_exercise_by_reverse_forward_and_finite_differences():
    r = differentiate(notes_exercise, 2.0, 3.0, symbolic=False)
    assert isinstance(r, Differentiation)
    x, z = 2.0, 3.0  # the derivative written out by hand
    dx = z * np.exp(x * z) + z / np.log(x) - z / np.log(x) ** 2 + (
        np.cos(np.log(x)) - np.sin(np.log(x))) / (x * x * z)
    dz = x * np.exp(x * z) + x / np.log(x) - np.sin(np.log(x)) / (x * z * z)
    np.testing.assert_allclose([dx, dz], EXPECTED, rtol=1e-12)
    np.testing.assert_allclose(r.gradient[0], EXPECTED, rtol=1e-12)
    np.testing.assert_allclose(r.method("forward mode").jacobian[0], EXPECTED, rtol=1e-12)
    np.testing.assert_allclose(r.method("finite differences").jacobian[0], EXPECTED, rtol=1e-8)
    assert r.value[0] == pytest.approx(412.19145728412116)
    # costs: 2 evaluations per input for central differences, one pass per output backwards,
    # one pass per input forwards
    assert r.method("finite differences").evaluations == 4
    assert r.method("reverse mode").evaluations == 1
    assert r.method("forward mode").evaluations == 2
    assert all(m.seconds >= 0 for m in r.methods)


def test_finite_difference_error_falls_then_rises_where_float_precision_takes_over():
    r = differentiate(notes_exercise, 2.0, 3.0, symbolic=False)
    eps = [e for e, _ in r.fd_errors]
    err = dict(r.fd_errors)
    assert eps[0] == pytest.approx(1e-1) and eps[-1] == pytest.approx(1e-12)
    # truncation: O(ε²) - ten times smaller ε, a hundred times smaller error
    assert err[1e-2] / err[1e-3] == pytest.approx(100, rel=0.01)
    assert 1e-7 <= r.best_epsilon <= 1e-4        # about cbrt(machine ε) scaled by f
    assert err[1e-12] > 100 * err[r.best_epsilon]  # rounding takes over


def test_dual_numbers_are_shown_one_pass_per_input():
    r = differentiate(notes_exercise, 2.0, 3.0, symbolic=False)
    assert r.duals == ["pass 1: x0 = 2 + 1ε, x1 = 3 + 0ε  →  y0 = 412.191 + 1208.38ε",
                       "pass 2: x0 = 2 + 0ε, x1 = 3 + 1ε  →  y0 = 412.191 + 809.707ε"]


def test_the_asymmetry_one_input_many_outputs():
    r = differentiate(lambda x: (x * x, x * x * x, 2 * x), 2.0, symbolic=False)
    np.testing.assert_allclose(r.gradient, [[4.0], [12.0], [2.0]])
    np.testing.assert_allclose(r.method("forward mode").jacobian, r.gradient)
    assert r.method("forward mode").evaluations == 1   # one input: one pass
    assert r.method("reverse mode").evaluations == 3   # three outputs: three backward passes
    text = str(r)
    assert "one pass per input (1 here)" in text and "one backward pass per output (3 here)" in text


def test_table_is_readable_and_never_prints_minus_zero():
    r = differentiate(lambda x, z, m: x * z - x * z + m.sin(z), 0.0, 3.0, symbolic=False)
    text = str(r)
    for name in ("finite differences", "reverse mode", "forward mode", "asymmetry", "ε = 1e-12"):
        assert name in text
    assert "-0 " not in text and "-0," not in text and "-0]" not in text


def test_symbolic_with_sympy():
    pytest.importorskip("sympy")
    r = differentiate(notes_exercise, 2.0, 3.0)
    np.testing.assert_allclose(r.method("symbolic (SymPy)").jacobian[0], EXPECTED, rtol=1e-12)
    assert "exp(x0*x1)" in r.symbolic[0] and "cos(log(x0))" in r.symbolic[0]
    assert r.symbolic_ops[0] > r.symbolic_ops[1] > 0
    depth, f_ops, d_ops = zip(*r.growth)
    assert depth == (1, 2, 3, 4)
    assert all(b > a for a, b in zip(d_ops, d_ops[1:]))      # the derivative swells
    assert d_ops[-1] > 5 * f_ops[-1]                         # faster than the function
    assert "Symbolic (SymPy)" in str(r)


def test_symbolic_skips_cleanly_without_sympy(monkeypatch):
    monkeypatch.setitem(sys.modules, "sympy", None)  # import sympy now raises ImportError
    monkeypatch.setattr("chainrule.explain_four.installed_version", lambda m, d=None: None)
    r = differentiate(notes_exercise, 2.0, 3.0)
    assert "symbolic" in r.symbolic_missing and "chainrule[symbolic]" in str(r)
    assert [m.name for m in r.methods] == ["finite differences", "reverse mode", "forward mode"]
    with pytest.raises(cr.MissingDependency, match=r"chainrule\[symbolic\]"):
        differentiate(notes_exercise, 2.0, 3.0, symbolic=True)


def test_bad_inputs_are_config_errors():
    with pytest.raises(cr.ConfigError, match="expected at least one number"):
        differentiate(notes_exercise)
    with pytest.raises(cr.ConfigError, match="expected numbers"):
        differentiate(notes_exercise, "a", 3.0)
    with pytest.raises(cr.ConfigError, match="expected finite numbers"):
        differentiate(notes_exercise, float("nan"), 3.0)
    with pytest.raises(cr.ConfigError, match="Invalid method"):
        differentiate(notes_exercise, 2.0, 3.0, symbolic=False).method("nope")
