"""Modules: parameter discovery, state dicts, modes, layers, activations by name."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor, nn
from chainrule.errors import ConfigError, DTypeError, ShapeError, StateError
from chainrule.nn import functional as NF


class Block(nn.Module):
    """Attributes of every kind the walker must handle, in a deliberate order."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter([1.0])
        self.layers = [nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=1)]
        self.running = nn.Buffer(np.zeros(2, dtype=np.float32))
        self.heads = {"a": nn.Linear(2, 1, rng=2), "b": nn.Linear(2, 1, bias=False, rng=3)}
        self.cache = Tensor([5.0])  # a plain tensor is not state
        self.offset = nn.Parameter(np.zeros(2, dtype=np.float32))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x).tanh()
        x = x * self.scale + self.offset
        return self.heads["a"](x) + self.heads["b"](x)


def test_named_parameters_follow_attribute_order():
    names = [n for n, _ in Block().named_parameters()]
    assert names == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias", "heads.a.weight", "heads.a.bias", "heads.b.weight",
                     "offset"]
    assert [n for n, _ in Block().named_buffers()] == ["running"]
    assert all(isinstance(p, nn.Parameter) for p in Block().parameters())


def test_shared_parameter_listed_once_and_counts():
    lin = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(lin, nn.Tanh(), lin)
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert net.num_parameters() == 6
    assert len(list(net.modules())) == 3  # Sequential, Linear (once), Tanh


def test_children_and_modules():
    b = Block()
    assert [n for n, _ in b.named_children()] == ["layers.0", "layers.1", "heads.a", "heads.b"]
    names = [n for n, _ in nn.Sequential(b, nn.ReLU()).named_modules()]
    assert names[:3] == ["", "0", "0.layers.0"] and names[-1] == "1"


def test_nested_sequential_names_and_indexing():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Linear(3, 3), nn.ReLU()), nn.Linear(3, 1))
    assert [n for n, _ in net.named_parameters()] == [
        "0.weight", "0.bias", "1.0.weight", "1.0.bias", "2.weight", "2.bias"]
    assert len(net) == 3 and isinstance(net[-1], nn.Linear)
    assert isinstance(net[1:], nn.Sequential) and len(net[1:]) == 2
    assert [type(m).__name__ for m in net] == ["Linear", "Sequential", "Linear"]
    net.append(nn.Sigmoid())
    assert len(net) == 4
    with pytest.raises(ConfigError, match="holds Modules"):
        net.append(lambda x: x)
    with pytest.raises(ConfigError, match="out of range"):
        net[7]


def test_sequential_forward_equals_composition():
    a, b = nn.Linear(3, 2, rng=0), nn.Linear(2, 1, rng=1)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_array_equal(nn.Sequential(a, nn.Tanh(), b)(x).data, b(a(x).tanh()).data)


def test_module_list_names_and_no_forward():
    ml = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]
    with pytest.raises(ConfigError):
        ml(Tensor([[1.0, 2.0]]))


