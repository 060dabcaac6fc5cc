"""Initialization: seeded bit-identity, the variances the schemes promise, symmetry warnings."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import init

RANDOM_INITS = [
    lambda w, rng: init.normal_(w, 0.0, 0.5, rng=rng),
    lambda w, rng: init.uniform_(w, -1.0, 1.0, rng=rng),
    init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_,
    init.lecun_normal_, init.lecun_uniform_, init.default_,
]


@pytest.mark.parametrize("fill", RANDOM_INITS)
def test_same_seed_bit_identical(fill):
    a, b, c = (nn.Parameter(np.empty((30, 20), dtype=np.float32)) for _ in range(3))
    fill(a, rng=42)
    fill(b, rng=np.random.default_rng(42))
    fill(c, rng=43)
    assert a.data.tobytes() == b.data.tobytes()
    assert a.data.tobytes() != c.data.tobytes()
    assert a.dtype == np.float32
    cr.manual_seed(9)
    fill(a, rng=None)
    cr.manual_seed(9)
    fill(b, rng=None)
    assert a.data.tobytes() == b.data.tobytes()


@pytest.mark.parametrize("fill, want_var", [
    (init.xavier_uniform_, 2 / (400 + 600)),
    (init.xavier_normal_, 2 / (400 + 600)),
    (init.kaiming_uniform_, 2 / 600),                       # ReLU gain √2, fan_in 600
    (init.kaiming_normal_, 2 / 600),
    (lambda w, rng: init.kaiming_normal_(w, mode="fan_out", rng=rng), 2 / 400),
    (lambda w, rng: init.kaiming_normal_(w, nonlinearity="tanh", rng=rng), (5 / 3) ** 2 / 600),
    (init.lecun_normal_, 1 / 600),
    (init.lecun_uniform_, 1 / 600),
    (init.default_, 1 / (3 * 600)),                          # U(±1/√fan_in): b²/3
])
def test_variance_on_a_large_matrix(fill, want_var):
    w = fill(nn.Parameter(np.empty((400, 600))), rng=0)       # weight (out=400, in=600)
    assert abs(float(w.data.mean())) < 0.05 * math.sqrt(want_var)
    assert float(w.data.var()) == pytest.approx(want_var, rel=0.02)


def test_uniform_bounds_and_normal_moments():
    w = init.xavier_uniform_(nn.Parameter(np.empty((50, 70))), gain=2.0, rng=0)
    assert np.abs(w.data).max() <= 2.0 * math.sqrt(6 / 120)
    u = init.uniform_(np.empty(10000), 2.0, 3.0, rng=0)
    assert u.min() >= 2.0 and u.max() < 3.0
    n = init.normal_(np.empty(20000), 1.5, 0.2, rng=0)
    assert n.mean() == pytest.approx(1.5, abs=0.01) and n.std() == pytest.approx(0.2, rel=0.02)


def test_fans_of_conv_weights():
    w = init.kaiming_normal_(np.empty((64, 32, 3, 3)), rng=0)    # fan_in = 32·9
    assert w.var() == pytest.approx(2 / (32 * 9), rel=0.03)


def test_calculate_gain():
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 1e-4)))
    with pytest.raises(ConfigError, match="unknown nonlinearity 'swish'; expected one of linear"):
        init.calculate_gain("swish")


def test_symmetry_warning_for_constant_weights():
    w = nn.Parameter(np.ones((3, 4), dtype=np.float32))
    with pytest.warns(init.SymmetryWarning, match=r"zeros_ fills a whole weight matrix of shape \(3, 4\)"):
        init.zeros_(w)
    np.testing.assert_array_equal(w.data, 0.0)
    with pytest.warns(init.SymmetryWarning, match="never become different"):
        init.constant_(w, 0.3)
    np.testing.assert_allclose(w.data, 0.3)
    assert issubclass(nn.SymmetryWarning, UserWarning)
    with pytest.warns(init.SymmetryWarning):
        nn.Linear(3, 2, init="zeros")


def test_no_warning_for_biases():
    b = nn.Parameter(np.ones(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.zeros_(b)
        init.constant_(b, 0.1)
        nn.Linear(4, 3, init="kaiming_normal")   # its bias starts at zero
    np.testing.assert_allclose(b.data, 0.1)


def test_no_symmetry_warning_for_a_one_unit_layer():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        init.zeros_(np.ones((1, 5)))               # a logistic-regression output layer
        nn.Linear(5, 1, init="zeros")
    with pytest.warns(init.SymmetryWarning):
        init.zeros_(np.ones((2, 5)))


def test_zero_weights_never_become_different():
    # NOTES.md 6: with all-equal weights every hidden unit gets the same gradient, so gradient
    # descent keeps them equal; a random initialization breaks the tie.
    x = np.random.default_rng(0).standard_normal((8, 3))
    y = np.random.default_rng(1).integers(0, 2, (8, 1)).astype(np.float64)
    with pytest.warns(init.SymmetryWarning):
        hidden = nn.Linear(3, 4, init="zeros", dtype="float64")
    out = nn.Linear(4, 1, dtype="float64", rng=0)
    init.constant_(out.weight, 0.5)  # one output unit: nothing to warn about (issue 12)
    net = nn.Sequential(hidden, nn.Sigmoid(), out)
    for _ in range(5):
        net.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(net(cr.Tensor(x)), y).backward()
        for p in net.parameters():
            p.data -= 0.5 * p.grad
    rows = hidden.weight.data
    np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), atol=1e-15)
    assert np.abs(rows).max() > 0  # they moved, but together


def test_named_initializers_and_errors():
    assert init.get_initializer("glorot_uniform") is init.xavier_uniform_
    assert init.get_initializer("He-Uniform") is init.kaiming_uniform_
    with pytest.raises(ConfigError) as exc:
        init.get_initializer("orthogonal")
    for name in ("xavier_uniform", "kaiming_normal", "lecun_normal", "default"):
        assert name in str(exc.value)
    calls = []
    nn.Linear(2, 3, init=lambda w, rng: calls.append(w.shape) or init.normal_(w, std=0.1, rng=rng))
    assert calls == [(3, 2)]
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init.xavier_uniform_(np.empty(5))
    with pytest.raises(ConfigError, match=r"Invalid mode: 'fan_avg' \(expected one of 'fan_in'"):
        init.kaiming_uniform_(np.empty((2, 2)), mode="fan_avg")
    with pytest.raises(ConfigError, match=r"Invalid std: -1.0 \(expected std >= 0\) in normal_"):
        init.normal_(np.empty(2), std=-1.0)
    with pytest.raises(ConfigError, match="need a <= b"):
        init.uniform_(np.empty(2), 1.0, 0.0)


def test_linear_init_names_by_variance():
    w = nn.Linear(600, 400, init="he_normal", rng=0).weight.data
    assert float(w.var()) == pytest.approx(2 / 600, rel=0.03)
    w = nn.Linear(600, 400, init="xavier_normal", rng=0).weight.data
    assert float(w.var()) == pytest.approx(2 / 1000, rel=0.03)
