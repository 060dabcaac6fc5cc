"""Data-parallel training over MPI: N ranks on a global batch give one process's weights.

The MPI tests launch ``mpiexec -n 2`` and ``-n 3`` themselves (tests/mpi_scripts/); they skip
only when mpi4py or mpiexec is not installed (``pip install 'chainrule[distributed]'``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.distributed import Distributed, ShardSampler, init
from chainrule.errors import ConfigError
from chainrule.train import fit
from tests.mpi_scripts import train_case as tc

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def mpiexec() -> str:
    """The mpiexec beside this Python (the mpich wheel's) or on PATH; skip without MPI."""
    pytest.importorskip("mpi4py", reason="mpi4py is not installed (pip install "
                        "'chainrule[distributed]')")
    exe = BIN / "mpiexec" if (BIN / "mpiexec").exists() else shutil.which("mpiexec")
    if exe is None:
        pytest.skip("mpiexec not found (pip install 'chainrule[distributed]' brings MPICH's)")
    return str(exe)


def launch(n: int, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([mpiexec(), "-n", str(n), sys.executable, *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def close(ref: dict, got: dict, tol: float, skip: tuple = ()) -> float:
    err = max(float(np.max(np.abs(ref[k].astype(np.float64) - got[k].astype(np.float64))))
              for k in ref if k not in skip)
    assert err <= tol, err
    return err


# --- one process: the sharding rule and the size-1 world --------------------------------------

def test_shards_cover_every_global_batch_once_in_single_process_order():
    # 10 samples, batch 4, 3 ranks: batches [0..3], [4..7], [8, 9]; parts of 2/1/1, 2/1/1, 1/1/0
    with pytest.raises(ConfigError, match="at least 3 samples"):
        ShardSampler(10, 4, 0, 3)
    shards = [list(ShardSampler(11, 4, r, 3, shuffle=True, rng=5)) for r in range(3)]
    order = np.random.default_rng(5).permutation(11)
    for b in range(3):
        joined = np.concatenate([shards[r][b].indices for r in range(3)])
        assert joined.tolist() == order[4 * b:4 * b + 4].tolist()
    assert [s.indices.size for s in shards[0]] == [2, 2, 1]
    assert [(s.start, s.stop, s.total) for s in shards[2]] == [(3, 4, 4), (3, 4, 4), (2, 3, 3)]


def test_a_single_process_world_trains_as_without_it():
    world = init()
    assert (world.rank, world.size, world.is_root) == (0, 1, True) and init() is world
    a, ha = tc.train("adam64_dropout")
    b, hb = tc.train("adam64_dropout", world)
    close(a, b, 0.0)
    assert [e["loss"] for e in ha] == [e["loss"] for e in hb]


def test_sync_batchnorm_without_a_group_is_batchnorm():
    x = np.random.default_rng(0).standard_normal((6, 3, 4))
    sync, bn = nn.SyncBatchNorm(3, dtype="float64"), nn.BatchNorm1d(3, dtype="float64")
    np.testing.assert_array_equal(sync(cr.Tensor(x)).data, bn(cr.Tensor(x)).data)
    np.testing.assert_array_equal(sync.running_var.data, bn.running_var.data)


class _TwoRanksInOne:
    """A fake process group of two ranks whose other half is known: enough to check the
    synchronized statistics and gradient without MPI."""

    size = 2

    def __init__(self, other):
        self.other, self.grad_weight = other, 1.0

    def allreduce(self, local):
        return np.asarray(local) + self.other.pop(0)


def test_sync_batchnorm_gradient_is_the_whole_batch_gradient():
    rng = np.random.default_rng(1)
    X, G = rng.standard_normal((8, 3)), rng.standard_normal((8, 3))
    ref = nn.BatchNorm1d(3, dtype="float64")
    xr = cr.Tensor(X, requires_grad=True)
    (ref(xr) * cr.Tensor(G)).sum().backward()
    # rank 0 holds rows 0..4; the other rank's sums (rows 5..7) are what MPI would add
    x1, g1 = X[5:], G[5:]
    mean = X.mean(0)
    xhat = (X - mean) / np.sqrt(X.var(0) + 1e-5)
    other = [np.r_[x1.sum(0), 3], ((x1 - mean) ** 2).sum(0),
             np.r_[g1.sum(0), (g1 * xhat[5:]).sum(0)]]
    sync = nn.SyncBatchNorm(3, dtype="float64", process_group=_TwoRanksInOne(other))
    x0 = cr.Tensor(X[:5], requires_grad=True)
    y0 = sync(x0)
    (y0 * cr.Tensor(G[:5])).sum().backward()
    np.testing.assert_allclose(y0.data, xhat[:5], atol=1e-12)
    np.testing.assert_allclose(x0.grad, xr.grad[:5], atol=1e-12)
    np.testing.assert_allclose(sync.running_var.data, ref.running_var.data, atol=1e-15)


def test_distributed_fit_refuses_what_it_cannot_shard():
    model = nn.Linear(2, 1)
    with pytest.raises(cr.errors.DataError, match="to shard"):
        fit(model, nn.MSELoss(), optim.SGD(model.parameters()), iter([]), distributed=Distributed())


# --- under mpiexec -----------------------------------------------------------------------------

EQUAL = ["sgd64", "adam64_dropout", "sgd64_syncbn", "lbfgs64", "sgd32_both", "adam32_both"]
# float64: 1e-12 (measured 2e-16 to 6e-16); L-BFGS's line search amplifies the last bits
# (measured 3e-10); float32: 1e-6 (measured 3e-7). Adam moves the Linear bias before a
# BatchNorm by ±lr on pure rounding noise (its exact gradient is 0), in one process as much as
# in several; that bias and the running mean it shifts are invisible to the outputs.
TOL = {"lbfgs64": 1e-8, "sgd32_both": 1e-6, "adam32_both": 1e-6}
SKIP = {"adam32_both": ("0.bias", "1.running_mean")}


@pytest.mark.parametrize("n", [2, 3])
def test_n_ranks_give_the_weights_of_one_process(tmp_path, n):
    # a checkpoint written by one process after 2 epochs resumes under mpiexec, and the
    # distributed run writes one (rank 0) that resumes in one process
    single_ckpt = tmp_path / "single.safetensors"
    tc.train("adam64_dropout", epochs=2, checkpoint=str(single_ckpt))
    dist_ckpt = tmp_path / "dist.safetensors"
    specs = [*EQUAL, f"adam64_dropout:2:{single_ckpt}:", f"sgd64_syncbn:2::{dist_ckpt}"]
    out = tmp_path / "out"
    out.mkdir()
    r = launch(n, "-m", "tests.mpi_scripts.train_case", str(out), *specs)
    assert r.returncode == 0, r.stderr[-3000:]
    for case in EQUAL:
        ref, hist = tc.train(case)
        meta = json.loads((out / f"{case}.json").read_text())
        assert meta["size"] == n and meta["ranks_identical"]  # the same step on every rank
        close(ref, dict(np.load(out / f"{case}.npz")), TOL.get(case, 1e-12), SKIP.get(case, ()))
        for a, b in zip(hist, meta["history"] if case not in SKIP else ()):  # reduced logs
            assert abs(a["loss"] - b["loss"]) < 1e-6 and abs(a["val_loss"] - b["val_loss"]) < 1e-6
    four, _ = tc.train("adam64_dropout", epochs=4)
    close(four, dict(np.load(out / "adam64_dropout_resumed.npz")), 1e-12)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("dist")] == ["dist.safetensors"]
    resumed, _ = tc.train("sgd64_syncbn", epochs=2, resume=str(dist_ckpt))
    close(tc.train("sgd64_syncbn", epochs=4)[0], resumed, 1e-12)


@pytest.mark.parametrize("mode", ["raise", "kill"])
def test_a_failing_rank_ends_every_rank_soon(mode):
    start = time.perf_counter()
    r = launch(3, "-m", "tests.mpi_scripts.fault", mode, timeout=60)
    elapsed = time.perf_counter() - start
    assert r.returncode != 0 and "finished" not in r.stdout
    assert elapsed < 30
    if mode == "raise":
        assert "rank 1 failed on purpose" in r.stderr
        assert "rank 1 of 3: exited during a data-parallel fit" in r.stderr
    else:
        assert "signal 9" in r.stdout + r.stderr


def test_cli_distributed_trains_the_single_process_model(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    csv = tmp_path / "data.csv"
    csv.write_text("a,b,c,y\n" + "".join(f"{a:.4f},{b:.4f},{c:.4f},{t}\n"
                                         for (a, b, c), t in zip(X, y)))
    args = ["-m", "chainrule", "train", str(csv), "--target", "y", "--hidden", "8",
            "--epochs", "2", "--no-progress"]
    r = launch(2, *args, "--out", str(tmp_path / "dist"), "--distributed")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("trained MLP") == 1  # rank 0 reports
    single = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert single.returncode == 0, single.stderr
    a, _ = cr.io.load_arrays(tmp_path / "one" / "model.safetensors")
    b, _ = cr.io.load_arrays(tmp_path / "dist" / "model.safetensors")
    close(a, b, 1e-6)


FAKE_SSH = """#!/bin/sh
# hydra's launcher calls: fake_ssh [options] HOST COMMAND...; HOST picks the network namespace,
# and the rank gets its own host name and its own /dev/shm: nothing is shared but TCP
while [ "${1#-}" != "$1" ]; do shift; done
host=$1; shift
exec ip netns exec "$(cat "$0.$host")" unshare --uts --ipc --mount sh -c \\
  "hostname $host; mount -t tmpfs tmpfs /dev/shm; exec $*"
"""


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def test_ranks_in_separate_network_namespaces_talk_over_tcp(tmp_path):
    """Two "hosts" on this machine: network namespaces joined by a veth pair, 10.77.x.1 and
    .2; mpiexec runs in the first and starts the second rank through a stand-in for ssh."""
    mpi = mpiexec()
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("unshare"):
        pytest.skip("network namespaces need root, ip (iproute2) and unshare (util-linux)")
    tag = os.getpid() % 250
    ns, addr = [f"cr{tag}n0", f"cr{tag}n1"], [f"10.77.{tag}.1", f"10.77.{tag}.2"]
    ssh = tmp_path / "fake_ssh"
    ssh.write_text(FAKE_SSH)
    ssh.chmod(0o755)
    for n, a in zip(ns, addr):
        Path(f"{ssh}.{a}").write_text(n)
    try:
        try:
            _ip("netns", "add", ns[0])
        except (subprocess.CalledProcessError, OSError) as exc:
            pytest.skip(f"cannot create a network namespace here: {exc}")
        _ip("netns", "add", ns[1])
        _ip("link", "add", f"v{tag}a", "type", "veth", "peer", "name", f"v{tag}b")
        for n, a, dev in zip(ns, addr, (f"v{tag}a", f"v{tag}b")):
            _ip("link", "set", dev, "netns", n)
            _ip("-n", n, "addr", "add", f"{a}/24", "dev", dev)
            _ip("-n", n, "link", "set", dev, "up")
            _ip("-n", n, "link", "set", "lo", "up")
        out = tmp_path / "out"
        out.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_"))}
        env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
        rx0 = _rx_bytes(ns[1], f"v{tag}b")
        r = subprocess.run(
            ["ip", "netns", "exec", ns[0], mpi, "-hosts", ",".join(addr), "-n", "2", "-ppn", "1",
             "-launcher", "ssh", "-launcher-exec", str(ssh), sys.executable, "-m",
             "tests.mpi_scripts.train_case", str(out), "sgd64", "adam64_dropout"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        assert _rx_bytes(ns[1], f"v{tag}b") - rx0 > 10_000  # the allreduces crossed the veth
        for case in ("sgd64", "adam64_dropout"):
            meta = json.loads((out / f"{case}.json").read_text())
            assert meta["size"] == 2 and meta["ranks_identical"]
            close(tc.train(case)[0], dict(np.load(out / f"{case}.npz")), 1e-12)
    finally:
        for n in ns:
            subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=10)


def _rx_bytes(ns: str, dev: str) -> int:
    text = subprocess.run(["ip", "-n", ns, "-s", "link", "show", dev], capture_output=True,
                          text=True, check=True, timeout=10).stdout.split("\n")
    return int(text[3].split()[0])
