"""Issue 11, part A: PyTorch's names with PyTorch's meanings on the Tensor, the functional
API and the layers; the edges that crashed; creation functions; retain_grad; user-defined
primitives; jacobian, hessian and hvp. The torch parity tests skip where torch is absent."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor, nn
from chainrule import functional as F
from chainrule.errors import ConfigError, DTypeError, GraphError

try:
    import torch
except ImportError:  # pragma: no cover - the parity tests skip
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
RNG = np.random.default_rng(11)


def pair(a):
    """The same float64 leaf in chainrule and torch."""
    a = np.asarray(a, dtype=np.float64)
    return Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def same(ours, theirs, **tol):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = ours.numpy() if isinstance(ours, Tensor) else np.asarray(ours)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True, **tol)


# --- 1. casts keep the graph ---------------------------------------------------------------

@pytest.mark.parametrize("cast", [lambda x: x.float(), lambda x: x.double(),
                                  lambda x: x.astype("float32"), lambda x: x.to("float32"),
                                  lambda x: x.to(dtype="float64"), lambda x: x.clone()])
def test_casts_between_floats_keep_the_graph(cast):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * cast(x)).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0] and x.grad.dtype == np.float64


def test_a_cast_copies_and_casts_the_gradient_back():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64 and x.float() is x and x.to("float32") is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]
    c = x.clone()
    assert c.data is not x.data and np.shares_memory(c.data, x.data) is False


def test_casts_to_ints_and_bools_are_constants():
    x = Tensor([1.7, -0.2], requires_grad=True)
    assert x.long().dtype == np.int64 and x.long().tolist() == [1, 0]
    assert x.int().dtype == np.int32 and not x.int().requires_grad
    assert x.bool().tolist() == [True, True]
    try:
        assert x.half().dtype == np.float16
    except DTypeError as e:  # float16 is not (yet) a supported dtype: an explicit error
        assert "float16" in str(e)


def test_casts_work_in_forward_mode():
    d = Dual(np.array([3.0]), np.array([1.0]))
    out = d * d.astype("float32")
    assert out.tangent.tolist() == [6.0]


@needs_torch
def test_cast_gradient_matches_torch():
    x, tx = pair([1.0, 2.0])
    (x * x.float()).sum().backward()
    (tx * tx.float()).sum().backward()
    same(x.grad, tx.grad)


# --- 1. transpose, permute, T, mT ----------------------------------------------------------

def test_transpose_swaps_two_dims():
    t = Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert t.transpose(0, 2).shape == (4, 3, 2) and t.transpose(-1, 1).shape == (2, 4, 3)
    assert t.permute(2, 0, 1).shape == (4, 2, 3) and t.permute((1, 0, 2)).shape == (3, 2, 4)
    assert t.T.shape == (4, 3, 2) and t.transpose().shape == (4, 3, 2) and t.mT.shape == (2, 4, 3)
    assert F.transpose(t, 0, 1).shape == (3, 2, 4) and F.permute(t, (2, 1, 0)).shape == (4, 3, 2)
    with pytest.raises(ConfigError, match="permute"):
        t.transpose(1, 0, 2)
    with pytest.raises(cr.ShapeError):
        _ = Tensor([1.0]).mT


@needs_torch
def test_transpose_matches_torch():
    a = RNG.standard_normal((2, 3, 4))
    x, tx = pair(a)
    for f, tf in [(lambda t: t.transpose(0, 1), lambda t: t.transpose(0, 1)),
                  (lambda t: t.transpose(-1, 0), lambda t: t.transpose(-1, 0)),
                  (lambda t: t.mT, lambda t: t.mT), (lambda t: t.permute(2, 0, 1),
                                                     lambda t: t.permute(2, 0, 1))]:
        x.grad, tx.grad = None, None
        u = RNG.standard_normal(tf(tx).shape)
        y, ty = f(x), tf(tx)
        same(y, ty)
        y.backward(u)
        ty.backward(torch.tensor(u))
        same(x.grad, tx.grad)
    m, tm = pair(a[0])
    same(m.transpose(0, 1), tm.transpose(0, 1))


# --- 1. max/min with a dim: (values, indices) ----------------------------------------------

def test_max_and_min_with_a_dim_return_values_and_indices():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    out = x.max(1)
    assert type(out).__name__ == "max" and out.indices.tolist() == [1, 0]
    values, idx = out
    assert values.tolist() == [3.0, 2.0] and idx.dtype == np.int64
    values.sum().backward()
    assert x.grad.tolist() == [[0, 1, 0], [1, 0, 0]]  # the picked element only
    assert x.max().shape == () and x.max().item() == 3.0
    assert x.max(axis=1).tolist() == [3.0, 2.0]  # NumPy's name: values only
    v, i = x.min(dim=0, keepdim=True)
    assert v.shape == (1, 3) and i.tolist() == [[0, 1, 1]]
    assert cr.functional.max(x, 1).indices.tolist() == [1, 0]
    assert x.max(Tensor([2.0, 2.0, 2.0])).tolist() == [[2, 3, 3], [2, 2, 2]]  # torch.max(a, b)
    with pytest.raises(cr.AxisError, match="amax"):
        x.max(dim=(0, 1))


def test_argmax_and_argmin_take_dim_and_keepdim():
    x = Tensor([[1.0, 5.0], [7.0, 2.0]])
    assert x.argmax().item() == 2 and x.argmax(1).tolist() == [1, 0]
    assert x.argmin(dim=0, keepdim=True).tolist() == [[0, 1]]
    assert x.argmax(axis=1, keepdims=True).shape == (2, 1)
    with pytest.raises(cr.ShapeError):
        Tensor(np.zeros((0, 2))).argmax()


@needs_torch
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_tuples_match_torch(name):
    a = np.array([[1.0, 3.0, 3.0, -np.inf], [2.0, 2.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]])
    for dim, keepdim in [(1, False), (0, True), (-1, True)]:
        x, tx = pair(a)
        v, i = getattr(x, name)(dim, keepdim)
        tv, ti = getattr(tx, name)(dim, keepdim)
        same(v, tv)
        assert i.tolist() == ti.tolist()
        g = RNG.standard_normal(tv.shape)
        v.backward(g)
        tv.backward(torch.tensor(g))
        same(x.grad, tx.grad)
    x, tx = pair(a)
    getattr(x, name)().backward()
    getattr(tx, name)().backward()
    same(x.grad, tx.grad)  # a full reduction shares the gradient among ties
    s, ts = pair(2.5)
    v, i = s.max(0)
    tv, ti = ts.max(0)
    same(v, tv)
    assert i.item() == ti.item()


# --- 1. a float64 input to a float32 layer ---------------------------------------------------

@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.Linear(3, 2, rng=0), (4, 3)), (lambda: nn.Conv1d(2, 3, 2, rng=0), (1, 2, 5)),
    (lambda: nn.RNN(3, 2, rng=0), (5, 1, 3)), (lambda: nn.BatchNorm1d(3), (4, 3)),
    (lambda: nn.LayerNorm(3), (4, 3))])
def test_a_layer_refuses_a_tensor_of_another_dtype(layer, shape):
    m = layer()
    with pytest.raises(DTypeError, match="float64.*float32"):
        m(Tensor(np.ones(shape)))
    out = m(np.ones(shape))  # raw data is cast to the layer's dtype
    out = out[0] if isinstance(out, tuple) else out
    assert out.dtype == np.float32
    m.double()
    out = m(Tensor(np.ones(shape)))
    assert (out[0] if isinstance(out, tuple) else out).dtype == np.float64


@needs_torch
def test_torch_refuses_the_same_mix():
    with pytest.raises(RuntimeError):
        torch.nn.Linear(3, 2)(torch.ones(4, 3, dtype=torch.float64))


def test_uint64_does_not_wrap():
    with pytest.raises(DTypeError, match="18446744073709551615"):
        Tensor(np.array([2**64 - 1], np.uint64))
    assert Tensor(np.array([7], np.uint64)).tolist() == [7]


# --- 1. degenerate reductions ---------------------------------------------------------------

def test_degenerate_reductions_give_nan_and_inf():
    assert np.isnan(Tensor(np.zeros((0, 3))).mean(0).numpy()).all()
    assert math.isnan(Tensor(np.zeros(0)).mean().item())
    assert math.isnan(Tensor([1.5]).var(ddof=1).item())
    assert math.isnan(Tensor([1.5]).var().item())  # unbiased by default, as PyTorch
    assert Tensor([1.5, 2.5]).var(ddof=3).item() == math.inf
    assert Tensor([1.5, 2.5]).var(correction=0).item() == 0.25
    assert Tensor([1.5, 2.5]).var(unbiased=True).item() == 0.5
    assert Tensor([1.0, 3.0]).std(unbiased=False).item() == 1.0
    with pytest.raises(ConfigError, match="correction"):
        Tensor([1.0]).var(ddof=1, correction=1)


@needs_torch
def test_degenerate_reductions_match_torch():
    import warnings
    cases = [(np.zeros((0, 3)), lambda t: t.mean(0), lambda t: t.mean(0)),
             (np.array([1.5]), lambda t: t.var(correction=1), lambda t: t.var(correction=1)),
             (np.array([1.5, 2.5]), lambda t: t.var(correction=3), lambda t: t.var(correction=3)),
             (np.array([1.0, 2.0, 4.0]), lambda t: t.std(), lambda t: t.std()),
             (np.ones((2, 3)), lambda t: t.var(1, keepdim=True, correction=0),
              lambda t: t.var(1, keepdim=True, correction=0))]
    for a, f, tf in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            same(f(Tensor(a)), tf(torch.tensor(a)))


# --- 2. edges that crashed ------------------------------------------------------------------

def test_zero_d_softmax_logsumexp_squeeze():
    s = Tensor(2.0)
    assert cr.softmax(s).item() == 1.0 and cr.log_softmax(s, dim=0).item() == 0.0
    assert s.logsumexp(0).item() == 2.0 and s.logsumexp().item() == 2.0
    assert s.squeeze(0).shape == () and s.squeeze(-1).shape == ()
    with pytest.raises(cr.AxisError):
        s.squeeze(1)


def test_max_and_min_of_ints_and_bools():
    i = Tensor([[3, -1], [2, 8]])
    assert i.max().item() == 8 and i.min().item() == -1 and i.amax(0).tolist() == [3, 8]
    assert i.max(1).indices.tolist() == [0, 1] and i.min(1).values.tolist() == [-1, 2]
    b = Tensor([True, False])
    assert b.max().item() is True and b.min().item() is False


def test_max_pooling_with_padding_on_ints():
    x = Tensor(np.arange(8).reshape(1, 1, 8))
    assert nn.functional.max_pool(x, 3, padding=1, k=1).tolist() == [[[1, 4, 7]]]
    b = Tensor(np.array([[[True, False, False, False]]]))
    assert nn.functional.max_pool(b, 2, padding=1, k=1).tolist() == [[[True, False, False]]]


@needs_torch
def test_zero_d_and_pow_zero_match_torch():
    for f, tf in [(cr.softmax, lambda t: torch.softmax(t, 0)),
                  (lambda t: cr.log_softmax(t, -1), lambda t: torch.log_softmax(t, -1)),
                  (lambda t: t.logsumexp(0), lambda t: t.logsumexp(0))]:
        x, tx = pair(0.7)
        y, ty = f(x), tf(tx)
        same(y, ty)
        y.backward()
        ty.backward()
        same(x.grad, tx.grad)
    a = np.array([0.0, -2.0, 3.0])
    for e in (0.0, 1.0, 2.0):
        x, tx = pair(a)
        (x ** e).sum().backward()
        (tx ** e).sum().backward()
        same(x.grad, tx.grad)


def test_pow_zero_has_zero_gradient_at_zero():
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x = Tensor(np.array([0.0, 2.0]), requires_grad=True)
    x.pow(2).sum().backward()
    assert x.grad.tolist() == [0.0, 4.0]


# --- 3. dim/keepdim everywhere, and PyTorch's names ------------------------------------------

def test_dim_and_keepdim_beside_axis_and_keepdims():
    a = RNG.standard_normal((2, 3, 4))
    x = Tensor(a)
    for name in ("sum", "mean", "amax", "amin", "logsumexp", "var", "std"):
        f = getattr(x, name)
        np.testing.assert_allclose(f(dim=1, keepdim=True).numpy(),
                                   f(axis=1, keepdims=True).numpy())
        np.testing.assert_allclose(f(1, True).numpy(), f(dim=1, keepdim=True).numpy())
        with pytest.raises(ConfigError, match="dim.*axis"):
            f(dim=1, axis=1)
        with pytest.raises(ConfigError, match="keepdim"):
            f(1, keepdim=True, keepdims=True)
    assert x.sum(dim=(0, 2)).shape == (3,) and x.sum([0, 2]).shape == (3,)
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy(), F.softmax(x, axis=1).numpy())
    np.testing.assert_allclose(nn.Softmax(dim=0)(x).numpy(), F.softmax(x, 0).numpy())
    assert nn.LogSoftmax(dim=1).dim == 1 and repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    with pytest.raises(ConfigError):
        nn.Softmax(dim=1, axis=1)
    assert cr.stack([x, x], dim=1).shape == (2, 2, 3, 4)
    assert cr.cat([x, x], dim=2).shape == (2, 3, 8) and cr.cat([x, x], axis=0).shape == (4, 3, 4)
    assert F.sum(x, dim=2).shape == (2, 3) and F.mean(x, axis=0, keepdims=True).shape == (1, 3, 4)
    assert x.squeeze(dim=0).shape == (2, 3, 4) and x.unsqueeze(dim=-1).shape == (2, 3, 4, 1)
    assert F.unsqueeze(x, axis=0).shape == (1, 2, 3, 4)


def test_size_numel_view_pow_norm_std():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.size() == (2, 3) and x.size(0) == 2 and x.size == 6 and x.numel() == 6
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    with pytest.raises(ConfigError, match="dtype"):
        x.view(np.float32)
    assert x.pow(2).tolist() == [[0, 1, 4], [9, 16, 25]]
    assert x.norm().item() == pytest.approx(math.sqrt(55))
    assert x.norm(1).item() == 15 and x.norm(float("inf")).item() == 5
    assert x.norm(-math.inf).item() == 0 and x.norm(0).item() == 5
    assert x.norm(p="fro", dim=1).tolist() == pytest.approx([math.sqrt(5), math.sqrt(50)])
    assert x.norm(3).item() == pytest.approx(225 ** (1 / 3))
    with pytest.raises(ConfigError, match="nuc"):
        x.norm("nuc")
    z = Tensor(np.zeros(3), requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


@needs_torch
@pytest.mark.parametrize("p", [2, 1, 3, math.inf, -math.inf, "fro"])
def test_norm_matches_torch(p):
    a = np.array([[0.0, -3.0, 3.0], [1.0, 2.0, -2.0], [0.0, 0.0, 0.0]])
    for dim in (None, 1):
        x, tx = pair(a)
        y, ty = x.norm(p, dim), tx.norm(p, dim)
        same(y, ty)
        u = np.ones(ty.shape)
        y.backward(u)
        ty.backward(torch.tensor(u))
        same(x.grad, tx.grad)


@needs_torch
def test_dim_keepdim_reductions_match_torch():
    a = RNG.standard_normal((3, 4, 2))
    for name in ("sum", "mean", "amax", "amin", "logsumexp", "var", "std"):
        x, tx = pair(a)
        y, ty = getattr(x, name)(dim=1, keepdim=True), getattr(tx, name)(dim=1, keepdim=True)
        same(y, ty)
        y.backward(np.ones(ty.shape))
        ty.backward(torch.ones(ty.shape, dtype=torch.float64))
        same(x.grad, tx.grad)
    x, tx = pair(a)
    same(x.argmax(1), tx.argmax(1))
    same(x.argmin(dim=2, keepdim=True), tx.argmin(dim=2, keepdim=True))
    same(F.softmax(x, dim=0), torch.softmax(tx, dim=0))
    same(nn.LogSoftmax(dim=1)(x), torch.nn.LogSoftmax(dim=1)(tx))
    same(cr.stack([x, x], dim=2), torch.stack([tx, tx], dim=2))
    same(cr.cat([x, x], dim=-1), torch.cat([tx, tx], dim=-1))


def test_creation_functions():
    assert cr.zeros(2, 3).shape == (2, 3) and cr.zeros((2, 3)).dtype == np.float32
    assert cr.ones(4, dtype="float64").dtype == np.float64
    assert cr.ones(2, requires_grad=True).requires_grad
    assert cr.full((2,), 7).dtype == np.int64 and cr.full((2,), True).dtype == np.bool_
    assert cr.full(3, 0.5).tolist() == [0.5] * 3
    assert cr.arange(3).tolist() == [0, 1, 2] and cr.arange(1, 2, 0.5).dtype == np.float32
    assert cr.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert cr.eye(2, 3).shape == (2, 3) and cr.eye(2).tolist() == [[1, 0], [0, 1]]
    r = cr.randint(0, 5, (100,))
    assert r.dtype == np.int64 and 0 <= r.numpy().min() and r.numpy().max() < 5
    assert cr.randint(3, (2, 2)).shape == (2, 2)
    u = cr.rand(1000)
    assert u.dtype == np.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    cr.manual_seed(5)
    a = cr.randn(4)
    cr.manual_seed(5)
    assert cr.randn(4).tolist() == a.tolist() and cr.randn(2, generator=3).tolist() == \
        cr.randn(2, generator=3).tolist()
    t = Tensor(np.ones((2, 2)))
    for f in (cr.zeros_like, cr.ones_like, cr.rand_like, cr.randn_like):
        assert f(t).shape == (2, 2) and f(t).dtype == np.float64
        assert f(t, dtype="float32").dtype == np.float32
    assert cr.full_like(t, 3).tolist() == [[3, 3], [3, 3]] and cr.full_like(t, 3).dtype == np.float64
    assert cr.randint_like(Tensor([1, 2]), 10).dtype == np.int64
    a = np.arange(3.0)
    t = cr.from_numpy(a)
    a[0] = 9
    assert t.tolist() == [9, 1, 2]
    with pytest.raises(DTypeError):
        cr.from_numpy([1, 2])


@needs_torch
def test_creation_shapes_and_dtypes_match_torch():
    d = {np.dtype(np.float32): torch.float32, np.dtype(np.int64): torch.int64,
         np.dtype(np.bool_): torch.bool, np.dtype(np.float64): torch.float64}
    pairs = [(cr.zeros(2, 3), torch.zeros(2, 3)), (cr.ones((4,)), torch.ones((4,))),
             (cr.full((2,), 7), torch.full((2,), 7)), (cr.full((2,), 0.5), torch.full((2,), 0.5)),
             (cr.full((1,), False), torch.full((1,), False)), (cr.arange(5), torch.arange(5)),
             (cr.arange(0, 1, 0.25), torch.arange(0, 1, 0.25)),
             (cr.linspace(-1, 1, 7), torch.linspace(-1, 1, 7)), (cr.eye(3, 2), torch.eye(3, 2)),
             (cr.rand(2, 2), torch.rand(2, 2)), (cr.randn(3), torch.randn(3)),
             (cr.randint(0, 4, (5,)), torch.randint(0, 4, (5,))),
             (cr.zeros_like(cr.ones(2, dtype="int64")), torch.zeros_like(torch.ones(2, dtype=torch.int64)))]
    for ours, theirs in pairs:
        assert ours.shape == tuple(theirs.shape) and d[ours.dtype] == theirs.dtype
    for ours, theirs in pairs[:9]:  # the deterministic ones
        np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float),
                                   rtol=1e-6, atol=1e-6)


def test_inference_mode_and_requires_grad_():
    x = Tensor([1.0]).requires_grad_()
    with cr.inference_mode():
        assert not (x * 2).requires_grad
    with cr.inference_mode(False):
        assert (x * 2).requires_grad


# --- 3. retain_grad -----------------------------------------------------------------------

def test_retain_grad_keeps_an_intermediate_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    h.retain_grad()  # twice is once
    assert h.retains_grad and not (x * 2).retains_grad
    y = (h * h).sum()
    y.retain_grad()
    y.backward(retain_graph=True)
    assert h.grad.tolist() == [6.0, 12.0] and y.grad.item() == 1.0
    assert x.grad.tolist() == [18.0, 36.0]
    y.backward()
    assert h.grad.tolist() == [12.0, 24.0]  # accumulated, as PyTorch
    x.retain_grad()  # a leaf keeps its own anyway
    with pytest.raises(GraphError):
        Tensor([1.0]).retain_grad()


@needs_torch
def test_retain_grad_matches_torch():
    a = RNG.standard_normal((3, 2))
    x, tx = pair(a)
    hs = [x.tanh(), None]
    ths = [tx.tanh(), None]
    hs[1], ths[1] = hs[0] @ Tensor(np.ones((2, 2))), ths[0] @ torch.ones(2, 2, dtype=torch.float64)
    for h, th in zip(hs, ths):
        h.retain_grad()
        th.retain_grad()
    (hs[1] ** 2).sum().backward()
    (ths[1] ** 2).sum().backward()
    for h, th in zip(hs, ths):
        same(h.grad, th.grad)


# --- 4. a user's own primitive ------------------------------------------------------------

def test_a_users_op_registers_only_on_request():
    from chainrule.ops import OPS, Op

    class Cube(Op):
        def forward(self, x):
            self.save(x)
            return x ** 3

        def vjp(self, g):
            return (3 * g * self.saved[0] ** 2,)

        def jvp(self, t):
            return 3 * t * self.saved[0] ** 2

    assert "Cube" not in OPS
    cr.check_grad(lambda x: cr.apply(Cube, x), np.array([0.5, -1.5]))
    assert cr.apply(Cube, Dual(np.array([2.0]), np.array([1.0]))).tangent.tolist() == [12.0]

    class Square(Op, register=True):
        def forward(self, x):
            return x * x

    try:
        assert OPS["Square"] is Square
    finally:
        del OPS["Square"]


def test_the_readme_primitive_example_runs(capsys):
    readme = Path(__file__).resolve().parents[1] / "README.md"
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)
                 if "class Sin(Op)" in b)
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert printed[:2] == ["1208.38", "809.71"]
    assert float(printed[2]) == pytest.approx(1208.3812, abs=1e-3)


# --- 5. jacobian, hessian, hvp -----------------------------------------------------------

def rosenbrock(x):
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


def rosenbrock_hessian(x):
    n = x.size
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 2 - 400 * (x[i + 1] - 3 * x[i] ** 2)
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
        H[i + 1, i + 1] += 200
    return H


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_jacobian_is_exact_in_both_modes(mode):
    x = RNG.standard_normal(3)
    W = RNG.standard_normal((2, 3))
    J = cr.jacobian(lambda x: (Tensor(W) @ x).tanh(), x, mode=mode)
    want = (1 - np.tanh(W @ x) ** 2)[:, None] * W
    np.testing.assert_allclose(J, want, rtol=1e-12, atol=1e-14)
    Jx, Jy = cr.jacobian(lambda a, b: a * b.sum(), np.array([1.0, 2.0]), np.array([3.0, 4.0]),
                         mode=mode)
    np.testing.assert_allclose(Jx, 7 * np.eye(2))
    np.testing.assert_allclose(Jy, [[1, 1], [2, 2]])
    assert cr.jacobian(lambda x: x.sum(), np.ones((2, 2)), mode=mode).shape == (2, 2)


def test_jacobian_rejects_an_unknown_mode():
    with pytest.raises(ConfigError, match="forward"):
        cr.jacobian(lambda x: x, np.ones(2), mode="sideways")


def test_hessian_and_hvp_against_a_closed_form():
    x = np.array([-1.2, 1.0, 0.5, 2.0])
    H = cr.hessian(rosenbrock, x)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-7, atol=1e-6)
    np.testing.assert_array_equal(H, H.T)
    v = RNG.standard_normal(4)
    np.testing.assert_allclose(cr.hvp(rosenbrock, x, v), rosenbrock_hessian(x) @ v, rtol=1e-7)
    assert not cr.hvp(rosenbrock, x, np.zeros(4)).any()
    Hxx, Hxy = cr.hessian(lambda a, b: (a * a * b).sum(), np.array([1.0, 2.0]),
                          np.array([3.0, 4.0]))[0]
    np.testing.assert_allclose(Hxx, np.diag([6.0, 8.0]), atol=1e-8)
    np.testing.assert_allclose(Hxy, np.diag([2.0, 4.0]), atol=1e-8)
