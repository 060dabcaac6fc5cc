"""cross_entropy / nll_loss on inputs of rank > 2 take classes on axis 1, as PyTorch:
(N, C, d1, ...) scores with (N, d1, ...) targets (issue 11)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from chainrule import Tensor
from chainrule import nn
from chainrule.errors import ShapeError
from chainrule.nn import functional as NF

N, C, D1, D2 = 2, 3, 4, 5


def _case(seed=0, shape=(N, C, D1, D2)):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(shape)
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    return z, t


def test_hand_worked_spatial_loss_reads_axis_1():
    # one pixel per image, two images: scores (2, 3, 1); row n's classes are z[n, :, 0]
    z = np.array([[[2.0], [1.0], [0.0]], [[0.0], [0.0], [0.0]]])
    loss = NF.cross_entropy(Tensor(z), np.array([[0], [2]]), reduction="none")
    assert loss.shape == (2, 1)
    np.testing.assert_allclose(loss.numpy()[:, 0], [0.40760596, np.log(3)], rtol=1e-6)


def test_old_classes_last_target_gets_a_clear_error():
    z = Tensor(np.zeros((2, 7, 3)))  # (N, T, C) as a sequence model would give
    with pytest.raises(ShapeError, match=r"axis 1.*movedim\(-1, 1\)"):
        NF.cross_entropy(z, np.zeros((2, 7), np.int64))
    with pytest.raises(ShapeError, match="class indices of shape"):
        nn.NLLLoss()(z, np.zeros((2, 5), np.int64))  # fits neither reading


def test_movedim_gives_the_old_reading():
    z, t = _case(1, (2, 4, 3))  # (N, T, C) with T = 4
    t = np.random.default_rng(1).integers(0, 3, (2, 4))
    old = NF.cross_entropy(Tensor(z.reshape(-1, 3)), t.reshape(-1))
    new = NF.cross_entropy(Tensor(z).movedim(-1, 1), t)
    np.testing.assert_allclose(new.item(), old.item(), rtol=1e-12)


@pytest.mark.parametrize("reduction, weighted, ignore, smoothing",
                         list(itertools.product(["mean", "sum", "none"], [False, True],
                                                [False, True], [0.0, 0.2])))
def test_cross_entropy_matches_torch_on_n_c_d1_d2(reduction, weighted, ignore, smoothing):
    torch = pytest.importorskip("torch")
    z, t = _case(3)
    if ignore:
        t[0, 1, :2] = -100
    w = np.array([0.5, 2.0, 1.0]) if weighted else None
    x = Tensor(z, requires_grad=True)
    ours = NF.cross_entropy(x, t, None if w is None else Tensor(w), reduction=reduction,
                            label_smoothing=smoothing)
    tz = torch.tensor(z, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(
        tz, torch.tensor(t), None if w is None else torch.tensor(w), reduction=reduction,
        label_smoothing=smoothing)
    assert ours.shape == tuple(theirs.shape)
    g = np.random.default_rng(4).standard_normal(ours.shape)
    ours.backward(g)
    theirs.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(x.grad, tz.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_modules_match_torch_on_n_c_d1(reduction):
    torch = pytest.importorskip("torch")
    z, t = _case(5, (N, C, D1))
    t[1, 0] = 1  # ignore_index=1 below: some labels skipped
    w = np.array([1.0, 3.0, 0.5])
    logp = torch.log_softmax(torch.tensor(z), dim=1)
    x = Tensor(logp.numpy(), requires_grad=True)
    ours = nn.NLLLoss(weight=w, ignore_index=1, reduction=reduction)(x, t)
    tx = logp.clone().requires_grad_(True)
    theirs = torch.nn.NLLLoss(weight=torch.tensor(w), ignore_index=1, reduction=reduction)(
        tx, torch.tensor(t))
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    # the module and probability targets of the input's shape (classes on axis 1 too)
    p = np.random.default_rng(6).dirichlet(np.ones(C), (N, D1)).transpose(0, 2, 1)
    ours = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)(Tensor(z), Tensor(p))
    theirs = torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1)(
        torch.tensor(z), torch.tensor(p))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10)


def test_fused_loss_gradient_on_a_non_contiguous_input():
    # z.T is a view in column-major order: the fused op's reverse rule must still subtract
    # the one-hot target (it once wrote into a temporary copy and lost it)
    z = np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 0.0]])  # (C, N): the logits are z.T
    x = Tensor(z, requires_grad=True)
    NF.cross_entropy(x.T, np.array([0, 1]), reduction="sum").backward()
    p0 = np.exp([2.0, 1.0, 0.0]) / np.exp([2.0, 1.0, 0.0]).sum()
    np.testing.assert_allclose(x.grad[:, 0], p0 - [1, 0, 0], rtol=1e-12)
    np.testing.assert_allclose(x.grad[:, 1], np.full(3, 1 / 3) - [0, 1, 0], rtol=1e-12)
