"""Issue 12's Module API: register_buffer/register_parameter/add_module, apply, forward and
forward-pre hooks with removable handles, named_modules/children, requires_grad_, to(dtype),
ModuleDict, and summary."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor, nn
from chainrule.errors import ConfigError


def _x(*shape):
    return Tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


def test_register_buffer_and_parameter():
    m = nn.Module()
    m.register_buffer("mean", np.zeros(3))
    m.register_buffer("scratch", Tensor([1.0, 2.0]), persistent=False)
    m.register_buffer("empty", None)
    m.register_parameter("scale", nn.Parameter([2.0]))
    m.register_parameter("shift", None)
    assert isinstance(m.mean, nn.Buffer) and m.empty is None and m.shift is None
    assert [n for n, _ in m.named_buffers()] == ["mean", "scratch"]
    assert list(m.state_dict()) == ["mean", "scale"]  # the non-persistent buffer is not saved
    m.load_state_dict({"mean": np.ones(3), "scale": np.array([3.0])})
    assert m.mean.tolist() == [1.0, 1.0, 1.0]
    m.to("float64")
    assert m.scratch.dtype == np.float64  # non-persistent buffers still move
    m.register_buffer("scratch", np.zeros(1))  # re-registered persistent: saved again
    assert "scratch" in m.state_dict()
    with pytest.raises(ConfigError, match="without '.'"):
        m.register_buffer("a.b", np.zeros(1))
    with pytest.raises(ConfigError, match="expected a Parameter or None"):
        m.register_parameter("w", np.zeros(2))
    with pytest.raises(ConfigError, match="already exists"):
        m.register_buffer("training", np.zeros(1))
    m.add_module("head", nn.Linear(2, 1))
    assert [n for n, _ in m.named_children()] == ["head"]


def test_apply_children_first_then_self():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]


def test_named_modules_children_requires_grad_and_to():
    net = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert [n for n, _ in net.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert [type(c).__name__ for c in net.children()] == ["Linear", "Sequential"]
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    assert net.to(np.float64).double() is net and net[0].weight.dtype == np.float64
    assert net.to("float32")[0].weight.dtype == np.float32


def test_forward_hooks_see_and_replace():
    layer = nn.Linear(2, 2, rng=0)
    calls = []
    h1 = layer.register_forward_pre_hook(lambda m, args: calls.append(("pre", args[0].shape)))
    h2 = layer.register_forward_hook(lambda m, args, out: calls.append(("post", out.shape)))
    layer(_x(3, 2))
    assert calls == [("pre", (3, 2)), ("post", (3, 2))]
    # a pre-hook may replace the input (a bare value is wrapped), a forward hook the output
    doubled = layer.register_forward_pre_hook(lambda m, args: args[0] * 2.0)
    zeroed = layer.register_forward_hook(lambda m, args, out: out * 0.0, prepend=True)
    x = _x(1, 2)
    assert layer(x).tolist() == [[0.0, 0.0]]
    zeroed.remove()
    np.testing.assert_allclose(layer(x).numpy(), nn.Linear(2, 2, rng=0)(x * 2.0).numpy())
    for h in (h1, h2, doubled):
        h.remove()
    h1.remove()  # twice: nothing happens
    calls.clear()
    np.testing.assert_allclose(layer(x).numpy(), nn.Linear(2, 2, rng=0)(x).numpy())
    assert calls == []
    # with_kwargs
    layer.register_forward_pre_hook(lambda m, args, kwargs: (args, {"activation": "relu"}),
                                    with_kwargs=True)
    assert (layer(_x(4, 2)).numpy() >= 0).all()
    with pytest.raises(ConfigError, match="must be callable"):
        layer.register_forward_hook("nope")


def test_hooks_turn_sequential_fusion_off_and_back_on():
    net = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 1, rng=1))
    x = _x(4, 2)
    want = net(x).numpy()
    assert net._plan[0] == (0, "relu")  # Linear + ReLU run as one fused node
    seen = []
    with net[1].register_forward_hook(lambda m, a, out: seen.append(out.numpy().min())):
        np.testing.assert_array_equal(net(x).numpy(), want)
    assert len(seen) == 1 and seen[0] >= 0  # the ReLU ran on its own and was seen
    net(x)
    assert net._plan[0] == (0, "relu") and len(seen) == 1


def test_module_dict():
    d = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.Tanh()})
    d["dec"] = nn.Linear(3, 2)
    d.update([("out", nn.Sigmoid())])
    assert list(d) == ["enc", "act", "dec", "out"] and "act" in d and len(d) == 4
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight",
                                                     "dec.bias"]
    assert isinstance(d.pop("out"), nn.Sigmoid) and list(d.keys()) == ["enc", "act", "dec"]
    del d["act"]
    assert [type(m).__name__ for m in d.values()] == ["Linear", "Linear"]
    with pytest.raises(ConfigError, match="has no key 'nope'"):
        d["nope"]
    with pytest.raises(ConfigError, match="holds Modules"):
        d["x"] = 3
    with pytest.raises(ConfigError, match="no forward"):
        d(_x(1, 2))


def test_module_dict_saves_and_loads(tmp_path):
    pytest.importorskip("safetensors")

    d = nn.ModuleDict({"a": nn.Linear(2, 3, rng=0)})
    d["b"] = nn.Linear(3, 1, rng=1)  # added after construction: saved too
    cr.save(d, tmp_path / "d.safetensors")
    back = cr.load(tmp_path / "d.safetensors")
    assert list(back) == ["a", "b"]
    for k in d:
        np.testing.assert_array_equal(back[k].weight.numpy(), d[k].weight.numpy())


def test_summary_rows_and_table():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 10, rng=0))
    net[1].requires_grad_(False)
    lines = []
    rows = nn.summary(net, (2, 1, 8, 8), print_fn=lines.append)
    assert [(r.layer, r.output_shape, r.num_params) for r in rows] == [
        ("Conv2d", (2, 4, 8, 8), 4 * 9 + 4), ("BatchNorm2d", (2, 4, 8, 8), 8),
        ("ReLU", (2, 4, 8, 8), 0), ("MaxPool2d", (2, 4, 4, 4), 0), ("Flatten", (2, 64), 0),
        ("Linear", (2, 10), 650)]
    table = lines[0]
    assert "Total params: 698" in table and "Non-trainable params: 8" in table
    # the model is left as it was: training mode, running statistics untouched, no hooks
    assert net.training and net[1].running_mean.tolist() == [0.0] * 4
    assert not any(m.__dict__.get("_hooks") for m in net.modules())


def test_summary_nested_and_embedding():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))

        def forward(self, x):
            return self.body(self.embed(x))

    rows = nn.summary(Tower(), (5, 3), dtype="int64", print_fn=None)
    assert [r.name for r in rows] == ["embed", "body.0", "body.1", "body"]
    assert [r.num_params for r in rows] == [40, 0, 26, 0]
    with pytest.raises(ConfigError, match="expected a Module"):
        nn.summary(lambda x: x, (1,))
