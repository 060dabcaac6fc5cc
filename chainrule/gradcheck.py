"""Finite differences, and checking both AD modes against them (notes §5, four ways to get derivatives).

Central differences (f(x + ε) − f(x − ε)) / 2ε have error O(ε²); in float64 with ε = 1e-6
they agree with exact derivatives to about 1e-8 on smooth functions of size-one inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from . import functional as F
from .backend import require_host
from .errors import ChainruleError
from .forward import Dual
from .ops import OPS
from .tensor import Tensor


class GradcheckError(ChainruleError, AssertionError):
    """Reverse or forward mode disagrees with finite differences."""


_WHY = "finite differences in float64 on the host"


def _value(out: Any) -> np.ndarray:
    if isinstance(out, Tensor):
        return out.data
    if isinstance(out, Dual):
        return out.primal
    return np.asarray(out)


def numerical_grad(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6,
                   cotangent: Any = None) -> list[np.ndarray]:
    """∂⟨u, f(x)⟩/∂x for every input by central differences, in float64.

    ``f`` takes arrays (or Tensors) and returns an array or Tensor; ``u`` is ``cotangent``
    (all ones when None, i.e. the gradient of the sum).

    >>> numerical_grad(lambda x: x ** 2, np.array([3.0]))[0].round(6)
    array([6.])
    """
    require_host("numerical_grad", [x.data if isinstance(x, Tensor) else x for x in inputs], _WHY)
    xs = [np.array(_value(x), dtype=np.float64) for x in inputs]
    u = None if cotangent is None else np.asarray(cotangent, dtype=np.float64)

    def s(*args: Any) -> float:
        out = _value(f(*[Tensor(a) for a in args]))
        return float(np.sum(out if u is None else out * u))

    grads = []
    for x in xs:
        g = np.zeros_like(x)
        flat, gflat = x.reshape(-1), g.reshape(-1)
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            hi = s(*xs)
            flat[k] = orig - eps
            lo = s(*xs)
            flat[k] = orig
            gflat[k] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


@dataclass
class GradcheckReport:
    """What :func:`check_grad` compared: the largest error per mode."""

    name: str
    reverse_error: float
    forward_error: float


def _worst(name: str, mode: str, i: int, got: np.ndarray, want: np.ndarray,
           atol: float, rtol: float) -> float:
    err = np.abs(got - want)
    tol = atol + rtol * np.abs(want)
    if got.shape != want.shape:
        raise GradcheckError(f"{name}: {mode} gradient of input {i} has shape {got.shape}, "
                             f"expected {want.shape}")
    if err.size and not np.all(err <= tol):
        k = np.unravel_index(np.argmax(err - tol), err.shape)
        rel = err[k] / max(np.abs(want[k]), 1e-300)
        raise GradcheckError(
            f"{name}: {mode} mode disagrees with finite differences for input {i} at index "
            f"{tuple(int(j) for j in k)}: {mode} {got[k]:.10g}, numerical {want[k]:.10g}, "
            f"abs error {err[k]:.3g}, relative error {rel:.3g} (atol {atol}, rtol {rtol})")
    return float(err.max()) if err.size else 0.0


def check_grad(f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
               rtol: float = 1e-4, modes: Sequence[str] = ("reverse", "forward"),
               name: str | None = None, seed: int = 0) -> GradcheckReport:
    """Check reverse and forward mode of ``f`` against central differences, in float64.

    The output is projected on a random cotangent u, so one check covers every output
    element: reverse mode must give ∂⟨u, f⟩/∂x elementwise; forward mode, run once per input
    element with a unit tangent, must give the same numbers (⟨u, J e_k⟩).

    Args:
        f: a function of Tensors (or Duals) built from chainrule ops.
        *inputs: arrays at which to check; they are upcast to float64.
        modes: which of "reverse" and "forward" to check.
        name: what to call ``f`` in failure messages.

    Returns:
        A :class:`GradcheckReport` with the largest absolute error per mode.

    Raises:
        GradcheckError: naming the function, the mode, the input, the worst element, both
            values and the relative error.

    >>> check_grad(lambda x: x.tanh(), np.array([0.5, -1.0])).name
    '<lambda>'
    """
    name = name or getattr(f, "__name__", "f")
    require_host("check_grad", [x.data if isinstance(x, Tensor) else x for x in inputs], _WHY)
    xs = [np.array(_value(x), dtype=np.float64) for x in inputs]
    out = _value(f(*[Tensor(x) for x in xs]))
    u = np.random.default_rng(seed).standard_normal(np.shape(out))
    numeric = numerical_grad(f, *xs, eps=eps, cotangent=u)
    rev_err = fwd_err = 0.0
    if "reverse" in modes:
        ts = [Tensor(x, requires_grad=True) for x in xs]
        y = f(*ts)
        if not isinstance(y, Tensor):
            raise GradcheckError(f"{name}: reverse mode needs a Tensor output; got {type(y).__name__}")
        if y.requires_grad:
            (y * Tensor(u)).sum().backward()
        for i, (t, want) in enumerate(zip(ts, numeric)):
            got = t.grad if t.grad is not None else np.zeros_like(want)
            rev_err = max(rev_err, _worst(name, "reverse", i, got, want, atol, rtol))
    if "forward" in modes:
        for i, want in enumerate(numeric):
            got = np.zeros_like(want)
            gflat = got.reshape(-1)
            for k in range(want.size):
                tangent = np.zeros_like(xs[i])
                tangent.reshape(-1)[k] = 1.0
                duals = [Dual(x, tangent if j == i else None) for j, x in enumerate(xs)]
                y = f(*duals)
                t = y.tangent if isinstance(y, Dual) else None
                gflat[k] = 0.0 if t is None else float(np.sum(t * u))
            fwd_err = max(fwd_err, _worst(name, "forward", i, got, want, atol, rtol))
    return GradcheckReport(name, rev_err, fwd_err)


# --- whole models and every registered primitive ---------------------------------------------

def _swap(owner: Any, attr: str, value: Any) -> Any:
    """Set ``owner.attr`` to ``value``; return what it held."""
    old = getattr(owner, attr)
    setattr(owner, attr, value)
    return old


def _parameter_function(model: Any, owner: Any, attr: str, x: Tensor, full: np.ndarray,
                        idx: np.ndarray | None) -> Callable[[Any], Any]:
    """``model(x)`` as a function of one parameter, or of its entries ``idx`` (the others
    held fixed as constants), by putting the argument in the parameter's place for the call."""
    if idx is None:
        def weight(w: Any) -> Any:
            return w
    else:
        rest = np.setdiff1d(np.arange(full.size), idx)
        inverse = np.argsort(np.concatenate([idx, rest]))
        fixed = Tensor(full.reshape(-1)[rest])

        def weight(sub: Any) -> Any:
            return F.concatenate([sub, fixed])[inverse].reshape(full.shape)

    def f(w: Any) -> Any:
        old = _swap(owner, attr, weight(w))
        try:
            return model(x)
        finally:
            _swap(owner, attr, old)
    return f


