"""Timing statistics and memory readings shared by every runner."""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence

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


def reset_peak_rss() -> bool:
    """Restart the peak-RSS counter (Linux: ``5`` to ``/proc/self/clear_refs`` resets VmHWM).

    Returns:
        True if the counter was reset, so :func:`peak_rss_mb` reads the peak since now.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _vm_hwm_mb() is not None
    except OSError:
        return False


def _vm_hwm_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident set size, MiB: since :func:`reset_peak_rss` where Linux allows it,
    else of the whole process (``getrusage`` ``ru_maxrss``)."""
    hwm = _vm_hwm_mb()
    return hwm if hwm is not None else process_peak_rss_mb()


def process_peak_rss_mb() -> float:
    """Peak resident set size of the whole process (``getrusage`` ``ru_maxrss``), MiB."""
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
