"""``chainrule train``: a table (CSV file or bundled set) -> a model file and a report folder.

The run folder is written so that an interrupted or failed run cannot pass for a finished
one: the file :data:`PARTIAL` is created before training starts and removed only after the
last report file is written. A folder that holds an earlier run is refused unless
``--force``, which first removes that run's files (only the names a run writes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import optim
from .. import random as crandom
from ..distributed import init as init_distributed
from ..data import Features, TabularData, encode_target, load_dataset, train_test_split
from ..errors import ConfigError, MissingDependency
from ..io import atomic_write, load_model, save
from ..models import MLP, SavedModel
from ..models.heads import get_head
from ..optional import install_hint
from ..tensor import Tensor
from ..train import EarlyStopping, fit
from ..viz import plot_training, render

MODEL_FILE = "model.safetensors"
#: Present in a run folder while the run is unfinished (or after it was interrupted).
PARTIAL = "PARTIAL_RUN.txt"
#: The files a run writes (what ``--force`` removes before a new run).
RUN_FILES = (MODEL_FILE, "history.csv", "history.json", "metrics.json", "graph.dot",
             "graph.svg", "loss_curve.png", "accuracy_curve.png", "decision_boundary.png",
             "hidden_units.png", PARTIAL)
#: --optimizer name -> (class, default learning rate).
OPTIMIZERS = {"sgd": (optim.SGD, 0.1), "adam": (optim.Adam, 0.01), "adamw": (optim.AdamW, 0.01),
              "rmsprop": (optim.RMSprop, 0.01), "adagrad": (optim.Adagrad, 0.1),
              "lbfgs": (optim.LBFGS, 1.0)}
#: Bytes per parameter while training: float32 weights, gradients and two optimizer moments.
BYTES_PER_PARAMETER = 16


def read_options(args: argparse.Namespace) -> dict[str, Any]:
    """The CSV reading options of a command (``--sep``, ``--no-header``, ``--na``)."""
    sep = args.sep
    if sep is not None:
        sep = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ","}.get(sep, sep)
    return {"sep": sep, "header": not args.no_header, "na_values": args.na or ()}


def note(text: str) -> None:
    print(f"chainrule: note: {text}", file=sys.stderr)


# --- the run folder ---------------------------------------------------------------------------

def _prepare_out(out: Path, force: bool) -> None:
    """Refuse a file, or a folder holding an earlier run unless ``force`` (then remove it)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; expected a folder for the model and report")
    earlier = [n for n in RUN_FILES if (out / n).exists()]
    if earlier and not force:
        raise ConfigError(f"--out {out} holds an earlier run ({', '.join(earlier[:3])}"
                          f"{', ...' if len(earlier) > 3 else ''}); choose another folder or "
                          "pass --force to replace that run")
    for name in earlier:
        (out / name).unlink()


def _mark_partial(out: Path, why: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / PARTIAL).write_text(f"This run folder is incomplete: {why}.\n"
                               "Its files may be missing or from an unfinished run; train "
                               "again (with --force to reuse this folder).\n")


# --- the network ------------------------------------------------------------------------------

def _check_size(sizes: list[int], batch: int, what: str) -> None:
    """Refuse a network whose training would not fit in memory, before allocating it.

    The estimate: 16 bytes per parameter (float32 weights, gradients and two optimizer
    moments) and, for the widest batch in flight (training, or 4,096 rows when predicting),
    four float32 values per unit (pre-activation, activation and their gradients)."""
    n = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    need = n * BYTES_PER_PARAMETER + max(batch, 4096) * sum(sizes) * 16
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        have = 16 << 30
    if need > have // 2:
        raise ConfigError(f"{what}: the network {'-'.join(map(str, sizes))} ({n:,} parameters) "
                          f"needs about {need / 2**30:,.1f} GiB to train, more than half of this "
                          f"machine's {have / 2**30:.1f} GiB of memory; use smaller --hidden "
                          "layers (or a smaller --batch-size)")


