"""chainrule.explain.backprop_trace: the notes' δ recursion by hand (NOTES.md 4), compared with
the engine's gradients, the notes' closed forms, and a published hand-worked example."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import ConfigError, DataError, ShapeError, Tensor, nn
from chainrule.explain import backprop_trace, engine_difference, example_network
from chainrule.models import MLP
from chainrule.nn import functional as NF

rng = np.random.default_rng(11)


def sigmoid_net(sizes, bias=True, seed=0):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, bias=bias, rng=seed), nn.Sigmoid()]
    return nn.Sequential(*layers).double()


def engine_gradients(model, x, y, loss):
    """∂E/∂θ by the autograd engine: loss.backward() on E for one example."""
    model.zero_grad()
    out = model(Tensor(np.asarray(x, np.float64).reshape(1, -1)))
    t = np.asarray(y, np.float64).reshape(1, -1)
    E = NF.half_sum_squared_error(out, t) if loss == "squared" else \
        NF.binary_cross_entropy(out, t, reduction="sum")
    E.backward()
    return E.item(), {n: p.grad for n, p in model.named_parameters()}


@pytest.mark.parametrize("sizes", [[2, 2, 1], [3, 4, 2], [2, 3, 4, 1], [5, 1]])
@pytest.mark.parametrize("loss", ["squared", "log"])
@pytest.mark.parametrize("bias", [True, False])
def test_every_gradient_matches_the_engine(sizes, loss, bias):
    model = sigmoid_net(sizes, bias=bias, seed=sum(sizes))
    x = rng.standard_normal(sizes[0])
    y = rng.uniform(0, 1, sizes[-1])
    trace = backprop_trace(model, x, y, lr=0.3, loss=loss)
    E, grads = engine_gradients(model, x, y, loss)
    assert trace.error == pytest.approx(E, rel=1e-12)
    mine = trace.gradients()
    assert sorted(mine) == sorted(grads)
    for name, g in grads.items():
        np.testing.assert_allclose(mine[name], g, rtol=1e-10, atol=1e-14, err_msg=name)
    # The update is w ← w − η ∂E/∂w, for every parameter.
    for name, p in model.named_parameters():
        np.testing.assert_allclose(trace.updated()[name], p.data - 0.3 * grads[name], rtol=1e-12)


def test_the_notes_closed_forms_for_one_hidden_layer():
    """NOTES.md 4 for h_j = σ(Σ_i x_i θ^(h)_ij), ŷ = σ(Σ_j h_j θ^(ŷ)_j) (no biases):
    ∂ŷ/∂θ^(ŷ)_j = ŷ(1 − ŷ) h_j, ∂ŷ/∂h_j = ŷ(1 − ŷ) θ^(ŷ)_j, ∂h_j/∂θ^(h)_ij = h_j(1 − h_j) x_i,
    chained with ∂E/∂ŷ: −(y − ŷ) for E = ½(y − ŷ)², and −∂LL/∂ŷ = −(y/ŷ − (1 − y)/(1 − ŷ))
    for the log-loss."""
    model = sigmoid_net([3, 4, 1], bias=False, seed=5)
    th_h = model[0].weight.data.T          # θ^(h)_ij, (3, 4)
    th_y = model[2].weight.data[0]         # θ^(ŷ)_j, (4,)
    x, y = rng.standard_normal(3), 1.0
    h = 1 / (1 + np.exp(-(x @ th_h)))
    yhat = 1 / (1 + np.exp(-(h @ th_y)))
    dLL_dyhat = y / yhat - (1 - y) / (1 - yhat)
    for loss, dE_dyhat in (("squared", -(y - yhat)), ("log", -dLL_dyhat)):
        trace = backprop_trace(model, x, [y], loss=loss)
        assert trace.output[0] == pytest.approx(yhat, rel=1e-12)
        np.testing.assert_allclose(trace.layers[0].y, h, rtol=1e-12)
        want_out = dE_dyhat * yhat * (1 - yhat) * h
        want_hidden = np.outer(x, dE_dyhat * yhat * (1 - yhat) * th_y * h * (1 - h))
        np.testing.assert_allclose(trace.layers[1].grad_w[:, 0], want_out, rtol=1e-10)
        np.testing.assert_allclose(trace.layers[0].grad_w, want_hidden, rtol=1e-10)


def test_log_loss_output_step_is_w_plus_eta_y_minus_yhat_x():
    """NOTES.md 4: for log-loss with a sigmoid output, w ← w + η(y − ŷ)x, b ← b + η(y − ŷ)
    (here the output unit's inputs x are the hidden activations h)."""
    model = sigmoid_net([2, 3, 1], seed=3)
    trace = backprop_trace(model, [0.4, -1.2], [1.0], lr=0.7, loss="log")
    out = trace.layers[-1]
    gap = 1.0 - trace.output[0]
    np.testing.assert_allclose(out.new_w[:, 0], out.w[:, 0] + 0.7 * gap * out.y_in, rtol=1e-12)
    np.testing.assert_allclose(out.new_w0, out.w0 + 0.7 * gap, rtol=1e-12)


def test_the_published_hand_worked_example():
    """Matt Mazur, "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid network,
    x = (0.05, 0.10), y* = (0.01, 0.99), η = 0.5, E = ½Σ(y* − y)². His numbers, to his nine
    decimals: E = 0.298371109; ∂E/∂w5 = 0.082167041; new w1..w8 below."""
    net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 2), nn.Sigmoid()).double()
    net.load_state_dict({"0.weight": [[0.15, 0.20], [0.25, 0.30]], "0.bias": [0.35, 0.35],
                         "2.weight": [[0.40, 0.45], [0.50, 0.55]], "2.bias": [0.60, 0.60]})
    trace = backprop_trace(net, [0.05, 0.10], [0.01, 0.99], lr=0.5)
    assert trace.error == pytest.approx(0.298371109, abs=1e-9)
    hidden, out = trace.layers
    assert out.grad_w[0, 0] == pytest.approx(0.082167041, abs=1e-9)      # ∂E/∂w5
    # w1 (x1→h1), w2 (x2→h1), w3 (x1→h2), w4 (x2→h2); w5..w8 likewise into o1, o2.
    new = [hidden.new_w[0, 0], hidden.new_w[1, 0], hidden.new_w[0, 1], hidden.new_w[1, 1],
           out.new_w[0, 0], out.new_w[1, 0], out.new_w[0, 1], out.new_w[1, 1]]
    np.testing.assert_allclose(new, [0.149780716, 0.19956143, 0.24975114, 0.29950229,
                                     0.35891648, 0.408666186, 0.511301270, 0.561370121],
                               atol=1e-8)


