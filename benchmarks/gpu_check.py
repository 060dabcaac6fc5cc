"""The GPU path run for real (issue 17, ``make gpu-check``): install CuPy for CUDA 12, run the
backend tests on real CuPy arrays, train the MNIST-shaped MLP and a small CNN on the GPU and
time them beside PyTorch on CUDA; a short results file, all within 8 minutes.

    python -m benchmarks.gpu_check [--report reports/gpu-check.md] [--budget 480]
    python -m benchmarks.gpu_check --dry-run    # no GPU: the stand-in CuPy of tests/fake_cupy.py

Three phases, each a child process with its share of the time budget, so that a hang in one
still leaves a results file:

1. ``install``: ``pip install cupy-cuda12x`` unless CuPy already imports;
2. ``tests``: ``pytest tests/test_backend_dispatch.py`` with ``CHAINRULE_REAL_CUPY=1`` (the same
   tests the stand-in runs, on real CuPy arrays);
3. ``train``: ``--steps`` Adam steps of the MLP 784-256-128-10 at batch 128 and of a small CNN
   (two 3×3 convolutions with max pooling, batch 64 of 1×28×28) on random MNIST-shaped data,
   chainrule on CuPy and PyTorch on CUDA, the two alternating; median ms per step after
   synchronizing the device, and the ratio (goal: MLP within 1.5× of PyTorch CUDA).

``--dry-run`` checks this script's logic on a machine without a GPU: no install, the tests run
against the stand-in (``CHAINRULE_REAL_CUPY`` unset), chainrule trains on the stand-in and
PyTorch on the CPU, and the results file says DRY RUN at the top. The exit status is 1 when a
phase failed (a dry run's timings are not a result).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL = [sys.executable, "-m", "pip", "install", "--quiet", "cupy-cuda12x"]
TESTS = "tests/test_backend_dispatch.py"
WORKLOADS = (("mlp", 128, (784,)), ("cnn", 64, (1, 28, 28)))
"""(model, batch size, sample shape) of the training phase."""
SHARES = {"install": 0.35, "tests": 0.4, "train": 0.25}
"""Each phase's share of the time budget (a phase that finishes early leaves its rest to the
next ones)."""


def pytest_counts(output: str) -> dict[str, int]:
    """The counts of pytest's summary line: ``{"passed": 850, "skipped": 2, ...}``."""
    lines = [ln for ln in output.strip().splitlines() if re.search(r"\d+ (passed|failed|error)", ln)]
    if not lines:
        return {}
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed)",
                                                   lines[-1])}


def _child(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              timeout=max(timeout, 1.0), env=env)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return {"rc": None, "output": out, "seconds": time.perf_counter() - t0,
                "why": f"timed out after {timeout:.0f} s"}
    return {"rc": proc.returncode, "output": proc.stdout + proc.stderr,
            "seconds": time.perf_counter() - t0}


def phase_install(dry_run: bool, timeout: float) -> dict[str, Any]:
    """Install CuPy for CUDA 12 unless it imports already."""
    cmd = " ".join(INSTALL[1:])
    if dry_run:
        return {"status": "skipped", "detail": f"dry run: would run `python {cmd}`"}
    if importlib.util.find_spec("cupy") is not None:
        return {"status": "ok", "detail": "CuPy already installed"}
    r = _child(INSTALL, timeout)
    if r["rc"] == 0:
        return {"status": "ok", "detail": f"`python {cmd}` in {r['seconds']:.0f} s"}
    tail = r.get("why") or (r["output"].strip().splitlines() or ["(no output)"])[-1]
    return {"status": "failed", "detail": f"`python {cmd}`: {tail}"}


