"""Named data with a target: a CSV file, or one of the bundled sets by name.

:func:`load_dataset` gives features, raw target values and the column names, whatever the
source; :func:`encode_target` decides the task (binary, multiclass or regression) and turns
the target into what a network trains on. The ``chainrule train`` command is these two calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..optional import require
from . import datasets as _sets
from .tabular import Table, is_finite_number, read_csv

__all__ = ["MAX_CLASSES", "BUNDLED_DATASETS", "TabularData", "load_dataset", "encode_classes",
           "resolve_task", "encode_target"]

#: An integer target with more distinct values than this is a regression target.
MAX_CLASSES = 20

#: The 8×8 digits' pixel names, ``pixel_<row>_<column>``.
DIGIT_PIXELS = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]


def _digits(a: int | None = None, b: int | None = None) -> Callable[[int], tuple]:
    def load(seed: int) -> tuple:
        if a is None:
            X, y = _sets.load_digits()
        else:
            X, y = _sets.digits_binary(a, b)
            y = np.where(y == 1, b, a)  # the digits themselves are the class labels
        return X, y, list(DIGIT_PIXELS), "digit"
    return load


def _two_d(fn_name: str, **kwargs: Any) -> Callable[[int], tuple]:
    def load(seed: int) -> tuple:
        X, y = getattr(_sets, fn_name)(rng=seed, **kwargs)
        names = ["test", "grades"] if fn_name == "admissions" else ["x1", "x2"]
        return X, y, names, "admitted" if fn_name == "admissions" else "label"
    return load


def _regression(seed: int) -> tuple:
    X, y = _sets.regression(n=400, noise=0.1, rng=seed)
    return X, y.reshape(-1), ["x1"], "y"


def _sklearn_set(name: str, target: str) -> Callable[[int], tuple]:
    """One of scikit-learn's bundled tables, with its class names as the labels."""
    def load(seed: int) -> tuple:
        sets = require("sklearn.datasets", "sklearn", f"the {name} data set")
        b = getattr(sets, f"load_{name}")()
        labels = np.asarray(b.target_names, dtype=object)[b.target]
        return b.data, labels, [str(f) for f in b.feature_names], target
    return load


#: name -> (loader(seed) -> (X, y, feature names, target name), description).
BUNDLED_DATASETS: dict[str, tuple[Callable[[int], tuple], str]] = {
    "digits": (_digits(), "1,797 8×8 handwritten digits, ten classes (needs scikit-learn)"),
    "digits-0-1": (_digits(0, 1), "the notes' binary task: 0 vs 1 (needs scikit-learn)"),
    "digits-1-2": (_digits(1, 2), "the notes' binary task: 1 vs 2 (needs scikit-learn)"),
    "breast-cancer": (_sklearn_set("breast_cancer", "diagnosis"),
                      "569 tumours, 30 measurements, malignant or benign (needs scikit-learn)"),
    "iris": (_sklearn_set("iris", "species"), "150 irises, 4 measurements, three species "
                                              "(needs scikit-learn)"),
    "wine": (_sklearn_set("wine", "cultivar"), "178 wines, 13 measurements, three cultivars "
                                               "(needs scikit-learn)"),
    "admissions": (_two_d("admissions", n=400), "accept iff 2·test + grades ≥ 18"),
    "xor": (_two_d("xor", n=400, noise=0.2), "the XOR corners with noise"),
    "moons": (_two_d("moons", n=400, noise=0.15), "two interleaving half circles"),
    "circles": (_two_d("circles", n=400, noise=0.08), "a circle inside a circle"),
    "spirals": (_two_d("spirals", n=600, classes=3), "three interleaved spiral arms"),
    "blobs": (_two_d("blobs", n=400, centers=3), "three Gaussian clusters"),
    "regression": (_regression, "y = sin 2x + 0.3x² + noise, one input"),
}


@dataclass
class TabularData:
    """Feature columns, raw target values and their names, whatever the source.

    Attributes:
        source: the CSV path or the bundled set's name.
        table: the rows (a :class:`~chainrule.data.Table`; its columns include ``features``).
        target: float64 values, or text labels (dtype object).
        features: the feature names.
        target_name: the target column's name.
        dropped: rows left out because their target cell was missing.
    """

    source: str
    table: Table
    target: np.ndarray
    features: list[str]
    target_name: str
    dropped: int = 0

    @property
    def X(self) -> np.ndarray:
        """The features as float64 (rows, features); text or missing cells raise DataError."""
        return self.table.numeric(self.features)

    @property
    def n_rows(self) -> int:
        """The number of rows."""
        return len(self.target)

    @property
    def numeric(self) -> bool:
        """Whether every feature is a complete number column (a bundled set always is)."""
        return all(self.table.is_numeric(f) and not np.any(self.table.missing(f))
                   for f in self.features)


