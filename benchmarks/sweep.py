"""Cost as the work grows: a 256-w-w-10 ReLU MLP with Adam, chainrule's step time against
PyTorch's (issue 17's width sweep).

    python -m benchmarks.sweep [--threads 2] [--reps 7] [--report reports/width-sweep.md]

Two sweeps: batch 64 with width w ∈ {32, 128, 512, 2048}, and width 256 with batch
∈ {1, 16, 128, 1024}. Each point trains both frameworks with the code of ``peers/`` (the
same initial weights, the same batches: random float32 inputs and labels from a fixed seed)
in one process, the two alternating repetition by repetition so they see the same load. A
repetition is ``steps`` training steps (forward, cross-entropy, backward, Adam), chosen at the
warm-up so that one takes about 0.1 s; the table gives the median step time of each
framework and their ratio (below 1: chainrule is faster). The ratios are printed and written
to ``--report`` (Markdown) beside a JSON file with every repetition.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import time
from typing import Any

from .run_one import set_thread_env

WIDTHS = (32, 128, 512, 2048)   # at batch 64
BATCHES = (1, 16, 128, 1024)    # at width 256
POINTS = [(w, 64) for w in WIDTHS] + [(256, b) for b in BATCHES]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _trainers(width: int) -> dict[str, Any]:
    from . import data
    from .peers import chainrule_mlp, torch_mlp

    params = data.init_params([256, width, width, 10])
    return {"chainrule": chainrule_mlp.Trainer(params), "torch": torch_mlp.Trainer(params)}


def _time_steps(trainer: Any, X: Any, y: Any, order: Any, batch: int) -> float:
    t0 = time.perf_counter()
    trainer.train_epoch(X, y, order, batch, 0)
    return time.perf_counter() - t0


def point(width: int, batch: int, reps: int = 7, target_s: float = 0.1) -> dict[str, Any]:
    """Median step time (ms) of both frameworks at one width and batch size, and the ratio."""
    import numpy as np

    trainers = _trainers(width)
    rng = np.random.default_rng(width * 10_007 + batch)
    probe = 3
    n_max = batch * max(probe, 200)
    X = rng.standard_normal((n_max, 256)).astype(np.float32)
    y = rng.integers(0, 10, n_max).astype(np.int64)
    probe_order = np.arange(batch * probe)
    step_s = max(min(_time_steps(t, X, y, probe_order, batch) for t in trainers.values()) / probe,
                 1e-6)  # warm-up and the probe that sizes a repetition
    steps = int(min(200, max(probe, target_s / step_s)))
    order = np.arange(batch * steps)
    times: dict[str, list[float]] = {name: [] for name in trainers}
    for _ in range(reps):
        for name, trainer in trainers.items():
            times[name].append(_time_steps(trainer, X, y, order, batch) / steps * 1e3)
    med = {name: float(np.median(v)) for name, v in times.items()}
    return {"width": width, "batch": batch, "steps": steps, "ms": med,
            "ratio": med["chainrule"] / med["torch"], "values": times}


def report(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown table of a sweep."""
    lines = [f"# Width sweep: 256-w-w-10 MLP, Adam, chainrule ÷ PyTorch ({meta['date']})", "",
             f"{meta['threads']} threads, medians of {meta['reps']} repetitions, one run "
             f"(load average {meta['loadavg_start']} before, {meta['loadavg_end']} after).", "",
             "| width | batch | steps/rep | chainrule ms/step | PyTorch ms/step | ratio |",
             "|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['width']} | {r['batch']} | {r['steps']} | {r['ms']['chainrule']:.3f} | "
                     f"{r['ms']['torch']:.3f} | {r['ratio']:.2f}x |")
    worst = max(r["ratio"] for r in results)
    lines += ["", f"Worst ratio {worst:.2f}x (issue 17's goal: at most 1.00x at every point)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the sweep, print the table, write the report and the JSON beside it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP and torch threads")
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions per point")
    parser.add_argument("--target", type=float, default=0.1, help="seconds per repetition")
    parser.add_argument("--report", default=os.path.join(ROOT, "reports", "width-sweep.md"),
                        help="Markdown file to write (a .json with every repetition beside it)")
    parser.add_argument("--point", nargs=2, type=int, action="append", metavar=("WIDTH", "BATCH"),
                        help="only these points (default: the issue's eight)")
    args = parser.parse_args(argv)
    set_thread_env(args.threads)
    try:
        import torch
    except ImportError as exc:
        print(f"width sweep skipped: PyTorch is not installed ({exc})")
        return 0
    torch.set_num_threads(args.threads)
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "threads": args.threads, "reps": args.reps, "torch": torch.__version__,
            "loadavg_start": round(os.getloadavg()[0], 2)}
    results = []
    for width, batch in [tuple(p) for p in args.point] if args.point else POINTS:
        r = point(width, batch, args.reps, args.target)
        print(f"  width {width:5d} batch {batch:5d}: chainrule {r['ms']['chainrule']:8.3f} ms  "
              f"torch {r['ms']['torch']:8.3f} ms  ratio {r['ratio']:.2f}x", flush=True)
        results.append(r)
    meta["loadavg_end"] = round(os.getloadavg()[0], 2)
    text = report(results, meta)
    print(text)
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w") as f:
        f.write(text)
    with open(os.path.splitext(args.report)[0] + ".json", "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print(f"written: {os.path.relpath(args.report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
