"""A griffe extension for the API pages: docstring examples (``>>>`` runs) become code blocks,
and the lines of an op's ``Rules:`` section a list.

chainrule's docstrings carry runnable ``>>>`` examples in their text (STYLE.md rule 12, checked by
``--doctest-modules``) rather than in an ``Examples:`` section; Markdown would read each ``>``
as a quotation and ``[0.67, 0.24]`` in an output as a link. This wraps every run of lines that
starts with ``>>>`` (the prompts, their ``...`` continuations and outputs, up to a blank line)
in a ``pycon`` fence, at the run's own indentation.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_PROMPT = re.compile(r"^(\s*)>>>")
_RULE = re.compile(r"^(\s+)(forward|vjp|jvp): ", re.M)


def fence_doctests(text: str) -> str:
    """``text`` with each doctest run inside a ```pycon fence."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start = _PROMPT.match(lines[i])
        if not start:
            out.append(lines[i])
            i += 1
            continue
        indent = start.group(1)
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    """Fence the ``>>>`` examples of every docstring griffe loads; list an op's rules."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is None:
            return
        if ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
        if "Rules:" in obj.docstring.value:  # (docs/hooks.py op_rules: forward, vjp, jvp lines)
            obj.docstring.value = _RULE.sub(r"\1- **\2**: ", obj.docstring.value)
