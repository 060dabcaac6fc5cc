"""The computation graph behind a Tensor, as Graphviz DOT text and as an SVG picture.

The graph is the one backpropagation walks (notes §4, backpropagation): every recorded primitive
is a box named after its op (a fused dense node names its activation, "Linear+ReLU") with the
shape of its output; leaves are ellipses named after the parameter they are
(``params=dict(model.named_parameters())``), their ``Tensor.name``, or "parameter" / "input"
(non-Tensor arguments: "constant"); arrows point from each input to the op that consumed it,
so the forward pass reads bottom-up and backward walks the arrows in reverse. On request each
node also shows its value and its adjoint v̄ = ∂y/∂v (the backward pass's numbers).

No Python package is needed: :func:`render` runs Graphviz's ``dot`` when it is installed and
otherwise draws the SVG itself with a plain layered layout (inputs in the bottom row, every op
one row above its highest input), so a picture is never silently missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np

from ..errors import ChainruleError, ConfigError, GraphError, ShapeError
from ..explain_trace import adjoints, describe
from ..tensor import Tensor

_RANKDIRS = ("BT", "TB", "LR", "RL")
_LAYOUTS = ("auto", "graphviz", "chainrule")
#: Display names of the activations a fused op carries (the op classes are named Relu...).
_ACT_NAMES = {"Relu": "ReLU"}


def _shape(value: Any) -> str:
    shape = value.shape if hasattr(value, "shape") else np.shape(value)
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _quote(text: str) -> str:
    """A DOT string literal (backslashes and quotes escaped; newlines become DOT's \\n)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def op_label(op: Any) -> str:
    """An op's name for a picture; a fused op names what it carries ("Linear+Sigmoid").

    >>> from chainrule import Tensor, functional as F
    >>> x, w = Tensor([[1.0]]), Tensor([[2.0]], requires_grad=True)
    >>> op_label(F.linear(x, w, activation="relu").op)
    'Linear+ReLU'
    """
    act = getattr(op, "act", None)
    if act is None:
        return op.name
    name = getattr(act, "__name__", str(act))
    return f"{op.name}+{_ACT_NAMES.get(name, name)}"


def _leaf_label(t: Tensor, names: Mapping[int, str]) -> tuple[str, str]:
    """Label and kind ("parameter" or "input") of a leaf tensor."""
    from ..nn import Parameter
    kind = "parameter" if isinstance(t, Parameter) else "input"
    return names.get(id(t)) or t.name or kind, kind


_STYLE = {
    "op": 'shape=box, style="rounded,filled", fillcolor="#f2f2f2"',
    "parameter": 'shape=ellipse, style=filled, fillcolor="#cfe2ff"',
    "input": 'shape=ellipse, style=filled, fillcolor="#fff3cd"',
    "constant": 'shape=ellipse, style=dashed',
}


@dataclass
class _Node:
    number: int
    label: str
    kind: str
    root: bool


def _adjoint_lookup(tensor: Tensor) -> Any:
    """A function value → its adjoint (or None): the whole backward pass when the graph is
    still there and the output a scalar, else the ``.grad`` a backward() left behind."""
    try:
        bars = adjoints(tensor)
    except (GraphError, ShapeError):
        bars = None

    def lookup(value: Any) -> Any:
        if not isinstance(value, Tensor):
            return None
        if bars is not None:
            return bars.get(id(value.op) if value.op is not None else id(value))
        return value.grad
    return lookup


# NOTE: one iterative walk with small closures over its shared state (ids, nodes, edges, the
# node count); split apart they would pass all of it around.
def _collect(tensor: Tensor, params: Mapping[str, Any] | None, show_shapes: bool,
             max_nodes: int, values: bool, grads: bool,
             digits: int) -> tuple[list[_Node], list[tuple[int, int]]]:
    """The nodes (in discovery order) and edges (input → consumer) of the graph."""
    names = {id(p): n for n, p in (params or {}).items()}
    adjoint = _adjoint_lookup(tensor) if grads else None
    ids: dict[int, int] = {}
    nodes: list[_Node] = []
    edges: list[tuple[int, int]] = []
    count = 0

    def node_id(key: int | None) -> tuple[int, bool]:
        """The node of a value (``key`` None: a fresh node), and whether it is new."""
        nonlocal count
        if key is not None and key in ids:
            return ids[key], False
        if count >= max_nodes:
            raise ChainruleError(f"to_dot: the graph has more than {max_nodes} nodes; pass a "
                                 "larger max_nodes or draw a smaller piece of it")
        nid = count
        count += 1
        if key is not None:
            ids[key] = nid
        return nid, True

    def declare(nid: int, label: str, kind: str, value: Any, root: bool = False) -> None:
        lines = [label]
        if show_shapes:
            lines.append(_shape(value))
        if values and (isinstance(value, Tensor) or kind != "constant"):
            lines.append(f"value {describe(value, digits)}")
        if adjoint is not None:
            bar = adjoint(value)
            if bar is not None:
                lines.append(f"adjoint {describe(bar, digits)}")
        nodes.append(_Node(nid, "\n".join(lines), kind, root))

    def key_of(value: Any) -> int | None:
        # Results are keyed by the op that made them, leaves by identity; a non-Tensor
        # argument (a Python number, an array) gets a node per use, not one hub for all.
        if isinstance(value, Tensor):
            return id(value.op) if value.op is not None else id(value)
        return None

    stack: list[tuple[Any, int]] = [(tensor, node_id(key_of(tensor))[0])]
    first = True
    while stack:
        value, nid = stack.pop()
        if isinstance(value, Tensor) and value.op is not None:
            declare(nid, op_label(value.op), "op", value, root=first)
            for arg in value.op.inputs:
                cid, new = node_id(key_of(arg))
                edges.append((cid, nid))
                if new:
                    stack.append((arg, cid))
        else:
            if isinstance(value, Tensor):
                label, kind = _leaf_label(value, names)
            elif np.size(value) == 1 and np.asarray(value).dtype.kind in "biuf":
                label, kind = f"{np.asarray(value).reshape(-1)[0].item():g}", "constant"
            else:
                label, kind = "constant", "constant"
            declare(nid, label, kind, value, root=first)
        first = False
    nodes.sort(key=lambda n: n.number)
    return nodes, edges[::-1]  # inputs listed before their use


def _check(tensor: Any, rankdir: str) -> None:
    if not isinstance(tensor, Tensor):
        raise ConfigError(f"to_dot: expected a chainrule Tensor; got {type(tensor).__name__}")
    if rankdir not in _RANKDIRS:
        raise ConfigError(f"to_dot: rankdir must be BT, TB, LR or RL; got {rankdir!r}")


def to_dot(tensor: Tensor, params: Mapping[str, Any] | None = None, name: str = "chainrule",
           rankdir: str = "BT", show_shapes: bool = True, max_nodes: int = 5000,
           values: bool = False, grads: bool = False, digits: int = 4) -> str:
    """The computation graph that produced ``tensor``, as Graphviz DOT text.

    Walks ``tensor.op`` and each op's ``inputs`` iteratively (deep graphs do not hit the
    recursion limit); a value used twice appears once, with two arrows out.

    Args:
        tensor: the output, usually a loss; it must have been computed with gradient
            recording on (outside ``no_grad``) for there to be a graph.
        params: name → Tensor for the leaves to label, e.g.
            ``dict(model.named_parameters())`` so parameters show their names
            (``layers.0.weight``); add inputs too (``{"x": x, **params}``). Other leaves are
            labelled with their ``Tensor.name``, or "parameter" / "input"; non-Tensor
            arguments of an op are "constant".
        name: the graph's name in the DOT text.
        rankdir: Graphviz layout direction: "BT" (inputs at the bottom, the output on top, as
            the notes draw networks), "TB", "LR" or "RL".
        show_shapes: put each value's shape under its label.
        max_nodes: stop with an error beyond this many nodes (a DOT file nobody can read).
        values: show each node's value (small arrays in full, big ones as shape and norm).
        grads: show each node's adjoint v̄ = ∂tensor/∂v. For a scalar ``tensor`` whose graph
            is still there (before ``backward()``, or after ``backward(retain_graph=True)``)
            every node's adjoint is computed by a backward walk that changes no ``.grad``;
            otherwise the ``.grad`` that a ``backward()`` left (leaves, retained tensors).
        digits: significant digits of the values and adjoints.

    Returns:
        DOT source text, ready for ``dot -Tsvg``.

    Raises:
        ConfigError: ``tensor`` is not a Tensor, or an unknown ``rankdir``.
        ChainruleError: the graph has more than ``max_nodes`` nodes.

    >>> from chainrule import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> dot = to_dot((w * w).sum(), params={"w": w}, values=True, grads=True)
    >>> print(dot.splitlines()[0]); "Mul" in dot, '"w' in dot, "adjoint [2, 4]" in dot
    digraph "chainrule" {
    (True, True, True)
    """
    _check(tensor, rankdir)
    nodes, edges = _collect(tensor, params, show_shapes, max_nodes, values, grads, digits)
    lines = [f"digraph {_quote(name)} {{", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];',
             *(f"  n{n.number} [label={_quote(n.label)}, {_STYLE[n.kind]}"
               f"{', penwidth=2' if n.root else ''}];" for n in nodes),
             *(f"  n{a} -> n{b};" for a, b in edges), "}"]
    return "\n".join(lines) + "\n"


