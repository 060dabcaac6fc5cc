"""Optimizers on 2-D surfaces (chainrule.viz.surfaces): the recorded paths are the optimizers'
real updates, and the classic behaviours show on Rosenbrock and the saddle."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import ConfigError
from chainrule.optim import LBFGS, SGD, Adagrad, Adam, RMSprop
from chainrule.viz.surfaces import SURFACES, optimize_many, optimize_on_surface, surface_grid


def test_surfaces_are_the_formulas_and_their_minima():
    p = np.array([0.5, -2.0])
    from chainrule import Tensor
    got = {name: float(s(Tensor(p)).item()) for name, s in SURFACES.items()}
    assert got == pytest.approx({"bowl": 4.25, "elongated_bowl": 0.025 + 8.0,
                                 "rosenbrock": 0.25 + 100 * 2.25 ** 2,
                                 "saddle": 0.25 + 4.0 - 2.0})
    for s in SURFACES.values():
        values = [float(s(Tensor(np.array(m))).item()) for m in s.minima]
        X, Y, Z = surface_grid(s, n=101)
        assert min(values) <= Z.min() + 1e-12  # no grid point lies below the minimum


def test_sgd_path_is_gradient_descent_by_hand():
    # elongated bowl f = 0.1 x² + 2 y², ∇f = (0.2 x, 4 y); lr 0.1: x ← 0.98 x, y ← 0.6 y
    path = optimize_on_surface("elongated_bowl", lambda ps: SGD(ps, lr=0.1), start=(-4.0, 1.5),
                               steps=2)
    np.testing.assert_allclose(path.points, [[-4.0, 1.5], [-3.92, 0.9], [-3.8416, 0.54]])
    np.testing.assert_allclose(path.grads, [[-0.8, 6.0], [-0.784, 3.6]])
    np.testing.assert_allclose(path.losses, [1.6 + 4.5, 0.1 * 3.92 ** 2 + 2 * 0.81,
                                             0.1 * 3.8416 ** 2 + 2 * 0.54 ** 2])
    assert path.states == [{}, {}] and path.label == "SGD"


def test_momentum_path_and_velocity_by_hand():
    # bowl, ∇f = 2p, p0 = (2, -1), lr 0.1, momentum 0.9 (PyTorch: v ← 0.9 v + g, p ← p − lr v)
    # step 1: g = (4, -2), v = (4, -2), p = (1.6, -0.8)
    # step 2: g = (3.2, -1.6), v = 0.9·(4, -2) + g = (6.8, -3.4), p = (0.92, -0.46)
    path = optimize_on_surface("bowl", lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                               start=(2.0, -1.0), steps=2)
    np.testing.assert_allclose(path.points, [[2, -1], [1.6, -0.8], [0.92, -0.46]])
    np.testing.assert_allclose(path.state("momentum_buffer"), [[4, -2], [6.8, -3.4]])


def test_adam_path_and_moments_by_hand():
    # bowl, p0 = (1, -3), lr 0.1: ∇f = (2, -6); m = 0.1 g, v = 0.001 g²; bias-corrected
    # m̂ = g, v̂ = g², so the first step is −lr·g/(|g| + eps) = −0.1·sign(g) (up to eps)
    path = optimize_on_surface("bowl", lambda ps: Adam(ps, lr=0.1), start=(1.0, -3.0), steps=2)
    np.testing.assert_allclose(path.state("exp_avg")[0], [0.2, -0.6])
    np.testing.assert_allclose(path.state("exp_avg_sq")[0], [0.004, 0.036])
    np.testing.assert_allclose(path.points[1], [0.9, -2.9], atol=1e-7)
    # step 2: g = (1.8, -5.8); m = 0.9 m + 0.1 g; v = 0.999 v + 0.001 g²; p −= lr m̂/(√v̂ + eps)
    g = np.array([1.8, -5.8])
    m = 0.9 * np.array([0.2, -0.6]) + 0.1 * g
    v = 0.999 * np.array([0.004, 0.036]) + 0.001 * g * g
    step = 0.1 * (m / (1 - 0.9 ** 2)) / (np.sqrt(v / (1 - 0.999 ** 2)) + 1e-8)
    np.testing.assert_allclose(path.points[2], path.points[1] - step, rtol=1e-10)
    np.testing.assert_allclose(path.state("exp_avg")[1], m)
    assert [s["step"] for s in path.states] == [1, 2]


@pytest.mark.parametrize("make", [lambda ps: RMSprop(ps, lr=0.05), lambda ps: Adagrad(ps, lr=0.5),
                                  lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True)])
def test_every_recorded_step_is_the_optimizers_own_update(make):
    """Replaying the recorded gradients through a fresh optimizer gives the same path."""
    from chainrule import Tensor
    path = optimize_on_surface("elongated_bowl", make, steps=6)
    p = Tensor(path.points[0].copy(), requires_grad=True)
    opt = make([p])
    for k, g in enumerate(path.grads):
        p.grad = g.copy()
        opt.step()
        np.testing.assert_allclose(p.data, path.points[k + 1], rtol=1e-12)


def test_rosenbrock_momentum_and_adam_reach_the_minimum_where_sgd_does_not():
    steps, near = 800, ((1.0, 1.0), 0.1)
    paths = optimize_many("rosenbrock", {
        "SGD": lambda ps: SGD(ps, lr=1e-3),
        "momentum": lambda ps: SGD(ps, lr=1e-3, momentum=0.9),
        "Nesterov": lambda ps: SGD(ps, lr=1e-3, momentum=0.9, nesterov=True),
        "Adam": lambda ps: Adam(ps, lr=0.1)}, steps=steps)
    assert paths["SGD"].first_step_within(*near) is None  # still crawling along the valley
    assert paths["SGD"].distance((1, 1))[-1] > 0.5
    for name in ("momentum", "Nesterov", "Adam"):
        assert paths[name].first_step_within(*near) is not None, name
        assert paths[name].distance((1, 1))[-1] < 0.05, name
    # and plain SGD at Adam's learning rate does not converge at all: it blows up
    with np.errstate(all="ignore"):
        fast = optimize_on_surface("rosenbrock", lambda ps: SGD(ps, lr=0.1), steps=20)
    assert not np.isfinite(fast.points[-1]).all() or fast.losses[-1] > 1e6


def test_lbfgs_runs_with_its_closure():
    path = optimize_on_surface("rosenbrock", lambda ps: LBFGS(ps), steps=20)
    assert path.distance((1, 1))[-1] < 1e-3 and path.grads.shape == (20, 2)


def test_saddle_gradient_descent_stops_on_the_ridge_noise_and_momentum_get_off_it():
    """On the ridge (y = 0) the gradient has no y component, so exact gradient descent
    converges to the saddle point; gradient noise (as from mini-batches) pushes it off, and
    from a tiny offset momentum leaves the saddle far sooner than plain gradient descent."""
    def reached(path):
        return min((s for s in (path.first_step_within((0, 1), 0.1),
                                path.first_step_within((0, -1), 0.1)) if s is not None),
                   default=None)
    sgd = lambda ps: SGD(ps, lr=0.05)  # noqa: E731
    mom = lambda ps: SGD(ps, lr=0.05, momentum=0.9)  # noqa: E731
    for make in (sgd, mom):
        stuck = optimize_on_surface("saddle", make, start=(1.5, 0.0), steps=300)
        assert reached(stuck) is None and np.abs(stuck.points[-1]).max() < 1e-6
        noisy = optimize_on_surface("saddle", make, start=(1.5, 0.0), steps=300, noise=0.1, rng=0)
        assert reached(noisy) is not None
    slow = reached(optimize_on_surface("saddle", sgd, start=(1.5, 1e-6), steps=400))
    fast = reached(optimize_on_surface("saddle", mom, start=(1.5, 1e-6), steps=400))
    assert fast is not None and slow is not None and 2 * fast < slow


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ConfigError, match="surface"):
        optimize_on_surface("sphere", lambda ps: SGD(ps, lr=0.1))
    with pytest.raises(ConfigError, match="start"):
        optimize_on_surface("bowl", lambda ps: SGD(ps, lr=0.1), start=(1.0, 2.0, 3.0))
    path = optimize_on_surface("bowl", lambda ps: SGD(ps, lr=0.1), steps=1)
    with pytest.raises(ConfigError, match="exp_avg"):
        path.state("exp_avg")
