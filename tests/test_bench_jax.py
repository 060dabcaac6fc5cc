"""The benchmarks' JAX peer: optional like torch, and the same training as the NumPy floor."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from benchmarks import run_one
from benchmarks.__main__ import format_workload
from benchmarks.data import init_params
from benchmarks.peers.floor import FloorMLP
from benchmarks.workloads import WORKLOADS

SIZES = [6, 16, 8, 3]


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], n)


def _floor_params(net: FloorMLP) -> list[np.ndarray]:
    return [a for pair in zip(net.W, net.b) for a in pair]


def _jax_params(net: object) -> list[np.ndarray]:
    return [a for pair in net.params for a in pair]


def _jax_mlp():
    pytest.importorskip("jax")
    from benchmarks.peers import jax_mlp

    return jax_mlp


def test_first_adam_step_matches_floor():
    jax_mlp = _jax_mlp()
    X, y = _data(8)
    init = init_params(SIZES)
    floor, net = FloorMLP(init), jax_mlp.JaxMLP(init)
    floor.train_epoch(X, y, np.arange(8), batch_size=8, epoch=0)
    net.train_epoch(X, y, np.arange(8), batch_size=8, epoch=0)
    # Adam's first step is lr·g/(|g| + eps): about lr = 1e-3 per entry, so 1e-5 is 1% of it.
    start = [a for pair in init for a in pair]
    assert max(np.abs(p - a).max() for p, a in zip(_floor_params(floor), start)) > 5e-4
    for p_floor, p_jax in zip(_floor_params(floor), _jax_params(net), strict=True):
        np.testing.assert_allclose(p_jax, p_floor, rtol=0, atol=1e-5)
    assert float(net.loss) == pytest.approx(float(floor.loss), rel=1e-5)


def test_one_epoch_compiles_once_per_batch_shape():
    jax_mlp = _jax_mlp()
    X, y = _data(20)
    init = init_params(SIZES)
    floor, net = FloorMLP(init), jax_mlp.JaxMLP(init)
    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(20)
        floor.train_epoch(X, y, order, batch_size=8, epoch=epoch)  # batches of 8, 8 and 4
        net.train_epoch(X, y, order, batch_size=8, epoch=epoch)
        # the full and the short batch: the warm-up epoch compiles both, later epochs none
        assert net.step._cache_size() == 2
    for p_floor, p_jax in zip(_floor_params(floor), _jax_params(net), strict=True):
        np.testing.assert_allclose(p_jax, p_floor, rtol=0, atol=1e-5)
    assert net.accuracy(X, y) == floor.accuracy(X, y)


def test_missing_jax_is_reported_not_available(monkeypatch, capsys):
    for var in run_one.THREAD_VARS:  # main() sets them; monkeypatch restores them afterwards
        monkeypatch.setenv(var, "1")
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax -> ImportError
    monkeypatch.delitem(sys.modules, "benchmarks.peers.jax_mlp", raising=False)
    assert run_one.main(["jax", "digits", "--threads", "1"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["status"] == "unavailable"
    assert "jax" in record["reason"]


def _record(framework: str, median: float) -> dict:
    case = {"median": median, "min": median, "max": median, "values": [median]}
    return {"framework": framework, "status": "ok", "cases": {"epoch": case}, "accuracy": 0.9}


def test_table_prints_chainrule_over_jax_when_jax_ran():
    workload = WORKLOADS["mnist128"]
    records = {"floor": _record("floor", 1.0), "jax": _record("jax", 0.8),
               "chainrule": _record("chainrule", 2.0)}
    text = format_workload(workload, records, reps=1)
    assert "chainrule/jax = 2.50x" in text and "chainrule/floor = 2.00x" in text
    assert "chainrule/torch" not in text  # not asked for, so no ratio line entry
    records["jax"] = {"framework": "jax", "status": "unavailable",
                      "reason": "ImportError: No module named 'jax'"}
    text = format_workload(workload, records, reps=1)
    assert "not available (ImportError: No module named 'jax')" in text
    assert "chainrule/jax = n/a" in text
