"""PyTorch's result dtypes for mixed-dtype arithmetic and comparisons (issue 11): the dtype grid
against torch (skipped without it), and hand-checked cases that run everywhere."""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor
from chainrule.errors import ChainruleError, DTypeError
from chainrule.forward import Dual
from chainrule.ops import result_dtype

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
       "**": operator.pow, "<": operator.lt, "<=": operator.le, "==": operator.eq,
       "!=": operator.ne, ">": operator.gt}


def _values(dtype: str, shape=(4,)) -> np.ndarray:
    if dtype == "bool":
        return np.resize(np.array([True, False, True, True]), shape)
    return np.resize(np.array([1, 2, 3, 2]), shape).astype(dtype)


# --- hand-checked: no torch needed ---------------------------------------------------------

@pytest.mark.parametrize("a, b, expected", [
    ("int32", "float32", "float32"), ("int64", "float16", "float16"), ("bool", "float64", "float64"),
    ("uint8", "int8", "int16"), ("bool", "int8", "int8"), ("float16", "float32", "float32"),
    ("uint8", "uint8", "uint8"), ("int16", "int64", "int64"),
])
def test_mixed_tensors_take_pytorch_dtype(a, b, expected):
    x, y = Tensor(_values(a)), Tensor(_values(b))
    assert (x * y).dtype == expected and (y + x).dtype == expected


def test_zero_dim_operand_of_same_kind_does_not_widen():
    x = Tensor([1.0, 2.0])  # float32
    assert (x * Tensor(np.float64(2.0))).dtype == np.float32
    assert (Tensor(np.array([1, 2], np.int32)) + Tensor(np.int64(5))).dtype == np.int32
    # a 0-d operand of a higher kind wins: int tensor / float64 scalar tensor is float64
    assert (Tensor(np.array([1, 2])) / Tensor(np.float64(2.0))).dtype == np.float64
    assert result_dtype(np.zeros(()), np.zeros((), np.float32)) == np.float64  # both 0-d: NumPy's


def test_python_numbers_and_true_division():
    i = Tensor(np.array([1, 2, 3], np.int32))
    assert (i * 0.5).dtype == np.float32 and (0.5 + i).dtype == np.float32
    assert (i / i).dtype == np.float32 and (i / 2).dtype == np.float32
    np.testing.assert_array_equal((i / 2).numpy(), [0.5, 1.0, 1.5])
    assert (Tensor(np.array([1], np.uint8)) + 1).dtype == np.uint8
    h = Tensor(np.array([1.0, 2.0], np.float16))
    assert (h * 2.5).dtype == np.float16 and (h / h).dtype == np.float16
    assert (h.sin()).dtype == np.float16


def test_int_overflow_wraps_like_pytorch():
    assert (Tensor(np.array([1], np.int8)) + 1000).tolist() == [-23]


def test_bool_subtraction_and_negation_raise():
    m = Tensor(np.array([True, False]))
    for f in (lambda: m - m, lambda: m - 1, lambda: m - Tensor([1.0, 2.0]), lambda: -m,
              lambda: m ** m):
        with pytest.raises(DTypeError, match="bool"):
            f()


def test_mixed_dtype_gradients_come_back_in_each_inputs_dtype():
    h = Tensor(np.array([1.0, 2.0], np.float16), requires_grad=True)
    w = Tensor(np.array([3.0, 4.0], np.float32), requires_grad=True)
    y = h * w * Tensor(np.array([1, 2], np.int64))
    assert y.dtype == np.float32
    y.sum().backward()
    assert h.grad.dtype == np.float16 and w.grad.dtype == np.float32
    np.testing.assert_array_equal(h.grad, [3.0, 8.0])
    np.testing.assert_array_equal(w.grad, [1.0, 4.0])
    d = Dual(np.array([1.0, 2.0], np.float16), np.ones(2, np.float16)) * w
    assert d.primal.dtype == np.float32 and d.tangent.dtype == np.float32


def test_comparisons_compare_in_the_common_dtype():
    big = Tensor(np.array([16777217], np.int64))
    assert (big == Tensor(np.array([16777216.0], np.float32))).tolist() == [True]  # as PyTorch
    assert (Tensor([1.0, 2.0]) < 2).tolist() == [True, False]


def test_other_binary_ops_promote():
    i, f = Tensor(np.array([1, 5], np.int32)), Tensor([2.0, 2.0])
    for y in (cr.maximum(i, f), cr.minimum(i, f), cr.where(Tensor(np.array([True, False])), i, f),
              cr.fmod(i, f), cr.remainder(i, f), cr.atan2(i, f)):
        assert y.dtype == np.float32, y


# --- the grid against torch -----------------------------------------------------------------

