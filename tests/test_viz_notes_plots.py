"""The notes' pictures are drawn (chainrule.viz.notes_plots): real image files, the GIF has
one frame per update, bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import ConfigError
from chainrule.optim import SGD, Adam
from chainrule.viz import (
    activation_curves, error_count_vs_logloss, optimize_many, optimize_on_surface,
    perceptron_trick_frames, plot_activations, plot_error_vs_logloss, plot_loss_surfaces,
    plot_perceptron_trick, plot_surface_paths, sigmoid_loss_surfaces,
)

PTS = np.array([[1, 1], [2, 2], [1, 3], [3, 1], [4, 4], [5, 3]], dtype=float)
LAB = np.array([0, 0, 0, 1, 1, 1])


def image(path):
    import matplotlib.image as mpimg
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    return img


def test_surface_paths_plot(tmp_path):
    pytest.importorskip("matplotlib")
    paths = optimize_many("rosenbrock", {"SGD": lambda ps: SGD(ps, lr=1e-3),
                                         "Adam": lambda ps: Adam(ps, lr=0.1)}, steps=30)
    img = image(plot_surface_paths(paths, tmp_path / "r.png", n=40))
    assert img[..., :3].std() > 0.05  # contours and paths, not a blank canvas
    image(plot_surface_paths([optimize_on_surface("saddle", lambda ps: SGD(ps, lr=0.1), steps=5)],
                             tmp_path / "s.png", n=40))
    mixed = [paths["SGD"], optimize_on_surface("bowl", lambda ps: SGD(ps, lr=0.1), steps=2)]
    with pytest.raises(ConfigError, match="one surface"):
        plot_surface_paths(mixed, tmp_path / "x.png")


def test_loss_surfaces_activations_and_error_sweep_plots(tmp_path):
    pytest.importorskip("matplotlib")
    s = sigmoid_loss_surfaces([-2.0, -1.0, 1.0, 2.0], [0.0, 0.0, 1.0, 1.0], n=15)
    image(plot_loss_surfaces(s, tmp_path / "loss.png"))
    image(plot_activations(activation_curves(["sigmoid", "relu", "tanh"]), tmp_path / "act.png"))
    sweep = error_count_vs_logloss(PTS, LAB, (1.0, 1.0, -12.0), (1.0, 1.0, 0.0), n=30)
    image(plot_error_vs_logloss(sweep, tmp_path / "err.png"))


def test_perceptron_trick_frames_and_gif(tmp_path):
    pytest.importorskip("matplotlib")
    PIL = pytest.importorskip("PIL.Image")
    frames = perceptron_trick_frames(PTS, LAB, lr=0.5, epochs=3, rng=0)
    files = plot_perceptron_trick(frames, PTS, LAB, tmp_path / "trick", fps=4)
    assert [f.name for f in files] == [f"trick_{k:03d}.png" for k in range(len(frames))] + [
        "perceptron_trick.gif"]
    image(files[0])
    with PIL.open(files[-1]) as gif:
        assert gif.n_frames == len(frames)
    assert sorted(p.name for p in (tmp_path / "trick").iterdir()) == sorted(f.name for f in files)
    with pytest.raises(ConfigError, match="at least one update"):
        plot_perceptron_trick([], PTS, LAB, tmp_path / "none")