_FILL = {"op": "#f2f2f2", "parameter": "#cfe2ff", "input": "#fff3cd", "constant": "#ffffff"}
_CHAR_W, _LINE_H, _PAD, _GAP = 6.6, 14.0, 10.0, 36.0


def _ranks(nodes: list[_Node], edges: list[tuple[int, int]]) -> dict[int, int]:
    """Each node's row: leaves 0, every op one above its highest input (longest path),
    in topological order (Kahn's algorithm: a node once all its inputs have a row)."""
    inputs: dict[int, list[int]] = {n.number: [] for n in nodes}
    users: dict[int, list[int]] = {n.number: [] for n in nodes}
    for a, b in edges:
        inputs[b].append(a)
        users[a].append(b)
    waiting = {k: len(v) for k, v in inputs.items()}
    ready = [k for k, v in waiting.items() if v == 0]
    rank: dict[int, int] = {}
    while ready:
        k = ready.pop()
        rank[k] = 1 + max((rank[i] for i in inputs[k]), default=-1)
        for u in users[k]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    # A leaf (or constant) sits just below its lowest user, not in one long bottom row.
    for k, ins in inputs.items():
        if not ins and users[k]:
            rank[k] = min(rank[u] for u in users[k]) - 1
    low = min(rank.values())
    return {k: r - low for k, r in rank.items()}