def _split(n: int, y: np.ndarray, task: str, fraction: float,
           seed: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(training rows, validation rows or None for fraction 0), stratified for classes."""
    rows = np.arange(n).reshape(-1, 1)
    if fraction <= 0:
        return rows[:, 0], None
    stratify = y if get_head(task).is_classifier else None
    tr, va, _, _ = train_test_split(rows, y, test_size=fraction, rng=seed, stratify=stratify)
    return np.asarray(tr[:, 0], dtype=np.int64), np.asarray(va[:, 0], dtype=np.int64)


def _loss(name: str, task: str) -> tuple[str, Callable]:
    """The --loss name (``auto`` resolved) and the loss function: the head's own objective,
    or the notes' quadratic loss on the output probabilities (notes §3, objectives)."""
    head = get_head(task)
    if name == "auto":
        name = "cross_entropy" if head.is_classifier else "mse"
    if not head.is_classifier and name != "mse":
        raise ConfigError(f"--loss {name} needs class labels; a regression target takes "
                          "--loss mse")
    return name, head.quadratic_loss if name == "mse" and head.is_classifier else head.loss()


def _optimizer(args: argparse.Namespace, model: MLP) -> tuple[Any, float, int]:
    """The optimizer, its learning rate and the batch size it trains with.

    L-BFGS takes full batches and a strong-Wolfe line search: a quasi-Newton step of fixed
    length 1 on shuffled mini-batches diverges (its curvature pairs come from other data)."""
    cls, default_lr = OPTIMIZERS[args.optimizer]
    lr = args.lr if args.lr is not None else default_lr
    if args.optimizer == "lbfgs":  # its weight decay is a penalty in the loss (_penalized)
        return cls(model.parameters(), lr=lr, line_search_fn="strong_wolfe"), lr, 0
    kw = {} if args.weight_decay is None else {"weight_decay": args.weight_decay}
    return cls(model.parameters(), lr=lr, **kw), lr, args.batch_size


def _penalized(loss_fn: Callable, model: MLP, weight_decay: float) -> Callable:
    """``loss_fn`` + λ/2 Σ‖W‖² over the weight matrices: L2 for L-BFGS, which has no
    ``weight_decay`` of its own (the gradient gains λW, as SGD's weight decay adds)."""
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]

    def loss(out: Any, y: Any) -> Any:
        penalty = sum((w * w).sum() for w in weights)
        return loss_fn(out, y) + penalty * (0.5 * weight_decay)
    return loss


# --- train --------------------------------------------------------------------------------------

def _prepare(args: argparse.Namespace) -> tuple:
    """Everything before training: data, split, preprocessing, model and optimizer."""
    data = load_dataset(args.data, args.target, args.seed, **read_options(args))
    if data.dropped:
        note(f"left out {data.dropped} row(s) of {data.source} with no {data.target_name!r} "
             "value")
    task, classes, y = encode_target(data, args.task)
    tr, va = _split(data.n_rows, y, task, args.val_fraction, args.seed)
    features = Features.fit(data.table, data.features, rows=tr, standardize=args.standardize)
    n_out = get_head(task).n_outputs(len(classes) if classes else 1)
    sizes = [features.n_outputs, *args.hidden, n_out]
    _check_size(sizes, data.n_rows if args.optimizer == "lbfgs" else args.batch_size, "train")
    X = features.transform(data.table)
    crandom.manual_seed(args.seed)
    model = MLP(sizes, activation=args.activation, task=task, dropout=args.dropout,
                rng=args.seed)
    tmean, tscale = 0.0, 1.0
    if args.standardize and not get_head(task).is_classifier:
        tmean, tscale = float(np.mean(y[tr])), float(np.std(y[tr])) or 1.0
    spec = SavedModel(model, "<memory>", task, data.features, data.target_name, classes,
                      None, None, tmean, tscale, features)
    return data, task, classes, y, tr, va, X, model, spec


def cmd_train(args: argparse.Namespace) -> int:
    out = Path(args.out)
    world = init_distributed() if args.distributed else None
    root = world is None or world.is_root  # in a data-parallel run, rank 0 alone writes
    if root:
        _prepare_out(out, args.force)
    data, task, classes, y, tr, va, X, model, spec = _prepare(args)
    loss_name, loss_fn = _loss(args.loss, task)
    opt, lr, batch_size = _optimizer(args, model)
    if args.optimizer == "lbfgs" and args.weight_decay:
        loss_fn = _penalized(loss_fn, model, args.weight_decay)
    if root:
        _mark_partial(out, "training was started but has not finished")
    try:
        report, model_path = _run(args, out, data, task, classes, y, tr, va, X, model, spec,
                                  loss_name, loss_fn, opt, lr, batch_size, world)
    except KeyboardInterrupt:
        _mark_partial(out, "the run was interrupted (Ctrl-C) before it finished")
        note(f"{out} holds an incomplete run, marked by {out / PARTIAL}")
        raise
    if root:
        _print_trained(report, model, args.activation, model_path, out)
    return 0


