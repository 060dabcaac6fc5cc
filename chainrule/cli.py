"""The ``chainrule`` command (also ``python -m chainrule``).

Subcommands: ``train`` (a CSV file or a bundled data set → a model file and a report
folder), ``predict``, ``evaluate``, ``gradcheck`` (a saved model, or every registered
primitive, against finite differences in both AD modes), ``explain`` (one backprop step by
hand, NOTES.md 4), ``demo`` and ``info``.

Every command is argument parsing and presentation over library calls a user can make from
Python: :func:`chainrule.data.load_dataset`, :func:`chainrule.io.load_model`,
:mod:`chainrule.metrics`, :func:`chainrule.gradcheck.check_model_gradients`, ...

Exit codes: 0 success; 2 usage errors (argparse's); 1 data and file errors, reported as one
line ``chainrule: error: ...`` on stderr, with the traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, optim
from . import random as crandom
from .data import (
    BUNDLED_DATASETS, MAX_CLASSES, Standardizer, Table, TabularData, encode_target, load_dataset,
    read_csv, train_test_split,
)
from .data.sources import DIGIT_PIXELS
from .errors import ChainruleError, ConfigError, FileFormatError, MissingDependency, ShapeError
from .gradcheck import GradcheckError, check_model_gradients, check_ops
from .io import atomic_write, load_model, save
from .metrics import classification_metrics, regression_metrics
from .models import MLP, SavedModel
from .models.heads import get_head
from .models.saved import label_text, short_list
from .nn import HIDDEN_ACTIVATIONS
from .ops import OPS
from .optional import install_hint, installed_version
from .train import fit
from .validate import check_number

MODEL_FILE = "model.safetensors"
#: --optimizer name -> (class, default learning rate).
OPTIMIZERS = {"sgd": (optim.SGD, 0.1), "adam": (optim.Adam, 0.01), "adamw": (optim.AdamW, 0.01),
              "rmsprop": (optim.RMSprop, 0.01), "adagrad": (optim.Adagrad, 0.1),
              "lbfgs": (optim.LBFGS, 1.0)}


# --- train ------------------------------------------------------------------------------------

def _split(X: np.ndarray, y: np.ndarray, task: str, fraction: float, seed: int) -> tuple:
    """(X_train, y_train, X_val, y_val); the validation pair is None for fraction 0."""
    if fraction <= 0:
        return X, y, None, None
    stratify = y if get_head(task).is_classifier else None
    Xtr, Xval, ytr, yval = train_test_split(X, y, test_size=fraction, rng=seed, stratify=stratify)
    return Xtr, ytr, Xval, yval


def _preprocessing(model: MLP, data: TabularData, task: str, classes: list[Any] | None,
                   Xtr: np.ndarray, ytr: np.ndarray, standardize: bool) -> SavedModel:
    """The model with its names, classes and (fitted on the training rows) standardization."""
    mean = scale = None
    tmean, tscale = 0.0, 1.0
    if standardize:
        scaler = Standardizer().fit(Xtr)
        mean, scale = scaler.mean_, scaler.scale_
        if task == "regression":
            tmean, tscale = float(np.mean(ytr)), float(np.std(ytr)) or 1.0
    return SavedModel(model, "", task, data.features, data.target_name, classes, mean, scale,
                      tmean, tscale)


def _loss(name: str, task: str) -> tuple[str, Callable]:
    """The --loss name (``auto`` resolved) and the loss function: the head's own objective,
    or the notes' quadratic loss on the output probabilities (NOTES.md 3)."""
    head = get_head(task)
    if name == "auto":
        name = "cross_entropy" if head.is_classifier else "mse"
    if not head.is_classifier and name != "mse":
        raise ConfigError(f"--loss {name} needs class labels; a regression target takes "
                          "--loss mse")
    return name, head.quadratic_loss if name == "mse" and head.is_classifier else head.loss()


