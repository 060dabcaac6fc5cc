"""The notes' four ways to get derivatives, side by side (notes §5): :func:`differentiate`.

1. finite differences (central), with the error as ε shrinks and where float precision
   takes over;
2. symbolic differentiation through SymPy (the optional ``symbolic`` extra), with the size of
   the derivative expression and how it grows as a function is nested deeper;
3. reverse mode (:func:`chainrule.grad`, backpropagation): one backward pass per output;
4. forward mode (:class:`chainrule.Dual`, dual numbers): one pass per input.

The user's function is written once and traced by all four: it takes the inputs and, as its
last argument, a namespace ``m`` of elementary functions (``m.exp``, ``m.log``, ``m.sin``,
``m.cos``, ``m.tan``, ``m.tanh``, ``m.sqrt``, ``m.sigmoid``) that is NumPy for finite
differences, SymPy for the symbolic way and chainrule for the two AD modes. Arithmetic is
written with the operators. A function without the extra argument is called with the inputs
only (it can then use operators alone, or be SymPy-compatible by itself).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import functional as F
from .autograd import grad
from .errors import ConfigError
from .forward import Dual
from .optional import installed_version, require

__all__ = ["differentiate", "Differentiation", "Method", "NUMPY", "CHAINRULE", "EPSILONS"]

#: The step sizes of the finite-difference error table, 1e-1 down to 1e-12.
EPSILONS = tuple(10.0 ** -k for k in range(1, 13))

NUMPY = SimpleNamespace(exp=np.exp, log=np.log, sin=np.sin, cos=np.cos, tan=np.tan,
                        tanh=np.tanh, sqrt=np.sqrt, sigmoid=lambda x: 1.0 / (1.0 + np.exp(-x)))
CHAINRULE = SimpleNamespace(exp=F.exp, log=F.log, sin=F.sin, cos=F.cos, tan=F.tan,
                            tanh=F.tanh, sqrt=F.sqrt, sigmoid=F.sigmoid)


def _sympy_namespace(sp: Any) -> SimpleNamespace:
    return SimpleNamespace(exp=sp.exp, log=sp.log, sin=sp.sin, cos=sp.cos, tan=sp.tan,
                           tanh=sp.tanh, sqrt=sp.sqrt, sigmoid=lambda x: 1 / (1 + sp.exp(-x)))


@dataclass
class Method:
    """One way's result: the Jacobian (outputs × inputs) and what it cost."""

    name: str
    jacobian: np.ndarray
    evaluations: int  # calls of f (a dual-number or taped call counts as one)
    passes: str       # the passes it made, in words
    seconds: float
    note: str = ""


@dataclass
class Differentiation:
    """What :func:`differentiate` found; ``str()`` is the side-by-side table."""

    inputs: tuple[float, ...]
    value: np.ndarray
    methods: list[Method]
    fd_errors: list[tuple[float, float]]   # (ε, max |central difference − exact|)
    best_epsilon: float
    duals: list[str]                       # forward mode's dual numbers, one line per pass
    symbolic: list[str] = field(default_factory=list)   # ∂y/∂x_i as expressions
    symbolic_ops: list[int] = field(default_factory=list)
    growth: list[tuple[int, int, int]] = field(default_factory=list)  # (depth, ops f, ops f')
    symbolic_missing: str = ""

    @property
    def gradient(self) -> np.ndarray:
        """The reverse-mode result (the reference the others are compared with)."""
        return self.method("reverse mode").jacobian

    def method(self, name: str) -> Method:
        """The :class:`Method` called ``name``."""
        for m in self.methods:
            if m.name == name:
                return m
        raise ConfigError(f"Invalid method: {name!r} (expected one of "
                          f"{[m.name for m in self.methods]}) in Differentiation.method")

    def __str__(self) -> str:
        return "\n".join(_report(self))


def _num(v: float, digits: int = 6) -> str:
    s = f"{float(v):.{digits}g}"
    return "0" if s in ("-0", "-0.0") else s


def _row(values: np.ndarray) -> str:
    rows = np.atleast_2d(values)  # a Jacobian's rows (one per output) are separated by ";"
    return "[" + "; ".join(", ".join(_num(v, 8) for v in r) for r in rows) + "]"


