"""The CuPy path, run on CPU: ops, engine, optimizers, losses and training stay on the array
module of their inputs.

``tests/fake_cupy.py`` stands in for CuPy: its arrays hold NumPy data but are not NumPy arrays,
refuse implicit host conversion and mixing with host arrays, and fail when a NumPy function is
called on them. Every computation here runs twice, on NumPy and on the fake device, and must
give the same numbers (the fake computes with NumPy underneath, so they agree to rounding).

With ``CHAINRULE_REAL_CUPY=1`` (set by ``benchmarks.gpu_check``, ``make gpu-check``) the same
tests run on real CuPy arrays on a GPU, with float tolerances for a GPU's summation order; the
tests of the stand-in's own strictness and of its NumPy-identical random bits are skipped there.
"""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor, backend, nn, optim
from chainrule.errors import BackendMismatch, BackendUnavailable, ConfigError
from chainrule.nn import functional as NF
from chainrule.ops import OPS
from chainrule.samples import collect

from . import fake_cupy
from .fake_cupy import DeviceLeak, device

REAL = os.environ.get("CHAINRULE_REAL_CUPY") == "1"
fake_only = pytest.mark.skipif(REAL, reason="checks the stand-in itself, not CuPy")
if REAL:
    _cp = pytest.importorskip("cupy")
    DEVICE, _asnumpy, device = _cp.ndarray, _cp.asnumpy, _cp.asarray
    TOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}
else:
    DEVICE, _asnumpy = fake_cupy.ndarray, fake_cupy.asnumpy
    TOL = {np.dtype(np.float32): 1e-6, np.dtype(np.float64): 1e-12}
TOL32 = TOL[np.dtype(np.float32)]


@pytest.fixture
def cupy(monkeypatch):
    """The fake CuPy installed as ``cupy``/``cupyx`` (real CuPy under ``CHAINRULE_REAL_CUPY``),
    with chainrule's cached backend reset before and after (monkeypatch restores ``_cupy`` and
    ``sys.modules`` on teardown)."""
    monkeypatch.setattr(backend, "_cupy", None)
    if REAL:
        yield _cp
    else:
        for name, module in fake_cupy.modules().items():
            monkeypatch.setitem(sys.modules, name, module)
        yield fake_cupy.CUPY
    monkeypatch.setattr(backend, "_cupy", None)


def host(a):
    """A device array (or Tensor) back on the host, checking that it was on the device."""
    a = a.data if isinstance(a, Tensor) else a
    assert type(a) is DEVICE, f"expected a device array, got {type(a).__module__}.{type(a).__name__}"
    return _asnumpy(a)


def close(dev, ref, what=""):
    ref = ref.data if isinstance(ref, Tensor) else ref
    assert type(ref) is not DEVICE
    got = host(dev)
    assert got.dtype == np.asarray(ref).dtype, what
    tol = TOL.get(got.dtype, 0)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol, err_msg=what)


# --- the stand-in itself ----------------------------------------------------------------

@fake_only
def test_the_fake_refuses_what_cupy_refuses(cupy):
    a = cupy.asarray(np.ones((2, 3), dtype=np.float32))
    assert backend.get_backend(a).name == "cupy" and backend.array_module(a) is cupy
    assert not isinstance(a, np.ndarray) and type(a.sum()) is DEVICE
    with pytest.raises(DeviceLeak, match="Implicit conversion"):
        np.asarray(a)
    with pytest.raises(DeviceLeak):
        a + np.ones(3, dtype=np.float32)
    with pytest.raises(DeviceLeak):
        np.concatenate([a, a])
    with pytest.raises(DeviceLeak):
        a[np.array([0, 1])]
    with pytest.raises(DeviceLeak):
        np.add.at(a, cupy.asarray(np.array([0])), 1.0)
    assert not hasattr(a.flags, "writeable")
    with pytest.raises(TypeError, match="cannot mix"):
        backend.get_backend(a, np.ones(3))


# --- every primitive, both modes --------------------------------------------------------

SAMPLES = collect()
CASES = [pytest.param(name, case, id=f"{name}-{case.id or i}")
         for name in OPS for i, case in enumerate(SAMPLES.get(name, []))]


def _on_device(v):
    if isinstance(v, np.ndarray):
        return device(v)
    if isinstance(v, tuple):
        return tuple(_on_device(i) for i in v)
    return v