def cmd_train(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; expected a folder for the model and report")
    data = load_dataset(args.data, args.target, args.seed)
    task, classes, y = encode_target(data, args.task)
    Xtr, ytr, Xval, yval = _split(data.X, y, task, args.val_fraction, args.seed)
    crandom.manual_seed(args.seed)
    n_out = get_head(task).n_outputs(len(classes) if classes else 1)
    model = MLP([data.X.shape[1], *args.hidden, n_out], activation=args.activation, task=task,
                rng=args.seed)
    spec = _preprocessing(model, data, task, classes, Xtr, ytr, args.standardize)
    loss_name, loss_fn = _loss(args.loss, task)
    opt_cls, default_lr = OPTIMIZERS[args.optimizer]
    lr = args.lr if args.lr is not None else default_lr
    train_xy = (spec.inputs(Xtr), spec.targets(ytr))
    val_xy = None if Xval is None else (spec.inputs(Xval), spec.targets(yval))
    # A diverging run ends in fit's own error ("the training loss became nan ... lower the
    # learning rate"); NumPy's overflow warnings on the way there would only bury it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = fit(model, loss_fn, opt_cls(model.parameters(), lr=lr), train_xy, val_xy,
                      epochs=args.epochs, batch_size=args.batch_size, rng=args.seed,
                      metrics=("accuracy",) if spec.head.is_classifier else (),
                      progress=False if args.no_progress else None,
                      desc=f"training on {Path(data.source).name}")
    meta = {"format": "chainrule-cli", **spec.metadata(), "data": data.source,
            "hidden": args.hidden, "activation": args.activation, "loss": loss_name,
            "optimizer": args.optimizer, "lr": lr, "epochs": args.epochs,
            "batch_size": args.batch_size, "seed": args.seed}
    model_path = save(model, out / MODEL_FILE, metadata=meta)
    saved = load_model(model_path)  # the report describes the model as a user will load it
    report: dict[str, Any] = {
        "data": data.source, "task": task, "target": data.target_name, "features": data.features,
        "classes": classes, "n_train": int(len(Xtr)), "n_val": 0 if Xval is None else int(len(Xval)),
        "model": MODEL_FILE, "sizes": model.sizes, "epochs_run": len(history),
        "options": {k: v for k, v in vars(args).items() if k not in ("func", "debug", "usage")}}
    for part, X, t in (("train", Xtr, ytr), ("validation", Xval, yval)):
        if X is not None:
            report[part] = _metrics(saved, X, t)
    history.to_csv(out / "history.csv")
    history.to_json(out / "history.json")
    report["plots"] = [_graph(out, model, loss_fn, train_xy),
                       *_train_plots(out, history, saved, data, y, args.hidden)]
    report["seconds"] = round(time.perf_counter() - start, 3)
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(report, f, indent=2)
    _print_trained(report, model, args.activation, history, model_path, out)
    return 0


