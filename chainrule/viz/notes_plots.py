"""The notes' pictures drawn with matplotlib (the ``plot`` extra), from the data of
:mod:`chainrule.viz.surfaces` and :mod:`chainrule.viz.figures`; files are written atomically."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, MissingDependency
from ..optional import require
from .figures import ErrorSweep, LossSurfaces, TrickFrame
from .plots import _pyplot, _save
from .surfaces import SURFACES, SurfacePath, surface_grid

__all__ = ["plot_surface_paths", "plot_loss_surfaces", "plot_activations",
           "plot_perceptron_trick", "plot_error_vs_logloss"]

# the notes' colours: class 0 red, class 1 blue (plot_decision_boundary's default too)
_CLASS_COLORS = ("tab:red", "tab:blue")


def plot_surface_paths(paths: Mapping[str, SurfacePath] | Sequence[SurfacePath],
                       path: str | Path, title: str | None = None, n: int = 200) -> Path:
    """Contours of the surface with each optimizer's path, and the loss per step beside them.

    Args:
        paths: :class:`~chainrule.viz.surfaces.SurfacePath` objects (or a label → path map,
            as :func:`~chainrule.viz.surfaces.optimize_many` returns), all on one surface.
        path: the image file to write.
        title: the figure's title (the surface's formula by default).
        n: grid points per side for the contours.

    Returns:
        The path written.

    Raises:
        ConfigError: no paths, or paths on different surfaces.
        MissingDependency: matplotlib is not installed.
    """
    runs = list(paths.values()) if isinstance(paths, Mapping) else list(paths)
    names = {r.surface for r in runs}
    if len(names) != 1:
        raise ConfigError(f"Invalid paths: surfaces {sorted(names)} (expected paths on one "
                          "surface) in plot_surface_paths")
    surf = SURFACES.get(names.pop())
    if surf is None:
        raise ConfigError(f"Invalid paths: surface {runs[0].surface!r} (expected one of "
                          f"{sorted(SURFACES)}) in plot_surface_paths")
    plt = _pyplot()
    X, Y, Z = surface_grid(surf, n)
    fig, (ax, lax) = plt.subplots(1, 2, figsize=(11, 4.6), width_ratios=(1.25, 1))
    if surf.log_levels:
        shift = Z.min()
        levels = np.geomspace(0.1, float(Z.max() - shift) + 0.1, 20) + shift - 0.1
    else:
        levels = np.linspace(float(Z.min()), float(Z.max()), 25)
    ax.contour(X, Y, Z, levels=levels, cmap="Greys", linewidths=0.6)
    for i, run in enumerate(runs):
        pts = run.points[np.isfinite(run.points).all(axis=1)]
        ax.plot(pts[:, 0], pts[:, 1], "-", color=f"C{i}", lw=1.4, label=run.label)
        ax.plot(pts[-1:, 0], pts[-1:, 1], "o", color=f"C{i}", ms=5)
        lax.plot(np.maximum(run.losses - min(surf(np.array(m)) for m in surf.minima), 1e-16),
                 color=f"C{i}", label=run.label)
    ax.plot(*runs[0].points[0], "k*", ms=10, label="start")
    for m in surf.minima:
        ax.plot(*m, "kx", ms=8)
    ax.set_xlim(*surf.xlim)
    ax.set_ylim(*surf.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or f"{surf.name.replace('_', ' ')}: f = {surf.formula}")
    ax.legend(fontsize=8, loc="best")
    lax.set_yscale("log")
    lax.set_xlabel("step")
    lax.set_ylabel("f − min f")
    lax.grid(alpha=0.3)
    lax.set_title("loss per step")
    return _save(fig, path)


def plot_loss_surfaces(s: LossSurfaces, path: str | Path,
                       title: str = "one sigmoid unit: quadratic vs cross-entropy loss") -> Path:
    """The two loss surfaces of :func:`~chainrule.viz.figures.sigmoid_loss_surfaces` side by
    side in 3-D (the Glorot and Bengio figure): the quadratic's plateaus where the unit
    saturates, the cross-entropy's slope everywhere.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig = plt.figure(figsize=(11, 4.8))
    for k, (name, z, color) in enumerate((("quadratic (MSE)", s.quadratic, "tab:red"),
                                          ("cross-entropy", s.cross_entropy, "k"))):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        ax.plot_surface(s.w, s.b, z, cmap="viridis", linewidth=0, antialiased=True, alpha=0.9)
        ax.set_xlabel("w")
        ax.set_ylabel("b")
        ax.set_zlabel("loss")
        ax.set_title(name, color=color)
    fig.suptitle(title)
    return _save(fig, path)


def plot_activations(curves: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]],
                     path: str | Path, cols: int = 4,
                     title: str = "activations (solid) and their derivatives by autograd (dashed)"
                     ) -> Path:
    """One small panel per activation: f and f' (from
    :func:`~chainrule.viz.figures.activation_curves`).

    Returns:
        The path written.
    """
    plt = _pyplot()
    cols = max(1, min(cols, len(curves)))
    rows = -(-len(curves) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols, 2.3 * rows), squeeze=False)
    for ax in axes.ravel()[len(curves):]:
        ax.axis("off")
    for ax, (name, (x, y, dy)) in zip(axes.ravel(), curves.items()):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.axvline(0, color="0.8", lw=0.8)
        ax.plot(x, y, color="tab:blue", label="f")
        ax.plot(x, dy, "--", color="tab:orange", label="f′")
        ax.set_title(name, fontsize=10)
        ax.tick_params(labelsize=7)
    axes.ravel()[0].legend(fontsize=7)
    fig.suptitle(title)
    fig.subplots_adjust(hspace=0.45, wspace=0.25)  # (tight_layout costs seconds for 16 panels)
    return _save(fig, path)


