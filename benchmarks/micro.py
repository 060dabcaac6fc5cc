"""Engine-level workloads of issue 2: overhead per recorded op, and a one-hidden-layer step.

Both compare chainrule's engine (``Tensor`` and ``chainrule.functional``, no ``nn``) with the
same computation written by hand in NumPy, so they run as soon as the engine exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import data
from .measure import clock, peak_rss_mb, repeat, summary

# --- per-op overhead ----------------------------------------------------------------------

PEROP_OPS = ("add", "mul", "tanh", "matmul")
CHAIN = 8
"""Ops per recorded chain: one backward() is shared by CHAIN ops, as in a real graph."""


def _perop_arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 4)).astype(np.float32)
    # NOTE: |w| near 1 and a small spectral radius keep 8 chained add/mul/matmul finite.
    w = rng.uniform(0.5, 1.0, (4, 4)).astype(np.float32) * np.float32(0.25)
    return x, w


def _numpy_perop(op: str, mode: str, x: np.ndarray, w: np.ndarray, n: int) -> Callable[[], None]:
    fwd = {"add": lambda h: h + w, "mul": lambda h: h * w, "tanh": np.tanh,
           "matmul": lambda h: h @ w}[op]
    if mode != "fwd+bwd":
        def loop() -> None:
            for _ in range(n):
                h = x
                for _ in range(CHAIN):
                    h = fwd(h)
        return loop

    def loop_bwd() -> None:
        for _ in range(n):
            hs = [x]
            for _ in range(CHAIN):
                hs.append(fwd(hs[-1]))
            g = np.ones_like(x)
            gw = np.zeros_like(w)
            for i in range(CHAIN - 1, -1, -1):
                if op == "add":
                    gw += g
                elif op == "mul":
                    gw += g * hs[i]
                    g = g * w
                elif op == "tanh":
                    y = hs[i + 1]
                    g = g * (1 - y * y)
                else:
                    gw += hs[i].T @ g
                    g = g @ w.T
    return loop_bwd


def _chainrule_perop(op: str, mode: str, x: np.ndarray, w: np.ndarray, n: int) -> Callable[[], None]:
    import chainrule as cr

    xt = cr.Tensor(x, requires_grad=True)
    wt = cr.Tensor(w, requires_grad=True)
    fwd = {"add": lambda h: h + wt, "mul": lambda h: h * wt, "tanh": lambda h: h.tanh(),
           "matmul": lambda h: h @ wt}[op]
    ones = np.ones_like(x)

    def loop() -> None:
        for _ in range(n):
            h = xt
            for _ in range(CHAIN):
                h = fwd(h)

    def loop_nograd() -> None:
        with cr.no_grad():
            loop()

    def loop_bwd() -> None:
        for _ in range(n):
            h = xt
            for _ in range(CHAIN):
                h = fwd(h)
            h.backward(ones)
            xt.grad = None
            wt.grad = None

    return {"fwd": loop, "fwd no_grad": loop_nograd, "fwd+bwd": loop_bwd}[mode]


def run_perop(framework: str, reps: int, quick: bool, threads: int) -> dict[str, Any]:
    """µs per op of a chain of tiny (4×4 float32) ops: forward, forward without recording,
    and forward+backward, for ``framework`` in ("numpy", "chainrule")."""
    n = 200 if quick else 2000
    make = {"numpy": _numpy_perop, "chainrule": _chainrule_perop}[framework]
    if framework == "chainrule":
        import chainrule  # noqa: F401 - fail early with ImportError if absent
    x, w = _perop_arrays()
    cases = {}
    for op in PEROP_OPS:
        for mode in ("fwd", "fwd no_grad", "fwd+bwd"):
            loop = make(op, mode, x, w, n)
            secs = repeat(loop, reps, warmup=1)
            cases[f"{op} {mode}"] = summary([s / (n * CHAIN) * 1e6 for s in secs])
    version = None
    if framework == "chainrule":
        import chainrule

        version = chainrule.__version__
    return {"cases": cases, "accuracy": None, "peak_rss_mb": peak_rss_mb(),
            "info": {"shape": [4, 4], "dtype": "float32", "chain": CHAIN, "iterations": n,
                     "numpy": np.__version__, "version": version}}


# --- one-hidden-layer training step ---------------------------------------------------------

ONEHIDDEN = {"n_in": 64, "hidden": 128, "batch": 256, "lr": 0.2, "n_train": 4096, "n_test": 1024}


def _onehidden_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Binary labels from a random tanh teacher on 64-dim Gaussian inputs."""
    cfg = ONEHIDDEN
    rng = np.random.default_rng(4)
    n = cfg["n_train"] + cfg["n_test"]
    X = rng.standard_normal((n, cfg["n_in"])).astype(np.float32)
    A = rng.standard_normal((cfg["n_in"], 16)) / np.sqrt(cfg["n_in"])
    c = rng.standard_normal(16)
    y = ((np.tanh(X @ A) @ c) > 0).astype(np.float32)[:, None]
    k = cfg["n_train"]
    return X[:k], y[:k], X[k:], y[k:]


