"""Doctest collection: examples that need an optional package run only where it is installed
(the unit tests do the same with pytest.importorskip)."""

from __future__ import annotations

import importlib.util

import pytest

# module path prefix -> the optional package its examples need
NEEDS = {
    "chainrule/data/datasets.py": "sklearn",
    "chainrule/io.py": "safetensors",
    "chainrule/onnx.py": "onnx",
    "chainrule/viz/": "matplotlib",
}


# modules that import an optional package at the top cannot even be collected without it
collect_ignore = [path for path, package in {"chainrule/sklearn.py": "sklearn"}.items()
                  if importlib.util.find_spec(package) is None]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not isinstance(item, pytest.DoctestItem):
            continue
        path = str(item.path).replace("\\", "/")
        for prefix, package in NEEDS.items():
            if prefix in path and importlib.util.find_spec(package) is None:
                item.add_marker(pytest.mark.skip(reason=f"optional package {package} not installed"))
