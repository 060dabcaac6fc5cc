"""The README's Python examples run as written (so the tour never drifts from the code)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 2


def test_api_tour_runs(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    pytest.importorskip("safetensors")
    pytest.importorskip("onnx")
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[0], "README.md", "exec"), {})
    assert (tmp_path / "digits.safetensors").exists() and (tmp_path / "digits.onnx").exists()


def test_sklearn_example_runs():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    scope = {"X": X, "y": y}
    exec(compile(BLOCKS[1], "README.md", "exec"), scope)
    assert scope["clf"].score(X, y) > 0.95
