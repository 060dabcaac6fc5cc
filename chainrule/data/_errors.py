"""The lazy importer for optional dependencies (the errors live in :mod:`chainrule.errors`)."""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import DatasetNotFound, MissingDependency

__all__ = ["DatasetNotFound", "MissingDependency", "require"]


def require(module: str, what: str, install: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` saying what to install.

    Args:
        module: the module to import, e.g. ``"sklearn.datasets"``.
        what: the chainrule function that needs it, for the message.
        install: the install command to suggest.

    Returns:
        The imported module.

    Raises:
        MissingDependency: the module cannot be imported.

    >>> require("json", "an example", "nothing").__name__
    'json'
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(
            f"{what} needs the optional package {module.split('.')[0]!r}, which is not "
            f"installed; install it with: {install}"
        ) from exc
