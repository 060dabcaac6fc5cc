"""docs/coming-from-pytorch.md runs as written: each code block checks the claim beside it."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[1] / "docs" / "coming-from-pytorch.md"
BLOCKS = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


def test_the_page_has_a_block_per_difference():
    sections = re.findall(r"^## ", PAGE.read_text(), re.M)
    assert len(BLOCKS) > len(sections) >= 10


def test_every_block_runs():
    scope: dict = {}
    for i, block in enumerate(BLOCKS):
        exec(compile(block, f"{PAGE.name} block {i}", "exec"), scope)
