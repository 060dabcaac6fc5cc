"""chainrule's benchmark suite: chainrule against its peers, in one run, as ratios.

Run ``python -m benchmarks`` from the repository root (``--help`` for the options); one
framework on one workload runs in a fresh process through ``python -m benchmarks.run_one``.
See ``benchmarks/README.md`` for the method and the meaning of each column.

This module imports nothing heavy: ``run_one`` sets the thread counts before NumPy loads.
"""