class _NumpyOneHidden:
    """The step as a person writes it by hand in NumPy: sigmoid hidden layer, BCE from
    logits (log(1+e^z) - y·z), its gradient, and plain SGD."""

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float) -> None:
        (self.W1, self.b1), (self.W2, self.b2) = [(W.copy(), b.copy()) for W, b in params]
        self.lr = np.float32(lr)

    def step(self, xb: np.ndarray, yb: np.ndarray) -> None:
        W1, b1, W2, b2, lr = self.W1, self.b1, self.W2, self.b2, self.lr
        h = 1.0 / (1.0 + np.exp(-(np.dot(xb, W1.T) + b1)))
        z = np.dot(h, W2.T) + b2
        self.loss = np.mean(np.logaddexp(0.0, z) - yb * z)
        dz = (1.0 / (1.0 + np.exp(-z)) - yb) / np.float32(len(xb))
        dh = np.dot(dz, W2) * h * (1.0 - h)
        W2 -= lr * np.dot(dz.T, h)
        b2 -= lr * dz.sum(axis=0)
        W1 -= lr * np.dot(dh.T, xb)
        b1 -= lr * dh.sum(axis=0)

    def predict(self, X: np.ndarray) -> np.ndarray:
        h = 1.0 / (1.0 + np.exp(-(np.dot(X, self.W1.T) + self.b1)))
        return np.dot(h, self.W2.T) + self.b2 > 0


class _ChainruleOneHidden:
    """The same step in chainrule's engine: ``F.linear``, ``F.sigmoid``, ``F.softplus``,
    ``backward()``, and SGD on the leaves' ``.data``."""

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float) -> None:
        import chainrule as cr
        from chainrule import functional as F

        self.cr, self.F = cr, F
        self.params = [cr.Tensor(a.copy(), requires_grad=True) for pair in params for a in pair]
        self.lr = np.float32(lr)

    def step(self, xb: np.ndarray, yb: np.ndarray) -> None:
        cr, F, lr = self.cr, self.F, self.lr
        W1, b1, W2, b2 = self.params
        y = cr.Tensor(yb)
        h = F.sigmoid(F.linear(cr.Tensor(xb), W1, b1))
        z = F.linear(h, W2, b2)
        loss = F.mean(F.softplus(z) - y * z)
        loss.backward()
        for p in self.params:
            p.data -= lr * p.grad
            p.grad = None
        self.loss = loss

    def predict(self, X: np.ndarray) -> np.ndarray:
        cr, F = self.cr, self.F
        W1, b1, W2, b2 = self.params
        with cr.no_grad():
            z = F.linear(F.sigmoid(F.linear(cr.Tensor(X), W1, b1)), W2, b2)
        return np.asarray(z.data) > 0


def run_onehidden(framework: str, reps: int, quick: bool, threads: int) -> dict[str, Any]:
    """µs per training step of issue 2's one-hidden-layer sigmoid network, batch 256."""
    cfg = ONEHIDDEN
    steps = 50 if quick else 200
    warmup = 20 if quick else 100
    X, y, X_test, y_test = _onehidden_data()
    params = data.init_params([cfg["n_in"], cfg["hidden"], 1])
    net = {"numpy": _NumpyOneHidden, "chainrule": _ChainruleOneHidden}[framework](params, cfg["lr"])
    # NOTE: each rep's batches are gathered before its clock starts: the step is what is
    # measured, not data loading.
    order: list[np.ndarray] = []
    epoch = 0
    while len(order) < warmup + reps * steps:
        order += data.batches(data.epoch_order(len(y), epoch), cfg["batch"])
        epoch += 1

    def gather(lo: int, hi: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(X[idx], y[idx]) for idx in order[lo:hi]]

    for xb, yb in gather(0, warmup):
        net.step(xb, yb)
    times = []
    for r in range(reps):
        chunk = gather(warmup + r * steps, warmup + (r + 1) * steps)
        t0 = clock()
        for xb, yb in chunk:
            net.step(xb, yb)
        times.append((clock() - t0) / steps * 1e6)
    accuracy = float((net.predict(X_test) == (y_test > 0.5)).mean())
    return {"cases": {"step": summary(times)}, "accuracy": accuracy, "peak_rss_mb": peak_rss_mb(),
            "info": {**cfg, "steps_per_rep": steps, "warmup_steps": warmup,
                     "steps_trained": warmup + reps * steps}}
