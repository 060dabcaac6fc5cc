"""Pictures: training curves, decision boundaries, learned features (matplotlib, optional),
and computation graphs as Graphviz DOT (no dependency)."""

from .graph import render, to_dot
from .plots import plot_decision_boundary, plot_history, plot_lr_find, plot_training, plot_weights

__all__ = ["plot_history", "plot_decision_boundary", "plot_weights", "plot_training", "plot_lr_find",
           "to_dot",
           "render"]