def _report(r: Differentiation) -> list[str]:
    n, m = len(r.inputs), r.value.size
    out = [f"Four ways to differentiate at {_row(np.array(r.inputs))} (the tutorial's page of that name): "
           f"{n} input(s), {m} output(s), value {_row(r.value)}", ""]
    head = f"  {'method':<22}{'derivative':<34}{'f evals':>8}  {'time':>9}  passes"
    out += [head, "  " + "-" * (len(head) + 20)]
    for meth in r.methods:
        out.append(f"  {meth.name:<22}{_row(meth.jacobian):<34}{meth.evaluations:>8}  "
                   f"{meth.seconds * 1e3:>7.3f}ms  {meth.passes}")
    if r.symbolic_missing:
        out.append(f"  {'symbolic':<22}skipped: {r.symbolic_missing}")
    out += ["", "Finite differences: (f(x + εe_i) − f(x − εe_i)) / 2ε, the error is O(ε²) "
            "truncation plus about machine-ε·|f|/ε rounding:"]
    out += [f"  ε = {eps:<8.0e} max error {_num(err, 3)}" for eps, err in r.fd_errors]
    out.append(f"  smallest error at ε = {r.best_epsilon:.0e}; below it float precision "
               "takes over and the error grows again.")
    if r.symbolic:
        out += ["", "Symbolic (SymPy), unsimplified:"]
        out += [f"  ∂y/∂x{i} = {e}   ({k} operations)"
                for i, (e, k) in enumerate(zip(r.symbolic, r.symbolic_ops))]
        out.append("  expression swell as a function is nested (l ← 4l(1 − l), depth d):")
        out += [f"  depth {d}: f has {a} operations, df/dx has {b}" for d, a, b in r.growth]
    out += ["", "Forward mode's dual numbers (x + x'ε, ε² = 0), one pass per input:"]
    out += [f"  {line}" for line in r.duals]
    out += ["", f"The asymmetry: reverse mode needs one backward pass per output ({m} here), "
            f"forward mode one pass per input ({n} here); so reverse mode is cheap for one "
            "output and many inputs (a loss and its weights), forward mode for one input "
            "and many outputs."]
    return out


def _call(f: Callable[..., Any], args: Sequence[Any], ns: Any, takes_ns: bool) -> list[Any]:
    y = f(*args, ns) if takes_ns else f(*args)
    return list(y) if isinstance(y, (tuple, list)) else [y]


def _finite(f: Callable[..., Any], x: np.ndarray, takes_ns: bool, eps: float) -> np.ndarray:
    n = x.size
    cols = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        hi = np.array(_call(f, list(x + e), NUMPY, takes_ns), dtype=np.float64)
        lo = np.array(_call(f, list(x - e), NUMPY, takes_ns), dtype=np.float64)
        cols.append((hi - lo) / (2 * eps))
    return np.stack(cols, axis=1)


def _reverse(f: Callable[..., Any], x: np.ndarray, takes_ns: bool, m: int) -> np.ndarray:
    rows = []
    for k in range(m):  # one forward and one backward pass per output
        g = grad(lambda *a, k=k: _call(f, a, CHAINRULE, takes_ns)[k],
                 argnums=tuple(range(x.size)))(*[np.array(v) for v in x])
        rows.append([float(v) for v in g])
    return np.array(rows, dtype=np.float64)


def _forward(f: Callable[..., Any], x: np.ndarray, takes_ns: bool) -> tuple[np.ndarray, list[str]]:
    cols, lines = [], []
    for i in range(x.size):  # one pass per input, seeded with the unit tangent e_i
        duals = [Dual(np.array(v), np.array(1.0 if j == i else 0.0)) for j, v in enumerate(x)]
        ys = _call(f, duals, CHAINRULE, takes_ns)
        cols.append([float(y.tangent) if isinstance(y, Dual) else 0.0 for y in ys])
        shown = ", ".join(f"x{j} = {_num(v)} + {_num(d.tangent)}ε" for j, (v, d) in
                          enumerate(zip(x, duals)))
        outs = ", ".join(f"y{k} = {_num(y.primal)} + {_num(y.tangent)}ε" if isinstance(y, Dual)
                         else f"y{k} = {_num(y)}" for k, y in enumerate(ys))
        lines.append(f"pass {i + 1}: {shown}  →  {outs}")
    return np.array(cols, dtype=np.float64).T, lines


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _logistic_growth(sp: Any, depths: Sequence[int]) -> list[tuple[int, int, int]]:
    """The classic expression-swell example (Baydin et al. 2018): l_{d+1} = 4 l_d (1 − l_d)."""
    x = sp.Symbol("x")
    rows, expr = [], x
    for d in range(1, max(depths) + 1):
        expr = 4 * expr * (1 - expr)
        if d in depths:
            rows.append((d, int(sp.count_ops(expr)), int(sp.count_ops(sp.diff(expr, x)))))
    return rows


