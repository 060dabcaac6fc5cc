"""Pictures: training curves, decision boundaries, learned features (matplotlib, optional),
and computation graphs with values and adjoints as Graphviz DOT and SVG (no dependency)."""

from .graph import op_label, render, to_dot, to_svg
from .plots import plot_decision_boundary, plot_history, plot_lr_find, plot_training, plot_weights

__all__ = ["plot_history", "plot_decision_boundary", "plot_weights", "plot_training", "plot_lr_find",
           "to_dot", "to_svg", "op_label", "render"]
