"""The whiteboard tables of reverse mode for any function (notes §4, backpropagation): :func:`trace`.

The slides evaluate a function as a list of elementary steps, the inputs first
(v₋₁, v₀, ... for x, z, ...) and then every intermediate v₁, v₂, ... in the order it is
computed, and write two tables:

- the forward (primal) trace: each vᵢ, the op that made it, its inputs and its value;
- the backward (adjoint) trace, from the output down: v̄ᵢ = ∂y/∂vᵢ = Σ_k v̄_k ∂v_k/∂vᵢ over
  the steps k that use vᵢ, each term a local rule such as v̄₃ = v̄₅ · cos(v₃).

:func:`trace` runs the user's function on Tensors, reads the graph the engine recorded and
writes both tables; each term's number is the op's own reverse rule (its ``vjp``) applied to
v̄_k, so the numbers are the engine's, walked one node at a time in the slides' order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .engine import unbroadcast
from .errors import ConfigError, ShapeError
from .explain_four import CHAINRULE, takes_namespace
from .tensor import Tensor

__all__ = ["trace", "GraphTrace", "adjoints", "describe", "node_name", "RULES"]

_SUB = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")
BAR = "\u0304"  # combining macron: v̄

#: ∂out/∂input as text, one entry per input of the op; {a}, {b} are the inputs' names, {out}
#: the op's own. Ops not listed get a generic "∂out/∂a" with the op's name.
RULES: dict[str, tuple[str, ...]] = {
    "Add": ("1", "1"), "Sub": ("1", "−1"), "Mul": ("{b}", "{a}"),
    "Div": ("1/{b}", "−{a}/{b}²"), "Pow": ("{b}·{a}^({b} − 1)", "ln({a})·{out}"),
    "Neg": ("−1",), "Exp": ("{out}",), "Log": ("1/{a}",), "Sqrt": ("1/(2·{out})",),
    "Sin": ("cos({a})",), "Cos": ("−sin({a})",), "Tan": ("1 + {out}²",),
    "Tanh": ("1 − {out}²",), "Sigmoid": ("{out}(1 − {out})",), "Relu": ("[{a} > 0]",),
    "Abs": ("sign({a})",), "Sinh": ("cosh({a})",), "Cosh": ("sinh({a})",),
    "Log1p": ("1/(1 + {a})",), "Expm1": ("{out} + 1",), "Softplus": ("σ({a})",),
    "Erf": ("2/√π·e^(−{a}²)",), "Atan": ("1/(1 + {a}²)",), "Asin": ("1/√(1 − {a}²)",),
    "Acos": ("−1/√(1 − {a}²)",), "Sum": ("1",), "Reshape": ("1",), "BroadcastTo": ("1",),
    "Maximum": ("[{a} ≥ {b}]", "[{b} > {a}]"), "Minimum": ("[{a} ≤ {b}]", "[{b} < {a}]"),
    "GetItem": ("1 at the index",), "Transpose": ("1, transposed back",),
}


def node_name(k: int) -> str:
    """The slides' name of step ``k``: v₋₁, v₀, v₁, ..."""
    return "v" + str(k).translate(_SUB)


def fmt(v: Any, digits: int = 6) -> str:
    """A number to ``digits`` significant digits, never "-0"."""
    s = f"{float(v):.{digits}g}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def describe(value: Any, digits: int = 4, limit: int = 6) -> str:
    """A value for a table or a picture: a number, a small array in full, or a big one as its
    shape and norm (``(64, 10) ‖·‖=3.2``)."""
    a = np.asarray(value.data if isinstance(value, Tensor) else value)
    if a.dtype.kind not in "biuf":
        return str(a)
    if a.size == 1:
        return fmt(a.reshape(-1)[0], digits)
    if a.size <= limit:
        inner = (", " if a.ndim == 1 else "; ").join(
            ", ".join(fmt(v, digits) for v in np.atleast_1d(row)) for row in a)
        return f"[{inner}]"
    shape = "(" + ", ".join(map(str, a.shape)) + ("," if a.ndim == 1 else "") + ")"
    return f"{shape} ‖·‖={fmt(np.linalg.norm(a.astype(np.float64)), digits)}"


