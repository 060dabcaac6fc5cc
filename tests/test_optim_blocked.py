"""The blocked flat step (large groups: cache-sized blocks shared out among threads) gives the
whole-buffer step's numbers bit for bit, for every optimizer and any block size or thread count."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import _flat

from tests.test_optim_flat import CONFIGS  # the same eight optimizer settings


def _train(cls, kwargs, steps=4):
    rng = np.random.default_rng(0)
    ps = [cr.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
          for s in [(5, 7), (7,), (3, 5), (2,)]]
    opt = cls(ps, **kwargs)
    for _ in range(steps):
        opt.zero_grad()
        sum(((p * p).sum() * (i + 1) + p.tanh().sum()) for i, p in enumerate(ps)).backward()
        opt.step()
    return [p.data.copy() for p in ps], opt


@pytest.mark.parametrize("threads", ["1", "2", "3"])
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", ""))
def test_blocked_steps_are_bit_identical_to_whole_buffer_steps(cls, kwargs, threads, monkeypatch):
    whole, opt = _train(cls, kwargs)
    assert not opt._flats[0].blocked
    monkeypatch.setattr(_flat, "BLOCK", 4)  # 54 elements: 14 blocks, the last one short
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", threads)
    blocked, opt = _train(cls, kwargs)
    assert opt._flats[0].blocked
    for a, b in zip(blocked, whole):
        np.testing.assert_array_equal(a, b)
    assert all(e is not None for entries in opt.state_dict()["state"].values()
               for e in entries.values())


def test_blocked_state_dict_keeps_one_step_count(monkeypatch):
    monkeypatch.setattr(_flat, "BLOCK", 4)
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", "2")
    _, opt = _train(optim.Adam, {"lr": 0.05}, steps=3)
    assert [s["step"] for s in opt.state_dict()["state"].values()] == [3, 3, 3, 3]


@pytest.mark.parametrize("value,expected", [("3", 3), ("64", 8), ("0", None), ("x", None)])
def test_step_threads_reads_the_environment(value, expected, monkeypatch):
    monkeypatch.setenv("CHAINRULE_NUM_THREADS", value)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert _flat.step_threads() == (expected or 2)


def test_a_forked_child_makes_its_own_pool(monkeypatch):
    monkeypatch.setattr(_flat, "_POOL", [-1, None])  # as if made by another process
    pool = _flat._pool()
    assert pool is not None and _flat._POOL == [__import__("os").getpid(), pool]
    assert _flat._pool() is pool
