"""The digits loaders and the synthetic data sets."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import chainrule
from chainrule.data import (
    MissingDependency,
    admissions,
    blobs,
    circles,
    digits_binary,
    load_digits,
    moons,
    regression,
    spirals,
    xor,
)
from chainrule.errors import ConfigError

# ---------------------------------------------------------------------- digits (scikit-learn)


def test_load_digits_shapes_dtypes_and_scale():
    sk_datasets = pytest.importorskip("sklearn.datasets")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    raw = sk_datasets.load_digits()
    np.testing.assert_array_equal(X * 16, raw.data)  # pixel / 16, exactly
    np.testing.assert_array_equal(y, raw.target)
    Xi, _ = load_digits(images=True)
    assert Xi.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(Xi[5, 0], raw.images[5] / 16)


@pytest.mark.parametrize("a, b, n_a, n_b", [(0, 1, 178, 182), (1, 2, 182, 177)])
def test_digits_binary_tasks_of_the_notes(a, b, n_a, n_b):
    pytest.importorskip("sklearn")
    X, y = digits_binary(a, b)
    X_all, y_all = load_digits()
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [n_a, n_b]
    np.testing.assert_array_equal(X[y == 0], X_all[y_all == a])
    np.testing.assert_array_equal(X[y == 1], X_all[y_all == b])
    assert digits_binary(a, b, images=True)[0].shape == (n_a + n_b, 1, 8, 8)


@pytest.mark.parametrize("a, b", [(3, 3), (0, 10), (-1, 2)])
def test_digits_binary_rejects_bad_digits(a, b):
    with pytest.raises(ConfigError, match="two different digits"):
        digits_binary(a, b)


def test_missing_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingDependency, match=r"pip install chainrule\[sklearn\]"):
        load_digits()
    with pytest.raises(ImportError):  # also an ImportError for code that expects one
        digits_binary()

# ---------------------------------------------------------------------- synthetic sets


SYNTHETIC = {
    "admissions": (admissions, {"noise": 0.1}, 2),
    "xor": (xor, {"noise": 0.1}, 2),
    "moons": (moons, {}, 2),
    "circles": (circles, {}, 2),
    "blobs": (blobs, {"centers": 4}, 4),
    "spirals": (spirals, {"classes": 3}, 3),
}


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_synthetic_shape_dtype_and_classes(name):
    make, kwargs, n_classes = SYNTHETIC[name]
    X, y = make(120, rng=0, **kwargs)
    assert X.shape == (120, 2) and X.dtype == np.float32
    assert y.shape == (120,) and y.dtype == np.int64
    assert np.isfinite(X).all()
    assert sorted(set(y.tolist())) == list(range(n_classes))


@pytest.mark.parametrize("name", sorted(SYNTHETIC) + ["regression"])
def test_synthetic_sets_are_seeded(name):
    make, kwargs = (regression, {}) if name == "regression" else SYNTHETIC[name][:2]
    a, b = make(60, rng=5, **kwargs), make(60, rng=5, **kwargs)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    c = make(60, rng=6, **kwargs)
    assert not np.array_equal(a[0], c[0])
    g = np.random.default_rng(5)
    assert all(np.array_equal(u, v) for u, v in zip(make(60, rng=g, **kwargs), a))
    chainrule.manual_seed(11)
    d = make(60, **kwargs)
    chainrule.manual_seed(11)
    assert all(np.array_equal(u, v) for u, v in zip(make(60, **kwargs), d))


def test_admissions_labels_follow_the_notes_boundary():
    X, y = admissions(500, noise=0.0, rng=1)
    test, grades = X[:, 0].astype(np.float64), X[:, 1].astype(np.float64)
    assert X.min() >= 0 and X.max() <= 10
    np.testing.assert_array_equal(y, (2 * test + grades - 18 >= 0).astype(np.int64))
    assert 0.1 < y.mean() < 0.5  # both classes present: the accepted share is 0.2 in theory


def test_admissions_noise_flips_that_share_of_labels():
    X, y = admissions(4000, noise=0.2, rng=2)
    clean = (2 * X[:, 0].astype(np.float64) + X[:, 1] - 18 >= 0).astype(np.int64)
    assert 0.17 < (y != clean).mean() < 0.23


def test_xor_is_the_truth_table_and_jitters_around_it():
    X, y = xor(4)
    assert X.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]] and y.tolist() == [0, 1, 1, 0]
    Xn, yn = xor(400, noise=0.05, rng=0)
    corners = np.round(Xn)
    assert np.abs(Xn - corners).max() < 0.3
    np.testing.assert_array_equal(yn, (corners[:, 0] != corners[:, 1]).astype(np.int64))


@pytest.mark.parametrize("n", [9, 100])
def test_moons_and_circles_match_scikit_learn_geometry(n):
    sk_datasets = pytest.importorskip("sklearn.datasets")
    pairs = ((moons, sk_datasets.make_moons, {}),
             (circles, sk_datasets.make_circles, {"factor": 0.5}))
    for ours, theirs, kwargs in pairs:
        X, y = ours(n, noise=0.0, rng=0, **kwargs)
        X_ref, y_ref = theirs(n_samples=n, shuffle=False, noise=None, **kwargs)
        assert np.bincount(y).tolist() == np.bincount(y_ref).tolist()
        for k in (0, 1):
            # the same points per class, in another order: every point has its twin
            dist = np.linalg.norm(X[y == k][:, None] - X_ref[y_ref == k][None], axis=2)
            assert dist.min(axis=0).max() < 1e-6 and dist.min(axis=1).max() < 1e-6


def test_circles_radii_and_noise():
    X, y = circles(200, noise=0.0, factor=0.3, rng=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r, np.where(y == 1, 0.3, 1.0), atol=1e-6)
    Xn, _ = circles(200, noise=0.1, rng=0)
    assert np.abs(np.hypot(Xn[:, 0], Xn[:, 1]) - np.where(y == 1, 0.5, 1.0)).max() > 0.05


def test_blobs_cluster_around_their_centres():
    centres = np.array([[0.0, 0.0], [8.0, 8.0], [-8.0, 8.0]])
    X, y = blobs(3000, centers=centres, std=0.5, rng=0)
    assert np.bincount(y).tolist() == [1000, 1000, 1000]
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(0), centres[k], atol=0.1)
        np.testing.assert_allclose(X[y == k].std(0), 0.5, atol=0.05)
    Xr, _ = blobs(100, centers=2, box=(-3.0, 3.0), std=0.0, rng=0)
    assert np.abs(Xr).max() <= 3.0 and len(np.unique(Xr, axis=0)) == 2


def test_spirals_arms_and_sizes():
    X, y = spirals(301, classes=4, noise=0.0, rng=0)
    assert np.bincount(y).tolist() == [76, 75, 75, 75]
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 1.0 + 1e-6
    # noise-free points lie on their arm: angle 4(k + r) for radius r
    r = np.hypot(X[:, 0], X[:, 1])
    far = r > 0.1
    angle = np.arctan2(X[far, 0], X[far, 1])
    expected = 4.0 * (y[far] + r[far])
    np.testing.assert_allclose(np.angle(np.exp(1j * (angle - expected))), 0.0, atol=1e-4)


def test_regression_targets_follow_the_function():
    X, y = regression(300, noise=0.0, rng=0)
    assert X.shape == (300, 1) and y.shape == (300, 1) and y.dtype == np.float32
    assert X.min() >= -2 and X.max() <= 2
    x = X.astype(np.float64)
    np.testing.assert_allclose(y, np.sin(2 * x) + 0.3 * x**2, atol=1e-6)
    # non-linear: the best straight line leaves a clear residual
    A = np.hstack([x, np.ones_like(x)])
    residual = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    assert residual.std() > 0.3
    X3, y3 = regression(50, noise=0.5, n_features=3, rng=0)
    assert X3.shape == (50, 3) and y3.shape == (50, 1)


@pytest.mark.parametrize("call", [
    lambda: admissions(0), lambda: admissions(10, noise=1.5), lambda: xor(10, noise=-1),
    lambda: moons(1), lambda: circles(10, factor=1.0), lambda: blobs(10, centers=0),
    lambda: blobs(10, centers=np.zeros((2, 3))), lambda: spirals(10, classes=1),
    lambda: regression(2.5), lambda: regression(10, n_features=0), lambda: blobs(10, std=-1),
])
def test_synthetic_sets_reject_bad_arguments(call):
    with pytest.raises(ConfigError):
        call()
