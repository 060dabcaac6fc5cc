"""RNN, LSTM and GRU: against PyTorch (multi-layer, batch-first, initial states), both modes of
differentiation through time, bad input, and tasks that need memory."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor, no_grad
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import Linear
from chainrule.nn.functional import cross_entropy
from chainrule.nn.recurrent import GRU, LSTM, RNN, last_step

rng = np.random.default_rng(5)

CASES = [
    (RNN, "RNN", {}),
    (RNN, "RNN", {"nonlinearity": "relu", "num_layers": 2}),
    (LSTM, "LSTM", {}),
    (LSTM, "LSTM", {"num_layers": 3, "batch_first": True}),
    (LSTM, "LSTM", {"num_layers": 2, "bias": False}),
    (GRU, "GRU", {"num_layers": 2, "batch_first": True}),
    (GRU, "GRU", {"bias": False}),
]


@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "initial-state"])
@pytest.mark.parametrize(("cls", "name", "kw"), CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_matches_torch_outputs_states_and_gradients(cls, name, kw, with_state):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(3, 4, **kw).double()
    ours = cls(3, 4, dtype=np.float64, **kw)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    layers, T, N = kw.get("num_layers", 1), 6, 2
    x = rng.standard_normal((N, T, 3) if kw.get("batch_first") else (T, N, 3))
    states = [rng.standard_normal((layers, N, 4)) for _ in range(2 if name == "LSTM" else 1)]
    xs, ts = Tensor(x, requires_grad=True), [Tensor(s, requires_grad=True) for s in states]
    tx, tts = torch.tensor(x, requires_grad=True), [torch.tensor(s, requires_grad=True)
                                                     for s in states]
    if name == "LSTM":
        args, targs = (tuple(ts),), (tuple(tts),)
    else:
        args, targs = (ts[0],), (tts[0],)
    out, final = ours(xs, *args) if with_state else ours(xs)
    tout, tfinal = theirs(tx, *targs) if with_state else theirs(tx)
    finals = list(final) if name == "LSTM" else [final]
    tfinals = list(tfinal) if name == "LSTM" else [tfinal]
    loss = (out * out).sum() + sum((f * f * f).sum() for f in finals)
    tloss = (tout * tout).sum() + sum((f * f * f).sum() for f in tfinals)
    loss.backward()
    tloss.backward()
    close = dict(rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **close)
    for f, tf in zip(finals, tfinals):
        np.testing.assert_allclose(f.numpy(), tf.detach().numpy(), **close)
    np.testing.assert_allclose(xs.grad, tx.grad.numpy(), **close)
    if with_state:
        for s, ts_ in zip(ts, tts):
            np.testing.assert_allclose(s.grad, ts_.grad.numpy(), **close)
    for (n, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), err_msg=n, **close)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_reverse_and_forward_mode_through_time(cls):
    m = cls(2, 3, num_layers=2, dtype=np.float64, rng=0)

    def f(x):
        out, _ = m(x)
        return out

    cr.check_grad(f, rng.standard_normal((4, 2, 2)))


def test_pytorch_initialization_and_names():
    lstm = LSTM(5, 16, num_layers=2, rng=0)
    names = [n for n, _ in lstm.named_parameters()]
    assert names == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                     "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    assert lstm.weight_ih_l0.shape == (64, 5) and lstm.weight_ih_l1.shape == (64, 16)
    assert GRU(5, 16).weight_hh_l0.shape == (48, 16) and RNN(5, 16).bias_ih_l0.shape == (16,)
    values = np.concatenate([p.numpy().ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= 0.25 and values.std() > 0.1  # U(−1/√16, 1/√16)
    assert repr(lstm) == "LSTM(5, 16, num_layers=2)"


def test_list_of_equal_sequences_is_a_batch_and_unbatched_input_works():
    gru = GRU(2, 3, batch_first=True, rng=0)
    seqs = [rng.standard_normal((5, 2)).astype(np.float32) for _ in range(3)]
    out_list, h_list = gru(seqs)
    out, h = gru(np.stack(seqs))
    np.testing.assert_allclose(out_list.numpy(), out.numpy())
    np.testing.assert_allclose(h_list.numpy(), h.numpy())
    one, h_one = gru(seqs[1])
    np.testing.assert_allclose(one.numpy(), out.numpy()[1], rtol=1e-6)
    assert h_one.shape == (1, 3)
    assert last_step(out, batch_first=True).shape == (3, 3)


@pytest.mark.parametrize(("call", "match"), [
    (lambda m: m([np.ones((5, 2)), np.ones((4, 2))]), r"inconsistent shapes .*lengths \[5, 4\]"),
    (lambda m: m(np.ones((2, 5, 3))), "expected inputs with 2 features"),
    (lambda m: m(np.ones((2, 5, 2, 1))), r"3-D input \(N, T, input_size\)"),
    (lambda m: m(np.ones((2, 5, 2)), (np.zeros((1, 3, 4)), np.zeros((1, 2, 4)))),
     r"expected h_0 of shape \(1, 2, 4\)"),
    (lambda m: m(np.ones((2, 5, 2)), (np.zeros((1, 2, 4)), np.zeros((2, 2, 4)))),
     r"expected c_0 of shape \(1, 2, 4\)"),
])
def test_bad_sequence_input(call, match):
    with pytest.raises(ShapeError, match=match):
        call(LSTM(2, 4, batch_first=True, rng=0))


@pytest.mark.parametrize(("make", "match"), [
    (lambda: LSTM(0, 4), "input_size"),
    (lambda: GRU(3, 4, num_layers=0), "num_layers"),
    (lambda: RNN(3, 4, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: LSTM(3, 4, dropout=2.0), "dropout"),
])
def test_bad_configuration(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def adam(params, lr):
    """An inline Adam (β = 0.9, 0.999) over ``params``; returns the update function."""
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    step = [0]

    def update():
        step[0] += 1
        t = step[0]
        for p, mi, vi in zip(params, m, v):
            mi *= 0.9
            mi += 0.1 * p.grad
            vi *= 0.999
            vi += 0.001 * p.grad ** 2
            p.data -= lr * (mi / (1 - 0.9 ** t)) / (np.sqrt(vi / (1 - 0.999 ** t)) + 1e-8)
            p.grad = None

    return update


K, T = 4, 20


def memory_batch(n, gen):
    """The class is the symbol (one of K, one-hot) shown at step 0; the 19 steps after it carry
    only noise on a separate input, so the last input says nothing about the class."""
    s = gen.integers(0, K, n)
    x = np.zeros((n, T, K + 1), np.float32)
    x[np.arange(n), 0, s] = 1.0
    x[:, 1:, K] = gen.standard_normal((n, T - 1)) * 0.5
    return x, s


@pytest.mark.slow
def test_lstm_remembers_a_symbol_from_twenty_steps_back():
    gen, test_gen = np.random.default_rng(1), np.random.default_rng(100)
    x_test, y_test = memory_batch(1000, test_gen)
    lstm, head = LSTM(K + 1, 32, batch_first=True, rng=1), Linear(32, K, rng=1)
    # Forget-gate bias 1 (Jozefowicz et al. 2015): the cell keeps its content at the start.
    lstm.bias_ih_l0.data[32:64] += 1.0
    update = adam(lstm.parameters() + head.parameters(), 3e-3)
    accuracy = 0.0
    for step in range(1, 1501):
        x, y = memory_batch(64, gen)
        out, _ = lstm(x)
        cross_entropy(head(last_step(out, batch_first=True)), y).backward()
        update()
        if step % 100 == 0:
            with no_grad():
                pred = head(last_step(lstm(x_test)[0], batch_first=True)).numpy().argmax(1)
            accuracy = float((pred == y_test).mean())
            if accuracy >= 0.99:
                break
    assert accuracy >= 0.95

    # Without recurrence the task is at chance: an MLP trained on the last input only.
    from chainrule.nn import ReLU, Sequential
    mlp = Sequential(Linear(K + 1, 32, rng=0), ReLU(), Linear(32, K, rng=0))
    update = adam(mlp.parameters(), 3e-3)
    for _ in range(300):
        x, y = memory_batch(64, gen)
        cross_entropy(mlp(Tensor(x[:, -1])), y).backward()
        update()
    with no_grad():
        mlp_accuracy = float((mlp(Tensor(x_test[:, -1])).numpy().argmax(1) == y_test).mean())
    assert mlp_accuracy < 0.35


@pytest.mark.slow
def test_gru_sequence_to_sequence_echoes_the_input_two_steps_late():
    """Every output step is used: y_t = the symbol seen at t − 2."""
    gen = np.random.default_rng(3)
    n_sym, length, delay = 3, 12, 2

    def batch(n):
        s = gen.integers(0, n_sym, (n, length))
        return np.eye(n_sym, dtype=np.float32)[s], s

    gru, head = GRU(n_sym, 24, batch_first=True, rng=0), Linear(24, n_sym, rng=0)
    update = adam(gru.parameters() + head.parameters(), 1e-2)
    for _ in range(300):
        x, s = batch(32)
        out, _ = gru(x)
        logits = head(out[:, delay:])
        cross_entropy(logits.reshape(-1, n_sym), s[:, :-delay].reshape(-1)).backward()
        update()
    x, s = batch(500)
    with no_grad():
        pred = head(gru(x)[0][:, delay:]).numpy().argmax(-1)
    assert float((pred == s[:, :-delay]).mean()) >= 0.95
