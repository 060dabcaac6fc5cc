"""Fuzz the model-file reader (issue 13): seeded mutations of header and data (byte flips,
truncations, insertions, deletions, renamed and duplicated keys, huge declared shapes and
architectures, wrong header lengths), some with a forged digest so they reach the checks
behind it. A mutated file must never load (unless its digest was forged, when it may load
what it now describes), and every failure must be a ChainruleError.

The suite runs a few hundred; ``python -m tests.test_io_fuzz 5000`` runs more and reports.
"""

from __future__ import annotations

import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import io
from chainrule.models import MLP
from chainrule.optim import Adam

from .file_edit import resign, split


def originals(d: Path) -> dict[str, bytes]:
    """A model file as the CLI writes it, a checkpoint with optimizer and generator state,
    and a state dict."""
    net = MLP([4, 8, 3], task="multiclass", dropout=0.1, rng=0)
    opt = Adam(net.parameters(), lr=0.01)
    net.loss_fn(net(cr.Tensor(np.ones((2, 4), np.float32))), np.array([0, 2])).backward()
    opt.step()
    meta = {"task": "multiclass", "features": ["a", "b", "c", "d"], "classes": ["x", "y", "z"],
            "standardizer": {"mean": [0.5, 1.0, -2.0, 3.0], "scale": [1.0, 2.0, 0.5, 4.0]}}
    io.save(net, d / "model", metadata=meta)
    io.save_checkpoint(d / "checkpoint", net, opt, epoch=3, history=[{"loss": 0.7}])
    io.save(net.state_dict(), d / "state_dict")
    return {k: (d / k).read_bytes() for k in ("model", "checkpoint", "state_dict")}


def _head(b: bytes) -> int:
    return 8 + len(split(b)[0]) if len(b) >= 8 else len(b)


def flip(r: random.Random, b: bytes) -> bytes:
    i = r.randrange(len(b))
    return b[:i] + bytes([b[i] ^ r.randrange(1, 256)]) + b[i + 1:]


def flip_header(r: random.Random, b: bytes) -> bytes:
    i = r.randrange(min(_head(b), len(b)))
    return b[:i] + bytes([b[i] ^ r.randrange(1, 256)]) + b[i + 1:]


def truncate(r: random.Random, b: bytes) -> bytes:
    return b[:r.randrange(len(b))]


def insert(r: random.Random, b: bytes) -> bytes:
    i = r.randrange(len(b) + 1)
    return b[:i] + r.choice([r.randbytes(r.randint(1, 16)), b"[" * 200, b" ", b'"', b"\\"]) + b[i:]


def delete(r: random.Random, b: bytes) -> bytes:
    i = r.randrange(len(b))
    return b[:i] + b[i + r.randint(1, 16):]


KEY = re.compile(rb'(\\?")([A-Za-z_][\w./]*)\1:')


def rename_key(r: random.Random, b: bytes) -> bytes:
    """``kwargs`` -> ``iwargs``: one letter of one key of the header or the metadata."""
    keys = list(KEY.finditer(b, 8, _head(b)))
    m = r.choice(keys)
    i = m.start(2) + r.randrange(len(m.group(2)))
    return b[:i] + r.choice(b"abcdefghijklmnopqrstuvwxyz_").to_bytes(1, "little") + b[i + 1:]


PAIR = re.compile(rb'(\\?")(\w+)\1:(-?\d+(?:\.\d+)?|\\?"[^"\\]*\\?"|true|false|null)')


def duplicate_key(r: random.Random, b: bytes) -> bytes:
    """Repeat a ``"key":value`` pair inside its own object."""
    m = r.choice(list(PAIR.finditer(b, 8, _head(b))))
    return b[:m.end()] + b"," + m.group(0) + b[m.end():]