def test_state_dict_round_trip_copies_and_buffers():
    a, b = Block(), Block()
    a.running.data[:] = [3.0, 4.0]
    for p in b.parameters():
        p.data[...] = 0.0
    sd = a.state_dict()
    assert list(sd) == ["scale", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                        "layers.1.bias", "running", "heads.a.weight", "heads.a.bias",
                        "heads.b.weight", "offset"]
    assert all(type(v) is np.ndarray for v in sd.values())
    sd["scale"][0] = 99.0  # a copy: editing it leaves the model alone
    assert a.scale.data[0] == 1.0
    sd["scale"][0] = 1.0
    weight_before = b.layers[0].weight
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.layers[0].weight is weight_before  # in place: optimizers keep their references
    for (k, va), (_, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(va, vb, err_msg=k)
    x = Tensor(np.ones((2, 3), dtype=np.float32))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_accepts_tensors():
    a, b = nn.Linear(2, 2, rng=0), nn.Linear(2, 2, rng=1)
    b.load_state_dict({k: Tensor(v) for k, v in a.state_dict().items()})
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def test_load_state_dict_missing_unexpected_misshaped():
    net = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    sd = net.state_dict()
    del sd["1.bias"]
    sd["2.weight"] = np.zeros((1, 1))
    sd["0.weight"] = np.zeros((5, 3))
    before = net[0].bias.data.copy()
    sd["0.bias"] = np.full(2, 7.0)
    with pytest.raises(StateError) as exc:
        net.load_state_dict(sd)
    msg = str(exc.value)
    assert "missing keys: 1.bias" in msg
    assert "unexpected keys: 2.weight" in msg
    assert "0.weight (expected shape (2, 3), got (5, 3))" in msg
    np.testing.assert_array_equal(net[0].bias.data, before)  # nothing written on failure


def test_load_state_dict_non_strict_reports_but_shape_still_checked():
    net = nn.Linear(3, 2)
    sd = {"weight": np.ones((2, 3)), "extra": np.zeros(1)}
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(net.weight.data, np.ones((2, 3)))
    with pytest.raises(StateError, match=r"weight \(expected shape \(2, 3\), got \(3, 2\)\)"):
        net.load_state_dict({"weight": np.ones((3, 2))}, strict=False)
    with pytest.raises(StateError, match="expects a dict"):
        net.load_state_dict([1, 2])


def test_train_eval_recursive_and_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert net.training and net[1][0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    net[0](Tensor([[1.0, 2.0]])).sum().backward()
    assert net[0].weight.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_repr_tree():
    net = nn.Sequential(nn.Linear(64, 32), nn.LeakyReLU(), nn.Dropout(0.1),
                        nn.Sequential(nn.Linear(32, 10, bias=False), nn.LogSoftmax()))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Linear(in_features=64, out_features=32, bias=True)\n"
        "  (1): LeakyReLU(negative_slope=0.01)\n"
        "  (2): Dropout(p=0.1)\n"
        "  (3): Sequential(\n"
        "    (0): Linear(in_features=32, out_features=10, bias=False)\n"
        "    (1): LogSoftmax(dim=-1)\n"
        "  )\n"
        ")")


def test_parameter_and_buffer_types():
    p = nn.Parameter(np.zeros(3))
    assert p.requires_grad and p.dtype == np.float64
    assert not nn.Parameter([1.0], requires_grad=False).requires_grad
    with pytest.raises(DTypeError, match="floating-point"):
        nn.Parameter(np.arange(3))
    assert not nn.Buffer([1, 2]).requires_grad
    assert "Parameter containing" in repr(p)


def test_to_dtype_and_requires_grad_():
    net = nn.Sequential(nn.Linear(2, 2)).double()
    assert all(p.dtype == np.float64 for p in net.parameters())
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    net.requires_grad_(False)
    assert net.num_parameters(trainable_only=True) == 0 and net.num_parameters() == 6
    with pytest.raises(DTypeError):
        net.to(dtype="int64")


# --- Linear ---------------------------------------------------------------------------------

def test_linear_matches_numpy_and_default_init_bounds():
    layer = nn.Linear(16, 8, rng=0)
    bound = 1 / np.sqrt(16)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (8, 16)
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    np.testing.assert_allclose(layer(Tensor(x)).data, x @ layer.weight.data.T + layer.bias.data,
                               rtol=1e-5, atol=1e-6)
    assert layer(Tensor(x)).op.name == "Linear"  # one fused node
    assert nn.Linear(4, 3, bias=False).bias is None


def test_linear_seeded_bit_identical_and_named_init():
    a, b = nn.Linear(5, 4, rng=7), nn.Linear(5, 4, rng=7)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    cr.manual_seed(3)
    c = nn.Linear(5, 4)
    cr.manual_seed(3)
    d = nn.Linear(5, 4)
    np.testing.assert_array_equal(c.weight.data, d.weight.data)
    x = nn.Linear(50, 40, init="xavier_uniform", rng=0)
    assert np.abs(x.weight.data).max() <= np.sqrt(6 / 90)
    np.testing.assert_array_equal(x.bias.data, 0.0)
    with pytest.raises(ConfigError, match="xavier_uniform"):
        nn.Linear(2, 2, init="xavier_unifrom")
    with pytest.raises(ConfigError,
                       match=r"Invalid in_features: 0 \(expected an integer in_features >= 1\) in Linear"):
        nn.Linear(0, 2)


def test_linear_wrong_features_names_the_layer():
    layer = nn.Linear(64, 32)
    with pytest.raises(ShapeError) as exc:
        layer(Tensor(np.zeros((8, 10), dtype=np.float32)))
    assert str(exc.value) == "Linear(64 -> 32) expected input with last dimension 64, got shape (8, 10)"


def test_flatten_and_identity():
    x = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    y = nn.Flatten()(x)
    assert y.shape == (2, 12)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3, 4)))
    assert nn.Flatten(0)(x).shape == (24,)
    assert nn.Identity()(x) is x


