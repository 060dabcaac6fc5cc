"""One page's training session: the data, the network, its optimizer, and a worker thread that
runs :func:`chainrule.train.fit` batch by batch under play, pause and step.

The worker runs the one training loop (``fit``, one epoch per call) with a callback that
waits before every batch until the page lets it run (play) or grants it one batch (step), and
that holds the model's lock for the batch, so the server's readers (pictures, formulas,
exports) never see half an update. Pictures are drawn at most :data:`FRAME_RATE` times a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..data import Table
from ..errors import ChainruleError, ConfigError, StateError
from ..models import MLP
from ..nn import Dropout, Linear
from ..random import manual_seed
from ..tensor import Tensor
from ..train import Callback, evaluate, fit
from ._config import OPTIMIZERS, UPLOAD, Config
from ._data import Points, bundled, uploaded

#: Frames (pictures and curves) a second, at most.
FRAME_RATE = 10
#: Cells per side of the decision boundary's heat map; the hidden units use every other one.
GRID = 50
#: Points kept on a loss curve (older ones are thinned to every other).
CURVE_POINTS = 1000
ACTIONS = ("play", "pause", "step", "reset")


class _Stopped(Exception):
    """The session stopped its worker (reset, new settings, closed page)."""


class _Gate(Callback):
    """Lets ``fit`` take a batch only when the session allows it, and draws frames."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def on_batch_begin(self, state: Any) -> None:
        s = self.session
        with s._cond:
            while not (s._stop or s.running or s._permits):
                s._cond.wait()
            if s._stop:
                raise _Stopped
            if not s.running:
                s._permits -= 1
            s._busy = True
        s.lock.acquire()
        s._held = True

    def on_batch_end(self, state: Any) -> None:
        s = self.session
        try:
            s.batches += 1
            if not s.running or time.monotonic() - s._drawn >= 1 / FRAME_RATE:
                s.publish()
        finally:
            s._held = s._busy = False
            s.lock.release()

    def on_epoch_end(self, state: Any) -> None:
        with self.session.lock:  # a point on the loss curves at every epoch, between frames
            self.session._losses()


