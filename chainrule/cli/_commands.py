"""The commands of ``chainrule``: each a short function over library calls, printing the result.

Each ``cmd_*`` takes the parsed arguments and returns the exit code; errors are raised as
:class:`~chainrule.errors.ChainruleError` or ``OSError`` and reported by
:func:`chainrule.cli.main`. What a command computes is a library call a user can make from
Python: :func:`chainrule.data.load_dataset`, :func:`chainrule.io.load_model`,
:class:`chainrule.models.SavedModel`, :mod:`chainrule.metrics`,
:func:`chainrule.gradcheck.check_model_gradients`, :func:`chainrule.viz.plot_training`, ...
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, demo, optim
from .. import random as crandom
from ..distributed import init as init_distributed
from ..data import Table, TabularData, encode_target, load_dataset, read_csv, train_test_split
from ..errors import ConfigError, FileFormatError, MissingDependency, ShapeError
from ..explain import backprop_trace, engine_difference, example_network
from ..gradcheck import GradcheckError, check_model_gradients, check_ops
from ..io import atomic_write, load_model, save
from ..models import MLP, SavedModel
from ..models.heads import get_head
from ..models.saved import label_text, short_list
from ..ops import OPS
from ..optional import install_hint, installed_version
from ..tensor import Tensor
from ..train import fit
from ..viz import plot_training, render

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
    spec = SavedModel.for_data(model, data, task, classes, Xtr, ytr, args.standardize)
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
                      desc=f"training on {Path(data.source).name}",
                      distributed=init_distributed() if args.distributed else None)
    if args.distributed and not init_distributed().is_root:
        return 0  # rank 0 alone writes the model and the report
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
            report[part] = saved.metrics(X, t)
    history.to_csv(out / "history.csv")
    history.to_json(out / "history.json")
    report["plots"] = [_graph(out, model, loss_fn, train_xy),
                       *_train_plots(out, history, saved, data, y)]
    report["seconds"] = round(time.perf_counter() - start, 3)
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(report, f, indent=2)
    _print_trained(report, model, args.activation, history, model_path, out)
    return 0


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


def _train_plots(out: Path, history: Any, saved: SavedModel, data: TabularData,
                 y: np.ndarray) -> list[str]:
    try:
        files = plot_training(out, history, saved, data.X, y, data.features,
                              Path(data.source).name)
    except MissingDependency:
        print("chainrule: note: matplotlib is not installed; no plots "
              f"({install_hint('plot')})", file=sys.stderr)
        return []
    return [f.name for f in files]


def _graph(out: Path, model: Any, loss_fn: Callable, train_xy: tuple) -> str:
    """The computation graph of the training loss on two training rows, as DOT (and SVG)."""
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
         **saved.metrics(X, y)}
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
    demo.run(args.out, seed=args.seed, plots=not args.no_plots,
             progress=False if args.no_progress else True)
    return 0
