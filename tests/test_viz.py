"""Computation graphs (chainrule.viz.graph): DOT structure, names, fused activations, values and
adjoints, SVG via Graphviz or chainrule's own layout."""

from __future__ import annotations

import os
import re
import stat

import numpy as np
import pytest

from chainrule import ChainruleError, ConfigError, Tensor, nn
from chainrule.viz import render, to_dot
from chainrule.viz.graph import op_label, to_svg

NODE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)", (.*)\];$')
EDGE = re.compile(r"^  (n\d+) -> (n\d+);$")


def parse(dot: str) -> tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]:
    """Nodes (id → (label, attributes)) and edges of the DOT text; every line must be one of
    the known kinds, so stray output fails the test."""
    lines = dot.splitlines()
    assert lines[0].startswith("digraph ") and lines[0].endswith("{") and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := NODE.match(line):
            assert m.group(1) not in nodes, f"node declared twice: {line}"
            nodes[m.group(1)] = (m.group(2), m.group(3))
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2)))
        else:
            assert line.startswith("  rankdir=") or line.startswith("  node ["), line
    return nodes, edges


def ops_reachable(t: Tensor) -> list:
    seen, stack = {}, [t.op]
    while stack:
        op = stack.pop()
        if op is None or id(op) in seen:
            continue
        seen[id(op)] = op
        stack += [a.op for a in op.inputs if isinstance(a, Tensor)]
    return list(seen.values())


def test_mlp_loss_graph_has_every_op_parameter_and_edge():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Sigmoid(), nn.Linear(4, 2, rng=1))
    x = Tensor(np.ones((5, 3), np.float32), name="x")
    loss = nn.CrossEntropyLoss()(model(x), np.array([0, 1, 1, 0, 1]))
    params = dict(model.named_parameters())
    nodes, edges = parse(to_dot(loss, params={"x": x, **params}))
    labels = [label.split("\\n")[0] for label, _ in nodes.values()]
    # Every primitive that backward would visit is a box, once.
    ops = ops_reachable(loss)
    boxes = [label for label, attrs in nodes.values() if "shape=box" in attrs]
    assert sorted(b.split("\\n")[0] for b in boxes) == sorted(op_label(op) for op in ops)
    assert "Linear+Sigmoid" in labels     # the fused dense node names its activation
    # Leaves: the four parameters by name, the input by its name, each once.
    for name in [*params, "x"]:
        assert labels.count(name) == 1, name
    # Shapes are printed under labels: the first weight is (4, 3), the loss a scalar.
    assert "0.weight\\n(4, 3)" in [lab for lab, _ in nodes.values()]
    root = [nid for nid, (_, attrs) in nodes.items() if "penwidth=2" in attrs]
    assert root == ["n0"] and nodes["n0"][0].endswith("\\n()")
    # Edges join declared nodes; the root consumes and is never consumed.
    assert all(a in nodes and b in nodes for a, b in edges)
    assert not any(a == "n0" for a, _ in edges)
    # One edge per (op, input) pair: the number of recorded inputs over all ops.
    assert len(edges) == sum(len(op.inputs) for op in ops)
    # Every node but the root feeds something (nothing dangles).
    assert {a for a, _ in edges} == set(nodes) - {"n0"}


def test_shared_values_appear_once_with_one_edge_per_use():
    w = nn.Parameter([1.0, 2.0])
    nodes, edges = parse(to_dot((w * w).sum(), params={"w": w}))
    assert [lab for lab, _ in nodes.values()] == ["Sum\\n()", "Mul\\n(2,)", "w\\n(2,)"]
    mul = next(n for n, (lab, _) in nodes.items() if lab.startswith("Mul"))
    leaf = next(n for n, (lab, _) in nodes.items() if lab.startswith("w"))
    assert edges.count((leaf, mul)) == 2


def test_leaf_kinds_constants_and_unnamed_leaves():
    a = nn.Parameter([1.0])
    b = Tensor([2.0], requires_grad=True)
    nodes, _ = parse(to_dot(a * b + 3.0, show_shapes=False))
    by_label = {lab: attrs for lab, attrs in nodes.values()}
    assert "parameter" in by_label and "#cfe2ff" in by_label["parameter"]
    assert "input" in by_label and "#fff3cd" in by_label["input"]
    assert "3" in by_label and "dashed" in by_label["3"]  # a Python number is a constant


def test_a_tensor_without_a_graph_is_one_node():
    nodes, edges = parse(to_dot(Tensor(np.zeros((2, 2))), rankdir="LR"))
    assert list(nodes.values())[0][0] == "input\\n(2, 2)" and edges == []


