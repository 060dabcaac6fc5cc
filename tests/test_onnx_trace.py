"""ONNX export by tracing: models with a custom forward, recurrent layers, Embedding and
attention export as they run; onnxruntime matches chainrule within 1e-5 (float32) on batch
sizes other than the example's."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Tensor, nn
from chainrule import functional as F
from chainrule.errors import UnsupportedLayerError
from chainrule.models import MLP
from chainrule.onnx import CONVERTERS, OP_CONVERTERS, export

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _outputs(result):
    if isinstance(result, Tensor):
        return [result.numpy()]
    return [a for r in result for a in _outputs(r)]


def _check(model, tmp_path, make, *, batch_axis=0, example_batch=2, batches=(1, 5), atol=1e-5,
           opset=17):
    """Export with an example of ``example_batch`` rows (``make(n)`` builds a batch of n),
    then compare onnxruntime with chainrule on batches of other sizes; returns the proto."""
    path = tmp_path / "m.onnx"
    proto = export(model, make(example_batch), path, batch_axis=batch_axis, opset=opset)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[batch_axis] == "batch"
    model.eval()
    for n in batches:
        x = make(n)
        got = sess.run(None, {"input": x})
        want = _outputs(model(Tensor(x)))
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol)
    return proto


def _floats(*shape_of_n, seed=0):
    rng = np.random.default_rng(seed)
    return lambda n: rng.normal(size=tuple(n if d is None else d for d in shape_of_n)).astype(
        np.float32)


def _ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.fixture
def traced_only(monkeypatch):
    """No layer converters: every layer is traced down to its primitives."""
    for name in list(CONVERTERS):
        monkeypatch.delitem(CONVERTERS, name)


class _Residual(nn.Module):
    """A custom forward: residual, skip connection, concat, mean, a comparison mask."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6, rng=0)
        self.b = nn.Linear(12, 4, rng=1)

    def forward(self, x):
        h = self.a(x).tanh() + x
        z = F.concatenate([h, x * 0.5], axis=-1)
        positives = (x > 0).float().sum(axis=1, keepdims=True)
        return self.b(z) - z.mean(axis=-1, keepdims=True) + positives


@pytest.mark.parametrize("opset", [13, 18])  # reductions take their axes as an input from 18
def test_custom_forward(tmp_path, opset):
    proto = _check(_Residual(), tmp_path, _floats(None, 6), opset=opset)
    assert {"Concat", "ReduceSum", "Greater", "Tanh"} <= set(_ops(proto))


def test_mlp_traced_down_to_primitives(tmp_path, traced_only):
    net = MLP([5, 8, 3], activation="relu", rng=0)
    proto = _check(net, tmp_path, _floats(None, 5))
    assert "Gemm" in _ops(proto)  # chainrule's Linear primitive on a matrix


def test_cnn_traced_down_to_primitives(tmp_path, traced_only):
    bn = nn.BatchNorm2d(4)
    bn.train()
    rng = np.random.default_rng(1)
    for _ in range(2):
        bn(Tensor((2 * rng.normal(size=(6, 4, 8, 8)) + 1).astype(np.float32)))
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, rng=0), bn, nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(4, 3, 3, stride=2, padding=1, rng=1), nn.AvgPool2d(2),
                        nn.Flatten(), nn.Linear(3, 2, rng=2), nn.LogSoftmax())
    proto = _check(net, tmp_path, _floats(None, 2, 8, 8))
    assert {"Conv", "MaxPool"} <= set(_ops(proto))


def test_layer_norm_traced(tmp_path, traced_only):
    ln = nn.LayerNorm(6)
    ln.weight.data[:] = np.linspace(0.5, 2, 6)
    _check(nn.Sequential(nn.Linear(4, 6, rng=0), ln, nn.GELU()), tmp_path, _floats(None, 4))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("batch_first", [True, False])
def test_recurrent_layers(tmp_path, cls, batch_first):
    rnn = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True, batch_first=batch_first, rng=0)
    make = _floats(None, 5, 3) if batch_first else _floats(5, None, 3)
    proto = _check(rnn, tmp_path, make, batch_axis=0 if batch_first else 1)
    # output, then h_n (and c_n): every layer's final states for the runtime's batch
    assert [o.name for o in proto.graph.output] == [f"output_{i}" for i in
                                                    range(3 if cls == "LSTM" else 2)]


