"""The data behind the notes' pictures, computed by chainrule and tested without matplotlib.

- :func:`activation_curves`: each activation and its derivative, the derivative by autograd
  (notes §2, activations).
- :func:`sigmoid_loss_surfaces`: the quadratic and the cross-entropy loss of one sigmoid unit
  over its weight and bias (Glorot and Bengio 2010, figure 5; notes §3, objectives), with
  their gradients.
- :func:`perceptron_trick_frames`: the perceptron trick point by point, as
  :class:`~chainrule.models.Perceptron` applies it (notes §1, the perceptron trick).
- :func:`error_count_vs_logloss`: the number of misclassified points against the log-loss as
  the line moves (notes §3, "why not count errors").

The pictures themselves are in :mod:`chainrule.viz.notes_plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, ShapeError
from ..models import Perceptron
from ..models.heads import get_head
from ..nn import HIDDEN_ACTIVATIONS, get_activation
from ..tensor import Tensor
from ..validate import check_number

__all__ = ["activation_curves", "LossSurfaces", "sigmoid_loss_surfaces", "TrickFrame",
           "perceptron_trick_frames", "ErrorSweep", "error_count_vs_logloss"]


def activation_curves(names: Sequence[str] | None = None, x: Any = None
                      ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each activation f and its derivative f' on ``x``, f' by reverse-mode autograd (one
    backward of Σ f(x_i): the activations act element by element, so x.grad holds f'(x_i)).

    Args:
        names: activation names (:func:`chainrule.nn.get_activation`'s); by default every
            element-wise one a hidden layer can use (:data:`chainrule.nn.HIDDEN_ACTIVATIONS`).
            Softmax is not element-wise: its derivative is a matrix, not a curve.
        x: the inputs (default 401 points on [−4, 4]).

    Returns:
        name → ``(x, f(x), f'(x))`` as float64 arrays.

    >>> x, y, dy = activation_curves(["sigmoid"], [0.0])["sigmoid"]
    >>> float(y[0]), float(dy[0])      # σ(0) = ½, σ'(0) = σ(0)(1 − σ(0)) = ¼
    (0.5, 0.25)
    """
    xs = np.linspace(-4.0, 4.0, 401) if x is None else np.asarray(x, dtype=np.float64)
    elementwise = {type(get_activation(n)) for n in (*HIDDEN_ACTIVATIONS, "identity")}
    curves = {}
    for name in HIDDEN_ACTIVATIONS if names is None else names:
        act = get_activation(name)
        if type(act) not in elementwise:
            raise ConfigError(f"Invalid activation: {name!r} (expected an element-wise one: "
                              f"{', '.join(HIDDEN_ACTIVATIONS)}, identity) in activation_curves")
        for p in act.parameters():  # PReLU's slope: a float64 copy, so the curve is exact
            p.data = p.data.astype(np.float64)
        t = Tensor(xs.copy(), requires_grad=True)
        y = act(t)
        y.sum().backward()
        curves[name] = (xs, np.asarray(y.data, np.float64), np.asarray(t.grad, np.float64))
    return curves


@dataclass
class LossSurfaces:
    """Both losses of one sigmoid unit ŷ = σ(w·x + b) on a (w, b) grid.

    Attributes:
        w, b: the grid (``np.meshgrid``, shape (n, n); w along columns).
        quadratic: the mean of (ŷ − y)² at each grid point.
        cross_entropy: the mean of −y ln ŷ − (1 − y) ln(1 − ŷ) at each grid point.
        grad_quadratic, grad_cross_entropy: their gradients, shape (n, n, 2) as (∂/∂w, ∂/∂b).
    """

    w: np.ndarray
    b: np.ndarray
    quadratic: np.ndarray
    cross_entropy: np.ndarray
    grad_quadratic: np.ndarray
    grad_cross_entropy: np.ndarray


