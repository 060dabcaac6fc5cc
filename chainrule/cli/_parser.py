"""The argument parser of ``chainrule``: argument types, and one small builder per command."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import Any

from .. import __version__
from ..data import BUNDLED_DATASETS, MAX_CLASSES
from ..errors import ConfigError
from ..explain import LOSSES, OUTPUTS
from ..nn import HIDDEN_ACTIVATIONS
from ..validate import check_number
from ._commands import (
    cmd_demo, cmd_evaluate, cmd_explain, cmd_export, cmd_gradcheck, cmd_info, cmd_predict,
)
from ._playground import add_playground
from ._train import OPTIMIZERS, PARTIAL, cmd_train

__all__ = ["build_parser"]


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
_count = _number(int, ">= 0", "whole number", low=0)
_seed = _number(int, "a whole number >= 0", "whole number", low=0, high=2**32 - 1)
_nonnegative = _number(float, ">= 0", "number", low=0)
_port = _number(int, "in [0, 65535]", "port number", low=0, high=65535)


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


EXIT_CODES = ("exit codes: 0 success; 1 data, file or model error (one line on stderr naming "
              "the path; --debug shows the traceback); 2 usage error; 130 interrupted (Ctrl-C)")


def _add_training_options(p: argparse.ArgumentParser) -> None:
    """The network, optimizer and stopping options of ``train``."""
    p.add_argument("--hidden", type=_ints, default=[64, 32], metavar="SIZES",
                   help="hidden layer sizes, comma-separated (default: 64,32; 'none' for none)")
    p.add_argument("--activation", choices=HIDDEN_ACTIVATIONS, default="relu",
                   help="hidden-unit activation (default: relu)")
    p.add_argument("--dropout", type=_fraction, default=0.0, metavar="P",
                   help="dropout probability after each hidden layer (default: 0)")
    p.add_argument("--loss", choices=("auto", "cross_entropy", "mse"), default="auto",
                   help="cross_entropy for classes, mse for regression (default: auto); mse on "
                        "classes is the notes' quadratic loss on the probabilities")
    p.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                   help="default: adam; lbfgs takes full batches and a strong-Wolfe line search")
    p.add_argument("--lr", type=_positive_float, metavar="η", help="learning rate (default: "
                   + ", ".join(f"{k} {v[1]:g}" for k, v in OPTIMIZERS.items()) + ")")
    p.add_argument("--weight-decay", type=_nonnegative, metavar="λ",
                   help="L2 penalty on the weights (default: the optimizer's, 0 but adamw 0.01)")
    p.add_argument("--epochs", type=_positive_int, default=100, metavar="N",
                   help="at most N epochs (default: 100)")
    p.add_argument("--patience", type=_count, default=10, metavar="N",
                   help="stop after N epochs without a better validation loss (training loss "
                        "without validation) and keep the best epoch; 0 trains every epoch "
                        "and keeps the last (default: 10)")
    p.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                   help="default: 32 (lbfgs: all rows)")
    p.add_argument("--seed", type=_seed, default=0, help="seeds the split, weights and batches "
                   "(default: 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.2, metavar="F",
                   help="held-out fraction for validation, 0 for none (default: 0.2)")
    p.add_argument("--standardize", action=argparse.BooleanOptionalAction, default=True,
                   help="scale number columns (and regression targets) to mean 0, std 1 using "
                        "the training rows; saved in the model file (default: on)")


def _add_train(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "train", parents=parents, formatter_class=_FMT,
        help="train an MLP on a CSV file or a bundled data set",
        description=_wrap("Train a multilayer perceptron and write DIR/model.safetensors and a "
                          "report: history.csv/.json, metrics.json, graph.dot (the loss's "
                          "computation graph) and, with matplotlib, loss and accuracy curves, "
                          "the decision boundary of 2-D classifiers and the hidden units of "
                          "digits networks. Number columns are imputed (median) and "
                          "standardized, text columns one-hot encoded (most frequent value "
                          "for empty cells); the fitted preprocessing is saved in the model "
                          "file as plain numbers, so predict and evaluate take the same kind "
                          "of CSV. Training keeps a validation split, stops when the "
                          "validation loss has not improved for --patience epochs and saves "
                          "the best epoch. While a run is unfinished (or after Ctrl-C) DIR "
                          f"holds {PARTIAL}."),
        epilog="bundled data sets:\n"
               + "\n".join(f"  {k:<13} {v[1]}" for k, v in BUNDLED_DATASETS.items())
               + "\n\n" + _wrap("The task is detected from the target: labels, or whole "
                                f"numbers with at most {MAX_CLASSES} distinct values, are "
                                "classes; other numbers are a regression target. Rows with "
                                "an empty target are left out.") + "\n\n" + EXIT_CODES)
    p.add_argument("data", metavar="DATA", help="a CSV file (header row; comma, semicolon, tab "
                   "or bar; plain or gzip/bz2/xz/zip) or a bundled set")
    p.add_argument("--target", metavar="COLUMN", help="the target column (required for CSV)")
    p.add_argument("--out", metavar="DIR", required=True, help="folder for the model and report")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier run in DIR (its files are removed first)")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="default: auto-detect from the target")
    _add_training_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--distributed", action="store_true", help="data-parallel over the ranks "
                   "of mpiexec (mpiexec -n 4 chainrule train ... --distributed); rank 0 writes")
    p.set_defaults(func=cmd_train)


def _add_predict(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("predict", parents=parents, help="predictions (and probabilities) as CSV",
                       epilog=EXIT_CODES,
                       description=_wrap("Predict with a model file from `chainrule train`; "
                                         "the CSV's columns are matched to the model's features "
                                         "by name (a target column is ignored) and prepared as "
                                         "in training (empty cells filled, categories one-hot "
                                         "encoded, unseen categories all zeros). "
                                         "Probabilities are written with every digit (repr), so "
                                         "each row sums to one."))
    p.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    p.add_argument("csv", metavar="CSV", help="rows to predict, with a header row")
    p.add_argument("--out", metavar="OUT.csv", help="output CSV (default: standard output)")
    p.add_argument("--target", metavar="COLUMN",
                   help="a column to ignore (default: the model's target column)")
    p.set_defaults(func=cmd_predict)


def _add_evaluate(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("evaluate", parents=parents, help="metrics on labelled data",
                       epilog=EXIT_CODES,
                       description=_wrap("Accuracy, log-loss and the confusion matrix (and for "
                                         "two classes precision, recall, F1 and ROC-AUC), or "
                                         "MSE, MAE and R² (regression) of a model on a labelled "
                                         "CSV file or a bundled data set."))
    p.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    p.add_argument("data", metavar="DATA", help="labelled rows: a CSV file with a header row, "
                   "or a bundled set")
    p.add_argument("--target", metavar="COLUMN",
                   help="the target column (default: the one the model was trained on)")
    p.add_argument("--seed", type=_seed, default=0, help="seeds a synthetic bundled set; the "
                   "training seed gives the rows trained on, another seed fresh rows "
                   "(default: 0)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=cmd_evaluate)


def _add_export(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", parents=parents, help="the model and its preprocessing as ONNX",
                       epilog=EXIT_CODES,
                       description=_wrap("Write an ONNX graph that takes the raw feature "
                                         "columns (one input per column: float32 for numbers, "
                                         "NaN for an empty cell; string for categories, '' for "
                                         "an empty cell), applies the saved preprocessing and "
                                         "the network, and outputs the predicted label and the "
                                         "class probabilities (classifiers) or the value in the "
                                         "target's units (regression)."))
    p.add_argument("model", metavar="MODEL", help="a .safetensors model file")
    p.add_argument("--format", choices=("onnx",), default="onnx", help="default: onnx")
    p.add_argument("--out", metavar="FILE", help="default: MODEL with the suffix .onnx")
    p.add_argument("--opset", type=_positive_int, default=17, help="ONNX opset (default: 17)")
    p.set_defaults(func=cmd_export)


def _add_gradcheck(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gradcheck", parents=parents[:1],
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
    p.add_argument("--seed", type=_seed, default=0, help="default: 0")
    p.set_defaults(func=cmd_gradcheck, usage=p)


def _add_explain(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("explain", parents=parents[:1],
                       help="one backpropagation step by hand (tutorial: Backpropagation)",
                       description="Print one training step of a small dense network in the "
                                   "notes' notation: z, y, the deltas δ_j = f'(z_j) Σ_k w_jk δ_k, "
                                   "each weight's gradient δ_j y_i and its update; --view "
                                   "likelihood shows it as gradient ascent on log L.")
    p.add_argument("--sizes", type=_sizes, default=[2, 2, 1], help="layer sizes (default: 2,2,1)")
    p.add_argument("--activation", choices=(*HIDDEN_ACTIVATIONS, "identity"), default="sigmoid",
                   metavar="NAME", help="hidden units: " + ", ".join(HIDDEN_ACTIVATIONS)
                   + ", identity (default: sigmoid)")
    p.add_argument("--output", choices=OUTPUTS, default="sigmoid",
                   help="output unit (default: sigmoid)")
    p.add_argument("--x", type=_floats, help="the input (default: 0.05, 0.1, ...)")
    p.add_argument("--target", type=_floats, help="the wanted outputs y* (default: 1 each; for "
                   "softmax a class number or a one-hot vector, default class 0)")
    p.add_argument("--lr", type=_positive_float, default=0.5, metavar="η", help="default: 0.5")
    p.add_argument("--loss", choices=LOSSES, default=None,
                   help="squared: E = ½Σ(y* − y)²; log: the log-loss (cross-entropy for softmax) "
                        "(default: log for softmax, else squared)")
    p.add_argument("--view", choices=("error", "likelihood"), default="error",
                   help="error: descent on E (default); likelihood: ascent on log L, the same step")
    p.add_argument("--seed", type=_seed, default=0, help="seeds the weights (default: 0)")
    p.add_argument("--digits", type=_positive_int, default=6, help="significant digits")
    p.add_argument("--json", action="store_true", help="print the trace as JSON")
    p.set_defaults(func=cmd_explain)


def _add_demo_and_info(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", parents=parents[:1],
                       help="train the notes' networks on bundled data and write a report")
    p.add_argument("--out", default="runs/demo", help="report folder (default: runs/demo)")
    p.add_argument("--seed", type=_seed, default=0)
    p.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("info", parents=parents[:1],
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
               "  chainrule export runs/mine/model.safetensors --format onnx\n"
               "  chainrule explain\n"
               "  chainrule playground\n\n" + EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    reading = argparse.ArgumentParser(add_help=False)
    group = reading.add_argument_group("reading CSV files")
    group.add_argument("--sep", metavar="CHAR", help="the delimiter (default: detected among "
                       "comma, semicolon, tab and bar; 'tab' names a tab)")
    group.add_argument("--no-header", action="store_true",
                       help="the file has no header row; its columns are named 1, 2, ...")
    group.add_argument("--na", metavar="TEXT", action="append",
                       help="a cell text that means missing, besides the usual ones (empty, NA, "
                            "N/A, nan, NULL, ...); repeatable")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train, _add_predict, _add_evaluate, _add_export, _add_gradcheck,
                _add_explain, _add_demo_and_info):
        add(sub, [common, reading])
    add_playground(sub, [common], _port)
    return parser
