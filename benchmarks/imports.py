"""Import time: ``import chainrule`` against ``import torch`` and ``import numpy``.

Each repetition is a fresh interpreter that times its own import (so interpreter start-up
is not counted), started in the repository root so that the checkout's chainrule is used.
The interpreters may write bytecode (``PYTHONDONTWRITEBYTECODE`` is dropped for them), so the
untimed first launch compiles the checkout's ``.pyc`` files as an installed package has them;
otherwise every timed launch would compile chainrule's sources and count it as import time.

    python -m benchmarks.imports [--reps 9]     # numpy and chainrule alternating, the ratio
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from typing import Any

from .measure import summary

MODULES = {"numpy": "numpy", "chainrule": "chainrule", "torch": "torch"}
_CODE = ("import time; t0 = time.perf_counter(); import {mod}; t1 = time.perf_counter(); "
         "print(repr(t1 - t0))")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # see the module docstring
    return env


def _once(module: str) -> float:
    proc = subprocess.run([sys.executable, "-c", _CODE.format(mod=module)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=_env())
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        if "ImportError" in last or "ModuleNotFoundError" in last:
            raise ImportError(last)
        raise RuntimeError(f"python -c 'import {module}' failed: {last}")
    return float(proc.stdout.strip().splitlines()[-1])


def run_import(framework: str, reps: int, quick: bool, threads: int) -> dict[str, Any]:
    """ms of ``import <framework>`` in ``reps`` fresh interpreters, after one untimed one."""
    module = MODULES[framework]
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"No module named '{module}'")
    _once(module)  # NOTE: warms the file-system cache, as a user's second launch would be
    times = [_once(module) * 1e3 for _ in range(reps)]
    return {"cases": {"import": summary(times)}, "accuracy": None, "peak_rss_mb": None,
            "info": {"python": sys.version.split()[0]}}


def ratio(reps: int = 9) -> dict[str, float]:
    """Median ms of ``import numpy`` and ``import chainrule`` (which includes NumPy), fresh
    interpreters alternating so both see the same load, and chainrule ÷ numpy (issue 17's
    goal: at most 1.5)."""
    import statistics

    for module in ("numpy", "chainrule"):
        _once(module)  # untimed: writes the bytecode, warms the file-system cache
    times: dict[str, list[float]] = {"numpy": [], "chainrule": []}
    for _ in range(reps):
        for module in times:
            times[module].append(_once(module) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    med["ratio"] = med["chainrule"] / med["numpy"]
    return med


def main(argv: list[str] | None = None) -> int:
    """Print the medians and the ratio."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.imports", description=__doc__)
    parser.add_argument("--reps", type=int, default=9, help="fresh interpreters per module")
    args = parser.parse_args(argv)
    med = ratio(args.reps)
    print(f"import numpy {med['numpy']:.1f} ms   import chainrule {med['chainrule']:.1f} ms   "
          f"chainrule/numpy = {med['ratio']:.2f}x  (goal ≤ 1.5x; medians of {args.reps})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
