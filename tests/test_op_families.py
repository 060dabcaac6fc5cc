# ruff: noqa: B023 - every lambda here is called at once, inside its loop
"""The op families of issue 11 (part B) against PyTorch in float64, forward and backward, at
edge values (0, −0, negatives, ties, ±inf, NaN, empty and 0-d tensors); and their NumPy-only
checks (erf's accuracy, dtypes, errors), which run without PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import AxisError, ConfigError, DTypeError, ShapeError, Tensor
from chainrule import functional as F

INF, NAN = np.inf, np.nan
rng = np.random.default_rng(2026)


def r(*shape):
    return rng.standard_normal(shape)


# --- without PyTorch -----------------------------------------------------------------------

def test_erf_and_erfc_match_math_to_a_few_ulp():
    x = np.concatenate([np.linspace(-28, 28, 20001),
                        [0.0, -0.0, 0.46875, 4.0, 26.5, 27.0, 27.1, 1e-300, 1e300, -1e308, INF, -INF]])
    e, c = cr.ops.erf_and_erfc(np, x)
    for ours, ref in ((e, [math.erf(v) for v in x]), (c, [math.erfc(v) for v in x])):
        ref = np.array(ref)
        ulps = np.abs(ours - ref) / np.maximum(np.spacing(np.abs(ref)), 5e-324)
        assert ulps.max() <= 8, x[ulps.argmax()]
    assert np.isnan(cr.ops.erf_and_erfc(np, np.array([NAN]))[0]).all()


def test_float_functions_of_ints_are_float32_and_rounding_keeps_ints():
    i = Tensor([1, 2, 3])
    assert i.sin().dtype == np.float32 and i.erf().dtype == np.float32
    assert i.reciprocal().dtype == np.float32 and i.rsqrt().dtype == np.float32
    assert i.floor().dtype == np.int64 and Tensor([2, 0, -3]).sign().tolist() == [1, 0, -1]
    assert Tensor([1.5], dtype="float64").sin().dtype == np.float64
    b = Tensor([True, False])
    assert b.sign().tolist() == [True, False] and b.square().dtype == np.int64  # as PyTorch


def test_dim_and_axis_spellings_agree_and_conflicts_raise():
    x = Tensor(r(2, 3))
    np.testing.assert_array_equal(x.prod(dim=1, keepdim=True).data, x.prod(axis=1, keepdims=True).data)
    np.testing.assert_array_equal(x.cumsum(dim=0).data, x.cumsum(axis=0).data)
    np.testing.assert_array_equal(x.cumsum().data, np.cumsum(x.data))  # NumPy's flat default
    with pytest.raises(ConfigError, match="dim=0 and axis=1"):
        x.prod(dim=0, axis=1)


def test_clear_errors():
    x = Tensor(r(2, 3))
    with pytest.raises(AxisError, match=r"\[0, 3\)"):
        x.gather(1, np.array([[0, 3]]))
    with pytest.raises(AxisError, match=r"got values from -1"):
        x.index_select(1, [-1])
    with pytest.raises(ShapeError, match="index of shape"):
        x.gather(1, np.array([0, 1]))
    with pytest.raises(DTypeError, match="integers"):
        x.gather(1, np.array([[0.0]]))
    with pytest.raises(DTypeError, match="bool"):
        x.masked_fill(np.array([1, 0, 1]), 0.0)
    with pytest.raises(DTypeError, match="integer or bool"):
        x & x
    with pytest.raises(ConfigError, match="'median'"):
        x.scatter_reduce(1, np.array([[0]]), x, "median")
    with pytest.raises(ShapeError, match="sum to 4"):
        x.split([1, 3], dim=1)
    with pytest.raises(ShapeError, match=r"'\.\.\.' dims \[\(2,\), \(3,\)\]"):
        cr.einsum("...i,...i", r(2, 4), r(3, 4))
    with pytest.raises(ShapeError, match=r"names 3 dims \(use '...' for the rest\)"):
        cr.einsum("ijk->i", x)


def test_forward_mode_through_the_composites():
    """Sort, gather, masked_fill, tril, roll, unfold are composites: forward mode needs nothing new."""
    x0, v0 = r(3, 4), r(3, 4)
    for f in (lambda x: x.sort(1)[0], lambda x: x.topk(2)[0], lambda x: x.tril(-1),
              lambda x: x.roll(1, 0), lambda x: x.unfold(1, 2, 1), lambda x: x.masked_fill(x0 > 0, 2.0),
              lambda x: x.cummin(0)[0], lambda x: x.logaddexp(x * 2), lambda x: x.diagonal(1)):
        y, t = cr.jvp(f, [x0], [v0])
        xt = Tensor(x0, requires_grad=True)
        u = r(*y.shape)
        f(xt).backward(u)
        assert float(np.sum(u * t)) == pytest.approx(float(np.sum(xt.grad * v0)), rel=1e-10, abs=1e-12)


def test_values_indices_unpack_like_torch():
    values, indices = Tensor([3.0, 1.0, 2.0]).sort()
    assert values.tolist() == [1.0, 2.0, 3.0] and indices.tolist() == [1, 2, 0]
    assert Tensor([3.0, 1.0]).topk(1).indices.tolist() == [0]


# --- against PyTorch -----------------------------------------------------------------------

def _torch():
    return pytest.importorskip("torch")


def _out(y):
    return y[0] if isinstance(y, tuple) else y


def check(ours, theirs, *arrays, grad=True, rtol=1e-10, atol=1e-12, seed=0):
    """ours(*Tensors) and theirs(*torch tensors): equal outputs (and indices, for tuples), and
    equal input gradients for one random output cotangent."""
    torch = _torch()
    arrays = [np.asarray(a) for a in arrays]
    floats = [grad and a.dtype.kind == "f" for a in arrays]
    xs = [Tensor(a, requires_grad=f) for a, f in zip(arrays, floats)]
    ts = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, floats)]
    with np.errstate(all="ignore"):  # edge values: both give nan or inf, NumPy also warns
        _check(torch, xs, ts, ours, theirs, rtol, atol, seed)


def _check(torch, xs, ts, ours, theirs, rtol, atol, seed):
    y, ty = ours(*xs), theirs(*ts)
    if isinstance(y, tuple):
        for a, b in zip(y[1:], ty[1:]):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    y, ty = _out(y), _out(ty)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True)
    assert y.shape == tuple(ty.shape)
    if not y.requires_grad:
        return
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    for x, t in zip(xs, ts):
        if x.requires_grad:
            tg = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
            ours_g = np.zeros(x.shape) if x.grad is None else x.grad
            np.testing.assert_allclose(ours_g, tg, rtol=rtol * 100, atol=atol * 100, equal_nan=True)


EDGE = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-8, 7.0, -7.0, INF, -INF, NAN])
UNIT = np.array([0.0, -0.0, 0.5, -0.5, 0.999, -0.999, 1.0, -1.0, 2.0, NAN])

UNARY = [  # (name, inputs)
    ("sin", EDGE), ("cos", EDGE), ("tan", EDGE[:9]), ("asin", UNIT), ("acos", UNIT), ("atan", EDGE),
    ("sinh", EDGE), ("cosh", EDGE), ("asinh", EDGE), ("acosh", np.array([1.0, 1.5, 30.0, 0.5, INF])),
    ("atanh", UNIT), ("erf", EDGE), ("erfc", np.concatenate([EDGE, [5.0, 26.0, -26.0]])),
    ("log1p", np.array([0.0, -0.0, 1e-10, -0.5, 3.0, -1.0, -2.0, INF])),
    ("expm1", EDGE), ("log2", np.array([0.0, 1.0, 8.0, 0.3, -1.0, INF])),
    ("log10", np.array([0.0, 1.0, 1000.0, 0.3, -1.0, INF])), ("exp2", EDGE),
    ("sign", EDGE), ("floor", EDGE), ("ceil", EDGE), ("trunc", EDGE),
    ("round", np.array([0.5, 1.5, 2.5, -0.5, -1.7, INF])),
    ("reciprocal", np.array([1.0, -2.0, 0.5, INF, -INF])), ("rsqrt", np.array([1.0, 4.0, 0.5, INF])),
    ("square", EDGE),
]


@pytest.mark.parametrize(("name", "x"), UNARY, ids=[n for n, _ in UNARY])
def test_unary_matches_torch(name, x):
    check(lambda t: getattr(t, name)(), lambda t: getattr(_torch(), name)(t), x)
    check(lambda t: getattr(t, name)(), lambda t: getattr(_torch(), name)(t), np.array(0.25))  # 0-d
    check(lambda t: getattr(t, name)(), lambda t: getattr(_torch(), name)(t), np.zeros((0, 2)))


def test_functional_names_match_torch():
    x = np.array([0.3, -1.2, 2.0])
    for name in ("sin", "cos", "tan", "atan", "sinh", "cosh", "asinh", "erf", "erfc", "expm1",
                 "exp2", "sign", "floor", "ceil", "trunc", "round", "square"):
        check(getattr(cr, name), getattr(_torch(), name), x)


def test_gelu_exact_and_tanh_match_torch():
    torch = _torch()
    x = np.concatenate([EDGE[:9], r(20) * 3, [-40.0, 40.0]])
    check(lambda t: F.gelu(t, approximate="none"), torch.nn.functional.gelu, x)
    check(lambda t: F.gelu(t, approximate="tanh"),
          lambda t: torch.nn.functional.gelu(t, approximate="tanh"), x)
    check(lambda t: cr.nn.GELU()(t), torch.nn.GELU(), x)


BINARY_X = np.array([5.5, -5.5, 5.5, -5.5, 0.0, -0.0, 3.0, 1.0, INF, 2.0, 7.0])
BINARY_Y = np.array([2.0, 2.0, -2.0, -2.0, 3.0, 3.0, 1.5, 0.0, 2.0, INF, -INF])


@pytest.mark.parametrize("name", ["fmod", "remainder", "atan2", "copysign", "logaddexp"])
def test_binary_matches_torch(name):
    torch = _torch()
    # at x = ±inf PyTorch's copysign gradient is result/x = nan; ours is the limit ±1
    fin = np.isfinite(BINARY_X) if name == "copysign" else slice(None)
    check(lambda a, b: getattr(a, name)(b), lambda a, b: getattr(torch, name)(a, b),
          BINARY_X[fin], BINARY_Y[fin])
    check(lambda a, b: getattr(a, name)(b), lambda a, b: getattr(torch, name)(a, b), r(3, 4), r(4))
    check(lambda a, b: getattr(a, name)(b), lambda a, b: getattr(torch, name)(a, b), np.array(1.5), r(3))


def test_logaddexp_at_infinities_matches_torch():
    torch = _torch()
    a, b = np.array([-INF, INF, -INF, 1.0, 1e300]), np.array([-INF, INF, 2.0, -INF, 1e300])
    check(lambda x, y: x.logaddexp(y), torch.logaddexp, a, b, grad=False)


def test_remainder_operator_and_scalar_divisor_match_torch():
    torch = _torch()
    check(lambda a: a % 1.5, lambda a: a % 1.5, BINARY_X)
    check(lambda a: a.fmod(-1.5), lambda a: torch.fmod(a, -1.5), BINARY_X)


def test_lerp_matches_torch():
    torch = _torch()
    check(lambda a, b, w: a.lerp(b, w), torch.lerp, r(3, 4), r(3, 4), rng.uniform(0, 1, (3, 4)))
    check(lambda a, b: a.lerp(b, 0.3), lambda a, b: torch.lerp(a, b, 0.3), r(4), r(4))


def test_predicates_and_logic_match_torch():
    torch = _torch()
    x, y = EDGE, EDGE[::-1].copy()
    for name in ("isnan", "isinf", "isfinite"):
        check(lambda t: getattr(t, name)(), getattr(torch, name), x, grad=False)
    check(lambda a, b: a.isclose(b), torch.isclose, x, y, grad=False)
    check(lambda a, b: a.isclose(b, equal_nan=True), lambda a, b: torch.isclose(a, b, equal_nan=True),
          x, x, grad=False)
    for name in ("logical_and", "logical_or", "logical_xor"):
        check(lambda a, b: getattr(a, name)(b), getattr(torch, name), x, y, grad=False)
    check(lambda a: a.logical_not(), torch.logical_not, x, grad=False)
    i, j = np.array([0, 5, -3, 12], dtype=np.int64), np.array([7, 3, 6, -1], dtype=np.int64)
    b = np.array([True, False, True, False])
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        check(lambda a, c: getattr(a, name)(c), getattr(torch, name), i, j, grad=False)
        check(lambda a, c: getattr(a, name)(c), getattr(torch, name), b, b[::-1].copy(), grad=False)
    check(lambda a: ~a, lambda a: ~a, i, grad=False)
    check(lambda a: ~a, lambda a: ~a, b, grad=False)
    check(lambda a, c: (a & c) | (a ^ c), lambda a, c: (a & c) | (a ^ c), i, j, grad=False)


PROD_X = [r(3, 4), np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]), np.array([[0.0, 2.0], [3.0, -1.0]]),
          np.array([[INF, 2.0], [-INF, 0.5]])]


@pytest.mark.parametrize("x", PROD_X, ids=["random", "zeros", "one-zero", "inf"])
def test_prod_matches_torch(x):
    torch = _torch()
    # at an infinite factor PyTorch's gradient is out/x = inf/inf = nan; ours is Π of the others
    grad = bool(np.isfinite(x).all())
    check(lambda t: t.prod(), torch.prod, x, grad=grad)
    check(lambda t: t.prod(1), lambda t: t.prod(1), x, grad=grad)
    check(lambda t: t.prod(dim=0, keepdim=True), lambda t: t.prod(dim=0, keepdim=True), x, grad=grad)


def test_prod_gradient_at_infinity_is_the_product_of_the_others():
    x = Tensor([[np.inf, 2.0], [-np.inf, 0.5]], dtype="float64", requires_grad=True)
    x.prod(1).backward(np.ones(2))
    assert x.grad.tolist() == [[2.0, np.inf], [0.5, -np.inf]]


def test_prod_edges_match_torch():
    torch = _torch()
    check(lambda t: t.prod(), torch.prod, np.array(2.5))
    check(lambda t: t.prod(0), lambda t: t.prod(0), np.zeros((0, 3)))
    check(lambda t: t.prod(1), lambda t: t.prod(1), np.zeros((2, 0)))


def test_any_all_match_torch():
    torch = _torch()
    x = np.array([[0.0, 1.0, NAN], [0.0, 0.0, 0.0]])
    check(lambda t: t.any(), torch.any, x, grad=False)
    check(lambda t: t.all(1), lambda t: t.all(1), x, grad=False)
    check(lambda t: t.any(dim=0, keepdim=True), lambda t: t.any(dim=0, keepdim=True), x, grad=False)
    check(lambda t: t.all(), torch.all, np.zeros((0,)), grad=False)


SCAN_X = {"random": r(3, 5), "zeros": np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [0.0, 1.5, -2.0, 1.0, 3.0]]),
          "ties": np.array([[1.0, 1.0, 0.0, 1.0, 2.0], [2.0, 2.0, 2.0, -1.0, 2.0]]),
          "inf": np.array([[-INF, 1.0, INF, 0.0, -INF], [1.0, -INF, -INF, 2.0, 3.0]])}


@pytest.mark.parametrize("kind", list(SCAN_X))
@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"])
def test_scans_match_torch(name, kind):
    x = SCAN_X[kind]
    if kind == "inf" and name in ("cumprod", "cumsum"):
        x = np.where(np.isinf(x), 3.0, x)  # inf · 0 and inf − inf: nan in both, nothing to compare
    for dim in (0, 1, -1):
        check(lambda t: getattr(t, name)(dim), lambda t: getattr(t, name)(dim), x)
    check(lambda t: getattr(t, name)(0), lambda t: getattr(t, name)(0), np.array(1.5))
    check(lambda t: getattr(t, name)(1), lambda t: getattr(t, name)(1), np.zeros((2, 0)))


def test_scans_of_ints_match_torch():
    i = np.array([[3, -1, 4], [1, 5, -9]])
    for name in ("cumsum", "cumprod", "cummax", "cummin"):
        check(lambda t: getattr(t, name)(1), lambda t: getattr(t, name)(1), i, grad=False)


def test_gather_take_along_dim_index_select_match_torch():
    torch = _torch()
    x = r(3, 4)
    idx = np.array([[0, 3, 3], [2, 0, 1]])
    check(lambda t: t.gather(1, idx), lambda t: t.gather(1, torch.tensor(idx)), x)
    check(lambda t: t.gather(0, idx[:, :2] % 3), lambda t: t.gather(0, torch.tensor(idx[:, :2] % 3)), x)
    i2 = np.array([[0], [3], [1]])
    check(lambda t: t.take_along_dim(i2, 1), lambda t: torch.take_along_dim(t, torch.tensor(i2), 1), x)
    check(lambda t: t.take_along_dim(np.array([[1, 2]]), 0),
          lambda t: torch.take_along_dim(t, torch.tensor([[1, 2]]), 0), x[:, :1])
    check(lambda t: t.take_along_dim(np.array([5, 0, 5])),
          lambda t: torch.take_along_dim(t, torch.tensor([5, 0, 5])), x)
    check(lambda t: t.index_select(1, [2, 0, 2]), lambda t: t.index_select(1, torch.tensor([2, 0, 2])), x)
    check(lambda t: t.index_select(0, np.zeros(0, np.int64)),
          lambda t: t.index_select(0, torch.zeros(0, dtype=torch.long)), x)
    check(lambda t: cr.gather(t, 1, idx), lambda t: torch.gather(t, 1, torch.tensor(idx)), x)


def test_scatters_match_torch():
    torch = _torch()
    x, src = r(3, 4), r(2, 3)  # (PyTorch's backward fails for a src larger than the index)
    idx = np.array([[0, 3, 3], [2, 0, 1]])  # (0, 3) is hit twice: scatter_add adds
    ti = torch.tensor(idx)
    check(lambda a, s: a.scatter_add(1, idx, s), lambda a, s: a.scatter_add(1, ti, s), x, src)
    distinct = np.array([[0, 3, 1], [2, 0, 1]])
    td = torch.tensor(distinct)
    check(lambda a, s: a.scatter(1, distinct, s), lambda a, s: a.scatter(1, td, s), x, src)
    check(lambda a: a.scatter(1, distinct, value=-2.0), lambda a: a.scatter(1, td, -2.0), x)
    for reduce in ("sum", "mean", "prod", "amax", "amin"):
        for include_self in (True, False):
            check(lambda a, s: a.scatter_reduce(1, idx, s, reduce, include_self=include_self),
                  lambda a, s: a.scatter_reduce(1, ti, s, reduce, include_self=include_self), x, src)


@pytest.mark.parametrize("reduce", ["prod", "amax", "amin"])
def test_scatter_reduce_at_ties_and_zeros_matches_torch(reduce):
    torch = _torch()
    x = np.array([[1.0, 0.0, 2.0, 3.0], [2.0, 2.0, -1.0, 0.0]])
    src = np.array([[2.0, 0.0, 2.0], [2.0, 0.0, -1.0]])  # ties with x and each other; zeros
    idx = np.array([[0, 1, 0], [0, 3, 2]])
    # amax/amin without include_self: PyTorch still counts a tied x among the N that share the
    # gradient, though x is not reduced (its share is then dropped); ours gives src all of it
    for include_self in (True, False) if reduce == "prod" else (True,):
        check(lambda a, s: a.scatter_reduce(1, idx, s, reduce, include_self=include_self),
              lambda a, s: a.scatter_reduce(1, torch.tensor(idx), s, reduce, include_self=include_self),
              x, src)
    check(lambda a, s: a.scatter_reduce(1, idx, s, reduce, include_self=False),
          lambda a, s: a.scatter_reduce(1, torch.tensor(idx), s, reduce, include_self=False),
          x, src, grad=False)


def test_masks_match_torch():
    torch = _torch()
    x = r(3, 4)
    m = x > 0.2
    check(lambda t: t.masked_fill(m, -1.5), lambda t: t.masked_fill(torch.tensor(m), -1.5), x)
    check(lambda t: t.masked_fill(m[0], INF), lambda t: t.masked_fill(torch.tensor(m[0]), INF), x)
    check(lambda t: t.masked_select(m), lambda t: t.masked_select(torch.tensor(m)), x)
    check(lambda t: t.masked_select(m[:1]), lambda t: t.masked_select(torch.tensor(m[:1])), x)
    check(lambda t: t.masked_select(np.zeros((3, 4), bool)),
          lambda t: t.masked_select(torch.zeros((3, 4), dtype=torch.bool)), x)
    y = np.array([[0.0, 1.5, 0.0], [-0.0, NAN, 2.0]])
    check(lambda t: t.nonzero(), lambda t: t.nonzero(), y, grad=False)
    for ours, theirs in zip(Tensor(y).nonzero(as_tuple=True), torch.tensor(y).nonzero(as_tuple=True)):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    check(lambda t: t.nonzero(), lambda t: t.nonzero(), np.array(3.0), grad=False)


def test_triangles_and_diagonals_match_torch():
    torch = _torch()
    for shape in ((4, 4), (3, 5), (2, 3, 4)):
        x = r(*shape)
        for k in (-2, -1, 0, 1, 3):
            check(lambda t: t.tril(k), lambda t: t.tril(k), x)
            check(lambda t: t.triu(k), lambda t: t.triu(k), x)
            check(lambda t: t.diagonal(k), lambda t: t.diagonal(k), x)
    x = r(2, 3, 4)
    check(lambda t: t.diagonal(1, 2, 0), lambda t: t.diagonal(1, 2, 0), x)
    check(lambda t: t.diagonal(0, -1, 1), lambda t: t.diagonal(0, -1, 1), x)
    for k in (-2, 0, 1):
        check(lambda t: t.diag(k), lambda t: t.diag(k), r(3))
        check(lambda t: t.diag(k), lambda t: t.diag(k), r(3, 4))
    check(lambda t: cr.tril(t), torch.tril, r(3, 3))


def test_shapes_match_torch():
    torch = _torch()
    x = r(3, 5)
    for ours, theirs in [
        (lambda t: t.split(2, 1), lambda t: t.split(2, 1)),
        (lambda t: t.split([1, 4], dim=1), lambda t: t.split([1, 4], dim=1)),
        (lambda t: t.chunk(2, 0), lambda t: t.chunk(2, 0)),
        (lambda t: t.chunk(4, 1), lambda t: t.chunk(4, 1)),
    ]:
        check(lambda t: cr.stack([p.sum() for p in ours(t)]),
              lambda t: torch.stack([(p * p).sum() * 0 + p.sum() for p in theirs(t)]), x)
        assert [p.shape for p in ours(Tensor(x))] == [tuple(p.shape) for p in theirs(torch.tensor(x))]
    for ours, theirs in [
        (lambda t: t.repeat(2, 1, 3), lambda t: t.repeat(2, 1, 3)),
        (lambda t: t.repeat((1, 2)), lambda t: t.repeat((1, 2))),
        (lambda t: t.tile((2,)), lambda t: t.tile((2,))),
        (lambda t: t.tile((2, 1, 1)), lambda t: t.tile((2, 1, 1))),
        (lambda t: t.repeat_interleave(2), lambda t: t.repeat_interleave(2)),
        (lambda t: t.repeat_interleave(2, dim=1), lambda t: t.repeat_interleave(2, dim=1)),
        (lambda t: t.repeat_interleave(np.array([0, 2, 1]), dim=0),
         lambda t: t.repeat_interleave(torch.tensor([0, 2, 1]), dim=0)),
        (lambda t: t.roll(2), lambda t: t.roll(2)),
        (lambda t: t.roll(-1, 1), lambda t: t.roll(-1, 1)),
        (lambda t: t.roll((1, 7), (0, 1)), lambda t: t.roll((1, 7), (0, 1))),
        (lambda t: t.flip(0), lambda t: t.flip(0)),
        (lambda t: t.flip((0, 1)), lambda t: t.flip((0, 1))),
        (lambda t: t.unfold(1, 2, 2), lambda t: t.unfold(1, 2, 2)),
        (lambda t: t.unfold(0, 3, 1), lambda t: t.unfold(0, 3, 1)),
        (lambda t: t.unfold(-1, 1, 3), lambda t: t.unfold(-1, 1, 3)),
    ]:
        check(ours, theirs, x)
    check(lambda t: t.flip(0), lambda t: t.flip(0), np.zeros((0, 2)))
    check(lambda t: t.roll(1), lambda t: t.roll(1), np.array(2.0))


def test_meshgrid_and_einsum_match_torch():
    torch = _torch()
    for indexing in ("ij", "xy"):
        check(lambda a, b: cr.stack([g * 1.0 for g in cr.meshgrid(a, b, indexing=indexing)]).sin(),
              lambda a, b: torch.stack(torch.meshgrid(a, b, indexing=indexing)).sin(), r(3), r(4))
    for spec, shapes in [("ij,jk->ik", [(2, 3), (3, 4)]), ("ij->", [(2, 3)]), ("ii->i", [(3, 3)]),
                         ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("i,i", [(4,), (4,)]),
                         ("i,j->ij", [(2,), (3,)]), ("ij,k->i", [(2, 3), (4,)]), ("ij->ji", [(0, 3)]),
                         # diagonals, ellipsis broadcasting, the implicit output's order
                         ("ii", [(3, 3)]), ("bii->bi", [(2, 3, 3)]), ("iij->ji", [(2, 2, 3)]),
                         ("iii->", [(2, 2, 2)]), ("ij,jj->i", [(2, 3), (3, 3)]),
                         ("...ij->...ji", [(4, 2, 3)]), ("...ij,...jk", [(5, 2, 3), (1, 3, 4)]),
                         ("...i,...i", [(2, 1, 3), (4, 3)]), ("ij...->ij", [(3, 2, 4)]),
                         ("...ii->...i", [(2, 3, 3)]), ("i...i", [(3, 2, 3)]), ("...", [(2, 3)]),
                         ("ba", [(3, 2)]), ("Ab,bA", [(2, 3), (3, 2)]), ("...,...", [(), (3,)])]:
        check(lambda *t: cr.einsum(spec, *t), lambda *t: torch.einsum(spec, *t),
              *[r(*s) for s in shapes])
    check(lambda a, b: cr.einsum("ij,jk", [a, b]), lambda a, b: torch.einsum("ij,jk", [a, b]),
          r(2, 3), r(3, 2))


SORT_X = {"random": r(3, 5), "ties": np.array([[3.0, 1.0, 3.0, 2.0, 1.0], [0.0, -0.0, 0.0, 5.0, 5.0]]),
          "inf-nan": np.array([[INF, -INF, 1.0, NAN, 0.0], [2.0, NAN, -INF, INF, 3.0]])}


@pytest.mark.parametrize("kind", list(SORT_X))
def test_sort_argsort_topk_match_torch(kind):
    torch = _torch()
    x = SORT_X[kind]
    grad = kind != "inf-nan"
    for dim in (0, 1, -1):
        for desc in (False, True):
            check(lambda t: t.sort(dim=dim, descending=desc, stable=True),
                  lambda t: t.sort(dim=dim, descending=desc, stable=True), x, grad=grad)
            check(lambda t: t.argsort(dim=dim, descending=desc, stable=True),
                  lambda t: t.argsort(dim=dim, descending=desc, stable=True), x, grad=False)
    if kind != "ties":  # which of tied values topk picks is not specified by PyTorch
        for k, largest in ((1, True), (3, True), (2, False), (0, True)):
            check(lambda t: t.topk(k, 1, largest=largest), lambda t: t.topk(k, 1, largest=largest),
                  x, grad=grad)
    check(lambda t: t.sort(), lambda t: t.sort(), np.array(1.5))
    check(lambda t: t.sort(0), lambda t: t.sort(0), np.zeros((0, 2)))
    check(lambda t: cr.sort(t, 1), lambda t: torch.sort(t, 1), r(2, 3))


# --- dtypes (issue 11): PyTorch's result dtypes where NumPy's differ --------------------------

def test_small_int_and_half_dtypes_are_kept():
    img = np.array([[0, 128, 255]], dtype=np.uint8)
    t = Tensor(img)
    assert t.dtype == np.uint8 and (t + 1).dtype == np.uint8  # and it wraps, as PyTorch's
    assert (t + 1).tolist() == [[1, 129, 0]]
    assert (t * 1.5).dtype == np.float32 and (t / 255).dtype == np.float32
    assert (t / 255).numpy()[0, 2] == np.float32(1.0)
    for dt in ("int8", "int16", "short", "float16", "half"):
        assert Tensor([1, 2], dtype=dt).dtype == cr.backend.as_dtype(dt)
    assert Tensor(np.array([1, 2], np.uint16)).dtype == np.int64
    assert Tensor(np.array([2**63 - 1], np.uint64)).tolist() == [2**63 - 1]


def test_int_division_and_int_with_python_float_are_float32():
    i, j = Tensor([3, 4]), Tensor([2, 8])
    assert (i / j).dtype == np.float32 and (i / j).tolist() == [1.5, 0.5]
    assert (i / 2).dtype == np.float32 and (2 / i).dtype == np.float32
    assert (i + 0.5).dtype == np.float32 and (i * 0.5).tolist() == [1.5, 2.0]
    assert (i ** 0.5).dtype == np.float32
    assert (i + 1).dtype == np.int64
    assert (Tensor([True, False]) * 2.5).dtype == np.float32


def test_float16_computes_and_differentiates():
    x = Tensor(np.array([0.5, -1.0, 2.0], np.float16), requires_grad=True)
    y = (x.sin() * x + x.exp()).sum()
    assert y.dtype == np.float16
    y.backward()
    assert x.grad.dtype == np.float16
    x64 = x.data.astype(np.float64)
    ref = np.cos(x64) * x64 + np.sin(x64) + np.exp(x64)
    np.testing.assert_allclose(x.grad, ref, rtol=5e-3)


def test_unsupported_dtypes_raise():
    with pytest.raises(DTypeError, match="does not fit int64"):
        Tensor(np.array([2**64 - 1], np.uint64))
    with pytest.raises(DTypeError, match="complex128"):
        Tensor(np.array([1j]))
    with pytest.raises(DTypeError, match="float16, float32"):
        Tensor([1.0], dtype="bfloat16")


def test_result_dtypes_match_torch():
    torch = _torch()
    u8 = np.array([1, 200, 255], np.uint8)
    cases = [
        (lambda a: a + 1, u8), (lambda a: a * 1.5, u8), (lambda a: a / 2, u8),
        (lambda a: a / a, np.array([3, 4])), (lambda a: a + 0.5, np.array([3, 4], np.int32)),
        (lambda a: a * 2.5, np.array([True, False])), (lambda a: a.sin(), np.array([1, 2])),
        (lambda a: a.sin(), np.array([1.0], np.float16)), (lambda a: a * 2.0, np.array([1.0], np.float16)),
        (lambda a: a.cumsum(0), u8), (lambda a: a.prod(), np.array([2, 3], np.int32)),
    ]
    for f, x in cases:
        ours, theirs = f(Tensor(x)), f(torch.from_numpy(x))
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (x.dtype, ours.dtype, theirs.dtype)
        np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), rtol=1e-3)