def _metrics(saved: SavedModel, X: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Classification metrics from class indices, or regression metrics from values."""
    if saved.head.is_classifier:
        return classification_metrics(y, saved.proba(X), saved.classes)
    return regression_metrics(y, saved.values(X))


def _print_trained(report: dict[str, Any], model: MLP, activation: str, history: Any,
                   model_path: Path, out: Path) -> None:
    shown = report.get("validation") or report["train"]
    which = "validation" if "validation" in report else "training"
    score = (f"{which} accuracy {shown['accuracy']:.2%}, log-loss {shown['log_loss']:.4f}"
             if "accuracy" in shown else f"{which} MSE {shown['mse']:.4g}, R² {shown['r2']:.3f}")
    print(f"trained MLP {'-'.join(map(str, model.sizes))} ({activation}, {report['task']}) on "
          f"{report['data']}: {report['n_train']} training / {report['n_val']} validation rows, "
          f"{len(history)} epochs in {report['seconds']:.1f} s; {score}")
    print(f"model: {model_path}")
    print(f"report: {out}/ (history.csv, history.json, metrics.json"
          + "".join(f", {p}" for p in report["plots"]) + ")")


def _train_plots(out: Path, history: Any, saved: SavedModel, data: TabularData, y: np.ndarray,
                 hidden: list[int]) -> list[str]:
    """Loss and accuracy curves, a 2-D classifier's decision boundary, a digits network's
    hidden units: the files written (none without matplotlib)."""
    from .viz import plot_decision_boundary, plot_history, plot_weights
    name = Path(data.source).name
    try:
        files = [plot_history(history, out / "loss_curve.png", keys=("loss", "val_loss"),
                              title=f"loss on {name}")]
    except MissingDependency:
        print("chainrule: note: matplotlib is not installed; no plots "
              f"({install_hint('plot')})", file=sys.stderr)
        return []
    if saved.head.is_classifier:
        files.append(plot_history(history, out / "accuracy_curve.png",
                                  keys=("accuracy", "val_accuracy"), title=f"accuracy on {name}"))
        if data.X.shape[1] == 2:
            files.append(plot_decision_boundary(
                lambda G: saved.predict_indices(G.astype(np.float64)), data.X, y,
                out / "decision_boundary.png", title=f"decision boundary on {name}",
                labels=(data.features[0], data.features[1])))
    if hidden and data.features == DIGIT_PIXELS:
        # 8×8 digit pixels: each first-layer unit's weights as an image (learned features).
        files.append(plot_weights(saved.model.layers[0].weight.data, out / "hidden_units.png",
                                  title="first hidden layer: each unit's weights"))
    return [f.name for f in files]


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

def _features(saved: SavedModel, table: Table, target: str | None) -> np.ndarray:
    X, ignored = saved.feature_matrix(table, target)
    if ignored:
        print(f"chainrule: note: ignoring column(s) the model was not trained on: "
              f"{short_list(ignored)}", file=sys.stderr)
    return X


def cmd_predict(args: argparse.Namespace) -> int:
    saved = load_model(args.model)
    table = read_csv(args.csv)
    X = _features(saved, table, args.target)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if not saved.head.is_classifier:
        w.writerow(["prediction"])
        w.writerows([f"{v:.8g}"] for v in saved.values(X))
    else:
        z = saved.outputs(X)
        w.writerow(["prediction"] + [f"probability_{label_text(c)}" for c in saved.classes])
        for i, row in zip(saved.head.predict(z), saved.head.proba(z)):
            w.writerow([label_text(saved.classes[int(i)])] + [f"{p:.6g}" for p in row])
    if args.out in (None, "-"):
        sys.stdout.write(buf.getvalue())
    else:
        with atomic_write(args.out, "w", newline="") as f:
            f.write(buf.getvalue())
        print(f"wrote {table.n_rows} predictions to {args.out}", file=sys.stderr)
    return 0


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


def cmd_evaluate(args: argparse.Namespace) -> int:
    saved = load_model(args.model)
    table = read_csv(args.csv)
    target = table.check_target(args.target or saved.target, f"{saved.path} does not record "
                                "its target column; name it with --target")
    X = _features(saved, table, target)
    if saved.head.is_classifier:
        y = saved.label_indices(table, target)
    else:
        y = table.numeric([target], what="target")[:, 0]
    m = {"model": saved.path, "data": table.source, "target": target, "task": saved.task,
         **_metrics(saved, X, y)}
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        print(f"{saved.path} on {table.source}: {m['n']} rows, target {target!r} ({saved.task})")
        print("\n".join(_format_metrics(m)))
    return 0


# --- gradcheck --------------------------------------------------------------------------------

def _gradcheck_ops(seed: int) -> list[str]:
    """Check and print every registered primitive; the names that failed."""
    results = check_ops(seed=seed)
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
    return [r["name"] for r in results if "errors" in r]


def _gradcheck_model(args: argparse.Namespace) -> list[str]:
    """Check and print a saved model's parameters; the names that failed."""
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
        checked = f"{r['checked']}/{r['total']}"
        row = f"{r['name']:<{width}} {str(tuple(r['shape'])):<12} {checked:>11}"
        if "error" in r:
            print(f"{row} {'':>14} {'':>14}  FAILED")
            print(f"    {r['error']}")
        else:
            print(f"{row} {r['reverse_error']:>14.2e} {r['forward_error']:>14.2e}  ok")
    return [r["name"] for r in results if "error" in r]


def cmd_gradcheck(args: argparse.Namespace) -> int:
    failed = _gradcheck_ops(args.seed) if args.ops else []
    if args.model is not None:
        failed += _gradcheck_model(args)
    if failed:
        raise GradcheckError(f"gradients disagree with finite differences for {short_list(failed)}")
    print("all gradients agree with finite differences")
    return 0


# --- explain, info and demo -------------------------------------------------------------------

def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import backprop_trace, engine_difference, example_network
    sizes = args.sizes
    net = example_network(sizes, seed=args.seed)
    x = args.x if args.x is not None else [round(0.05 * (i + 1), 2) for i in range(sizes[0])]
    y = args.target if args.target is not None else [1.0] * sizes[-1]
    if len(x) != sizes[0] or len(y) != sizes[-1]:
        raise ShapeError(f"explain: the {'-'.join(map(str, sizes))} network takes {sizes[0]} "
                         f"input(s) and {sizes[-1]} target(s); got --x with {len(x)} and "
                         f"--target with {len(y)}")
    trace = backprop_trace(net, x, y, lr=args.lr, loss=args.loss)
    # The same step by the engine: reverse-mode AD must give the hand method's numbers.
    diff = engine_difference(net, trace)
    if args.json:
        print(json.dumps({**trace.to_dict(), "engine_max_difference": diff}, indent=2))
        return 0
    print(trace.table(digits=args.digits))
    print(f"\nCheck: loss.backward() by the engine (reverse-mode AD) gives the same gradients; "
          f"largest difference {diff:.1e}")
    return 0


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


def cmd_info(args: argparse.Namespace) -> int:
    extras = {dist: installed_version(module, dist) for dist, module, _ in EXTRAS}
    dot = shutil.which("dot")
    info = {"chainrule": __version__, "python": sys.version.split()[0],
            "numpy": np.__version__, "extras": extras, "graphviz_dot": dot, "ops": list(OPS)}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"chainrule {info['chainrule']} (Python {info['python']}, NumPy {info['numpy']})")
    print("optional extras:")
    for dist, _, what in EXTRAS:
        print(f"  {dist:<13} {extras[dist] or 'not installed':<14} {what}")
    print(f"  {'graphviz dot':<13} {'found' if dot else 'not found':<14} SVG computation graphs")
    print(f"{len(OPS)} primitives: " + ", ".join(OPS))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo
    demo.run(args.out, seed=args.seed, plots=not args.no_plots,
             progress=False if args.no_progress else True)
    return 0


