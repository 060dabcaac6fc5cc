"""Issue 12, the training side: BatchNorm state, History, metrics in scikit-learn order, fit's
options (metrics, weights, validation_split, initial_epoch, per-batch hooks, CSV log, the log
line, non-finite losses), bit-identical resume, Checkpoint(save_best_only), lr_find."""

from __future__ import annotations

import csv
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.data import DataLoader, TensorDataset, WeightedRandomSampler
from chainrule.metrics import accuracy, confusion_matrix, log_likelihood
from chainrule.models import Perceptron
from chainrule.train import Callback, CSVLogger, EarlyStopping, History, LRSchedule, evaluate, fit, lr_find

ROOT = Path(__file__).resolve().parents[1]


def _cls(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)


def _reg(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, (X @ np.array([1.0, -2.0, 0.5])).astype(np.float32)


# --- BatchNorm state ------------------------------------------------------------------------

def test_batchnorm_saves_loads_and_reloads_after_training(tmp_path):
    bn = nn.BatchNorm1d(3)
    cr.save(bn, tmp_path / "bn.safetensors")
    assert cr.load(tmp_path / "bn.safetensors").num_batches_tracked.shape == ()
    bn(cr.Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)))
    state = bn.state_dict()
    assert state["num_batches_tracked"].shape == () and int(state["num_batches_tracked"]) == 1
    bn.load_state_dict(state)  # a TypeError before
    cr.save(bn, tmp_path / "bn.safetensors")
    back = cr.load(tmp_path / "bn.safetensors")
    assert int(back.num_batches_tracked.data) == 1
    np.testing.assert_array_equal(back.running_var.data, bn.running_var.data)


def test_early_stopping_on_a_batchnorm_model_restores_its_best_epoch():
    X, y = _cls()
    net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2, rng=1))
    es = EarlyStopping("loss", patience=2)
    fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y), epochs=4,
        batch_size=16, rng=0, progress=False, callbacks=[es])
    assert es.best_state is not None
    assert all(np.array_equal(es.best_state[k], v) for k, v in net.state_dict().items())


def test_the_mnist_example_model_reloads(tmp_path):
    spec = importlib.util.spec_from_file_location("mnist_cnn", ROOT / "examples" / "mnist_cnn.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.model(0)
    x = cr.Tensor(np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32))
    net(x)  # a training pass moves the running statistics
    cr.save(net, tmp_path / "cnn.safetensors")
    back = cr.load(tmp_path / "cnn.safetensors")
    net.eval()
    back.eval()
    np.testing.assert_array_equal(back(x).data, net(x).data)


# --- History --------------------------------------------------------------------------------

def test_history_reads_by_epoch_and_by_key():
    h = History([{"epoch": 1, "loss": 2.0}, {"epoch": 2, "loss": 1.0, "val_loss": 1.5}])
    assert h[0] == {"epoch": 1, "loss": 2.0} and h[-1]["val_loss"] == 1.5
    assert h["loss"] == [2.0, 1.0] and h["val_loss"] == [1.5]
    assert "loss" in h and "nope" not in h and len(h) == 2
    assert list(h) == [h[0], h[1]] and h.history["loss"] == [2.0, 1.0]
    with pytest.raises(KeyError, match="'nope'.*epoch.*loss.*val_loss"):
        h["nope"]
    with pytest.raises(IndexError, match="out of range for 2 epochs"):
        h[2]


# --- metrics --------------------------------------------------------------------------------

def test_metrics_take_scikit_learns_order():
    skm = pytest.importorskip("sklearn.metrics")
    y = np.array([0, 1, 2, 2, 1, 0])
    pred = np.array([0, 2, 2, 1, 1, 1])
    assert accuracy(y, y) == 1.0  # labels are labels, not logits
    assert accuracy(y, pred) == skm.accuracy_score(y, pred)
    assert confusion_matrix(y, pred).tolist() == skm.confusion_matrix(y, pred).tolist()
    yb, p = np.array([0, 1, 1, 0]), np.array([0.2, 0.7, 0.9, 0.6])
    assert log_likelihood(yb, p) == pytest.approx(-len(yb) * skm.log_loss(yb, p))
    assert accuracy(yb, p, threshold=0.5) == 0.75
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 0.0]])
    assert accuracy([0, 1], scores) == 1.0


def test_metrics_called_the_old_way_raise_instead_of_transposing():
    with pytest.raises(cr.ShapeError, match="y_true must be a vector of labels"):
        accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 1]))
    with pytest.raises(cr.DataError, match="y_true must hold labels 0 and 1"):
        log_likelihood(np.array([0.2, 0.7]), np.array([0, 1]))
    with pytest.raises(cr.DataError, match="threshold"):
        accuracy(np.array([0, 1]), np.array([0.2, 0.7]))


