"""The shape of the code (issue 10, STYLE.md rule 12): no module over 600 lines, no function
over 60 lines (docstrings aside) unless a ``# NOTE:`` beside its ``def`` says why, and the
layers of DESIGN.md kept by the import-linter contracts in ``.importlinter``."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import chainrule

PACKAGE = Path(chainrule.__file__).parent
ROOT = PACKAGE.parent
MAX_MODULE = 600
MAX_FUNCTION = 60


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_over_600_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in _modules()}
    print("largest modules:", sorted(sizes.items(), key=lambda kv: -kv[1])[:5])
    assert not {k: n for k, n in sizes.items() if n > MAX_MODULE}


def _long_functions(path: Path) -> list[str]:
    """Functions longer than MAX_FUNCTION lines (docstring not counted) with no ``# NOTE``
    in the comment block above the def, on it, or at the top of the body."""
    lines = path.read_text().splitlines()
    out = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            n = node.end_lineno - start + 1
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                n -= first.end_lineno - first.lineno + 1
            above = start - 1  # 1-based line number of the line above the def
            while above >= 1 and lines[above - 1].strip().startswith("#"):
                above -= 1
            body = node.body[1] if n != node.end_lineno - start + 1 and len(node.body) > 1 \
                else node.body[0]  # the first statement after the docstring
            near = lines[above:start] + lines[start - 1:body.lineno + 2]
            if n > MAX_FUNCTION and not any("# NOTE" in line for line in near):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_long_function_without_a_reason():
    long = [f for p in _modules() for f in _long_functions(p)]
    assert not long, "functions over 60 lines without a '# NOTE:' reason:\n" + "\n".join(long)


def test_import_contracts_kept():
    """Layers (nothing imports upward), no cycles, no private module or name used outside its
    package: `lint-imports` with the contracts in .importlinter."""
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is in the dev extra")
    cwd = os.getcwd()
    os.chdir(ROOT)  # the contract file and tests.contracts are found from the repository root
    try:
        assert cli.lint_imports(config_filename=".importlinter", no_cache=True) == 0
    finally:
        os.chdir(cwd)