def _symbolic(f: Callable[..., Any], x: np.ndarray, takes_ns: bool, m: int,
              depths: Sequence[int]) -> tuple[Method, list[str], list[int], list[tuple[int, int, int]]]:
    sp = require("sympy", "symbolic", "symbolic differentiation in chainrule.explain.differentiate")
    syms = sp.symbols(f"x0:{x.size}")
    start = time.perf_counter()
    ys = _call(f, syms, _sympy_namespace(sp), takes_ns)
    derivs = [[sp.diff(y, s) for s in syms] for y in ys]
    point = dict(zip(syms, (float(v) for v in x)))
    jac = np.array([[float(d.evalf(subs=point)) for d in row] for row in derivs])
    seconds = time.perf_counter() - start
    method = Method("symbolic (SymPy)", jac, 1, "1 trace of f, then one expression per "
                    "derivative, evaluated at the point", seconds)
    first = derivs[0]
    return (method, [str(d) for d in first], [int(sp.count_ops(d)) for d in first],
            _logistic_growth(sp, depths))


def takes_namespace(f: Callable[..., Any], n: int) -> bool:
    try:
        params = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) == n + 1


# NOTE: a report that runs the four ways in turn, each a few lines; splitting it would only
# move the bookkeeping of the result object elsewhere.
def differentiate(f: Callable[..., Any], *args: float, epsilons: Sequence[float] = EPSILONS,
                  symbolic: bool | None = None, depths: Sequence[int] = (1, 2, 3, 4)
                  ) -> Differentiation:
    """The four ways of notes §5 on ``f`` at ``args``: results, costs and the ε table.

    Args:
        f: ``f(x0, ..., m)`` returning a number or a tuple of numbers, built from operators
            and the elementary functions of the namespace ``m`` (see the module docstring);
            ``f(x0, ...)`` without ``m`` is called with the inputs only.
        *args: the point, one number per input.
        epsilons: the finite-difference step sizes of the error table.
        symbolic: True requires SymPy, False skips it, None (default) uses it when installed.
        depths: the nesting depths of the expression-swell table.

    Returns:
        A :class:`Differentiation`; ``print`` it for the side-by-side table.

    Raises:
        ConfigError: no inputs, or an input that is not a finite number.
        MissingDependency: ``symbolic=True`` and SymPy is not installed.

    The notes' exercise y = e^(xz) + xz/ln x + sin(ln x)/(xz) at x = 2, z = 3:

    >>> def y(x, z, m):
    ...     return m.exp(x * z) + x * z / m.log(x) + m.sin(m.log(x)) / (x * z)
    >>> r = differentiate(y, 2.0, 3.0, symbolic=False)
    >>> r.gradient[0].round(2).tolist()
    [1208.38, 809.71]
    >>> r.method("forward mode").jacobian[0].round(2).tolist()
    [1208.38, 809.71]
    """
    if not args:
        raise ConfigError("Invalid inputs: none (expected at least one number) in differentiate")
    try:
        x = np.array([float(a) for a in args], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"Invalid inputs: {args!r} (expected numbers) in differentiate") from exc
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"Invalid inputs: {args!r} (expected finite numbers) in differentiate")
    takes_ns = takes_namespace(f, x.size)
    ys = _call(f, list(x), NUMPY, takes_ns)
    value = np.array([float(v) for v in ys])
    m, n = value.size, x.size
    exact, t_rev = _timed(lambda: _reverse(f, x, takes_ns, m))
    (fwd, duals), t_fwd = _timed(lambda: _forward(f, x, takes_ns))
    errors = [(eps, float(np.max(np.abs(_finite(f, x, takes_ns, eps) - exact))))
              for eps in epsilons]
    best = min(errors, key=lambda e: e[1])[0]
    fd, t_fd = _timed(lambda: _finite(f, x, takes_ns, best))
    methods = [
        Method("finite differences", fd, 2 * n, f"2 evaluations per input, ε = {best:.0e}", t_fd),
        Method("reverse mode", exact, m, f"{m} forward + {m} backward pass(es), one per output",
               t_rev),
        Method("forward mode", fwd, n, f"{n} dual-number pass(es), one per input", t_fwd),
    ]
    result = Differentiation(tuple(float(v) for v in x), value, methods, errors, best, duals)
    if symbolic is False:
        return result
    if symbolic is None and installed_version("sympy") is None:
        result.symbolic_missing = "SymPy is not installed (pip install 'chainrule[symbolic]')"
        return result
    method, exprs, sizes, growth = _symbolic(f, x, takes_ns, m, depths)
    methods.insert(1, method)
    result.symbolic, result.symbolic_ops, result.growth = exprs, sizes, growth
    return result

