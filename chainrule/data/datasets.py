"""The data sets the notes train on (notes §7, the examples): digits and synthetic 2-D sets.

Every loader returns ``(X, y)`` with float32 ``X`` and int64 class labels ``y`` (float32
targets for :func:`regression`). Every random draw goes through ``rng`` (a generator, a seed,
or None for the global generator of :mod:`chainrule.random`), so a seed fixes the data bit
for bit.

The synthetic sets follow scikit-learn's ``make_moons``, ``make_circles`` and ``make_blobs``
(same geometry and parameters) but are drawn with NumPy here, on purpose: the same seed must
give the same data whether or not the optional scikit-learn is installed, and scikit-learn's
generators take a legacy ``RandomState`` rather than chainrule's ``Generator``. Each is a few
lines of NumPy.
"""

from __future__ import annotations

import numpy as np

from .. import random as _random
from ..errors import ConfigError
from ..validate import check_number
from ..optional import require


def _n(n: int, name: str, at_least: int = 1) -> int:
    return check_number(n, "n", name, low=at_least, integer=True)


def _noise(noise: float, name: str) -> float:
    return check_number(noise, "noise", name, low=0)


def load_digits(images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 1,797 handwritten 8×8 digits that scikit-learn ships, as pixel vectors.

    The UCI "Optical Recognition of Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998),
    bundled with scikit-learn, so it needs no download.

    Args:
        images: return ``X`` as (n, 1, 8, 8) images (NCHW, for convolutions) instead of
            (n, 64) pixel vectors.

    Returns:
        ``X`` float32 in [0, 1] (pixel intensity / 16), ``y`` int64 digits 0-9.

    Raises:
        MissingDependency: scikit-learn is not installed (``pip install 'chainrule[sklearn]'``).

    >>> X, y = load_digits()
    >>> X.shape, X.dtype.name, float(X.max()), y.dtype.name, int(y[:10].sum())
    ((1797, 64), 'float32', 1.0, 'int64', 45)
    """
    sk_datasets = require("sklearn.datasets", "sklearn", "load_digits")
    X, y = sk_datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return (X.reshape(-1, 1, 8, 8) if images else X), y.astype(np.int64)


def digits_binary(a: int = 0, b: int = 1, images: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The digits ``a`` and ``b`` only, for the notes' binary tasks ("0" vs "1", "1" vs "2").

    Args:
        a: the digit labelled 0.
        b: the digit labelled 1.
        images: (n, 1, 8, 8) images instead of (n, 64) vectors.

    Returns:
        ``X`` float32 in [0, 1], ``y`` int64 in {0, 1} (1 where the digit is ``b``).

    Raises:
        ConfigError: ``a`` or ``b`` not a digit 0-9, or ``a == b``.
        MissingDependency: scikit-learn is not installed.

    >>> X, y = digits_binary(1, 2)
    >>> X.shape, sorted(set(y.tolist()))
    ((359, 64), [0, 1])
    """
    digits = tuple(range(10))
    if a not in digits or b not in digits or a == b:
        raise ConfigError(f"digits_binary: a and b must be two different digits 0-9; got "
                          f"a={a!r}, b={b!r}")
    X, y = load_digits(images=images)
    keep = (y == a) | (y == b)
    return X[keep], (y[keep] == b).astype(np.int64)


def admissions(n: int = 100, noise: float = 0.0,
               rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The notes' university admissions (notes §1, the neuron): accept iff 2·test + grades ≥ 18.

    Args:
        n: number of students.
        noise: probability that each label is flipped (0 gives linearly separable data).
        rng: generator, seed, or None for the global generator.

    Returns:
        ``X`` float32 (n, 2) with columns (test, grades), each uniform on [0, 10]; ``y`` int64,
        1 for accepted: ``2·test + grades − 18 ≥ 0``, before the flips.

    >>> X, y = admissions(50, rng=0)
    >>> bool(np.all(y == (2 * X[:, 0].astype(float) + X[:, 1] - 18 >= 0)))
    True
    """
    n, noise = _n(n, "admissions"), _noise(noise, "admissions")
    check_number(noise, "noise", "admissions", low=0, high=1, label="flip probability noise")
    gen = _random.get_rng(rng)
    X = gen.uniform(0.0, 10.0, size=(n, 2)).astype(np.float32)
    # NOTE: labels come from the float32 values actually returned, so the data agree with the
    # boundary exactly; float64 arithmetic on float32 inputs is exact here.
    X64 = X.astype(np.float64)
    y = (2.0 * X64[:, 0] + X64[:, 1] - 18.0 >= 0).astype(np.int64)
    flip = gen.random(n) < noise
    return X, np.where(flip, 1 - y, y)


def xor(n: int = 200, noise: float = 0.0,
        rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The XOR problem: the corners of the unit square, labelled 1 when exactly one bit is 1.

    Point ``i`` sits at corner ``i mod 4`` of (0,0), (0,1), (1,0), (1,1), plus Gaussian noise
    of standard deviation ``noise``; ``xor(4)`` is the truth table itself. No line separates
    the classes, so logistic regression fails where one hidden layer succeeds.

    Args:
        n: number of points.
        noise: standard deviation of the Gaussian jitter around the corners.
        rng: generator, seed, or None for the global generator.

    Returns:
        ``X`` float32 (n, 2), ``y`` int64 in {0, 1}.

    >>> X, y = xor(4)
    >>> X.tolist(), y.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
    """
    n, noise = _n(n, "xor"), _noise(noise, "xor")
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[np.arange(n) % 4]
    X = bits.astype(np.float64)
    if noise > 0:
        X += noise * _random.get_rng(rng).standard_normal((n, 2))
    return X.astype(np.float32), (bits[:, 0] ^ bits[:, 1]).astype(np.int64)


def moons(n: int = 200, noise: float = 0.1,
          rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons`` geometry).

    Class 0 lies on the upper half of the unit circle centred at (0, 0), class 1 on the lower
    half of the unit circle centred at (1, 0.5); ``n // 2`` points (rounded down) in class 0,
    evenly spaced in angle, then Gaussian noise of standard deviation ``noise``.

    Returns:
        ``X`` float32 (n, 2), ``y`` int64 in {0, 1}, in random order.

    >>> X, y = moons(100, rng=0)
    >>> X.shape, int(y.sum())
    ((100, 2), 50)
    """
    n, noise = _n(n, "moons", 2), _noise(noise, "moons")
    gen = _random.get_rng(rng)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_out, n_in])
    return _jitter_shuffle(X, y, noise, gen)


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5,
            rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A small circle inside a large one (scikit-learn's ``make_circles`` geometry).

    Class 0: ``n // 2`` points (rounded down) on the unit circle; class 1: the rest on the
    circle of radius ``factor``; evenly spaced in angle, then Gaussian noise.

    Args:
        n: number of points.
        noise: standard deviation of the Gaussian noise.
        factor: radius of the inner circle, in (0, 1) (scikit-learn's default is 0.8, a
            narrower gap).
        rng: generator, seed, or None for the global generator.

    Returns:
        ``X`` float32 (n, 2), ``y`` int64 in {0, 1} (1 = inner circle), in random order.

    >>> X, y = circles(100, noise=0.0, rng=0)
    >>> bool(np.allclose(np.hypot(X[:, 0], X[:, 1]), np.where(y == 1, 0.5, 1.0), atol=1e-6))
    True
    """
    n, noise = _n(n, "circles", 2), _noise(noise, "circles")
    factor = check_number(factor, "factor", "circles", low=0, high=1, low_open=True, high_open=True)
    gen = _random.get_rng(rng)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.repeat(np.array([0, 1], dtype=np.int64), [n_out, n_in])
    return _jitter_shuffle(X, y, noise, gen)


def blobs(n: int = 200, centers: int | np.ndarray = 3, std: float = 1.0,
          box: tuple[float, float] = (-10.0, 10.0),
          rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs (scikit-learn's ``make_blobs``): one isotropic cluster per class.

    Args:
        n: number of points, spread as evenly as possible over the clusters.
        centers: number of clusters (their centres drawn uniformly in ``box``²) or a (k, 2)
            array of centres.
        std: standard deviation of every cluster.
        box: range of the random centres.
        rng: generator, seed, or None for the global generator.

    Returns:
        ``X`` float32 (n, 2), ``y`` int64 cluster index, in random order.

    >>> X, y = blobs(90, centers=[[0.0, 0.0], [5.0, 5.0], [-5.0, 5.0]], std=0.5, rng=0)
    >>> np.bincount(y).tolist()
    [30, 30, 30]
    """
    n = _n(n, "blobs")
    check_number(std, "std", "blobs", low=0)
    gen = _random.get_rng(rng)
    if isinstance(centers, (int, np.integer)):
        check_number(centers, "centers", "blobs", low=1, integer=True)
        mu = gen.uniform(box[0], box[1], size=(int(centers), 2))
    else:
        mu = np.asarray(centers, dtype=np.float64)
        if mu.ndim != 2 or mu.shape[1] != 2 or len(mu) == 0:
            raise ConfigError(f"blobs: centers must be a count or a (k, 2) array; got shape "
                              f"{mu.shape}")
    k = len(mu)
    y = np.arange(n, dtype=np.int64) % k
    y.sort()
    X = mu[y] + std * gen.standard_normal((n, 2))
    perm = gen.permutation(n)
    return X[perm].astype(np.float32), y[perm]


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2,
            rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class (the classic "spiral" toy set).

    Arm ``k`` has points at radius ``r`` from 0 to 1 and angle ``4(k + r) + noise·N(0, 1)``
    (radians), so each arm makes two thirds of a turn and the arms wind round each other; no
    linear model separates them.

    Args:
        n: total number of points, split as evenly as possible over the arms.
        classes: number of arms (classes).
        noise: standard deviation of the angular noise.
        rng: generator, seed, or None for the global generator.

    Returns:
        ``X`` float32 (n, 2) inside the unit disc, ``y`` int64 arm index, in random order.

    >>> X, y = spirals(300, classes=3, rng=0)
    >>> X.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    n, noise = _n(n, "spirals"), _noise(noise, "spirals")
    classes = check_number(classes, "classes", "spirals", low=2, integer=True)
    gen = _random.get_rng(rng)
    sizes = [n // classes + (k < n % classes) for k in range(classes)]
    r = np.concatenate([np.linspace(0.0, 1.0, m) for m in sizes])
    y = np.repeat(np.arange(classes, dtype=np.int64), sizes)
    t = 4.0 * (y + r) + noise * gen.standard_normal(n)
    X = r[:, None] * np.stack([np.sin(t), np.cos(t)], 1)
    perm = gen.permutation(n)
    return X[perm].astype(np.float32), y[perm]


def regression(n: int = 200, noise: float = 0.1, n_features: int = 1,
               rng: np.random.Generator | int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A smooth non-linear regression target for the notes' quadratic loss (section 3).

    Inputs are uniform on [-2, 2]^n_features; the target is
    ``f(x) = Σ_d sin(2·x_d) + 0.3·x_d²`` plus Gaussian noise of standard deviation ``noise``:
    a wiggle that a line cannot follow but one hidden layer fits.

    Args:
        n: number of points.
        noise: standard deviation of the target noise.
        n_features: input dimension.
        rng: generator, seed, or None for the global generator.

    Returns:
        ``X`` float32 (n, n_features); ``y`` float32 (n, 1), one column per output node,
        the shape of a network's identity output.

    >>> X, y = regression(5, noise=0.0, rng=0)
    >>> X.shape, y.shape, y.dtype.name
    ((5, 1), (5, 1), 'float32')
    """
    n, noise = _n(n, "regression"), _noise(noise, "regression")
    n_features = _n(n_features, "regression (n_features)")
    gen = _random.get_rng(rng)
    X = gen.uniform(-2.0, 2.0, size=(n, n_features))
    f = (np.sin(2.0 * X) + 0.3 * X**2).sum(axis=1, keepdims=True)
    y = f + noise * gen.standard_normal((n, 1))
    return X.astype(np.float32), y.astype(np.float32)


def _jitter_shuffle(X: np.ndarray, y: np.ndarray, noise: float,
                    gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if noise > 0:
        X = X + noise * gen.standard_normal(X.shape)
    perm = gen.permutation(len(X))
    return X[perm].astype(np.float32), y[perm]
