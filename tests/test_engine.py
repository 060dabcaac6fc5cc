"""The reverse-mode engine: accumulation, broadcasting, freeing, modes, and bad input."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor
from chainrule import functional as F


def test_gradient_accumulates_where_a_value_is_used_twice():
    x = Tensor([2.0, -1.0], requires_grad=True)
    y = (x * x + x * 3.0).sum()  # dy/dx = 2x + 3
    y.backward()
    np.testing.assert_allclose(x.grad, [7.0, 1.0])


def test_leaf_grads_accumulate_across_backward_calls_until_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 4.0])
    x.zero_grad()
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_shared_cotangent_is_not_aliased_between_leaves():
    a = Tensor([1.0, 1.0], requires_grad=True)
    b = Tensor([1.0, 1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 10  # must not write through to b.grad
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_broadcast_gradients_are_summed_to_input_shape():
    w = Tensor(np.ones((1, 3)), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    x = Tensor(np.arange(6.0).reshape(2, 3))
    (x * w + b).sum().backward()
    np.testing.assert_allclose(w.grad, [[3.0, 5.0, 7.0]])
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])


def test_diamond_graph_visits_each_node_once():
    x = Tensor(np.array(0.5), requires_grad=True)
    h = x.tanh()
    y = h * h + h  # both branches reuse h
    y.backward()
    t = np.tanh(0.5)
    np.testing.assert_allclose(x.grad, (2 * t + 1) * (1 - t * t))


def test_deep_chain_needs_no_recursion():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_graph_is_freed_and_a_second_backward_is_a_clear_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(cr.GraphError, match="already freed.*retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * np.exp([1.0, 2.0]), rtol=1e-6)


def test_graph_has_no_reference_cycles():
    x = Tensor(np.ones(3), requires_grad=True)
    y = (x.sigmoid() * 2).sum()
    ref = weakref.ref(y.op)
    gc.disable()
    try:
        del y
        assert ref() is None, "the graph must be freed by reference counting alone"
    finally:
        gc.enable()


def test_no_grad_records_nothing():
    x = Tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
        with cr.enable_grad():
            z = x * 2
    assert not y.requires_grad and y.op is None
    assert z.requires_grad
    assert cr.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = Tensor([3.0], requires_grad=True)
    y = x * x.detach()
    y.backward()
    np.testing.assert_allclose(x.grad, [3.0])


def test_getitem_scatter_adds_repeated_indices():
    x = Tensor(np.arange(4.0), requires_grad=True)
    x[np.array([1, 1, 3, 1])].sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 3.0, 0.0, 1.0])


def test_python_scalars_keep_float32():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert x.dtype == np.float32
    y = 2 * x + 1.5 - x / 3 + x**2
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_numpy_interop():
    x = Tensor([[1.0, 2.0]])
    assert np.asarray(x).tolist() == [[1.0, 2.0]]
    assert (np.ones(2) + x).shape == (1, 2)  # ndarray + Tensor defers to Tensor
    assert isinstance(np.ones(2) + x, Tensor)
    assert x.sum().item() == 3.0
    assert Tensor(np.arange(3)).dtype == np.int64
    assert Tensor([1, 2], dtype="float64").dtype == np.float64


def test_comparisons_and_argmax_are_not_differentiable():
    x = Tensor([1.0, 3.0, 2.0], requires_grad=True)
    assert not (x > 1.5).requires_grad
    assert (x > 1.5).tolist() == [False, True, True]
    assert x.argmax().item() == 1


# --- the functional API -------------------------------------------------------------------

def test_grad_value_and_grad_vjp_jvp_agree():
    def f(w, x):
        return (x @ w).tanh().sum()

    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal((4, 3))
    v, (gw, gx) = cr.value_and_grad(f, argnums=(0, 1))(w, x)
    np.testing.assert_allclose(cr.grad(f)(w, x), gw)
    assert gx.shape == x.shape
    _, pullback = cr.vjp(lambda w: (Tensor(x) @ w).tanh(), w)
    u = np.ones((4, 2))
    np.testing.assert_allclose(pullback(u)[0], gw)
    np.testing.assert_allclose(pullback(u)[0], gw)  # a pullback can be called again
    dw = rng.standard_normal(w.shape)
    _, t = cr.jvp(lambda w: f(w, x), [w], [dw])
    np.testing.assert_allclose(float(t), np.sum(gw * dw), rtol=1e-10)


def test_check_grad_reports_a_wrong_derivative():
    from chainrule.ops import Op

    class BadSquare(Op, register=False):
        def forward(self, x):
            self.save(x)
            return x * x

        def vjp(self, g):
            return (g * self.saved[0],)  # should be 2x

        def jvp(self, t):
            return 2 * t * self.saved[0]

    with pytest.raises(cr.GradcheckError, match=r"bad: reverse mode .* index \(\d+,\).*relative error"):
        cr.check_grad(lambda x: type(x)._apply(BadSquare, x), np.array([1.0, 2.0]), name="bad")


def test_numerical_grad_matches_closed_form():
    g = cr.numerical_grad(lambda x: (x**3).sum(), np.array([1.0, 2.0]))[0]
    np.testing.assert_allclose(g, [3.0, 12.0], rtol=1e-8)


# --- numerical stability (inputs of magnitude 1e4 in float32) ------------------------------

BIG = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)


def test_sigmoid_is_stable():
    x = Tensor(BIG, requires_grad=True)
    y = x.sigmoid()
    np.testing.assert_allclose(y.data, [0.0, 1.9287e-22, 0.5, 1.0, 1.0], rtol=1e-4)
    y.sum().backward()
    assert np.all(np.isfinite(x.grad))


def test_softplus_is_stable():
    x = Tensor(BIG, requires_grad=True)
    y = F.softplus(x)
    np.testing.assert_allclose(y.data, [0.0, 1.9287e-22, np.log(2), 50.0, 1e4], rtol=1e-4)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)


def test_logsumexp_and_log_softmax_are_stable():
    z = Tensor(np.array([[1e4, 1e4 - 1.0, -1e4]], dtype=np.float32), requires_grad=True)
    lse = F.logsumexp(z, axis=1)
    np.testing.assert_allclose(lse.data, [1e4 + np.log1p(np.exp(-1.0))], rtol=1e-6)
    ls = F.log_softmax(z, axis=1)
    assert np.all(np.isfinite(ls.data))
    np.testing.assert_allclose(ls.data[0, :2], [-np.log1p(np.exp(-1.0)), -1 - np.log1p(np.exp(-1.0))],
                               rtol=1e-4)
    ls[:, 0].sum().backward()
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(F.softmax(z).data.sum(), 1.0, rtol=1e-6)


def test_logsumexp_of_infinite_rows_is_their_limit():
    # a fully masked row (all -inf) sums nothing: -inf, not nan; a +inf entry dominates: +inf
    z = np.array([[-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0], [0.0, 1.0, -np.inf]],
                 dtype=np.float32)
    with np.errstate(invalid="ignore", divide="ignore"):  # softmax of the inf rows is 0/0
        lse = F.logsumexp(Tensor(z), axis=1).data
    np.testing.assert_allclose(lse, [-np.inf, np.inf, np.log(1 + np.e)], rtol=1e-6)


def test_softmax_of_the_notes_scores():
    """NOTES.md 3: duck 2, beaver 1, walrus 0 → ≈ 0.67, 0.24, 0.09."""
    p = F.softmax(Tensor([2.0, 1.0, 0.0])).numpy()
    np.testing.assert_allclose(p, [0.67, 0.24, 0.09], atol=0.005)


# --- bad input ----------------------------------------------------------------------------

def test_binary_op_shape_mismatch_names_op_and_shapes():
    with pytest.raises(cr.ShapeError, match=r"Add.*\(2, 3\).*\(4,\)"):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(4))


def test_matmul_shape_mismatch_names_op_and_shapes():
    with pytest.raises(cr.ShapeError, match=r"MatMul.*\(2, 3\).*\(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_backward_on_non_scalar_needs_a_gradient():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(cr.GraphError, match=r"non-scalar.*\(3,\)"):
        (x * 2).backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(cr.DTypeError, match="int64"):
        Tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(cr.DTypeError, match="gradients need floats"):
        cr.grad(lambda x: x.sum())(np.array([1, 2]))


def test_unknown_dtype():
    with pytest.raises(cr.DTypeError, match="bfloat16.*expected one of"):
        Tensor([1.0], dtype="bfloat16")
    with pytest.raises(cr.DTypeError, match="complex"):
        Tensor(np.array([1j]))


def test_axis_out_of_range():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(cr.AxisError, match=r"Sum.*axis.*\(2, 3\)"):
        x.sum(axis=2)
    with pytest.raises(cr.AxisError, match=r"axis 5"):
        x.mean(axis=5)
    with pytest.raises(cr.AxisError):
        x.unsqueeze(4)


def test_errors_are_chainrule_errors_and_builtin_kinds():
    assert issubclass(cr.ShapeError, cr.ChainruleError) and issubclass(cr.ShapeError, ValueError)
    assert issubclass(cr.DTypeError, TypeError)


def test_detect_anomaly_names_the_first_op_producing_nan():
    x = Tensor([-1.0, 4.0], requires_grad=True)
    with cr.detect_anomaly():
        with pytest.raises(cr.AnomalyError, match="op Log produced NaN"):
            (x * 2).log()
    with np.errstate(invalid="ignore"):
        y = (x * 2).log()  # outside the context: no check
    assert np.isnan(y.data[0])


def test_detect_anomaly_checks_gradients_too():
    x = Tensor([0.0], requires_grad=True)
    with cr.detect_anomaly():
        y = x.sqrt()  # fine forward: sqrt(0) = 0
        with pytest.raises(cr.AnomalyError, match="Sqrt produced Inf in its gradient"):
            y.sum().backward()


def test_tensor_constants_join_forward_mode():
    d = cr.Dual(np.array([2.0]), np.array([1.0]))
    c = Tensor(np.array([3.0]))
    for y in (c * d, d * c):
        np.testing.assert_allclose(y.tangent, [3.0])


def test_leaf_gradient_never_writes_into_a_pending_cotangent():
    # c = x + a hands one array to the leaf x and to the pending node a = exp(x); a later
    # in-place accumulation into x.grad must not change what a's vjp receives.
    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    a = x.exp()
    b = x * 2.0
    d = (x + a) + b
    d.sum().backward()
    np.testing.assert_allclose(x.grad, 1 + np.exp([0.5, 1.0]) + 2)


def test_gradients_of_two_leaves_are_separate_arrays_across_passes():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True)
    (x + y).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 4.0])
    np.testing.assert_allclose(y.grad, [1.0, 1.0])


def test_zero_dimensional_gradients_accumulate():
    x = Tensor(np.array(0.5), requires_grad=True)
    h = x.tanh()
    (h * h + h).backward()
    (x * 2.0).backward()
    t = np.tanh(0.5)
    np.testing.assert_allclose(x.grad, (2 * t + 1) * (1 - t * t) + 2.0)


def test_many_slices_of_one_tensor_add_into_one_gradient():
    x = Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    parts = [x[i] * float(i + 1) for i in range(4)] + [x[np.array([0, 0, 3])]]
    sum(p.sum() for p in parts).backward()
    want = np.array([[1.0] * 3, [2.0] * 3, [3.0] * 3, [4.0] * 3])
    want[0] += 2.0
    want[3] += 1.0
    np.testing.assert_allclose(x.grad, want)
