"""Training cases that tests run in one process and under ``mpiexec -n N``; the weights must
agree. ``python -m tests.mpi_scripts.train_case OUT CASE...`` (rank 0 writes OUT/CASE.npz)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.distributed import init
from chainrule.io import Checkpoint, load_checkpoint
from chainrule.train import fit

# case: (dtype, optimizer, layers: "plain" | "dropout" | "syncbn" | "both")
CASES = {
    "sgd64": ("float64", "sgd", "plain"),
    "adam64_dropout": ("float64", "adam", "dropout"),
    "sgd64_syncbn": ("float64", "sgd", "syncbn"),
    "sgd32_both": ("float32", "sgd", "both"),
    "adam32_both": ("float32", "adam", "both"),
    "adam32": ("float32", "adam", "plain"),
    "lbfgs64": ("float64", "lbfgs", "plain"),
}
N, D, K, BATCH = 53, 5, 3, 10  # 53 samples: batches of 10 and a last one of 3


def data(dtype: str) -> tuple:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((N, D)).astype(dtype)
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64) + (X[:, 3] > 1)
    return X, y


def model_and_optimizer(case: str) -> tuple:
    dtype, opt, layers = CASES[case]
    cr.manual_seed(3)
    mods = [nn.Linear(D, 8, dtype=dtype)]
    if layers in ("syncbn", "both"):
        mods.append(nn.SyncBatchNorm(8, dtype=dtype))
    mods.append(nn.Tanh())
    if layers in ("dropout", "both"):
        mods.append(nn.Dropout(0.3))
    mods.append(nn.Linear(8, K, dtype=dtype))
    model = nn.Sequential(*mods)
    if opt == "sgd":
        o = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    elif opt == "adam":
        o = optim.Adam(model.parameters(), lr=0.01)
    else:
        o = optim.LBFGS(model.parameters(), lr=0.5, max_iter=3)
    return model, o


def train(case: str, distributed=None, epochs: int = 3, resume: str | None = None,
          checkpoint: str | None = None) -> tuple:
    """Train ``case``; returns (state dict, history epochs)."""
    model, opt = model_and_optimizer(case)
    X, y = data(CASES[case][0])
    if resume:
        load_checkpoint(resume, model, opt)
    callbacks = [Checkpoint(checkpoint, every=epochs)] if checkpoint else []
    history = fit(model, nn.CrossEntropyLoss(), opt, (X, y), (X[:17], y[:17]), epochs=epochs,
                  batch_size=BATCH, progress=False, callbacks=callbacks, distributed=distributed)
    return model.state_dict(), history.epochs


def main(argv: list[str]) -> None:
    out, *cases = argv
    world = init()
    for spec in cases:  # CASE or CASE:epochs:resume-file:checkpoint-file
        case, epochs, resume, ckpt = (spec.split(":") + ["3", "", ""])[:4]
        state, epochs_log = train(case, world, int(epochs), resume or None, ckpt or None)
        digest = np.concatenate([v.reshape(-1).astype(np.float64) for v in state.values()])
        every = world.comm.allgather(digest.tobytes()) if world.size > 1 else [digest.tobytes()]
        if world.is_root:
            label = case + ("_resumed" if resume else "") + ("_ckpt" if ckpt else "")
            np.savez(Path(out) / f"{label}.npz", **state)
            Path(out, f"{label}.json").write_text(json.dumps({
                "history": epochs_log, "size": world.size,
                "ranks_identical": all(b == every[0] for b in every)}))


if __name__ == "__main__":
    main(sys.argv[1:])
