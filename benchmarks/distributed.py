"""Data-parallel training over MPI: time per epoch at 1, 2 and 4 ranks on the MNIST-shaped
workload (784-256-128-10 MLP, Adam, global batch 128), the communication share of a step, bytes
and time per allreduce, and the scaling efficiency ``T1 / (N·TN)``.

``python -m benchmarks.distributed [--n-train 12000] [--epochs 2] [--ranks 1,2,4]`` launches
``mpiexec -n N`` itself (one BLAS thread per rank) and prints one JSON line per N and a table.
On a machine with fewer cores than ranks the ranks share cores, so the figures beyond the core
count measure oversubscription, not scaling: read the allreduce cost per step instead, and
project it with the model printed at the end (a ring allreduce moves 2(N−1)/N of the buffer).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def worker(n_train: int, epochs: int, batch: int) -> None:
    from benchmarks.data import synthetic_mnist
    from chainrule import manual_seed, nn, optim
    from chainrule.distributed import init
    from chainrule.train import fit

    world = init()
    data = synthetic_mnist(n_train=n_train, n_test=100)
    manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss = nn.CrossEntropyLoss()
    fit(model, loss, opt, (data.X_train[:batch * 4], data.y_train[:batch * 4]), epochs=1,
        batch_size=batch, progress=False, distributed=world)  # warm-up
    world.comm_seconds, world.comm_bytes, world.allreduces = 0.0, 0, 0
    world.barrier()
    start = time.perf_counter()
    history = fit(model, loss, opt, (data.X_train, data.y_train), epochs=epochs,
                  batch_size=batch, progress=False, distributed=world)
    total = time.perf_counter() - start
    steps = epochs * -(-n_train // batch)
    comm = float(world.allreduce(np.array([world.comm_seconds]), op="max")[0])
    grads = np.zeros(sum(p.size for p in model.parameters()), np.float32)
    world.barrier()
    reps = 30
    t0 = time.perf_counter()
    for _ in range(reps):
        world.allreduce(grads)
    one = (time.perf_counter() - t0) / reps
    if world.is_root:
        print(json.dumps({
            "ranks": world.size, "epoch_s": total / epochs,
            "epoch_s_history": [round(e["seconds"], 4) for e in history.epochs],
            "step_ms": 1e3 * total / steps, "comm_ms_per_step": 1e3 * comm / steps,
            "comm_share": comm / total, "allreduce_bytes": int(grads.nbytes),
            "allreduce_ms": 1e3 * one, "buckets_per_step": world.allreduces / steps,
            "final_loss": history.epochs[-1]["loss"]}), flush=True)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n-train", type=int, default=12000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--ranks", default="1,2,4")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.n_train, args.epochs, args.batch)
    mpiexec = Path(sys.executable).parent / "mpiexec"
    exe = str(mpiexec) if mpiexec.exists() else shutil.which("mpiexec")
    if exe is None:
        sys.exit("mpiexec not found: pip install 'chainrule[distributed]'")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=str(ROOT))
    rows = []
    for n in map(int, args.ranks.split(",")):
        r = subprocess.run([exe, "-n", str(n), sys.executable, "-m", "benchmarks.distributed",
                            "--worker", "--n-train", str(args.n_train), "--epochs",
                            str(args.epochs), "--batch", str(args.batch)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            sys.exit(r.stderr[-2000:])
        row = json.loads(r.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    t1 = rows[0]["epoch_s"] if rows[0]["ranks"] == 1 else None
    print(f"\n{os.cpu_count()} cores; {args.n_train} samples, global batch {args.batch}, "
          "784-256-128-10 float32 MLP, Adam")
    print("ranks  epoch s  speed-up  efficiency  step ms  comm ms/step  comm share  "
          "allreduce (bytes, ms)")
    for row in rows:
        n = row["ranks"]
        speed = t1 / row["epoch_s"] if t1 else float("nan")
        print(f"{n:5d}  {row['epoch_s']:7.2f}  {speed:8.2f}  {speed / n:10.0%}  "
              f"{row['step_ms']:7.2f}  {row['comm_ms_per_step']:12.3f}  "
              f"{row['comm_share']:10.1%}  {row['allreduce_bytes']}, {row['allreduce_ms']:.3f}")
    nbytes = rows[0]["allreduce_bytes"]
    print("\nOn paper (ring allreduce, per step: 2(N-1)/N x bytes / bandwidth + 2(N-1) x latency):")
    for name, gbps, lat in (("10 GbE", 1.25e9, 30e-6), ("100 Gb/s InfiniBand", 12.5e9, 2e-6)):
        for n in (4, 16, 64):
            t = 2 * (n - 1) / n * nbytes / gbps + 2 * (n - 1) * lat
            print(f"  {name:20s} N={n:3d}: {1e3 * t:6.2f} ms per step")


if __name__ == "__main__":
    main()
