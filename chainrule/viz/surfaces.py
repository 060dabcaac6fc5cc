"""Optimizers on 2-D surfaces: the optimizer classes that train networks, run on a point.

Each surface is a function of a Tensor ``p`` of shape ``(2,)`` written with chainrule ops, so
autograd gives its gradient; the same function evaluated on a ``(2, H, W)`` grid gives the
contours. :func:`optimize_on_surface` runs any :mod:`chainrule.optim` optimizer on the point
and records, step by step, the path, the losses, the gradients and the optimizer's own state
(velocity, first and second moments, read from its ``state_dict``): data first, pictures in
:func:`chainrule.viz.plot_surface_paths`.

>>> from chainrule.optim import SGD
>>> path = optimize_on_surface("bowl", lambda ps: SGD(ps, lr=0.25), start=(2.0, -1.0), steps=2)
>>> path.points.tolist()        # ∇(x² + y²) = 2p: each step halves the point
[[2.0, -1.0], [1.0, -0.5], [0.5, -0.25]]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..errors import ConfigError
from ..random import get_rng
from ..tensor import Tensor
from ..validate import check_choice, check_number

__all__ = ["Surface", "SURFACES", "SurfacePath", "optimize_on_surface", "optimize_many",
           "surface_grid"]


@dataclass(frozen=True)
class Surface:
    """A 2-D function to optimize, with where to look at it.

    Attributes:
        name: its key in :data:`SURFACES`.
        formula: the function in words (for titles).
        f: ``f(p)`` for a Tensor ``p`` of shape ``(2, ...)`` (a point or a grid of points),
            written with chainrule ops.
        minima: the global minima, as (x, y) pairs.
        start: a starting point that shows the surface's difficulty.
        xlim, ylim: the window to draw.
        log_levels: draw contours on a log scale (Rosenbrock's valley needs it).
    """

    name: str
    formula: str
    f: Callable[[Any], Any]
    minima: tuple[tuple[float, float], ...]
    start: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    log_levels: bool = False

    def __call__(self, p: Any) -> Any:
        return self.f(p)


def _bowl(p: Any) -> Any:
    return p[0] * p[0] + p[1] * p[1]


def _elongated(p: Any) -> Any:
    return 0.1 * p[0] * p[0] + 2.0 * p[1] * p[1]


def _rosenbrock(p: Any) -> Any:
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] * p[0]) ** 2


def _saddle(p: Any) -> Any:
    y2 = p[1] * p[1]
    return p[0] * p[0] + 0.25 * y2 * y2 - 0.5 * y2


#: The surfaces by name.
SURFACES: dict[str, Surface] = {s.name: s for s in (
    Surface("bowl", "x² + y²", _bowl, ((0.0, 0.0),), (-4.0, 3.0), (-5.0, 5.0), (-5.0, 5.0)),
    Surface("elongated_bowl", "0.1·x² + 2·y²", _elongated, ((0.0, 0.0),), (-4.5, 1.5),
            (-5.0, 5.0), (-2.5, 2.5)),
    Surface("rosenbrock", "(1 − x)² + 100·(y − x²)²", _rosenbrock, ((1.0, 1.0),), (-1.5, 2.0),
            (-2.0, 2.0), (-1.0, 3.0), log_levels=True),
    # A saddle at the origin between two minima: bounded below, so every path can settle.
    Surface("saddle", "x² + y⁴/4 − y²/2", _saddle, ((0.0, -1.0), (0.0, 1.0)), (1.5, 0.0),
            (-2.0, 2.0), (-1.6, 1.6)),
)}


def _surface(surface: str | Surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    return SURFACES[check_choice(surface, "surface", "optimize_on_surface", tuple(SURFACES))]


@dataclass
class SurfacePath:
    """What one optimizer did on one surface.

    Attributes:
        surface: the surface's name.
        label: the optimizer's label (its class name unless given).
        points: the parameter at each step, shape ``(steps + 1, 2)`` (the start first).
        losses: f at each point, shape ``(steps + 1,)``.
        grads: the gradient each step used (noise included), shape ``(steps, 2)``.
        states: the optimizer's state after each step, one dict per step (name → a copy of
            its array or number, e.g. ``momentum_buffer``, ``exp_avg``, ``exp_avg_sq``).
    """

    surface: str
    label: str
    points: np.ndarray
    losses: np.ndarray
    grads: np.ndarray
    states: list[dict[str, Any]] = field(default_factory=list)

    def state(self, key: str) -> np.ndarray:
        """One state entry over the steps, stacked: shape ``(steps, ...)``.

        Raises:
            ConfigError: the optimizer keeps no such entry.
        """
        keys = sorted({k for s in self.states for k in s})
        if key not in keys:
            raise ConfigError(f"Invalid state key: {key!r} (expected one of {keys}) in "
                              f"SurfacePath.state for {self.label}")
        return np.stack([np.asarray(s[key], dtype=np.float64) for s in self.states])

    def distance(self, point: Sequence[float]) -> np.ndarray:
        """The distance of each point of the path to ``point``."""
        return np.linalg.norm(self.points - np.asarray(point, dtype=np.float64), axis=1)

    def first_step_within(self, point: Sequence[float], radius: float) -> int | None:
        """The first step whose point lies within ``radius`` of ``point`` (None if none)."""
        hits = np.flatnonzero(self.distance(point) <= radius)
        return int(hits[0]) if hits.size else None


def optimize_on_surface(surface: str | Surface, optimizer_factory: Callable[[list[Tensor]], Any],
                        start: Sequence[float] | None = None, steps: int = 100,
                        noise: float = 0.0, rng: Any = None, label: str | None = None
                        ) -> SurfacePath:
    """Run an optimizer on a 2-D surface, recording everything it does.

    The parameter is one float64 Tensor of shape ``(2,)``; each step is the usual
    ``zero_grad(); f(p).backward(); step()`` of the training loop (with a closure for
    optimizers that need one, such as LBFGS). ``noise`` adds N(0, noise²) to each gradient
    component before the step, standing in for the sampling noise of mini-batch gradients.

    Args:
        surface: a name from :data:`SURFACES` or a :class:`Surface`.
        optimizer_factory: called with ``[p]``, returns the optimizer, e.g.
            ``lambda ps: Adam(ps, lr=0.1)``.
        start: the starting point (the surface's own by default).
        steps: the number of optimizer steps.
        noise: the standard deviation of the gradient noise (0: exact gradients).
        rng: seed or generator for the noise.
        label: the name in legends (the optimizer's class name by default).

    Returns:
        The :class:`SurfacePath`.

    Raises:
        ConfigError: an unknown surface, a start that is not two numbers, or invalid steps
            or noise.
    """
    surf = _surface(surface)
    steps = check_number(steps, "steps", "optimize_on_surface", low=0, integer=True)
    noise = check_number(noise, "noise", "optimize_on_surface", low=0)
    start_arr = np.asarray(surf.start if start is None else start, dtype=np.float64)
    if start_arr.shape != (2,) or not np.isfinite(start_arr).all():
        raise ConfigError(f"Invalid start: {start!r} (expected two finite numbers) in "
                          "optimize_on_surface")
    g = get_rng(rng)
    p = Tensor(start_arr.copy(), requires_grad=True)
    opt = optimizer_factory([p])
    points, losses, grads, states = [start_arr.copy()], [], [], []
    first: list[Any] = []  # the loss and gradient at the step's own point

    def closure() -> Any:
        opt.zero_grad()
        loss = surf(p)
        loss.backward()
        if noise:
            p.grad = p.grad + noise * g.standard_normal(2)
        if not first:
            first[:] = [float(loss.item()), np.array(p.grad, dtype=np.float64)]
        return loss

    for _ in range(steps):
        first.clear()
        if getattr(opt, "needs_closure", False):
            opt.step(closure)
        else:
            closure()
            opt.step()
        losses.append(first[0])
        grads.append(first[1])
        points.append(np.array(p.data, dtype=np.float64))
        states.append(dict(opt.state_dict()["state"].get(0, {})))
    with no_grad():
        losses.append(float(surf(Tensor(points[-1])).item()))
    return SurfacePath(surf.name, label or type(opt).__name__, np.array(points), np.array(losses),
                       np.array(grads).reshape(-1, 2), states)


def optimize_many(surface: str | Surface, factories: Mapping[str, Callable[[list[Tensor]], Any]],
                  start: Sequence[float] | None = None, steps: int = 100, noise: float = 0.0,
                  rng: Any = None) -> dict[str, SurfacePath]:
    """:func:`optimize_on_surface` for each labelled optimizer, from one start (the same
    noise draws for each when ``rng`` is a seed).

    >>> from chainrule.optim import SGD, Adam
    >>> paths = optimize_many("bowl", {"SGD": lambda ps: SGD(ps, lr=0.1),
    ...                                "Adam": lambda ps: Adam(ps, lr=0.1)}, steps=5)
    >>> sorted(paths), paths["Adam"].points.shape
    (['Adam', 'SGD'], (6, 2))
    """
    return {name: optimize_on_surface(surface, make, start, steps, noise, rng, label=name)
            for name, make in factories.items()}


def surface_grid(surface: str | Surface, n: int = 200, xlim: tuple[float, float] | None = None,
                 ylim: tuple[float, float] | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The surface on an ``n × n`` grid: ``(X, Y, Z)`` for a contour plot, Z from the same
    function the optimizers descend.

    >>> X, Y, Z = surface_grid("bowl", n=3, xlim=(-1, 1), ylim=(0, 2))
    >>> Z.tolist()
    [[1.0, 0.0, 1.0], [2.0, 1.0, 2.0], [5.0, 4.0, 5.0]]
    """
    surf = _surface(surface)
    n = check_number(n, "n", "surface_grid", low=2, integer=True)
    xs = np.linspace(*(xlim or surf.xlim), n)
    ys = np.linspace(*(ylim or surf.ylim), n)
    X, Y = np.meshgrid(xs, ys)
    with no_grad():
        Z = surf(Tensor(np.stack([X, Y])))
    return X, Y, np.asarray(Z.data, dtype=np.float64)
