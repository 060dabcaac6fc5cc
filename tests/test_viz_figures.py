"""The data behind the notes' pictures (chainrule.viz.figures), checked without matplotlib:
derivatives by autograd, the sigmoid unit's two loss surfaces, the perceptron trick's frames,
the error count against the log-loss."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import ConfigError, ShapeError
from chainrule.models import Perceptron
from chainrule.nn import HIDDEN_ACTIVATIONS
from chainrule.viz.figures import (
    activation_curves, error_count_vs_logloss, perceptron_trick_frames, sigmoid_loss_surfaces,
)

# the admissions-like toy set: red (0) bottom-left, blue (1) top-right, linearly separable
PTS = np.array([[1, 1], [2, 2], [1, 3], [3, 1], [4, 4], [5, 3]], dtype=float)
LAB = np.array([0, 0, 0, 1, 1, 1])


def test_activation_derivatives_are_the_notes_formulas():
    c = activation_curves(["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu"])
    x, s, ds = c["sigmoid"]
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(ds, s * (1 - s), rtol=1e-12)      # σ' = σ(1 − σ), notes §2
    _, t, dt = c["tanh"]
    np.testing.assert_allclose(dt, 1 - t * t, atol=1e-12)
    off = x != 0  # the kinks: PyTorch's convention there, not a formula
    np.testing.assert_array_equal(c["relu"][2][off], (x[off] > 0).astype(float))
    np.testing.assert_allclose(c["leaky_relu"][2][off], np.where(x[off] > 0, 1.0, 0.01))
    np.testing.assert_allclose(c["softplus"][2], 1 / (1 + np.exp(-x)), rtol=1e-12)  # = σ
    np.testing.assert_allclose(c["elu"][2][x < 0], np.exp(x[x < 0]), rtol=1e-12)


def test_every_hidden_activation_derivative_matches_finite_differences():
    x = np.linspace(-3.95, 3.95, 80) + 0.013  # off the kinks at 0 and ±3
    h = 1e-6
    for name, (_, _, dy) in activation_curves(x=x).items():
        up = activation_curves([name], x + h)[name][1]
        down = activation_curves([name], x - h)[name][1]
        np.testing.assert_allclose(dy, (up - down) / (2 * h), atol=1e-6, err_msg=name)
    assert set(activation_curves(x=[0.0])) == set(HIDDEN_ACTIVATIONS)


def test_activation_curves_refuses_softmax():
    with pytest.raises(ConfigError, match="element-wise"):
        activation_curves(["softmax"])


def test_sigmoid_loss_surfaces_values_and_gradients_by_hand():
    x, y = np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0, 1.0])
    s = sigmoid_loss_surfaces(x, y, (-6, 6), (-6, 6), n=13)  # a grid step of 1
    for i, j in [(0, 0), (6, 6), (3, 9), (12, 1)]:
        w, b = s.w[i, j], s.b[i, j]
        p = 1 / (1 + np.exp(-(w * x + b)))
        assert s.quadratic[i, j] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
        ce = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
        assert s.cross_entropy[i, j] == pytest.approx(ce, rel=1e-9)
        dq = 2 * (p - y) * p * (1 - p)                 # the quadratic keeps the factor σ'(z)
        np.testing.assert_allclose(s.grad_quadratic[i, j], [np.mean(dq * x), np.mean(dq)],
                                   rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(s.grad_cross_entropy[i, j],    # ∂E/∂z = ŷ − y (notes §4)
                                   [np.mean((p - y) * x), np.mean(p - y)], rtol=1e-9, atol=1e-15)


def test_quadratic_plateau_where_cross_entropy_keeps_its_slope():
    """Glorot and Bengio's point: saturated on the wrong side (w ≪ 0 here), the quadratic
    loss is almost flat though it is near its worst, while cross-entropy still slopes."""
    x, y = np.array([-2.0, -1.0, 1.0, 2.0]), np.array([0.0, 0.0, 1.0, 1.0])
    s = sigmoid_loss_surfaces(x, y, (-6, 6), (-6, 6), n=13)
    i, j = 6, 0  # b = 0, w = −6: every point confidently wrong
    assert s.quadratic[i, j] > 0.99 and s.cross_entropy[i, j] > 8
    gq, gce = np.linalg.norm(s.grad_quadratic[i, j]), np.linalg.norm(s.grad_cross_entropy[i, j])
    assert gq < 0.01 < 1 < gce
    flat_q = np.mean(np.linalg.norm(s.grad_quadratic, axis=-1) < 0.01)
    flat_ce = np.mean(np.linalg.norm(s.grad_cross_entropy, axis=-1) < 0.01)
    wrong = s.w < 0  # the half of the plane that gets the labels the wrong way round
    assert np.mean(np.linalg.norm(s.grad_cross_entropy, axis=-1)[wrong] > 0.4) == 1.0
    assert flat_q > 3 * flat_ce


def test_sigmoid_loss_surfaces_checks_shapes():
    with pytest.raises(ShapeError, match="one value per point"):
        sigmoid_loss_surfaces([1.0, 2.0], [1.0])


def test_perceptron_trick_frames_are_the_notes_rule_point_by_point():
    lr = 0.5
    frames = perceptron_trick_frames(PTS, LAB, lr=lr, epochs=50, rng=0)
    assert len(frames) > 3
    for f in frames:
        w, b = f.before[:2], f.before[2]
        pred = int(f.point @ w + b >= 0)
        assert pred != f.label                           # only misclassified points move it
        sign = 1.0 if f.label == 1 else -1.0             # w ← w ± αx, b ← b ± α
        np.testing.assert_allclose(f.after, f.before + sign * lr * np.append(f.point, 1.0),
                                   rtol=1e-6)
        assert np.array_equal(f.point, PTS[f.index]) and f.label == LAB[f.index]
    for a, b in zip(frames, frames[1:]):               # one line carried from frame to frame
        np.testing.assert_array_equal(a.after, b.before)
    assert frames[-1].errors_after == 0                 # separable: it ends with no mistakes
    # the same updates as the model's own fit over the points in order
    p = Perceptron(2, rng=0).fit(PTS, LAB, lr=lr, epochs=50, shuffle=False)
    np.testing.assert_allclose(np.append(p.weight.data, p.bias.data), frames[-1].after, rtol=1e-6)


def test_error_count_is_a_staircase_the_log_loss_a_slope():
    sweep = error_count_vs_logloss(PTS, LAB, (1.0, 1.0, -12.0), (1.0, 1.0, 0.0), n=121)
    # the line x1 + x2 + b = 0 slides across: the count changes only where a point is crossed
    scores = PTS.sum(axis=1)[None, :] + sweep.lines[:, 2:]
    changed = np.flatnonzero(np.diff(sweep.error_count))
    crossed = np.flatnonzero(np.any(np.diff(np.sign(scores) >= 0, axis=0), axis=1))
    np.testing.assert_array_equal(changed, crossed)
    assert len(set(sweep.error_count.tolist())) <= 4 < 121 / 10   # flat almost everywhere
    # the log-loss is smooth and its autograd slope is its finite-difference slope
    dt = sweep.t[1] - sweep.t[0]
    np.testing.assert_allclose(sweep.log_loss_slope[1:-1],
                               (sweep.log_loss[2:] - sweep.log_loss[:-2]) / (2 * dt), atol=2e-3)
    k = 60
    z = PTS @ sweep.lines[k, :2] + sweep.lines[k, 2]
    p = 1 / (1 + np.exp(-z))
    assert sweep.log_loss[k] == pytest.approx(np.mean(-LAB * np.log(p) - (1 - LAB) * np.log(1 - p)))
    # the count has no gradient to follow: the comparison cuts the graph
    w = cr.Tensor(np.array([1.0, 1.0, -6.0]), requires_grad=True)
    count = ((cr.Tensor(PTS) @ w[:2] + w[2] >= 0) != cr.Tensor(LAB.astype(bool))).sum()
    with pytest.raises(cr.GraphError, match="comparison"):
        count.backward()


def test_error_count_vs_logloss_checks_its_input():
    with pytest.raises(ShapeError, match="d \\+ 1 numbers"):
        error_count_vs_logloss(PTS, LAB, (1.0, 1.0), (1.0, 1.0))
    with pytest.raises(ConfigError, match="0 and 1"):
        error_count_vs_logloss(PTS, LAB * 2, (1.0, 1.0, 0.0), (1.0, 1.0, 1.0))
