"""The notes' classic models: the perceptron, logistic regression, and the feedforward network."""

from .logistic import LogisticRegression
from .mlp import MLP
from .perceptron import Perceptron
from .saved import SavedModel

__all__ = ["Perceptron", "LogisticRegression", "MLP", "SavedModel"]