class Session:
    """A page's data, network and training state.

    Args:
        sid: the page's session id.
        config: its settings (defaults: :class:`~chainrule.playground.Config`).

    >>> s = Session("doc", Config(hidden=[3], batch_size=50))
    >>> s.step(); s.wait_idle(), s.frame["batches"]
    (True, 1)
    >>> s.close()
    """

    def __init__(self, sid: str, config: Config | None = None) -> None:
        self.sid = sid
        self.config = config or Config()
        self.running = False
        self.problem: str | None = None
        self._cond = threading.Condition()
        self.lock = threading.RLock()     # the model's: held for a batch, a frame, an export
        self._ops = threading.RLock()     # one change of state at a time (page requests race)
        self._held = self._busy = False   # the worker holds the lock / is taking a batch
        self._drawn = 0.0                 # when the last frame was drawn (time.monotonic)
        self._permits = 0
        self._stop = False
        self._worker: threading.Thread | None = None
        self._upload: Points | None = None
        self.version = 0          # counts frames; the page's stream sends each new one
        self.data_version = 0     # counts data sets and networks; the page redraws its points
        self.frame: dict[str, Any] = {}
        self._build()

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        """The points, a fresh network and optimizer for the settings; a first frame."""
        cfg = self.config
        if cfg.dataset == UPLOAD:
            if self._upload is None:
                raise ConfigError("no uploaded data in this session; upload a CSV file first")
            points = self._upload
        else:
            points = bundled(cfg.dataset, cfg.test_fraction, cfg.seed)
        manual_seed(cfg.seed)
        n_out = 1 if points.task == "binary" else len(points.classes)
        model = MLP(cfg.sizes(2, n_out), activation=cfg.activation, task=points.task,
                    dropout=cfg.dropout, rng=cfg.seed)
        cls, extra = OPTIMIZERS[cfg.optimizer]
        self.optimizer = cls(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, **extra)
        self.loss_fn = model.head.loss() if cfg.objective == "cross_entropy" else model.head.quadratic_loss
        points.saved.model = model
        self.points, self.model = points, model
        self.train_xy = (points.inputs[points.train], points.targets[points.train])
        self.test_xy = (points.inputs[points.test], points.targets[points.test])
        self.batch_size = min(cfg.batch_size, len(points.train))
        self.batches_per_epoch = -(-len(points.train) // self.batch_size)
        self._shuffle = np.random.default_rng(cfg.seed)
        self.batches = 0
        self.curves: dict[str, list[float]] = {"epoch": [], "train": [], "test": []}
        self.problem = None
        self.data_version += 1
        self._grid = self._make_grid()
        self.publish()

    def _make_grid(self) -> dict[str, Any]:
        """The plane the pictures cover: the points' range, padded by a tenth."""
        X = self.points.X
        lo, hi = X.min(axis=0), X.max(axis=0)
        pad = np.where(hi > lo, (hi - lo) * 0.1, 1.0)
        lo, hi = lo - pad, hi + pad
        xs = lo[0] + (np.arange(GRID) + 0.5) * (hi[0] - lo[0]) / GRID
        ys = hi[1] - (np.arange(GRID) + 0.5) * (hi[1] - lo[1]) / GRID   # row 0 at the top
        g1, g2 = np.meshgrid(xs, ys)
        raw = np.column_stack([g1.ravel(), g2.ravel()])
        inputs = self.points.saved.preprocessing.transform(
            Table.from_array("grid", raw, self.points.data.features))
        return {"lo": lo.tolist(), "hi": hi.tolist(), "inputs": inputs}

    def configure(self, raw: Any) -> None:
        """New settings (a dict of some of :class:`Config`'s fields): a new network."""
        with self._ops:
            config = Config.from_json(raw, self.config)
            self._halt()
            old = self.config
            self.config = config
            try:
                if self._upload is not None and (config.test_fraction, config.seed) != (
                        old.test_fraction, old.seed):  # a new split of the uploaded rows
                    u = self._upload
                    self._upload = uploaded(u.csv.encode(), u.name, config.test_fraction,
                                            config.seed)
                self._build()
            except ChainruleError:
                self.config = old
                self._build()
                raise

    def upload(self, body: bytes, name: str) -> None:
        """Train on an uploaded CSV from now on (see :func:`~chainrule.playground._data.uploaded`)."""
        with self._ops:
            points = uploaded(body, name, self.config.test_fraction, self.config.seed)
            self._halt()
            self._upload = points
            self.config.dataset = UPLOAD
            self._build()

    # --- play, pause, step, reset ----------------------------------------------------------

    def control(self, action: str) -> None:
        """``"play"``, ``"pause"``, ``"step"`` (one batch) or ``"reset"`` (new weights)."""
        if action not in ACTIONS:
            raise ConfigError(f"Invalid action: {action!r} (expected one of "
                              f"{', '.join(ACTIONS)}) in the playground")
        with self._ops:
            if action == "reset":
                self._halt()
                self._build()
                return
            if self.problem is not None and action != "pause":
                raise StateError(f"training stopped: {self.problem}; change the settings or "
                                 "reset")
            {"play": self.play, "pause": self.pause, "step": self.step}[action]()

    def play(self) -> None:
        """Train batch after batch until paused."""
        with self._ops:
            self._ensure_worker()
            with self._cond:
                self.running = True
                self._cond.notify_all()
            self.publish()

    def pause(self) -> None:
        """Stop after the current batch (the closed page's stream pauses too)."""
        with self._ops:
            with self._cond:
                self.running = False
                self._permits = 0
                self._cond.notify_all()
            self.publish()

    def step(self) -> None:
        """Train one batch, then wait."""
        with self._ops:
            self._ensure_worker()
            with self._cond:
                self.running = False
                self._permits += 1
                self._cond.notify_all()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until granted steps are taken (or the worker ended); True if it is idle."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._cond:
                busy = self._permits > 0 and self._worker is not None and self._worker.is_alive()
            if not busy and not self._busy:
                return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        """Stop the worker for good."""
        with self._ops:
            self._halt()

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._stop = False
            self._worker = threading.Thread(target=self._work, name=f"playground-{self.sid}",
                                            daemon=True)
            self._worker.start()

    def _halt(self) -> None:
        with self._cond:
            self._stop, self.running, self._permits = True, False, 0
            self._cond.notify_all()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join(timeout=30)
        self._worker = None

    def _work(self) -> None:
        """The worker thread: epochs of ``fit`` until stopped; an error stops training and
        is shown on the page (the server keeps running)."""
        gate = _Gate(self)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                while not self._stop:
                    fit(self.model, self.loss_fn, self.optimizer, self.train_xy,
                        epochs=1, batch_size=self.batch_size, rng=self._shuffle,
                        callbacks=[gate], progress=False, verbose=False, metrics=())
        except _Stopped:
            pass
        except ChainruleError as exc:
            self.problem = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown on the page; the server keeps running
            self.problem = f"unexpected {type(exc).__name__}: {exc} (a bug in chainrule)"
        finally:
            if self._held:
                self.lock.release()
            self._held = self._busy = False
            with self._cond:
                self.running, self._permits = False, 0
            if self.problem is not None:
                self.publish()

    # --- pictures ---------------------------------------------------------------------------

    # NOTE: one frame is one forward pass over the grid read layer by layer (the hidden units'
    # pictures and the boundary), two losses and the weights; kept together so they agree.
    def publish(self) -> None:
        """Draw a frame of the current network (under the model's lock)."""
        with self.lock, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            model, head = self.model, self.model.head
            was = model.training
            model.eval()
            try:
                with no_grad():
                    a = Tensor(self._grid["inputs"])
                    hidden = []
                    for m in model.layers:
                        a = m(a)
                        if not isinstance(m, (Linear, Dropout)):
                            hidden.append(np.asarray(a.data, dtype=np.float64))
                    p = head.proba(a.reshape(-1) if head.vector_output else a)
                pred = model.predict(self.points.inputs)
            finally:
                model.train(was)
            epoch, train, test = self._losses()
            pts = self.points
            frame = {
                "sid": self.sid, "data_version": self.data_version, "running": self.running,
                "batches": self.batches, "epoch": round(epoch, 3),
                "train_loss": _num(train), "test_loss": _num(test),
                "train_accuracy": float(np.mean(pred[pts.train] == pts.y[pts.train])),
                "test_accuracy": float(np.mean(pred[pts.test] == pts.y[pts.test])),
                "curves": {k: [_num(v) for v in vs] for k, vs in self.curves.items()},
                "grid": {"size": GRID, "lo": self._grid["lo"], "hi": self._grid["hi"]},
                "boundary": _boundary(p),
                "hidden": [_unit_pictures(h, self.config.activation) for h in hidden],
                "weights": [{"w": _finite(m.weight.data), "b": None if m.bias is None
                             else _finite(m.bias.data)}
                            for m in model.layers if isinstance(m, Linear)],
                "problem": self.problem,
            }
            self.frame = frame
            self._drawn = time.monotonic()
            self.version += 1

    def _losses(self) -> tuple[float, float, float]:
        """The epoch and the training and test losses now, added to the curves."""
        train = evaluate(self.model, self.loss_fn, self.train_xy, metrics=())["loss"]
        test = evaluate(self.model, self.loss_fn, self.test_xy, metrics=())["loss"]
        epoch = self.batches / self.batches_per_epoch
        self._curve(epoch, train, test)
        return epoch, train, test

    def _curve(self, epoch: float, train: float, test: float) -> None:
        c = self.curves
        if c["epoch"] and c["epoch"][-1] == epoch:
            c["train"][-1], c["test"][-1] = train, test
            return
        c["epoch"].append(epoch)
        c["train"].append(train)
        c["test"].append(test)
        if len(c["epoch"]) > CURVE_POINTS:
            for k in c:
                c[k] = c[k][::2] if len(c[k]) % 2 else [*c[k][:-1:2], c[k][-1]]

    def state(self) -> dict[str, Any]:
        """The session's settings and points (sent when they change)."""
        return {"sid": self.sid, "data_version": self.data_version,
                "config": self.config.to_json(), "points": self.points.to_json(),
                "sizes": self.model.sizes, "has_upload": self._upload is not None}


def _num(v: float) -> float | None:
    """A JSON number (None for NaN or infinity), five significant digits."""
    v = float(v)
    return float(f"{v:.5g}") if np.isfinite(v) else None


def _finite(a: Any) -> list[Any]:
    """An array as JSON-able lists, four decimals; NaN (a diverged network) as 0."""
    return np.round(np.nan_to_num(np.asarray(a, dtype=np.float64), nan=0.0, posinf=1e300,
                                  neginf=-1e300), 4).tolist()


def _boundary(p: np.ndarray) -> dict[str, Any]:
    """The heat map: P(class 1) per cell in hundredths (binary), else the likeliest class and
    its probability in hundredths (NaN, from a diverged network, as even odds)."""
    p = np.nan_to_num(p, nan=1.0 / p.shape[1])
    if p.shape[1] == 2:
        return {"kind": "binary", "p": np.rint(p[:, 1] * 100).astype(int).tolist()}
    return {"kind": "multiclass", "cls": p.argmax(axis=1).tolist(),
            "p": np.rint(p.max(axis=1) * 100).astype(int).tolist()}


def _unit_pictures(a: np.ndarray, activation: str) -> list[list[int]]:
    """Each unit's activation over the plane (every other cell), scaled to −100..100 around
    its centre (½ for the sigmoid, 0 otherwise) by its largest deviation: blue above, red below,
    as the boundary's colours."""
    a = a.reshape(GRID, GRID, -1)[::2, ::2].reshape(-1, a.shape[-1])
    centre = 0.5 if activation in ("sigmoid", "hardsigmoid") else 0.0
    d = a - centre
    lim = np.max(np.abs(d), axis=0)
    lim[~(lim > 1e-12)] = 1.0
    d = np.nan_to_num(d / lim, nan=0.0)
    return np.rint(d * 100).astype(int).T.tolist()
