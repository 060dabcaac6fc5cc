"""Convolution and recurrent training steps, chainrule against PyTorch on the CPU in one run.

    python -m benchmarks.workloads_conv [--threads 2] [--reps 30]

Three workloads, each a forward and backward pass on the same float32 data and weights:

- ``conv2d``: batch 32 of 1×28×28 images through Conv2d(1→16, 3×3, padding 1), ReLU,
  Conv2d(16→32, 3×3, padding 1), summed.
- ``lstm``: an LSTM(32 → 64) over batch 32 × 20 steps, the last step's output summed.
- ``gru``: the same with a GRU.

The two frameworks alternate repetition by repetition (so both see the same machine load),
with the same thread count for NumPy's BLAS and for torch. Each function returns the medians
in milliseconds; ``main`` prints them and the ratio chainrule / torch (below 1: faster).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any
from collections.abc import Callable

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _limit_threads(threads: int) -> Any:
    """Limit BLAS pools already loaded (threadpoolctl when installed) and torch's pool."""
    import torch
    torch.set_num_threads(threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables set by main() still hold
        return None
    return threadpool_limits(limits=threads)


def _alternate(ours: Callable[[], Any], theirs: Callable[[], Any], reps: int) -> dict[str, float]:
    import numpy as np
    for _ in range(3):  # warm-up: first-call allocations, BLAS thread start-up
        ours()
        theirs()
    times: dict[str, list[float]] = {"chainrule": [], "torch": []}
    for _ in range(reps):
        for name, f in (("chainrule", ours), ("torch", theirs)):
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) * 1e3 for k, v in times.items()}
    med["ratio"] = med["chainrule"] / med["torch"]
    return med


def conv2d_step(reps: int = 30, threads: int = 2) -> dict[str, float]:
    """Median ms of a two-layer Conv2d forward + backward in chainrule and torch, and the ratio."""
    import numpy as np
    import torch

    from chainrule import Tensor
    from chainrule.nn import ReLU, Sequential
    from chainrule.nn.conv import Conv2d

    _limit_threads(threads)
    x = np.random.default_rng(0).standard_normal((32, 1, 28, 28)).astype(np.float32)
    net = Sequential(Conv2d(1, 16, 3, padding=1, rng=0), ReLU(), Conv2d(16, 32, 3, padding=1, rng=1))
    ref = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
                              torch.nn.Conv2d(16, 32, 3, padding=1))
    ref.load_state_dict({k: torch.tensor(v) for k, v in net.state_dict().items()})
    xt = torch.tensor(x)

    def ours() -> None:
        net.zero_grad()
        net(Tensor(x)).sum().backward()

    def theirs() -> None:
        ref.zero_grad()
        ref(xt).sum().backward()

    return _alternate(ours, theirs, reps)


def recurrent_step(kind: str, reps: int = 30, threads: int = 2) -> dict[str, float]:
    """Median ms of an LSTM or GRU (``kind``) forward + backward (batch 32, 20 steps,
    32 → 64) in both."""
    import numpy as np
    import torch

    from chainrule.nn import recurrent

    _limit_threads(threads)
    x = np.random.default_rng(0).standard_normal((32, 20, 32)).astype(np.float32)
    layer = getattr(recurrent, kind)(32, 64, batch_first=True, rng=0)
    ref = getattr(torch.nn, kind)(32, 64, batch_first=True)
    ref.load_state_dict({k: torch.tensor(v) for k, v in layer.state_dict().items()})
    xt = torch.tensor(x)

    def ours() -> None:
        layer.zero_grad()
        out, _ = layer(x)
        out[:, -1].sum().backward()

    def theirs() -> None:
        ref.zero_grad()
        out, _ = ref(xt)
        out[:, -1].sum().backward()

    return _alternate(ours, theirs, reps)


def lstm_step(reps: int = 30, threads: int = 2) -> dict[str, float]:
    """The LSTM case of :func:`recurrent_step`."""
    return recurrent_step("LSTM", reps, threads)


def gru_step(reps: int = 30, threads: int = 2) -> dict[str, float]:
    """The GRU case of :func:`recurrent_step`."""
    return recurrent_step("GRU", reps, threads)


WORKLOADS = {"conv2d": conv2d_step, "lstm": lstm_step, "gru": gru_step}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workloads_conv",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument("--reps", type=int, default=30, help="timed repetitions per framework")
    args = parser.parse_args(argv)
    for var in THREAD_VARS:  # before NumPy loads, for BLAS builds threadpoolctl cannot reach
        os.environ[var] = str(args.threads)
    print(f"threads {args.threads}, {args.reps} alternating repetitions, median ms")
    for name, run in WORKLOADS.items():
        r = run(args.reps, args.threads)
        print(f"{name:8s} chainrule {r['chainrule']:8.2f}  torch {r['torch']:8.2f}  "
              f"ratio {r['ratio']:.2f}")


if __name__ == "__main__":
    main()
