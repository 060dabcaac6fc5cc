"""chainrule.gradcheck.check_model_gradients and check_ops: whole models and every registered
primitive against central differences, in both AD modes (what ``chainrule gradcheck`` runs)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import OPS, Tensor, nn, ops
from chainrule.gradcheck import check_model_gradients, check_ops
from chainrule.models import MLP


def test_every_parameter_of_a_model_is_checked():
    model = MLP([3, 4, 2], activation="tanh", task="multiclass", rng=0).train()
    results = check_model_gradients(model, 3, batch=2, seed=1)
    assert [r["name"] for r in results] == ["layers.0.weight", "layers.0.bias",
                                            "layers.2.weight", "layers.2.bias"]
    for r, shape in zip(results, [(4, 3), (4,), (2, 4), (2,)]):
        assert "error" not in r and r["shape"] == list(shape)
        assert r["checked"] == r["total"] == int(np.prod(shape))
        assert 0 <= r["reverse_error"] < 1e-6 and 0 <= r["forward_error"] < 1e-6
    # checked in float64 and eval mode, in place
    assert all(p.data.dtype == np.float64 for p in model.parameters()) and not model.training


def test_large_parameters_are_sampled():
    model = MLP([30, 20, 3], task="multiclass", rng=0)
    results = {r["name"]: r for r in check_model_gradients(model, 30, max_elements=50)}
    assert (results["layers.0.weight"]["checked"], results["layers.0.weight"]["total"]) == (50, 600)
    assert (results["layers.0.bias"]["checked"], results["layers.0.bias"]["total"]) == (20, 20)
    assert (results["layers.2.weight"]["checked"], results["layers.2.weight"]["total"]) == (50, 60)
    # the parameters are left as they were: swapped in for each call, then put back
    assert isinstance(model.layers[0].weight, nn.Parameter)


def test_any_object_with_parameters_and_modules_can_be_checked():
    class Affine:  # not a Module: only what check_model_gradients asks of a model
        def __init__(self):
            self.w = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]))

        def named_parameters(self):
            return [("w", self.w)]

        def named_modules(self):
            return [("", self)]

        def double(self):
            return self

        def eval(self):
            return self

        def __call__(self, x):
            return (x @ self.w).tanh()

    (r,) = check_model_gradients(Affine(), 2, batch=4)
    assert r["name"] == "w" and r["checked"] == 4 and "error" not in r


def test_a_wrong_derivative_is_reported_per_parameter(monkeypatch):
    model = MLP([2, 3, 1], task="binary", rng=0)
    monkeypatch.setattr(ops.Relu, "derivative", staticmethod(lambda xp, y: 2.0 * (y > 0)))
    results = {r["name"]: r for r in check_model_gradients(model, 2)}
    assert "reverse mode disagrees" in results["layers.0.weight"]["error"]
    assert "error" not in results["layers.2.bias"]   # above the ReLU: still right


def test_check_ops_walks_the_registry_and_catches_a_broken_rule(monkeypatch):
    monkeypatch.setattr(ops.Tanh, "jvp", lambda self, t: t)
    results = {r["name"]: r for r in check_ops(seed=0)}
    assert list(results) == list(OPS)
    tanh = results["Tanh"]
    assert tanh["errors"] and all("forward mode disagrees" in e for e in tanh["errors"])
    ok = [r for name, r in results.items() if name != "Tanh"]
    assert all("errors" not in r and "skipped" not in r and r["cases"] > 0 for r in ok)
    assert max(r["reverse_error"] for r in ok) < 1e-5


@pytest.mark.parametrize("layer", [nn.Linear(3, 2),
                                   nn.Sequential(nn.Linear(3, 2), nn.GELU(approximate="tanh"))])
def test_check_model_gradients_on_plain_layers(layer):
    assert all("error" not in r for r in check_model_gradients(layer, 3))
