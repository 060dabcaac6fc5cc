"""The graph is freed after every step, so memory does not grow over training (issue 6)."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F


def _setup():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 20)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    net = nn.Sequential(nn.Linear(20, 32, rng=0), nn.ReLU(), nn.Dropout(0.1, rng=0), nn.Linear(32, 3, rng=0))
    return X, y, net, optim.Adam(net.parameters(), lr=1e-3)


def test_no_op_survives_a_training_step():
    X, y, net, opt = _setup()
    out = net(cr.Tensor(X))
    loss = F.cross_entropy(out, y)
    refs = [weakref.ref(out.op), weakref.ref(loss.op)]
    opt.zero_grad()
    loss.backward()
    opt.step()
    gc.disable()
    try:
        del out, loss
        assert all(r() is None for r in refs), "ops outlived their step without the collector"
    finally:
        gc.enable()


def test_memory_does_not_grow_over_steps():
    X, y, net, opt = _setup()

    def steps(n):
        for _ in range(n):
            loss = F.cross_entropy(net(cr.Tensor(X)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    steps(5)  # warm up: optimizer state and caches exist from here on
    tracemalloc.start()
    steps(5)
    after_few = tracemalloc.get_traced_memory()[0]
    steps(200)
    after_many = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after_many - after_few < 64 * 1024, (after_few, after_many)
