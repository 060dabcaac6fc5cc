"""Issue 12's layers: Unflatten, channel dropout, GroupNorm, InstanceNorm, pad modes;
hand-worked numbers, PyTorch parity (forward and backward in float64, skipped without torch)
and save/load through chainrule.io."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor, nn
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import functional as NF

from .torch_compare import step_matches_torch

rng = np.random.default_rng(0)


def _load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()
                          if k in ours.state_dict()})


# --- Unflatten and channel dropout -----------------------------------------------------------

def test_unflatten():
    x = Tensor(np.arange(24.0).reshape(2, 12))
    assert nn.Unflatten(1, (3, 4))(x).shape == (2, 3, 4)
    assert nn.Unflatten(-1, (2, -1, 3))(x).shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(nn.Unflatten(1, (3, 4))(x).numpy(),
                                  np.arange(24.0).reshape(2, 3, 4))
    with pytest.raises(ShapeError, match=r"sizes \(5, 2\) do not split dimension 1 of length 12"):
        nn.Unflatten(1, (5, 2))(x)
    # Flatten then Unflatten is the identity
    y = Tensor(rng.standard_normal((2, 3, 4, 5)))
    back = nn.Unflatten(1, (3, 4, 5))(nn.Flatten()(y))
    np.testing.assert_array_equal(back.numpy(), y.numpy())


@pytest.mark.parametrize("cls, shape", [(nn.Dropout1d, (50, 8, 6)), (nn.Dropout2d, (50, 8, 3, 2)),
                                        (nn.Dropout1d, (8, 6)), (nn.Dropout2d, (8, 3, 2))])
def test_channel_dropout_zeroes_whole_channels(cls, shape):
    d = cls(0.25, rng=0)
    x = Tensor(np.ones(shape), requires_grad=True)
    y = d(x)
    lead = len(shape) - (1 if cls is nn.Dropout1d else 2)
    per_channel = y.numpy().reshape(shape[:lead] + (-1,))
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # constant within a channel
    assert set(np.unique(per_channel)) <= {0.0, 1 / 0.75}
    if len(shape) - lead > 0 and per_channel.size > 100:
        assert 0.15 < (per_channel[..., 0] == 0).mean() < 0.35
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.numpy())  # gradient is the mask
    # seeded: the same seed gives the same masks; eval is the identity
    np.testing.assert_array_equal(cls(0.25, rng=0)(Tensor(np.ones(shape))).numpy(), y.numpy())
    assert cls(0.25).eval()(x) is x
    with pytest.raises(ShapeError, match="expected an input of shape"):
        cls(0.5)(Tensor(np.ones((2,) * 5)))


def test_channel_dropout_functional_forms():
    x = Tensor(np.ones((4, 3, 5)))
    assert NF.dropout1d(x, 0.5, training=False) is x
    assert NF.dropout1d(x, 1.0).numpy().sum() == 0
    with pytest.raises(ConfigError, match="dropout probability p"):
        NF.dropout2d(Tensor(np.ones((1, 1, 2, 2))), 1.5)


# --- GroupNorm and InstanceNorm ---------------------------------------------------------------

def test_group_norm_by_hand():
    # two groups of two channels, one example: group 1 = [1, 3 | 5, 7]: mean 4, var 5
    x = Tensor(np.array([[[1.0, 3.0], [5.0, 7.0], [0.0, 0.0], [2.0, 2.0]]]))
    y = nn.GroupNorm(2, 4, eps=1e-12).double()(x).numpy()
    np.testing.assert_allclose(y[0, :2], (np.array([[1, 3], [5, 7]]) - 4) / np.sqrt(5))
    np.testing.assert_allclose(y[0, 2:], [[-1, -1], [1, 1]], rtol=1e-9)
    with pytest.raises(ConfigError, match="divisible"):
        nn.GroupNorm(3, 4)


@pytest.mark.parametrize("groups, shape", [(2, (3, 4, 5)), (1, (2, 4, 3, 3)), (4, (2, 4, 6)),
                                           (2, (5, 4))])
def test_group_norm_matches_torch(groups, shape):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.GroupNorm(groups, 4).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(4)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(4)))
    ours = nn.GroupNorm(groups, 4).double()
    _load_from_torch(ours, theirs)
    step_matches_torch(torch, ours, theirs, rng.standard_normal(shape) * 2 + 1, rtol=1e-9)


@pytest.mark.parametrize("name, shape", [("InstanceNorm1d", (3, 2, 7)),
                                         ("InstanceNorm2d", (2, 2, 4, 3)),
                                         ("InstanceNorm1d", (2, 7)), ("InstanceNorm2d", (2, 4, 3))])
@pytest.mark.parametrize("kw", [{}, {"affine": True}, {"track_running_stats": True},
                                {"affine": True, "track_running_stats": True, "momentum": 0.3}])
def test_instance_norm_matches_torch_in_train_and_eval(name, shape, kw):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(2, **kw).double()
    if kw.get("affine"):
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(rng.standard_normal(2)))
            theirs.bias.copy_(torch.tensor(rng.standard_normal(2)))
    ours = getattr(nn, name)(2, **kw).double()
    _load_from_torch(ours, theirs)
    for _ in range(3):  # running statistics must follow torch's
        step_matches_torch(torch, ours, theirs, rng.standard_normal(shape) * 2 + 1, rtol=1e-9)
    if kw.get("track_running_stats"):
        np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(),
                                   rtol=1e-12)
        np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(),
                                   rtol=1e-12)
        assert int(ours.num_batches_tracked.numpy()) == int(theirs.num_batches_tracked) == 0
    ours.eval()
    theirs.eval()
    step_matches_torch(torch, ours, theirs, rng.standard_normal(shape), rtol=1e-9)


def test_instance_norm_errors():
    with pytest.raises(ShapeError, match="expected 3 channels"):
        nn.InstanceNorm1d(3)(Tensor(np.zeros((2, 4, 5))))
    with pytest.raises(ShapeError, match="more than one spatial value"):
        nn.InstanceNorm1d(3)(Tensor(np.zeros((2, 3, 1))))
    with pytest.raises(ConfigError, match="never updates its running statistics"):
        nn.InstanceNorm1d(3, momentum=None, track_running_stats=True)
    with pytest.raises(ShapeError, match=r"expected an input \(N, C, H, W\)"):
        nn.InstanceNorm2d(3)(Tensor(np.zeros((2, 3))))


# --- pad ------------------------------------------------------------------------------------

def test_pad_by_hand():
    x = Tensor(np.array([[1.0, 2.0, 3.0]]))
    assert NF.pad(x, (2, 1), mode="reflect").tolist() == [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]
    assert NF.pad(x, (2, 1), mode="replicate").tolist() == [[1.0, 1.0, 1.0, 2.0, 3.0, 3.0]]
    assert NF.pad(x, (2, 1), mode="circular").tolist() == [[2.0, 3.0, 1.0, 2.0, 3.0, 1.0]]
    assert NF.pad(x, (1, 0, 0, 1), value=9.0).tolist() == [[9.0, 1.0, 2.0, 3.0],
                                                           [9.0, 9.0, 9.0, 9.0]]
    assert NF.pad(x, (-1, 1)).tolist() == [[2.0, 3.0, 0.0]]  # a negative size crops
    # replicate: the edge's gradient collects every copy of it
    xt = Tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    NF.pad(xt, (2, 1), mode="replicate").sum().backward()
    assert xt.grad.tolist() == [[3.0, 1.0, 2.0]]
    # forward mode
    d = NF.pad(Dual(np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 0.0, 0.0]])), (1, 1), "reflect")
    assert d.tangent.tolist() == [[0.0, 1.0, 0.0, 0.0, 0.0]]


def test_pad_errors():
    x = Tensor(np.zeros((1, 2, 3)))
    with pytest.raises(ConfigError, match="Invalid mode"):
        NF.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ConfigError, match="even number of ints"):
        NF.pad(x, (1, 1, 1))
    with pytest.raises(ShapeError, match="reflect padding .* smaller than its length 3"):
        NF.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ShapeError, match="circular padding .* at most its length 2"):
        NF.pad(x, (0, 0, 3, 0), mode="circular")
    with pytest.raises(ConfigError, match="takes no value"):
        NF.pad(x, (1, 1), mode="reflect", value=1.0)


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape, sizes", [((2, 3, 5), (2, 1)), ((2, 3, 4, 5), (1, 2, 3, 0)),
                                          ((1, 2, 3, 4, 5), (1, 1, 2, 0, 0, 2)),
                                          ((2, 3, 5), (-1, 2))])
def test_pad_matches_torch(mode, shape, sizes):
    torch = pytest.importorskip("torch")
    TF = torch.nn.functional
    kw = {"value": 0.5} if mode == "constant" else {}
    x = rng.standard_normal(shape)
    xt, tx = Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = NF.pad(xt, sizes, mode, **kw), TF.pad(tx, sizes, mode, **kw)
    np.testing.assert_array_equal(y.numpy(), ty.detach().numpy())
    g = rng.standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


# --- save and load --------------------------------------------------------------------------

def test_models_with_the_new_layers_save_and_load(tmp_path):
    pytest.importorskip("safetensors")
    net = nn.Sequential(nn.Unflatten(1, (2, 8)), nn.GroupNorm(2, 2), nn.InstanceNorm1d(2, affine=True),
                        nn.Dropout1d(0.3, rng=0), nn.Flatten(), nn.Linear(16, 3, rng=0))
    net[1].weight.data[:] = [0.5, 2.0]
    net[2].bias.data[:] = [0.1, -0.1]
    cr.save(net, tmp_path / "m.safetensors")
    back = cr.load(tmp_path / "m.safetensors").eval()
    x = Tensor(rng.standard_normal((4, 16)).astype(np.float32))
    np.testing.assert_array_equal(back(x).numpy(), net.eval()(x).numpy())
    assert back[0].unflattened_size == (2, 8)
