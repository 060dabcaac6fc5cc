"""docs/tutorial/backprop-explained.md: its ```python blocks run in order in one namespace
(cwd = a temp dir), print what the page shows, and write the pictures it references."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "docs" / "tutorial" / "backprop-explained.md"


def test_every_block_runs_and_prints_what_the_page_shows(tmp_path, monkeypatch):
    text = PAGE.read_text(encoding="utf-8")
    # each python block, and the ```text block right after it if there is one
    pairs = re.findall(r"^```python\n(.*?)^```\n(?:\n```text\n(.*?)^```)?", text, flags=re.S | re.M)
    assert len(pairs) >= 8
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": "__docs__"}
    for i, (code, shown) in enumerate(pairs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{PAGE.name} block {i}", "exec"), ns)
        if shown:
            assert out.getvalue().rstrip("\n") == shown.rstrip("\n"), f"block {i}"
    for ref in re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", text):
        picture = tmp_path / ref
        assert picture.exists(), ref
        assert picture.read_text().lstrip().startswith("<svg")
