"""The compiled training step (issue 17): replayed steps are bit-identical to eager ones.

Each test trains the same model twice from the same seed, once eagerly and once through
:class:`chainrule.compile.CompiledStep` (or ``fit(compile=True)``), and compares every loss
and every parameter with ``np.array_equal``; ``replays`` says the replay really ran.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim, train
from chainrule.compile import CompiledStep, compile_step
from chainrule.errors import ConfigError, DataError

RS = np.random.RandomState(0)
X = RS.randn(45, 6).astype(np.float32)
Y_CLASS = RS.randint(0, 3, 45)
Y_BINARY = (RS.rand(45, 3) > 0.5).astype(np.float32)
Y_REAL = RS.randn(45, 3).astype(np.float32)
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
LOSSES = {"ce": (nn.CrossEntropyLoss, Y_CLASS), "bce": (nn.BCEWithLogitsLoss, Y_BINARY),
          "mse": (nn.MSELoss, Y_REAL)}
OPTIMIZERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "adamw": lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
}


def mlp(act: str = "relu", dropout: float = 0.0, seed: int = 0) -> nn.Module:
    cr.manual_seed(seed)
    layers = [nn.Linear(6, 8), ACTIVATIONS[act]()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(8, 8), ACTIVATIONS[act](), nn.Linear(8, 3))


def train_both(make_model, make_loss, make_opt, y, epochs=4, batch=16, between=None):
    """Losses and final parameters of the same training run, eager and compiled."""
    runs = []
    for compiled in (False, True):
        cr.manual_seed(0)
        model = make_model()
        loss_fn, opt = make_loss(), make_opt(model.parameters())
        step = compile_step(model, loss_fn, opt)
        cr.manual_seed(123)  # the dropout stream
        losses = []
        for epoch in range(epochs):
            if between is not None:
                between(model, opt, epoch)
            for i in range(0, len(X), batch):  # 45 rows: the last batch is short
                xb, yb = X[i:i + batch], y[i:i + batch]
                if compiled:
                    losses.append(step(xb, yb).item())
                else:
                    out = model(cr.Tensor(xb))
                    loss = loss_fn(out, cr.Tensor(yb))
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
        runs.append((losses, [p.data.copy() for p in model.parameters()], step))
    (l1, p1, _), (l2, p2, step) = runs
    assert np.array_equal(l1, l2)
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2))
    return step


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_replay_is_bit_identical(act, loss, opt):
    make_loss, y = LOSSES[loss]
    step = train_both(lambda: mlp(act), make_loss, OPTIMIZERS[opt], y)
    # 12 steps: the full and the short batch are each recorded twice, the other 8 replayed
    assert step.replays == 8 and step.eager_reason is None


def test_dropout_draws_the_same_stream():
    step = train_both(lambda: mlp("relu", dropout=0.3), nn.CrossEntropyLoss,
                      OPTIMIZERS["adam"], Y_CLASS, epochs=5)
    assert step.replays == 11


def test_a_scheduled_learning_rate_is_read_every_step():
    def halve(model, opt, epoch):
        for g in opt.param_groups:
            g["lr"] = 0.05 * 0.5 ** epoch
    step = train_both(mlp, nn.CrossEntropyLoss, OPTIMIZERS["sgd"], Y_CLASS, between=halve)
    assert step.replays == 8


def test_training_mode_change_retraces():
    def flip(model, opt, epoch):
        model.train(epoch < 3)  # dropout off from the fourth epoch
    step = train_both(lambda: mlp("tanh", dropout=0.5), nn.CrossEntropyLoss,
                      OPTIMIZERS["adam"], Y_CLASS, epochs=6, between=flip)
    assert step.replays > 0


def test_a_replaced_parameter_array_retraces():
    def rebind(model, opt, epoch):
        if epoch == 2:
            w = model[0].weight
            w.data = w.data * 0.5  # a new array: the record's no longer holds
    step = train_both(mlp, nn.CrossEntropyLoss, OPTIMIZERS["adam"], Y_CLASS, epochs=5,
                      between=rebind)
    assert step.replays == 7  # epoch 3 records both shapes again


def test_gradients_are_left_in_grad_as_eagerly():
    model, x, y = mlp(), X[:16], Y_CLASS[:16]
    opt = optim.SGD(model.parameters(), lr=0.0)  # lr 0: every step sees the same weights
    step = compile_step(model, nn.CrossEntropyLoss(), opt)
    for _ in range(3):
        step(x, y)
    assert step.replays == 1
    replayed = [p.grad.copy() for p in model.parameters()]
    out = model(cr.Tensor(x))
    opt.zero_grad()
    nn.CrossEntropyLoss()(out, cr.Tensor(y)).backward()
    assert all(np.array_equal(a, p.grad) for a, p in zip(replayed, model.parameters()))


def test_a_parameter_the_step_does_not_use_has_no_gradient_after_a_replay():
    # the replay zeroes only the gradients backward does not assign, as zero_grad would
    model, x, y = mlp(), X[:16], Y_CLASS[:16]
    spare = cr.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.Adam([*model.parameters(), spare], lr=1e-3)
    step = compile_step(model, nn.CrossEntropyLoss(), opt)
    for _ in range(3):
        spare.grad = np.ones(3, np.float32)  # left over from elsewhere: the step clears it
        step(x, y)
    assert step.replays == 1
    assert spare.grad is None and all(p.grad is not None for p in model.parameters())


def test_int32_labels_are_cast_like_the_loss_casts_them():
    step = train_both(mlp, nn.CrossEntropyLoss, OPTIMIZERS["adam"], Y_CLASS.astype(np.int32))
    assert step.replays == 8


def test_a_bad_label_in_a_replayed_step_raises_the_loss_error():
    model = mlp()
    step = compile_step(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()))
    for _ in range(3):
        step(X[:4], np.array([0, 1, 2, 0]))
    assert step.replays == 1
    for bad in ([0, 1, 3, 0], [0, -1, 2, 0]):
        with pytest.raises(DataError, match="class labels must lie in"):
            step(X[:4], np.array(bad))


class Peeks(nn.Module):
    """Python control flow on a value: different ops depending on the data."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(6, 3)

    def forward(self, x):
        h = self.lin(x)
        return h * 2.0 if h.sum().item() > 0 else h


