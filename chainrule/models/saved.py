"""A trained model with what it needs to meet new rows: feature names, class labels, the
fitted preprocessing of its raw feature columns (:class:`~chainrule.data.Features`: fill
values, standardization, one-hot categories) and a regression target's standardization.

:class:`SavedModel` is what ``chainrule train`` writes into a model file's metadata and what
``predict``, ``evaluate`` and ``gradcheck`` read back (:func:`chainrule.io.load_model`). Its
probabilities, values and predictions come from the task's head
(:func:`~chainrule.models.heads.get_head`), never from code of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import Features, Table, TabularData
from ..errors import DataError, FileFormatError, ShapeError
from ..metrics import binary_metrics, classification_metrics, regression_metrics
from ..train import predict as _outputs
from .heads import Head, get_head

__all__ = ["SavedModel", "label_text", "short_list"]


def label_text(v: Any) -> str:
    """A class label as it is written in reports and CSV files (floats keep their digits).

    >>> label_text("cat"), label_text(3), label_text(0.5)
    ('cat', '3', '0.5')
    """
    return v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)


def short_list(items: Sequence[str], limit: int = 8) -> str:
    """``items`` joined by commas, the first ``limit`` of them, for messages.

    >>> short_list(["a", "b", "c"], limit=2)
    'a, b, ... (3 in all)'
    """
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


@dataclass
class SavedModel:
    """A model and the metadata that turns raw table rows into its inputs and its outputs
    into labels or values.

    Every method that takes rows ``X`` takes a :class:`~chainrule.data.Table` (feature
    columns by name, others ignored) or a 2-D array of the raw feature columns in order.

    Attributes:
        model: the network (its outputs are the head's z).
        path: where it was loaded from, for messages.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        features: the raw feature columns in order (None: matched by position).
        target: the target column's name, if recorded.
        classes: the class labels of a classifier, in output order.
        mean, scale: a plain input standardization (older files; ``preprocessing`` holds it).
        target_mean, target_scale: a regression target's standardization.
        preprocessing: the fitted :class:`~chainrule.data.Features` (None: inputs as they are).

    >>> from chainrule.models import MLP
    >>> saved = SavedModel(MLP([2, 1], task="binary", rng=0), "<memory>", "binary",
    ...                    ["a", "b"], "y", ["no", "yes"], None, None)
    >>> saved.proba(np.zeros((3, 2))).shape, saved.predict(np.zeros((1, 2)))[0] in ("no", "yes")
    ((3, 2), True)
    """

    model: Any
    path: str
    task: str
    features: list[str] | None
    target: str | None
    classes: list[Any] | None
    mean: np.ndarray | None
    scale: np.ndarray | None
    target_mean: float = 0.0
    target_scale: float = 1.0
    preprocessing: Features | None = None

    def __post_init__(self) -> None:
        if self.preprocessing is None and self.mean is not None:
            names = self.features or [str(i + 1) for i in range(len(self.mean))]
            self.preprocessing = Features.from_standardizer(names, self.mean, self.scale)

    @classmethod
    def from_metadata(cls, model: Any, metadata: dict[str, Any], path: str = "<memory>") -> SavedModel:
        """A model and the metadata dict saved with it (see :meth:`metadata`).

        Missing entries (a model saved from Python) mean: features matched by position,
        nothing standardized, the task from ``model.task`` (else regression) and classes
        0..C−1 from the output size.

        Raises:
            FileFormatError: damaged preprocessing or standardization records.
        """
        task = metadata.get("task") or getattr(model, "task", None) or "regression"
        classes = metadata.get("classes")
        if get_head(task).is_classifier and classes is None:
            out = getattr(model, "sizes", [None])[-1]
            classes = [0, 1] if task == "binary" else list(range(int(out or 0)))
        features = metadata.get("features")
        prep = metadata.get("preprocessing")
        pre = None if prep is None else Features.from_json(prep, str(path))
        std = metadata.get("standardizer") or {}
        tstd = metadata.get("target_standardizer") or {}
        try:
            mean = None if "mean" not in std else np.asarray(std["mean"], dtype=np.float64)
            scale = None if "scale" not in std else np.asarray(std["scale"], dtype=np.float64)
            tmean, tscale = float(tstd.get("mean", 0.0)), float(tstd.get("scale", 1.0))
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"{path}: a damaged standardizer record ({exc})") from exc
        if pre is not None and features is not None and pre.names != list(features):
            raise FileFormatError(f"{path}: the preprocessing's columns differ from the "
                                  "recorded features")
        return cls(model, str(path), task, features, metadata.get("target"), classes, mean,
                   scale, tmean, tscale, pre)

    @classmethod
    def for_data(cls, model: Any, data: TabularData, task: str, classes: list[Any] | None,
                 X: Any = None, y: np.ndarray | None = None, standardize: bool = True) -> SavedModel:
        """``model`` for ``data``'s columns, with the preprocessing fitted on the training rows
        ``X`` (a Table or raw feature array; default: all of ``data``), and a regression
        target's standardization from ``y`` when ``standardize``.

        >>> from chainrule.data import encode_target, load_dataset
        >>> from chainrule.models import MLP
        >>> data = load_dataset("regression")
        >>> task, classes, y = encode_target(data)
        >>> s = SavedModel.for_data(MLP([1, 1], task=task), data, task, classes, data.X, y)
        >>> s.features, round(float(s.targets(y).std()), 6)
        (['x1'], 1.0)
        """
        rows = data.table if X is None else X if isinstance(X, Table) else Table.from_array(
            data.source, X, data.features)
        pre = Features.fit(rows, data.features, standardize=standardize)
        tmean, tscale = 0.0, 1.0
        if standardize and not get_head(task).is_classifier and y is not None:
            tmean, tscale = float(np.mean(y)), float(np.std(y)) or 1.0
        return cls(model, "<memory>", task, data.features, data.target_name, classes, None,
                   None, tmean, tscale, pre)

    def metadata(self) -> dict[str, Any]:
        """The metadata :meth:`from_metadata` reads, as JSON-able values."""
        meta: dict[str, Any] = {"task": self.task, "features": self.features,
                                "target": self.target, "classes": self.classes}
        if self.preprocessing is not None:
            meta["preprocessing"] = self.preprocessing.to_json()
        if self.target_mean != 0.0 or self.target_scale != 1.0:
            meta["target_standardizer"] = {"mean": self.target_mean, "scale": self.target_scale}
        return meta

    @property
    def head(self) -> Head:
        """The task's head: loss, probabilities and the decision rule."""
        return get_head(self.task, "SavedModel")

    @property
    def n_features(self) -> int | None:
        """The number of raw feature columns (without names: the model's inputs)."""
        if self.features is not None:
            return len(self.features)
        return self.n_inputs

    @property
    def n_inputs(self) -> int | None:
        """The number of model inputs: after one-hot encoding, else the first layer's width."""
        if self.preprocessing is not None:
            return self.preprocessing.n_outputs
        for m in self.model.modules():
            for attr in ("in_features", "n_features"):
                if isinstance(getattr(m, attr, None), int):
                    return int(getattr(m, attr))
        return None

    def check_columns(self, table: Table, target: str | None = None) -> list[str]:
        """The columns of ``table`` the model will not use (neither a feature nor ``target``,
        default the model's target).

        Raises:
            ShapeError: a feature column is missing, or (without names) the number of
                columns differs from the model's inputs.
        """
        target = target or self.target
        given = [c for c in table.columns if c != target]
        if self.features is not None:
            missing = [f for f in self.features if f not in table.columns]
            if missing:
                raise ShapeError(
                    f"{self.path} expects {len(self.features)} features "
                    f"({short_list(self.features)}); {table.source} has {len(given)} feature "
                    f"column(s) ({short_list(given)}), missing {short_list(missing)}")
            return [c for c in given if c not in self.features]
        want = self.n_features
        if want is not None and len(given) != want:
            raise ShapeError(f"{self.path} expects {want} features; {table.source} has "
                             f"{len(given)} feature column(s) ({short_list(given)})")
        return []

    def inputs(self, X: Any, target: str | None = None) -> np.ndarray:
        """float32 model inputs from raw rows (a Table or an array; see the class)."""
        if isinstance(X, Table):
            self.check_columns(X, target)
            if self.features is None:
                target = target or self.target
                names = [c for c in X.columns if c != target]
                X = X.numeric(names) if self.preprocessing is None else Table.from_array(
                    X.source, X.numeric(names), self.preprocessing.names)
        if self.preprocessing is not None:
            return self.preprocessing.transform(X)
        return np.asarray(X, dtype=np.float32)

    def targets(self, y: np.ndarray) -> np.ndarray:
        """What the network trains on: float32 0/1 (binary), int64 class indices (multiclass),
        or the standardized float32 column (regression)."""
        if self.task == "binary":
            return y.astype(np.float32)
        if self.task == "multiclass":
            return y.astype(np.int64)
        return ((y - self.target_mean) / self.target_scale).astype(np.float32).reshape(-1, 1)

    def outputs(self, X: Any) -> np.ndarray:
        """The network's outputs z on raw rows, as float64."""
        return _outputs(self.model, self.inputs(X)).astype(np.float64)

    def proba(self, X: Any) -> np.ndarray:
        """(rows, classes) class probabilities (the head's σ or softmax)."""
        return self.head.proba(self.outputs(X))

    def predict_indices(self, X: Any) -> np.ndarray:
        """Each row's predicted class index (the head's decision rule)."""
        return self.head.predict(self.outputs(X))

    def values(self, X: Any) -> np.ndarray:
        """Regression outputs in the target's own units."""
        z = self.head.predict(self.outputs(X))
        return z.reshape(len(z), -1)[:, 0] * self.target_scale + self.target_mean

    def predict(self, X: Any) -> list[Any] | np.ndarray:
        """Class labels (classifiers) or values in the target's units (regression)."""
        if not self.head.is_classifier:
            return self.values(X)
        return [self.classes[int(i)] for i in self.predict_indices(X)]

    def metrics(self, X: Any, y: np.ndarray) -> dict[str, Any]:
        """:func:`~chainrule.metrics.classification_metrics` against class indices ``y`` (with
        precision, recall, F1 and ROC-AUC for a binary task), or
        :func:`~chainrule.metrics.regression_metrics` against values, on raw rows."""
        if not self.head.is_classifier:
            return regression_metrics(y, self.values(X))
        p = self.proba(X)
        m = classification_metrics(y, p, self.classes)
        if self.task == "binary":
            m.update(binary_metrics(y, p[:, 1]))
        return m

    def label_indices(self, labels: Any, source: str = "the data",
                      column: str = "target") -> np.ndarray:
        """The class index of each of ``labels`` (numbers or text, as a target column reads).

        Raises:
            DataError: missing labels, or labels that are not among the model's classes
                (with their rows; ``source`` and ``column`` name where they came from).
        """
        numeric = all(not isinstance(c, str) for c in self.classes)
        lookup = {(float(c) if numeric else str(c)): i for i, c in enumerate(self.classes)}
        out, unknown = [], []
        for row, v in enumerate(np.asarray(labels, dtype=object).tolist(), 1):
            try:
                key = float(v) if numeric else v if isinstance(v, str) else label_text(
                    int(v) if float(v).is_integer() else float(v))
            except (TypeError, ValueError):
                key = v
            if key not in lookup:
                unknown.append(f"{'a missing label' if v is None or v != v else repr(v)} "
                               f"(data row {row})")
                continue
            out.append(lookup[key])
        if unknown:
            raise DataError(f"{source}: the target column {column!r} has labels the model "
                            f"does not know: {short_list(unknown, 5)}; its classes are "
                            + ", ".join(label_text(c) for c in self.classes))
        return np.asarray(out, dtype=np.int64)