# --- Dropout --------------------------------------------------------------------------------

def test_dropout_identity_in_eval():
    d = nn.Dropout(0.7).eval()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    assert d(x) is x


def test_dropout_inverted_scaling_preserves_mean():
    p = 0.3
    x = Tensor(np.ones((200, 500), dtype=np.float32), requires_grad=True)
    y = nn.Dropout(p, rng=0)(x)
    vals = np.unique(y.data)
    np.testing.assert_allclose(vals, [0.0, 1 / (1 - p)], rtol=1e-6)
    assert abs(float((y.data == 0).mean()) - p) < 0.01
    assert abs(float(y.data.mean()) - 1.0) < 0.02
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)  # gradient goes through the same mask
    assert y.dtype == np.float32


def test_dropout_seeded_bit_identical_and_fresh_masks():
    x = Tensor(np.ones((10, 10), dtype=np.float32))
    a, b = nn.Dropout(0.5, rng=11), nn.Dropout(0.5, rng=11)
    ya1, yb1 = a(x).data, b(x).data
    np.testing.assert_array_equal(ya1, yb1)
    assert not np.array_equal(a(x).data, ya1)  # the next call draws a new mask
    cr.manual_seed(5)
    g1 = NF.dropout(x, 0.5).data
    cr.manual_seed(5)
    np.testing.assert_array_equal(NF.dropout(x, 0.5).data, g1)


def test_dropout_edge_probabilities_and_validation():
    x = Tensor(np.ones(6, dtype=np.float32))
    assert nn.Dropout(0.0)(x) is x
    np.testing.assert_array_equal(nn.Dropout(1.0)(x).data, np.zeros(6))
    for bad in (-0.1, 1.5, "half"):
        with pytest.raises(ConfigError, match=r"Invalid dropout probability p: .* in Dropout"):
            nn.Dropout(bad)
    with pytest.raises(ConfigError, match=r"Invalid dropout probability p: 2.0 .* in dropout"):
        NF.dropout(x, 2.0)


# --- activations ----------------------------------------------------------------------------

X = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])


@pytest.mark.parametrize("name, module, expected", [
    ("sigmoid", nn.Sigmoid(), 1 / (1 + np.exp(-X))),
    ("tanh", nn.Tanh(), np.tanh(X)),
    ("relu", nn.ReLU(), np.maximum(X, 0)),
    ("leaky_relu", nn.LeakyReLU(), np.where(X > 0, X, 0.01 * X)),
    ("softplus", nn.Softplus(), np.log1p(np.exp(X))),
    ("elu", nn.ELU(), np.where(X >= 0, X, np.expm1(X))),
    ("gelu", nn.GELU(), 0.5 * X * (1 + np.vectorize(math.erf)(X / np.sqrt(2)))),  # PyTorch's default
    ("identity", nn.Identity(), X),
])
def test_activation_modules_and_names(name, module, expected):
    np.testing.assert_allclose(module(Tensor(X)).data, expected, rtol=1e-12)
    by_name = nn.get_activation(name)
    assert type(by_name) is type(module)
    np.testing.assert_allclose(by_name(Tensor(X)).data, expected, rtol=1e-12)


def test_gelu_tanh_form():  # the exact (default) form: tests/test_nn_activations.py
    np.testing.assert_allclose(nn.GELU(approximate="tanh")(Tensor(X)).data,
                               0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3))),
                               rtol=1e-12)


def test_activation_parameters_and_softmax_modules():
    np.testing.assert_allclose(nn.LeakyReLU(0.2)(Tensor(X)).data, np.where(X > 0, X, 0.2 * X))
    np.testing.assert_allclose(nn.ELU(2.0)(Tensor(X)).data, np.where(X >= 0, X, 2 * np.expm1(X)))
    np.testing.assert_allclose(nn.GELU(approximate="tanh")(Tensor(X)).data,
                               0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3))))
    z = np.array([[1.0, 2.0], [3.0, 5.0]])
    e = np.exp(z - z.max(axis=0))
    np.testing.assert_allclose(nn.Softmax(axis=0)(Tensor(z)).data, e / e.sum(axis=0))
    np.testing.assert_allclose(nn.LogSoftmax()(Tensor(z)).data,
                               z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
    assert type(nn.get_activation("Leaky-ReLU")) is nn.LeakyReLU
    assert type(nn.get_activation("linear")) is nn.Identity
    m = nn.Tanh()
    assert nn.get_activation(m) is m


def test_get_activation_unknown_lists_valid_names():
    with pytest.raises(ConfigError) as exc:
        nn.get_activation("swishy")
    msg = str(exc.value)
    assert "'swishy'" in msg
    for name in ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "gelu", "identity",
                 "linear"):
        assert name in msg


