"""``chainrule playground``: the local web page that trains a network live (the parser's
builder and the command, over :func:`chainrule.playground.serve`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_playground", "cmd_playground"]


def cmd_playground(args: argparse.Namespace) -> int:
    from ..playground import serve  # NOTE: lazy: Starlette is an extra, and starts slowly
    try:
        serve(args.host, args.port, open_browser=not args.no_browser,
              announce=lambda line: print(line, flush=True))
    except KeyboardInterrupt:
        print("chainrule playground: stopped", file=sys.stderr)
    return 0


def add_playground(sub: Any, parents: list[argparse.ArgumentParser], port: Any) -> None:
    """The ``playground`` subcommand; ``port`` is the argparse type of a port number."""
    p = sub.add_parser("playground", parents=parents[:1],
                       help="a local web page that trains a network live (needs the "
                            "playground extra)",
                       description="Serve a page on this machine where you choose data (the "
                                   "bundled 2-D sets or your own CSV of two features and a "
                                   "label), a network and its training, and watch it learn: "
                                   "the decision boundary, loss curves, hidden units, weights "
                                   "and the backprop formulas; export the model and a script.")
    p.add_argument("--port", type=port, default=0, help="the port (default: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(func=cmd_playground)
