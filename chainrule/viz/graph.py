"""The computation graph behind a Tensor, as Graphviz DOT text (and SVG when ``dot`` exists).

The graph is the one backpropagation walks (notes §4, backpropagation): every recorded primitive is a box
named after its op with the shape of its output; leaves are ellipses named after the
parameter they are (``params=dict(model.named_parameters())``), their ``Tensor.name``, or
"parameter" / "input" (non-Tensor arguments: "constant"); arrows point from each input to
the op that consumed it, so the forward pass reads bottom-up and backward walks the arrows
in reverse.

No Python package is needed to write DOT; the ``dot`` program (Graphviz) turns it into SVG.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ChainruleError, ConfigError
from ..tensor import Tensor


def _shape(value: Any) -> str:
    shape = value.shape if hasattr(value, "shape") else np.shape(value)
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def _quote(text: str) -> str:
    """A DOT string literal (backslashes and quotes escaped; newlines become DOT's \\n)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


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


# NOTE: one iterative walk with three small closures over its shared state (ids, nodes,
# edges, the node count); split apart they would pass all of it around.
def to_dot(tensor: Tensor, params: Mapping[str, Any] | None = None, name: str = "chainrule",
           rankdir: str = "BT", show_shapes: bool = True, max_nodes: int = 5000) -> str:
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

    Returns:
        DOT source text, ready for ``dot -Tsvg``.

    Raises:
        ConfigError: ``tensor`` is not a Tensor, or an unknown ``rankdir``.
        ChainruleError: the graph has more than ``max_nodes`` nodes.

    >>> from chainrule import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> dot = to_dot((w * w).sum(), params={"w": w})
    >>> print(dot.splitlines()[0]); "Mul" in dot, '"w' in dot
    digraph "chainrule" {
    (True, True)
    """
    if not isinstance(tensor, Tensor):
        raise ConfigError(f"to_dot: expected a chainrule Tensor; got {type(tensor).__name__}")
    if rankdir not in ("BT", "TB", "LR", "RL"):
        raise ConfigError(f"to_dot: rankdir must be BT, TB, LR or RL; got {rankdir!r}")
    names = {id(p): n for n, p in (params or {}).items()}
    ids: dict[int, str] = {}
    nodes: list[tuple[int, str]] = []
    edges: list[str] = []
    count = 0

    def node_id(key: int | None) -> tuple[str, bool]:
        """The node of a value (``key`` None: a fresh node), and whether it is new."""
        nonlocal count
        if key is not None and key in ids:
            return ids[key], False
        if count >= max_nodes:
            raise ChainruleError(f"to_dot: the graph has more than {max_nodes} nodes; pass a "
                                 "larger max_nodes or draw a smaller piece of it")
        nid = f"n{count}"
        count += 1
        if key is not None:
            ids[key] = nid
        return nid, True

    def declare(nid: str, label: str, kind: str, value: Any, root: bool = False) -> None:
        text = f"{label}\n{_shape(value)}" if show_shapes else label
        extra = ", penwidth=2" if root else ""
        nodes.append((int(nid[1:]), f"  {nid} [label={_quote(text)}, {_STYLE[kind]}{extra}];"))

    def key_of(value: Any) -> int | None:
        # Results are keyed by the op that made them, leaves by identity; a non-Tensor
        # argument (a Python number, an array) gets a node per use, not one hub for all.
        if isinstance(value, Tensor):
            return id(value.op) if value.op is not None else id(value)
        return None

    # Iterative depth-first walk: each value is declared once, when first met; edges run
    # from an input to the op that consumed it.
    stack: list[tuple[Any, str]] = [(tensor, node_id(key_of(tensor))[0])]
    first = True
    while stack:
        value, nid = stack.pop()
        if isinstance(value, Tensor) and value.op is not None:
            declare(nid, value.op.name, "op", value, root=first)
            for arg in value.op.inputs:
                cid, new = node_id(key_of(arg))
                edges.append(f"  {cid} -> {nid};")
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
    # Declaration order is discovery order; reverse edges so inputs are listed before use.
    lines = [f"digraph {_quote(name)} {{", f"  rankdir={rankdir};",
             '  node [fontname="Helvetica", fontsize=11];',
             *(line for _, line in sorted(nodes)), *reversed(edges), "}"]
    return "\n".join(lines) + "\n"


def render(tensor: Tensor, path: str | Path, params: Mapping[str, Any] | None = None,
           svg: bool = True, **kwargs: Any) -> list[Path]:
    """Write ``to_dot(tensor)`` to ``path`` (``.dot``), and ``.svg`` beside it when the
    Graphviz ``dot`` program is installed.

    Args:
        tensor: the output whose graph to draw.
        path: where to write; the suffix is replaced by ``.dot`` (and ``.svg``).
        params: name → Parameter, for leaf names (see :func:`to_dot`).
        svg: also run ``dot -Tsvg`` when the program exists.
        **kwargs: passed to :func:`to_dot`.

    Returns:
        The files written: the .dot file, then the .svg file if one was made.

    Raises:
        ChainruleError: ``dot`` exists but fails on the file (its message is included).

    >>> import tempfile, pathlib
    >>> from chainrule import Tensor
    >>> x = Tensor([1.0], requires_grad=True)
    >>> files = render(x.exp(), pathlib.Path(tempfile.mkdtemp()) / "g", svg=False)
    >>> [f.suffix for f in files]
    ['.dot']
    """
    from ..io import atomic_write
    path = Path(path)
    dot_path = path.with_suffix(".dot")
    with atomic_write(dot_path, "w", encoding="utf-8") as f:
        f.write(to_dot(tensor, params=params, **kwargs))
    written = [dot_path]
    exe = shutil.which("dot") if svg else None
    if exe is not None:
        svg_path = path.with_suffix(".svg")
        proc = subprocess.run([exe, "-Tsvg", str(dot_path), "-o", str(svg_path)],
                              capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise ChainruleError(f"render: `dot -Tsvg {dot_path}` failed with exit code "
                                 f"{proc.returncode}: {proc.stderr.strip()}")
        written.append(svg_path)
    return written


__all__ = ["to_dot", "render"]