def test_fit_metrics_by_name_or_function_and_unknown_names_raise():
    X, y = _cls()
    net = nn.Linear(4, 2, rng=0)
    with pytest.raises(cr.ConfigError, match="Invalid metric: 'f1'"):
        fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y),
            metrics=("f1",), progress=False)

    def balanced(y_true, out):
        pred = out.argmax(1)
        return float(np.mean([np.mean(pred[y_true == c] == c) for c in (0, 1)]))
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y), (X, y),
            metrics=("accuracy", balanced), epochs=1, batch_size=60, progress=False)
    out = cr.train.predict(net, X)
    assert h["val_balanced"][0] == pytest.approx(balanced(y, out))
    assert h["val_accuracy"][0] == pytest.approx(accuracy(y, out))


def test_a_regression_fit_logs_no_accuracy_and_a_classifier_does():
    X, y = _reg()
    net = nn.Linear(3, 1, rng=0)
    h = fit(net, nn.MSELoss(), optim.SGD(net.parameters(), lr=0.05), (X, y[:, None]), epochs=2,
            progress=False)
    assert "accuracy" not in h and "loss" in h
    h = fit(net, nn.MSELoss(), optim.SGD(net.parameters(), lr=0.05), (X, y[:, None]), epochs=1,
            metrics=("mse", "mae"), progress=False)
    assert h["mse"][0] > 0 and h["mae"][0] > 0
    Xc, yc = _cls()
    clf = nn.Linear(4, 2, rng=0)
    assert "accuracy" in fit(clf, nn.CrossEntropyLoss(), optim.SGD(clf.parameters(), lr=0.1),
                             (Xc, yc), epochs=1, progress=False)


# --- non-finite losses ----------------------------------------------------------------------

def test_a_nan_loss_stops_at_once_and_restores_the_best_weights():
    X, y = _reg(n=64)
    net = nn.Linear(3, 1, rng=0)
    seen = []

    def loss(out, target):
        seen.append(1)
        value = ((out.reshape(-1) - target) ** 2).mean()
        return value * math.nan if len(seen) > 12 else value  # epoch 4, batch 1

    es = EarlyStopping("loss", patience=10)
    with pytest.raises(cr.DataError, match=r"became nan in epoch 4.*batch 1.*weights of epoch 3") as e:
        fit(net, loss, optim.SGD(net.parameters(), lr=0.01), (X, y), epochs=20, batch_size=16,
            progress=False, callbacks=[es])
    assert len(seen) == 13  # not one step more
    assert len(e.value.history) == 3
    assert all(np.array_equal(es.best_state[k], v) for k, v in net.state_dict().items())
    assert all(np.isfinite(p.data).all() for p in net.parameters())


# --- fit options ----------------------------------------------------------------------------

def test_class_and_sample_weights_make_the_weighted_mean_loss():
    X, y = _cls(n=20)
    w = np.linspace(0.5, 2.0, 20)
    net = nn.Linear(4, 2, rng=0)
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.0), (X, y), epochs=1,
            batch_size=20, class_weight={0: 1.0, 1: 3.0}, sample_weight=w, progress=False)
    terms = nn.CrossEntropyLoss(reduction="none")(net(cr.Tensor(X)), y).data
    weights = w * np.where(y == 1, 3.0, 1.0)
    assert h["loss"][0] == pytest.approx(np.sum(weights * terms) / weights.sum(), rel=1e-5)
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.0), (X, y), epochs=1,
            batch_size=20, class_weight="balanced", progress=False)
    cw = len(y) / (2 * np.bincount(y))  # scikit-learn's "balanced"
    assert h["loss"][0] == pytest.approx(np.sum(cw[y] * terms) / cw[y].sum(), rel=1e-5)
    with pytest.raises(cr.ConfigError, match="class_weight"):
        fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.0), (X, y),
            class_weight="even", progress=False)


def test_validation_split_holds_out_the_last_samples():
    X, y = _cls(n=50)
    net = nn.Linear(4, 2, rng=0)
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y), epochs=1,
            validation_split=0.2, progress=False)
    assert h["val_loss"][0] == pytest.approx(evaluate(net, nn.CrossEntropyLoss(), (X[40:], y[40:]))["loss"])
    with pytest.raises(cr.ConfigError, match="validation_split"):
        fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y), (X, y),
            validation_split=0.2, progress=False)