def _op_and_params(case):
    free = inspect.getclosurevars(case.f).nonlocals
    return free["op_cls"], free["params"]


def _run_op(op_cls, params, xs, u, vs, first_only):
    """Reverse mode with cotangent u, forward mode with tangents vs; with ``first_only`` only
    the first input is differentiated (the other inputs take the None / no-grad paths)."""
    ts = [Tensor(x, requires_grad=not (first_only and i)) for i, x in enumerate(xs)]
    out = Tensor._apply(op_cls, *ts, **params)
    out.backward(u)
    duals = [Dual(x, None if first_only and i else v) for i, (x, v) in enumerate(zip(xs, vs))]
    return out, [t.grad for t in ts], Dual._apply(op_cls, *duals, **params)


def test_every_op_is_walked():
    assert {c.values[0] for c in CASES} == set(OPS)


@pytest.mark.parametrize("first_only", [False, True], ids=["all-inputs", "first-input"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "case"), CASES)
def test_op_forward_vjp_jvp_stay_on_device(cupy, name, case, dtype, first_only):
    op_cls, params = _op_and_params(case)
    rng = np.random.default_rng(0)
    xs = [np.asarray(x, dtype=dtype) for x in case.inputs]
    vs = [rng.standard_normal(x.shape).astype(dtype) for x in xs]
    shape = Tensor._apply(op_cls, *[Tensor(x) for x in xs], **params).shape
    u = np.asarray(rng.standard_normal(shape), dtype=dtype)
    ref, ref_grads, ref_dual = _run_op(op_cls, params, xs, u, vs, first_only)
    dev_params = {k: _on_device(v) for k, v in params.items()}
    out, grads, dual = _run_op(op_cls, dev_params, [device(x) for x in xs], device(u),
                               [device(v) for v in vs], first_only)
    close(out, ref, f"{name} forward")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        if r is None:
            assert g is None
        else:
            close(g, r, f"{name} vjp input {i}")
    close(dual.primal, ref_dual.primal, f"{name} dual primal")
    if ref_dual.tangent is None:
        assert dual.tangent is None
    else:
        close(dual.tangent, ref_dual.tangent, f"{name} jvp")


# --- the Tensor surface -----------------------------------------------------------------

def test_tensor_to_cupy_and_back(cupy):
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    d = x.to("cupy")
    assert type(d.data) is DEVICE and d.requires_grad and d.dtype == np.float32
    assert isinstance(d.numpy(), np.ndarray) and d.numpy().tolist() == x.data.tolist()
    assert "tensor(" in repr(d) and d.sum().item() == 15.0
    back = d.to("numpy")
    assert type(back.data) is np.ndarray and back.requires_grad
    np.testing.assert_array_equal(back.data, x.data)
    assert type(Tensor(d.data).data) is DEVICE  # wrapping a device array keeps it there


def _surface(x):
    """Operators with Python scalars on either side, methods and composites."""
    F = cr.functional
    y = (2.0 ** x + 1 - x * 3 + 1.5 / (x * x + 1) - (-x) ** 2 + abs(x).sqrt()).tanh()
    y = y + x.sigmoid() * x.relu() + F.leaky_relu(x, 0.1) + F.softplus(x) + F.elu(x) + F.gelu(x)
    y = y + F.clip(x, -0.5, 0.5) + F.maximum(x, 0.25) + F.minimum(x, x.T.T * 0.5)
    y = y + F.where(x > 0, x, x * 0.1) + F.softmax(x, axis=-1) + F.log_softmax(x, axis=0)
    y = y + x.mean(axis=0) + x.var(axis=1, keepdims=True) + x.min() + x.max(axis=1, keepdims=True)
    y = y + x.logsumexp(axis=-1, keepdims=True) + F.pad(x, ((0, 0), (1, 0)))[:, :-1]
    z = F.concatenate([x, x[::-1]], axis=0)[1:4] + F.stack([x[0], x[2]], axis=0)[[0, 1, 1]]
    return (y + x.reshape(-1).reshape(3, 4) + x.unsqueeze(0).squeeze(0)).sum() + (z @ x.T).sum()