def test_one_step_lowers_the_error_and_does_not_touch_the_model():
    model = sigmoid_net([2, 3, 1], seed=8)
    before = model.state_dict()
    trace = backprop_trace(model, [0.3, 0.9], [0.0], lr=0.5)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    model.load_state_dict(trace.updated())
    assert backprop_trace(model, [0.3, 0.9], [0.0]).error < trace.error


def test_binary_sigmoid_mlp_is_accepted_with_its_parameter_names():
    model = MLP([3, 4, 1], activation="sigmoid", task="binary", rng=0).double()
    x, y = rng.standard_normal(3), 0.0
    trace = backprop_trace(model, x, [y])
    model.zero_grad()
    z = model(Tensor(x.reshape(1, -1)))          # the logit; the output unit is ŷ = σ(z)
    NF.half_sum_squared_error(z.sigmoid(), np.array([y])).backward()
    assert sorted(trace.gradients()) == sorted(n for n, _ in model.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(trace.gradients()[name], p.grad, rtol=1e-10, err_msg=name)


def test_table_shows_every_step_in_the_notes_notation():
    model = sigmoid_net([2, 2, 1], seed=1)
    trace = backprop_trace(model, [0.05, 0.1], [1.0], lr=0.5)
    text = trace.table(digits=6)
    assert str(trace) == text
    for piece in ("z_j = Σ_i w_ij y_i + w_0j", "δ_t = −y_t(1 − y_t)(y*_t − y_t)",
                  "δ_j = y_j(1 − y_j) Σ_k w_jk δ_k", "w_ij ← w_ij − η δ_j y_i", "η = 0.5",
                  "network 2-2-1", "x1 = 0.05", "x2 = 0.1"):
        assert piece in text, piece
    # A row per weight and bias, showing w, δ_j, y_i, δ_j·y_i and the new weight.
    for layer in trace.layers:
        for j, unit in enumerate(layer.units):
            assert f"{layer.z[j]:.6g}" in text and f"{layer.delta[j]:.6g}" in text
            for i, src in enumerate(layer.inputs):
                row = next(r for r in text.splitlines() if r.strip().startswith(f"w({src}→{unit})"))
                cells = row.split()[1:]
                assert [float(c) for c in cells] == pytest.approx(
                    [layer.w[i, j], layer.delta[j], layer.y_in[i], layer.grad_w[i, j],
                     layer.new_w[i, j]], rel=1e-5)
            assert f"w(1→{unit}) bias" in text
    assert f"{trace.error:.6g}" in text
    log_text = backprop_trace(model, [0.05, 0.1], [1.0], loss="log").table()
    assert "δ_t = y_t − y*_t" in log_text and "ln" in log_text


def test_to_dict_is_json():
    trace = backprop_trace(sigmoid_net([2, 2, 1]), [0.1, 0.2], [1.0])
    d = json.loads(json.dumps(trace.to_dict()))
    assert d["error"] == trace.error and len(d["layers"]) == 2
    assert d["layers"][0]["weight_name"] == "0.weight"


def test_bad_models_and_examples():
    with pytest.raises(ConfigError, match="layer 1 \\(Linear\\) is followed by Softmax"):
        backprop_trace(nn.Sequential(nn.Linear(2, 2), nn.Softmax(-1), nn.Linear(2, 1)), [0, 0], [0])
    with pytest.raises(ConfigError, match="got ReLU, Linear"):
        backprop_trace(nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), [0, 0], [0])
    with pytest.raises(ConfigError, match="got Linear, ReLU, Tanh"):
        backprop_trace(nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Tanh()), [0, 0], [0, 0])
    with pytest.raises(ConfigError, match="parameters would need gradients"):
        backprop_trace(nn.Sequential(nn.Linear(2, 2), nn.PReLU(), nn.Linear(2, 1)), [0, 0], [0])
    with pytest.raises(ConfigError, match="got Linear$|got Linear;|got Linear\\b"):
        backprop_trace(nn.Linear(2, 1), [0, 0], [0])
    with pytest.raises(ConfigError, match="softmax output goes with loss='log'"):
        backprop_trace(MLP([2, 2, 3], task="multiclass"), [0, 0], 1, loss="squared")
    with pytest.raises(ConfigError, match="loss='log' needs probabilities"):
        backprop_trace(MLP([2, 2, 1], task="regression"), [0, 0], [0], loss="log")
    with pytest.raises(ConfigError, match="output='softmax', but the model ends with Sigmoid"):
        backprop_trace(sigmoid_net([2, 2, 2]), [0, 0], 1, output="softmax")
    with pytest.raises(ConfigError, match="two or more units"):
        backprop_trace(nn.Sequential(nn.Linear(2, 1), nn.Softmax(-1)), [0, 0], [1.0])
    with pytest.raises(ConfigError, match="Invalid output: 'relu'"):
        backprop_trace(sigmoid_net([2, 1]), [0, 0], [0], output="relu")
    with pytest.raises(DataError, match="class number must be one of 0..2; got 3"):
        backprop_trace(MLP([2, 2, 3], task="multiclass"), [0, 0], 3)
    with pytest.raises(DataError, match="one-hot"):
        backprop_trace(MLP([2, 2, 3], task="multiclass"), [0, 0], [0.5, 0.2, 0.2])
    net = sigmoid_net([2, 2, 1])
    with pytest.raises(ShapeError, match=r"x must be one example of 2 values .* got shape \(3,\)"):
        backprop_trace(net, [0, 0, 0], [0])
    with pytest.raises(ShapeError, match="shape \\(2, 2\\)"):
        backprop_trace(net, [[0, 0], [1, 1]], [0])
    with pytest.raises(ShapeError, match="target"):
        backprop_trace(net, [0, 0], [0, 1])
    with pytest.raises(DataError, match="NaN or Inf"):
        backprop_trace(net, [np.nan, 0], [0])
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        backprop_trace(net, [0, 0], [2.0], loss="log")
    with pytest.raises(ConfigError, match="Invalid loss: 'hinge' \\(expected one of 'squared', 'log'\\)"):
        backprop_trace(net, [0, 0], [0], loss="hinge")
    with pytest.raises(ConfigError, match="lr"):
        backprop_trace(net, [0, 0], [0], lr=0)


