"""Pictures: training curves, decision boundaries, learned features (matplotlib, optional)."""

from .plots import plot_decision_boundary, plot_history, plot_weights

__all__ = ["plot_history", "plot_decision_boundary", "plot_weights"]