def test_tensor_surface_stays_on_device(cupy):
    a = np.random.default_rng(1).standard_normal((3, 4))
    for dtype in (np.float64, np.float32):
        ref = Tensor(a.astype(dtype), requires_grad=True)
        dev = Tensor(device(a.astype(dtype)), requires_grad=True)
        r, d = _surface(ref), _surface(dev)
        r.backward()
        d.backward()
        close(d, r, "value")
        close(dev.grad, ref.grad, "gradient")
        assert type(dev.argmax(axis=1).data) is DEVICE and type((dev > 0).data) is DEVICE


def test_functional_reverse_and_forward_mode_api(cupy):
    a = np.random.default_rng(2).standard_normal(5)
    f = lambda x: (x * x.exp()).sum()  # noqa: E731
    v, g = cr.value_and_grad(f)(device(a))
    rv, rg = cr.value_and_grad(f)(a)
    close(v, rv)
    close(g, rg)
    y, pullback = cr.vjp(lambda x: x.tanh(), device(a))
    close(pullback(device(np.ones(5)))[0], cr.vjp(lambda x: x.tanh(), a)[1](np.ones(5))[0])
    y, t = cr.jvp(lambda x: x.tanh() * 2, [device(a)], [device(np.ones(5))])
    close(t, cr.jvp(lambda x: x.tanh() * 2, [a], [np.ones(5)])[1])
    unused = cr.grad(lambda x, w: (w * 2).sum(), argnums=(0, 1))(device(a), device(a))
    close(unused[0], np.zeros(5))


# --- losses -----------------------------------------------------------------------------

_RNG = np.random.default_rng(3)
_LOGITS = _RNG.standard_normal((6, 3)).astype(np.float32)
_LABELS = np.array([0, 2, 1, 2, 0, 1])
_PROBS = np.eye(3, dtype=np.float32)[_LABELS] * 0.8 + 0.2 / 3
_BINARY = (_RNG.random((6, 1)) > 0.5).astype(np.float32)

LOSSES = {
    "cross_entropy": (lambda z, t: NF.cross_entropy(z, t), _LABELS),
    "cross_entropy-sum": (lambda z, t: NF.cross_entropy(z, t, reduction="sum"), _LABELS),
    "cross_entropy-probabilities": (lambda z, t: NF.cross_entropy(z, t), _PROBS),
    "cross_entropy-smoothing": (lambda z, t: NF.cross_entropy(z, t, label_smoothing=0.1), _LABELS),
    "nll_loss": (lambda z, t: NF.nll_loss(NF.log_softmax(z), t, reduction="none").sum(), _LABELS),
    "bce_with_logits": (lambda z, t: NF.binary_cross_entropy_with_logits(z[:, :1], t), _BINARY),
    "bce": (lambda z, t: NF.binary_cross_entropy(z[:, :1].sigmoid(), t), _BINARY),
    "mse": (lambda z, t: NF.mse_loss(z, t), _PROBS),
    "half_sum": (lambda z, t: NF.half_sum_squared_error(z, t), _PROBS),
    "CrossEntropyLoss": (lambda z, t: nn.CrossEntropyLoss()(z, t), _LABELS),
    "BCEWithLogitsLoss": (lambda z, t: nn.BCEWithLogitsLoss()(z[:, 1:2], t), _BINARY),
}


@pytest.mark.parametrize("target_on", ["device", "host"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_stays_on_device(cupy, name, target_on):
    """Targets may live on the device (as batches moved there) or on the host (a NumPy array,
    moved by the loss)."""
    loss_fn, target = LOSSES[name]
    ref_z = Tensor(_LOGITS, requires_grad=True)
    ref = loss_fn(ref_z, target)
    ref.backward()
    z = Tensor(device(_LOGITS), requires_grad=True)
    t = Tensor(device(target)) if target_on == "device" else target
    loss = loss_fn(z, t)
    loss.backward()
    close(loss, ref, name)
    close(z.grad, ref_z.grad, name)


def test_loss_input_errors_still_name_the_problem(cupy):
    z = Tensor(device(_LOGITS))
    with pytest.raises(cr.errors.DataError, match="must lie in"):
        NF.cross_entropy(z, Tensor(device(_LABELS + 1)))
    with pytest.raises(cr.errors.DataError, match="targets must lie in"):
        NF.binary_cross_entropy_with_logits(z[:, :1], Tensor(device(_BINARY * 2)))


# --- training ---------------------------------------------------------------------------

def _mlp(seed=0, dropout=0.0):
    layers = [nn.Linear(4, 8, rng=seed), nn.Tanh()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(8, 3, rng=seed + 1))


_X = np.random.default_rng(4).standard_normal((16, 4)).astype(np.float32)
_Y = np.random.default_rng(5).integers(0, 3, 16)
_TRAIN_LOSSES = {
    "cross_entropy": (NF.cross_entropy, _Y),
    "bce_with_logits": (lambda z, t: NF.binary_cross_entropy_with_logits(z[:, :1], t),
                        (_Y[:, None] == 1).astype(np.float32)),
    "mse": (NF.mse_loss, np.eye(3, dtype=np.float32)[_Y]),
}
_OPTIMIZERS = {
    "SGD": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-3),
    "Adam": lambda ps: optim.Adam(ps, lr=0.01),
}


def _train(model, opt, loss_fn, x, y, steps=4):
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss)
    return losses