def test_deep_graphs_need_no_recursion_and_huge_ones_are_refused():
    x = Tensor([0.5], requires_grad=True)
    y = x
    for _ in range(1500):  # deeper than Python's recursion limit
        y = y * 1.0001
    nodes, edges = parse(to_dot(y))
    assert len(nodes) == 1500 + 1 + 1500 and len(edges) == 3000  # ops, x, a constant each
    with pytest.raises(ChainruleError, match="more than 100 nodes"):
        to_dot(y, max_nodes=100)


def test_names_with_quotes_are_escaped():
    t = Tensor([1.0], requires_grad=True)
    t.name = 'say "hi"\\'
    dot = to_dot(t.exp(), name='my "graph"')
    assert 'digraph "my \\"graph\\"" {' in dot
    assert 'say \\"hi\\"\\\\' in dot
    parse(dot)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="expected a chainrule Tensor"):
        to_dot(np.ones(3))
    with pytest.raises(ConfigError, match="rankdir"):
        to_dot(Tensor([1.0]), rankdir="up")


def _fake_dot(folder, body: str) -> None:
    """A stand-in for Graphviz's dot: a shell script put first on PATH."""
    exe = folder / "dot"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)


def test_render_writes_dot_and_runs_dot_for_svg(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # Writes its arguments into the "SVG", so the test sees how it was called.
    _fake_dot(bin_dir, 'out="$4"; echo "<svg>$1 $2 $3</svg>" > "$out"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    x = Tensor([1.0, 2.0], requires_grad=True)
    files = render(x.tanh().sum(), tmp_path / "out" / "g.png")
    assert [f.name for f in files] == ["g.dot", "g.svg"]
    assert files[0].read_text().startswith("digraph")
    assert files[1].read_text().strip() == f"<svg>-Tsvg {files[0]} -o</svg>"
    assert [f.name for f in render(x.exp(), tmp_path / "h", svg=False)] == ["h.dot"]


def test_render_reports_a_failing_dot(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_dot(bin_dir, 'echo "syntax error in line 1" >&2; exit 3\n')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ChainruleError, match="exit code 3: syntax error in line 1"):
        render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "g")


def test_render_without_dot_draws_the_svg_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    files = render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "g")
    assert [f.name for f in files] == ["g.dot", "g.svg"]
    assert files[1].read_text().startswith("<svg") and "Exp" in files[1].read_text()
    with pytest.raises(ChainruleError, match=r"needs Graphviz's `dot` program .*g\.dot was written"):
        render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "g", layout="graphviz")
    with pytest.raises(ConfigError, match="Invalid layout: 'neato'"):
        render(Tensor([1.0], requires_grad=True).exp(), tmp_path / "g", layout="neato")


def test_render_with_whatever_dot_this_machine_has(tmp_path):
    """Graphviz draws the SVG when it is installed, chainrule otherwise: a picture either way."""
    model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    loss = (model(Tensor(np.ones((1, 2), np.float32))) ** 2).sum()
    files = render(loss, tmp_path / "g", params=dict(model.named_parameters()))
    assert "0.weight" in files[0].read_text() and [f.name for f in files] == ["g.dot", "g.svg"]
    svg = files[1].read_text()
    assert "<svg" in svg and "0.weight" in svg and "Linear+Sigmoid" in svg


def test_fused_dense_nodes_name_their_activation():
    from chainrule import functional as F
    x, w = Tensor(np.ones((1, 2))), Tensor(np.ones((3, 2)), requires_grad=True)
    for act, name in (("relu", "Linear+ReLU"), ("tanh", "Linear+Tanh"),
                      ("sigmoid", "Linear+Sigmoid"), (None, "Linear")):
        nodes, _ = parse(to_dot(F.linear(x, w, activation=act).sum()))
        assert name in [label.split("\\n")[0] for label, _ in nodes.values()]


