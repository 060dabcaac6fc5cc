"""The points a page trains on: a bundled 2-D set or an uploaded CSV of two features and a
label, split into training and test rows and standardized by :class:`~chainrule.data.Features`."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import (
    Features, Standardizer, TabularData, encode_classes, load_dataset, read_csv,
    train_test_split,
)
from ..errors import ChainruleError, DataError
from ..models import SavedModel

#: An uploaded file larger than this is refused before it is read.
MAX_UPLOAD_BYTES = 1 << 20
#: Rows an uploaded file may hold (the pictures redraw every point at each frame).
MAX_ROWS = 10_000
#: Classes a page can tell apart: the colours of chainrule.viz.plot_decision_boundary.
MAX_CLASSES = 10


class TooLarge(DataError):
    """An upload over :data:`MAX_UPLOAD_BYTES` (the server answers 413)."""


@dataclass
class Points:
    """A data set ready to train on.

    Attributes:
        name: the bundled set's name, or the uploaded file's name.
        data: the table and raw labels (:func:`~chainrule.data.load_dataset`).
        task: "binary" or "multiclass".
        classes: the class labels, in output order.
        y: each row's class index.
        train, test: row indices.
        saved: the model's wrapper with the fitted preprocessing (its model is set later).
        X: the raw features (rows, 2), float64.
        inputs: the standardized model inputs (rows, 2), float32.
        csv: the uploaded file's text (None for a bundled set).
    """

    name: str
    data: TabularData
    task: str
    classes: list[Any]
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    saved: SavedModel
    X: np.ndarray
    inputs: np.ndarray
    csv: str | None = None

    @property
    def targets(self) -> np.ndarray:
        """What the network trains on (float 0/1 for binary, class indices for multiclass)."""
        return self.saved.targets(self.y)

    def to_json(self) -> dict[str, Any]:
        """The points for the page: raw coordinates, class index, and whether a test row."""
        is_test = np.zeros(len(self.y), dtype=bool)
        is_test[self.test] = True
        return {"name": self.name, "features": self.data.features,
                "target": self.data.target_name, "task": self.task,
                "classes": [str(c) for c in self.classes],
                "x": np.round(self.X, 5).tolist(), "y": self.y.tolist(),
                "test": is_test.astype(int).tolist(),
                "n_train": int(len(self.train)), "n_test": int(len(self.test))}


def prepare(data: TabularData, name: str, test_fraction: float, seed: int,
            csv: str | None = None) -> Points:
    """Check that ``data`` is two numeric features and a class label, split and standardize it.

    Raises:
        DataError: not exactly two features, a feature that is not a complete number column,
            fewer than two or more than :data:`MAX_CLASSES` classes, too few or too many rows.
    """
    if len(data.features) != 2:
        raise DataError(f"{name}: the playground draws two features on a plane; got "
                        f"{len(data.features)} feature column(s) ({', '.join(data.features)}) "
                        f"besides the label {data.target_name!r}")
    if not data.numeric:
        bad = [f for f in data.features if not data.table.is_numeric(f)]
        raise DataError(f"{name}: the features must be numbers with no missing cells; "
                        + (f"column(s) {', '.join(map(repr, bad))} hold text" if bad
                           else "some cells are missing"))
    if not 4 <= data.n_rows <= MAX_ROWS:
        raise DataError(f"{name}: {data.n_rows} labelled row(s); the playground takes 4 to "
                        f"{MAX_ROWS:,}")
    classes, y = encode_classes(data.target)
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise DataError(f"{name}: the label {data.target_name!r} has {len(classes)} distinct "
                        f"value(s); the playground classifies 2 to {MAX_CLASSES} classes")
    task = "binary" if len(classes) == 2 else "multiclass"
    rows = np.arange(data.n_rows).reshape(-1, 1)
    counts = np.bincount(y)
    stratify = y if counts.min() >= 2 else None
    tr, te, _, _ = train_test_split(rows, y, test_size=test_fraction, rng=seed, stratify=stratify)
    tr, te = np.sort(tr[:, 0]), np.sort(te[:, 0])
    # The features are complete numbers (checked above): a plain standardization, fitted on
    # the training rows (Features.fit would bring in scikit-learn's column machinery).
    scaler = Standardizer().fit(data.X[tr])
    saved = SavedModel(None, "<playground>", task, list(data.features), data.target_name,
                       classes, None, None, 0.0, 1.0,
                       Features.from_standardizer(data.features, scaler.mean_, scaler.scale_))
    return Points(name, data, task, classes, y, tr, te, saved, data.X,
                  saved.preprocessing.transform(data.table), csv)


def bundled(name: str, test_fraction: float, seed: int) -> Points:
    """A bundled 2-D set by name (seeded by ``seed``)."""
    return prepare(load_dataset(name, seed=seed), name, test_fraction, seed)


def _file_name(name: str) -> str:
    """A safe base name for an uploaded file (its messages name it)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "upload.csv").name).strip("._")
    return base[:80] or "upload.csv"


def uploaded(body: bytes, file_name: str, test_fraction: float, seed: int) -> Points:
    """An uploaded CSV: two feature columns and the label in the last column.

    The text is read by :func:`~chainrule.data.load_dataset` (delimiter sniffing, missing
    cells, its clear errors), from a temporary file named like the upload.

    Raises:
        DataError: too large, not text, or not two numeric features and a label.
    """
    name = _file_name(file_name)
    if len(body) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"{name}: {len(body):,} bytes; the playground takes files of at most "
                        f"{MAX_UPLOAD_BYTES // 1024:,} KiB")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{name}: not a UTF-8 text file; expected a CSV of two feature "
                        "columns and a label") from None
    with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(body)
        try:
            columns = read_csv(path).columns
            data = load_dataset(str(path), columns[-1])
        except ChainruleError as exc:  # name the file, not the temporary folder
            raise type(exc)(str(exc).replace(str(path), name)) from None
        data.source = name
        data.table.source = name
        return prepare(data, name, test_fraction, seed, csv=text)