def _run(args: argparse.Namespace, out: Path, data: TabularData, task: str, classes: Any,
         y: np.ndarray, tr: np.ndarray, va: np.ndarray | None, X: np.ndarray, model: MLP,
         spec: SavedModel, loss_name: str, loss_fn: Callable, opt: Any, lr: float,
         batch_size: int, world: Any = None) -> tuple[dict[str, Any] | None, Path | None]:
    """Train, save the model, write the report; the report and the model file (None, None on
    the ranks other than 0 of a data-parallel run)."""
    train_xy = (X[tr], spec.targets(y[tr]))
    val_xy = None if va is None else (X[va], spec.targets(y[va]))
    monitor = "loss" if va is None else "val_loss"
    stop = [EarlyStopping(monitor, patience=args.patience)] if args.patience else []
    start = time.perf_counter()
    # A diverging run ends in fit's own error ("the training loss became nan ... lower the
    # learning rate"); NumPy's overflow warnings on the way there would only bury it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = fit(model, loss_fn, opt, train_xy, val_xy, epochs=args.epochs,
                      batch_size=batch_size or len(tr), rng=args.seed,
                      metrics=("accuracy",) if spec.head.is_classifier else (),
                      callbacks=stop, progress=False if args.no_progress else None,
                      desc=f"training on {Path(data.source).name}", distributed=world)
    seconds = time.perf_counter() - start
    if world is not None and not world.is_root:
        return None, None
    meta = {"format": "chainrule-cli", **spec.metadata(), "data": data.source,
            "hidden": args.hidden, "activation": args.activation, "dropout": args.dropout,
            "loss": loss_name, "optimizer": args.optimizer, "lr": lr,
            "weight_decay": args.weight_decay, "epochs": args.epochs, "patience": args.patience,
            "batch_size": batch_size or len(tr), "seed": args.seed}
    model_path = save(model, out / MODEL_FILE, metadata=meta)
    report = _report(args, data, task, classes, tr, va, model, history, stop, monitor,
                     spec.preprocessing.output_names)
    report["seconds_training"] = round(seconds, 3)
    saved = load_model(model_path)  # the report describes the model as a user will load it
    for part, rows in (("train", tr), ("validation", va)):
        if rows is not None:
            report[part] = saved.metrics(data.table.take(rows), y[rows])
    history.to_csv(out / "history.csv")
    history.to_json(out / "history.json")
    start = time.perf_counter()
    report["plots"] = [_graph(out, model, loss_fn, train_xy),
                       *_train_plots(out, history, saved, data, y)]
    report["seconds_report"] = round(time.perf_counter() - start, 3)
    with atomic_write(out / "metrics.json", "w") as f:
        json.dump(report, f, indent=2)
    (out / PARTIAL).unlink()
    return report, model_path


def _report(args: argparse.Namespace, data: TabularData, task: str, classes: Any,
            tr: np.ndarray, va: np.ndarray | None, model: MLP, history: Any, stop: list,
            monitor: str, inputs: list[str]) -> dict[str, Any]:
    losses = history[monitor]
    best = int(np.argmin(losses))
    return {
        "data": data.source, "task": task, "target": data.target_name,
        "features": data.features, "inputs": inputs, "classes": classes,
        "n_train": int(len(tr)), "n_val": 0 if va is None else int(len(va)),
        "rows_without_target": data.dropped, "model": MODEL_FILE, "sizes": model.sizes,
        "epochs_run": len(history), "stopped_early": bool(stop and stop[0].stopped_epoch),
        "saved_epoch": (stop[0].best_epoch if stop and stop[0].best_epoch else len(history)),
        "monitor": monitor, "best_epoch": best + 1, f"best_{monitor}": float(losses[best]),
        f"final_{monitor}": float(losses[-1]),
        "options": {k: v for k, v in vars(args).items() if k not in ("func", "debug", "usage")}}


def _print_trained(report: dict[str, Any], model: MLP, activation: str, model_path: Path,
                   out: Path) -> None:
    shown = report.get("validation") or report["train"]
    which = "validation" if "validation" in report else "training"
    score = (f"{which} accuracy {shown['accuracy']:.2%}, log-loss {shown['log_loss']:.4f}"
             if "accuracy" in shown else f"{which} MSE {shown['mse']:.4g}, R² {shown['r2']:.3f}")
    n = report["epochs_run"]
    stopped = (f"; stopped early, saved epoch {report['saved_epoch']}" if report["stopped_early"]
               else f"; saved epoch {report['saved_epoch']}" if report["saved_epoch"] != n else "")
    print(f"trained MLP {'-'.join(map(str, model.sizes))} ({activation}, {report['task']}) on "
          f"{report['data']}: {report['n_train']} training / {report['n_val']} validation rows, "
          f"{n} epoch{'s' if n != 1 else ''} in {report['seconds_training']:.2f} s{stopped}; "
          f"{score}")
    print(f"model: {model_path}")
    print(f"report: {out}/ (history.csv, history.json, metrics.json"
          + "".join(f", {p}" for p in report["plots"]) + f"; written in "
          f"{report['seconds_report']:.1f} s)")


def _train_plots(out: Path, history: Any, saved: SavedModel, data: TabularData,
                 y: np.ndarray) -> list[str]:
    X = data.X if data.numeric else np.empty((data.n_rows, 0))
    try:
        files = plot_training(out, history, saved, X, y, data.features, Path(data.source).name)
    except MissingDependency:
        note(f"matplotlib is not installed; no plots ({install_hint('plot')})")
        return []
    return [f.name for f in files]


def _graph(out: Path, model: Any, loss_fn: Callable, train_xy: tuple) -> str:
    """The computation graph of the training loss on two training rows, as DOT (and SVG)."""
    x = Tensor(train_xy[0][:2], name="x")
    y = Tensor(train_xy[1][:2], name="y")
    loss = loss_fn(model(x), y)
    files = render(loss, out / "graph", params={"x": x, "y": y, **dict(model.named_parameters())})
    return ", ".join(f.name for f in files)