class _Classifier(nn.Module):
    """Embedding → LSTM → the last step → Linear: a sequence classifier on token ids."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 8, rng=0)
        self.lstm = nn.LSTM(8, 6, batch_first=True, rng=1)
        self.fc = nn.Linear(6, 3, rng=2)

    def forward(self, x):
        out, (h, c) = self.lstm(self.emb(x))
        return self.fc(out[:, -1])


def test_embedding_lstm_classifier(tmp_path):
    rng = np.random.default_rng(0)
    proto = _check(_Classifier(), tmp_path, lambda n: rng.integers(0, 20, size=(n, 7)))
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert "Gather" in _ops(proto)


class _SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = nn.MultiheadAttention(8, 2, batch_first=True, rng=0)

    def forward(self, x):
        return self.att(x, x, x, need_weights=False)[0]


def test_multihead_attention(tmp_path):
    _check(_SelfAttention(), tmp_path, _floats(None, 5, 8))


@pytest.mark.parametrize("opset", [13, 17, 20])
def test_transformer_encoder_layer(tmp_path, opset):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True, rng=0)
    proto = _check(layer, tmp_path, _floats(None, 5, 8), example_batch=1, opset=opset)
    assert ("LayerNormalization" in _ops(proto)) == (opset >= 17)


def test_time_major_needs_its_batch_axis(tmp_path):
    rnn = nn.GRU(3, 4, rng=0)  # (T, N, ·): growing axis 0 changes the unrolled length
    with pytest.raises(UnsupportedLayerError, match="sequence length of Gru .* followed the "
                       "batch axis; .*batch_axis=1"):
        export(rnn, np.zeros((5, 2, 3), np.float32), tmp_path / "r.onnx")
    export(rnn, np.zeros((5, 2, 3), np.float32), tmp_path / "r.onnx", dynamic_batch=False)
    sess = ort.InferenceSession(str(tmp_path / "r.onnx"), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [5, 2, 3]


def test_every_converted_op_is_a_primitive():
    from chainrule.ops import OPS
    traced = {k for k in OP_CONVERTERS if not k.startswith("aux.")}
    assert traced <= set(OPS)
    for name in ("Linear", "MatMul", "Conv", "MaxPool", "Lstm", "Gru", "Normalize",
                 "GetItem", "Reshape", "Concatenate", "LogSumExp", "Sum", "Where"):
        assert name in OP_CONVERTERS


@pytest.mark.parametrize("make", [nn.SELU, nn.Hardswish, nn.Hardsigmoid, lambda: nn.PReLU(3, 0.2)])
def test_activations_that_branch_on_raw_values_have_converters(tmp_path, make):
    # scale 4: both sides of ±3 and of 0
    proto = _check(nn.Sequential(make()), tmp_path, lambda n: 4 * _floats(None, 3)(n))
    assert "Where" not in _ops(proto)


def test_constant_from_raw_values_is_refused(tmp_path, traced_only):
    with pytest.raises(UnsupportedLayerError, match=r"operation Where in layer 0 \(SELU\) takes a "
                       r"constant .* changes with the input.*chainrule.onnx.register"):
        export(nn.Sequential(nn.SELU()), np.array([[-1, 2, 3], [4, -5, 6]], np.float32),
               tmp_path / "s.onnx", dynamic_batch=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("layer,shape", [
    (lambda: nn.GroupNorm(2, 4), (4, 5)),
    (lambda: nn.InstanceNorm1d(4), (4, 5)),
    (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, rng=0), (3, 5, 5)),
    (lambda: nn.Upsample(scale_factor=2, mode="bilinear"), (3, 4, 4)),
    (lambda: nn.AdaptiveAvgPool2d((2, 3)), (3, 7, 9)),
    (lambda: nn.Unflatten(1, (2, 3)), (6,)),
])
def test_more_layers_traced(tmp_path, traced_only, layer, shape):
    _check(nn.Sequential(layer(), nn.Tanh()), tmp_path, _floats(None, *shape))


def test_example_in_another_float_dtype(tmp_path):
    net = MLP([4, 5, 2], activation="tanh", rng=0)  # float32, the example float64
    path = tmp_path / "d.onnx"
    export(net, np.random.default_rng(0).normal(size=(3, 4)), path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], net(Tensor(x)).numpy(),
                               rtol=1e-5, atol=1e-5)


class _OpFamilies(nn.Module):
    """Element-wise, rounding, remainder, scan, reduction and slicing ops in one forward."""

    def forward(self, x):
        y = x.remainder(0.7) + x.fmod(0.7) + x.log1p() + x.exp2() + x.sin() * x.erf()
        y = y + x.round() + x.trunc() + x.clip(0.5, 1.5) + x[:, ::-1] + x.cumsum(1)
        stats = x.max(axis=1, keepdims=True) + x.min(axis=1, keepdims=True) + x.var(1, keepdims=True)
        return y + stats + x[:, 1:3].sum(1, keepdims=True) * x.prod(1, keepdims=True)


def test_op_families(tmp_path):
    rng = np.random.default_rng(0)
    _check(_OpFamilies(), tmp_path, lambda n: rng.uniform(0.1, 2, size=(n, 5)).astype(np.float32))


class _CausalEncoder(nn.Module):
    """A time-major pre-norm encoder layer with GELU and a causal mask, averaged over time."""

    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu",
                                              norm_first=True, rng=0)

    def forward(self, x):
        return self.enc(x, is_causal=True).mean(axis=0)


def test_time_major_causal_encoder(tmp_path):
    _check(_CausalEncoder(), tmp_path, _floats(5, None, 8), batch_axis=1)


class _Dict(nn.Module):
    def forward(self, x):
        return {"y": x * 2}


def test_outputs_must_be_tensors(tmp_path):
    with pytest.raises(UnsupportedLayerError, match="returned a dict; the export takes a "
                       "Tensor or a tuple of Tensors"):
        export(_Dict(), np.ones((2, 3), np.float32), tmp_path / "o.onnx")


class _Masked(nn.Module):
    """Two inputs: sequences and a float mask of the steps to average over."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, batch_first=True, rng=0)

    def forward(self, x, mask):
        out, _ = self.gru(x)
        w = mask.unsqueeze(-1)
        return (out * w).sum(axis=1) / w.sum(axis=1)


def test_several_inputs(tmp_path):
    rng = np.random.default_rng(0)

    def make(n):
        return (rng.normal(size=(n, 6, 3)).astype(np.float32),
                (rng.uniform(size=(n, 6)) < 0.7).astype(np.float32) + np.eye(n, 6, dtype=np.float32))
    model = _Masked()
    export(model, make(2), tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input_0", "input_1"]
    assert [i.shape for i in sess.get_inputs()] == [["batch", 6, 3], ["batch", 6]]
    for n in (1, 4):
        x, mask = make(n)
        np.testing.assert_allclose(sess.run(None, {"input_0": x, "input_1": mask})[0],
                                   model(Tensor(x), Tensor(mask)).numpy(), rtol=1e-5, atol=1e-5)