def _target_values(table: Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(the rows with a target, their values: float64 numbers or text labels)."""
    keep = ~table.missing(name)
    y = table.column(name)[keep]
    if table.is_numeric(name):
        if not np.all(np.isfinite(y)):
            row = int(np.flatnonzero(keep)[np.flatnonzero(~np.isfinite(y))[0]])
            raise DataError(f"{table.source}: the target column {name!r} has {y[~np.isfinite(y)][0]}"
                            f" in data row {row + 1}; targets must be finite")
        return keep, y.astype(np.float64)
    return keep, y.astype(object)  # class labels such as "setosa"


def load_dataset(spec: str, target: str | None = None, seed: int = 0, *, sep: str | None = None,
                 header: bool = True, na_values: Sequence[str] = (),
                 text_columns: Sequence[str] = ()) -> TabularData:
    """A CSV file (with ``target`` naming its target column) or a bundled set by name.

    Rows whose target cell is missing are left out (counted in ``dropped``); missing feature
    cells stay missing (NaN, or None in text columns) for :class:`~chainrule.data.Features`.

    Args:
        spec: a CSV path or a name in :data:`BUNDLED_DATASETS`.
        target: the CSV's target column (for a bundled set: None, or its own target name).
        seed: seeds the synthetic bundled sets.
        sep: the CSV's column separator (see :func:`~chainrule.data.read_csv`, as for the
            next three).
        header: whether the first row names the columns.
        na_values: the texts that mean a missing value.
        text_columns: columns read as text even when they look numeric.

    Returns:
        A :class:`TabularData`: the table, and target values (float64, or text labels).

    Raises:
        OSError: a CSV path that does not exist or cannot be read.
        DataError: a missing target column (the message lists the columns), an unknown data
            set name, no row with a target.

    >>> d = load_dataset("admissions", seed=0)
    >>> d.features, d.target_name, d.X.shape
    (['test', 'grades'], 'admitted', (400, 2))
    """
    path = Path(spec)
    if not path.is_file() and spec in BUNDLED_DATASETS:
        X, y, features, tname = BUNDLED_DATASETS[spec][0](seed)
        if target not in (None, tname):
            raise DataError(f"the bundled data set {spec!r} has the target column {tname!r}; "
                            f"got --target {target!r} (--target names a CSV file's column)")
        y = np.asarray(y)
        return TabularData(spec, Table.from_array(spec, np.asarray(X, dtype=np.float64),
                                                  features),
                           y if y.dtype == object else y.astype(np.float64), features, tname)
    if not path.exists() and path.suffix.lower() not in (".csv", ".gz", ".tsv", ".txt") \
            and "/" not in spec and "\\" not in spec:
        raise DataError(f"{spec!r} is neither a CSV file nor a bundled data set; bundled sets: "
                        + ", ".join(BUNDLED_DATASETS))
    table = read_csv(path, sep=sep, header=header, na_values=na_values,
                     text_columns=text_columns)
    target = table.check_target(target, f"{path}: name the target column with --target")
    features = [c for c in table.columns if c != target]
    if not features:
        raise DataError(f"{path}: only the target column {target!r}; no feature columns")
    keep, y = _target_values(table, target)
    if not np.any(keep):
        raise DataError(f"{path}: the target column {target!r} has no values")
    dropped = int(np.sum(~keep))
    return TabularData(str(path), table.take(keep) if dropped else table, y, features, target,
                       dropped)


def _label_json(v: Any) -> Any:
    if isinstance(v, str):
        return v
    v = float(v)
    return int(v) if v.is_integer() else v


def encode_classes(y: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Sorted distinct labels (JSON-able: text, whole numbers as ints) and each row's class index.

    >>> encode_classes(np.array(["b", "a", "b"], dtype=object))
    (['a', 'b'], array([1, 0, 1]))
    >>> encode_classes(np.array([2.0, 7.0, 2.0]))[0]
    [2, 7]
    """
    if y.dtype == object:
        uniq = sorted(set(y.tolist()))
        lookup = {v: i for i, v in enumerate(uniq)}
        return uniq, np.array([lookup[v] for v in y.tolist()], dtype=np.int64)
    uniq_arr, index = np.unique(y, return_inverse=True)
    return [_label_json(v) for v in uniq_arr], index.astype(np.int64).reshape(-1)


def resolve_task(task: str, data: TabularData) -> str:
    """``"classification"`` or ``"regression"`` for ``task`` (``"auto"`` decides from the target).

    Labels, or whole numbers with at most :data:`MAX_CLASSES` distinct values, are classes;
    other numbers are a regression target.

    Raises:
        DataError: ``"regression"`` asked of a target of text labels.

    >>> resolve_task("auto", load_dataset("moons")), resolve_task("auto", load_dataset("regression"))
    ('classification', 'regression')
    """
    y = data.target
    if task == "auto":
        if y.dtype == object:
            return "classification"
        integral = bool(np.all(y == np.round(y)))
        return "classification" if integral and len(np.unique(y)) <= MAX_CLASSES else "regression"
    if task == "regression" and y.dtype == object:
        example = next(v for v in y.tolist() if not is_finite_number(v))
        raise DataError(f"{data.source}: --task regression needs a numeric target, but "
                        f"{data.target_name!r} holds labels such as {example!r}")
    return task


def encode_target(data: TabularData, task: str = "auto") -> tuple[str, list[Any] | None, np.ndarray]:
    """The task, the class labels and the target a network trains on.

    Args:
        data: from :func:`load_dataset`.
        task: ``"auto"``, ``"classification"`` or ``"regression"`` (see :func:`resolve_task`).

    Returns:
        ``(task, classes, y)``: ``"binary"`` or ``"multiclass"`` with the sorted labels and
        each row's class index, or ``"regression"``, None and the float64 values.

    Raises:
        DataError: a classification target with a single class.

    >>> task, classes, y = encode_target(load_dataset("spirals"))
    >>> task, classes, y.dtype.name
    ('multiclass', [0, 1, 2], 'int64')
    """
    if resolve_task(task, data) == "regression":
        return "regression", None, data.target.astype(np.float64)
    classes, y = encode_classes(data.target)
    if len(classes) < 2:
        raise DataError(f"{data.source}: the target {data.target_name!r} has only one class "
                        f"({classes[0]!r}); classification needs at least two")
    return ("binary" if len(classes) == 2 else "multiclass"), classes, y
