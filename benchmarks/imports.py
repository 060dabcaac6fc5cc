"""Import time: ``import chainrule`` against ``import torch`` and ``import numpy``.

Each repetition is a fresh interpreter that times its own import (so interpreter start-up
is not counted), started in the repository root so that the checkout's chainrule is used.
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


def _once(module: str) -> float:
    proc = subprocess.run([sys.executable, "-c", _CODE.format(mod=module)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
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
