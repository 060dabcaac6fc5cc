"""The ``chainrule`` command."""

from __future__ import annotations

import argparse
from typing import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chainrule", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="version and registered ops")
    args = parser.parse_args(argv)
    if args.command == "info":
        import chainrule
        print(f"chainrule {chainrule.__version__}; {len(chainrule.OPS)} primitives: "
              + ", ".join(chainrule.OPS))
    return 0
