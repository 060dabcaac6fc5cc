"""The numerical-stability coach: names the stable form of an unstable computation.

Under :func:`stability_coach` (a debug mode: it turns on :func:`chainrule.detect_anomaly` and
watches every op that mode checks), chainrule

- warns (:class:`StabilityWarning`, once per pattern) when it sees ``log(sigmoid(x))``,
  ``log(1 − sigmoid(x))``, ``log(softmax(x))``, ``log(Σ exp(x))`` or ``log(1 + exp(x))`` in the
  recorded graph, even while the values are still finite, and names the stable form
  (``F.logsigmoid``, ``BCEWithLogitsLoss``, ``log_softmax``, ``CrossEntropyLoss``,
  ``logsumexp``, ``softplus``);
- when an op makes a NaN or an Inf, adds to the :class:`~chainrule.errors.AnomalyError` what
  went wrong and the stable form: an ``exp`` that overflowed (its largest input), a ``log`` of
  0 and where the 0 came from, and in backward a NaN made by ``0·inf`` (the op whose vjp
  multiplied a zero cotangent by an infinite local derivative, as ``where(mask, sqrt(x), 0)``
  does at x = 0).

Why a context of its own rather than more of ``detect_anomaly``: ``detect_anomaly`` means what
PyTorch's means (raise on the first NaN/Inf), and its users should not start getting warnings
about values that are still finite; the coach is for a student or a debugging session that
asks for advice. It costs nothing when off: the engine calls it only inside the
``detect_anomaly`` branch it already has.

The patterns are read from the graph autograd records, so they are seen where some input
requires a gradient (as in training); overflow and 0·inf are found either way.

>>> import warnings, chainrule as cr
>>> x = cr.Tensor([-3.0, 0.0], requires_grad=True)
>>> with warnings.catch_warnings(record=True) as caught, cr.stability_coach():
...     warnings.simplefilter("always")
...     y = x.sigmoid().log()
>>> "logsigmoid" in str(caught[0].message)
True
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .backend import to_host
from .engine import MODE, detect_anomaly

__all__ = ["stability_coach", "StabilityWarning", "ADVICE"]


class StabilityWarning(UserWarning):
    """A numerically unstable form that has a stable replacement (see :func:`stability_coach`)."""


#: The stable form of each pattern the coach knows.
ADVICE = {
    "log(sigmoid(x))":
        "log(sigmoid(x)) is log(0) = -inf once sigmoid(x) underflows (x < -88 in float32) and "
        "loses precision long before; use F.logsigmoid(x) (= -softplus(-x)), or for a loss "
        "nn.BCEWithLogitsLoss / F.binary_cross_entropy_with_logits on the logits x instead of "
        "BCELoss on sigmoid(x)",
    "log(1 - sigmoid(x))":
        "log(1 - sigmoid(x)) is log(0) = -inf once sigmoid(x) rounds to 1 (x > 17 in float32); "
        "use F.logsigmoid(-x), or nn.BCEWithLogitsLoss on the logits x",
    "log(softmax(x))":
        "log(softmax(x)) is log(0) = -inf for every class whose probability underflows; use "
        "F.log_softmax(x) (= x - logsumexp(x)), or nn.CrossEntropyLoss on the logits x instead "
        "of NLLLoss on log(softmax(x))",
    "log(sum(exp(x)))":
        "log(sum(exp(x))) overflows once x > 88 (float32); use x.logsumexp(dim) "
        "(= m + log sum exp(x - m) with m = max x)",
    "log(1 + exp(x))":
        "log(1 + exp(x)) overflows once x > 88 (float32); use F.softplus(x)",
}

# ops a value passes through unchanged in meaning (BCELoss clamps its probabilities first)
_THROUGH = ("Clip", "Maximum", "Minimum", "Cast")
# why each op's local derivative can be infinite at a finite input
_INFINITE_SLOPE = {
    "Sqrt": "d sqrt(x)/dx = 1/(2 sqrt(x)) is infinite at x = 0",
    "Log": "d log(x)/dx = 1/x is infinite at x = 0",
    "Pow": "d x^p/dx = p x^(p-1) is infinite at x = 0 for p < 1",
    "Div": "d(a/b)/db = -a/b^2 is infinite at b = 0",
    "Asin": "d asin(x)/dx = 1/sqrt(1 - x^2) is infinite at x = +-1",
    "Acos": "d acos(x)/dx = -1/sqrt(1 - x^2) is infinite at x = +-1",
    "Atanh": "d atanh(x)/dx = 1/(1 - x^2) is infinite at x = +-1",
    "Normalize": "the derivative of x/|x| is infinite at x = 0",
}


def _maker(t: Any) -> Any:
    """The op that made ``t``, looking through clamps and casts (None for leaves/constants)."""
    op = getattr(t, "op", None)
    while op is not None and getattr(op, "name", None) in _THROUGH:
        op = getattr(op.inputs[0], "op", None)
    return op if hasattr(op, "inputs") else None


def _named(t: Any, *names: str) -> Any:
    op = _maker(t)
    return op if op is not None and op.name in names else None


def _log_pattern(x: Any) -> str | None:
    """Which known unstable form ``log(x)`` is, from the ops that made ``x``."""
    m = _maker(x)
    if m is None:
        return None
    ins = m.inputs
    if m.name == "Sigmoid":
        return "log(sigmoid(x))"
    if m.name == "Sub" and _named(ins[1], "Sigmoid") and _is_one(ins[0]):
        return "log(1 - sigmoid(x))"
    if m.name == "Exp" and (sub := _named(ins[0], "Sub")) and _named(sub.inputs[1], "LogSumExp",
                                                                         "Max"):
        return "log(softmax(x))"
    if m.name == "Div" and _named(ins[0], "Exp"):
        return "log(softmax(x))"  # exp(z) / sum(exp(z)), written out
    if m.name == "Sum" and _named(ins[0], "Exp"):
        return "log(sum(exp(x)))"
    if m.name == "Add" and any(_named(a, "Exp") for a in ins) and any(_is_one(a) for a in ins):
        return "log(1 + exp(x))"
    return None


def _data(t: Any) -> np.ndarray:
    """The values of a Tensor, array or number, on the host (the coach only reads them)."""
    return np.asarray(to_host(getattr(t, "data", t)))


def _is_one(t: Any) -> bool:
    """A constant 1 (not made by an op)."""
    if _maker(t) is not None:
        return False
    return bool(np.all(_data(t) == 1))


class _Coach:
    """The state of one :func:`stability_coach` block: the patterns already warned about."""

    def __init__(self, warn: bool) -> None:
        self.warn = warn
        self.seen: set[str] = set()

    def observe(self, op: Any, out: Any, what: str, inputs: Sequence[Any]) -> None:
        """Called by the engine for every op output and gradient it checks."""
        if not self.warn or what != "output" or op.name != "Log" or not inputs:
            return
        key = _log_pattern(inputs[0])
        if key is not None and key not in self.seen:
            self.seen.add(key)
            warnings.warn(f"stability_coach: {ADVICE[key]}", StabilityWarning, stacklevel=5)

    def advise(self, op: Any, out: Any, what: str, inputs: Sequence[Any], g: Any) -> str:
        """The explanation appended to the AnomalyError of ``op``."""
        if what == "gradient":
            return _advise_backward(op, out, inputs, g)
        return _advise_forward(op, inputs)


def _advise_forward(op: Any, inputs: Sequence[Any]) -> str:
    arrays = [_data(a) for a in inputs if a is not None]
    name = op.name
    if name == "Log" and inputs:
        key = _log_pattern(inputs[0])
        if key is not None:
            return f": {ADVICE[key]}"
        low = float(np.nanmin(arrays[0])) if arrays and arrays[0].size else 0.0
        return (f": log of {'0' if low == 0 else 'a negative number'} (smallest input {low:.4g}); "
                "if the input is a probability made from logits, stay in log space "
                "(F.log_softmax, F.logsigmoid, CrossEntropyLoss, BCEWithLogitsLoss); "
                "otherwise clamp first: x.clamp(min=eps).log()")
    if name == "Exp" and arrays:
        big = float(np.nanmax(arrays[0])) if arrays[0].size else float("nan")
        limit = float(np.log(np.finfo(arrays[0].dtype).max)) if arrays[0].dtype.kind == "f" \
            else 709.78
        return (f": exp overflowed: its largest input was {big:.4g}, and exp(x) is "
                f"beyond {arrays[0].dtype} for x > {limit:.2f}. Stable forms: x.logsumexp(dim) "
                "for log(sum(exp(x))) (= m + log sum exp(x - m), m = max x); F.softmax / "
                "F.log_softmax on the logits (they subtract the max); F.softplus(x) for "
                "log(1 + exp(x)); x.sigmoid() for 1/(1 + exp(-x)); or clamp the input first: "
                "x.clamp(max=80).exp()")
    if name == "Div":
        return (": division by zero (or by a number so small the quotient overflows); add a "
                "small eps to the denominator, x / (y + 1e-8), or clamp it: y.clamp(min=eps)")
    return (": the values left the float range; normalize the inputs, lower the learning rate, "
            "or compute in float64")


def _advise_backward(op: Any, gi: Any, inputs: Sequence[Any], g: Any) -> str:
    why = _INFINITE_SLOPE.get(op.name, "its local derivative is infinite at these inputs")
    g = _data(g) if g is not None else None
    gi = _data(gi)
    if g is not None and not np.isfinite(g).all():
        return ""  # the cotangent it got was already bad: the op before it is to blame
    nan = np.isnan(gi)
    if nan.any():
        zero = g is not None and g.shape == gi.shape and bool((g[nan] == 0).all())
        how = ("a zero cotangent times its infinite local derivative" if zero
               else "a finite cotangent into 0*inf or inf - inf")
        return (f": 0*inf in backward: op {op.name}'s vjp made NaN from {how} ({why}); "
                "0*inf = NaN. This happens when where(mask, f(x), 0) or a masked loss still "
                "evaluates f where its derivative is infinite: the untaken branch's gradient "
                "is 0, times inf. Stable form: make the input safe before the op, e.g. "
                "where(mask, where(mask, x, 1).sqrt(), 0), or add eps: (x + 1e-12).sqrt()")
    return (f": op {op.name}'s local derivative is infinite here ({why}); a zero cotangent "
            "would turn it into 0*inf = NaN. Stable form: keep the input away from the "
            "singular point: (x + 1e-12).sqrt(), x.clamp(min=eps).log()")


@contextlib.contextmanager
def stability_coach(warn: bool = True) -> Iterator[None]:
    """Debug mode with advice: :func:`chainrule.detect_anomaly`, plus a
    :class:`StabilityWarning` for each unstable pattern seen (once per block) and the stable
    form named in every :class:`~chainrule.errors.AnomalyError` (see the module docstring).

    Args:
        warn: warn about patterns (False: only explain the errors).
    """
    prev = MODE.coach
    MODE.coach = _Coach(warn)
    try:
        with detect_anomaly():
            yield
    finally:
        MODE.coach = prev