def _width(text: str) -> int:
    """Columns a string takes (combining marks such as the bar of v̄ take none)."""
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def grid(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: int = 2,
         align: str = "") -> list[str]:
    """Text columns padded to their widest cell; ``align`` has an "l" or "r" per column
    (default: the first left-aligned, the rest right)."""
    cells = [[str(c) for c in r] for r in (headers, *rows)]
    widths = [max(_width(c) for c in col) for col in zip(*cells)]
    align = align or "l" + "r" * (len(widths) - 1)

    def line(row: list[str]) -> str:
        parts = [c + " " * (w - _width(c)) if a == "l" else " " * (w - _width(c)) + c
                 for c, w, a in zip(row, widths, align)]
        return " " * indent + "  ".join(parts).rstrip()
    return [line(r) for r in cells]


def _graph(root: Tensor) -> list[Any]:
    """The ops that made ``root``, in the order they ran (op numbers rise as ops are made)."""
    ops, seen, stack = [], set(), [root]
    while stack:
        t = stack.pop()
        node = t.op if isinstance(t, Tensor) else None
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        ops.append(node)
        stack.extend(a for a in node.inputs if isinstance(a, Tensor))
    return sorted(ops, key=lambda n: n.seq)


def adjoints(root: Tensor) -> dict[int, Any]:
    """v̄ = ∂root/∂v for every value of the graph behind the scalar ``root``, keyed by
    ``id(op)`` for results and ``id(tensor)`` for leaves; each op's reverse rule (``vjp``)
    is applied in reverse order of the ops and the graph is kept (nothing is freed, no
    ``.grad`` is touched).

    Raises:
        ShapeError: ``root`` is not a scalar.
        GraphError: the graph was freed by an earlier ``backward()``.
    """
    return _walk(root)[0]


def _freed(node: Any) -> bool:
    """Whether backward() released this op's saved arrays (the engine leaves ("freed",))."""
    s = node.saved
    return isinstance(s, tuple) and len(s) == 1 and isinstance(s[0], str) and s[0] == "freed"


def _key(t: Any) -> int:
    return id(t.op) if t.op is not None else id(t)


def _walk(root: Tensor) -> tuple[dict[int, Any], dict[tuple[int, int], Any]]:
    """The adjoint of every value and the term v̄_k ∂v_k/∂vᵢ of each edge (op k, input i)."""
    from .errors import GraphError
    if root.data.size != 1:
        raise ShapeError(f"the backward table needs a scalar output; got shape {root.shape}")
    bars: dict[int, Any] = {_key(root): np.ones_like(root.data)}
    terms: dict[tuple[int, int], Any] = {}
    for node in reversed(_graph(root)):
        g = bars.get(id(node))
        if g is None:
            continue
        if _freed(node):
            raise GraphError(f"the graph through op {node.name} was freed by backward(); "
                             "draw or trace it before calling backward(), or pass "
                             "retain_graph=True")
        # (the class's rule: a retain_grad() wrapper on the node would write into .grad)
        for i, (t, gi) in enumerate(zip(node.inputs, type(node).vjp(node, g))):
            if gi is None or not isinstance(t, Tensor) or not t.requires_grad:
                continue
            if hasattr(gi, "dense"):  # an indexing op's sparse cotangent
                gi = gi.dense(t.data.dtype)
            gi = unbroadcast(np.asarray(gi), t.data.shape)
            terms[(id(node), i)] = gi
            k = _key(t)
            bars[k] = gi if k not in bars else bars[k] + gi
    return bars, terms


