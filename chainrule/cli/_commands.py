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
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, demo
from ..data import load_dataset, read_csv
from ..errors import FileFormatError, ShapeError
from ..explain import backprop_trace, engine_difference, example_network
from ..gradcheck import GradcheckError, check_model_gradients, check_ops
from ..io import atomic_write, load_model
from ..models import SavedModel
from ..models.saved import label_text, short_list
from ..ops import OPS
from ..optional import installed_version
from ._train import note, read_options

__all__ = ["cmd_predict", "cmd_evaluate", "cmd_gradcheck", "cmd_explain", "cmd_info",
           "cmd_demo", "cmd_export", "EXTRAS"]


# --- predict and evaluate ---------------------------------------------------------------------

def _model(path: str) -> SavedModel:
    return load_model(path)


def _text_columns(saved: SavedModel) -> list[str]:
    return [] if saved.preprocessing is None else saved.preprocessing.categorical


def cmd_predict(args: argparse.Namespace) -> int:
    saved = _model(args.model)
    table = read_csv(args.csv, text_columns=_text_columns(saved), **read_options(args))
    ignored = saved.check_columns(table, args.target)
    if ignored:
        note(f"ignoring column(s) the model was not trained on: {short_list(ignored)}")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    # NOTE: repr writes the shortest text that reads back as the same float64, so each row
    # of probabilities still sums to one (to the last bit the sum had) when read back.
    if not saved.head.is_classifier:
        w.writerow(["prediction"])
        w.writerows([repr(float(v))] for v in saved.values(table))
    else:
        z = saved.outputs(table)
        w.writerow(["prediction"] + [f"probability_{label_text(c)}" for c in saved.classes])
        for i, row in zip(saved.head.predict(z), saved.head.proba(z)):
            w.writerow([label_text(saved.classes[int(i)])] + [repr(float(p)) for p in row])
    if args.out in (None, "-"):
        sys.stdout.write(buf.getvalue())
    else:
        with atomic_write(args.out, "w", newline="") as f:
            f.write(buf.getvalue())
        print(f"wrote {table.n_rows} prediction{'s' if table.n_rows != 1 else ''} to "
              f"{args.out}", file=sys.stderr)
    return 0


def _format_metrics(m: dict[str, Any]) -> list[str]:
    if "accuracy" in m:
        lines = [f"accuracy  {m['accuracy']:.4f}", f"log-loss  {m['log_loss']:.4f}"]
        lines += [f"{k.replace('_', '-'):<9} {m[k]:.4f}"
                  for k in ("precision", "recall", "f1", "roc_auc") if k in m]
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
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
    saved = _model(args.model)
    data = load_dataset(args.data, args.target or saved.target, args.seed,
                        text_columns=_text_columns(saved), **read_options(args))
    if data.dropped:
        note(f"left out {data.dropped} row(s) of {data.source} with no {data.target_name!r} "
             "value")
    ignored = saved.check_columns(data.table, data.target_name)
    if ignored:
        note(f"ignoring column(s) the model was not trained on: {short_list(ignored)}")
    if saved.head.is_classifier:
        y = saved.label_indices(data.target, data.source, data.target_name)
    else:
        y = data.target.astype(np.float64) if data.target.dtype != object else \
            data.table.numeric([data.target_name], what="target")[:, 0]
    m = {"model": saved.path, "data": data.source, "target": data.target_name,
         "task": saved.task, **saved.metrics(data.table, y)}
    if args.json:
        print(json.dumps(m, indent=2))
    else:
        print(f"{saved.path} on {data.source}: {m['n']} rows, target {data.target_name!r} "
              f"({saved.task})")
        print("\n".join(_format_metrics(m)))
    return 0


# --- export -----------------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from ..tabular_onnx import export_saved  # NOTE: onnx loads only for this command
    saved = _model(args.model)
    out = args.out or str(Path(args.model).with_suffix(".onnx"))
    proto = export_saved(saved, out, opset=args.opset)
    inputs = ", ".join(f"{i.name}" for i in proto.graph.input)
    outputs = ", ".join(o.name for o in proto.graph.output)
    print(f"wrote {out}: inputs {inputs}; outputs {outputs}")
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
    saved = _model(args.model)
    n_in = saved.n_inputs
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
    net = example_network(sizes, seed=args.seed, activation=args.activation, output=args.output)
    x = args.x if args.x is not None else [round(0.05 * (i + 1), 2) for i in range(sizes[0])]
    softmax = args.output == "softmax"
    y = args.target if args.target is not None else [0.0] if softmax else [1.0] * sizes[-1]
    if len(x) != sizes[0] or len(y) != sizes[-1] and not (softmax and len(y) == 1):
        raise ShapeError(f"explain: the {'-'.join(map(str, sizes))} network takes {sizes[0]} "
                         f"input(s) and {sizes[-1]} target(s)"
                         + (" or one class number" if softmax else "")
                         + f"; got --x with {len(x)} and --target with {len(y)}")
    trace = backprop_trace(net, x, y[0] if softmax and len(y) == 1 else y, lr=args.lr,
                           loss=args.loss)
    # The same step by the engine: reverse-mode AD must give the hand method's numbers.
    diff = engine_difference(net, trace)
    if args.json:
        print(json.dumps({**trace.to_dict(), "engine_max_difference": diff}, indent=2))
        return 0
    print(trace.table(digits=args.digits, view=args.view))
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
    ("starlette", "starlette", "chainrule playground"),
    ("uvicorn", "uvicorn", "chainrule playground's server"),
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
