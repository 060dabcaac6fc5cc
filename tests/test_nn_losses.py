"""Objectives: gradients in both modes, NumPy closed forms, torch parity, stability, bad
input, and the worked numbers of NOTES.md sections 3 and 4."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor, nn
from chainrule.errors import ConfigError, DataError, ShapeError
from chainrule.nn import functional as NF

RNG = np.random.default_rng(1234)
N, C = 4, 3
Z = RNG.standard_normal((N, C))             # scores
P = RNG.uniform(0.1, 0.9, (N, C))           # probabilities
Y01 = RNG.integers(0, 2, (N, C)).astype(np.float64)
YSOFT = RNG.uniform(0.1, 0.9, (N, C))
LABELS = np.array([2, 0, 1, 2])
Q = RNG.dirichlet(np.ones(C), N)            # probability targets


def _np_log_softmax(z):
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _np_reduce(v, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](v)


# --- gradients, both modes, float64 ---------------------------------------------------------

REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_grad_binary_cross_entropy(reduction):
    cr.check_grad(lambda p, y: NF.binary_cross_entropy(p, y, reduction=reduction), P, YSOFT)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_grad_binary_cross_entropy_with_logits(reduction):
    cr.check_grad(lambda z, y: NF.binary_cross_entropy_with_logits(z, y, reduction=reduction), 3 * Z, YSOFT)


@pytest.mark.parametrize("reduction", REDUCTIONS + ["half_sum"])
def test_grad_mse(reduction):
    cr.check_grad(lambda a, b: NF.mse_loss(a, b, reduction), Z, P)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_grad_cross_entropy_indices(reduction, smoothing):
    cr.check_grad(lambda z: NF.cross_entropy(z, LABELS, label_smoothing=smoothing,
                                             reduction=reduction), Z)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_grad_cross_entropy_probabilities(smoothing):
    cr.check_grad(lambda z, q: NF.cross_entropy(z, q, label_smoothing=smoothing), Z, Q)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_grad_nll(reduction):
    cr.check_grad(lambda lp: NF.nll_loss(lp, LABELS, reduction=reduction), np.log(P))


def test_grad_log_likelihood_and_half_sum():
    cr.check_grad(lambda p: NF.log_likelihood(p, Y01), P)
    cr.check_grad(lambda z: NF.log_likelihood_with_logits(z, Y01), Z)
    cr.check_grad(lambda a, b: NF.half_sum_squared_error(a, b), Z, P)


# --- values against NumPy closed forms ------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_values_against_numpy(reduction):
    bce = -(YSOFT * np.log(P) + (1 - YSOFT) * np.log(1 - P))
    np.testing.assert_allclose(NF.binary_cross_entropy(Tensor(P), YSOFT, reduction=reduction).data,
                               _np_reduce(bce, reduction), rtol=1e-12)
    s = 1 / (1 + np.exp(-Z))
    bcel = -(YSOFT * np.log(s) + (1 - YSOFT) * np.log(1 - s))
    np.testing.assert_allclose(
        NF.binary_cross_entropy_with_logits(Tensor(Z), YSOFT, reduction=reduction).data,
        _np_reduce(bcel, reduction), rtol=1e-12)
    np.testing.assert_allclose(NF.mse_loss(Tensor(Z), P, reduction).data,
                               _np_reduce((Z - P) ** 2, reduction), rtol=1e-12)
    lsm = _np_log_softmax(Z)
    ce = -lsm[np.arange(N), LABELS]
    np.testing.assert_allclose(NF.cross_entropy(Tensor(Z), LABELS, reduction=reduction).data,
                               _np_reduce(ce, reduction), rtol=1e-12)
    np.testing.assert_allclose(NF.cross_entropy(Tensor(Z), Q, reduction=reduction).data,
                               _np_reduce(-(Q * lsm).sum(axis=1), reduction), rtol=1e-12)
    np.testing.assert_allclose(NF.nll_loss(Tensor(lsm), LABELS, reduction=reduction).data,
                               _np_reduce(ce, reduction), rtol=1e-12)


def test_half_sum_and_label_smoothing_closed_forms():
    np.testing.assert_allclose(NF.mse_loss(Tensor(Z), P, "half_sum").item(), 0.5 * ((Z - P) ** 2).sum())
    eps = 0.2
    lsm = _np_log_softmax(Z)
    target = (1 - eps) * np.eye(C)[LABELS] + eps / C
    want = -(target * lsm).sum(axis=1).mean()
    np.testing.assert_allclose(NF.cross_entropy(Tensor(Z), LABELS, label_smoothing=eps).item(), want,
                               rtol=1e-12)
    np.testing.assert_allclose(NF.cross_entropy(Tensor(Z), np.eye(C)[LABELS], label_smoothing=eps).item(),
                               want, rtol=1e-12)


def test_bce_clamps_probabilities():
    loss = NF.binary_cross_entropy(Tensor([0.0, 1.0], dtype="float64"), [1.0, 0.0], reduction="none")
    np.testing.assert_allclose(loss.data, -np.log(1e-7), rtol=1e-6)
    # in float32, 1 − 1e-7 rounds to 1 − 2⁻²³: still finite, about −ln 1e-7
    loss32 = NF.binary_cross_entropy(Tensor([0.0, 1.0]), [1.0, 0.0], reduction="none")
    assert np.all(np.isfinite(loss32.data))
    np.testing.assert_allclose(loss32.data, -np.log(1e-7), rtol=0.02)


def test_cross_entropy_single_row_and_higher_rank():
    z = RNG.standard_normal((2, 3, C))
    t = np.array([[0, 1, 2], [2, 2, 0]])
    lsm = _np_log_softmax(z)
    want = -np.take_along_axis(lsm, t[..., None], -1)[..., 0]
    # classes on axis 1 for rank > 2, as in PyTorch: (N, C, T) scores with (N, T) targets
    got = NF.cross_entropy(Tensor(np.moveaxis(z, -1, 1)), t, reduction="none")
    np.testing.assert_allclose(got.data, want, rtol=1e-12)
    np.testing.assert_allclose(NF.cross_entropy(Tensor(Z[0]), 2).item(), -_np_log_softmax(Z[0])[2])


def test_float32_stays_float32():
    z = Tensor(Z.astype(np.float32), requires_grad=True)
    for loss in (NF.cross_entropy(z, LABELS), NF.mse_loss(z, P), NF.binary_cross_entropy_with_logits(z, Y01)):
        assert loss.dtype == np.float32
        loss.backward()
        assert z.grad.dtype == np.float32


def test_modules_match_functions_and_get_loss():
    z = Tensor(Z)
    pairs = [
        (nn.BCELoss(reduction="sum"), NF.binary_cross_entropy(Tensor(P), Y01, reduction="sum"),
         (Tensor(P), Y01)),
        (nn.BCEWithLogitsLoss(), NF.binary_cross_entropy_with_logits(z, Y01), (z, Y01)),
        (nn.MSELoss(reduction="none"), NF.mse_loss(z, P, "none"), (z, P)),
        (nn.CrossEntropyLoss(label_smoothing=0.1), NF.cross_entropy(z, LABELS, label_smoothing=0.1),
         (z, LABELS)),
        (nn.NLLLoss(), NF.nll_loss(z, LABELS), (z, LABELS)),
    ]
    for module, want, args in pairs:
        np.testing.assert_array_equal(module(*args).data, want.data)
    for name, cls in [("bce", nn.BCELoss), ("bce_with_logits", nn.BCEWithLogitsLoss),
                      ("mse", nn.MSELoss), ("cross_entropy", nn.CrossEntropyLoss), ("nll", nn.NLLLoss)]:
        assert type(nn.get_loss(name)) is cls
    assert nn.get_loss("cross_entropy", label_smoothing=0.1).label_smoothing == 0.1


def test_get_loss_unknown_lists_valid_names():
    with pytest.raises(ConfigError) as exc:
        nn.get_loss("hinge")
    msg = str(exc.value)
    assert "'hinge'" in msg
    for name in ("bce", "bce_with_logits", "mse", "cross_entropy", "nll"):
        assert name in msg


# --- bad input ------------------------------------------------------------------------------

def test_class_labels_out_of_range_or_not_integers():
    z = Tensor(Z)
    with pytest.raises(DataError, match=r"cross_entropy: class labels must lie in \[0, 3\).*max 3"):
        NF.cross_entropy(z, np.array([0, 1, 2, 3]))
    with pytest.raises(DataError, match=r"min -1"):
        NF.nll_loss(z, np.array([0, -1, 2, 1]))
    with pytest.raises(DataError, match=r"must be integers; got non-integer values such as \[0.5\]"):
        NF.cross_entropy(z, np.array([0.0, 0.5, 1.0, 2.0]))
    with pytest.raises(DataError, match="must be integers; got dtype bool"):
        NF.cross_entropy(z, np.array([True, False, True, True]))
    # integral floats are accepted as labels, as one_hot accepts them
    np.testing.assert_array_equal(NF.cross_entropy(z, LABELS.astype(float)).data,
                                  NF.cross_entropy(z, LABELS).data)


def test_targets_of_wrong_shape():
    z = Tensor(Z)
    with pytest.raises(ShapeError, match=r"cross_entropy: class-index target must have shape \(4,\) "
                                         r"for input of shape \(4, 3\); got \(4, 1\)"):
        NF.cross_entropy(z, LABELS.reshape(-1, 1))
    with pytest.raises(ShapeError, match=r"cross_entropy: target of shape \(4, 2\) fits neither"):
        NF.cross_entropy(z, np.zeros((4, 2)))
    with pytest.raises(ShapeError, match=r"nll_loss: target must be class indices"):
        NF.nll_loss(z, Q)
    with pytest.raises(ShapeError,
                       match=r"mse_loss: target shape \(4,\) does not match input shape \(4, 1\)"):
        NF.mse_loss(Tensor(np.zeros((4, 1))), np.zeros(4))
    with pytest.raises(ShapeError, match=r"binary_cross_entropy_with_logits: target shape \(3,\)"):
        NF.binary_cross_entropy_with_logits(Tensor(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ShapeError, match=r"binary_cross_entropy: target shape"):
        nn.BCELoss()(Tensor(np.full(3, 0.5)), np.zeros((3, 1)))


def test_bce_targets_outside_unit_interval():
    with pytest.raises(DataError, match=r"targets must lie in \[0, 1\]; got values from 0.0 to 2.0"):
        NF.binary_cross_entropy_with_logits(Tensor([0.0, 0.0]), [0.0, 2.0])


def test_unknown_reduction_and_bad_smoothing():
    with pytest.raises(ConfigError, match=r"Invalid reduction: 'avg' \(expected one of 'mean'.*in mse_loss"):
        NF.mse_loss(Tensor([1.0]), [1.0], reduction="avg")
    for f in (NF.binary_cross_entropy, NF.binary_cross_entropy_with_logits):
        with pytest.raises(ConfigError, match="Invalid reduction"):
            f(Tensor([0.5]), [1.0], reduction="half_sum")
    with pytest.raises(ConfigError, match="Invalid reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ConfigError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ConfigError, match="label_smoothing"):
        NF.cross_entropy(Tensor(Z), LABELS, label_smoothing=-0.1)


# --- stability ------------------------------------------------------------------------------

def test_bce_with_logits_stable_for_huge_scores_float32():
    z = Tensor(np.array([1e4, -1e4, 1e4, -1e4], dtype=np.float32), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0], dtype=np.float32)
    loss = NF.binary_cross_entropy_with_logits(z, y, reduction="none")
    np.testing.assert_array_equal(loss.data, [0.0, 0.0, 1e4, 1e4])
    loss.sum().backward()
    np.testing.assert_array_equal(z.grad, [0.0, 0.0, 1.0, -1.0])  # σ(z) − y


def test_cross_entropy_stable_for_huge_scores_float32():
    z = Tensor(np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]], dtype=np.float32), requires_grad=True)
    loss = NF.cross_entropy(z, np.array([0, 0]), reduction="none")
    assert np.all(np.isfinite(loss.data))
    np.testing.assert_allclose(loss.data, [0.0, 1e4 + math.log(2)], rtol=1e-6)
    loss.sum().backward()
    assert np.all(np.isfinite(z.grad))
    np.testing.assert_allclose(z.grad, [[0.0, 0.0, 0.0], [-1.0, 0.5, 0.5]], atol=1e-6)
    soft = NF.cross_entropy(z.detach(), np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32),
                            reduction="none")
    # float32 spacing near 1e4 is about 1e-3, so ln 2 survives to that absolute accuracy
    np.testing.assert_allclose(soft.data, [1e4, math.log(2)], rtol=1e-6, atol=1e-3)


# --- torch parity ---------------------------------------------------------------------------

def _torch_pair(f_ours, f_torch, *arrays, grad_of=(0,)):
    torch = pytest.importorskip("torch")
    ours = [Tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad_of) for i, a in enumerate(arrays)]
    lo, lt = f_ours(*ours), f_torch(*theirs)
    np.testing.assert_allclose(lo.data, lt.detach().numpy(), rtol=1e-10, atol=1e-12)
    lo.sum().backward()
    lt.sum().backward()
    for i in grad_of:
        np.testing.assert_allclose(ours[i].grad, theirs[i].grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_torch_parity(reduction):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    _torch_pair(lambda p, y: NF.binary_cross_entropy(p, y, reduction=reduction),
                lambda p, y: TF.binary_cross_entropy(p, y, reduction=reduction), P, YSOFT)
    _torch_pair(lambda z, y: NF.binary_cross_entropy_with_logits(z, y, reduction=reduction),
                lambda z, y: TF.binary_cross_entropy_with_logits(z, y, reduction=reduction),
                5 * Z, YSOFT, grad_of=(0, 1))
    _torch_pair(lambda a, b: NF.mse_loss(a, b, reduction),
                lambda a, b: TF.mse_loss(a, b, reduction=reduction), Z, P, grad_of=(0, 1))
    for eps in (0.0, 0.15):
        _torch_pair(lambda z, e=eps: NF.cross_entropy(z, LABELS, label_smoothing=e, reduction=reduction),
                    lambda z, e=eps: TF.cross_entropy(z, torch.tensor(LABELS), label_smoothing=e,
                                                      reduction=reduction), Z)
        _torch_pair(lambda z, q, e=eps: NF.cross_entropy(z, q, label_smoothing=e, reduction=reduction),
                    lambda z, q, e=eps: TF.cross_entropy(z, q, label_smoothing=e, reduction=reduction),
                    Z, Q, grad_of=(0, 1))
    _torch_pair(lambda lp: NF.nll_loss(lp, LABELS, reduction=reduction),
                lambda lp: TF.nll_loss(lp, torch.tensor(LABELS), reduction=reduction), np.log(P))


def test_torch_parity_modules():
    torch = pytest.importorskip("torch")
    _torch_pair(lambda z: nn.CrossEntropyLoss(label_smoothing=0.1)(z, LABELS),
                lambda z: torch.nn.CrossEntropyLoss(label_smoothing=0.1)(z, torch.tensor(LABELS)), Z)
    _torch_pair(lambda z, y: nn.BCEWithLogitsLoss(reduction="sum")(z, y),
                lambda z, y: torch.nn.BCEWithLogitsLoss(reduction="sum")(z, y), Z, Y01)


# --- NOTES.md section 3: the worked numbers -------------------------------------------------

def test_notes_red_blue_points():
    # P(blue) per point; the points are red, blue, red, blue.
    p_blue = Tensor([0.9, 0.6, 0.3, 0.2], dtype="float64")
    y_blue = [0.0, 1.0, 0.0, 1.0]
    ll = NF.log_likelihood(p_blue, y_blue)
    assert math.exp(ll.item()) == pytest.approx(0.1 * 0.6 * 0.7 * 0.2) == pytest.approx(0.0084)
    ce = NF.binary_cross_entropy(p_blue, y_blue, reduction="sum").item()
    assert round(ce, 2) == 4.78 and ce == pytest.approx(-ll.item())
    # the better model gives the points their colours with probabilities 0.7, 0.9, 0.8, 0.6
    better = Tensor([1 - 0.7, 0.9, 1 - 0.8, 0.6], dtype="float64")
    ll2 = NF.log_likelihood(better, y_blue).item()
    assert math.exp(ll2) == pytest.approx(0.3024)
    assert round(-ll2, 2) == 1.20
    assert ll2 > ll.item()
    # the mean-reduced BCE is the same cross-entropy averaged over the points
    assert NF.binary_cross_entropy(better, y_blue).item() == pytest.approx(-ll2 / 4)
    # the same numbers from scores through the stable logits form
    logits = np.log(better.data / (1 - better.data))
    assert NF.log_likelihood_with_logits(Tensor(logits), y_blue).item() == pytest.approx(ll2)


def test_notes_three_doors():
    p_gift = Tensor([0.8, 0.7, 0.1], dtype="float64")
    likely = [1.0, 1.0, 0.0]
    assert math.exp(NF.log_likelihood(p_gift, likely).item()) == pytest.approx(0.504)
    assert round(NF.binary_cross_entropy(p_gift, likely, reduction="sum").item(), 2) == 0.69
    unlikely = [0.0, 0.0, 1.0]  # 0.2 · 0.3 · 0.1 = 0.006
    assert math.exp(NF.log_likelihood(p_gift, unlikely).item()) == pytest.approx(0.006)
    assert round(NF.binary_cross_entropy(p_gift, unlikely, reduction="sum").item(), 2) == 5.12


def test_notes_animals_multiclass_cross_entropy():
    # columns: doors 1-3; rows of P: duck, beaver, walrus. Found: duck, walrus, walrus.
    probs = np.array([[0.7, 0.2, 0.1], [0.3, 0.4, 0.3], [0.1, 0.5, 0.4]])
    found = np.array([0, 2, 2])
    y = cr.one_hot(found, 3)
    np.testing.assert_array_equal(y.data, [[1, 0, 0], [0, 0, 1], [0, 0, 1]])  # one-hot rows
    logp = Tensor(np.log(probs))
    ce_nll = NF.nll_loss(logp, found, reduction="sum").item()
    ce_onehot = NF.cross_entropy(logp, y.data.astype(np.float64), reduction="sum").item()
    by_hand = -(y.data * np.log(probs)).sum()                           # −Σ y ln p
    assert round(ce_nll, 2) == 2.48
    assert ce_nll == pytest.approx(ce_onehot) == pytest.approx(by_hand)
    assert math.exp(-ce_nll) == pytest.approx(0.7 * 0.3 * 0.4) == pytest.approx(0.084)


def test_notes_softmax_duck_beaver_walrus():
    z = Tensor([2.0, 1.0, 0.0], dtype="float64")
    np.testing.assert_array_equal(NF.softmax(z).data.round(2), [0.67, 0.24, 0.09])
    np.testing.assert_array_equal(nn.Softmax()(z).data.round(2), [0.67, 0.24, 0.09])
    np.testing.assert_allclose(nn.Softmax()(z).data, np.exp([2, 1, 0]) / np.exp([2, 1, 0]).sum())


# --- NOTES.md section 4: the δ recursion and the log-loss step --------------------------------

def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_notes_delta_recursion_matches_engine():
    rng = np.random.default_rng(0)
    l1, l2, l3 = (nn.Linear(4, 5, rng=1, dtype="float64"), nn.Linear(5, 3, rng=2, dtype="float64"),
                  nn.Linear(3, 2, rng=3, dtype="float64"))
    net = nn.Sequential(l1, nn.Sigmoid(), l2, nn.Sigmoid(), l3, nn.Sigmoid())
    x = rng.standard_normal((6, 4))
    y_star = rng.uniform(0, 1, (6, 2))
    E = NF.half_sum_squared_error(net(Tensor(x)), y_star)   # E = ½ Σ (y* − y)²
    E.backward()

    # Forward pass in NumPy: y_i of each layer (the input counts as layer 0's outputs).
    y0 = x
    y1 = _sigmoid(y0 @ l1.weight.data.T + l1.bias.data)
    y2 = _sigmoid(y1 @ l2.weight.data.T + l2.bias.data)
    y3 = _sigmoid(y2 @ l3.weight.data.T + l3.bias.data)
    assert E.item() == pytest.approx(0.5 * ((y_star - y3) ** 2).sum())
    # Output units: δ_t = −y_t(1 − y_t)(y*_t − y_t).
    d3 = -y3 * (1 - y3) * (y_star - y3)
    # Hidden units: δ_j = y_j(1 − y_j) Σ_k w_jk δ_k, where w_jk = weight[k, j] (weight is (out, in)).
    d2 = y2 * (1 - y2) * (d3 @ l3.weight.data)
    d1 = y1 * (1 - y1) * (d2 @ l2.weight.data)
    # ∂E/∂w_ij = δ_j y_i summed over the data set; the bias is a weight on a constant input 1.
    for layer, delta, y_in in [(l3, d3, y2), (l2, d2, y1), (l1, d1, y0)]:
        np.testing.assert_allclose(layer.weight.grad, delta.T @ y_in, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(layer.bias.grad, delta.sum(axis=0), rtol=1e-12, atol=1e-14)
    # The update w_ij ← w_ij − η δ_j y_i is then plain gradient descent.
    eta = 0.5
    w_new = l1.weight.data - eta * (d1.T @ y0)
    np.testing.assert_allclose(w_new, l1.weight.data - eta * l1.weight.grad, rtol=1e-12)


@pytest.mark.parametrize("from_logits", [True, False])
def test_notes_log_loss_step_is_minus_eta_gradient(from_logits):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 3))
    y = rng.integers(0, 2, (8, 1)).astype(np.float64)
    neuron = nn.Linear(3, 1, rng=0, dtype="float64")
    z = neuron(Tensor(x))
    if from_logits:
        loss = NF.binary_cross_entropy_with_logits(z, y, reduction="sum")
    else:
        loss = NF.binary_cross_entropy(nn.Sigmoid()(z), y, reduction="sum")
    loss.backward()
    y_hat = _sigmoid(x @ neuron.weight.data.T + neuron.bias.data)
    eta = 0.1
    # w ← w + η(y − ŷ)x, b ← b + η(y − ŷ), summed over the points
    step_w = eta * ((y - y_hat) * x).sum(axis=0)
    step_b = eta * (y - y_hat).sum(axis=0)
    np.testing.assert_allclose(step_w, -eta * neuron.weight.grad[0], rtol=1e-10)
    np.testing.assert_allclose(step_b, -eta * neuron.bias.grad, rtol=1e-10)
    # gradient ascent on the log-likelihood takes the same step
    neuron.zero_grad()
    NF.log_likelihood(nn.Sigmoid()(neuron(Tensor(x))), y).backward()
    np.testing.assert_allclose(step_w, eta * neuron.weight.grad[0], rtol=1e-10)