@dataclass
class GraphTrace:
    """What :func:`trace` found; ``str()`` prints both tables.

    Attributes:
        inputs: the inputs' names (the function's parameter names).
        value: y, the function's value.
        gradient: ∂y/∂input for each input (the adjoints of v₋₁, v₀, ...).
        forward: rows of the forward trace: dicts with ``node``, ``op``, ``inputs`` (names
            or constants), ``expression`` and ``value``.
        backward: rows of the backward trace, output first: dicts with ``node``, ``adjoint``,
            ``rule`` (``"v̄₃ = v̄₅ · cos(v₃)"``) and ``terms`` (the number of each product).
        engine_difference: the largest difference between ``gradient`` and the engine's
            ``y.backward()`` on the same graph.
    """

    inputs: list[str]
    value: float
    gradient: list[float]
    forward: list[dict[str, Any]] = field(default_factory=list)
    backward: list[dict[str, Any]] = field(default_factory=list)
    engine_difference: float = 0.0

    # NOTE: the two tables and their headers, in the slides' layout, read as one block.
    def table(self, digits: int = 6) -> str:
        """Both tables as text."""
        d = max(3, digits)
        fwd = [[r["node"], r["op"], r["expression"], describe(r["value"], d)]
               for r in self.forward]
        bwd = [[_bar(r["node"]), describe(r["adjoint"], d),
                r["rule"], _sum(r["terms"], d)]
               for r in self.backward]
        names = ", ".join(f"{n} = {r['node']}" for n, r in zip(self.inputs, self.forward))
        return "\n".join([
            "Reverse mode on the whiteboard (tutorial: Backpropagation): "
            f"y = {fmt(self.value, digits)}",
            f"inputs {names}", "",
            "Forward (primal) trace: every step in the order it runs",
            *grid(["node", "op", "=", "value"], fwd, align="lllr"), "",
            "Backward (adjoint) trace: v̄ᵢ = ∂y/∂vᵢ = Σ_k v̄_k ∂v_k/∂vᵢ over the steps k using vᵢ,"
            " from the output down",
            *grid(["adjoint", "value", "rule", "= terms"], bwd, align="lrll"), "",
            "∂y/∂(" + ", ".join(self.inputs) + ") = ("
            + ", ".join(fmt(g, digits) for g in self.gradient) + ");  y.backward() by the "
            f"engine agrees to {self.engine_difference:.1e}",
        ])

    def __str__(self) -> str:
        return self.table()


def _sum(terms: list[Any], digits: int) -> str:
    """The terms' numbers as a sum, "12.3 − 4.5"; the output's own adjoint is "1"."""
    if not terms:
        return "1"
    out = describe(terms[0], digits)
    for t in terms[1:]:
        text = describe(t, digits)
        out += f" − {text[1:]}" if text.startswith("-") else f" + {text}"
    return out


def _bar(name: str) -> str:
    return name[0] + BAR + name[1:]


def _rule(node: Any, i: int, names: list[str], out: str) -> str:
    """∂out/∂(input i) of ``node`` as text, inputs by their names or constant values."""
    rules = RULES.get(node.name)
    if rules is None or i >= len(rules):
        return f"∂{out}/∂{names[i]} ({node.name})"
    slots = {"a": names[0], "b": names[1] if len(names) > 1 else "", "out": out}
    return rules[i].format(**slots)