@pytest.mark.parametrize("loss_name", _TRAIN_LOSSES)
@pytest.mark.parametrize("opt_name", _OPTIMIZERS)
def test_mlp_trains_on_device_as_on_host(cupy, opt_name, loss_name):
    loss_fn, y = _TRAIN_LOSSES[loss_name]
    ref, dev = _mlp(), _mlp().to("cupy")
    assert all(type(p.data) is DEVICE for p in dev.parameters())
    ref_opt, opt = _OPTIMIZERS[opt_name](ref.parameters()), _OPTIMIZERS[opt_name](dev.parameters())
    ref_losses = _train(ref, ref_opt, loss_fn, Tensor(_X), y)
    losses = _train(dev, opt, loss_fn, Tensor(_X).to("cupy"), Tensor(y).to("cupy"))
    assert opt._flats[0] is not None  # the one-buffer path ran
    assert type(opt._flats[0].P) is DEVICE
    for a, b in zip(losses, ref_losses):
        close(a, b, "loss")
    for (name, p), q in zip(dev.named_parameters(), ref.parameters()):
        close(p, q, name)
        close(p.grad, q.grad, f"{name}.grad")
    state, ref_state = opt.state_dict()["state"], ref_opt.state_dict()["state"]
    for i in ref_state:
        for k, v in ref_state[i].items():
            assert type(state[i][k]) is type(v)
            np.testing.assert_allclose(state[i][k], v, rtol=TOL32, atol=TOL32)
    opt.load_state_dict(ref_opt.state_dict())  # host state back onto the device
    _train(dev, opt, loss_fn, Tensor(_X).to("cupy"), Tensor(y).to("cupy"), steps=1)
    _train(ref, ref_opt, loss_fn, Tensor(_X), y, steps=1)
    for p, q in zip(dev.parameters(), ref.parameters()):
        close(p, q)


@pytest.mark.parametrize("opt_name", ["RMSprop", "Adagrad", "AdamW", "SGD-nesterov"])
def test_other_optimizers_per_parameter_path(cupy, opt_name):
    make = {"RMSprop": lambda ps: optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
            "Adagrad": lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
            "AdamW": lambda ps: optim.AdamW(ps, lr=0.01, amsgrad=True),
            "SGD-nesterov": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                                 dampening=0.0)}[opt_name]
    ref, dev = _mlp(), _mlp().to("cupy")
    ref_opt, opt = make(ref.parameters()), make(dev.parameters())
    ref_opt.flat = opt.flat = False
    _train(ref, ref_opt, NF.cross_entropy, Tensor(_X), _Y, steps=3)
    _train(dev, opt, NF.cross_entropy, Tensor(_X).to("cupy"), Tensor(_Y).to("cupy"), steps=3)
    assert opt._flats[0] is None
    for p, q in zip(dev.parameters(), ref.parameters()):
        close(p, q)
    norm = optim.clip_grad_norm_(dev.parameters(), 0.5)
    assert norm == pytest.approx(optim.clip_grad_norm_(ref.parameters(), 0.5), rel=1e-6)
    optim.clip_grad_value_(dev.parameters(), 0.01)
    assert all(type(p.grad) is DEVICE for p in dev.parameters())


