"""The ``chainrule`` command."""

from __future__ import annotations

import argparse
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chainrule",
                                     description="Neural networks from the lecture notes, on NumPy.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train the notes' networks on bundled data and write a report")
    demo.add_argument("--out", default="runs/demo", help="report folder (default: runs/demo)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--no-plots", action="store_true", help="skip the matplotlib plots")
    sub.add_parser("info", help="version and registered ops")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from .demo import run
        run(args.out, seed=args.seed, plots=not args.no_plots)
    elif args.command == "info":
        import chainrule
        print(f"chainrule {chainrule.__version__}; {len(chainrule.OPS)} primitives: "
              + ", ".join(chainrule.OPS))
    return 0