def _inputs_of(f: Callable[..., Any], args: Sequence[Any],
               names: Sequence[str] | None) -> tuple[list[Tensor], list[str]]:
    import inspect
    if names is None:
        try:
            params = [p.name for p in inspect.signature(f).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        names = params[:len(args)] if len(params) >= len(args) else \
            [f"x{i + 1}" for i in range(len(args))]
    if len(names) != len(args):
        raise ConfigError(f"trace: {len(names)} name(s) for {len(args)} input(s): {list(names)}")
    xs = []
    for n, a in zip(names, args):
        data = np.asarray(a.data if isinstance(a, Tensor) else a, dtype=np.float64)
        x = Tensor(data, requires_grad=True, dtype="float64")
        x.name = n  # so a picture of the graph (viz.to_dot) names the inputs
        xs.append(x)
    return xs, list(names)


# NOTE: one pass builds both tables: names first (inputs, then ops in run order), then the
# forward rows, then the backward rows from the adjoint walk; each step is a few lines.
def trace(f: Callable[..., Any], *args: Any, names: Sequence[str] | None = None) -> GraphTrace:
    """Run ``f`` on ``args`` and write the slides' forward and backward tables over its graph.

    Args:
        f: ``f(x, z, ...)`` built from Tensor operators and methods (``x.exp()``,
            ``x.log()``, ``x.sin()``...), or ``f(x, z, ..., m)`` written with the namespace
            ``m`` of :func:`~chainrule.explain.differentiate` (``m.exp(x)``...); it must
            return a scalar.
        *args: the inputs (numbers or small arrays), run as float64.
        names: the inputs' names (default: ``f``'s parameter names).

    Returns:
        A :class:`GraphTrace`: ``print`` it for the tables, ``.forward``/``.backward`` hold
        the rows as data, ``.gradient`` the adjoints of the inputs.

    Raises:
        ShapeError: ``f`` does not return a scalar.
        ConfigError: ``f`` returns no Tensor that depends on the inputs, or wrong ``names``.

    The notes' exercise y = e^(xz) + xz/ln x + sin(ln x)/(xz) at x = 2, z = 3:

    >>> def y(x, z):
    ...     xz, lnx = x * z, x.log()
    ...     return xz.exp() + xz / lnx + lnx.sin() / xz
    >>> t = trace(y, 2.0, 3.0)
    >>> [round(g, 2) for g in t.gradient]
    [1208.38, 809.71]
    >>> [r["node"] for r in t.forward][:4], t.forward[2]["expression"]
    (['v₋₁', 'v₀', 'v₁', 'v₂'], 'v₋₁ · v₀')
    >>> next(r["rule"] for r in t.backward if r["node"] == "v₂")
    'v̄₂ = v̄₄ · (−v₁/v₂²) + v̄₆ · cos(v₂)'
    """
    xs, in_names = _inputs_of(f, args, names)
    out = f(*xs, CHAINRULE) if takes_namespace(f, len(xs)) else f(*xs)
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise ConfigError("trace: f must return a Tensor computed from its inputs; got "
                          f"{type(out).__name__}" + (" that does not depend on them"
                                                     if isinstance(out, Tensor) else ""))
    if out.data.size != 1:
        raise ShapeError(f"trace: f must return a scalar (the backward table is for one "
                         f"output); got shape {out.shape}")
    ops = _graph(out)
    first = 1 - len(xs)
    label = {id(x): node_name(first + i) for i, x in enumerate(xs)}
    label.update({id(node): node_name(k) for k, node in enumerate(ops, start=1)})

    def name_of(a: Any) -> str:
        if isinstance(a, Tensor):
            return label.get(_key(a)) or describe(a)
        return describe(a)

    forward = [{"node": label[id(x)], "op": "input", "inputs": [n], "expression": n,
                "value": x.data} for x, n in zip(xs, in_names)]
    for node in ops:
        arg_names = [name_of(a) for a in node.inputs]
        forward.append({"node": label[id(node)], "op": node.name, "inputs": arg_names,
                        "expression": _expression(node.name, arg_names), "value": None})
    values = {_key(a): a.data for node in ops for a in node.inputs if isinstance(a, Tensor)}
    values[_key(out)] = out.data
    for row, node in zip(forward[len(xs):], ops):
        row["value"] = values[id(node)]

    bars, terms = _walk(out)
    uses: dict[int, list[tuple[Any, int]]] = {}
    for node in ops:
        for i, a in enumerate(node.inputs):
            if isinstance(a, Tensor) and (id(node), i) in terms:
                uses.setdefault(_key(a), []).append((node, i))
    backward = [{"node": label[id(ops[-1])], "adjoint": bars[id(ops[-1])],
                 "rule": f"{_bar(label[id(ops[-1])])} = ȳ = 1", "terms": []}]
    for key, name in sorted(((k, v) for k, v in label.items() if k != id(ops[-1])),
                            key=lambda kv: -_order(kv[1])):
        parts, nums = [], []
        for node, i in uses.get(key, []):
            arg_names = [name_of(a) for a in node.inputs]
            local = _rule(node, i, arg_names, label[id(node)])
            factor = local if local in ("1",) else (f"({local})" if local.startswith(("−", "-"))
                                                  or " + " in local or " − " in local else local)
            parts.append(_bar(label[id(node)]) + ("" if local == "1" else f" · {factor}"))
            nums.append(terms[(id(node), i)])
        backward.append({"node": name, "adjoint": bars.get(key, np.zeros(())),
                         "rule": f"{_bar(name)} = " + (" + ".join(parts) or "0"),
                         "terms": nums})
    gradient = [float(np.sum(bars.get(id(x), 0.0))) for x in xs]
    out.backward(retain_graph=True)
    diff = max(float(np.max(np.abs((x.grad if x.grad is not None else 0.0) - bars.get(id(x), 0.0))))
               for x in xs)
    return GraphTrace(inputs=in_names, value=float(out.data.reshape(-1)[0]), gradient=gradient,
                      forward=forward, backward=backward, engine_difference=diff)


def _order(name: str) -> int:
    digits = name[1:].translate(str.maketrans("₋₀₁₂₃₄₅₆₇₈₉", "-0123456789"))
    return int(digits)


_INFIX = {"Add": "+", "Sub": "−", "Mul": "·", "Div": "/", "Pow": "^"}


def _expression(op: str, args: list[str]) -> str:
    """``v₋₁ · v₀``, ``exp(v₁)``: the step as the slides write it."""
    if op in _INFIX and len(args) == 2:
        return f"{args[0]} {_INFIX[op]} {args[1]}"
    if op == "Neg":
        return f"−{args[0]}"
    return f"{op.lower()}({', '.join(args)})"
