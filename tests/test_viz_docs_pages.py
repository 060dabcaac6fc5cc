"""docs/tutorial/optimizers-on-surfaces.md and docs/tutorial/pictures.md run as written: their
python blocks in order, in one namespace, in a fresh folder; every picture they reference is
one they wrote."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tutorial"


@pytest.mark.parametrize("page", ["optimizers-on-surfaces.md", "pictures.md"])
def test_page_runs_and_writes_its_pictures(page, tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    text = (DOCS / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{page} block {i}", "exec"), scope)
    images = re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", text)
    assert images and all((tmp_path / name).is_file() for name in images), images
    assert "Traceback" not in capsys.readouterr().out
