"""Issue 12's loss options and losses: class weights and ignore_index, pos_weight, L1, Huber,
smooth L1 and KL divergence; hand-worked numbers, and PyTorch parity (forward and backward in
float64, skipped without torch)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor, nn, ops
from chainrule.errors import ConfigError, DataError, ShapeError
from chainrule.nn import functional as NF

rng = np.random.default_rng(0)
N, C = 7, 4
Z = rng.standard_normal((N, C)) * 2
LABELS = np.array([0, 3, 1, 1, 2, 0, 3])
W = np.array([0.5, 2.0, 1.0, 3.0])
Q = rng.dirichlet(np.ones(C), size=N)
P = rng.uniform(0.05, 0.95, size=(N, 3))
Y = rng.uniform(0, 1, size=(N, 3))
REDUCTIONS = ("mean", "sum", "none")


# --- hand-worked numbers ------------------------------------------------------------------

def test_weighted_cross_entropy_by_hand():
    # p = softmax([0, ln 3]) = [1/4, 3/4]; row 0 (class 0) costs ln 4, row 1 (class 1) ln 4/3;
    # with w = [2, 1] the mean is (2·ln 4 + 1·ln 4/3) / (2 + 1), PyTorch's weighted mean
    z = Tensor([[0.0, math.log(3)]] * 2)
    got = NF.cross_entropy(z, [0, 1], weight=[2.0, 1.0]).item()
    assert got == pytest.approx((2 * math.log(4) + math.log(4 / 3)) / 3, rel=1e-6)
    assert NF.cross_entropy(z, [0, 1], [2.0, 1.0], reduction="sum").item() == \
        pytest.approx(2 * math.log(4) + math.log(4 / 3), rel=1e-6)
    # an ignored row costs nothing and leaves the mean: only row 1 counts
    assert NF.cross_entropy(z, [-100, 1]).item() == pytest.approx(math.log(4 / 3), rel=1e-6)
    assert NF.cross_entropy(z, [5, 1], ignore_index=5, reduction="none").tolist() == \
        pytest.approx([0.0, math.log(4 / 3)], rel=1e-6)


def test_pos_weight_by_hand():
    # z = 0: softplus(0) = ln 2; a positive with pos_weight 3 costs 3 ln 2, a negative ln 2
    loss = NF.binary_cross_entropy_with_logits(Tensor([0.0, 0.0]), [1.0, 0.0], pos_weight=[3.0],
                                               reduction="none")
    np.testing.assert_allclose(loss.numpy(), [3 * math.log(2), math.log(2)], rtol=1e-6)


def test_regression_losses_by_hand():
    pred, target = Tensor([0.5, -3.0, 1.0]), [0.0, 0.0, 0.0]
    assert NF.l1_loss(pred, target).item() == pytest.approx(1.5)  # (0.5 + 3 + 1)/3
    # Huber δ = 1: ½·0.25, 1·(3 − ½), ½·1 = 0.125, 2.5 (|d| = δ is on the linear side: 0.5)
    np.testing.assert_allclose(NF.huber_loss(pred, target, reduction="none").numpy(),
                               [0.125, 2.5, 0.5])
    # smooth L1 β = 2: ½·0.25/2, 3 − 1, ½·1/2
    np.testing.assert_allclose(NF.smooth_l1_loss(pred, target, beta=2.0, reduction="none").numpy(),
                               [0.0625, 2.0, 0.25])
    np.testing.assert_allclose(NF.smooth_l1_loss(pred, target, beta=0.0, reduction="none").numpy(),
                               [0.5, 3.0, 1.0])


def test_kl_divergence_by_hand():
    # KL(p ‖ q) for p = [½, ½, 0], q = [¼, ¾, ε]: ½ ln 2 + ½ ln ⅔; the p = 0 term is 0
    q = np.array([[0.25, 0.75 - 1e-9, 1e-9]])
    p = [[0.5, 0.5, 0.0]]
    want = 0.5 * math.log(2) + 0.5 * math.log(2 / 3)
    x = Tensor(np.log(q), requires_grad=True)
    kl = NF.kl_div(x, p, reduction="batchmean")
    assert kl.item() == pytest.approx(want, rel=1e-6)
    kl.backward()
    np.testing.assert_allclose(x.grad, [[-0.5, -0.5, 0.0]])  # ∂/∂ ln q = −p
    assert NF.kl_div(x, np.log(np.array([[0.5, 0.5, 1e-300]])), log_target=True,
                     reduction="sum").item() == pytest.approx(want, rel=1e-6)
    assert NF.kl_div(x, p).item() == pytest.approx(want / 3, rel=1e-6)  # "mean": every element


def test_common_cross_entropy_keeps_its_fused_node():
    z = Tensor(Z, requires_grad=True)
    assert isinstance(NF.cross_entropy(z, LABELS).op, ops.SoftmaxCrossEntropy)
    assert isinstance(NF.cross_entropy(z, LABELS, reduction="none").op, ops.SoftmaxCrossEntropy)
    assert isinstance(NF.cross_entropy(z, LABELS, ignore_index=7).op, ops.SoftmaxCrossEntropy)
    assert not isinstance(NF.cross_entropy(z, LABELS, ignore_index=2).op, ops.SoftmaxCrossEntropy)


def test_bce_rejects_probabilities_outside_the_unit_interval():
    with pytest.raises(DataError, match=r"predictions \(probabilities\) must lie in \[0, 1\]; "
                                        r"got values from -0.5 to 1.2"):
        NF.binary_cross_entropy(Tensor([0.5, -0.5, 1.2]), [1.0, 0.0, 1.0])
    with pytest.raises(DataError, match="predictions"):
        nn.BCELoss()(Tensor([2.0]), [1.0])
    # a diverged model's NaN is a NaN loss, not a data error (fit stops on it)
    assert math.isnan(NF.binary_cross_entropy(Tensor([np.nan, 0.5]), [1.0, 0.0]).item())
    # forward mode too
    with pytest.raises(DataError, match="predictions"):
        NF.binary_cross_entropy(Dual(np.array([1.5]), np.array([1.0])), [1.0])


def test_option_errors():
    with pytest.raises(ConfigError, match="reduction is keyword-only.*reduction='sum'"):
        NF.binary_cross_entropy(Tensor([0.5]), [1.0], "sum")
    with pytest.raises(ShapeError, match=r"weight must have one value per class, shape \(4,\)"):
        NF.cross_entropy(Tensor(Z), LABELS, weight=[2.0])
    with pytest.raises(DataError, match=r"\[0, 4\) \(or ignore_index -100\)"):
        NF.cross_entropy(Tensor(Z), np.array([0, 1, 2, 3, 4, 0, -100]))
    with pytest.raises(ConfigError, match="delta"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ConfigError, match="beta"):
        nn.SmoothL1Loss(beta=-1)
    with pytest.raises(ConfigError, match="batchmean"):
        nn.MSELoss(reduction="batchmean")
    with pytest.raises(ShapeError, match="target shape"):
        NF.l1_loss(Tensor(np.zeros((3, 1))), np.zeros(3))


def test_names_and_modules_save_and_load(tmp_path):
    for name, cls in [("l1", nn.L1Loss), ("huber", nn.HuberLoss), ("smooth_l1", nn.SmoothL1Loss),
                      ("kl_div", nn.KLDivLoss), ("mae", nn.L1Loss)]:
        assert type(nn.get_loss(name)) is cls
    pytest.importorskip("safetensors")
    loss = nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5, 1.0]), ignore_index=2,
                               label_smoothing=0.1)
    assert "weight" in loss.state_dict()  # a buffer, as PyTorch's
    cr.save(loss, tmp_path / "loss.safetensors")
    back = cr.load(tmp_path / "loss.safetensors")
    z = Tensor(Z)
    assert back(z, LABELS).item() == loss(z, LABELS).item()
    assert back.ignore_index == 2 and back.label_smoothing == 0.1
    bce = nn.BCEWithLogitsLoss(pos_weight=[2.0, 1.0, 0.5])
    cr.save(bce, tmp_path / "bce.safetensors")
    np.testing.assert_array_equal(cr.load(tmp_path / "bce.safetensors").pos_weight.numpy(),
                                  [2.0, 1.0, 0.5])


# --- PyTorch parity -----------------------------------------------------------------------

def _pair(torch, ours, theirs, *arrays, grad_of=(0,), rtol=1e-10):
    a = [Tensor(x, requires_grad=i in grad_of) for i, x in enumerate(arrays)]
    t = [torch.tensor(x, requires_grad=i in grad_of) for i, x in enumerate(arrays)]
    lo, lt = ours(*a), theirs(*t)
    np.testing.assert_allclose(lo.numpy(), lt.detach().numpy(), rtol=rtol, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(lo.shape)
    lo.backward(g)
    lt.backward(torch.tensor(g))
    for i in grad_of:
        np.testing.assert_allclose(a[i].grad, t[i].grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_and_nll_options_match_torch(reduction, smoothing, weighted):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    w = W if weighted else None
    tw = torch.tensor(W) if weighted else None
    labels = LABELS.copy()
    labels[[1, 4]] = -100
    for t in (LABELS, labels):
        _pair(torch, lambda z, t=t: NF.cross_entropy(z, t, w, reduction=reduction,
                                                     label_smoothing=smoothing),
              lambda z, t=t: TF.cross_entropy(z, torch.tensor(t), tw, reduction=reduction,
                                              label_smoothing=smoothing), Z)
        _pair(torch, lambda lp, t=t: NF.nll_loss(lp, t, w, reduction=reduction),
              lambda lp, t=t: TF.nll_loss(lp, torch.tensor(t), tw, reduction=reduction),
              Z - np.log(np.exp(Z).sum(1, keepdims=True)))
    # another ignore_index, and probability targets with class weights
    t = np.where(LABELS == 3, 1, LABELS)
    _pair(torch, lambda z: NF.cross_entropy(z, t, w, ignore_index=1, reduction=reduction),
          lambda z: TF.cross_entropy(z, torch.tensor(t), tw, ignore_index=1, reduction=reduction), Z)
    _pair(torch, lambda z, q: NF.cross_entropy(z, q, w, reduction=reduction,
                                               label_smoothing=smoothing),
          lambda z, q: TF.cross_entropy(z, q, tw, reduction=reduction, label_smoothing=smoothing),
          Z, Q, grad_of=(0, 1))
    # the modules
    _pair(torch, nn.CrossEntropyLoss(w, ignore_index=0, reduction=reduction,
                                     label_smoothing=smoothing),
          torch.nn.CrossEntropyLoss(tw, ignore_index=0, reduction=reduction,
                                    label_smoothing=smoothing), Z, LABELS, grad_of=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_options_match_torch(reduction):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    ew = rng.uniform(0.5, 2.0, size=(N, 3))
    pw = np.array([3.0, 0.5, 1.0])
    _pair(torch, lambda p, y: NF.binary_cross_entropy(p, y, ew, reduction=reduction),
          lambda p, y: TF.binary_cross_entropy(p, y, torch.tensor(ew), reduction=reduction),
          P, Y, grad_of=(0,))
    for weight in (None, ew):
        tw = None if weight is None else torch.tensor(weight)
        _pair(torch, lambda z, y, w=weight: NF.binary_cross_entropy_with_logits(
                  z, y, w, reduction=reduction, pos_weight=pw),
              lambda z, y, tw=tw: TF.binary_cross_entropy_with_logits(
                  z, y, tw, reduction=reduction, pos_weight=torch.tensor(pw)),
              Z[:, :3] * 4, Y, grad_of=(0, 1))
    _pair(torch, nn.BCEWithLogitsLoss(pos_weight=pw, reduction=reduction),
          torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw), reduction=reduction),
          Z[:, :3], Y, grad_of=(0,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    a, b = Z * 2, rng.standard_normal(Z.shape)
    b[0, :2] = a[0, :2] + [0.7, -1.0]  # on the kinks: |d| = δ exactly, d = β exactly
    pairs = [(nn.L1Loss(reduction), torch.nn.L1Loss(reduction=reduction)),
             (nn.HuberLoss(reduction, 0.7), torch.nn.HuberLoss(reduction=reduction, delta=0.7)),
             (nn.HuberLoss(reduction), torch.nn.HuberLoss(reduction=reduction)),
             (nn.SmoothL1Loss(reduction, 1.0), torch.nn.SmoothL1Loss(reduction=reduction)),
             (nn.SmoothL1Loss(reduction, 0.0), torch.nn.SmoothL1Loss(reduction=reduction, beta=0)),
             (nn.SmoothL1Loss(reduction, 2.5), torch.nn.SmoothL1Loss(reduction=reduction, beta=2.5))]
    for ours, theirs in pairs:
        _pair(torch, ours, theirs, a, b, grad_of=(0, 1))


@pytest.mark.parametrize("reduction", REDUCTIONS + ("batchmean",))
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    torch = pytest.importorskip("torch")
    lq = Z - np.log(np.exp(Z).sum(1, keepdims=True))
    p = Q.copy()
    p[0, 1] = 0.0  # a zero-probability target: its term is 0
    target = np.log(Q) if log_target else p
    theirs = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)

    def quiet(x, t):  # torch warns that "mean" averages over every element (it does, here too)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return theirs(x, t)
    _pair(torch, nn.KLDivLoss(reduction, log_target), quiet, lq, target, grad_of=(0,))
