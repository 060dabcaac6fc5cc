"""The harness: every framework on every workload, one fresh process each, in one run.

    python -m benchmarks [--quick] [--workload NAME ...] [--framework NAME ...]
                         [--json PATH] [--threads N] [--reps N]

Prints one table per workload (medians with min–max, accuracy beside the time, the ratios
chainrule/PyTorch, chainrule/JAX and chainrule/floor) and writes every record to a JSON file under
``runs/`` (git-ignored). See benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from typing import Any

from .run_one import THREAD_VARS
from .workloads import WORKLOADS, Workload

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_process(framework: str, workload: Workload, reps: int | None, quick: bool, threads: int,
                timeout: float) -> dict[str, Any]:
    """Run ``python -m benchmarks.run_one`` for one pair and return its JSON record."""
    cmd = [sys.executable, "-m", "benchmarks.run_one", framework, workload.name,
           "--threads", str(threads)]
    if reps:
        cmd += ["--reps", str(reps)]
    if quick:
        cmd.append("--quick")
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARS})
    base = {"framework": framework, "workload": workload.name, "unit": workload.unit}
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "status": "error", "reason": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {**base, "status": "error", "reason": f"exit {proc.returncode}: {tail}"}
    record = json.loads(lines[-1])
    if record.get("status") == "error" and proc.stderr.strip():
        record["stderr_tail"] = proc.stderr.strip().splitlines()[-5:]
    return record


# --- formatting -------------------------------------------------------------------------------

def _num(x: float, digits: int) -> str:
    return f"{x:,.{digits}f}"


def _time(case: dict[str, Any], digits: int) -> str:
    return f"{_num(case['median'], digits)} ({_num(case['min'], digits)}–{_num(case['max'], digits)})"


def _why(record: dict[str, Any]) -> str:
    what = "not available" if record.get("status") == "unavailable" else "error"
    reason = str(record.get("reason", "")).splitlines()[0] if record.get("reason") else ""
    return f"{what} ({reason[:120]})" if reason else what


def _ratio(a: dict | None, b: dict | None, case: str) -> float | None:
    if not a or not b or a.get("status") != "ok" or b.get("status") != "ok":
        return None
    try:
        return a["cases"][case]["median"] / b["cases"][case]["median"]
    except (KeyError, ZeroDivisionError):
        return None


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def format_workload(workload: Workload, records: dict[str, dict[str, Any]], reps: int) -> str:
    """One workload's table: per framework (one case) or per case (several cases)."""
    ok = {fw: r for fw, r in records.items() if r.get("status") == "ok"}
    cases: list[str] = []
    for r in ok.values():
        cases += [c for c in r["cases"] if c not in cases]
    head = (f"== {workload.name}: {workload.title}\n"
            f"   {workload.unit}, median (min–max) of {reps} timed repetitions after warm-up")
    lines = [head]
    base = workload.ratios[-1]
    cr = records.get("chainrule")
    if len(cases) <= 1:
        case = cases[0] if cases else ""
        show_mem = any(r.get("peak_rss_mb") for r in ok.values())
        header = ["framework", f"time ({workload.unit})", "accuracy", f"÷ {base}"]
        if show_mem:
            header += ["peak MB", "growth MB"]
        rows = [header]
        for fw, r in records.items():
            if r.get("status") != "ok":
                rows.append([fw, _why(r)])
                continue
            acc = r.get("accuracy")
            ratio = _ratio(r, records.get(base), case)
            row = [fw, _time(r["cases"][case], workload.digits),
                   "—" if acc is None else f"{100 * acc:.1f}%",
                   "—" if ratio is None else f"{ratio:.2f}x"]
            if show_mem:
                peak, before = r.get("peak_rss_mb"), r.get("rss_before_mb")
                row += ["—" if peak is None else f"{peak:,.0f}",
                        "—" if peak is None or before is None else f"{peak - before:,.0f}"]
            rows.append(row)
        # NOTE: unavailable rows have two cells; widths come from the full rows only.
        full = [r for r in rows if len(r) > 2]
        table = _table(full)
        by_fw = {r[0]: line for r, line in zip(full, table)}
        for r in rows:
            lines.append(by_fw[r[0]] if len(r) > 2 else f"  {r[0]:<{len(full[0][0]) if full else 9}}  {r[1]}")
        ratios = []
        # NOTE: a denominator left out by --framework gets no ratio; one that was asked for
        # but is not installed reads n/a, so a missing optional peer stays visible.
        for other in (o for o in workload.ratios if o in records):
            q = _ratio(cr, records.get(other), case)
            ratios.append(f"chainrule/{other} = " + ("n/a" if q is None else f"{q:.2f}x"))
        lines.append("  " + "   ".join(ratios))
    else:
        fws = [fw for fw in records if fw in ok]
        header = ["case"] + [f"{fw} ({workload.unit})" for fw in fws]
        header += [f"chainrule/{o}" for o in workload.ratios]
        if workload.show_difference:
            header.append(f"chainrule − {workload.ratios[0]}")
        rows = [header]
        for case in cases:
            row = [case] + [_time(ok[fw]["cases"][case], workload.digits) if case in ok[fw]["cases"]
                            else "—" for fw in fws]
            for other in workload.ratios:
                q = _ratio(cr, records.get(other), case)
                row.append("n/a" if q is None else f"{q:.2f}x")
            if workload.show_difference:
                a, b = ok.get("chainrule"), ok.get(workload.ratios[0])
                d = (a["cases"][case]["median"] - b["cases"][case]["median"]) if a and b else None
                row.append("n/a" if d is None else f"{d:+.{workload.digits}f}")
            rows.append(row)
        lines += _table(rows)
        for fw, r in records.items():
            if r.get("status") != "ok":
                lines.append(f"  {fw}: {_why(r)}")
    notes = sorted({str(r["info"].get("real_mnist_unavailable")) for r in ok.values()
                    if r.get("info", {}).get("real_mnist_unavailable")})
    sources = sorted({f"{r['info']['data']}, {r['info']['n_train']} train / {r['info']['n_test']} test"
                      for r in ok.values() if r.get("info", {}).get("data")})
    if sources:
        lines.append(f"  data: {'; '.join(sources)}"
                     + (f" (real MNIST unavailable: {notes[0]})" if notes else ""))
    return "\n".join(lines)


