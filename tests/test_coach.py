"""The numerical-stability coach (chainrule.stability_coach): each unstable pattern is named
with its stable form, in a warning and in the AnomalyError; nothing runs when it is off."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as NF
from chainrule import Tensor, nn
from chainrule.coach import ADVICE, StabilityWarning
from chainrule.engine import MODE


def coached(f):
    """Run f under the coach; return the warnings' messages and the AnomalyError (or None)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = None
        try:
            with cr.stability_coach():
                f()
        except cr.AnomalyError as exc:
            error = str(exc)
    assert all(issubclass(w.category, StabilityWarning) for w in caught)
    return [str(w.message) for w in caught], error


X = Tensor([-3.0, 0.0, 2.0], requires_grad=True)


@pytest.mark.parametrize("f, key, stable", [
    (lambda: X.sigmoid().log(), "log(sigmoid(x))", "F.logsigmoid"),
    (lambda: (1 - X.sigmoid()).log(), "log(1 - sigmoid(x))", "F.logsigmoid(-x)"),
    (lambda: cr.softmax(X).log(), "log(softmax(x))", "F.log_softmax"),
    (lambda: (X.exp() / X.exp().sum()).log(), "log(softmax(x))", "CrossEntropyLoss"),
    (lambda: X.exp().sum().log(), "log(sum(exp(x)))", "logsumexp"),
    (lambda: (1 + X.exp()).log(), "log(1 + exp(x))", "F.softplus"),
])
def test_each_pattern_warns_once_with_its_stable_form(f, key, stable):
    messages, error = coached(lambda: [f() for _ in range(3)])  # once per block, not per op
    assert error is None and messages == [f"stability_coach: {ADVICE[key]}"]
    assert stable in messages[0]


def test_bce_on_sigmoid_probabilities_is_seen_through_its_clamp():
    y = Tensor([0.0, 1.0, 1.0])
    messages, _ = coached(lambda: NF.binary_cross_entropy(X.sigmoid(), y))
    assert [m.split(":")[1].split(" is ")[0].strip() for m in messages] == [
        "log(sigmoid(x))", "log(1 - sigmoid(x))"]
    assert all("BCEWithLogitsLoss" in m for m in messages)


def test_the_stable_forms_pass_silently():
    y = Tensor([0.0, 1.0, 1.0])
    messages, error = coached(lambda: (
        NF.logsigmoid(X), cr.log_softmax(X), X.logsumexp(0), NF.softplus(X),
        nn.BCEWithLogitsLoss()(X, y), nn.CrossEntropyLoss()(X.reshape(1, 3), np.array([2]))))
    assert messages == [] and error is None


def test_underflowed_log_sigmoid_raises_with_the_stable_form():
    x = Tensor([-200.0, 1.0], requires_grad=True)
    _, error = coached(lambda: x.sigmoid().log())
    assert error.startswith("detect_anomaly: op Log produced Inf in its output: log(sigmoid(x))")
    assert "F.logsigmoid" in error and "BCEWithLogitsLoss" in error
    # and the stable form gives the exact answer: log σ(−200) = −200 − log(1 + e^−200) ≈ −200
    messages, error = coached(lambda: np.testing.assert_allclose(NF.logsigmoid(x).data[0], -200))
    assert messages == [] and error is None


def test_underflowed_log_softmax_raises_naming_log_softmax():
    z = Tensor([[0.0, 120.0]], requires_grad=True)
    _, error = coached(lambda: cr.softmax(z, dim=1).log())
    assert "op Log produced Inf" in error and "F.log_softmax(x)" in error


def test_exp_overflow_names_the_input_and_the_stable_forms():
    z = Tensor([1.0, 100.0], requires_grad=True)
    _, error = coached(lambda: z.exp())
    assert error.startswith("detect_anomaly: op Exp produced Inf in its output: exp overflowed: "
                            "its largest input was 100, and exp(x) is beyond float32 for x > 88.72")
    assert "logsumexp" in error and "clamp(max=80)" in error
    z64 = Tensor(np.array([710.0]), requires_grad=True)
    _, error = coached(lambda: z64.exp())
    assert "beyond float64 for x > 709.78" in error


def test_log_of_zero_without_a_pattern_says_clamp():
    p = Tensor([0.0, 0.5], requires_grad=True)
    _, error = coached(lambda: (p * 1.0).log())
    assert "log of 0 (smallest input 0)" in error and "clamp(min=eps)" in error


def test_zero_times_inf_in_backward_names_the_op_and_the_safe_where():
    x = Tensor([0.0, 4.0], requires_grad=True)

    def masked_sqrt():
        # forward is finite (sqrt(0) = 0), but the untaken branch's gradient is 0 · 1/(2√0)
        cr.where(x.data > 0, x.sqrt(), 0.0).sum().backward()
    _, error = coached(masked_sqrt)
    assert error.startswith("detect_anomaly: op Sqrt produced NaN in its gradient: 0*inf in "
                            "backward: op Sqrt's vjp made NaN from a zero cotangent times its "
                            "infinite local derivative (d sqrt(x)/dx = 1/(2 sqrt(x)) is infinite "
                            "at x = 0)")
    assert "where(mask, where(mask, x, 1).sqrt(), 0)" in error

    def safe():  # the stable form the message names: finite gradient 1/(2√4) = 0.25 and 0
        x.grad = None
        cr.where(x.data > 0, cr.where(x.data > 0, x, 1.0).sqrt(), 0.0).sum().backward()
    assert coached(safe) == ([], None)
    np.testing.assert_allclose(x.grad, [0.0, 0.25])


def test_infinite_local_derivative_with_a_nonzero_cotangent():
    x = Tensor([0.0], requires_grad=True)
    _, error = coached(lambda: x.sqrt().sum().backward())
    assert "Sqrt produced Inf in its gradient: op Sqrt's local derivative is infinite" in error


def test_detect_anomaly_alone_points_to_the_coach_and_never_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cr.detect_anomaly():
            X.sigmoid().log()  # finite: detect_anomaly keeps PyTorch's meaning, no warning
            with pytest.raises(cr.AnomalyError, match=r"in its output \(chainrule.stability_coach"):
                Tensor([100.0], requires_grad=True).exp()


def test_warn_false_only_explains_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with cr.stability_coach(warn=False):
            X.sigmoid().log()
            with pytest.raises(cr.AnomalyError, match="exp overflowed"):
                Tensor([100.0], requires_grad=True).exp()


def test_the_coach_is_never_called_when_off_and_restored_after():
    class Trap:
        def __getattr__(self, name):
            raise AssertionError(f"coach.{name} called with the coach off")
    assert MODE.coach is None and not MODE.detect_anomaly
    MODE.coach = Trap()
    try:  # the normal path: no detect_anomaly, so the engine never looks at the coach
        x = Tensor([0.5, -1.0], requires_grad=True)
        (x.sigmoid().log().sum() + (x * x).exp().sum()).backward()
    finally:
        MODE.coach = None
    with pytest.raises(RuntimeError):
        with cr.stability_coach():
            raise RuntimeError("boom")
    assert MODE.coach is None and not MODE.detect_anomaly


def test_only_the_constant_one_makes_the_one_minus_patterns():
    a = Tensor([2.0, 2.0, 2.0], requires_grad=True)
    messages, _ = coached(lambda: ((a - X.sigmoid()).log(), (2.0 + X.exp()).log()))
    assert messages == []
