"""One head per task: what a network's last outputs z mean, in one place.

A head owns everything that depends on the task and nothing else: how many output units the
task needs, the objective it is trained with (notes §3, objectives), the output unit that turns z into
probabilities or values (σ, softmax, identity, exp), the decision rule and its threshold, and
the ONNX operator of that output unit. Every face asks the head: :class:`~chainrule.models.MLP`,
the command line's saved models, the scikit-learn estimators, ``fit``'s accuracy and export.

- ``binary``: one logit per row; p(y = 1 | x) = σ(z); class 1 where z ≥ 0 (p ≥ ½).
- ``multiclass``: one logit per class; softmax probabilities; the argmax class.
- ``multilabel``: one logit per label, each its own binary head.
- ``regression``: identity outputs; squared error; the outputs are the predictions.
- ``poisson``: z is a log-mean; μ = e^z; half the Poisson deviance.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import functional as F
from ..backend import to_host
from ..nn import BCEWithLogitsLoss, CrossEntropyLoss, Module, MSELoss
from ..nn import functional as NF
from ..tensor import Tensor, as_tensor
from ..validate import check_choice

__all__ = ["Head", "HEADS", "TASKS", "get_head"]


class Head:
    """The task-dependent part of a model; subclasses fill in the class attributes."""

    name: ClassVar[str]
    #: Classification heads predict classes; the others predict values.
    is_classifier: ClassVar[bool] = False
    #: The decision threshold on one output column z (binary: the logit 0, i.e. p = ½).
    threshold: ClassVar[float | None] = None
    #: The ONNX operator of the output unit that turns z into probabilities or means.
    onnx_output: ClassVar[str | None] = None
    #: The output unit in scikit-learn's words (its MLP's ``out_activation_``).
    out_activation: ClassVar[str] = "identity"
    #: A model gives its one output column as a vector z of shape (rows,) (binary logits).
    vector_output: ClassVar[bool] = False

    def n_outputs(self, n_classes: int) -> int:
        """Output units for ``n_classes`` classes (labels, or targets for regression)."""
        return n_classes

    def loss(self, reduction: str = "mean") -> Module:
        """The objective as a module called ``loss(z, target)``."""
        raise NotImplementedError

    def sample_losses(self, z: Any, Y: np.ndarray) -> Any:
        """One loss per row from z and targets Y of shape (rows, outputs), summed over the
        outputs (one-hot rows for multiclass): the per-sample terms weighted fits average."""
        raise NotImplementedError

    def link(self, z: Any) -> Any:
        """The output unit: probabilities or means from z (works on Tensor and Dual)."""
        return z

    def quadratic_loss(self, z: Any, y: Any) -> Any:
        """The notes' quadratic loss on the outputs (notes §3, objectives): the mean of
        (link(z) − y*)², with y* the targets (one-hot rows for multiclass)."""
        return NF.mse_loss(self.link(z), y)

    def outputs(self, z: Any) -> np.ndarray:
        """``link(z)`` as a host array of shape (rows, units)."""
        z = as_tensor(z)
        out = to_host(self.link(z.reshape(z.shape[0], -1)).data)
        return out

    def proba(self, z: Any) -> np.ndarray:
        """Class probabilities, one column per class, from z."""
        raise AttributeError(f"a {self.name} head has no class probabilities")

    def predict(self, z: Any) -> np.ndarray:
        """Predictions from z: class numbers (classifiers) or values."""
        return to_host(as_tensor(z).data)

    def __repr__(self) -> str:
        return f"<{self.name} head>"


class BinaryHead(Head):
    name = "binary"
    is_classifier = True
    threshold = 0.0
    onnx_output = "Sigmoid"
    out_activation = "logistic"
    vector_output = True

    def n_outputs(self, n_classes: int) -> int:
        return 1

    def loss(self, reduction: str = "mean") -> Module:
        return BCEWithLogitsLoss(reduction=reduction)

    def sample_losses(self, z: Any, Y: np.ndarray) -> Any:
        return NF.binary_cross_entropy_with_logits(z, Y, reduction="none").sum(axis=1)

    def link(self, z: Any) -> Any:
        return F.sigmoid(z)

    def proba(self, z: Any) -> np.ndarray:
        p1 = self.outputs(z)[:, 0]
        return np.column_stack([1.0 - p1, p1])

    def predict(self, z: Any) -> np.ndarray:
        return (to_host(as_tensor(z).data).reshape(-1) >= self.threshold).astype(np.int64)


class MultilabelHead(BinaryHead):
    name = "multilabel"
    vector_output = False

    def n_outputs(self, n_classes: int) -> int:
        return n_classes

    def proba(self, z: Any) -> np.ndarray:
        return self.outputs(z)

    def predict(self, z: Any) -> np.ndarray:
        z = to_host(as_tensor(z).data)
        return (z.reshape(z.shape[0], -1) >= self.threshold).astype(np.int64)


class MulticlassHead(Head):
    name = "multiclass"
    is_classifier = True
    onnx_output = "Softmax"
    out_activation = "softmax"

    def loss(self, reduction: str = "mean") -> Module:
        return CrossEntropyLoss(reduction=reduction)

    def sample_losses(self, z: Any, Y: np.ndarray) -> Any:
        return NF.cross_entropy(z, Y.argmax(axis=1), reduction="none")

    def link(self, z: Any) -> Any:
        return F.softmax(z, axis=-1)

    def quadratic_loss(self, z: Any, y: Any) -> Any:
        onehot = F.one_hot(y, z.shape[-1]).data.astype(z.data.dtype)
        return NF.mse_loss(self.link(z), onehot)

    def proba(self, z: Any) -> np.ndarray:
        return self.outputs(z)

    def predict(self, z: Any) -> np.ndarray:
        z = to_host(as_tensor(z).data)
        return z.reshape(z.shape[0], -1).argmax(axis=1)


class RegressionHead(Head):
    name = "regression"

    def loss(self, reduction: str = "mean") -> Module:
        return MSELoss(reduction)

    def sample_losses(self, z: Any, Y: np.ndarray) -> Any:
        # ½ mean over outputs of (z − y)²: the notes' ½‖y − y*‖² per output, as scikit-learn's
        return ((z - Tensor(Y)) ** 2).mean(axis=1) * 0.5


class PoissonHead(RegressionHead):
    name = "poisson"
    onnx_output = "Exp"
    out_activation = "exp"

    def sample_losses(self, z: Any, Y: np.ndarray) -> Any:
        # half the Poisson deviance, e^z − y·z + (y log y − y): the constant keeps its value
        const = np.where(Y > 0, Y * np.log(np.where(Y > 0, Y, 1.0)), 0.0) - Y
        return (z.exp() - z * Tensor(Y) + Tensor(const)).sum(axis=1)

    def loss(self, reduction: str = "mean") -> Module:
        raise AttributeError("the poisson head is used through sample_losses")

    def link(self, z: Any) -> Any:
        return F.exp(z)

    def predict(self, z: Any) -> np.ndarray:
        return self.outputs(z)


HEADS: dict[str, Head] = {h.name: h for h in (BinaryHead(), MulticlassHead(), MultilabelHead(),
                                               RegressionHead(), PoissonHead())}
#: The tasks a user picks for :class:`~chainrule.models.MLP` and the command line.
TASKS = ("binary", "multiclass", "regression")


def get_head(task: str | Head, where: str = "get_head") -> Head:
    """The head of ``task`` (a name from :data:`HEADS`, or a head, returned as is).

    Raises:
        ConfigError: an unknown task.

    >>> get_head("binary").predict(np.array([[-0.5], [2.0]])).tolist()
    [0, 1]
    """
    if isinstance(task, Head):
        return task
    return HEADS[check_choice(task, "task", where, HEADS)]
