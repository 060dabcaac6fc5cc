"""MkDocs hooks of chainrule's documentation site (``hooks:`` in mkdocs.yml).

Two jobs, both at build time so nothing generated is committed:

- Every ```python block of a page runs, the page's blocks in order in one namespace, with the
  working directory the folder the page's HTML lands in (so a block that saves
  ``img/<name>.png`` puts the picture beside the page that shows it as ``![..](img/<name>.png)``).
  What a block prints is shown under it. tests/test_docs_site.py runs the same blocks through
  :func:`run_page`, so the site shows what the tests check.
- ``reference/derivatives.md`` is generated from the op registry (:data:`chainrule.OPS`): each
  primitive's forward, reverse (vjp) and forward (jvp) rule, read from the ``Rules:`` section
  of its docstring (see :func:`op_rules`).

Nothing here imports MkDocs at module level: the tests import this file without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import io
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

#: A fenced Python block: the opening fence line ends right after ``python``.
BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
#: A picture a page shows from a relative ``img/`` folder.
PICTURE = re.compile(r"!\[[^\]]*\]\((img/[^)\s]+)\)")
#: The generated page, relative to docs/.
DERIVATIVES = "reference/derivatives.md"
#: The three lines of an op docstring's ``Rules:`` section, in table order.
RULE_KEYS = ("forward", "vjp", "jvp")


def code_blocks(markdown: str) -> list[str]:
    """The ```python blocks of a page, in order."""
    return BLOCK.findall(markdown)


def pictures(markdown: str) -> list[str]:
    """The relative ``img/...`` pictures a page shows."""
    return PICTURE.findall(markdown)


def run_page(markdown: str, cwd: Path, name: str = "page", cache: Path | None = None) -> list[str]:
    """Run a page's Python blocks in order in one namespace with ``cwd`` as working directory.

    Args:
        markdown: the page's text.
        cwd: the working directory of the blocks (created if absent).
        name: the page's name in tracebacks (``"<name> block <n>"``).
        cache: a folder where a run's outputs and the files it wrote are kept by the page's
            text, so that a second run of the same text (the site build after the tests, in
            one test session) copies them instead of training again. Default: the folder in
            the ``CHAINRULE_DOCS_CACHE`` environment variable, or no cache.

    Returns:
        What each block printed, one string per block.

    Raises:
        Whatever a block raises, with the block's number in the traceback's file name.
    """
    cwd.mkdir(parents=True, exist_ok=True)
    if cache is None and os.environ.get("CHAINRULE_DOCS_CACHE"):
        cache = Path(os.environ["CHAINRULE_DOCS_CACHE"])
    entry = cache / hashlib.sha256(markdown.encode()).hexdigest()[:32] if cache else None
    if entry is not None and (entry / "outputs.json").is_file():
        shutil.copytree(entry / "files", cwd, dirs_exist_ok=True)
        return json.loads((entry / "outputs.json").read_text())
    before = _files(cwd)
    scope: dict[str, Any] = {"__name__": "__docs__"}
    outputs: list[str] = []
    old = Path.cwd()
    os.environ.setdefault("MPLBACKEND", "Agg")  # pictures without a display
    try:
        os.chdir(cwd)
        for i, block in enumerate(code_blocks(markdown)):
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                exec(compile(block, f"{name} block {i + 1}", "exec"), scope)
            outputs.append(buffer.getvalue())
    finally:
        os.chdir(old)
        _close_figures()
    if entry is not None:
        for path in sorted(_files(cwd) - before):
            target = entry / "files" / path.relative_to(cwd)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
        (entry / "files").mkdir(parents=True, exist_ok=True)
        (entry / "outputs.json").write_text(json.dumps(outputs))
    return outputs


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _close_figures() -> None:
    # A page's figures would pile up over a build (matplotlib warns past 20 open figures).
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def with_outputs(markdown: str, outputs: list[str]) -> str:
    """The page with each block's printed output shown in a text block right under it."""
    parts = iter(outputs)

    def add(match: re.Match[str]) -> str:
        out = next(parts, "")
        if not out.strip():
            return match.group(0)
        return f"{match.group(0)}\n\n```text\n{out.rstrip()}\n```"

    return BLOCK.sub(add, markdown)


# ----------------------------------------------------------------------------------------
# The derivative table


def op_rules(op: type) -> dict[str, str]:
    """The ``forward``/``vjp``/``jvp`` lines of an op docstring's ``Rules:`` section.

    The convention (every registered op follows it; the tests check)::

        Rules:
            forward: out = e^x
            vjp: x̄ = g·out
            jvp: t·out

    ``forward`` is the output ``out``; ``vjp`` gives each input's adjoint (``x̄ = ...``,
    separated by ``;``) from the output's cotangent ``g``; ``jvp`` is the output's tangent from
    the inputs' tangents ``t`` (``t_x``, ``t_y``, ... when there are several). A line may go on
    on the next, further indented.
    """
    doc = op.__doc__ or ""
    section = re.search(r"^\s*Rules:\s*\n((?:[ \t]+\S.*\n?)+)", doc, re.M)
    if not section:
        return {}
    rules: dict[str, str] = {}
    key = None
    for line in section.group(1).splitlines():
        head = re.match(r"\s*(forward|vjp|jvp):\s*(.*)$", line)
        if head:
            key = head.group(1)
            rules[key] = head.group(2).strip()
        elif key:  # a continuation line
            rules[key] += " " + line.strip()
    return rules


def _cell(text: str) -> str:
    return html.escape(text).replace("|", "&#124;")


def derivative_table() -> str:
    """The markdown page of every registered primitive's rules, in registry order."""
    from chainrule.ops import OPS

    lines = [
        "# Derivative table",
        "",
        "Every primitive of chainrule (`chainrule.OPS`, "
        f"{len(OPS)} of them) with its forward computation, its reverse rule (`vjp`, what",
        "backpropagation sends to each input given the output's cotangent `g`) and its forward",
        "rule (`jvp`, the output's tangent given the inputs' tangents `t`). The table is",
        "generated from the `Rules:` section of each op's docstring when the site is built.",
        "Everything else in chainrule (softmax, the losses, layers) is a composite of these",
        "and needs no derivative code of its own: see [backpropagation](../tutorial/backpropagation.md).",
        "",
        "| op | forward | reverse rule (vjp) | forward rule (jvp) | module |",
        "|---|---|---|---|---|",
    ]
    for name, op in OPS.items():
        rules = op_rules(op)
        cells = [f"<code>{_cell(rules.get(k, '?'))}</code>" for k in RULE_KEYS]
        module = op.__module__.replace("chainrule.", "")
        lines.append(f"| `{name}` | {' | '.join(cells)} | `{module}` |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------
# The MkDocs events

_OUTPUTS: dict[str, list[str]] = {}


def on_files(files: Any, config: Any) -> Any:
    """Add the derivative table; run every page's blocks, adding the pictures they draw."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, DERIVATIVES, content=derivative_table()))
    site = Path(config["site_dir"])
    for page in list(files.documentation_pages()):
        if page.src_uri == DERIVATIVES:
            continue
        text = page.content_string
        if not code_blocks(text):
            continue
        folder = site / Path(page.dest_uri).parent
        before = _files(folder)
        _OUTPUTS[page.src_uri] = run_page(text, folder, page.src_uri)
        for path in sorted(_files(folder) - before):
            uri = (Path(page.dest_uri).parent / path.relative_to(folder)).as_posix()
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, content=path.read_bytes()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Show under each block what it printed when the build ran it."""
    outputs = _OUTPUTS.get(page.file.src_uri)
    return with_outputs(markdown, outputs) if outputs else markdown
