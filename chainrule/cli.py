"""The ``chainrule`` command (also ``python -m chainrule``).

Subcommands: ``train`` (a CSV file or a bundled data set → a model file and a report
folder), ``predict``, ``evaluate``, ``gradcheck`` (a saved model, or every registered
primitive, against finite differences in both AD modes), ``explain`` (one backprop step by
hand, NOTES.md 4), ``demo`` and ``info``.

Exit codes: 0 success; 2 usage errors (argparse's); 1 data and file errors, reported as one
line ``chainrule: error: ...`` on stderr, with the traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import importlib.util
import io
import json
import shutil
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .errors import ChainruleError, ConfigError, DataError, FileFormatError, ShapeError

MODEL_FILE = "model.safetensors"
MAX_CLASSES = 20  # an integer target with more distinct values than this is a regression target
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "softplus", "elu", "gelu")
OPTIMIZERS = {"sgd": 0.1, "adam": 0.01, "adamw": 0.01, "rmsprop": 0.01, "adagrad": 0.1, "lbfgs": 1.0}


# --- tables of data ---------------------------------------------------------------------------

@dataclass
class Table:
    """Columns of text read from a CSV file (or a bundled set written as one)."""

    source: str
    columns: list[str]
    cells: list[tuple[str, ...]]  # one tuple per column, a cell per row
    lines: list[int]              # the file line of each row, for messages

    @property
    def n_rows(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> tuple[str, ...]:
        return self.cells[self.columns.index(name)]

    def check_target(self, target: str | None, missing: str) -> str:
        """``target`` if it names a column; else a DataError listing the columns
        (``missing`` says how to name one when ``target`` is None)."""
        if target is None:
            raise DataError(f"{missing} (columns: {', '.join(self.columns)})")
        if target not in self.columns:
            raise DataError(f"{self.source}: no column named {target!r}; the columns are "
                            f"{', '.join(self.columns)}")
        return target

    def numeric(self, names: Sequence[str], what: str = "feature") -> np.ndarray:
        """The named columns as a float64 (rows, columns) array.

        Raises:
            DataError: naming every column with a value that is not a finite number, with the
                first such value and its line.
        """
        out = np.empty((self.n_rows, len(names)), dtype=np.float64)
        bad = []
        for k, name in enumerate(names):
            col = self.column(name)
            try:
                out[:, k] = np.asarray(col, dtype=str).astype(np.float64)
                ok = bool(np.all(np.isfinite(out[:, k])))
            except ValueError:
                ok = False
            if not ok:
                row = next(r for r, v in enumerate(col) if not _finite_number(v))
                shown = repr(col[row]) if col[row].strip() else "an empty cell"
                bad.append(f"{name!r} (e.g. {shown} on line {self.lines[row]})")
        if bad:
            s = "s" if len(bad) > 1 else ""
            raise DataError(f"{self.source}: non-numeric values in {what} column{s} "
                            f"{', '.join(bad)}; {what}s must be finite numbers (encode "
                            "categories as numbers or one-hot columns first)")
        return out


def _finite_number(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def read_csv(path: str | Path) -> Table:
    """Read a CSV file with a header row naming its columns (blank lines are skipped).

    Args:
        path: the file.

    Returns:
        A :class:`Table` of the cells as text; ``table.numeric(names)`` converts columns.

    Raises:
        OSError: the file cannot be read (missing, a directory, no permission).
        DataError: an empty file, no header row, blank or repeated column names, or a row
            with the wrong number of fields.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("a,b,label\\n1,2,cat\\n3,4,dog\\n")
    >>> t = read_csv(p)
    >>> t.columns, t.column("label"), t.numeric(["a", "b"]).tolist()
    (['a', 'b', 'label'], ('cat', 'dog'), [[1.0, 2.0], [3.0, 4.0]])
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header: list[str] | None = None
        rows, lines = [], []
        try:
            for row in reader:
                if not row or not any(c.strip() for c in row):
                    continue
                if header is None:
                    header = [c.strip() for c in row]
                    continue
                if len(row) != len(header):
                    raise DataError(f"{path}, line {reader.line_num}: {len(row)} fields, but the "
                                    f"header has {len(header)} ({', '.join(header)})")
                rows.append(row)
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a readable CSV file ({exc})") from exc
    if header is None:
        raise DataError(f"{path}: the file is empty; expected a header row naming the columns, "
                        "then one row per example")
    if all(_finite_number(c) for c in header):
        raise DataError(f"{path}: the first row ({', '.join(header[:5])}"
                        f"{', ...' if len(header) > 5 else ''}) holds only numbers; a header row "
                        "naming the columns is required")
    blank = [i + 1 for i, c in enumerate(header) if not c]
    if blank:
        raise DataError(f"{path}: header column(s) {blank} have no name")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise DataError(f"{path}: repeated column name(s) in the header: {', '.join(repeated)}")
    if not rows:
        raise DataError(f"{path}: a header but no data rows")
    return Table(str(path), header, [tuple(c.strip() for c in col) for col in zip(*rows)], lines)


# --- bundled data sets ------------------------------------------------------------------------

def _digits(a: int | None = None, b: int | None = None) -> Callable[[int], tuple]:
    def load(seed: int) -> tuple:
        from .data import digits_binary, load_digits
        if a is None:
            X, y = load_digits()
        else:
            X, y = digits_binary(a, b)
            y = np.where(y == 1, b, a)  # the digits themselves are the class labels
        return X, y, [f"pixel_{r}_{c}" for r in range(8) for c in range(8)], "digit"
    return load


