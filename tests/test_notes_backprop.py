"""NOTES.md section 4: the engine reproduces the notes' hand-derived derivatives."""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import Tensor

rng = np.random.default_rng(7)


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    z = rng.standard_normal(10)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(cr.grad(lambda z: z.sigmoid().sum())(z), s * (1 - s), rtol=1e-12)


def test_dLL_dyhat():
    """∂LL/∂ŷ = y/ŷ − (1 − y)/(1 − ŷ) for LL = y log ŷ + (1 − y) log(1 − ŷ)."""
    yhat = rng.uniform(0.05, 0.95, 6)
    y = np.array([1, 0, 1, 1, 0, 0.0])
    ll = lambda p: (Tensor(y) * p.log() + (1 - Tensor(y)) * (1 - p).log()).sum()
    np.testing.assert_allclose(cr.grad(ll)(yhat), y / yhat - (1 - y) / (1 - yhat), rtol=1e-12)


def _network(x, th_h, th_y):
    """h_j = σ(Σ_i x_i θ^(h)_ij),  ŷ = σ(Σ_j h_j θ^(ŷ)_j)  (NOTES.md 1)."""
    h = (x @ th_h).sigmoid()
    return h, (h @ th_y).sigmoid()


def test_one_hidden_layer_partials_match_closed_forms():
    x, th_h, th_y = rng.standard_normal(3), rng.standard_normal((3, 4)), rng.standard_normal(4)
    h = 1 / (1 + np.exp(-(x @ th_h)))
    yhat = 1 / (1 + np.exp(-(h @ th_y)))
    # ∂ŷ/∂θ^(ŷ)_j = ŷ(1 − ŷ) h_j
    g = cr.grad(lambda t: _network(Tensor(x), Tensor(th_h), t)[1])(th_y)
    np.testing.assert_allclose(g, yhat * (1 - yhat) * h, rtol=1e-12)
    # ∂ŷ/∂h_j = ŷ(1 − ŷ) θ^(ŷ)_j
    g = cr.grad(lambda hh: (hh @ Tensor(th_y)).sigmoid())(h)
    np.testing.assert_allclose(g, yhat * (1 - yhat) * th_y, rtol=1e-12)
    # ∂h_j/∂θ^(h)_ij = h_j(1 − h_j) x_i, for one j at a time
    for j in range(4):
        g = cr.grad(lambda t, j=j: _network(Tensor(x), t, Tensor(th_y))[0][j])(th_h)
        want = np.zeros((3, 4))
        want[:, j] = h[j] * (1 - h[j]) * x
        np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-15)


def test_log_likelihood_gradient_of_the_network_equals_the_hand_derivation():
    """Chain the closed forms over a data set: the gradient is the sum of per-point gradients."""
    n = 20
    X = rng.standard_normal((n, 3))
    Y = (rng.random(n) > 0.5).astype(float)
    th_h, th_y = rng.standard_normal((3, 4)), rng.standard_normal(4)

    def LL(th_h, th_y):
        _, p = _network(Tensor(X), th_h, th_y)
        y = Tensor(Y)
        return (y * p.log() + (1 - y) * (1 - p).log()).sum()

    g_h, g_y = cr.grad(LL, argnums=(0, 1))(th_h, th_y)

    want_h, want_y = np.zeros_like(th_h), np.zeros_like(th_y)
    for x, y in zip(X, Y):
        h = 1 / (1 + np.exp(-(x @ th_h)))
        yhat = 1 / (1 + np.exp(-(h @ th_y)))
        dLL_dyhat = y / yhat - (1 - y) / (1 - yhat)
        want_y += dLL_dyhat * yhat * (1 - yhat) * h
        dyhat_dh = yhat * (1 - yhat) * th_y
        want_h += dLL_dyhat * np.outer(x, dyhat_dh * h * (1 - h))
    np.testing.assert_allclose(g_y, want_y, rtol=1e-10)
    np.testing.assert_allclose(g_h, want_h, rtol=1e-10)


def test_the_four_ways_agree_on_the_network():
    """NOTES.md 5: finite differences, reverse mode and forward mode give one gradient."""
    X = rng.standard_normal((5, 3))
    th_h, th_y = rng.standard_normal((3, 4)), rng.standard_normal(4)
    report = cr.check_grad(lambda a, b: _network(X if not hasattr(a, "primal") else cr.Dual(X), a, b)[1],
                           th_h, th_y, name="one-hidden-layer network")
    assert report.reverse_error < 1e-8 and report.forward_error < 1e-8