def phase_tests(dry_run: bool, timeout: float, select: str | None = None) -> dict[str, Any]:
    """The backend tests on real CuPy (the stand-in in a dry run)."""
    env = dict(os.environ)
    env.pop("CHAINRULE_REAL_CUPY", None)
    if not dry_run:
        env["CHAINRULE_REAL_CUPY"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
    if select:
        cmd += ["-k", select]
    r = _child(cmd, timeout, env)
    counts = pytest_counts(r["output"])
    summary = ", ".join(f"{n} {w}" for w, n in counts.items()) or "no summary"
    ok = r["rc"] == 0 and counts.get("passed", 0) > 0
    why = r.get("why")
    return {"status": "ok" if ok else "failed", "counts": counts,
            "detail": f"{'stand-in' if dry_run else 'real CuPy'}: {summary}"
                      + (f" ({why})" if why else "") + f" in {r['seconds']:.0f} s",
            "tail": None if ok else r["output"].strip().splitlines()[-15:]}


def phase_train(dry_run: bool, timeout: float, steps: int) -> dict[str, Any]:
    """The two training workloads in a child process (``--train-only``), its JSON line."""
    cmd = [sys.executable, "-m", "benchmarks.gpu_check", "--train-only", "--steps", str(steps)]
    if dry_run:
        cmd.append("--dry-run")
    r = _child(cmd, timeout)
    lines = [ln for ln in r["output"].splitlines() if ln.startswith("{")]
    if r["rc"] != 0 or not lines:
        tail = r.get("why") or (r["output"].strip().splitlines() or ["(no output)"])[-1]
        return {"status": "failed", "detail": tail, "tail": r["output"].strip().splitlines()[-15:]}
    result = json.loads(lines[-1])
    return {"status": "ok", "detail": f"{steps} steps per workload in {r['seconds']:.0f} s",
            "workloads": result}


# --- the training workloads (run in the child) ----------------------------------------------

def _use_stand_in() -> None:
    sys.path.insert(0, ROOT)
    from tests import fake_cupy
    sys.modules.update(fake_cupy.modules())


def _sync(xp: Any) -> None:
    cuda = getattr(xp, "cuda", None)  # the stand-in has none: its work is done on return
    if cuda is not None:
        cuda.Device().synchronize()


def _ours(kind: str, nn: Any) -> Any:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(784, 256, rng=0), nn.ReLU(), nn.Linear(256, 128, rng=1),
                             nn.ReLU(), nn.Linear(128, 10, rng=2))
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1, rng=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10, rng=2))


def _theirs(kind: str, torch: Any, state: dict[str, Any]) -> Any:
    tnn = torch.nn
    if kind == "mlp":
        model = tnn.Sequential(tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(),
                               tnn.Linear(128, 10))
    else:
        model = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Flatten(), tnn.Linear(32 * 7 * 7, 10))
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})  # the same weights
    return model


def train_workloads(steps: int, dry_run: bool) -> dict[str, Any]:
    """Median ms per Adam step of chainrule on CuPy and PyTorch on CUDA (CPU in a dry run)."""
    if dry_run:
        _use_stand_in()
    try:
        import torch
    except ImportError:
        torch = None
    device = "cuda" if torch is not None and torch.cuda.is_available() and not dry_run else "cpu"
    out: dict[str, Any] = {"torch_device": device if torch is not None else None}
    for kind, batch, shape in WORKLOADS:
        out[kind] = _workload(kind, batch, shape, steps, torch, device)
    return out


