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
from . import datasets as _sets
from .tabular import is_finite_number, read_csv

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


#: name -> (loader(seed) -> (X, y, feature names, target name), description).
BUNDLED_DATASETS: dict[str, tuple[Callable[[int], tuple], str]] = {
    "digits": (_digits(), "1,797 8×8 handwritten digits, ten classes (needs scikit-learn)"),
    "digits-0-1": (_digits(0, 1), "the notes' binary task: 0 vs 1 (needs scikit-learn)"),
    "digits-1-2": (_digits(1, 2), "the notes' binary task: 1 vs 2 (needs scikit-learn)"),
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
    """Features, raw target values and their names, whatever the source.

    Attributes:
        source: the CSV path or the bundled set's name.
        X: float64 (rows, features).
        target: float64 values, or text labels (dtype object).
        features: the feature names.
        target_name: the target column's name.
        lines: each row's line in the CSV file (None for a bundled set).
    """

    source: str
    X: np.ndarray
    target: np.ndarray
    features: list[str]
    target_name: str
    lines: list[int] | None = None


def _target_values(values: Sequence[str], source: str, name: str,
                   lines: Sequence[int]) -> np.ndarray:
    """A CSV target column as float64 numbers, or as text labels when they are not numbers."""
    empty = [lines[i] for i, v in enumerate(values) if not v]
    if empty:
        raise DataError(f"{source}: the target column {name!r} has empty cells (line(s) "
                        f"{', '.join(map(str, empty[:5]))}{', ...' if len(empty) > 5 else ''})")
    try:
        y = np.asarray(values, dtype=str).astype(np.float64)
    except ValueError:
        return np.asarray(values, dtype=object)  # class labels such as "setosa"
    if not np.all(np.isfinite(y)):
        row = int(np.flatnonzero(~np.isfinite(y))[0])
        raise DataError(f"{source}: the target column {name!r} has {values[row]!r} on line "
                        f"{lines[row]}; targets must be finite")
    return y


def load_dataset(spec: str, target: str | None = None, seed: int = 0) -> TabularData:
    """A CSV file (with ``target`` naming its target column) or a bundled set by name.

    Args:
        spec: a CSV path or a name in :data:`BUNDLED_DATASETS`.
        target: the CSV's target column (for a bundled set: None, or its own target name).
        seed: seeds the synthetic bundled sets.

    Returns:
        A :class:`TabularData`: float64 features, and target values (float64, or text labels).

    Raises:
        OSError: a CSV path that does not exist or cannot be read.
        DataError: a missing target column (the message lists the columns), non-numeric
            features, an unknown data set name.

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
        return TabularData(spec, np.asarray(X, dtype=np.float64),
                           np.asarray(y).astype(np.float64), features, tname)
    if not path.exists() and path.suffix.lower() != ".csv" and "/" not in spec and "\\" not in spec:
        raise DataError(f"{spec!r} is neither a CSV file nor a bundled data set; bundled sets: "
                        + ", ".join(BUNDLED_DATASETS))
    table = read_csv(path)
    target = table.check_target(target, f"{path}: name the target column with --target")
    features = [c for c in table.columns if c != target]
    if not features:
        raise DataError(f"{path}: only the target column {target!r}; no feature columns")
    X = table.numeric(features)
    y = _target_values(table.column(target), str(path), target, table.lines)
    return TabularData(str(path), X, y, features, target, table.lines)


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
