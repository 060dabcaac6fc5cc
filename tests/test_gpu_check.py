"""`make gpu-check` (benchmarks.gpu_check) on a machine without a GPU: its logic against the
stand-in CuPy (tests/fake_cupy.py) — the phases, the environment the backend tests get, the
training workloads and the results file. The real run needs a GPU and is not part of the suite."""

from __future__ import annotations

import sys

import pytest

from benchmarks import gpu_check
from chainrule import backend

from . import fake_cupy


def test_pytest_counts_reads_the_summary_line():
    out = "....\n= 850 passed, 2 skipped, 1 failed in 31.2s =\n"
    assert gpu_check.pytest_counts(out) == {"passed": 850, "skipped": 2, "failed": 1}
    assert gpu_check.pytest_counts("860 passed in 21.47s") == {"passed": 860}
    assert gpu_check.pytest_counts("ImportError while loading conftest") == {}


def test_install_is_cupy_for_cuda_12_and_skipped_in_a_dry_run():
    assert gpu_check.INSTALL[-1] == "cupy-cuda12x"
    p = gpu_check.phase_install(True, 10)
    assert p["status"] == "skipped" and "cupy-cuda12x" in p["detail"]


@pytest.mark.parametrize("dry_run", [True, False])
def test_backend_tests_run_on_real_cupy_only_outside_a_dry_run(dry_run, monkeypatch):
    seen = {}

    def child(cmd, timeout, env=None):
        seen.update(cmd=cmd, env=env)
        return {"rc": 0, "output": "3 passed, 1 skipped in 2.0s", "seconds": 2.0}

    monkeypatch.setenv("CHAINRULE_REAL_CUPY", "1")  # left over from elsewhere: not inherited
    monkeypatch.setattr(gpu_check, "_child", child)
    p = gpu_check.phase_tests(dry_run, 60, select="mixing")
    assert p["status"] == "ok" and p["counts"] == {"passed": 3, "skipped": 1}
    assert (seen["env"].get("CHAINRULE_REAL_CUPY") == "1") is not dry_run
    assert gpu_check.TESTS in seen["cmd"] and seen["cmd"][-2:] == ["-k", "mixing"]


def test_a_test_run_that_passes_nothing_fails(monkeypatch):
    monkeypatch.setattr(gpu_check, "_child", lambda cmd, timeout, env=None: {
        "rc": 0, "output": "1 skipped in 0.1s", "seconds": 0.1})
    assert gpu_check.phase_tests(False, 60)["status"] == "failed"


def test_training_workloads_on_the_stand_in(monkeypatch):
    # chainrule's half on the stand-in; without PyTorch (its optimizer's first step imports
    # its compiler, tens of seconds on a busy machine) the ratio is left out
    def stand_in():  # as _use_stand_in, undone after the test
        for name, module in fake_cupy.modules().items():
            monkeypatch.setitem(sys.modules, name, module)

    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(gpu_check, "_use_stand_in", stand_in)
    monkeypatch.setattr(gpu_check, "WORKLOADS", (("mlp", 8, (784,)), ("cnn", 4, (1, 28, 28))))
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    out = gpu_check.train_workloads(1, dry_run=True)
    monkeypatch.setattr(backend, "_cupy", None)
    assert out["torch_device"] is None
    for kind in ("mlp", "cnn"):
        assert out[kind]["batch"] == {"mlp": 8, "cnn": 4}[kind]
        assert out[kind]["ms"]["chainrule"] > 0 and "torch" not in out[kind]["ms"]
        assert out[kind]["ratio"] is None


def _train(ratio):
    return {"status": "ok", "detail": "30 steps", "workloads": {
        "torch_device": "cuda",
        "mlp": {"batch": 128, "ms": {"chainrule": 2.0 * ratio, "torch": 2.0}, "ratio": ratio},
        "cnn": {"batch": 64, "ms": {"chainrule": 3.0}, "ratio": None}}}


def test_report_says_dry_run_and_the_goal_only_for_a_real_run():
    phases = {"install": {"status": "ok", "detail": "CuPy already installed"},
              "tests": {"status": "ok", "detail": "real CuPy: 858 passed"}, "train": _train(1.2)}
    meta = {"date": "2026-12-02", "dry_run": False, "budget": 480, "seconds": 200, "gpu": "H200"}
    text = gpu_check.report(phases, meta)
    assert "DRY RUN" not in text and "GPU: H200" in text
    assert "| MLP 784-256-128-10, batch 128, Adam | 2.40 | 2.00 | 1.20x |" in text
    assert "| CNN 2×conv3×3+pool, batch 64, Adam | 3.00 | — | — |" in text
    assert "met (1.20x)" in text
    dry = gpu_check.report({**phases, "train": _train(2.0)}, {**meta, "dry_run": True, "gpu": None})
    assert dry.startswith("**DRY RUN**") and "Goal" not in dry


def test_main_writes_the_results_file_and_fails_when_a_phase_failed(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "phase_install", lambda dry, t: {"status": "skipped", "detail": "dry"})
    monkeypatch.setattr(gpu_check, "phase_tests",
                        lambda dry, t, select: {"status": "ok", "detail": "2 passed"})
    monkeypatch.setattr(gpu_check, "phase_train", lambda dry, t, steps: _train(1.0))
    path = tmp_path / "r" / "gpu-check.md"
    assert gpu_check.main(["--dry-run", "--report", str(path)]) == 0
    assert path.read_text().startswith("**DRY RUN**")
    monkeypatch.setattr(gpu_check, "phase_install", lambda dry, t: {"status": "failed", "detail": "no pip"})
    assert gpu_check.main(["--report", str(path)]) == 1
    assert "| tests | not run | CuPy is not installed |" in path.read_text()