def test_values_and_adjoints_on_every_node():
    """y = (x·z).exp() at x = 2, z = 3 has nodes Mul (6) and Exp (e^6); the adjoints are
    ∂y/∂Mul = e^6, ∂y/∂x = z e^6, ∂y/∂z = x e^6, computed without touching .grad."""
    x = Tensor(np.float64(2.0), requires_grad=True, name="x")
    z = Tensor(np.float64(3.0), requires_grad=True, name="z")
    y = (x * z).exp()
    nodes, _ = parse(to_dot(y, values=True, grads=True, show_shapes=False, digits=6))
    labels = {lab.split("\\n")[0]: lab.split("\\n")[1:] for lab, _ in nodes.values()}
    assert labels["Exp"] == ["value 403.429", "adjoint 1"]
    assert labels["Mul"] == ["value 6", "adjoint 403.429"]
    assert labels["x"] == ["value 2", "adjoint 1210.29"]
    assert labels["z"] == ["value 3", "adjoint 806.858"]
    assert x.grad is None and z.grad is None
    # after backward() the graph is freed: the leaves' .grad is what is shown
    y.backward()
    nodes, _ = parse(to_dot(y, grads=True, show_shapes=False, digits=6))
    labels = {lab.split("\\n")[0]: lab.split("\\n")[1:] for lab, _ in nodes.values()}
    assert labels["x"] == ["adjoint 1210.29"] and labels["Mul"] == []
    # big arrays are their shape and norm
    w = Tensor(np.ones((10, 10)), requires_grad=True, name="w")
    nodes, _ = parse(to_dot((w * 2.0).sum(), values=True, grads=True))
    by = {lab.split("\\n")[0]: lab for lab, _ in nodes.values()}
    assert "value (10, 10) ‖·‖=10" in by["w"] and "adjoint (10, 10) ‖·‖=20" in by["w"]


def test_chainrule_svg_layout_rows_and_shapes():
    import xml.etree.ElementTree as ET
    x = Tensor(np.float64(2.0), requires_grad=True, name="x")
    z = Tensor(np.float64(3.0), requires_grad=True, name="z")
    xz, lnx = x * z, x.log()
    y = xz.exp() + xz / lnx + lnx.sin() / xz
    svg = to_svg(y, values=True, grads=True)
    root = ET.fromstring(svg)               # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    rects, ellipses = root.findall(f"{ns}rect"), root.findall(f"{ns}ellipse")
    assert len(rects) == 8 and len(ellipses) == 2 and len(root.findall(f"{ns}line")) == 13
    texts = ["".join(t.itertext()) for t in root.findall(f"{ns}text")]
    assert any("adjoint 1208" in t for t in texts) and any("Sin" in t for t in texts)
    # BT: the inputs are below (larger y) every op, the output on top; no two boxes overlap
    top = {r.get("y") for r in rects}
    out_y = min(float(v) for v in top)
    assert all(float(e.get("cy")) > out_y for e in ellipses)
    boxes = [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
             for r in rects]
    for i, (ax, ay, aw, ah) in enumerate(boxes):
        for bx, by, bw, bh in boxes[i + 1:]:
            assert ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
    lr = ET.fromstring(to_svg(y, rankdir="LR"))
    xs = [float(e.get("cx")) for e in lr.findall(f"{ns}ellipse")]
    assert max(xs) < min(float(r.get("x")) for r in lr.findall(f"{ns}rect"))


# --- the pictures of a training run (chainrule.viz.plot_training) ------------------------------

def _trained(name, hidden=(4,), epochs=2):
    from chainrule.data import encode_target, load_dataset
    from chainrule.models import MLP, SavedModel
    from chainrule.optim import Adam
    from chainrule.train import fit
    data = load_dataset(name, seed=0)
    task, classes, y = encode_target(data)
    n_out = 3 if task == "multiclass" else 1
    model = MLP([data.X.shape[1], *hidden, n_out], task=task, rng=0)
    saved = SavedModel.for_data(model, data, task, classes, data.X, y)
    loss = saved.head.loss()
    history = fit(model, loss, Adam(model.parameters(), lr=0.01),
                  (saved.inputs(data.X), saved.targets(y)), epochs=epochs, rng=0,
                  metrics=("accuracy",) if saved.head.is_classifier else (), progress=False)
    return saved, data, y, history


@pytest.mark.parametrize("name, files", [
    ("moons", ["loss_curve.png", "accuracy_curve.png", "decision_boundary.png"]),
    ("regression", ["loss_curve.png"]),
    ("digits-0-1", ["loss_curve.png", "accuracy_curve.png", "hidden_units.png"]),
])
def test_plot_training_draws_what_the_run_calls_for(tmp_path, name, files):
    pytest.importorskip("matplotlib")
    if name.startswith("digits"):
        pytest.importorskip("sklearn")
    from chainrule.viz import plot_training
    saved, data, y, history = _trained(name)
    written = plot_training(tmp_path, history, saved, data.X, y, data.features, name)
    assert [p.name for p in written] == files
    for p in written:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_training_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    import sys

    from chainrule import MissingDependency
    from chainrule.viz import plot_training
    saved, data, y, history = _trained("moons", epochs=1)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependency, match=r"pip install 'chainrule\[plot\]'"):
        plot_training(tmp_path, history, saved, data.X, y, data.features, "moons")
    assert list(tmp_path.iterdir()) == []
