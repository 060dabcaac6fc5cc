"""The frameworks under test, one module each, all behind the same small trainer interface.

A trainer is built from the shared initial parameters and trains one pass over an index
order (``train_epoch``) and scores a test set (``accuracy``); see :mod:`benchmarks.mlp`.
Each module imports its framework at import time, so an ``ImportError`` there means the
framework is not available and the harness says so.
"""