def _draw_line(ax: Any, line: np.ndarray, xs: np.ndarray, **kw: Any) -> None:
    w1, w2, b = line
    if abs(w2) > 1e-12:
        ax.plot(xs, -(w1 * xs + b) / w2, **kw)
    elif abs(w1) > 1e-12:
        ax.axvline(-b / w1, **kw)


def _draw_trick(ax: Any, frame: TrickFrame, k: int, X: np.ndarray, y: np.ndarray,
                lo: np.ndarray, hi: np.ndarray) -> None:
    ax.clear()
    for c in (0, 1):
        ax.scatter(*X[y == c].T, color=_CLASS_COLORS[c], edgecolors="k", s=28, zorder=3)
    xs = np.array([lo[0], hi[0]])
    _draw_line(ax, frame.before, xs, color="0.5", ls="--",
               label=f"before: {frame.errors_before} wrong")
    _draw_line(ax, frame.after, xs, color="k", label=f"after: {frame.errors_after} wrong")
    ax.scatter(*frame.point, s=220, facecolors="none", edgecolors="gold", linewidths=2.5,
               zorder=4, label=f"misclassified ({'blue' if frame.label else 'red'})")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_title(f"update {k + 1} (epoch {frame.epoch + 1}): "
                 f"w {'+' if frame.label else '−'}= αx, b {'+' if frame.label else '−'}= α",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")


def _trick_png(plt: Any, frame: TrickFrame, k: int, X: np.ndarray, y: np.ndarray,
               lo: np.ndarray, hi: np.ndarray, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    _draw_trick(ax, frame, k, X, y, lo, hi)
    return _save(fig, path)


def plot_perceptron_trick(frames: Sequence[TrickFrame], X: Any, y: Any, out: str | Path,
                          gif: bool = True, fps: float = 2.0) -> list[Path]:
    """The perceptron trick as pictures: one PNG per update (the line before, dashed; the
    misclassified point, circled; the line after, solid), and an animated GIF of them
    (matplotlib's PillowWriter; skipped when Pillow is missing).

    Args:
        frames: from :func:`~chainrule.viz.figures.perceptron_trick_frames`.
        X: the points.
        y: their 0/1 labels.
        out: the folder for ``trick_000.png``, ... and ``perceptron_trick.gif``.
        gif: also write the GIF.
        fps: GIF frames per second.

    Returns:
        The files written (the PNGs in order, then the GIF).
    """
    if not frames:
        raise ConfigError("Invalid frames: none (expected at least one update; were all "
                          "points already classified right?) in plot_perceptron_trick")
    plt = _pyplot()
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y).reshape(-1)
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0)) + 0.5
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    out = Path(out)
    files = [_trick_png(plt, f, k, X, y, lo, hi, out / f"trick_{k:03d}.png")
             for k, f in enumerate(frames)]
    if gif:
        try:
            require("PIL", "plot", "animated GIFs")
        except MissingDependency:
            return files
        files.append(_gif(plt, frames, X, y, lo, hi, out / "perceptron_trick.gif", fps))
    return files


def _gif(plt: Any, frames: Sequence[TrickFrame], X: np.ndarray, y: np.ndarray, lo: np.ndarray,
         hi: np.ndarray, path: Path, fps: float) -> Path:
    from matplotlib.animation import PillowWriter

    from ..io import atomic_write
    writer = PillowWriter(fps=fps)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_gif = Path(tmp) / "frames.gif"
        fig, ax = plt.subplots(figsize=(4.6, 4.6))
        with writer.saving(fig, str(tmp_gif), dpi=80):
            for k, frame in enumerate(frames):
                _draw_trick(ax, frame, k, X, y, lo, hi)
                writer.grab_frame()
        plt.close(fig)
        with atomic_write(path, "wb") as f:
            f.write(tmp_gif.read_bytes())
    return path


def plot_error_vs_logloss(sweep: ErrorSweep, path: str | Path, xlabel: str = "t (line position)",
                          title: str = "why not count errors: the count is flat, the log-loss "
                                       "has a slope") -> Path:
    """The error count (a staircase) and the log-loss (a smooth curve) along the sweep of
    :func:`~chainrule.viz.figures.error_count_vs_logloss`, on two y-axes.

    Returns:
        The path written.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.step(sweep.t, sweep.error_count, where="mid", color="tab:red", label="misclassified points")
    ax.set_ylabel("misclassified points", color="tab:red")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel)
    ax2 = ax.twinx()
    ax2.plot(sweep.t, sweep.log_loss, color="tab:blue", label="log-loss")
    ax2.set_ylabel("log-loss (mean cross-entropy)", color="tab:blue")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return _save(fig, path)