def _torch_case(torch, f, x, y):
    try:
        return f(torch.from_numpy(x), torch.from_numpy(y))
    except (RuntimeError, NotImplementedError):
        return None


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("zero_dim", [False, True], ids=["nd", "0d-right"])
def test_dtype_grid_matches_torch(op, zero_dim):
    torch = pytest.importorskip("torch")
    f = OPS[op]
    for a, b in itertools.product(DTYPES, DTYPES):
        x, y = _values(a), _values(b, () if zero_dim else (4,))
        want = _torch_case(torch, f, x, y)
        if want is None:
            with pytest.raises(ChainruleError):
                f(Tensor(x), Tensor(y))
            continue
        with np.errstate(all="ignore"):  # bool / bool has 0 / 0
            got = f(Tensor(x), Tensor(y))
        want_dtype = str(want.dtype).removeprefix("torch.")
        assert str(got.dtype) == want_dtype, (op, a, b)
        tol = 1e-3 if "float16" in (a, b) else 1e-6
        np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                                   rtol=tol, err_msg=f"{op} {a} {b}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("number", [2, 2.5, True])
def test_python_numbers_match_torch(dtype, number):
    torch = pytest.importorskip("torch")
    x = _values(dtype)
    for op in ("+", "*", "/", "**", "<"):
        f = OPS[op]
        want = _torch_case(torch, lambda a, b, f=f: f(a, number), x, x)
        if want is None or (op, dtype, number) == ("**", "bool", True):
            continue  # (torch's bool ** True is x itself; bool ** bool raises in both)
        got = f(Tensor(x), number)
        assert str(got.dtype) == str(want.dtype).removeprefix("torch."), (op, dtype, number)
        np.testing.assert_allclose(got.numpy().astype(np.float64), want.numpy().astype(np.float64),
                                   rtol=1e-3)


# --- what the issue-11 sweep found (acting as a PyTorch user) ------------------------------

def test_functions_of_int_tensors_give_float32():
    i = Tensor(np.array([1, 4], np.int32))
    for y in (i.exp(), i.log(), i.sqrt(), i.sigmoid(), i.tanh(), i.logsumexp(0), cr.softmax(i, 0)):
        assert y.dtype == np.float32, y
    np.testing.assert_allclose(i.sqrt().numpy(), [1.0, 2.0])
    assert i.relu().dtype == np.int32  # (as PyTorch: relu keeps ints)


def test_cat_stack_and_matmul_promote():
    i, f = Tensor(np.array([1, 2], np.int32)), Tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    y = cr.cat([i, f])
    assert y.dtype == np.float32 and y.tolist() == [1.0, 2.0, 0.5, 1.5]
    y.sum().backward()
    assert f.grad.dtype == np.float32 and f.grad.tolist() == [1.0, 1.0]
    assert cr.stack([i, f]).dtype == np.float32
    # matmul of two dtypes: PyTorch refuses; chainrule takes their result dtype (documented)
    w = Tensor(np.ones((2, 1), np.float32), requires_grad=True)
    y = Tensor(np.array([[1, 2]])) @ w
    assert y.dtype == np.float32 and y.tolist() == [[3.0]]
    y.sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [[1.0], [2.0]]


def test_clamp_floor_divide_shifts_neg_movedim():
    x = Tensor([1.0, 5.0], requires_grad=True)
    y = x.clamp(2, 3)
    y.sum().backward()
    assert y.tolist() == [2.0, 3.0] and x.grad.tolist() == [0.0, 0.0]
    assert cr.clamp(Tensor(np.array([0, 2], np.int32)), min=0.5).tolist() == [0.5, 2.0]
    assert Tensor([1.0, 5.0]).clamp(min=Tensor([2.0, 2.0])).tolist() == [2.0, 5.0]
    i = Tensor(np.array([7, -7]))
    assert (i // 2).tolist() == [3, -4] and (i // 2).dtype == np.int64
    assert (i // 2.5).dtype == np.float32 and (7 // Tensor([2.0])).tolist() == [3.0]
    assert (i << 1).tolist() == [14, -14] and (i >> 1).tolist() == [3, -4]
    assert i.neg().tolist() == [-7, 7] and i.negative().tolist() == [-7, 7]
    assert cr.movedim(Tensor(np.zeros((2, 3, 4))), 1, -1).shape == (2, 4, 3)


def test_sweep_fixes_match_torch():
    torch = pytest.importorskip("torch")
    a, b = np.array([5.0, -5.0, 3.5, -3.5]), np.array([3.0, 3.0, -2.0, -2.0])
    np.testing.assert_array_equal((Tensor(a) // Tensor(b)).numpy(),
                                  (torch.tensor(a) // torch.tensor(b)).numpy())
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    for s, d in [(1, -1), ((0, 1), (2, 3)), (-1, 0)]:
        assert Tensor(x).movedim(s, d).shape == tuple(torch.tensor(x).movedim(s, d).shape)
    ours, theirs = Tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours.clamp(-4, 4).sum().backward()
    theirs.clamp(-4, 4).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_sweep_edges_of_0d_and_empty_tensors():
    x = Tensor(np.array(1.5), requires_grad=True)
    x.flip(0).backward()
    assert x.grad == 1.0
    values, indices = Tensor(np.array(2.0)).topk(1)
    assert values.shape == () and values.item() == 2.0 and indices.item() == 0
    e = Tensor(np.zeros((0, 3)), requires_grad=True)
    y = e.logsumexp(0)  # log of an empty sum: −inf, as PyTorch
    assert y.shape == (3,) and np.all(np.isneginf(y.numpy()))
    y.sum().backward()
    assert e.grad.shape == (0, 3)
