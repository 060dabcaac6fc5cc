"""chainrule.train.fit as the one loop: callbacks that stop training or change the step,
the batch order from a sampler, sample weights, both early-stopping rules with restored
weights, and the protocols (needs_closure, needs_metric, decision_threshold)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import DataLoader, ReshuffleSampler, TensorDataset
from chainrule.optim import SGD
from chainrule.train import Callback, EarlyStopping, LRSchedule, TrainState, fit


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5])


def _mse(out, y, w=None):
    return ((out.reshape(-1) - y) ** 2).mean()


class _Record(Callback):
    def __init__(self):
        self.epochs, self.ended, self.weights = [], False, []

    def on_epoch_end(self, state):
        self.epochs.append(state.epoch)
        self.weights.append(state.model.state_dict())

    def on_train_end(self, state):
        self.ended = True


def test_a_callback_can_stop_training_and_the_others_still_end():
    class StopAt3(Callback):
        def on_epoch_end(self, state):
            state.stop = state.epoch == 3

    X, y = _data()
    net, rec = nn.Linear(3, 1, rng=0), _Record()
    h = fit(net, _mse, SGD(net.parameters(), lr=0.01), (X, y), epochs=10, metrics=(),
            callbacks=[StopAt3(), rec], progress=False)
    assert len(h) == 3 and h["epoch"] == [1, 2, 3]
    assert rec.epochs == [1, 2, 3] and rec.ended  # later callbacks still see the last epoch


def test_a_callback_can_change_the_learning_rate():
    class Halve(Callback):
        def on_epoch_end(self, state):
            state.optimizer.param_groups[0]["lr"] /= 2

    X, y = _data()
    net = nn.Linear(3, 1, rng=0)
    h = fit(net, _mse, SGD(net.parameters(), lr=0.08), (X, y), epochs=4, metrics=(),
            callbacks=[Halve()], progress=False)
    assert h["lr"] == [0.08, 0.04, 0.02, 0.01]  # logged before this epoch's callbacks


def test_reshuffle_sampler_permutes_the_previous_order():
    # scikit-learn's MLP: idx = shuffle(idx) every epoch, i.e. idx = idx[rs.permutation(n)]
    s = ReshuffleSampler(7, np.random.RandomState(3))
    rs, idx = np.random.RandomState(3), np.arange(7)
    for _ in range(4):
        idx = idx[rs.permutation(7)]
        assert list(s) == idx.tolist()
    assert len(s) == 7


def test_fit_visits_batches_in_the_samplers_order():
    X, y = _data(n=10)
    seen = []

    def loss(out, target):
        seen.append(target.data.copy())
        return _mse(out, target)

    net = nn.Linear(3, 1, rng=0)
    fit(net, loss, SGD(net.parameters(), lr=0.0), (X, np.arange(10.0)), epochs=3, batch_size=4,
        sampler=ReshuffleSampler(10, np.random.RandomState(0)), metrics=(), progress=False)
    rs, idx, expected = np.random.RandomState(0), np.arange(10), []
    for _ in range(3):
        idx = idx[rs.permutation(10)]
        expected += [idx[i:i + 4] for i in range(0, 10, 4)]
    assert [b.tolist() for b in seen] == [e.astype(float).tolist() for e in expected]


def test_a_loader_takes_shuffle_or_a_sampler_not_both():
    ds = TensorDataset(np.zeros((4, 1)))
    with pytest.raises(cr.ConfigError, match="not both"):
        DataLoader(ds, shuffle=True, sampler=ReshuffleSampler(4, 0))
    assert len(DataLoader(ds, batch_size=3, sampler=[3, 1])) == 1


def test_sample_weights_reach_the_loss_beside_their_targets():
    X, y = _data(n=9)
    w = np.arange(9.0) + 1.0
    pairs = []

    def loss(out, target, weight):
        pairs.append((target.data.copy(), weight.data.copy()))
        return (((out.reshape(-1) - target) ** 2) * weight).sum() / float(weight.data.sum())

    net = nn.Linear(3, 1, rng=0)
    h = fit(net, loss, SGD(net.parameters(), lr=0.01), (X, y, w), epochs=2, batch_size=4,
            rng=0, metrics=(), progress=False)
    assert len(pairs) == 6 and len(h) == 2
    for target, weight in pairs:  # each weight travels with its own sample
        y32 = y.astype(np.float32)  # fit hands float batches over in the model's dtype
        np.testing.assert_array_equal(weight, w[[np.flatnonzero(y32 == t)[0] for t in target]])


class _Scripted(Callback):
    """Puts a scripted score into the logs, as a validation callback would."""

    def __init__(self, scores):
        self.scores = scores

    def on_epoch_end(self, state):
        state.logs["val_score"] = self.scores[state.epoch - 1]


def _run_es(scores, **es_kw):
    X, y = _data()
    net, rec = nn.Linear(3, 1, rng=0), _Record()
    es = EarlyStopping("val_score", **es_kw)
    fit(net, _mse, SGD(net.parameters(), lr=0.01), (X, y), epochs=len(scores), metrics=(),
        callbacks=[_Scripted(scores), rec, es], progress=False)
    return net, rec, es


def test_sklearn_rule_on_a_score_stops_as_scikit_learn_and_restores_the_best_weights():
    # tol 0.01, n_iter_no_change 2 -> patience 3. Epoch 3's +0.005 is below tol: it counts as
    # a stall but becomes the best (and its weights are kept), as in scikit-learn.
    scores = [0.50, 0.60, 0.605, 0.60, 0.59, 0.99, 0.99]
    net, rec, es = _run_es(scores, patience=3, min_delta=0.01, rule="sklearn")
    assert es.mode == "max" and rec.epochs == [1, 2, 3, 4, 5] and es.stopped_epoch == 5
    assert es.best == 0.605 and es.best_epoch == 3
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, rec.weights[2][k])
    # the keras rule keeps epoch 2 as the best and counts from it
    net, rec, es = _run_es(scores, patience=3, min_delta=0.01)
    assert es.best == 0.60 and es.best_epoch == 2 and rec.epochs == [1, 2, 3, 4, 5]
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, rec.weights[1][k])


def test_on_plateau_can_lower_the_step_and_go_on_once():
    calls = []

    def plateau(state):
        calls.append(state.epoch)
        group = state.optimizer.param_groups[0]
        if group["lr"] > 0.005:
            group["lr"] /= 5.0
            return True
        return False

    X, y = _data()
    net = nn.Linear(3, 1, rng=0)
    opt = SGD(net.parameters(), lr=0.01)
    es = EarlyStopping("val_score", patience=2, on_plateau=plateau, restore_best_weights=False)
    h = fit(net, _mse, opt, (X, y), epochs=20, metrics=(),
            callbacks=[_Scripted([1.0] * 20), es], progress=False)
    # stalls from epoch 2: plateau at 3 lowers the step (the count restarts), at 5 it stops
    assert calls == [3, 5] and len(h) == 5 and es.stopped_epoch == 5
    assert opt.param_groups[0]["lr"] == pytest.approx(0.002)


def test_early_stopping_validates_its_arguments():
    with pytest.raises(cr.ConfigError, match="Invalid rule"):
        EarlyStopping(rule="pytorch")
    with pytest.raises(cr.ConfigError, match="Invalid patience"):
        EarlyStopping(patience=-1)
    assert EarlyStopping(patience=math.inf).patience == math.inf  # n_iter_no_change=np.inf


def test_an_optimizer_that_needs_a_closure_gets_one():
    class ClosureOpt(SGD):
        needs_closure = True

        def step(self, closure=None):
            self.calls.append(closure)
            loss = closure()
            super().step()
            return loss

    X, y = _data()
    net = nn.Linear(3, 1, rng=0)
    opt = ClosureOpt(net.parameters(), lr=0.05)
    opt.calls = []
    h = fit(net, _mse, opt, (X, y), epochs=3, batch_size=12, metrics=(), progress=False)
    assert len(opt.calls) == 3 and all(callable(c) for c in opt.calls)
    assert h["loss"][2] < h["loss"][0]
    plain = SGD(nn.Linear(3, 1, rng=0).parameters(), lr=0.05)
    plain.calls = []
    assert not getattr(plain, "needs_closure", False)


def test_a_scheduler_that_needs_a_metric_gets_it():
    class Sched:
        def __init__(self, needs_metric):
            self.needs_metric, self.got = needs_metric, []

        def step(self, *metric):
            self.got.append(metric)

    X, y = _data()
    with_metric, without = Sched(True), Sched(False)
    net = nn.Linear(3, 1, rng=0)
    h = fit(net, _mse, SGD(net.parameters(), lr=0.01), (X, y), epochs=2, metrics=(),
            callbacks=[LRSchedule(with_metric, monitor="loss"), LRSchedule(without)], progress=False)
    assert with_metric.got == [(h["loss"][0],), (h["loss"][1],)] and without.got == [(), ()]


def test_accuracy_uses_the_losses_decision_threshold():
    assert nn.BCEWithLogitsLoss.decision_threshold == 0.0
    assert nn.BCELoss.decision_threshold == 0.5
    assert nn.MSELoss.decision_threshold is None and nn.CrossEntropyLoss.decision_threshold is None
    X, y = _data(n=40, seed=1)
    y = (y > 0).astype(np.float64)
    net = nn.Sequential(nn.Linear(3, 1, rng=0), nn.Sigmoid())
    model = lambda x: net(x).reshape(-1)  # noqa: E731
    model.parameters, model.train, model.eval = net.parameters, net.train, net.eval
    h = fit(model, nn.BCELoss(), SGD(net.parameters(), lr=0.0), (X, y), epochs=1, batch_size=40,
            progress=False)
    p = net(cr.Tensor(X, dtype="float32")).data.reshape(-1)
    assert h["accuracy"][0] == pytest.approx(np.mean((p >= 0.5) == y))


def test_check_finite_can_let_a_diverging_loss_through():
    X, y = _data()
    bad = np.array(y)
    bad[0] = np.inf
    net = nn.Linear(3, 1, rng=0)
    with pytest.raises(cr.DataError, match="NaN|Inf"):  # the data are checked first
        fit(net, _mse, SGD(net.parameters(), lr=0.01), (X, bad), metrics=(), progress=False)

    def inf_loss(out, target):  # an infinite value whose gradient is still finite
        return _mse(out, target) + math.inf

    with pytest.raises(cr.DataError, match="training loss became inf in epoch 1"):
        fit(net, inf_loss, SGD(net.parameters(), lr=0.01), (X, y), epochs=2, metrics=(),
            progress=False)
    h = fit(net, inf_loss, SGD(net.parameters(), lr=0.01), (X, y), epochs=2, metrics=(),
            progress=False, check_finite=False)
    assert h["loss"] == [math.inf, math.inf]


def test_train_state_is_what_callbacks_see():
    state = TrainState(model=None, optimizer=None, history=cr.train.History())
    assert state.stop is False and state.epoch == 0 and state.logs == {}
