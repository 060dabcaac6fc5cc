"""Pictures: training curves, decision boundaries, learned features, the notes' figures
(matplotlib, optional), their data (no dependency: optimizers on surfaces, loss surfaces,
activations, the perceptron trick), and computation graphs with values and adjoints as
Graphviz DOT and SVG (no dependency)."""

from .figures import (
    ErrorSweep, LossSurfaces, TrickFrame, activation_curves, error_count_vs_logloss,
    perceptron_trick_frames, sigmoid_loss_surfaces,
)
from .graph import op_label, render, to_dot, to_svg
from .notes_plots import (
    plot_activations, plot_error_vs_logloss, plot_loss_surfaces, plot_perceptron_trick,
    plot_surface_paths,
)
from .plots import plot_decision_boundary, plot_history, plot_lr_find, plot_training, plot_weights
from .surfaces import (
    SURFACES, Surface, SurfacePath, optimize_many, optimize_on_surface, surface_grid,
)

__all__ = ["plot_history", "plot_decision_boundary", "plot_weights", "plot_training", "plot_lr_find",
           "to_dot", "to_svg", "op_label", "render",
           "Surface", "SURFACES", "SurfacePath", "optimize_on_surface", "optimize_many",
           "surface_grid", "plot_surface_paths",
           "LossSurfaces", "sigmoid_loss_surfaces", "plot_loss_surfaces",
           "activation_curves", "plot_activations",
           "TrickFrame", "perceptron_trick_frames", "plot_perceptron_trick",
           "ErrorSweep", "error_count_vs_logloss", "plot_error_vs_logloss"]
