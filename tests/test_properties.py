"""Property-based tests (Hypothesis) over the ops: random shapes with broadcasting, dtypes and
values (edges included). Every sample of the registry keeps jvp and vjp adjoint for random
directions; the element-wise ops, reductions and scans match NumPy (and PyTorch when installed)
on their forward pass and finite differences on both rules. Bounded: a few dozen examples a
test, so the file runs in seconds."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor
from chainrule.ops import OPS
from chainrule.samples import collect

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

try:
    import torch
except ImportError:  # the NumPy references still run
    torch = None

FEW = settings(max_examples=15, deadline=None, derandomize=True, database=None)
SAMPLES = collect()
REGISTRY = [(name, case) for name in OPS for case in SAMPLES.get(name, [])[:2]]

# --- the whole registry: reverse and forward mode are adjoint in every random direction -----


@pytest.mark.parametrize(("name", "case"), REGISTRY, ids=[f"{n}-{c.id}" for n, c in REGISTRY])
@settings(max_examples=3, deadline=None, derandomize=True, database=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_op_keeps_jvp_and_vjp_adjoint(name, case, seed):
    rng = np.random.default_rng(seed)
    xs = [np.array(x, dtype=np.float64) for x in case.inputs]
    vs = [rng.standard_normal(x.shape) for x in xs]
    out = case.f(*[Dual(x, v) for x, v in zip(xs, vs)])
    u = rng.standard_normal(out.primal.shape)
    ts = [Tensor(x, requires_grad=True) for x in xs]
    case.f(*ts).backward(u)
    reverse = sum(float(np.sum(t.grad * v)) for t, v in zip(ts, vs) if t.grad is not None)
    forward = float(np.sum(u * out.tangent_or_zeros()))
    assert forward == pytest.approx(reverse, rel=1e-9, abs=1e-9)


# --- element-wise functions: forward against NumPy/PyTorch, rules against finite differences -

# name: (NumPy reference, torch name or None, the open interval of smooth points to draw from)
UNARY = {
    "exp": (np.exp, "exp", (-5, 5)), "log": (np.log, "log", (0.05, 5)),
    "sqrt": (np.sqrt, "sqrt", (0.05, 5)), "tanh": (np.tanh, "tanh", (-5, 5)),
    "sin": (np.sin, "sin", (-6, 6)), "cos": (np.cos, "cos", (-6, 6)),
    "tan": (np.tan, "tan", (-1.3, 1.3)), "asin": (np.arcsin, "asin", (-0.9, 0.9)),
    "acos": (np.arccos, "acos", (-0.9, 0.9)), "atan": (np.arctan, "atan", (-5, 5)),
    "sinh": (np.sinh, "sinh", (-5, 5)), "cosh": (np.cosh, "cosh", (-5, 5)),
    "asinh": (np.arcsinh, "asinh", (-5, 5)), "acosh": (np.arccosh, "acosh", (1.1, 5)),
    "atanh": (np.arctanh, "atanh", (-0.9, 0.9)), "erf": (None, "erf", (-4, 4)),
    "erfc": (None, "erfc", (-4, 6)), "log1p": (np.log1p, "log1p", (-0.9, 5)),
    "expm1": (np.expm1, "expm1", (-5, 5)), "log2": (np.log2, "log2", (0.05, 5)),
    "log10": (np.log10, "log10", (0.05, 5)), "exp2": (np.exp2, "exp2", (-5, 5)),
    "square": (np.square, "square", (-5, 5)), "reciprocal": (np.reciprocal, "reciprocal", (0.1, 5)),
    "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), "sigmoid", (-8, 8)),
}


def edge_values(dtype):
    """0, −0, ±1, the smallest and largest normal numbers, ±inf and NaN in ``dtype``."""
    fi = np.finfo(dtype)
    return [dtype(v) for v in (0.0, -0.0, 1.0, -1.0, fi.tiny, -fi.tiny, fi.max, -fi.max,
                               np.inf, -np.inf, np.nan)]


shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def arrays(shape, lo=-1e6, hi=1e6, edges=True, dtype=np.float64):
    # (subnormal points only with the edges: there x/y-style rules such as cumprod's, PyTorch's
    # too, overflow, and finite differences are meaningless)
    elements = st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=edges,
                         width=np.dtype(dtype).itemsize * 8)
    if edges:
        elements = elements | st.sampled_from(edge_values(np.dtype(dtype).type))
    return hnp.arrays(dtype, shape, elements=elements)


def assert_same(ours, ref, rtol=1e-12, atol=0.0):
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name", list(UNARY))
@FEW
@given(data=st.data(), dtype=st.sampled_from([np.float64, np.float32]))
def test_unary_forward_matches_numpy_and_torch(name, data, dtype):
    ref, tname, _ = UNARY[name]
    x = data.draw(arrays(data.draw(shapes), dtype=dtype))
    with np.errstate(all="ignore"):
        y = getattr(Tensor(x), name)()
        assert y.dtype == dtype and y.shape == x.shape
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        if ref is not None:
            assert_same(y.numpy(), ref(x), rtol=rtol)
        if torch is not None:
            t = getattr(torch, tname)(torch.from_numpy(x.copy())).numpy()
            assert_same(y.numpy(), t, rtol=rtol * 100, atol=1e-300 if dtype == np.float64 else 1e-37)


@pytest.mark.parametrize("name", list(UNARY))
@FEW
@given(data=st.data())
def test_unary_rules_match_finite_differences(name, data):
    lo, hi = UNARY[name][2]
    x = data.draw(arrays(data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
                         lo, hi, edges=False))
    cr.check_grad(lambda t: getattr(t, name)(), x, name=name, rtol=1e-4, atol=1e-5)


# name: (NumPy reference, torch function, how to draw y given x's values)
BINARY = {
    "add": (np.add, "add"), "sub": (np.subtract, "sub"), "mul": (np.multiply, "mul"),
    "maximum": (np.maximum, "maximum"), "minimum": (np.minimum, "minimum"),
    "atan2": (np.arctan2, "atan2"), "logaddexp": (np.logaddexp, "logaddexp"),
    "fmod": (np.fmod, "fmod"), "remainder": (np.remainder, "remainder"),
}
CALL = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "maximum": cr.maximum, "minimum": cr.minimum}


def _call(name, a, b):
    return CALL[name](a, b) if name in CALL else getattr(a, name)(b)


@pytest.mark.parametrize("name", list(BINARY))
@FEW
@given(data=st.data())
def test_binary_forward_broadcasts_like_numpy_and_torch(name, data):
    ref, tname = BINARY[name]
    (sa, sb), _ = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    with np.errstate(all="ignore"):
        y = _call(name, Tensor(a), Tensor(b))
        assert_same(y.numpy(), ref(a, b))
        if torch is not None:
            t = getattr(torch, tname)(torch.from_numpy(a.copy()), torch.from_numpy(b.copy())).numpy()
            assert_same(y.numpy(), t, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name", list(BINARY))
@FEW
@given(data=st.data())
def test_binary_rules_match_finite_differences(name, data):
    (sa, sb), _ = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    a = data.draw(arrays(sa, -3, 3, edges=False))
    b = data.draw(arrays(sb, -3, 3, edges=False))
    if name in ("maximum", "minimum"):  # off the kink x = y
        hypothesis.assume(np.all(np.abs(a - b) > 1e-3))
    if name in ("fmod", "remainder"):  # off the jumps, where x/y is an integer, and y = 0
        with np.errstate(all="ignore"):
            q = a / b
        hypothesis.assume(np.all(np.abs(b) > 0.1) and np.all(np.abs(q - np.round(q)) > 1e-3))
    if name == "atan2":
        y, x = np.broadcast_arrays(a, b)  # off the origin and the cut along y = 0, x < 0
        hypothesis.assume(np.all(np.hypot(y, x) > 0.1) and not np.any((np.abs(y) < 0.01) & (x < 0)))
    cr.check_grad(lambda x, y: _call(name, x, y), a, b, name=name, rtol=1e-4, atol=1e-5)


# --- reductions and scans over random axes ---------------------------------------------------

REDUCTIONS = {"sum": (np.sum, True), "prod": (np.prod, True), "max": (np.max, False),
              "logsumexp": (None, True), "any": (np.any, None), "all": (np.all, None)}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@FEW
@given(data=st.data())
def test_reductions_over_random_axes(name, data):
    ref, smooth = REDUCTIONS[name]
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    keep = data.draw(st.booleans())
    x = data.draw(arrays(shape, -2, 2, edges=False))
    y = getattr(Tensor(x), name)(axis=axis, keepdims=keep)
    if ref is not None:
        assert_same(y.numpy(), ref(x, axis=axis, keepdims=keep), rtol=1e-12)
    if torch is not None and axis is not None and name != "logsumexp":
        t = getattr(torch.from_numpy(x), {"max": "amax"}.get(name, name))(axis, keepdim=keep)
        assert_same(y.numpy(), t.numpy(), rtol=1e-12)
    if smooth:
        cr.check_grad(lambda t: getattr(t, name)(axis=axis, keepdims=keep), x, name=name)


SCANS = {"cumsum": np.cumsum, "cumprod": np.cumprod, "cummax": np.maximum.accumulate,
         "logcumsumexp": np.logaddexp.accumulate}


@pytest.mark.parametrize("name", list(SCANS))
@FEW
@given(data=st.data())
def test_scans_over_random_axes(name, data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = data.draw(arrays(shape, -2, 2, edges=False))
    if name == "cumprod" and data.draw(st.booleans()):  # exact zeros too
        x = np.where(data.draw(hnp.arrays(bool, shape)), 0.0, x)
    y = getattr(Tensor(x), name)(dim)
    y = y[0] if isinstance(y, tuple) else y
    assert_same(y.numpy(), SCANS[name](x, axis=dim), rtol=1e-12, atol=1e-15)
    if name == "cummax":  # off ties, where the gradient jumps (by more than the step of 1e-6)
        hypothesis.assume(x.size < 2 or np.diff(np.sort(x.ravel())).min() > 1e-3)
    f = (lambda t: getattr(t, name)(dim)[0]) if name == "cummax" else (lambda t: getattr(t, name)(dim))
    cr.check_grad(f, x, name=name)


# --- dtypes ----------------------------------------------------------------------------------


@FEW
@given(x=hnp.arrays(st.sampled_from([np.int32, np.int64, np.bool_]), shapes))
def test_float_functions_of_integers_are_float32_like_torch(x):
    for name in ("sin", "exp2", "erf", "log1p", "atan"):
        with np.errstate(all="ignore"):
            y = getattr(Tensor(x), name)()
        assert y.dtype == np.float32, name
        if torch is not None:
            assert getattr(torch, name)(torch.from_numpy(x)).dtype == torch.float32
