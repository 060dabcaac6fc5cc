"""The README's main job: accuracy targets of issue 3 on held-out data, and its report."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("sklearn")


@pytest.mark.slow
def test_demo_meets_the_accuracy_targets_and_writes_a_report(tmp_path):
    from chainrule.demo import run
    summary = run(tmp_path, seed=0, progress=False, plots=False)
    assert summary["zero_vs_one"]["test_accuracy"] >= 0.995
    assert summary["ten_digits"]["test_accuracy"] >= 0.97
    assert summary["admissions_perceptron"]["test_accuracy"] >= 0.95
    assert summary["seconds"] < 60
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == 0
    assert (tmp_path / "ten_digits_history.csv").read_text().startswith("epoch,loss,accuracy")
