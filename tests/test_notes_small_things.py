"""The small things a student of the notes trips on (issue 16)."""

import numpy as np
import pytest

import chainrule as cr


def _pixel_colour(path, fx, fy):
    """The RGB of the saved picture at fraction (fx, fy) of its width and height."""
    import matplotlib.image as mpimg
    img = mpimg.imread(str(path))
    h, w = img.shape[:2]
    return img[int(fy * h), int(fx * w), :3]


def test_decision_boundary_colours_class_1_blue_and_class_0_red_as_the_notes(tmp_path):
    pytest.importorskip("matplotlib")
    from chainrule.viz import plot_decision_boundary
    X = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    y = np.array([0, 0, 1, 1])
    predict = lambda G: (G[:, 0] > 0).astype(int)  # noqa: E731 - class 1 on the right
    path = plot_decision_boundary(predict, X, y, tmp_path / "b.png")
    left, right = _pixel_colour(path, 0.35, 0.3), _pixel_colour(path, 0.75, 0.3)
    assert left[0] > left[2] + 0.05      # class 0 region: red
    assert right[2] > right[0] + 0.05    # class 1 region: blue
    path = plot_decision_boundary(predict, X, y, tmp_path / "c.png", colors=("tab:blue", "tab:red"))
    left, right = _pixel_colour(path, 0.35, 0.3), _pixel_colour(path, 0.75, 0.3)
    assert left[2] > left[0] + 0.05 and right[0] > right[2] + 0.05
    with pytest.raises(cr.ConfigError, match="expected one per class"):
        plot_decision_boundary(predict, X, y, tmp_path / "d.png", colors=("red",))


def test_mlp_without_bias_matches_the_notes_equations():
    from chainrule.models import MLP
    net = MLP([2, 3, 1], activation="sigmoid", task="binary", rng=0, bias=False)
    names = [n for n, _ in net.named_parameters()]
    assert names and all(n.endswith("weight") for n in names)
    assert "bias=False" in repr(net)
    W1, W2 = (p.data.astype(np.float64) for _, p in net.named_parameters())
    x = np.array([[0.5, -1.0], [0.0, 0.0]])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    expected = sig(sig(x @ W1.T) @ W2.T)[:, 0]  # ŷ = σ(W2 σ(W1 x)), no b anywhere
    np.testing.assert_allclose(net.predict_proba(x), expected, rtol=1e-5)
    assert net.predict_proba(np.zeros((1, 2)))[0] == pytest.approx(0.5 if W2.sum() * 0.5 == 0 else
                                                                   sig(W2.sum() * 0.5))
    with_bias = MLP([2, 3, 1], rng=0, task="binary")
    assert len(list(with_bias.parameters())) == 4
    with pytest.raises(cr.ConfigError, match="bias"):
        MLP([2, 1], task="binary", bias="no")


def test_mlp_without_bias_saves_and_loads(tmp_path):
    from chainrule.models import MLP
    net = MLP([2, 3, 1], task="binary", bias=False, rng=0)
    cr.save(net, tmp_path / "n.cr")
    back = cr.load(tmp_path / "n.cr")
    x = np.ones((2, 2))
    np.testing.assert_array_equal(back.predict_proba(x), net.predict_proba(x))
    assert back.bias is False


def test_backward_through_a_comparison_says_comparisons_cut_the_graph():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    x = np.array([[1.0, 1.0], [2.0, 0.5]])
    errors = ((cr.tensor(x) @ w > 0) != cr.tensor(np.array([True, False]))).sum()
    with pytest.raises(cr.GraphError, match="comparison") as info:
        errors.backward()
    assert "cut the graph" in str(info.value) and "log-loss" in str(info.value)
    assert "bool values" in str(info.value) or "int" in str(info.value)


def test_explain_never_prints_minus_zero():
    import re
    from chainrule.explain import backprop_trace, example_network
    net = example_network([2, 2, 1])
    trace = backprop_trace(net, [-0.0, 0.0], [0.5])  # −0 inputs make −0 weight gradients
    text = str(trace)
    assert "x1 = 0," in text or "= 0" in text
    assert not re.search(r"(?<![\d.e])-0(?![.\d])", text), text
    assert "NOTES.md" not in text and "(tutorial: Backpropagation)" in text