def sigmoid_loss_surfaces(x: Any, y: Any, w_range: tuple[float, float] = (-6.0, 6.0),
                          b_range: tuple[float, float] = (-6.0, 6.0), n: int = 61) -> LossSurfaces:
    """The quadratic and the cross-entropy loss surface of one sigmoid unit (the Glorot and
    Bengio figure): where the unit saturates on the wrong side, the quadratic loss is a
    plateau (its gradient carries the factor σ'(z) ≈ 0) while the cross-entropy keeps a slope
    (∂E/∂z = ŷ − y, notes §4). Both losses come from the binary head, gradients by autograd
    over the whole grid at once.

    Args:
        x: the inputs, shape (m,) (one feature).
        y: the 0/1 targets, shape (m,).
        w_range: the grid's extent in the weight w.
        b_range: the grid's extent in the bias b.
        n: points per side.

    Returns:
        :class:`LossSurfaces`.

    >>> s = sigmoid_loss_surfaces([1.0], [1.0], (0.0, 0.0), (0.0, 0.0), n=2)
    >>> round(float(s.quadratic[0, 0]), 4), round(float(s.cross_entropy[0, 0]), 4)  # ŷ = ½
    (0.25, 0.6931)
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape or not x.size:
        raise ShapeError(f"sigmoid_loss_surfaces: x and y need one value per point; got shapes "
                         f"{x.shape} and {y.shape}")
    n = check_number(n, "n", "sigmoid_loss_surfaces", low=2, integer=True)
    W, B = np.meshgrid(np.linspace(*w_range, n), np.linspace(*b_range, n))
    head = get_head("binary")
    out = []
    for loss_of in (lambda z, Y: ((head.link(z) - Y) ** 2).mean(axis=-1),
                    lambda z, Y: head.loss("none")(z, Y).mean(axis=-1)):
        w = Tensor(W[..., None], requires_grad=True)
        b = Tensor(B[..., None], requires_grad=True)
        loss = loss_of(w * x + b, np.broadcast_to(y, W.shape + y.shape))
        loss.sum().backward()  # each grid point's loss depends on its own (w, b) only
        out += [np.asarray(loss.data), np.concatenate([w.grad, b.grad], axis=-1)]
    return LossSurfaces(W, B, out[0], out[2], out[1], out[3])


@dataclass
class TrickFrame:
    """One update of the perceptron trick.

    Attributes:
        epoch: the pass over the data (from 0).
        index: the row of the misclassified point.
        point, label: the point and its 0/1 label.
        before, after: the line (w1, w2, b) before and after the update.
        errors_before, errors_after: misclassified points of the whole set with each line.
    """

    epoch: int
    index: int
    point: np.ndarray
    label: int
    before: np.ndarray
    after: np.ndarray
    errors_before: int
    errors_after: int


def _line(p: Perceptron) -> np.ndarray:
    return np.concatenate([p.weight.data, p.bias.data]).astype(np.float64)


def perceptron_trick_frames(X: Any, y: Any, lr: float = 0.1, epochs: int = 10, rng: Any = 0,
                            model: Perceptron | None = None) -> list[TrickFrame]:
    """The perceptron trick step by step: one frame per update, i.e. per misclassified point,
    as :meth:`chainrule.models.Perceptron.fit` moves the line towards it (w ← w ± αx,
    b ← b ± α). The points are visited in order, each epoch, until none is misclassified.

    Args:
        X: the points, shape (n, 2); y: their 0/1 labels.
        lr: α.
        epochs: the most passes over the data.
        rng: seed for the starting line (when ``model`` is None).
        model: a Perceptron to train (its line is the start; it is updated in place).

    Returns:
        The frames, in order.
    """
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y).reshape(-1)
    epochs = check_number(epochs, "epochs", "perceptron_trick_frames", low=1, integer=True)
    p = model if model is not None else Perceptron(X.shape[1] if X.ndim == 2 else 2, rng=rng)
    frames = []
    for epoch in range(epochs):
        updates = 0
        for i in range(len(X)):
            before = _line(p)
            errors = int((p.predict(X) != y).sum())
            # the model's own rule on one point: it updates only if the point is misclassified
            p.fit(X[i:i + 1], y[i:i + 1], lr=lr, epochs=1, shuffle=False)
            if p.errors_[-1]:
                updates += 1
                frames.append(TrickFrame(epoch, i, X[i].astype(np.float64), int(y[i]), before,
                                         _line(p), errors, int((p.predict(X) != y).sum())))
        if not updates:
            break
    return frames


@dataclass
class ErrorSweep:
    """The two errors along a sequence of lines.

    Attributes:
        t: the sweep parameter of each line.
        lines: the lines (w..., b), shape (k, d + 1).
        error_count: misclassified points for each line (the perceptron's step rule).
        log_loss: the mean binary cross-entropy of σ(w·x + b) for each line.
        log_loss_slope: d(log-loss)/dt by autograd; the error count's derivative is 0 wherever
            it is defined (a comparison cuts the graph), so it has no slope to follow.
    """

    t: np.ndarray
    lines: np.ndarray
    error_count: np.ndarray
    log_loss: np.ndarray
    log_loss_slope: np.ndarray


def error_count_vs_logloss(X: Any, y: Any, start: Sequence[float], end: Sequence[float],
                           n: int = 101) -> ErrorSweep:
    """Move the line from ``start`` to ``end`` (each ``(w..., b)``) in ``n`` steps and
    measure the discrete error count and the continuous log-loss of each line (notes §3:
    the count is flat almost everywhere, so gradient descent needs the log-loss).

    >>> s = error_count_vs_logloss([[1.0], [-1.0]], [1, 0], (-1.0, 0.0), (1.0, 0.0), n=3)
    >>> s.error_count.tolist()   # w = −1: both wrong; w = 0: score 0 ≥ 0 says 1 for both
    [2, 1, 0]
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    a, b = np.asarray(start, np.float64), np.asarray(end, np.float64)
    if X.ndim != 2 or a.shape != (X.shape[1] + 1,) or b.shape != a.shape or len(y) != len(X):
        raise ShapeError(f"error_count_vs_logloss: X of shape (n, d), y of shape (n,) and lines "
                         f"of d + 1 numbers (w..., b); got X {X.shape}, y {y.shape}, start "
                         f"{a.shape}, end {b.shape}")
    n = check_number(n, "n", "error_count_vs_logloss", low=2, integer=True)
    if not np.isin(y, (0, 1)).all():
        raise ConfigError("Invalid y: labels other than 0 and 1 (expected 0/1 labels) in "
                          "error_count_vs_logloss")
    t = Tensor(np.linspace(0.0, 1.0, n), requires_grad=True)
    lines = a + t[:, None] * (b - a)                       # (n, d + 1)
    z = (lines[:, None, :-1] * X).sum(axis=-1) + lines[:, -1:]  # (n, m) scores
    head = get_head("binary")
    loss = head.loss("none")(z, np.broadcast_to(y, z.shape)).mean(axis=-1)
    loss.sum().backward()                                  # line k depends on t_k only
    count = (head.predict(z.data.reshape(-1)).reshape(z.shape) != y).sum(axis=1)
    return ErrorSweep(t.data.copy(), np.asarray(lines.data), count, np.asarray(loss.data),
                      np.asarray(t.grad))