# --- run ----------------------------------------------------------------------------------------

def _meta(args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), None)
    except OSError:
        pass
    return {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "quick": args.quick, "threads": args.threads, "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform(), "cpu": cpu,
            "cpu_count": os.cpu_count(), "commit": commit}


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def main(argv: list[str] | None = None) -> int:
    """Run the selected workloads and frameworks; exit status 1 if any run errored."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="chainrule against its peers, in one run.",
        epilog="workloads: " + ", ".join(f"{w.name} ({'/'.join(w.frameworks)})"
                                         for w in WORKLOADS.values()))
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and smaller data: a smoke run of about a minute")
    parser.add_argument("--workload", nargs="+", action="extend", choices=list(WORKLOADS),
                        metavar="NAME", help="workloads to run (default: all)")
    parser.add_argument("--framework", nargs="+", action="extend", metavar="NAME",
                        help="only these frameworks (floor, torch, jax, sklearn, chainrule, numpy)")
    parser.add_argument("--json", metavar="PATH",
                        help="results file (default: runs/benchmarks/results-<UTC time>.json)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for BLAS/OpenMP, torch and XLA in every process (default 2)")
    parser.add_argument("--reps", type=int, help="override the timed repetitions of every workload")
    parser.add_argument("--timeout", type=float, help="seconds per process (default 900, quick 180)")
    args = parser.parse_args(argv)

    names = args.workload or list(WORKLOADS)
    timeout = args.timeout or (180.0 if args.quick else 900.0)
    path = args.json or os.path.join(
        ROOT, "runs", "benchmarks",
        f"results-{_dt.datetime.now(_dt.timezone.utc):%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}.json")
    out: dict[str, Any] = {"meta": _meta(args), "workloads": {}}
    load = _loadavg()
    out["meta"]["loadavg_start"] = load
    if load is not None and load > 0.75:
        hint = ("" if args.threads == 1 else
                f" {args.threads} threads per process suffer most (PyTorch's OpenMP pool can slow"
                " down many-fold when a core is taken): consider --threads 1.")
        print(f"warning: the machine is busy before the run (1-minute load average {load:.2f} on "
              f"{os.cpu_count()} cores); other work distorts timings, so compare ratios only "
              f"within this run.{hint}",
              file=sys.stderr)
    failed = False
    t_start = time.perf_counter()
    for name in names:
        workload = WORKLOADS[name]
        reps = args.reps or (workload.quick_reps if args.quick else workload.reps)
        records: dict[str, dict[str, Any]] = {}
        for fw in workload.frameworks:
            if args.framework and fw not in args.framework:
                continue
            t0 = time.perf_counter()
            print(f"[{name}] {fw} ...", end="", file=sys.stderr, flush=True)
            records[fw] = run_process(fw, workload, args.reps, args.quick, args.threads, timeout)
            status = records[fw].get("status")
            failed |= status == "error"
            print(f" {status} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)
        out["workloads"][name] = {"title": workload.title, "unit": workload.unit, "reps": reps,
                                  "results": records}
        print(format_workload(workload, records, reps))
        print(flush=True)
    out["meta"]["total_s"] = time.perf_counter() - t_start
    out["meta"]["loadavg_end"] = _loadavg()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"results: {os.path.relpath(path)}  ({out['meta']['total_s']:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
