"""The ``chainrule`` command (also ``python -m chainrule``).

Subcommands: ``train`` (a CSV file or a bundled data set → a model file and a report
folder), ``predict``, ``evaluate``, ``export`` (ONNX with the preprocessing), ``gradcheck``
(a saved model, or every registered primitive, against finite differences in both AD modes),
``explain`` (one backprop step by hand, notes §4, backpropagation), ``demo``, ``info`` and
``playground`` (a local web page that trains a network live).

Argument parsing (:mod:`chainrule.cli._parser`) and short command functions over library
calls (:mod:`chainrule.cli._commands`), nothing more.

Exit codes: 0 success; 2 usage errors (argparse's); 1 data, file and model errors, reported
as one line ``chainrule: error: ...`` on stderr, with the traceback only under ``--debug``
(an unexpected exception too: it is a bug, and the line says so); 130 interrupted (Ctrl-C).
Output cut short by its reader (``chainrule explain | head``) ends quietly with 0.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from ..errors import ChainruleError
from ._parser import build_parser

__all__ = ["main", "build_parser"]


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
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except (ChainruleError, OSError) as exc:
        if getattr(args, "debug", False):
            raise
        print(f"chainrule: error: {_message(exc)}".replace("\n", " "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback under --debug
        if getattr(args, "debug", False):
            raise
        print(f"chainrule: error: unexpected {type(exc).__name__}: {_message(exc)} (a bug in "
              "chainrule; rerun with --debug for the traceback and report it)", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """The reader of standard output went away: point it at /dev/null, so that Python's
    final flush does not print "Broken pipe" (the recipe of Python's signal docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