class Counts(nn.Module):
    """Control flow on Python state: every call adds one more op."""

    def __init__(self):
        super().__init__()
        self.lin, self.calls = nn.Linear(6, 3), 0

    def forward(self, x):
        self.calls += 1
        h = self.lin(x)
        for _ in range(self.calls):
            h = h + 1.0
        return h


@pytest.mark.parametrize("make, reason", [
    (lambda: Peeks(), "reads tensor values"),
    (lambda: Counts(), "kept changing"),
    (lambda: nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4), nn.Linear(4, 3)), "buffers"),
])
def test_untraceable_steps_fall_back_with_one_warning(make, reason):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step = train_both(make, nn.CrossEntropyLoss, OPTIMIZERS["sgd"], Y_CLASS, epochs=6)
    notes = [w for w in caught if "compile:" in str(w.message)]
    assert len(notes) == 1 and reason in str(notes[0].message), [str(w.message) for w in caught]
    assert step.replays == 0 and reason in step.eager_reason


def test_lbfgs_runs_eagerly():
    model = mlp()
    step = compile_step(model, nn.CrossEntropyLoss(), optim.LBFGS(model.parameters()))
    with pytest.warns(RuntimeWarning, match="closure"):
        step(X[:8], Y_CLASS[:8])


def test_fit_compiled_matches_fit_eager():
    runs = []
    for compiled in (False, True):
        model = mlp("relu", dropout=0.2)
        opt = optim.Adam(model.parameters(), lr=1e-2)
        sched = optim.lr_scheduler.StepLR(opt, 1, 0.5)
        cr.manual_seed(7)
        hist = train.fit(model, nn.CrossEntropyLoss(), opt, (X, Y_CLASS), val=(X, Y_CLASS),
                         epochs=4, batch_size=16, rng=0, progress=False, compile=compiled,
                         callbacks=[train.LRSchedule(sched)])
        runs.append((hist, [p.data.copy() for p in model.parameters()]))
    (h1, p1), (h2, p2) = runs
    assert [e["loss"] for e in h1] == [e["loss"] for e in h2]
    assert [e["val_accuracy"] for e in h1] == [e["val_accuracy"] for e in h2]
    assert all(np.array_equal(a, b) for a, b in zip(p1, p2))


def test_fit_compiled_stops_on_a_non_finite_loss_before_the_step():
    model = mlp()
    batches = [(X[i:i + 5], Y_CLASS[i:i + 5]) for i in range(0, 45, 5)]
    batches[6] = (np.full((5, 6), np.nan, np.float32), batches[6][1])  # after 4 replays
    before = None

    class Keep(train.Callback):
        def on_batch_begin(self, state):
            nonlocal before
            before = [p.data.copy() for p in model.parameters()]

    with pytest.raises(DataError, match="not finite|became nan"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  batches, epochs=1, progress=False, compile=True, callbacks=[Keep()])
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))


def test_fit_weighted_batches_train_eagerly():
    model = mlp()
    with pytest.warns(RuntimeWarning, match="weighted batches"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  (X, Y_CLASS), epochs=1, progress=False, compile=True,
                  sample_weight=np.ones(len(X)))


def test_fit_compile_must_be_a_flag():
    model = mlp()
    with pytest.raises(ConfigError, match="Invalid compile"):
        train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                  (X, Y_CLASS), epochs=1, progress=False, compile="yes")


def test_compile_step_is_a_compiled_step():
    model = mlp()
    assert isinstance(compile_step(model, nn.MSELoss(), optim.SGD(model.parameters())),
                      CompiledStep)


def test_a_frozen_layer_is_read_afresh_and_unfreezing_retraces():
    def freeze(model, opt, epoch):
        model[0].weight.requires_grad = epoch != 1   # frozen for one epoch only
        if epoch == 2:
            model[0].weight.data = model[0].weight.data * 0.5  # a new array while unfrozen
    step = train_both(mlp, nn.CrossEntropyLoss, OPTIMIZERS["sgd"], Y_CLASS, epochs=5,
                      between=freeze)
    assert step.replays > 0


def test_a_model_with_forward_hooks_runs_eagerly():
    def hooked():
        model = mlp()
        model[1].register_forward_hook(lambda mod, args, out: out * 2.0)
        return model
    with pytest.warns(RuntimeWarning, match="forward hooks"):
        step = train_both(hooked, nn.CrossEntropyLoss, OPTIMIZERS["sgd"], Y_CLASS)
    assert step.replays == 0
