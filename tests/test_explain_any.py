"""chainrule.explain.backprop_trace for any dense network (notes §4): every hidden activation,
any depth, softmax + cross-entropy, sigmoid + log-loss, identity + squared error, and the notes'
view of training as gradient ascent on the log-likelihood; the `chainrule explain` options."""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule import Tensor, nn
from chainrule.cli import main
from chainrule.explain import backprop_trace, engine_difference, example_network
from chainrule.models import MLP

ACTS = [a for a in nn.HIDDEN_ACTIVATIONS if a != "prelu"] + ["identity"]


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "linear"])
@pytest.mark.parametrize("sizes", [[3, 4, 2], [2, 3, 3, 2]])
def test_every_activation_output_and_depth_matches_the_engine(activation, output, sizes):
    net = example_network(sizes, seed=len(sizes), activation=activation, output=output)
    x = np.array([0.7, -1.1, 0.4][:sizes[0]])
    y = 1 if output == "softmax" else np.array([0.2, 0.9])
    trace = backprop_trace(net, x, y, lr=0.1)
    assert trace.hidden == activation and trace.output_unit == output
    assert trace.loss == ("log" if output == "softmax" else "squared")
    assert engine_difference(net, trace) < 1e-12
    for layer in trace.layers[:-1]:   # δ_j = f'(z_j) Σ_k w_jk δ_k, layer by layer
        np.testing.assert_allclose(layer.delta, layer.fprime * layer.back, rtol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
def test_sigmoid_output_with_the_log_loss_for_any_hidden_activation(activation):
    net = example_network([2, 3, 2], seed=3, activation=activation, output="sigmoid")
    trace = backprop_trace(net, [0.3, -0.8], [1.0, 0.0], loss="log")
    np.testing.assert_allclose(trace.layers[-1].delta, trace.output - [1.0, 0.0], rtol=1e-12)
    assert engine_difference(net, trace) < 1e-12


def test_the_notes_softmax_example_and_delta_p_minus_y():
    """Notes §3: scores duck 2, beaver 1, walrus 0 give p ≈ 0.67, 0.24, 0.09. With the duck as
    the class, E = −ln p_duck and δ = p − y (the bias gradient of the scores)."""
    net = nn.Sequential(nn.Linear(1, 3), nn.Softmax(dim=-1)).double()
    net.load_state_dict({"0.weight": [[0.0], [0.0], [0.0]], "0.bias": [2.0, 1.0, 0.0]})
    trace = backprop_trace(net, [0.0], 0, lr=1.0)
    np.testing.assert_allclose(trace.output, [0.665241, 0.244728, 0.090031], atol=1e-6)
    assert trace.error == pytest.approx(-np.log(0.665241), abs=1e-6)
    np.testing.assert_allclose(trace.layers[0].delta, trace.output - [1, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(trace.gradients()["0.bias"], [-0.334759, 0.244728, 0.090031],
                               atol=1e-6)
    np.testing.assert_array_equal(trace.target, [1.0, 0.0, 0.0])    # class 0 → one-hot
    # a one-hot vector is the same target
    again = backprop_trace(net, [0.0], [1.0, 0.0, 0.0], lr=1.0)
    np.testing.assert_array_equal(again.layers[0].delta, trace.layers[0].delta)
    text = trace.table()
    assert "E = −Σ_t y*_t ln p_t" in text and "δ_t = p_t − y*_t" in text


def test_relu_and_leaky_relu_derivatives_gate_the_deltas():
    net = example_network([2, 4, 1], seed=2, activation="relu", output="linear")
    trace = backprop_trace(net, [0.9, -0.4], [0.5])
    hidden = trace.layers[0]
    np.testing.assert_array_equal(hidden.fprime, (hidden.z > 0).astype(float))
    assert np.all(hidden.delta[hidden.z <= 0] == 0) and np.any(hidden.z <= 0)
    # identity output with E = ½(y* − y)²: δ_t = y_t − y*_t
    assert trace.layers[1].delta[0] == pytest.approx(trace.output[0] - 0.5, rel=1e-12)
    leaky = backprop_trace(example_network([2, 4, 1], seed=2, activation="leaky_relu",
                                           output="linear"), [0.9, -0.4], [0.5]).layers[0]
    np.testing.assert_allclose(leaky.fprime, np.where(leaky.z > 0, 1.0, 0.01), rtol=1e-12)
    assert "f'(z_j) = 1 if z_j > 0 else 0" in trace.table()


def test_likelihood_view_is_gradient_ascent_with_the_same_update():
    net = example_network([2, 3, 3], seed=5, activation="tanh", output="softmax")
    trace = backprop_trace(net, [0.2, 0.6], 2, lr=0.4)
    assert trace.log_likelihood == pytest.approx(np.log(trace.output[2]), rel=1e-12)
    text = trace.table(view="likelihood")
    assert f"log L = −E = {trace.log_likelihood:.6g}" in text
    assert "w_ij ← w_ij + η ∂logL/∂w_ij" in text and "Gradient ascent" in text
    # every row: new w = w + η ∂logL/∂w with ∂logL/∂w = −∂E/∂w: the descent step's numbers
    for layer in trace.layers:
        row = next(r for r in text.splitlines() if r.strip().startswith(
            f"w({layer.inputs[0]}→{layer.units[0]})"))
        w, y_i, dll, new = (float(c) for c in row.split()[1:])
        assert dll == pytest.approx(-layer.grad_w[0, 0], rel=1e-5)
        assert new == pytest.approx(w + 0.4 * dll, rel=1e-4, abs=1e-6)
        assert new == pytest.approx(layer.new_w[0, 0], rel=1e-5)
    # the squared error is the log-likelihood of Gaussian noise of unit variance
    sq = backprop_trace(example_network([2, 2, 1], output="linear"), [1, 1], [0.0])
    assert sq.log_likelihood == pytest.approx(-sq.error - 0.5 * np.log(2 * np.pi))
    assert "Gaussian noise" in sq.table(view="likelihood")
    with pytest.raises(Exception, match="Invalid view"):
        trace.table(view="probability")


@pytest.mark.parametrize("task,y", [("binary", [1.0]), ("multiclass", 2), ("regression", [0.4])])
def test_mlp_heads_give_the_output_unit(task, y):
    out = {"binary": 1, "multiclass": 3, "regression": 1}[task]
    model = MLP([3, 4, out], activation="elu", task=task, rng=1).double()
    trace = backprop_trace(model, [0.5, -0.5, 1.0], y)
    assert trace.output_unit == {"binary": "sigmoid", "multiclass": "softmax",
                                 "regression": "linear"}[task]
    assert trace.appended == (task != "regression")
    assert sorted(trace.gradients()) == sorted(n for n, _ in model.named_parameters())
    assert engine_difference(model, trace) < 1e-12
    # a Sequential ending in Linear: the output unit is asked for
    seq = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(2 + 1, 2)).double()
    t = backprop_trace(seq, [0.1, 0.2], [1.0, 0.0], output="sigmoid", loss="log")
    assert t.appended and engine_difference(seq, t) < 1e-12


def test_torch_parity_relu_softmax_cross_entropy():
    torch = pytest.importorskip("torch")
    net = example_network([3, 4, 3], seed=7, activation="relu", output="linear")
    trace = backprop_trace(net, [0.3, -0.2, 0.9], 1, output="softmax")
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).double()
    tnet.load_state_dict({k: torch.tensor(v) for k, v in net.state_dict().items()})
    loss = torch.nn.functional.cross_entropy(tnet(torch.tensor([[0.3, -0.2, 0.9]], dtype=torch.float64)),
                                             torch.tensor([1]), reduction="sum")
    loss.backward()
    assert trace.error == pytest.approx(loss.item(), rel=1e-12)
    mine = trace.gradients()
    for name, p in tnet.named_parameters():
        np.testing.assert_allclose(mine[name], p.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_example_network_activations_and_outputs():
    net = example_network([2, 3, 2], activation="relu", output="linear")
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear"]
    assert [type(m).__name__ for m in example_network([2, 2], output="softmax")] == \
        ["Linear", "Softmax"]
    # the sigmoid networks keep their weights (the same draws as before the options)
    np.testing.assert_array_equal(example_network([2, 2, 1], seed=0).state_dict()["2.weight"],
                                  example_network([2, 2, 1], seed=0, activation="tanh")
                                  .state_dict()["2.weight"])
    with pytest.raises(Exception, match="Invalid activation: 'swishy'"):
        example_network([2, 1], activation="swishy")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_explain_activation_output_loss_and_view(capsys):
    code, out, _ = run(capsys, "explain", "--sizes", "2,3,3", "--activation", "relu",
                       "--output", "softmax", "--target", "2")
    assert code == 0 and "relu hidden units, softmax output" in out
    assert "δ_t = p_t − y*_t" in out and "f'(z_j) = 1 if z_j > 0 else 0" in out
    diff = float(out.rsplit("largest difference", 1)[1])
    assert diff < 1e-12
    code, out, _ = run(capsys, "explain", "--activation", "tanh", "--output", "linear",
                       "--target", "0.3", "--view", "likelihood")
    assert code == 0 and "Gradient ascent on the log-likelihood" in out and "log L" in out
    code, out, _ = run(capsys, "explain", "--output", "sigmoid", "--loss", "log", "--json",
                       "--activation", "gelu", "--sizes", "2,2,2")
    d = json.loads(out)
    assert d["hidden"] == "gelu" and d["loss"] == "log" and d["engine_max_difference"] < 1e-12
    assert d["log_likelihood"] == pytest.approx(-d["error"])
    code, _, err = run(capsys, "explain", "--output", "softmax", "--loss", "squared")
    assert code != 0 and "softmax output goes with loss='log'" in err
    code, _, err = run(capsys, "explain", "--output", "softmax", "--sizes", "2,2",
                       "--target", "1,0,0")
    assert code != 0 and "or one class number" in err


def test_engine_difference_works_on_a_float32_tensor_input():
    net = example_network([2, 2, 2], output="softmax")
    trace = backprop_trace(net, Tensor([0.5, 0.25]), [0.0, 1.0])
    assert engine_difference(net, trace) < 1e-12
