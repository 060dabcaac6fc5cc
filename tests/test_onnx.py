"""ONNX export: every exported model passes onnx's checker and, run by onnxruntime on batches
of several sizes, matches chainrule's evaluation-mode outputs within 1e-5 (float32)."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

from chainrule import Tensor, nn
from chainrule import functional as F
from chainrule.errors import ChainruleError, ConfigError, ShapeError
from chainrule.models import MLP
from chainrule.onnx import (
    CONVERTERS, OP_CONVERTERS, UnsupportedLayerError, export, register, register_op,
)
from chainrule.ops import Op
from chainrule.tensor import apply

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

BATCHES = (1, 3, 17)


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _expected(model, x):
    model.eval()
    return np.asarray(model(Tensor(x)).numpy(), dtype=np.float64)


def _roundtrip(model, tmp_path, feature_shape, *, opset=17, batches=BATCHES, seed=0, scale=2.0,
               atol=1e-5):
    """Export with a batch-2 example, then compare onnxruntime and chainrule on random
    batches of every size in ``batches``; returns the ModelProto."""
    rng = np.random.default_rng(seed)
    path = tmp_path / "model.onnx"
    example = rng.normal(size=(2,) + feature_shape).astype(np.float32)
    proto = export(model, example, path, opset=opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = _session(path)
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["output"]
    for n in batches:
        x = (scale * rng.normal(size=(n,) + feature_shape)).astype(np.float32)
        (got,) = sess.run(None, {"input": x})
        want = _expected(model, x)
        assert got.dtype == np.float32
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)
    return proto


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


ACTIVATIONS = {
    "sigmoid": (nn.Sigmoid, "Sigmoid"),
    "tanh": (nn.Tanh, "Tanh"),
    "relu": (nn.ReLU, "Relu"),
    "leaky_relu": (lambda: nn.LeakyReLU(0.2), "LeakyRelu"),
    "softplus": (nn.Softplus, "Softplus"),
    "elu": (lambda: nn.ELU(0.7), "Elu"),
    # below opset 20 GELU is built from Tanh (or Erf, the exact form), Mul and Add
    "gelu": (lambda: nn.GELU(approximate="tanh"), "Tanh"),
    "softmax": (lambda: nn.Softmax(axis=1), "Softmax"),
    "log_softmax": (lambda: nn.LogSoftmax(axis=-1), "LogSoftmax"),
    "identity": (nn.Identity, None),
}
if getattr(F, "erf", None) is not None:  # the exact GELU needs erf (issue 11)
    ACTIVATIONS["gelu_exact"] = (nn.GELU, "Erf")


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_mlp_of_each_activation(tmp_path, name):
    make, op = ACTIVATIONS[name]
    net = nn.Sequential(nn.Linear(5, 7, rng=1), make(), nn.Linear(7, 3, rng=2), make())
    proto = _roundtrip(net, tmp_path, (5,))
    assert _ops(proto).count("Gemm") == 2
    if op is not None:
        assert op in _ops(proto)


def test_activation_parameters_are_exported(tmp_path):
    net = nn.Sequential(nn.LeakyReLU(0.3), nn.ELU(0.5))
    proto = _roundtrip(net, tmp_path, (6,))
    attrs = {n.op_type: onnx.helper.get_attribute_value(n.attribute[0]) for n in proto.graph.node}
    assert attrs["LeakyRelu"] == pytest.approx(0.3)
    assert attrs["Elu"] == pytest.approx(0.5)


@pytest.mark.parametrize("approximate", ["tanh", "none"])
@pytest.mark.parametrize("opset", [13, 20])
def test_gelu_and_softmax_across_opsets(tmp_path, opset, approximate):
    if approximate == "none" and getattr(F, "erf", None) is None:
        pytest.skip("the exact GELU needs chainrule.functional.erf (issue 11)")
    net = nn.Sequential(nn.Linear(4, 6, rng=0), nn.GELU(approximate=approximate),
                        nn.Linear(6, 3, rng=1), nn.Softmax())
    proto = _roundtrip(net, tmp_path, (4,), opset=opset)
    assert proto.opset_import[0].version == opset
    assert ("Gelu" in _ops(proto)) == (opset >= 20)


@pytest.mark.parametrize("task,sizes", [("binary", [6, 8, 1]), ("multiclass", [6, 8, 5, 4]),
                                        ("regression", [6, 5, 2])])
def test_mlp_models(tmp_path, task, sizes):
    net = MLP(sizes, activation="tanh", task=task, dropout=0.4, rng=3)
    _roundtrip(net, tmp_path, (6,))
    if task == "binary":  # forward gives the logits as a vector (N,)
        out = onnx.load(str(tmp_path / "model.onnx")).graph.output[0]
        assert len(out.type.tensor_type.shape.dim) == 1
        assert out.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert net.training is False  # _expected put it in eval mode; export leaves modes alone


def test_dropout_is_identity_and_modes_are_restored(tmp_path):
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Dropout(0.5, rng=0), nn.ReLU())
    net.train()
    proto = export(net, np.zeros((2, 3), np.float32), tmp_path / "d.onnx")
    assert _ops(proto) == ["Gemm", "Relu"]
    assert all(m.training for m in net.modules())
    _roundtrip(net, tmp_path, (3,))


def test_weights_are_named_float32_initializers(tmp_path):
    net = MLP([3, 4, 2], activation="relu", rng=0).double()
    proto = export(net, np.zeros((1, 3)), tmp_path / "w.onnx")
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    assert set(inits) == set(net.state_dict())
    for name, value in net.state_dict().items():
        assert inits[name].dtype == np.float32
        np.testing.assert_array_equal(inits[name], value.astype(np.float32))


@pytest.mark.parametrize("start_dim,op", [(1, "Flatten"), (2, "Reshape"), (0, "Reshape"),
                                          (-1, "Reshape")])
def test_flatten(tmp_path, start_dim, op):
    net = nn.Sequential(nn.Flatten(start_dim), nn.Tanh())
    proto = _roundtrip(net, tmp_path, (2, 3, 4))
    assert _ops(proto)[0] == op


def test_linear_on_rank_3_input_uses_matmul(tmp_path):
    net = nn.Sequential(nn.Linear(4, 3, rng=0), nn.Sigmoid(), nn.Flatten(), nn.Linear(15, 2, rng=1))
    proto = _roundtrip(net, tmp_path, (5, 4))
    assert _ops(proto)[:2] == ["MatMul", "Add"]
    assert "Gemm" in _ops(proto)


def test_linear_without_bias_and_nested_sequential(tmp_path):
    inner = nn.Sequential(nn.Linear(4, 4, bias=False, rng=0), nn.ReLU())
    net = nn.Sequential(inner, nn.Sequential(nn.Linear(4, 2, rng=1)))
    proto = _roundtrip(net, tmp_path, (4,))
    assert {t.name for t in proto.graph.initializer} == {"0.0.weight", "1.0.weight", "1.0.bias"}


def test_identity_model(tmp_path):
    proto = _roundtrip(nn.Sequential(nn.Dropout(0.1), nn.Identity()), tmp_path, (3,))
    assert _ops(proto) == ["Identity"]


def test_logistic_regression_and_perceptron(tmp_path):
    from chainrule.models import LogisticRegression, Perceptron
    _roundtrip(LogisticRegression(4, rng=0), tmp_path, (4,))
    _roundtrip(Perceptron(4, rng=0), tmp_path, (4,))


def test_fixed_batch(tmp_path):
    net = nn.Sequential(nn.Linear(3, 2, rng=0))
    path = tmp_path / "fixed.onnx"
    export(net, np.zeros((4, 3), np.float32), path, dynamic_batch=False,
           input_name="x", output_name="logits")
    sess = _session(path)
    assert sess.get_inputs()[0].name == "x" and sess.get_inputs()[0].shape == [4, 3]
    assert sess.get_outputs()[0].name == "logits" and sess.get_outputs()[0].shape == [4, 2]
    x = np.ones((4, 3), np.float32)
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], _expected(net, x), rtol=1e-5,
                               atol=1e-5)
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        sess.run(None, {"x": np.ones((5, 3), np.float32)})


class _Custom(nn.Module):
    def forward(self, x):
        return x * 2


class _Cube(Op):  # a user's own primitive: no ONNX converter until one is registered
    def forward(self, x):
        return x ** 3

    def vjp(self, g):
        return None

    def jvp(self, t):
        return None


class _Cubed(nn.Module):
    def forward(self, x):
        return apply(_Cube, x)


def test_unsupported_op_names_it_and_its_layer(tmp_path):
    net = nn.Sequential(nn.Linear(3, 3, rng=0), nn.ReLU(), _Cubed())
    path = tmp_path / "u.onnx"
    with pytest.raises(UnsupportedLayerError, match=r"operation _Cube \(in layer 2 \(_Cubed\)\) "
                       "has no ONNX converter") as info:
        export(net, np.zeros((2, 3), np.float32), path)
    assert isinstance(info.value, ChainruleError)
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_registered_op_converter_is_used(tmp_path):
    @register_op("_Cube")
    def _cube(g, ev):
        return g.node("Mul", [g.node("Mul", [ev.ins[0], ev.ins[0]]), ev.ins[0]])
    try:
        proto = _roundtrip(nn.Sequential(nn.Linear(3, 3, rng=0), _Cubed()), tmp_path, (3,),
                           scale=0.5)
        assert _ops(proto) == ["Gemm", "Mul", "Mul"]
    finally:
        del OP_CONVERTERS["_Cube"]


def test_custom_forward_is_traced(tmp_path):
    proto = _roundtrip(nn.Sequential(nn.Linear(3, 3, rng=0), _Custom()), tmp_path, (3,))
    assert _ops(proto) == ["Gemm", "Mul"]


def test_registered_converter_is_used(tmp_path):
    @register("_Custom")
    def _double(g, layer, x, shape):
        return g.node("Add", [x, x])
    try:
        net = nn.Sequential(nn.Linear(3, 3, rng=0), _Custom())
        proto = _roundtrip(net, tmp_path, (3,))
        assert _ops(proto) == ["Gemm", "Add"]
    finally:
        del CONVERTERS["_Custom"]


def test_failed_write_leaves_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.onnx"
    export(nn.Sequential(nn.Linear(3, 2, rng=0)), np.zeros((1, 3), np.float32), path)
    before = path.read_bytes()

    def fail(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        export(nn.Sequential(nn.Linear(3, 5, rng=1)), np.zeros((1, 3), np.float32), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temporary file left
    with pytest.raises(UnsupportedLayerError):
        export(nn.Sequential(_Cubed()), np.zeros((1, 3), np.float32), path)
    assert path.read_bytes() == before


def test_missing_onnx_is_a_clear_error(tmp_path, monkeypatch):
    import importlib

    from chainrule.errors import MissingDependency
    real = importlib.import_module

    def no_onnx(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("No module named 'onnx'")
        return real(name, *args, **kwargs)
    monkeypatch.setattr(importlib, "import_module", no_onnx)
    with pytest.raises(MissingDependency, match=r"chainrule\[onnx\]"):
        export(nn.Sequential(nn.ReLU()), np.zeros((1, 2), np.float32), tmp_path / "a.onnx")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    net = nn.Sequential(nn.Linear(3, 2, rng=0))
    x = np.zeros((1, 3), np.float32)
    for opset in (12, 10_000, 17.0):
        with pytest.raises(ConfigError, match="opset"):
            export(net, x, tmp_path / "a.onnx", opset=opset)
    with pytest.raises(ConfigError, match="distinct"):
        export(net, x, tmp_path / "a.onnx", input_name="x", output_name="x")
    with pytest.raises(UnsupportedLayerError, match="must be a chainrule nn.Module; got function"):
        export(lambda v: v, x, tmp_path / "a.onnx")
    with pytest.raises(ShapeError, match="scalar"):
        export(net, np.float32(1.0), tmp_path / "a.onnx")
    with pytest.raises(ShapeError, match="last dimension 3"):
        export(net, np.zeros((1, 4), np.float32), tmp_path / "a.onnx")
    assert list(tmp_path.iterdir()) == []


# --- convolution, pooling and normalization, where chainrule has them ------------------------

@pytest.fixture
def cnn():
    """chainrule.nn's names plus the convolution, pooling and normalization layers, read from
    their modules (skipped where chainrule does not have them yet)."""
    layers = {"chainrule.nn.conv": ("Conv1d", "Conv2d"),
              "chainrule.nn.pooling": ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
                                       "AdaptiveAvgPool1d", "AdaptiveAvgPool2d"),
              "chainrule.nn.normalization": ("BatchNorm1d", "BatchNorm2d", "LayerNorm")}
    names = {k: getattr(nn, k) for k in dir(nn) if not k.startswith("_")}
    for module, classes in layers.items():
        mod = pytest.importorskip(module)
        names.update({c: getattr(mod, c) for c in classes})
    return SimpleNamespace(**names)


def _trained_batch_norm(layer, shape, seed=0):
    """Give a BatchNorm non-trivial running statistics and affine parameters."""
    rng = np.random.default_rng(seed)
    layer.train()
    for _ in range(3):
        layer(Tensor((3 * rng.normal(size=shape) + 1).astype(np.float32)))
    if layer.affine:
        layer.weight.data[:] = rng.uniform(0.5, 2, layer.num_features)
        layer.bias.data[:] = rng.normal(size=layer.num_features)
    return layer


def test_conv2d_settings(tmp_path, cnn):
    for i, kw in enumerate([dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2),
                            dict(stride=(1, 2), padding=(2, 0), groups=2, bias=False),
                            dict(padding="valid", kernel_size=(2, 3))]):
        kw = {"kernel_size": 3, **kw}
        net = cnn.Sequential(cnn.Conv2d(4, 6, rng=i, **kw), cnn.ReLU())
        proto = _roundtrip(net, tmp_path, (4, 9, 8), batches=(1, 5))
        assert _ops(proto)[0] == "Conv"


def test_conv1d_and_pools_1d(tmp_path, cnn):
    net = cnn.Sequential(cnn.Conv1d(3, 4, 3, padding="same", rng=0), cnn.Tanh(),
                         cnn.MaxPool1d(3, stride=2, padding=1), cnn.Conv1d(4, 4, 2, groups=4, rng=1),
                         cnn.AvgPool1d(2, padding=1), cnn.AdaptiveAvgPool1d(3), cnn.Flatten(),
                         cnn.Linear(12, 2, rng=2))
    proto = _roundtrip(net, tmp_path, (3, 16), batches=(1, 4))
    assert {"Conv", "MaxPool", "AveragePool", "MatMul"} <= set(_ops(proto))


def test_pools_2d(tmp_path, cnn):
    for i, pool in enumerate([cnn.MaxPool2d(2), cnn.MaxPool2d(3, stride=1, padding=1, dilation=2),
                              cnn.AvgPool2d(3, stride=2, padding=1), cnn.AdaptiveAvgPool2d(1),
                              cnn.AdaptiveAvgPool2d((2, 3)), cnn.AdaptiveAvgPool2d((None, 4))]):
        _roundtrip(cnn.Sequential(pool), tmp_path, (2, 7, 9), batches=(1, 3), seed=i)


def test_batch_norm(tmp_path, cnn):
    bn2 = _trained_batch_norm(cnn.BatchNorm2d(3), (8, 3, 4, 4))
    before = bn2.running_mean.numpy().copy()
    proto = _roundtrip(cnn.Sequential(bn2, cnn.ReLU()), tmp_path, (3, 4, 4))
    assert _ops(proto)[0] == "BatchNormalization"
    np.testing.assert_array_equal(bn2.running_mean.numpy(), before)  # export did not train it
    for kw, shape in [(dict(), (4,)), (dict(affine=False), (4, 5)),
                      (dict(track_running_stats=False), (4, 5))]:
        bn1 = _trained_batch_norm(cnn.BatchNorm1d(4, **kw), (8,) + shape)
        # without running statistics the batch's own statistics are used: batches of 2 or more
        _roundtrip(cnn.Sequential(bn1), tmp_path, shape, batches=(2, 6), atol=2e-5)


@pytest.mark.parametrize("opset", [13, 17])
def test_layer_norm(tmp_path, cnn, opset):
    ln = cnn.LayerNorm((3, 4))
    rng = np.random.default_rng(0)
    ln.weight.data[:] = rng.uniform(0.5, 2, (3, 4))
    ln.bias.data[:] = rng.normal(size=(3, 4))
    proto = _roundtrip(cnn.Sequential(ln, cnn.LayerNorm(4, elementwise_affine=False)), tmp_path,
                       (5, 3, 4), opset=opset)
    assert ("LayerNormalization" in _ops(proto)) == (opset >= 17)


def test_small_cnn(tmp_path, cnn):
    net = cnn.Sequential(cnn.Conv2d(1, 4, 3, padding=1, rng=0),
                         _trained_batch_norm(cnn.BatchNorm2d(4), (6, 4, 8, 8)), cnn.ReLU(),
                         cnn.MaxPool2d(2), cnn.Conv2d(4, 8, 3, rng=1), cnn.GELU(approximate="tanh"),
                         cnn.AdaptiveAvgPool2d(1), cnn.Flatten(), cnn.Dropout(0.3),
                         cnn.Linear(8, 10, rng=2), cnn.LogSoftmax())
    _roundtrip(net, tmp_path, (1, 8, 8))


def test_conv_needs_batched_input(tmp_path, cnn):
    net = cnn.Sequential(cnn.Conv2d(1, 2, 3, rng=0))
    with pytest.raises(ShapeError, match=r"one more row along axis 0, and failed .*batch_axis"):
        export(net, np.zeros((1, 5, 5), np.float32), tmp_path / "c.onnx")
    with pytest.raises(ShapeError, match=r"0 \(Conv2d\) needs a batched 4-D input"):
        export(net, np.zeros((1, 5, 5), np.float32), tmp_path / "c.onnx", dynamic_batch=False)