def test_no_grad_inference_on_device(cupy):
    ref, dev = _mlp().eval(), _mlp().to("cupy").eval()
    with cr.no_grad():
        out = dev(Tensor(_X).to("cupy"))
    assert not out.requires_grad and out.op is None
    close(out, ref(Tensor(_X)))
    assert type(dev.state_dict()["0.weight"]) is np.ndarray  # state dicts live on the host
    dev.load_state_dict(ref.state_dict())
    assert all(type(p.data) is DEVICE for p in dev.parameters())


def test_conv_pool_batchnorm_on_device(cupy):
    def net(seed=0):
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, rng=seed), nn.BatchNorm2d(3),
                             nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2), nn.Flatten(),
                             nn.Linear(12, 2, rng=seed))
    x = np.random.default_rng(6).standard_normal((2, 2, 8, 8)).astype(np.float32)
    ref, dev = net(), net().to("cupy")
    for model, inp in ((ref, Tensor(x, requires_grad=True)),
                       (dev, Tensor(x, requires_grad=True).to("cupy"))):
        model.out = model(inp)
        model.out.sum().backward()
        model.inp = inp
    close(dev.out, ref.out)
    close(dev.inp.grad, ref.inp.grad)
    for (name, p), q in zip(dev.named_parameters(), ref.parameters()):
        close(p.grad, q.grad, name)
    close(dev[1].running_var, ref[1].running_var)
    with cr.no_grad():
        close(dev.eval()(Tensor(x).to("cupy")), ref.eval()(Tensor(x)))


@pytest.mark.parametrize("cell", ["LSTM", "GRU", "RNN"])
def test_recurrent_layers_on_device(cupy, cell):
    x = np.random.default_rng(7).standard_normal((2, 5, 3)).astype(np.float32)
    h0 = np.random.default_rng(8).standard_normal((1, 2, 4)).astype(np.float32)
    layer = getattr(nn, cell)
    ref, dev = layer(3, 4, batch_first=True, rng=0), layer(3, 4, batch_first=True, rng=0).to("cupy")
    state = (h0, h0) if cell == "LSTM" else h0
    xr, xd = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True).to("cupy")
    yr, _ = ref(xr, state)
    yd, _ = dev(xd, tuple(Tensor(s).to("cupy") for s in state) if cell == "LSTM"
                else Tensor(state).to("cupy"))
    (yr * yr).sum().backward()
    (yd * yd).sum().backward()
    close(yd, yr)
    close(xd.grad, xr.grad)
    for (name, p), q in zip(dev.named_parameters(), ref.parameters()):
        close(p.grad, q.grad, name)
    yd, (hn, *_) = dev(xd) if cell == "LSTM" else (dev(xd)[0], (dev(xd)[1],))
    assert type(hn.data) is DEVICE


def test_embedding_on_device(cupy):
    ref, dev = nn.Embedding(5, 3, rng=0), nn.Embedding(5, 3, rng=0).to("cupy")
    idx = np.array([[0, 4, 4], [1, 2, 0]])
    (ref(idx) ** 2).sum().backward()
    (dev(Tensor(idx).to("cupy")) ** 2).sum().backward()
    close(dev.weight.grad, ref.weight.grad)


@fake_only
def test_dropout_on_device_uses_the_seeded_generator(cupy):
    """Masks come from chainrule's seeded generator: the same seed, the same mask on the host
    and on the device."""
    x = np.random.default_rng(9).standard_normal((20, 30)).astype(np.float32)
    ref, dev = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True).to("cupy")
    cr.random.manual_seed(3)
    a = NF.dropout(ref, 0.25)
    cr.random.manual_seed(3)
    b = NF.dropout(dev, 0.25)
    close(b, a)
    (a * a).sum().backward()
    (b * b).sum().backward()
    close(dev.grad, ref.grad)
    close(nn.Dropout(0.5, rng=1)(dev), nn.Dropout(0.5, rng=1)(ref))
    close(NF.dropout(dev, 1.0), np.zeros_like(x))


# --- the training loop and the rest of the surface ----------------------------------------

