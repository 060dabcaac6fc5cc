"""Run one framework on one workload in this process and print one JSON line.

    python -m benchmarks.run_one FRAMEWORK WORKLOAD --reps N [--quick] [--threads T]

The line always has ``framework``, ``workload`` and ``status``: "ok" (with ``cases``: each
a median/min/max/values summary in ``unit``, ``accuracy``, ``peak_rss_mb``, ``info``),
"unavailable" (the framework cannot be imported; ``reason`` says why) or "error"
(``reason`` and the traceback's tail). The harness (``python -m benchmarks``) runs this
once per framework per workload so that no framework inherits another's state.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def set_thread_env(threads: int) -> None:
    """Pin every BLAS/OpenMP pool to ``threads``; must run before NumPy is imported."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the JSON line; exit status 1 only on "error"."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_one", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("framework")
    parser.add_argument("workload")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions")
    parser.add_argument("--quick", action="store_true", help="the smaller smoke-test settings")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP, torch and XLA threads")
    args = parser.parse_args(argv)
    set_thread_env(args.threads)

    from .workloads import WORKLOADS  # NOTE: imports NumPy, so only after the thread variables

    record: dict = {"framework": args.framework, "workload": args.workload,
                    "quick": args.quick, "threads": args.threads}
    workload = WORKLOADS.get(args.workload)
    if workload is None or args.framework not in workload.frameworks:
        record.update(status="error", reason=f"unknown workload/framework pair "
                      f"{args.workload}/{args.framework}; workloads: {sorted(WORKLOADS)}")
        print(json.dumps(record), flush=True)
        return 1
    reps = args.reps or (workload.quick_reps if args.quick else workload.reps)
    record.update(unit=workload.unit, reps=reps)
    t0 = time.perf_counter()
    try:
        result = workload.run(args.framework, reps, args.quick, args.threads)
    except ImportError as exc:
        record.update(status="unavailable", reason=f"{type(exc).__name__}: {exc}")
        code = 0
    except Exception as exc:  # noqa: BLE001 - reported to the harness, which shows it
        record.update(status="error", reason=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc().splitlines()[-12:])
        code = 1
    else:
        record.update(status="ok", **result)
        code = 0
    record["process_s"] = time.perf_counter() - t0
    print(json.dumps(record), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