def test_module_and_dual_forward_mode():
    layer = nn.Linear(3, 2, rng=0).double()
    x = np.random.default_rng(0).standard_normal((4, 3))
    t = np.random.default_rng(1).standard_normal((4, 3))
    _, tangent = cr.jvp(lambda v: nn.Sigmoid()(layer(v)), [x], [t])
    y = 1 / (1 + np.exp(-(x @ layer.weight.data.T + layer.bias.data)))
    np.testing.assert_allclose(tangent, y * (1 - y) * (t @ layer.weight.data.T), rtol=1e-12)


def test_sequential_subclass_keeps_its_own_state():
    class Scaled(nn.Sequential):
        def __init__(self):
            super().__init__(nn.Linear(2, 2, rng=0))
            self.gain = nn.Parameter([2.0])

        def forward(self, x):
            return super().forward(x) * self.gain

    m = Scaled()
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias", "gain"]
    assert m(Tensor([[1.0, 1.0]])).shape == (1, 2)


# --- Sequential runs Linear + activation as one fused node --------------------------------

def _graph_ops(t):
    """The op names of t's graph, output first."""
    seen, todo, names = set(), [t._node], []
    while todo:
        op = todo.pop()
        if op is None or id(op) in seen:
            continue
        seen.add(id(op))
        names.append(op.name)
        todo += [getattr(a, "_node", None) for a in op.inputs]
    return names


@pytest.mark.parametrize("act", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_sequential_fuses_linear_and_activation_with_the_same_result(act):
    net = nn.Sequential(nn.Linear(4, 5, rng=0), act(), nn.Linear(5, 3, rng=1), act(),
                        nn.Linear(3, 2, rng=2))
    x = Tensor(np.random.default_rng(0).standard_normal((6, 4)), dtype="float32")
    fused = net(x)
    assert _graph_ops(fused) == ["Linear"] * 3  # two activations folded into their Linear
    fused.sum().backward()
    grads = [p.grad.copy() for p in net.parameters()]
    net.zero_grad()
    unfused = x
    for m in net:  # one module at a time: separate activation nodes
        unfused = m(unfused)
    assert sorted(_graph_ops(unfused)).count("Linear") == 3 and len(_graph_ops(unfused)) == 5
    unfused.sum().backward()
    np.testing.assert_array_equal(fused.data, unfused.data)
    for g, p in zip(grads, net.parameters()):
        np.testing.assert_allclose(g, p.grad, rtol=1e-6, atol=1e-7)


def test_sequential_fusion_follows_appends_and_skips_subclasses():
    class Shifted(nn.ReLU):
        def forward(self, x):
            return super().forward(x) + 1.0

    net = nn.Sequential(nn.Linear(2, 2, rng=0))
    x = Tensor([[1.0, -2.0]])
    assert _graph_ops(net(x)) == ["Linear"]
    net.append(nn.ReLU())
    assert _graph_ops(net(x)) == ["Linear"] and (net(x).data >= 0).all()
    net.append(nn.Linear(2, 2, rng=1)).append(Shifted())
    out = net(x)
    assert _graph_ops(out)[:2] == ["Add", "Relu"]  # the subclass runs its own forward
    assert (out.data >= 1.0).all()


def test_sequential_fusion_in_forward_mode_matches_finite_differences():
    net = nn.Sequential(nn.Linear(3, 4, rng=0, dtype="float64"), nn.Tanh(),
                        nn.Linear(4, 1, rng=1, dtype="float64"), nn.Sigmoid())
    x = np.random.default_rng(1).standard_normal((2, 3))
    cr.check_grad(lambda a: net(a).sum(), x)


def test_functional_linear_rejects_an_activation_it_cannot_fuse():
    from chainrule.functional import linear
    with pytest.raises(ConfigError, match="activation 'gelu' cannot be fused"):
        linear(Tensor([[1.0]]), Tensor([[1.0]]), activation="gelu")