class _Count(Callback):
    def __init__(self, stop_at=None):
        self.begin = self.end = 0
        self.stop_at = stop_at

    def on_batch_begin(self, state):
        self.begin += 1

    def on_batch_end(self, state):
        self.end += 1
        assert math.isfinite(state.batch_logs["loss"])
        state.stop = self.end == self.stop_at


def test_initial_epoch_and_per_batch_hooks():
    X, y = _cls(n=40)
    net, count = nn.Linear(4, 2, rng=0), _Count()
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y), epochs=5,
            initial_epoch=3, batch_size=16, callbacks=[count], progress=False)
    assert h["epoch"] == [4, 5] and count.begin == count.end == 6  # 3 batches per epoch
    stopper = _Count(stop_at=2)
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.1), (X, y), epochs=5,
            batch_size=16, callbacks=[stopper], progress=False)
    assert len(h) == 1 and stopper.end == 2


def test_csv_logger_and_the_log_line_off_a_terminal(tmp_path, capsys):
    X, y = _cls(n=40)
    net = nn.Linear(4, 2, rng=0)
    path = tmp_path / "log.csv"
    opt = optim.SGD(net.parameters(), lr=1e-5)
    fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, callbacks=[CSVLogger(path)])
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and "accuracy" in rows[0]
    err = capsys.readouterr().err  # pytest's stderr is not a terminal: one line per epoch
    assert err.count("training epoch") == 3 and "lr 1e-05" in err
    fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, progress=False)
    assert capsys.readouterr().err == ""


def test_early_stopping_says_why_training_ended(capsys):
    X, y = _cls(n=40)
    net = nn.Linear(4, 2, rng=0)
    # (no shuffling: with lr 0 the epoch loss is then the same to the last bit every epoch)
    h = fit(net, nn.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.0), (X, y), epochs=9,
            shuffle=False, callbacks=[EarlyStopping("loss", patience=2)], verbose=True,
            progress=False)
    assert len(h) == 3 and "loss has not improved for 2 epochs" in h.stop_reason
    assert "early stopping: loss has not improved for 2 epochs (best" in capsys.readouterr().err


# --- resume ---------------------------------------------------------------------------------

OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=0.01),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.05),
    "LBFGS": lambda p: optim.LBFGS(p, lr=0.5, max_iter=3),
}
SCHEDULERS = {
    "none": None,
    "StepLR": lambda o: optim.StepLR(o, step_size=2, gamma=0.5),
    "ExponentialLR": lambda o: optim.ExponentialLR(o, gamma=0.8),
    "CosineAnnealingLR": lambda o: optim.CosineAnnealingLR(o, T_max=3),
    "ReduceLROnPlateau": lambda o: optim.ReduceLROnPlateau(o, patience=0, factor=0.5, threshold=0.5),
    "LambdaLR": lambda o: optim.LambdaLR(o, lambda e: 1 / (1 + e)),
    "MultiStepLR": lambda o: optim.MultiStepLR(o, milestones=[1, 3]),
    "LinearLR": lambda o: optim.LinearLR(o, start_factor=0.2, total_iters=3),
    "OneCycleLR": lambda o: optim.OneCycleLR(
        o, max_lr=0.05, total_steps=4 * 4,
        cycle_momentum="momentum" in o.param_groups[0] or "betas" in o.param_groups[0]),
    "SequentialLR": lambda o: optim.SequentialLR(
        o, [optim.LinearLR(o, start_factor=0.5, total_iters=2), optim.ExponentialLR(o, gamma=0.7)],
        milestones=[2]),
}
DATA = {
    "int seed": lambda X, y: ((X, y), {"rng": 5}),
    "seeded loader": lambda X, y: (DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True,
                                              rng=np.random.default_rng(3)), {}),
    "weighted sampler": lambda X, y: (DataLoader(
        TensorDataset(X, y), batch_size=16,
        sampler=WeightedRandomSampler(np.linspace(1, 2, len(y)), len(y), rng=4)), {}),
    "global generator": lambda X, y: ((X, y), {}),
}
# every optimizer with every data source, every scheduler with Adam and an int seed (and
# OneCycleLR, stepped per batch, with every data source)
CASES = [(o, s, d) for o in OPTIMIZERS for s in SCHEDULERS for d in DATA
         if (o == "Adam" or s in ("StepLR", "none"))
         and (d == "int seed" or s in ("none", "OneCycleLR"))]


