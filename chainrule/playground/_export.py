"""What a page takes away: the model file, a script that rebuilds and trains the same network,
and the formulas of one backpropagation step (:func:`chainrule.explain.backprop_trace`)."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ChainruleError, DataError
from ..explain import backprop_trace
from ..io import save
from ._config import OPTIMIZERS, UPLOAD
from ._session import Session

#: The name of an exported model file.
MODEL_FILE = "playground-model.safetensors"
#: The name of an exported script.
SCRIPT_FILE = "playground_train.py"


def metadata(session: Session) -> dict[str, Any]:
    """The model file's metadata: what ``chainrule predict`` reads (as ``chainrule train``
    writes it), and the playground's settings."""
    cfg = session.config
    return {"format": "chainrule-cli", **session.points.saved.metadata(),
            "data": session.points.name, "hidden": cfg.hidden, "activation": cfg.activation,
            "dropout": cfg.dropout, "loss": "cross_entropy" if cfg.objective == "cross_entropy"
            else "mse", "optimizer": cfg.optimizer, "lr": cfg.lr,
            "weight_decay": cfg.weight_decay, "batch_size": session.batch_size,
            "epochs": round(session.batches / session.batches_per_epoch, 3), "seed": cfg.seed,
            "made_by": "chainrule playground"}


def model_file(session: Session) -> bytes:
    """The trained network as a model file (:func:`chainrule.io.save`), as bytes."""
    with tempfile.TemporaryDirectory(prefix="chainrule-playground-") as tmp:
        path = Path(tmp) / MODEL_FILE
        with session.lock:
            save(session.model, path, metadata=metadata(session))
        return path.read_bytes()


_SCRIPT = '''"""Rebuild and train the network made in the chainrule playground.

Data {data_about}; network {sizes} ({activation} hidden units, {task} output);
{objective}; {optimizer} with learning rate {lr}, L2 rate {weight_decay}, dropout {dropout};
batches of {batch_size}; {epochs} epoch(s), as the playground trained it.

Run:  python {script}{csv_arg}
It prints the losses and writes {model} (``chainrule predict {model} ...`` reads it).
"""

import sys

import numpy as np

from chainrule import io, manual_seed, optim
from chainrule.data import Features, Standardizer, encode_classes, load_dataset, train_test_split
from chainrule.models import MLP, SavedModel
from chainrule.train import fit

SEED = {seed}
DATA = sys.argv[1] if len(sys.argv) > 1 else {data!r}
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else {epochs}

data = load_dataset(DATA, {target}, seed=SEED)
classes, y = encode_classes(data.target)
task = "binary" if len(classes) == 2 else "multiclass"
rows = np.arange(data.n_rows).reshape(-1, 1)
stratify = y if np.bincount(y).min() >= 2 else None
train, test, _, _ = train_test_split(rows, y, test_size={test_fraction}, rng=SEED, stratify=stratify)
train, test = np.sort(train[:, 0]), np.sort(test[:, 0])
# Inputs standardized with the training rows' mean and standard deviation
scaler = Standardizer().fit(data.X[train])
features = Features.from_standardizer(data.features, scaler.mean_, scaler.scale_)
X = features.transform(data.table)
target = y.astype(np.float32) if task == "binary" else y

manual_seed(SEED)
model = MLP({sizes}, activation={activation!r}, task=task, dropout={dropout}, rng=SEED)
loss_fn = {loss}
optimizer = optim.{optim_class}(model.parameters(), lr={lr}, weight_decay={weight_decay}{optim_extra})
history = fit(model, loss_fn, optimizer, (X[train], target[train]), (X[test], target[test]),
              epochs=EPOCHS, batch_size={batch_size}, rng=np.random.default_rng(SEED),
              metrics=(), progress=False)
print(f"epochs {{len(history)}}: train loss {{history['loss'][0]:.4f}} -> {{history['loss'][-1]:.4f}}, "
      f"test loss {{history['val_loss'][-1]:.4f}}")

saved = SavedModel(model, "<memory>", task, data.features, data.target_name, classes, None, None,
                   0.0, 1.0, features)
accuracy = float(np.mean(saved.predict_indices(data.X[test]) == y[test]))
print(f"test accuracy {{accuracy:.3f}}")
io.save(model, {model!r}, metadata={{"format": "chainrule-cli", **saved.metadata()}})
print("wrote {model}")
'''


def script(session: Session) -> str:
    """A short runnable chainrule script that rebuilds and trains the same network on the
    same data, split and preprocessing."""
    cfg, pts = session.config, session.points
    upload = cfg.dataset == UPLOAD
    cls, extra = OPTIMIZERS[cfg.optimizer]
    epochs = max(1, math.ceil(session.batches / session.batches_per_epoch))
    return _SCRIPT.format(
        data_about=f"the uploaded file {pts.name} (label column {pts.data.target_name!r})"
        if upload else f"the bundled set {pts.name!r}",
        data=pts.name, target=repr(pts.data.target_name) if upload else "None",
        csv_arg=f" [{pts.name} [EPOCHS]]" if upload else " [DATA [EPOCHS]]",
        script=SCRIPT_FILE, model="model.safetensors", seed=cfg.seed,
        test_fraction=cfg.test_fraction, sizes=session.model.sizes, activation=cfg.activation,
        task=pts.task, dropout=cfg.dropout,
        objective="cross-entropy" if cfg.objective == "cross_entropy"
        else "quadratic loss on the output probabilities",
        loss="model.head.loss()" if cfg.objective == "cross_entropy"
        else "model.head.quadratic_loss",
        optimizer=cfg.optimizer, optim_class=cls.__name__, lr=cfg.lr,
        weight_decay=cfg.weight_decay,
        optim_extra="".join(f", {k}={v!r}" for k, v in extra.items()),
        batch_size=session.batch_size, epochs=epochs)


def formulas(session: Session, index: int) -> dict[str, Any]:
    """One step of backpropagation on training row ``index`` (notes §4), as text tables.

    A network :func:`~chainrule.explain.backprop_trace` does not take gives ``text`` None and a
    ``message`` saying which networks it shows.
    """
    pts = session.points
    if not 0 <= index < len(pts.train):
        raise DataError(f"Invalid training row: {index} (expected 0 to {len(pts.train) - 1})")
    row = int(pts.train[index])
    x = pts.inputs[row].astype(np.float64)
    target = ([float(pts.y[row])] if pts.task == "binary"
              else np.eye(len(pts.classes))[pts.y[row]].tolist())
    loss = "log" if session.config.objective == "cross_entropy" else "squared"
    about = {"row": row, "raw": [float(f"{v:.6g}") for v in pts.X[row]],
             "label": str(pts.classes[pts.y[row]]), "features": pts.data.features}
    try:
        with session.lock:
            trace = backprop_trace(session.model, x, target, lr=session.config.lr, loss=loss)
    except ChainruleError as exc:
        return {**about, "text": None,
                "message": f"No formulas for this network: {exc}"}
    return {**about, "text": trace.table(digits=4), "message": None}