def _two_d(fn_name: str, **kwargs: Any) -> Callable[[int], tuple]:
    def load(seed: int) -> tuple:
        from . import data
        X, y = getattr(data, fn_name)(rng=seed, **kwargs)
        names = ["test", "grades"] if fn_name == "admissions" else ["x1", "x2"]
        return X, y, names, "admitted" if fn_name == "admissions" else "label"
    return load


def _regression(seed: int) -> tuple:
    from .data import regression
    X, y = regression(n=400, noise=0.1, rng=seed)
    return X, y.reshape(-1), ["x1"], "y"


DATASETS: dict[str, tuple[Callable[[int], tuple], str]] = {
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
class Dataset:
    """Features, raw target values and names, whatever the source."""

    source: str
    X: np.ndarray             # float64 (rows, features)
    target: np.ndarray        # float64 values, or str labels (dtype object)
    features: list[str]
    target_name: str
    lines: list[int] | None = None


def _target_values(values: Sequence[str], source: str, name: str,
                   lines: Sequence[int]) -> np.ndarray:
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


def load_dataset(spec: str, target: str | None, seed: int) -> Dataset:
    """A CSV file (with ``target`` naming its target column) or a bundled set by name.

    Args:
        spec: a CSV path or a name in :data:`DATASETS`.
        target: the CSV's target column (for a bundled set: None, or its own target name).
        seed: seeds the synthetic bundled sets.

    Returns:
        A :class:`Dataset`: float64 features, and target values (float64, or text labels).

    Raises:
        OSError: a CSV path that does not exist or cannot be read.
        DataError: a missing target column (the message lists the columns), non-numeric
            features, an unknown data set name.

    >>> d = load_dataset("admissions", None, seed=0)
    >>> d.features, d.target_name, d.X.shape
    (['test', 'grades'], 'admitted', (400, 2))
    """
    path = Path(spec)
    if not path.is_file() and spec in DATASETS:
        loader = DATASETS[spec][0]
        X, y, features, tname = loader(seed)
        if target not in (None, tname):
            raise DataError(f"the bundled data set {spec!r} has the target column {tname!r}; "
                            f"got --target {target!r} (--target names a CSV file's column)")
        y = np.asarray(y)
        return Dataset(spec, np.asarray(X, dtype=np.float64),
                       y.astype(np.float64), features, tname)
    if not path.exists() and path.suffix.lower() != ".csv" and "/" not in spec and "\\" not in spec:
        raise DataError(f"{spec!r} is neither a CSV file nor a bundled data set; bundled sets: "
                        + ", ".join(DATASETS))
    table = read_csv(path)
    target = table.check_target(target, f"{path}: name the target column with --target")
    features = [c for c in table.columns if c != target]
    if not features:
        raise DataError(f"{path}: only the target column {target!r}; no feature columns")
    X = table.numeric(features)
    y = _target_values(table.column(target), str(path), target, table.lines)
    return Dataset(str(path), X, y, features, target, table.lines)


def _label_json(v: Any) -> Any:
    if isinstance(v, str):
        return v
    v = float(v)
    return int(v) if v.is_integer() else v


def _encode_classes(y: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """Sorted distinct labels (JSON-able) and each row's class index."""
    if y.dtype == object:
        uniq = sorted(set(y.tolist()))
        lookup = {v: i for i, v in enumerate(uniq)}
        return uniq, np.array([lookup[v] for v in y.tolist()], dtype=np.int64)
    uniq_arr, index = np.unique(y, return_inverse=True)
    return [_label_json(v) for v in uniq_arr], index.astype(np.int64).reshape(-1)


def _resolve_task(task: str, y: np.ndarray, data: Dataset) -> str:
    if task == "auto":
        if y.dtype == object:
            return "classification"
        integral = bool(np.all(y == np.round(y)))
        return "classification" if integral and len(np.unique(y)) <= MAX_CLASSES else "regression"
    if task == "regression" and y.dtype == object:
        example = next(v for v in y.tolist() if not _finite_number(v))
        raise DataError(f"{data.source}: --task regression needs a numeric target, but "
                        f"{data.target_name!r} holds labels such as {example!r}")
    return task


# --- model files ------------------------------------------------------------------------------

@dataclass
class Saved:
    """A model loaded from a file, with what the command line saved beside its weights."""

    model: Any
    path: str
    task: str                      # binary, multiclass or regression
    features: list[str] | None
    target: str | None
    classes: list[Any] | None
    mean: np.ndarray | None
    scale: np.ndarray | None
    target_mean: float = 0.0
    target_scale: float = 1.0

    @property
    def n_features(self) -> int | None:
        if self.features is not None:
            return len(self.features)
        for m in self.model.modules():
            for attr in ("in_features", "n_features"):
                if isinstance(getattr(m, attr, None), int):
                    return int(getattr(m, attr))
        return None

    def inputs(self, X: np.ndarray) -> np.ndarray:
        """Standardized float32 model inputs."""
        if self.mean is not None:
            X = (X - self.mean) / self.scale
        return X.astype(np.float32)

    def proba(self, X: np.ndarray) -> np.ndarray:
        """(rows, classes) class probabilities."""
        from . import functional as F
        from .tensor import Tensor
        from .train import predict
        z = Tensor(predict(self.model, self.inputs(X)).astype(np.float64))
        if self.task == "binary":
            p1 = z.reshape(-1).sigmoid().numpy()
            return np.column_stack([1.0 - p1, p1])
        return F.softmax(z, axis=1).numpy()

    def values(self, X: np.ndarray) -> np.ndarray:
        """Regression outputs in the target's own units."""
        from .train import predict
        out = predict(self.model, self.inputs(X)).astype(np.float64)
        return out.reshape(len(X), -1)[:, 0] * self.target_scale + self.target_mean


def load_model(path: str | Path) -> Saved:
    """A model file and its command-line metadata (absent for files saved from Python,
    in which case features are matched by position and nothing is standardized)."""
    from .io import load
    model, meta = load(path, with_metadata=True)
    task = meta.get("task") or getattr(model, "task", None) or "regression"
    classes = meta.get("classes")
    if task in ("binary", "multiclass") and classes is None:
        out = getattr(model, "sizes", [None])[-1]
        classes = [0, 1] if task == "binary" else list(range(int(out or 0)))
    std = meta.get("standardizer") or {}
    tstd = meta.get("target_standardizer") or {}
    return Saved(model, str(path), task, meta.get("features"), meta.get("target"), classes,
                 None if "mean" not in std else np.asarray(std["mean"], dtype=np.float64),
                 None if "scale" not in std else np.asarray(std["scale"], dtype=np.float64),
                 float(tstd.get("mean", 0.0)), float(tstd.get("scale", 1.0)))


def _features_for(saved: Saved, table: Table, target: str | None) -> np.ndarray:
    """The model's feature columns of ``table``, by name when the file records names."""
    target = target or saved.target
    given = [c for c in table.columns if c != target]
    want = saved.n_features
    if saved.features is not None:
        missing = [f for f in saved.features if f not in table.columns]
        if missing:
            raise ShapeError(
                f"{saved.path} expects {len(saved.features)} features "
                f"({_names(saved.features)}); {table.source} has {len(given)} feature "
                f"column(s) ({_names(given)}), missing {_names(missing)}")
        extra = [c for c in given if c not in saved.features]
        if extra:
            print(f"chainrule: note: ignoring column(s) the model was not trained on: "
                  f"{_names(extra)}", file=sys.stderr)
        return table.numeric(saved.features)
    if want is not None and len(given) != want:
        raise ShapeError(f"{saved.path} expects {want} features; {table.source} has "
                         f"{len(given)} feature column(s) ({_names(given)})")
    return table.numeric(given)


def _names(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# --- metrics ----------------------------------------------------------------------------------

def classification_metrics(proba: np.ndarray, y: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    """Accuracy, mean log-loss (−ln of the true class's probability) and confusion matrix.

    Args:
        proba: (rows, classes) probabilities.
        y: each row's class index.
        classes: the class labels, for the report.

    >>> m = classification_metrics(np.array([[0.9, 0.1], [0.4, 0.6]]), np.array([0, 0]), [0, 1])
    >>> m["accuracy"], round(m["log_loss"], 4), m["confusion_matrix"]
    (0.5, 0.5108, [[1, 1], [0, 0]])
    """
    from .metrics import confusion_matrix
    pred = proba.argmax(axis=1)
    p_true = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
    return {"n": int(len(y)), "accuracy": float(np.mean(pred == y)),
            "log_loss": float(-np.mean(np.log(p_true))),
            "classes": classes,
            "confusion_matrix": confusion_matrix(pred, y, len(classes)).tolist()}


def regression_metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """MSE, RMSE, MAE and R² in the target's units.

    >>> m = regression_metrics(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 3.0]))
    >>> round(m["mse"], 4), round(m["mae"], 4), round(m["r2"], 4)   # R² = 1 − MSE / var(y)
    (0.6667, 0.6667, 0.25)
    """
    d = pred - y
    mse = float(np.mean(d ** 2))
    var = float(np.var(y))
    return {"n": int(len(y)), "mse": mse, "rmse": float(np.sqrt(mse)),
            "mae": float(np.mean(np.abs(d))), "r2": 1.0 - mse / var if var > 0 else float("nan")}


def _format_metrics(m: dict[str, Any]) -> list[str]:
    if "accuracy" in m:
        lines = [f"accuracy  {m['accuracy']:.4f}", f"log-loss  {m['log_loss']:.4f}",
                 "confusion matrix (rows: true class, columns: predicted class)"]
        labels = [str(c) for c in m["classes"]]
        cm = m["confusion_matrix"]
        w = max([len(s) for s in labels] + [len(str(v)) for row in cm for v in row])
        lines.append(" " * (w + 2) + " ".join(s.rjust(w) for s in labels))
        lines += [f"{lab.rjust(w)}  " + " ".join(str(v).rjust(w) for v in row)
                  for lab, row in zip(labels, cm)]
        return lines
    return [f"MSE   {m['mse']:.6g}", f"RMSE  {m['rmse']:.6g}", f"MAE   {m['mae']:.6g}",
            f"R²    {m['r2']:.4f}"]


# --- train ------------------------------------------------------------------------------------

def _mse_on_probabilities(task: str, k: int) -> Callable:
    """The notes' quadratic loss on the output probabilities (NOTES.md 3), against the
    one-hot targets."""
    from . import functional as F
    from .nn import functional as NF

    def loss(z: Any, y: Any) -> Any:
        if task == "binary":
            return NF.mse_loss(z.sigmoid(), y)
        return NF.mse_loss(F.softmax(z, axis=1), F.one_hot(y, k).data.astype(z.data.dtype))
    return loss


def cmd_train(args: argparse.Namespace) -> int:
    from . import random as crandom
    from . import optim
    from .data import Standardizer, train_test_split
    from .io import atomic_write, save
    from .models import MLP
    from .train import fit

    start = time.perf_counter()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; expected a folder for the model and report")
    data = load_dataset(args.data, args.target, args.seed)
    task = _resolve_task(args.task, data.target, data)
    n, d = data.X.shape
    classes: list[Any] | None = None
    if task == "classification":
        classes, y = _encode_classes(data.target)
        if len(classes) < 2:
            raise DataError(f"{data.source}: the target {data.target_name!r} has only one class "
                            f"({classes[0]!r}); classification needs at least two")
        task = "binary" if len(classes) == 2 else "multiclass"
    else:
        y = data.target.astype(np.float64)
    stratify = y if task != "regression" else None
    if args.val_fraction > 0:
        Xtr, Xval, ytr, yval = train_test_split(data.X, y, test_size=args.val_fraction,
                                                rng=args.seed, stratify=stratify)
    else:
        Xtr, ytr, Xval, yval = data.X, y, None, None

    meta: dict[str, Any] = {"format": "chainrule-cli", "task": task, "features": data.features,
                            "target": data.target_name, "classes": classes,
                            "data": data.source, "hidden": args.hidden,
                            "activation": args.activation}
    scaler = None
    tmean, tscale = 0.0, 1.0
    if args.standardize:
        scaler = Standardizer().fit(Xtr)
        meta["standardizer"] = {"mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist()}
        if task == "regression":
            tmean, tscale = float(np.mean(ytr)), float(np.std(ytr)) or 1.0
            meta["target_standardizer"] = {"mean": tmean, "scale": tscale}

    def prepare(X: np.ndarray | None, t: np.ndarray | None) -> tuple | None:
        if X is None:
            return None
        Xs = (scaler.transform(X) if scaler is not None else X).astype(np.float32)
        if task == "binary":
            return Xs, t.astype(np.float32)
        if task == "multiclass":
            return Xs, t.astype(np.int64)
        return Xs, ((t - tmean) / tscale).astype(np.float32).reshape(-1, 1)

    train_xy, val_xy = prepare(Xtr, ytr), prepare(Xval, yval)
    n_out = 1 if task != "multiclass" else len(classes)
    crandom.manual_seed(args.seed)
    model = MLP([d, *args.hidden, n_out], activation=args.activation, task=task, rng=args.seed)
    loss_name = args.loss
    if loss_name == "auto":
        loss_name = "mse" if task == "regression" else "cross_entropy"
    if task == "regression" and loss_name != "mse":
        raise ConfigError(f"--loss {loss_name} needs class labels; a regression target takes "
                          "--loss mse")
    loss_fn = model.loss_fn if loss_name != "mse" or task == "regression" else \
        _mse_on_probabilities(task, n_out)
    meta["loss"] = loss_name
    lr = args.lr if args.lr is not None else OPTIMIZERS[args.optimizer]
    opt_cls = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
               "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad, "lbfgs": optim.LBFGS}
    optimizer = opt_cls[args.optimizer](model.parameters(), lr=lr)
    meta.update(optimizer=args.optimizer, lr=lr, epochs=args.epochs, batch_size=args.batch_size,
                seed=args.seed)
    # A diverging run ends in fit's own error ("the training loss became nan ... lower the
    # learning rate"); NumPy's overflow warnings on the way there would only bury it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = fit(model, loss_fn, optimizer, train_xy, val_xy, epochs=args.epochs,
                      batch_size=args.batch_size, rng=args.seed,
                      metrics=("accuracy",) if task != "regression" else (),
                      progress=False if args.no_progress else None,
                      desc=f"training on {Path(data.source).name}")

    model_path = save(model, out / MODEL_FILE, metadata=meta)
    saved = load_model(model_path)  # the report describes the model as a user will load it
    report: dict[str, Any] = {"data": data.source, "task": task, "target": data.target_name,
                              "features": data.features, "classes": classes,
                              "n_train": int(len(Xtr)), "n_val": 0 if Xval is None else int(len(Xval)),
                              "model": MODEL_FILE, "sizes": model.sizes,
                              "epochs_run": len(history), "options": _options(args)}
    for part, X, t in (("train", Xtr, ytr), ("validation", Xval, yval)):
        if X is not None:
            report[part] = (classification_metrics(saved.proba(X), t, classes)
                            if task != "regression" else regression_metrics(saved.values(X), t))
    history.to_csv(out / "history.csv")
    history.to_json(out / "history.json")
    graph = _graph(out, model, loss_fn, train_xy)
    report["plots"] = _train_plots(out, history, saved, data, y, task, args, graph)
    report["seconds"] = round(time.perf_counter() - start, 3)
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(report, f, indent=2)

    shown = report.get("validation") or report["train"]
    which = "validation" if "validation" in report else "training"
    score = (f"{which} accuracy {shown['accuracy']:.2%}, log-loss {shown['log_loss']:.4f}"
             if task != "regression" else f"{which} MSE {shown['mse']:.4g}, R² {shown['r2']:.3f}")
    print(f"trained MLP {'-'.join(map(str, model.sizes))} ({args.activation}, {task}) on "
          f"{data.source}: {report['n_train']} training / {report['n_val']} validation rows, "
          f"{len(history)} epochs in {report['seconds']:.1f} s; {score}")
    print(f"model: {model_path}")
    print(f"report: {out}/ (history.csv, history.json, metrics.json"
          + "".join(f", {p}" for p in report["plots"]) + ")")
    return 0


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if k not in ("func", "debug", "usage")}


def _train_plots(out: Path, history: Any, saved: Saved, data: Dataset, y: np.ndarray,
                 task: str, args: argparse.Namespace, graph: str) -> list[str]:
    files = [graph]
    if importlib.util.find_spec("matplotlib") is None:
        print("chainrule: note: matplotlib is not installed; no plots (pip install "
              "chainrule[plot])", file=sys.stderr)
        return files
    from .viz import plot_decision_boundary, plot_history, plot_weights
    name = Path(data.source).name
    files.append(plot_history(history, out / "loss_curve.png", keys=("loss", "val_loss"),
                              title=f"loss on {name}").name)
    if task != "regression":
        files.append(plot_history(history, out / "accuracy_curve.png",
                                  keys=("accuracy", "val_accuracy"),
                                  title=f"accuracy on {name}").name)
        if data.X.shape[1] == 2:
            files.append(plot_decision_boundary(
                lambda G: saved.proba(G.astype(np.float64)).argmax(axis=1), data.X, y,
                out / "decision_boundary.png", title=f"decision boundary on {name}",
                labels=(data.features[0], data.features[1])).name)
    if args.hidden and data.features == [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]:
        # 8×8 digit pixels: each first-layer unit's weights as an image (learned features).
        files.append(plot_weights(saved.model.layers[0].weight.data, out / "hidden_units.png",
                                  title="first hidden layer: each unit's weights").name)
    return files


def _graph(out: Path, model: Any, loss_fn: Callable, train_xy: tuple) -> str:
    """The computation graph of the training loss on two training rows, as DOT (and SVG)."""
    from .tensor import Tensor
    from .viz import render
    x = Tensor(train_xy[0][:2], name="x")
    y = Tensor(train_xy[1][:2], name="y")
    loss = loss_fn(model(x), y)
    files = render(loss, out / "graph", params={"x": x, "y": y, **dict(model.named_parameters())})
    return ", ".join(f.name for f in files)


# --- predict and evaluate ---------------------------------------------------------------------

def _label_text(v: Any) -> str:
    return v if isinstance(v, str) else repr(v) if isinstance(v, float) else str(v)


def cmd_predict(args: argparse.Namespace) -> int:
    saved = load_model(args.model)
    table = read_csv(args.csv)
    X = _features_for(saved, table, args.target)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if saved.task == "regression":
        w.writerow(["prediction"])
        w.writerows([f"{v:.8g}"] for v in saved.values(X))
    else:
        proba = saved.proba(X)
        w.writerow(["prediction"] + [f"probability_{_label_text(c)}" for c in saved.classes])
        for row in proba:
            w.writerow([_label_text(saved.classes[int(row.argmax())])]
                       + [f"{p:.6g}" for p in row])
    if args.out in (None, "-"):
        sys.stdout.write(buf.getvalue())
    else:
        from .io import atomic_write
        with atomic_write(args.out, "w", newline="") as f:
            f.write(buf.getvalue())
        print(f"wrote {table.n_rows} predictions to {args.out}", file=sys.stderr)
    return 0


def _class_indices(values: Sequence[str], classes: list[Any], table: Table, name: str) -> np.ndarray:
    numeric = all(not isinstance(c, str) for c in classes)
    lookup = {(float(c) if numeric else str(c)): i for i, c in enumerate(classes)}
    out, unknown = [], []
    for v, line in zip(values, table.lines):
        try:
            key = float(v) if numeric else v
        except ValueError:
            key = v
        if key not in lookup:
            unknown.append(f"{v!r} (line {line})")
            continue
        out.append(lookup[key])
    if unknown:
        raise DataError(f"{table.source}: the target column {name!r} has labels the model does "
                        f"not know: {_names(unknown, 5)}; its classes are "
                        + ", ".join(_label_text(c) for c in classes))
    return np.asarray(out, dtype=np.int64)


def cmd_evaluate(args: argparse.Namespace) -> int:
    saved = load_model(args.model)
    table = read_csv(args.csv)
    target = table.check_target(args.target or saved.target, f"{saved.path} does not record "
                                "its target column; name it with --target")
    X = _features_for(saved, table, target)
    if saved.task == "regression":
        y = table.numeric([target], what="target")[:, 0]
        m = regression_metrics(saved.values(X), y)
    else:
        y = _class_indices(table.column(target), saved.classes, table, target)
        m = classification_metrics(saved.proba(X), y, saved.classes)
    m = {"model": saved.path, "data": table.source, "target": target, "task": saved.task, **m}
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        print(f"{saved.path} on {table.source}: {m['n']} rows, target {target!r} ({saved.task})")
        print("\n".join(_format_metrics(m)))
    return 0


# --- gradcheck --------------------------------------------------------------------------------

def _swap(owner: Any, attr: str, value: Any) -> Any:
    old = getattr(owner, attr)
    setattr(owner, attr, value)
    return old


def check_model_gradients(model: Any, n_features: int, batch: int = 3, max_elements: int = 100,
                          seed: int = 0, atol: float = 1e-5, rtol: float = 1e-4) -> list[dict[str, Any]]:
    """Check every parameter's gradient of ``model(x)`` on random float64 inputs, in reverse
    and forward mode, against central differences (:func:`chainrule.check_grad`).

    Parameters with more than ``max_elements`` entries are checked on that many entries
    chosen at random (the rest held fixed), which keeps big models to seconds. The model is
    switched to float64 and eval mode in place (dropout off).

    Args:
        model: a Module mapping (batch, n_features) inputs to outputs.
        n_features: the width of the random inputs.
        batch: how many random inputs (standard normal).
        max_elements: the most entries checked per parameter.
        seed: seeds the inputs, the sampled entries and the random cotangent.
        atol: absolute tolerance of :func:`chainrule.check_grad`.
        rtol: relative tolerance.

    Returns:
        One dict per parameter: name, shape, checked, total, reverse and forward error, and
        ``error`` (the GradcheckError message) when the check failed.
    """
    from . import functional as F
    from .gradcheck import GradcheckError, check_grad
    from .tensor import Tensor
    model.double().eval()
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((batch, n_features)))
    modules = dict(model.named_modules())
    results = []
    for name, p in list(model.named_parameters()):
        owner_name, _, attr = name.rpartition(".")
        owner = modules[owner_name]
        full = np.asarray(p.data, dtype=np.float64)
        shape, size = full.shape, full.size
        if size <= max_elements:
            def f(w: Any, owner: Any = owner, attr: str = attr, p: Any = p) -> Any:
                old = _swap(owner, attr, w)
                try:
                    return model(x)
                finally:
                    _swap(owner, attr, old)
            point, checked = full, size
        else:
            idx = np.sort(rng.choice(size, max_elements, replace=False))
            rest = np.setdiff1d(np.arange(size), idx)
            inverse = np.argsort(np.concatenate([idx, rest]))
            fixed = Tensor(full.reshape(-1)[rest])

            def f(sub: Any, owner: Any = owner, attr: str = attr, fixed: Any = fixed,
                  inverse: Any = inverse, shape: Any = shape) -> Any:
                # The checked entries are the inputs; the others are constants in place.
                w = F.concatenate([sub, fixed])[inverse].reshape(shape)
                old = _swap(owner, attr, w)
                try:
                    return model(x)
                finally:
                    _swap(owner, attr, old)
            point, checked = full.reshape(-1)[idx], max_elements
        entry: dict[str, Any] = {"name": name, "shape": list(shape), "checked": checked,
                                 "total": size}
        try:
            rep = check_grad(f, point, atol=atol, rtol=rtol, name=name, seed=seed)
            entry.update(reverse_error=rep.reverse_error, forward_error=rep.forward_error)
        except GradcheckError as exc:
            entry["error"] = str(exc)
        results.append(entry)
    return results


def check_ops(seed: int = 0) -> list[dict[str, Any]]:
    """Every registered primitive through :func:`chainrule.check_grad`, both AD modes, on the
    sample inputs the gradient test uses (:mod:`chainrule.samples`)."""
    from . import OPS
    from .gradcheck import GradcheckError, check_grad
    from .samples import collect
    table = collect()
    results = []
    for name in OPS:
        cases = table.get(name, [])
        entry: dict[str, Any] = {"name": name, "cases": 0, "reverse_error": 0.0,
                                 "forward_error": 0.0}
        if not cases:
            entry["skipped"] = "no samples in chainrule/samples"
        for i, case in enumerate(cases):
            label = case.id or str(i)
            try:
                rep = check_grad(case.f, *case.inputs, name=f"{name}[{label}]", seed=seed, **case.tol)
            except GradcheckError as exc:
                entry.setdefault("errors", []).append(str(exc))
                continue
            entry["cases"] += 1
            entry["reverse_error"] = max(entry["reverse_error"], rep.reverse_error)
            entry["forward_error"] = max(entry["forward_error"], rep.forward_error)
        results.append(entry)
    return results


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from .gradcheck import GradcheckError
    failed: list[str] = []
    if args.ops:
        results = check_ops(seed=args.seed)
        print(f"gradcheck: {len(results)} registered primitives, float64, reverse and forward "
              "mode vs central differences")
        print(f"{'op':<14} {'samples':>7} {'reverse error':>14} {'forward error':>14}  result")
        for r in results:
            status = ("FAILED" if "errors" in r else f"skipped ({r['skipped']})"
                      if "skipped" in r else "ok")
            print(f"{r['name']:<14} {r['cases']:>7} {r['reverse_error']:>14.2e} "
                  f"{r['forward_error']:>14.2e}  {status}")
            for e in r.get("errors", []):
                print(f"    {e}")
            if "errors" in r:
                failed.append(r["name"])
    if args.model is not None:
        saved = load_model(args.model)
        n_in = saved.n_features
        if n_in is None:
            raise FileFormatError(f"{args.model}: cannot tell how many inputs the model takes "
                                  "(no recorded features and no layer with in_features)")
        results = check_model_gradients(saved.model, n_in, batch=args.batch,
                                        max_elements=args.max_elements, seed=args.seed,
                                        atol=args.atol, rtol=args.rtol)
        print(f"gradcheck {args.model}: float64, {args.batch} random inputs, reverse and forward "
              "mode vs central differences of model(x)")
        width = max([len(r["name"]) for r in results] + [9])
        print(f"{'parameter':<{width}} {'shape':<12} {'checked':>11} {'reverse error':>14} "
              f"{'forward error':>14}  result")
        for r in results:
            shape = str(tuple(r["shape"]))
            checked = f"{r['checked']}/{r['total']}"
            if "error" in r:
                print(f"{r['name']:<{width}} {shape:<12} {checked:>11} {'':>14} {'':>14}  FAILED")
                print(f"    {r['error']}")
                failed.append(r["name"])
            else:
                print(f"{r['name']:<{width}} {shape:<12} {checked:>11} {r['reverse_error']:>14.2e} "
                      f"{r['forward_error']:>14.2e}  ok")
    if failed:
        raise GradcheckError(f"gradients disagree with finite differences for {_names(failed)}")
    print("all gradients agree with finite differences")
    return 0


# --- explain ----------------------------------------------------------------------------------

def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import backprop_trace
    from .nn import Linear, Sequential, Sigmoid
    from .nn import functional as NF
    from .tensor import Tensor
    sizes = args.sizes
    rng = np.random.default_rng(args.seed)
    layers: list[Any] = []
    state = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [Linear(a, b, rng=rng), Sigmoid()]
        # Two-decimal weights, so every product in the table can be checked by hand.
        state[f"{2 * k}.weight"] = np.round(rng.uniform(-1, 1, (b, a)), 2)
        state[f"{2 * k}.bias"] = np.round(rng.uniform(-1, 1, b), 2)
    net = Sequential(*layers).double()
    net.load_state_dict(state)
    x = args.x if args.x is not None else [round(0.05 * (i + 1), 2) for i in range(sizes[0])]
    y = args.target if args.target is not None else [1.0] * sizes[-1]
    if len(x) != sizes[0] or len(y) != sizes[-1]:
        raise ShapeError(f"explain: the {'-'.join(map(str, sizes))} network takes {sizes[0]} "
                         f"input(s) and {sizes[-1]} target(s); got --x with {len(x)} and "
                         f"--target with {len(y)}")
    trace = backprop_trace(net, x, y, lr=args.lr, loss=args.loss)
    # The same step by the engine: reverse-mode AD must give the hand method's numbers.
    out = net(Tensor(np.asarray(x, dtype=np.float64).reshape(1, -1)))
    t = np.asarray(y, dtype=np.float64).reshape(1, -1)
    E = (NF.half_sum_squared_error(out, t) if args.loss == "squared"
         else NF.binary_cross_entropy(out, t, reduction="sum"))
    E.backward()
    want = trace.gradients()
    diff = max(float(np.max(np.abs(p.grad - want[n]))) for n, p in net.named_parameters())
    if args.json:
        print(json.dumps({**trace.to_dict(), "engine_max_difference": diff}, indent=2))
        return 0
    print(trace.table(digits=args.digits))
    print(f"\nCheck: loss.backward() by the engine (reverse-mode AD) gives the same gradients; "
          f"largest difference {diff:.1e}")
    return 0


# --- info and demo ----------------------------------------------------------------------------

EXTRAS = [  # (distribution, module, what it adds)
    ("scikit-learn", "sklearn", "digits data, estimators"),
    ("tqdm", "tqdm", "progress bars"),
    ("matplotlib", "matplotlib", "plots"),
    ("safetensors", "safetensors", "model files"),
    ("onnx", "onnx", "ONNX export"),
    ("onnxruntime", "onnxruntime", "checking ONNX files"),
    ("zarr", "zarr", "MNIST"),
    ("cupy", "cupy", "GPU arrays"),
    ("torch", "torch", "reference tests and benchmarks"),
]


def _installed(dist: str, module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "installed"


def cmd_info(args: argparse.Namespace) -> int:
    import chainrule
    extras = {dist: _installed(dist, module) for dist, module, _ in EXTRAS}
    dot = shutil.which("dot")
    info = {"chainrule": chainrule.__version__, "python": sys.version.split()[0],
            "numpy": np.__version__, "extras": extras, "graphviz_dot": dot,
            "ops": list(chainrule.OPS)}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"chainrule {info['chainrule']} (Python {info['python']}, NumPy {info['numpy']})")
    print("optional extras:")
    for dist, _, what in EXTRAS:
        print(f"  {dist:<13} {extras[dist] or 'not installed':<14} {what}")
    print(f"  {'graphviz dot':<13} {'found' if dot else 'not found':<14} SVG computation graphs")
    print(f"{len(chainrule.OPS)} primitives: " + ", ".join(chainrule.OPS))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run
    run(args.out, seed=args.seed, plots=not args.no_plots,
        progress=False if args.no_progress else True)
    return 0


# --- the parser -------------------------------------------------------------------------------

def _ints(text: str) -> list[int]:
    """``"64,32"`` → [64, 32]; ``""`` or ``"none"`` → [] (no hidden layer)."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers such as "
                                          f"64,32; got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1; got {text!r}")
    return values


def _sizes(text: str) -> list[int]:
    values = _ints(text)
    if len(values) < 2:
        raise argparse.ArgumentTypeError(f"expected at least two sizes (inputs, outputs) such "
                                         f"as 2,2,1; got {text!r}")
    return values


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers; got {text!r}") from None


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}; got {text!r}") from None
        if not v > 0:
            raise argparse.ArgumentTypeError(f"must be > 0; got {text}")
        return v
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1); got {text}")
    return v


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``chainrule`` command."""
    import chainrule
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="chainrule", formatter_class=fmt,
        description=_wrap("Neural networks from the lecture notes, on NumPy: train, predict, "
                          "evaluate, check gradients, and watch backpropagation step by step."),
        epilog="examples:\n"
               "  chainrule train moons --out runs/moons\n"
               "  chainrule train data.csv --target label --hidden 32 --epochs 100 --out runs/mine\n"
               "  chainrule predict runs/mine/model.safetensors new.csv --out predictions.csv\n"
               "  chainrule evaluate runs/mine/model.safetensors test.csv\n"
               "  chainrule gradcheck runs/mine/model.safetensors\n"
               "  chainrule explain\n\n"
               "exit codes: 0 success, 1 data or file error, 2 usage error")
    parser.add_argument("--version", action="version", version=f"chainrule {chainrule.__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train", parents=[common], formatter_class=fmt,
        help="train an MLP on a CSV file or a bundled data set",
        description=_wrap("Train a multilayer perceptron and write DIR/model.safetensors and a "
                          "report: history.csv/.json, metrics.json, graph.dot (the loss's "
                          "computation graph) and, with matplotlib, loss and accuracy curves, "
                          "the decision boundary of 2-D classifiers and the hidden units of "
                          "digits networks."),
        epilog="bundled data sets:\n" + "\n".join(f"  {k:<12} {v[1]}" for k, v in DATASETS.items())
               + "\n\n" + _wrap("The task is detected from the target: labels, or whole "
                                 f"numbers with at most {MAX_CLASSES} distinct values, are "
                                 "classes; other numbers are a regression target."))
    p.add_argument("data", metavar="DATA", help="a CSV file with a header row, or a bundled set")
    p.add_argument("--target", metavar="COLUMN", help="the target column (required for CSV)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the model and report")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="default: auto-detect from the target")
    p.add_argument("--hidden", type=_ints, default=[64, 32], metavar="SIZES",
                   help="hidden layer sizes, comma-separated (default: 64,32; 'none' for none)")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                   help="hidden-unit activation (default: relu)")
    p.add_argument("--loss", choices=("auto", "cross_entropy", "mse"), default="auto",
                   help="cross_entropy for classes, mse for regression (default: auto); mse on "
                        "classes is the notes' quadratic loss on the probabilities")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                   help="default: adam")
    p.add_argument("--lr", type=_positive(float), metavar="η", help="learning rate (default: "
                   + ", ".join(f"{k} {v:g}" for k, v in OPTIMIZERS.items()) + ")")
    p.add_argument("--epochs", type=_positive(int), default=50, metavar="N", help="default: 50")
    p.add_argument("--batch-size", type=_positive(int), default=32, metavar="N",
                   help="default: 32")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, weights and batches "
                   "(default: 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.2, metavar="F",
                   help="held-out fraction for validation, 0 for none (default: 0.2)")
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True,
                   help="scale features (and regression targets) to mean 0, std 1 using the "
                        "training rows; saved in the model file (default: on)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", parents=[common], help="predictions (and probabilities) as CSV",
                       description="Predict with a model file from `chainrule train`; the CSV's "
                                   "columns are matched to the model's features by name (a "
                                   "target column is ignored).")
    p.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    p.add_argument("csv", metavar="CSV", help="rows to predict, with a header row")
    p.add_argument("--out", metavar="OUT.csv", help="output CSV (default: standard output)")
    p.add_argument("--target", metavar="COLUMN",
                   help="a column to ignore (default: the model's target column)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", parents=[common], help="metrics on labelled data",
                       description="Accuracy, log-loss and the confusion matrix (classes) or "
                                   "MSE, MAE and R² (regression) of a model on a labelled CSV.")
    p.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    p.add_argument("csv", metavar="CSV", help="labelled rows, with a header row")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column (default: the one the model was trained on)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("gradcheck", parents=[common],
                       help="check gradients against finite differences",
                       description="Check a saved model's parameter gradients (float64, random "
                                   "inputs) and/or every registered primitive (--ops), in "
                                   "reverse and forward mode, against central differences. "
                                   "Exit code 1 if any disagree.")
    p.add_argument("model", metavar="MODEL", nargs="?", help="a .safetensors model file")
    p.add_argument("--ops", action="store_true", help="check every registered primitive")
    p.add_argument("--batch", type=_positive(int), default=3, help="random inputs (default: 3)")
    p.add_argument("--max-elements", type=_positive(int), default=100,
                   help="entries checked per parameter, chosen at random (default: 100)")
    p.add_argument("--atol", type=_positive(float), default=1e-5, help="default: 1e-5")
    p.add_argument("--rtol", type=_positive(float), default=1e-4, help="default: 1e-4")
    p.add_argument("--seed", type=int, default=0, help="default: 0")
    p.set_defaults(func=cmd_gradcheck, usage=p)

    p = sub.add_parser("explain", parents=[common],
                       help="one backpropagation step by hand (NOTES.md 4)",
                       description="Print one training step of a small sigmoid network in the "
                                   "notes' notation: z, y, the deltas δ_j = y_j(1 − y_j) Σ_k "
                                   "w_jk δ_k, each weight's gradient δ_j y_i and its update.")
    p.add_argument("--sizes", type=_sizes, default=[2, 2, 1], help="layer sizes (default: 2,2,1)")
    p.add_argument("--x", type=_floats, help="the input (default: 0.05, 0.1, ...)")
    p.add_argument("--target", type=_floats, help="the wanted outputs y* (default: 1 each)")
    p.add_argument("--lr", type=_positive(float), default=0.5, metavar="η", help="default: 0.5")
    p.add_argument("--loss", choices=("squared", "log"), default="squared",
                   help="E = ½Σ(y* − y)² (default) or the log-loss")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights (default: 0)")
    p.add_argument("--digits", type=_positive(int), default=6, help="significant digits")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("demo", parents=[common],
                       help="train the notes' networks on bundled data and write a report")
    p.add_argument("--out", default="runs/demo", help="report folder (default: runs/demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("info", parents=[common],
                       help="version, optional extras and registered ops")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_info)
    return parser


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``chainrule`` command with ``argv`` (default: ``sys.argv[1:]``).

    Returns:
        The exit code: 0 success, 1 data or file error, 2 usage error.

    >>> main(["explain", "--json"]) == 0   # doctest: +ELLIPSIS
    {...
    True
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "gradcheck" and args.model is None and not args.ops:
            args.usage.error("give a MODEL file, --ops, or both")
    except SystemExit as exc:  # --help and --version (0), usage errors (2)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return int(args.func(args) or 0)
    except (ChainruleError, OSError) as exc:
        if args.debug:
            raise
        print(f"chainrule: error: {_message(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


__all__ = ["main", "build_parser", "read_csv", "load_dataset", "load_model", "Table", "Dataset",
           "Saved", "check_model_gradients", "check_ops", "classification_metrics",
           "regression_metrics", "DATASETS"]