def huge_shape(r: random.Random, b: bytes) -> bytes:
    m = r.choice(list(re.finditer(rb'"shape":\[[\d,]*\]', b[:_head(b)])))
    shape = r.choice([b"[4,20000,20000]", b"[1099511627776]", b"[0,140737488355328]", b"[3,-1]",
                           b"[0,1099511627776,1099511627776]"])
    return b[:m.start()] + b'"shape":' + shape + b[m.end():]


def huge_architecture(r: random.Random, b: bytes) -> bytes:
    return b.replace(b"[[4,8,3]]", r.choice([b"[[4,20000,20000,3]]", b"[[4,8,300000000]]",
                                             b"[[4,8,3,1e999]]", b"[[4,8,3]]]"]))


def header_length(r: random.Random, b: bytes) -> bytes:
    n = _head(b) - 8
    return r.choice([0, 1, max(n - 1, 0), n + 1, 2**63, r.randrange(2**64)]).to_bytes(8, "little") + b[8:]


MUTATIONS = [flip, flip, flip_header, flip_header, truncate, insert, delete, rename_key,
             duplicate_key, huge_shape, huge_architecture, header_length]


def fuzz(n: int, seed: int = 0) -> tuple[list[str], Counter]:
    """Load ``n`` mutated files; return the failures (silent loads, errors that are not
    ChainruleError, slow loads) and a tally of outcomes."""
    failures: list[str] = []
    tally: Counter = Counter()
    r = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = originals(d)
        net, opt = MLP([4, 8, 3], task="multiclass", dropout=0.1, rng=5), None
        opt = Adam(net.parameters(), lr=0.01)
        before = net.state_dict()
        loads = {"model": [io.load, io.load_model], "state_dict": [io.load],
                 "checkpoint": [lambda p: io.load_checkpoint(p, net, opt)]}
        for i in range(n):
            kind = r.choice(sorted(files))
            blob = files[kind]
            steps = [r.choice(MUTATIONS) for _ in range(r.choice([1, 1, 1, 2, 3]))]
            for step in steps:
                try:
                    blob = step(r, blob) if len(blob) > 8 else blob
                except IndexError:  # nothing left to mutate that way: flip a byte instead
                    blob = flip(r, blob)
            forged = r.random() < 0.3
            if forged:
                blob = resign(blob)
            what = f"#{i} {kind} {'+'.join(s.__name__ for s in steps)}{' (forged)' if forged else ''}"
            path = d / f"fuzz{i % 4}.safetensors"
            path.write_bytes(blob)
            for load in loads[kind]:
                start = time.perf_counter()
                try:
                    load(path)
                except cr.ChainruleError as exc:
                    tally[type(exc).__name__] += 1
                    if str(path) not in str(exc):
                        failures.append(f"{what}: {type(exc).__name__} without the path: {exc}")
                    if kind == "checkpoint" and any(
                            not np.array_equal(v, net.state_dict()[k]) for k, v in before.items()):
                        failures.append(f"{what}: a failed checkpoint load changed the model")
                except Exception as exc:  # the very thing this test hunts
                    failures.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
                else:
                    tally["loaded"] += 1
                    if blob != files[kind] and not forged or "duplicate_key" in what:
                        failures.append(f"{what}: loaded silently")
                    if kind == "checkpoint":  # a forged checkpoint may load: start afresh
                        net.load_state_dict(before)
                        opt = Adam(net.parameters(), lr=0.01)
                if time.perf_counter() - start > 5:
                    failures.append(f"{what}: took {time.perf_counter() - start:.1f} s")
    return failures, tally


def test_a_few_hundred_mutated_files_never_load_silently_nor_escape_chainrule_errors():
    failures, tally = fuzz(300, seed=13)
    assert not failures, "\n".join(failures[:20])
    assert tally["FileFormatError"] > 250


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    t0 = time.perf_counter()
    failures, tally = fuzz(count, seed=int(sys.argv[2]) if len(sys.argv) > 2 else 2024)
    print(f"{count} mutated files in {time.perf_counter() - t0:.1f} s: {dict(tally)}")
    print(f"{len(failures)} failures", *failures[:50], sep="\n")
