"""A contract import-linter does not ship: no private module or name crosses a package
(import-linter's own private_modules contract needs 2.17, which needs Python 3.11).

``from .conv import _tuple`` inside ``chainrule.nn`` is the package's own business; the same
import from ``chainrule.viz``, or ``M._np(...)`` on an imported module, is a private name
crossing a package boundary. Modules directly under the root package are each their own
package here, so ``tensor``, ``engine`` and ``forward`` share nothing private either.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _owner(module: str, is_package: bool, root: str) -> str:
    """The package whose private names ``module`` may use: its parent package, except that a
    module directly under ``root`` owns only itself."""
    if is_package:
        return module
    parent = module.rsplit(".", 1)[0]
    return module if parent == root else parent


def _modules(root: str) -> dict[str, tuple[Path, bool]]:
    base = Path(importlib.util.find_spec(root).origin).parent
    found = {}
    for path in base.rglob("*.py"):
        parts = path.relative_to(base.parent).with_suffix("").parts
        is_pkg = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return found


def _resolve(importer: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _crossings(root: str) -> list[str]:
    mods = _modules(root)
    bad = []
    for name, (path, is_pkg) in sorted(mods.items()):
        mine = _owner(name, is_pkg, root)
        tree = ast.parse(path.read_text())
        aliases: dict[str, str] = {}  # local name -> module it stands for
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                src = _resolve(name, is_pkg, node)
                for a in node.names:
                    full = f"{src}.{a.name}"
                    if full in mods:
                        aliases[a.asname or a.name] = full
                        target, target_pkg = full, mods[full][1]
                    elif src in mods:
                        target, target_pkg = src, mods[src][1]
                    else:
                        continue
                    owner = _owner(target, target_pkg, root)
                    if (_private(a.name) or _private(target.rsplit(".", 1)[-1])) \
                            and not (mine + ".").startswith(owner + ".") \
                            and not (name + ".").startswith(owner + "."):
                        bad.append(f"{name} imports {a.name} from {src} (l.{node.lineno})")
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in mods and a.asname:
                        aliases[a.asname] = a.name
                    if a.name in mods and _private(a.name.rsplit(".", 1)[-1]):
                        owner = _owner(a.name, mods[a.name][1], root)
                        if not (name + ".").startswith(owner + ".") \
                                and not (mine + ".").startswith(owner + "."):
                            bad.append(f"{name} imports the private module {a.name} "
                                       f"(l.{node.lineno})")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and _private(node.attr):
                target = aliases[node.value.id]
                owner = _owner(target, mods[target][1], root)
                if not (name + ".").startswith(owner + "."):
                    bad.append(f"{name} uses {node.value.id}.{node.attr} of {target} "
                               f"(l.{node.lineno})")
    return bad


class PrivateNamesContract(Contract):
    """No module uses a private name (``_x``) of a module outside its own package."""

    type_name = "private_names"
    root = fields.StringField()

    def check(self, graph, verbose: bool) -> ContractCheck:  # noqa: ARG002 - reads the files
        bad = _crossings(str(self.root))
        return ContractCheck(kept=not bad, metadata={"crossings": bad})

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Private names used outside their package:", bold=False)
        output.new_line()
        for line in check.metadata["crossings"]:
            output.print_error(f"- {line}", bold=False)
