"""Timing statistics and memory readings shared by every runner."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from typing import Callable, Sequence

clock = time.perf_counter


def summary(values: Sequence[float]) -> dict[str, float | list[float]]:
    """Median, min and max of repeated measurements, with the raw values.

    >>> summary([3.0, 1.0, 2.0])["median"]
    2.0
    """
    vals = [float(v) for v in values]
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "values": vals}


def repeat(fn: Callable[[], None], reps: int, warmup: int = 1) -> list[float]:
    """Seconds of ``reps`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(reps):
        t0 = clock()
        fn()
        out.append(clock() - t0)
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (``getrusage`` ``ru_maxrss``), MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # NOTE: Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float | None:
    """Resident set size right now (Linux ``/proc/self/statm``), MiB; None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * resource.getpagesize() / (1024 * 1024)