# --- argument types ---------------------------------------------------------------------------

def _number(kind: type, rule: str, noun: str | None = None, **bounds: Any) -> Callable[[str], Any]:
    """An argparse type: text -> ``kind`` checked by :func:`check_number` with ``bounds``;
    ``rule`` says the bounds in the usage error ("> 0", "in [0, 1)"), ``noun`` the kind."""
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {noun or kind.__name__}; got "
                                             f"{text!r}") from None
        try:
            return check_number(v, "value", "chainrule", integer=kind is int, **bounds)
        except ConfigError:
            raise argparse.ArgumentTypeError(f"must be {rule}; got {text}") from None
    parse.__name__ = f"{kind.__name__} {rule}"
    return parse


_positive_int = _number(int, "> 0", low=0, low_open=True)
_positive_float = _number(float, "> 0", low=0, low_open=True)
_fraction = _number(float, "in [0, 1)", "number", low=0, high=1, high_open=True)


def _ints(text: str) -> list[int]:
    """``"64,32"`` → [64, 32]; ``""`` or ``"none"`` → [] (no hidden layer)."""
    if text.strip().lower() in ("", "none", "0"):
        return []
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers such as "
                                         f"64,32; got {text!r}") from None
    try:
        return [check_number(v, "size", "chainrule", low=1, integer=True) for v in values]
    except ConfigError:
        raise argparse.ArgumentTypeError(f"layer sizes must be >= 1; got {text!r}") from None


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


# --- the parser: one builder per command ------------------------------------------------------

def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


_FMT = argparse.RawDescriptionHelpFormatter