# NOTE: the layout is one computation (sizes, rows, order in a row, coordinates, shapes,
# arrows) over the same few tables; pieces of it apart would pass them all around.
def to_svg(tensor: Tensor, params: Mapping[str, Any] | None = None, rankdir: str = "BT",
           show_shapes: bool = True, max_nodes: int = 5000, values: bool = False,
           grads: bool = False, digits: int = 4, **_: Any) -> str:
    """The graph as an SVG picture drawn by chainrule (no Graphviz): the nodes of
    :func:`to_dot` in rows by depth, each row ordered by where its inputs sit.

    Args: as :func:`to_dot`.

    >>> from chainrule import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> svg = to_svg(x.exp().sum(), values=True)
    >>> svg.startswith("<svg") and "Exp" in svg and "value 2.718" in svg
    True
    """
    _check(tensor, rankdir)
    nodes, edges = _collect(tensor, params, show_shapes, max_nodes, values, grads, digits)
    rank = _ranks(nodes, edges)
    # an ellipse needs about √2 times its text's box to hold it
    size = {n.number: (max(len(s) for s in n.label.split("\n")) * _CHAR_W
                       * (1.0 if n.kind == "op" else 1.3) + 2 * _PAD,
                       len(n.label.split("\n")) * _LINE_H * (1.0 if n.kind == "op" else 1.2)
                       + _PAD) for n in nodes}
    rows: dict[int, list[int]] = {}
    for n in nodes[::-1]:
        rows.setdefault(rank[n.number], []).append(n.number)
    inputs: dict[int, list[int]] = {}
    for a, b in edges:
        inputs.setdefault(b, []).append(a)
    vertical = rankdir in ("BT", "TB")
    along: dict[int, float] = {}      # position within the row (centre)
    across: dict[int, float] = {}     # position of the row (centre)
    offset = _GAP / 2
    for r in sorted(rows):
        members = rows[r]
        if r > 0:  # under each op its inputs: order a row by where its inputs sit
            members.sort(key=lambda k: np.mean([along[i] for i in inputs.get(k, [])] or [0.0]))
        thick = max(size[k][1 if vertical else 0] for k in members)
        pos = _GAP / 2 - sum(size[k][0 if vertical else 1] + _GAP / 2 for k in members) / 2
        for k in members:
            extent = size[k][0 if vertical else 1]
            along[k] = pos + extent / 2
            across[k] = offset + thick / 2
            pos += extent + _GAP / 2
        offset += thick + _GAP
    # rows were centred on 0: shift them all right of the margin
    start = min(along[k] - size[k][0 if vertical else 1] / 2 for k in along) - _GAP / 2
    along = {k: v - start for k, v in along.items()}
    total_along = max(along[k] + size[k][0 if vertical else 1] / 2 for k in along) + _GAP / 2
    flip = rankdir in ("BT", "RL")

    def centre(k: int) -> tuple[float, float]:
        a, c = along[k], (offset - across[k] if flip else across[k])
        return (a, c) if vertical else (c, a)

    width, height = (total_along, offset) if vertical else (offset, total_along)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" '
           'font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
           'fill="#444"/></marker></defs>']
    for a, b in edges:
        (x1, y1), (x2, y2) = centre(a), centre(b)
        if vertical:
            s = 1 if y2 > y1 else -1
            y1 += s * size[a][1] / 2
            y2 -= s * size[b][1] / 2
        else:
            s = 1 if x2 > x1 else -1
            x1 += s * size[a][0] / 2
            x2 -= s * size[b][0] / 2
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   'stroke="#444" marker-end="url(#arrow)"/>')
    for n in nodes:
        (cx, cy), (w, h) = centre(n.number), size[n.number]
        stroke = f'stroke="#222" stroke-width="{2 if n.root else 1}"' + (
            ' stroke-dasharray="4,3"' if n.kind == "constant" else "")
        if n.kind == "op":
            out.append(f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" '
                       f'height="{h:.1f}" rx="6" fill="{_FILL[n.kind]}" {stroke}/>')
        else:
            out.append(f'<ellipse cx="{cx:.1f}" cy="{cy:.1f}" rx="{w / 2:.1f}" ry="{h / 2:.1f}" '
                       f'fill="{_FILL[n.kind]}" {stroke}/>')
        lines = n.label.split("\n")
        top = cy - (len(lines) - 1) * _LINE_H / 2 + 4
        spans = "".join(f'<tspan x="{cx:.1f}" y="{top + i * _LINE_H:.1f}">{escape(s)}</tspan>'
                        for i, s in enumerate(lines))
        out.append(f'<text text-anchor="middle">{spans}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render(tensor: Tensor, path: str | Path, params: Mapping[str, Any] | None = None,
           svg: bool = True, layout: str = "auto", **kwargs: Any) -> list[Path]:
    """Write ``to_dot(tensor)`` to ``path`` (``.dot``) and an SVG picture beside it.

    Args:
        tensor: the output whose graph to draw.
        path: where to write; the suffix is replaced by ``.dot`` (and ``.svg``).
        params: name → Parameter, for leaf names (see :func:`to_dot`).
        svg: also draw the ``.svg`` picture.
        layout: who draws the SVG: "auto" (Graphviz's ``dot`` when it is installed, else
            chainrule's own layered layout, :func:`to_svg`), "graphviz" (``dot`` or an
            error saying it is missing) or "chainrule".
        **kwargs: passed to :func:`to_dot` (``values=True``, ``grads=True``, ``rankdir``...).

    Returns:
        The files written: the .dot file, then the .svg file if one was made.

    Raises:
        ConfigError: an unknown ``layout``.
        ChainruleError: ``layout="graphviz"`` without ``dot`` on the PATH, or ``dot`` fails
            on the file (its message is included).

    >>> import tempfile, pathlib
    >>> from chainrule import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> files = render(x.exp(), pathlib.Path(tempfile.mkdtemp()) / "g", layout="chainrule")
    >>> [f.suffix for f in files]
    ['.dot', '.svg']
    """
    from ..io import atomic_write
    if layout not in _LAYOUTS:
        raise ConfigError(f"Invalid layout: {layout!r} (expected one of 'auto', 'graphviz', "
                          "'chainrule') in render")
    path = Path(path)
    dot_path = path.with_suffix(".dot")
    with atomic_write(dot_path, "w", encoding="utf-8") as f:
        f.write(to_dot(tensor, params=params, **kwargs))
    if not svg:
        return [dot_path]
    svg_path = path.with_suffix(".svg")
    exe = shutil.which("dot") if layout != "chainrule" else None
    if exe is None and layout == "graphviz":
        raise ChainruleError(f"render: layout='graphviz' needs Graphviz's `dot` program on the "
                             f"PATH (not found); {dot_path} was written; install Graphviz or "
                             "pass layout='chainrule' for chainrule's own SVG")
    if exe is None:
        with atomic_write(svg_path, "w", encoding="utf-8") as f:
            f.write(to_svg(tensor, params=params, **kwargs))
        return [dot_path, svg_path]
    proc = subprocess.run([exe, "-Tsvg", str(dot_path), "-o", str(svg_path)],
                          capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise ChainruleError(f"render: `dot -Tsvg {dot_path}` failed with exit code "
                             f"{proc.returncode}: {proc.stderr.strip()}")
    return [dot_path, svg_path]


__all__ = ["to_dot", "to_svg", "render", "op_label"]
