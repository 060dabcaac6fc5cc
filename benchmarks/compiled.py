"""The compiled training step (issue 17) beside eager chainrule, the NumPy floor, PyTorch and JAX.

    python -m benchmarks.compiled                    # digits, batch1, mnist128; full settings
    python -m benchmarks.compiled --quick            # smoke settings (about a minute)
    python -m benchmarks.compiled --workload batch1 --reps 7 --threads 1

The same MLP workloads as ``python -m benchmarks`` (same data, initial weights, batch order
and Adam), one fresh process per framework and workload; ``chainrule-compiled`` is the
README's chainrule loop with the step made by :func:`chainrule.compile.compile_step`. Prints
the medians and, per workload, the compiled step's ratio to each of the others (below 1 means
the compiled step is faster); ``--json PATH`` also writes every run's record.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

NAME = "chainrule-compiled"
WORKLOADS = ("digits", "batch1", "mnist128")
FRAMEWORKS = ("chainrule-compiled", "chainrule", "floor", "torch", "jax")


def _trainer() -> type:
    """The chainrule MLP of ``peers/chainrule_mlp.py`` trained through a compiled step (made
    on first use: NumPy must not load before the thread variables are set)."""
    from chainrule.compile import compile_step
    from chainrule.nn import functional as F

    from .peers.chainrule_mlp import ChainruleMLP

    class CompiledMLP(ChainruleMLP):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.step = compile_step(self.model, F.cross_entropy, self.opt)

        def train_epoch(self, X: Any, y: Any, order: Any, batch_size: int, epoch: int) -> None:
            """Train on consecutive ``batch_size`` slices of ``order``, one compiled step each."""
            self.model.train()
            step = self.step
            for i in range(0, len(order), batch_size):
                idx = order[i:i + batch_size]
                step(X[idx], y[idx])

    return CompiledMLP


def __getattr__(name: str) -> Any:
    if name == "Trainer":  # what benchmarks.mlp.run_mlp builds
        return _trainer()
    raise AttributeError(name)


def run_one(framework: str, workload: str, reps: int | None, quick: bool, threads: int) -> int:
    """In this process: one framework on one workload, one JSON line (as benchmarks.run_one)."""
    from . import run_one as one
    one.set_thread_env(threads)
    from . import mlp
    mlp.TRAINERS[NAME] = __name__  # the harness's trainers, plus this one (this process only)
    from .workloads import WORKLOADS as ALL
    w = ALL[workload]
    if NAME not in w.frameworks:
        ALL[workload] = type(w)(**{**w.__dict__, "frameworks": (*w.frameworks, NAME)})
    argv = [framework, workload, "--threads", str(threads)] + (["--quick"] if quick else []) \
        + (["--reps", str(reps)] if reps else [])
    return one.main(argv)


def _table(records: list[dict]) -> str:
    lines = []
    for wl in dict.fromkeys(r["workload"] for r in records):
        rows = {r["framework"]: r for r in records if r["workload"] == wl}
        unit = next((r.get("unit") for r in rows.values() if r.get("unit")), "")
        lines.append(f"\n{wl} ({unit}; median, min-max; accuracy)")
        med = {}
        for fw, r in rows.items():
            if r.get("status") != "ok":
                lines.append(f"  {fw:20s} {r.get('status')}: {r.get('reason', '')[:90]}")
                continue
            case = next(iter(r["cases"].values()))
            med[fw] = case["median"]
            lines.append(f"  {fw:20s} {case['median']:10.4g}  ({case['min']:.4g}-{case['max']:.4g})"
                         f"  acc {r.get('accuracy', float('nan')):.4f}")
        if NAME in med:
            ratios = ", ".join(f"÷ {fw} {med[NAME] / med[fw]:.2f}" for fw in med if fw != NAME)
            lines.append(f"  compiled {ratios}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compiled", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--framework", nargs="+", default=list(FRAMEWORKS), choices=FRAMEWORKS)
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--json", default=None, help="write every run's record here")
    parser.add_argument("--one", nargs=2, metavar=("FRAMEWORK", "WORKLOAD"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return run_one(*args.one, args.reps, args.quick, args.threads)
    records, status = [], 0
    root = Path(__file__).resolve().parent.parent
    timeout = args.timeout or (180 if args.quick else 900)
    for wl in args.workload:
        for fw in args.framework:
            cmd = [sys.executable, "-m", "benchmarks.compiled", "--one", fw, wl,
                   "--threads", str(args.threads)] + (["--quick"] if args.quick else []) \
                + (["--reps", str(args.reps)] if args.reps else [])
            env = {**os.environ, "PYTHONPATH": str(root)}
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                      cwd=root, env=env)
                line = (done.stdout.strip().splitlines() or ["{}"])[-1]
                rec = json.loads(line) if line.startswith("{") else \
                    {"status": "error", "reason": done.stderr.strip()[-300:]}
            except subprocess.TimeoutExpired:
                rec = {"status": "error", "reason": f"timed out after {timeout} s"}
            rec.update(framework=fw, workload=wl)
            status |= rec.get("status") == "error"
            records.append(rec)
            print(f"{wl:9s} {fw:20s} {rec.get('status')}", file=sys.stderr, flush=True)
    print(_table(records))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(records, indent=1))
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