def _add_train(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "train", parents=[common], formatter_class=_FMT,
        help="train an MLP on a CSV file or a bundled data set",
        description=_wrap("Train a multilayer perceptron and write DIR/model.safetensors and a "
                          "report: history.csv/.json, metrics.json, graph.dot (the loss's "
                          "computation graph) and, with matplotlib, loss and accuracy curves, "
                          "the decision boundary of 2-D classifiers and the hidden units of "
                          "digits networks."),
        epilog="bundled data sets:\n"
               + "\n".join(f"  {k:<12} {v[1]}" for k, v in BUNDLED_DATASETS.items())
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
    p.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="relu",
                   help="hidden-unit activation (default: relu)")
    p.add_argument("--loss", choices=("auto", "cross_entropy", "mse"), default="auto",
                   help="cross_entropy for classes, mse for regression (default: auto); mse on "
                        "classes is the notes' quadratic loss on the probabilities")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                   help="default: adam")
    p.add_argument("--lr", type=_positive_float, metavar="η", help="learning rate (default: "
                   + ", ".join(f"{k} {v[1]:g}" for k, v in OPTIMIZERS.items()) + ")")
    p.add_argument("--epochs", type=_positive_int, default=50, metavar="N", help="default: 50")
    p.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
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


def _add_predict(sub: Any, common: argparse.ArgumentParser) -> None:
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


def _add_evaluate(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("evaluate", parents=[common], help="metrics on labelled data",
                       description="Accuracy, log-loss and the confusion matrix (classes) or "
                                   "MSE, MAE and R² (regression) of a model on a labelled CSV.")
    p.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    p.add_argument("csv", metavar="CSV", help="labelled rows, with a header row")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column (default: the one the model was trained on)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)


def _add_gradcheck(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("gradcheck", parents=[common],
                       help="check gradients against finite differences",
                       description="Check a saved model's parameter gradients (float64, random "
                                   "inputs) and/or every registered primitive (--ops), in "
                                   "reverse and forward mode, against central differences. "
                                   "Exit code 1 if any disagree.")
    p.add_argument("model", metavar="MODEL", nargs="?", help="a .safetensors model file")
    p.add_argument("--ops", action="store_true", help="check every registered primitive")
    p.add_argument("--batch", type=_positive_int, default=3, help="random inputs (default: 3)")
    p.add_argument("--max-elements", type=_positive_int, default=100,
                   help="entries checked per parameter, chosen at random (default: 100)")
    p.add_argument("--atol", type=_positive_float, default=1e-5, help="default: 1e-5")
    p.add_argument("--rtol", type=_positive_float, default=1e-4, help="default: 1e-4")
    p.add_argument("--seed", type=int, default=0, help="default: 0")
    p.set_defaults(func=cmd_gradcheck, usage=p)


def _add_explain(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("explain", parents=[common],
                       help="one backpropagation step by hand (NOTES.md 4)",
                       description="Print one training step of a small sigmoid network in the "
                                   "notes' notation: z, y, the deltas δ_j = y_j(1 − y_j) Σ_k "
                                   "w_jk δ_k, each weight's gradient δ_j y_i and its update.")
    p.add_argument("--sizes", type=_sizes, default=[2, 2, 1], help="layer sizes (default: 2,2,1)")
    p.add_argument("--x", type=_floats, help="the input (default: 0.05, 0.1, ...)")
    p.add_argument("--target", type=_floats, help="the wanted outputs y* (default: 1 each)")
    p.add_argument("--lr", type=_positive_float, default=0.5, metavar="η", help="default: 0.5")
    p.add_argument("--loss", choices=("squared", "log"), default="squared",
                   help="E = ½Σ(y* − y)² (default) or the log-loss")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights (default: 0)")
    p.add_argument("--digits", type=_positive_int, default=6, help="significant digits")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(func=cmd_explain)


def _add_demo_and_info(sub: Any, common: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``chainrule`` command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback on errors")
    parser = argparse.ArgumentParser(
        prog="chainrule", formatter_class=_FMT,
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
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train, _add_predict, _add_evaluate, _add_gradcheck, _add_explain,
                _add_demo_and_info):
        add(sub, common)
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


__all__ = ["main", "build_parser"]