def _train(opt_name, sched_name, data_name, epochs, path, resume_from=None):
    X, y = _cls(n=64, seed=1)
    cr.manual_seed(11)
    net = nn.Sequential(nn.Linear(4, 8, rng=0), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3),
                        nn.Linear(8, 2, rng=1))
    opt = OPTIMIZERS[opt_name](net.parameters())
    callbacks = []
    if SCHEDULERS[sched_name] is not None:
        per = "batch" if sched_name == "OneCycleLR" else "epoch"
        callbacks.append(LRSchedule(SCHEDULERS[sched_name](opt), monitor="loss", interval=per))
    callbacks += [EarlyStopping("loss", patience=99), io.Checkpoint(path, every=2)]
    train, kw = DATA[data_name](X, y)
    resume = None
    if resume_from is not None:
        cr.manual_seed(999)  # another process state before resuming
        resume = io.load_checkpoint(resume_from, net, opt)
    fit(net, nn.CrossEntropyLoss(), opt, train, epochs=epochs, batch_size=16, progress=False,
        callbacks=callbacks, resume=resume, **kw)
    return net.state_dict()


@pytest.mark.parametrize("opt_name, sched_name, data_name", CASES)
def test_resume_is_bit_identical(tmp_path, opt_name, sched_name, data_name):
    straight = _train(opt_name, sched_name, data_name, 4, tmp_path / "a.safetensors")
    _train(opt_name, sched_name, data_name, 2, tmp_path / "b.safetensors")
    resumed = _train(opt_name, sched_name, data_name, 4, tmp_path / "c.safetensors",
                     resume_from=tmp_path / "b.safetensors")
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k], err_msg=k)


def test_resume_with_other_callbacks_says_so(tmp_path):
    X, y = _cls()
    net = nn.Linear(4, 2, rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)
    fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=2, progress=False,
        callbacks=[EarlyStopping("loss"), io.Checkpoint(tmp_path / "ck.safetensors")])
    state = io.load_checkpoint(tmp_path / "ck.safetensors", net, opt)
    assert state["epoch"] == 2 and len(state["history"]) == 2
    with pytest.raises(cr.StateError, match="EarlyStopping.*Checkpoint"):
        fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=3, progress=False, resume=state)


def test_checkpoint_keeps_only_the_best_epoch(tmp_path):
    X, y = _cls()
    net = nn.Linear(4, 2, rng=0)
    opt = optim.SGD(net.parameters(), lr=0.1)
    scores = [0.5, 0.9, 0.7, 0.8]

    class Score(Callback):
        def on_epoch_end(self, state):
            state.logs["val_score"] = scores[state.epoch - 1]
    path = tmp_path / "best.safetensors"
    ck = io.Checkpoint(path, monitor="val_score", save_best_only=True)
    fit(net, nn.CrossEntropyLoss(), opt, (X, y), epochs=4, progress=False, callbacks=[Score(), ck])
    back = nn.Linear(4, 2, rng=5)
    assert io.load_checkpoint(path, back)["epoch"] == 2 and ck.best == 0.9
    with pytest.raises(cr.ConfigError, match="needs a monitor"):
        io.Checkpoint(path, save_best_only=True)


# --- the learning-rate range test -----------------------------------------------------------

def test_lr_find_sweeps_exponentially_restores_and_plots(tmp_path):
    X, y = _reg(n=256)
    net = nn.Linear(3, 1, rng=0)
    opt = optim.SGD(net.parameters(), lr=0.123, momentum=0.9)
    before, state = net.state_dict(), cr.random.get_state()
    res = lr_find(net, lambda o, t: ((o.reshape(-1) - t) ** 2).mean(), opt, (X, y),
                  start_lr=1e-4, end_lr=10.0, num_iter=50, rng=0)
    ratios = np.diff(np.log(res.lrs))
    np.testing.assert_allclose(ratios, np.log(1e5) / 49)  # a constant factor per step
    assert res.lrs[0] == pytest.approx(1e-4) and len(res.losses) == len(res.lrs) <= 50
    assert len(res.lrs) < 50  # it diverged and stopped before 10
    assert 1e-3 < res.suggestion < 1.0
    assert all(np.array_equal(before[k], v) for k, v in net.state_dict().items())
    assert opt.param_groups[0]["lr"] == 0.123 and cr.random.get_state() == state
    pytest.importorskip("matplotlib")
    out = cr.viz.plot_lr_find(res, tmp_path / "lr.png")
    assert out.stat().st_size > 1000


# --- the perceptron -------------------------------------------------------------------------

def test_perceptron_rejects_labels_outside_0_and_1():
    X, y = _cls(n=10)
    with pytest.raises(cr.DataError, match=r"labels 0 and 1; got \[-1, 1\]"):
        Perceptron(4, rng=0).fit(X, 2 * y - 1)