def _workload(kind: str, batch: int, shape: tuple[int, ...], steps: int, torch: Any,
              device: str) -> dict[str, Any]:
    import cupy as cp
    import numpy as np

    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.nn import functional as F

    rng = np.random.default_rng(0)
    x = rng.random((batch, *shape), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    ours = _ours(kind, nn)
    theirs = None if torch is None else _theirs(kind, torch, ours.state_dict())
    ours.to("cupy")
    opt = optim.Adam(ours.parameters(), lr=1e-3)
    xd, yd = cr.Tensor(x).to("cupy"), cr.Tensor(y).to("cupy")

    def step_ours() -> None:
        opt.zero_grad()
        F.cross_entropy(ours(xd), yd).backward()
        opt.step()
        _sync(cp)

    runs = {"chainrule": step_ours}
    if theirs is not None:
        theirs.to(device)
        topt = torch.optim.Adam(theirs.parameters(), lr=1e-3)
        xt, yt = torch.tensor(x, device=device), torch.tensor(y, device=device)

        def step_theirs() -> None:
            topt.zero_grad()
            torch.nn.functional.cross_entropy(theirs(xt), yt).backward()
            topt.step()
            if device == "cuda":
                torch.cuda.synchronize()

        runs["torch"] = step_theirs
    times: dict[str, list[float]] = {k: [] for k in runs}
    for i in range(steps + 2):  # two untimed steps: kernel compilation, allocator warm-up
        for name, f in runs.items():
            t0 = time.perf_counter()
            f()
            if i >= 2:
                times[name].append((time.perf_counter() - t0) * 1e3)
    med = {k: float(np.median(v)) for k, v in times.items()}
    return {"batch": batch, "ms": med, "ratio": med["chainrule"] / med["torch"] if "torch" in med else None}


# --- the results file ---------------------------------------------------------------------

def report(phases: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown results file."""
    lines = []
    if meta["dry_run"]:
        lines += ["**DRY RUN** on a machine without a GPU: the tests ran against the stand-in "
                  "CuPy (tests/fake_cupy.py), chainrule trained on the stand-in and PyTorch on "
                  "the CPU. These timings check the script, they are not GPU figures.", ""]
    lines += [f"# GPU check ({meta['date']}, {meta['seconds']:.0f} s of a {meta['budget']:.0f} s budget)",
              "", f"GPU: {meta.get('gpu') or 'none found'}", "",
              "| phase | status | detail |", "|---|---|---|"]
    for name, p in phases.items():
        lines.append(f"| {name} | {p['status']} | {p['detail']} |")
    train = phases.get("train", {}).get("workloads")
    if train:
        dev = train.get("torch_device") or "not installed"
        lines += ["", f"| workload | chainrule (CuPy) ms/step | PyTorch ({dev}) ms/step | ratio |",
                  "|---|---|---|---|"]
        names = {"mlp": "MLP 784-256-128-10, batch 128, Adam", "cnn": "CNN 2×conv3×3+pool, batch 64, Adam"}
        for kind in ("mlp", "cnn"):
            w = train[kind]
            theirs, ratio = w["ms"].get("torch"), w["ratio"]
            lines.append(f"| {names[kind]} | {w['ms']['chainrule']:.2f} | "
                         + ("—" if theirs is None else f"{theirs:.2f}") + " | "
                         + ("—" if ratio is None else f"{ratio:.2f}x") + " |")
        mlp = train["mlp"]["ratio"]
        if mlp is not None and not meta["dry_run"]:
            lines += ["", f"Goal (issue 17): MLP within 1.5× of PyTorch CUDA — "
                          f"{'met' if mlp <= 1.5 else 'not met'} ({mlp:.2f}x)."]
    for name, p in phases.items():
        if p.get("tail"):
            lines += ["", f"{name} output (last lines):", "```", *p["tail"], "```"]
    return "\n".join(lines) + "\n"


def _gpu_name() -> str | None:
    try:
        proc = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() or None


def main(argv: list[str] | None = None) -> int:
    """Run the phases within the budget, write the results file; 1 if a phase failed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="no GPU: check the logic on the stand-in")
    parser.add_argument("--report", default=os.path.join(ROOT, "reports", "gpu-check.md"))
    parser.add_argument("--budget", type=float, default=480.0, help="seconds for everything (8 min)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per training workload")
    parser.add_argument("--select", help="only the backend tests matching this pytest -k expression")
    parser.add_argument("--train-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.train_only:
        print(json.dumps(train_workloads(args.steps, args.dry_run)))
        return 0
    t0 = time.perf_counter()

    def share(name: str) -> float:
        left = args.budget - (time.perf_counter() - t0)
        later = sum(v for k, v in SHARES.items() if list(SHARES).index(k) >= list(SHARES).index(name))
        return max(left * SHARES[name] / later, 1.0)

    phases: dict[str, dict[str, Any]] = {}
    phases["install"] = phase_install(args.dry_run, share("install"))
    if phases["install"]["status"] == "failed":
        phases["tests"] = phases["train"] = {"status": "not run", "detail": "CuPy is not installed"}
    else:
        phases["tests"] = phase_tests(args.dry_run, share("tests"), args.select)
        phases["train"] = phase_train(args.dry_run, share("train"), args.steps)
    meta = {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "dry_run": args.dry_run, "budget": args.budget, "seconds": time.perf_counter() - t0,
            "gpu": None if args.dry_run else _gpu_name()}
    text = report(phases, meta)
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    with open(args.report, "w") as f:
        f.write(text)
    print(text)
    print(f"written: {os.path.relpath(args.report)}")
    return 0 if all(p["status"] in ("ok", "skipped") for p in phases.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