def check_model_gradients(model: Any, n_features: int, batch: int = 3, max_elements: int = 100,
                          seed: int = 0, atol: float = 1e-5,
                          rtol: float = 1e-4) -> list[dict[str, Any]]:
    """Check every parameter's gradient of ``model(x)`` on random float64 inputs, in reverse
    and forward mode, against central differences (:func:`check_grad`).

    Parameters with more than ``max_elements`` entries are checked on that many entries
    chosen at random (the rest held fixed), which keeps big models to seconds. The model is
    switched to float64 and eval mode in place (dropout off).

    Args:
        model: a module mapping (batch, n_features) inputs to outputs: anything with
            ``named_parameters()``, ``named_modules()``, ``double()`` and ``eval()``.
        n_features: the width of the random inputs.
        batch: how many random inputs (standard normal).
        max_elements: the most entries checked per parameter.
        seed: seeds the inputs, the sampled entries and the random cotangent.
        atol: absolute tolerance of :func:`check_grad`.
        rtol: relative tolerance.

    Returns:
        One dict per parameter: name, shape, checked, total, reverse and forward error, and
        ``error`` (the GradcheckError message) when the check failed.

    >>> from chainrule import nn
    >>> [r["name"] for r in check_model_gradients(nn.Linear(3, 2), 3)]
    ['weight', 'bias']
    """
    model.double().eval()
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, n_features)))
    modules = dict(model.named_modules())
    results = []
    for name, p in list(model.named_parameters()):
        owner_name, _, attr = name.rpartition(".")
        full = np.asarray(p.data, dtype=np.float64)
        idx = None if full.size <= max_elements else \
            np.sort(rng.choice(full.size, max_elements, replace=False))
        f = _parameter_function(model, modules[owner_name], attr, x, full, idx)
        point = full if idx is None else full.reshape(-1)[idx]
        entry: dict[str, Any] = {"name": name, "shape": list(full.shape), "checked": point.size,
                                 "total": full.size}
        try:
            rep = check_grad(f, point, atol=atol, rtol=rtol, name=name, seed=seed)
            entry.update(reverse_error=rep.reverse_error, forward_error=rep.forward_error)
        except GradcheckError as exc:
            entry["error"] = str(exc)
        results.append(entry)
    return results


def check_ops(seed: int = 0) -> list[dict[str, Any]]:
    """Every registered primitive through :func:`check_grad`, both AD modes, on the sample
    inputs the gradient test uses (:mod:`chainrule.samples`).

    Returns:
        One dict per op in :data:`chainrule.ops.OPS`: name, the number of sample cases that
        passed, the largest reverse and forward error, ``errors`` (the failures' messages)
        and ``skipped`` for an op without samples.
    """
    from .samples import collect  # NOTE: imports every family's samples; only when asked
    table = collect()
    results = []
    for name in OPS:
        cases = table.get(name, [])
        entry: dict[str, Any] = {"name": name, "cases": 0, "reverse_error": 0.0,
                                 "forward_error": 0.0}
        if not cases:
            entry["skipped"] = "no samples in chainrule/samples"
        for i, case in enumerate(cases):
            label = case.id or str(i)
            try:
                rep = check_grad(case.f, *case.inputs, name=f"{name}[{label}]", seed=seed, **case.tol)
            except GradcheckError as exc:
                entry.setdefault("errors", []).append(str(exc))
                continue
            entry["cases"] += 1
            entry["reverse_error"] = max(entry["reverse_error"], rep.reverse_error)
            entry["forward_error"] = max(entry["forward_error"], rep.forward_error)
        results.append(entry)
    return results


__all__ = ["GradcheckError", "GradcheckReport", "check_grad", "numerical_grad",
           "check_model_gradients", "check_ops"]
