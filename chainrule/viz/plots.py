"""Plots with matplotlib (the ``plot`` extra), drawn off-screen and saved atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..optional import require


def _pyplot() -> Any:
    mpl = require("matplotlib", "plot", "plots")
    mpl.use("Agg")  # files only: never needs a display
    return require("matplotlib.pyplot", "plot", "plots")


def _save(fig: Any, path: str | Path) -> Path:
    from ..io import atomic_write
    path = Path(path)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
    require("matplotlib.pyplot", "plot", "plots").close(fig)
    return path


def plot_history(histories: Any, path: str | Path, keys: tuple[str, ...] = ("loss", "val_loss"),
                 title: str = "training") -> Path:
    """Loss (and metric) curves per epoch; ``histories`` is a History or a name → History map.

    Returns:
        The path written.
    """
    plt = _pyplot()
    if not isinstance(histories, Mapping):
        histories = {"": histories}
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, h in histories.items():
        for key in keys:
            values = h[key] if key in h else []
            if values:
                ax.plot(h["epoch"], values, label=f"{name} {key}".strip())
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_lr_find(result: Any, path: str | Path,
                 title: str = "learning-rate range test") -> Path:
    """Loss against learning rate (log scale) from :func:`chainrule.train.lr_find`: each
    step's loss, their moving average, and the suggested rate (steepest fall) marked.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.lrs, result.losses, alpha=0.3, label="loss per step")
    ax.plot(result.lrs, result.smoothed, label="smoothed")
    if result.suggestion is not None:
        ax.axvline(result.suggestion, color="tab:red", linestyle="--",
                   label=f"steepest fall: lr {result.suggestion:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    finite = [v for v in result.smoothed if np.isfinite(v)]
    if finite:  # the diverging tail would squash the interesting part
        lo, hi = min(finite), min(max(finite), 4 * min(finite) + 1e-12)
        ax.set_ylim(lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                           y: np.ndarray, path: str | Path, title: str = "decision boundary",
                           resolution: int = 200, line: tuple[float, float, float] | None = None,
                           labels: tuple[str, str] = ("x1", "x2"),
                           colors: Sequence[str] | None = None) -> Path:
    """The regions a 2-D classifier assigns to each class, with the points on top;
    ``line=(a, b, c)`` also draws a·x1 + b·x2 + c = 0.

    ``colors[k]`` colours class k (any matplotlib colour); by default class 0 is red and
    class 1 blue, as in the notes' figures (the model gives the probability of "blue",
    P(Y = 1 | x)), and further classes take the next colours of matplotlib's tab10."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    X, y = np.asarray(X), np.asarray(y)
    pad = 0.05 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    g1, g2 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.column_stack([g1.ravel(), g2.ravel()]).astype(np.float32)
    z = np.asarray(predict(grid)).reshape(g1.shape)
    n_classes = int(max(z.max(), y.max(), 1)) + 1
    palette = list(colors) if colors is not None else (
        ["tab:red", "tab:blue"] + [f"C{k}" for k in range(1, 10) if k != 3])
    if len(palette) < n_classes:
        raise ConfigError(f"Invalid colors: {len(palette)} colour(s) (expected one per class, "
                          f"{n_classes}) in plot_decision_boundary")
    cmap = ListedColormap(palette[:n_classes])
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(g1, g2, z, alpha=0.25, cmap=cmap, levels=np.arange(n_classes + 1) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5,
               edgecolors="k", s=18)
    if line is not None:
        a, b, c = line
        xs = np.array([lo[0], hi[0]])
        ax.plot(xs, -(a * xs + c) / b, "k--",
                label=f"{a:g}·{labels[0]} {'+' if b >= 0 else '−'} {abs(b):g}·{labels[1]} "
                      f"{'+' if c >= 0 else '−'} {abs(c):g} = 0")
        ax.legend(loc="lower right")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    return _save(fig, path)


def plot_weights(weight: np.ndarray, path: str | Path, shape: tuple[int, int] = (8, 8),
                 title: str = "hidden units' weights", max_units: int = 32) -> Path:
    """Each hidden unit's incoming weights drawn as an image (the notes' learned features)."""
    plt = _pyplot()
    w = np.asarray(weight)[:max_units]
    cols = min(8, len(w))
    rows = -(-len(w) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.2 * cols, 1.2 * rows + 0.4), squeeze=False)
    lim = float(np.abs(w).max()) or 1.0
    for ax in axes.ravel():
        ax.axis("off")
    for ax, unit in zip(axes.ravel(), w):
        ax.imshow(unit.reshape(shape), cmap="RdBu", vmin=-lim, vmax=lim)
    fig.suptitle(title)
    return _save(fig, path)


def plot_training(out: str | Path, history: Any, saved: Any, X: np.ndarray, y: np.ndarray,
                  features: list[str], name: str) -> list[Path]:
    """The pictures of a training run, written into folder ``out``.

    Loss curves; for a classifier also accuracy curves and, with two features, its decision
    boundary; for a network with a hidden layer on the 8×8 digit pixels, each first-layer
    unit's weights as an image (what ``chainrule train`` draws).

    Args:
        out: the folder.
        history: the :class:`~chainrule.train.History` of the run.
        saved: the trained :class:`~chainrule.models.SavedModel`.
        X: the raw feature rows; y: their class indices (classifiers) or values.
        features: the feature names (axis labels; the digits are recognised by them).
        name: the data's name, for the titles.

    Returns:
        The files written.

    Raises:
        MissingDependency: matplotlib (the ``plot`` extra) is not installed.
    """
    from ..data.sources import DIGIT_PIXELS
    out = Path(out)
    files = [plot_history(history, out / "loss_curve.png", keys=("loss", "val_loss"),
                          title=f"loss on {name}")]
    if saved.head.is_classifier:
        files.append(plot_history(history, out / "accuracy_curve.png",
                                  keys=("accuracy", "val_accuracy"), title=f"accuracy on {name}"))
        if X.shape[1] == 2:
            files.append(plot_decision_boundary(
                lambda G: saved.predict_indices(G.astype(np.float64)), X, y,
                out / "decision_boundary.png", title=f"decision boundary on {name}",
                labels=(features[0], features[1])))
    if len(getattr(saved.model, "sizes", ())) > 2 and features == DIGIT_PIXELS:
        files.append(plot_weights(saved.model.layers[0].weight.data, out / "hidden_units.png",
                                  title="first hidden layer: each unit's weights"))
    return files
