"""The documentation site (issue 16): every code example on it runs, every op has a row in the
derivative table, the nav points at real pages, and the site builds in strict mode.

Each page's ```python blocks run in order in one namespace with a temporary working directory,
through the same function (docs/hooks.py ``run_page``) that the build uses, so what the site
shows is what these tests check. A picture a page shows as ``![..](img/<name>.png)`` must be
drawn by its blocks.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from chainrule.errors import MissingDependency
from chainrule.ops import OPS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md"))
GENERATED = {"reference/derivatives.md"}


def _hooks():
    spec = importlib.util.spec_from_file_location("chainrule_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()


def _name(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The pages' runs, kept for the site build at the end of this module (same text, same
    outputs and pictures: the build then copies them instead of training every model again)."""
    return tmp_path_factory.mktemp("docs-runs")


@pytest.mark.parametrize("page", [p for p in PAGES if hooks.code_blocks(p.read_text())], ids=_name)
def test_every_block_of_the_page_runs(page, tmp_path, runs):
    text = page.read_text()
    try:
        outputs = hooks.run_page(text, tmp_path, _name(page), cache=runs)
    except MissingDependency as exc:  # an extra the page needs (dev installs them all)
        pytest.skip(str(exc))
    assert len(outputs) == len(hooks.code_blocks(text))
    missing = [p for p in hooks.pictures(text) if not (tmp_path / p).is_file()]
    assert not missing, f"{_name(page)} shows pictures its blocks did not draw: {missing}"


def test_the_runner_shows_what_a_block_prints(tmp_path):
    page = "Text\n\n```python\nprint(1 + 1)\nx = 3\n```\n\n```python\nprint(x * 2)\n```\n"
    outputs = hooks.run_page(page, tmp_path)
    assert outputs == ["2\n", "6\n"]
    shown = hooks.with_outputs(page, outputs)
    assert "```text\n2\n```" in shown and "```text\n6\n```" in shown


def test_a_second_run_of_the_same_page_comes_from_the_cache(tmp_path):
    page = ("```python\nfrom pathlib import Path\nPath('img').mkdir()\n"
            "Path('img/a.txt').write_text('drawn')\nprint('ran')\n```\n")
    first = hooks.run_page(page, tmp_path / "one", cache=tmp_path / "cache")
    second = hooks.run_page(page, tmp_path / "two", cache=tmp_path / "cache")  # mkdir would fail
    assert first == second == ["ran\n"]
    assert (tmp_path / "two" / "img" / "a.txt").read_text() == "drawn"


def test_a_failing_block_names_its_page_and_number(tmp_path):
    with pytest.raises(ZeroDivisionError) as info:
        hooks.run_page("```python\nx = 1\n```\n```python\n1 / 0\n```\n", tmp_path, "p.md")
    assert any(entry.path == "p.md block 2" for entry in info.traceback)


def test_the_tutorial_follows_the_notes():
    tutorial = {_name(p) for p in PAGES if _name(p).startswith("tutorial/")}
    for chapter in ("perceptron", "logistic-regression", "feedforward", "activations", "objectives",
                    "softmax", "backpropagation", "four-ways", "optimizers", "initialization",
                    "regularization", "convolutions", "recurrent"):
        page = f"tutorial/{chapter}.md"
        assert page in tutorial
        text = (DOCS / page).read_text()
        assert hooks.code_blocks(text), page
        assert "NOTES.md" not in text, f"{page} cites a file that does not ship"


def test_every_op_has_rules_and_a_row_in_the_derivative_table():
    for name, op in OPS.items():
        rules = hooks.op_rules(op)
        assert set(rules) == set(hooks.RULE_KEYS) and all(rules.values()), (name, rules)
    table = hooks.derivative_table()
    rows = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert rows == list(OPS)
    assert "<code>out = e^x</code> | <code>x̄ = g·out</code> | <code>t·out</code>" in table


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [p for v in nav.values() for p in _nav_pages(v)]
    return [p for v in nav for p in _nav_pages(v)]


def test_the_nav_points_at_pages_that_exist():
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text().replace("!!python", "#"))
    listed = _nav_pages(config["nav"])
    absent = {p for p in listed if not (DOCS / p).is_file()} - GENERATED
    assert not absent
    written = {_name(p) for p in PAGES}
    assert written - set(listed) == set(), "pages missing from the nav"


def test_the_site_builds_strict(tmp_path, runs, monkeypatch):
    """The build, in this process (chainrule, matplotlib and scikit-learn are imported already),
    reusing the pages' runs above when they ran."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    monkeypatch.setenv("CHAINRULE_DOCS_CACHE", str(runs))
    site = tmp_path / "site"
    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(site), strict=True)
    cwd = Path.cwd()
    try:
        os.chdir(ROOT)  # mkdocs.yml's hooks and griffe extension paths are relative to it
        build(config)   # strict: any warning raises mkdocs.exceptions.Abort
    finally:
        os.chdir(cwd)
    table = (site / "reference" / "derivatives.html").read_text()
    assert all(f"<code>{name}</code>" in table for name in OPS)
    assert (site / "api" / "nn.html").is_file() and "Linear" in (site / "api" / "nn.html").read_text()
    for page in PAGES:
        html = site / _name(page).replace(".md", ".html")
        assert html.is_file(), html
        for picture in hooks.pictures(page.read_text()):
            assert (html.parent / picture).is_file(), (page, picture)