# --- the command line's network and its engine check -------------------------------------------

def test_example_network_has_two_decimal_weights_fixed_by_the_seed():
    net = example_network([3, 2, 2], seed=4)
    assert [type(m).__name__ for m in net] == ["Linear", "Sigmoid", "Linear", "Sigmoid"]
    for p in net.parameters():
        assert p.data.dtype == np.float64 and np.all(np.abs(p.data) <= 1)
        np.testing.assert_array_equal(p.data, np.round(p.data, 2))
    again = example_network([3, 2, 2], seed=4).state_dict()
    assert all(np.array_equal(v, again[k]) for k, v in net.state_dict().items())
    other = example_network([3, 2, 2], seed=5).state_dict()
    assert not np.array_equal(other["0.weight"], again["0.weight"])


@pytest.mark.parametrize("loss", ["squared", "log"])
def test_engine_difference_compares_the_trace_with_backward(loss):
    net = example_network([2, 3, 2], seed=1)
    trace = backprop_trace(net, [0.3, -0.7], [1.0, 0.0], loss=loss)
    assert engine_difference(net, trace) < 1e-12
    assert engine_difference(net, trace) < 1e-12          # gradients are zeroed, not summed
    # a wrong hand gradient shows up as the difference
    trace.layers[0].grad_w[0, 0] += 0.25
    assert engine_difference(net, trace) == pytest.approx(0.25)