def test_fit_evaluate_predict_move_host_batches_to_the_model(cupy):
    from chainrule import train
    ref, dev = _mlp(), _mlp().to("cupy")
    hist = {}
    for name, model in (("ref", ref), ("dev", dev)):
        opt = optim.Adam(model.parameters(), lr=0.01)
        hist[name] = train.fit(model, nn.CrossEntropyLoss(), opt, (_X, _Y), val=(_X, _Y),
                               epochs=2, batch_size=5, rng=0, progress=False)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(hist["dev"][key], hist["ref"][key], rtol=TOL32, err_msg=key)
    for p, q in zip(dev.parameters(), ref.parameters()):
        close(p, q)
    pred = train.predict(dev, _X, batch_size=7)
    assert type(pred) is np.ndarray
    np.testing.assert_allclose(pred, train.predict(ref, _X), rtol=TOL32, atol=TOL32)
    np.testing.assert_allclose(train.predict(dev, Tensor(_X).to("cupy")), pred)
    ev = train.evaluate(dev, nn.CrossEntropyLoss(), (_X, _Y))
    assert ev == pytest.approx(train.evaluate(ref, nn.CrossEntropyLoss(), (_X, _Y)), rel=1e-6)
    assert cr.metrics.accuracy(Tensor(_Y).to("cupy").data, dev(Tensor(_X).to("cupy")).data) \
        == pytest.approx(ev["accuracy"])


def test_lbfgs_on_device(cupy):
    ref, dev = _mlp(), _mlp().to("cupy")
    for model, x, y in ((ref, Tensor(_X), _Y), (dev, Tensor(_X).to("cupy"), Tensor(_Y).to("cupy"))):
        opt = optim.LBFGS(model.parameters(), lr=0.5, max_iter=5, line_search_fn="strong_wolfe")

        def closure(model=model, opt=opt, x=x, y=y):
            opt.zero_grad()
            loss = NF.cross_entropy(model(x), y)
            loss.backward()
            return loss
        opt.step(closure)
    for p, q in zip(dev.parameters(), ref.parameters()):
        close(p, q)


def test_host_conditions_labels_and_sequences_join_the_device(cupy):
    F = cr.functional
    x = Tensor(device(np.arange(4.0)))
    close(F.where([True, False, True, False], x, 0.0), np.array([0.0, 0, 2, 0]))
    close(F.one_hot(Tensor(device(np.array([2, 0]))), 3), np.eye(3, dtype=np.float32)[[2, 0]])
    lstm = nn.LSTM(3, 2, rng=0).to("cupy")
    seqs = [Tensor(np.ones((4, 3), np.float32)).to("cupy") for _ in range(2)]
    out, _ = lstm(seqs)
    assert type(out.data) is DEVICE and out.shape == (4, 2, 2)
    assert type(x[[0, 2, 2]].data) is DEVICE


# --- what runs on NumPy only, and what needs CuPy ---------------------------------------

def test_numpy_only_parts_name_what_they_got(cupy):
    from chainrule.data import TensorDataset
    with pytest.raises(BackendUnavailable, match=r"TensorDataset: argument 0 is a CuPy array"):
        TensorDataset(device(_X), _Y)
    with pytest.raises(BackendUnavailable, match=r"check_grad: argument 0 .*NumPy only"):
        cr.check_grad(lambda x: (x * x).sum(), device(np.ones(3)))
    with pytest.raises(BackendUnavailable, match="numerical_grad"):
        cr.numerical_grad(lambda x: x.sum(), Tensor(device(np.ones(3))))


def test_optimizer_built_before_moving_is_a_clear_error(cupy):
    model = _mlp()
    opt = optim.Adam(model.parameters())
    _train(model, opt, NF.cross_entropy, Tensor(_X), _Y, steps=1)
    model.to("cupy")
    with pytest.raises(ConfigError, match="after the optimizer was built"):
        _train(model, opt, NF.cross_entropy, Tensor(_X).to("cupy"), Tensor(_Y).to("cupy"), steps=1)


def test_mixing_host_and_device_tensors_is_refused(cupy):
    with pytest.raises(BackendMismatch, match="cannot mix NumPy and CuPy"):
        Tensor(device(np.ones(3))) + Tensor(np.ones(3))


def test_without_cupy_the_backend_is_unavailable(monkeypatch):
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy raises ImportError
    with pytest.raises(BackendUnavailable, match="CuPy is not installed"):
        _mlp().to("cupy")
    with pytest.raises(BackendUnavailable, match="unknown backend 'tpu'"):
        Tensor([1.0]).to("tpu")
    assert backend._cupy is None
