"""Transposed convolutions, Conv3d, the new pooling options, max unpooling and interpolation:
against PyTorch with PyTorch's weights (float64, forward and backward), closed forms, bad
input, and a convolutional autoencoder that reconstructs the 8×8 digits."""

from __future__ import annotations

import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn.conv import (
    Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, conv2d, conv_transpose1d,
    conv_transpose2d,
)
from chainrule.nn.pooling import (
    AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d, MaxUnpool1d, MaxUnpool2d,
    MaxUnpool3d, avg_pool, max_pool,
)
from chainrule.nn.upsample import Upsample, UpsamplingBilinear2d, UpsamplingNearest2d, interpolate

from .torch_compare import step_matches_torch

rng = np.random.default_rng(21)


def torch_pair(torch, ours, theirs, shape):
    theirs = theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    step_matches_torch(torch, ours, theirs, rng.standard_normal(shape))


CONVT = [
    (ConvTranspose2d, "ConvTranspose2d", dict(kernel_size=3), (2, 4, 5, 4)),
    (ConvTranspose2d, "ConvTranspose2d", dict(kernel_size=4, stride=2, padding=1), (2, 4, 4, 4)),
    (ConvTranspose2d, "ConvTranspose2d",
     dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)), (2, 4, 3, 4)),
    (ConvTranspose2d, "ConvTranspose2d",
     dict(kernel_size=3, stride=2, groups=2, dilation=2, bias=False), (1, 4, 3, 3)),
    (ConvTranspose1d, "ConvTranspose1d", dict(kernel_size=3, stride=3, padding=1, output_padding=2),
     (2, 4, 5)),
    (ConvTranspose1d, "ConvTranspose1d", dict(kernel_size=2, groups=4), (2, 4, 6)),
    (ConvTranspose3d, "ConvTranspose3d", dict(kernel_size=2, stride=2), (1, 4, 2, 3, 2)),
    (Conv3d, "Conv3d", dict(kernel_size=3, padding=1), (2, 4, 4, 5, 3)),
    (Conv3d, "Conv3d", dict(kernel_size=(2, 3, 2), stride=(2, 1, 1), groups=2, dilation=(1, 1, 2)),
     (1, 4, 5, 4, 5)),
]


@pytest.mark.parametrize(("ours", "name", "kw", "shape"), CONVT,
                         ids=[f"{c[1]}-{c[2]}" for c in CONVT])
def test_conv_transpose_and_conv3d_match_torch(ours, name, kw, shape):
    torch = pytest.importorskip("torch")
    out = 6 if kw.get("groups") != 4 else 8
    torch_pair(torch, ours(4, out, dtype=np.float64, **kw), getattr(torch.nn, name)(4, out, **kw),
               shape)


def test_conv_transpose_output_size_and_init_match_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    ours = ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=np.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = rng.standard_normal((1, 3, 4, 4))
    for size in [(7, 7), (8, 8), (1, 2, 8, 7)]:  # both reachable sizes, N and C in front too
        y = ours(Tensor(x), output_size=size)
        ty = theirs(torch.tensor(x), output_size=list(size))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    with pytest.raises(ShapeError, match="not reachable"):
        ours(Tensor(x), output_size=(9, 9))
    # PyTorch's default init: U(±1/√fan_in) with fan_in = weight.shape[1]·Πk = 2·9
    layer = ConvTranspose2d(3, 2, 3, rng=0)
    assert layer.weight.shape == (3, 2, 3, 3) and layer.bias.shape == (2,)
    assert np.abs(layer.weight.data).max() <= 1 / np.sqrt(18)
    assert np.abs(layer.bias.data).max() <= 1 / np.sqrt(18)


def test_conv_transpose_is_the_adjoint_of_conv():
    # ⟨convᵀ(x, w), u⟩ = ⟨x, conv(u, w)⟩ for the conv with the same arguments
    w = rng.standard_normal((3, 2, 3, 3))
    x = rng.standard_normal((2, 3, 4, 5))
    y = conv_transpose2d(Tensor(x), Tensor(w), stride=2, padding=1, output_padding=(1, 0))
    u = rng.standard_normal(y.shape)
    back = conv2d(Tensor(u), Tensor(w), stride=2, padding=1)
    assert back.shape == x.shape
    assert float((y.numpy() * u).sum()) == pytest.approx(float((x * back.numpy()).sum()), rel=1e-12)


def test_conv_transpose1d_closed_form():
    # stride 2 puts a copy of the kernel (1, 10, 100) at positions 0 and 2, scaled by x:
    # [1, 10, 100] + [0, 0, 2, 20, 200] = [1, 10, 102, 20, 200]; padding 1 cuts one cell per end
    x, w = Tensor([[[1.0, 2.0]]]), Tensor([[[1.0, 10.0, 100.0]]])
    assert conv_transpose1d(x, w, stride=2).tolist() == [[[1.0, 10.0, 102.0, 20.0, 200.0]]]
    assert conv_transpose1d(x, w, stride=2, padding=1).tolist() == [[[10.0, 102.0, 20.0]]]


@pytest.mark.parametrize(("call", "match"), [
    (lambda: ConvTranspose2d(2, 2, 3, stride=2, output_padding=2), "output_padding"),
    (lambda: ConvTranspose2d(2, 2, 3, padding="same"), "no 'same'"),
    (lambda: ConvTranspose2d(3, 2, 3, groups=2), "divisible by groups"),
    (lambda: ConvTranspose2d(2, 2, 3)(np.ones((1, 3, 4, 4))), "input channels"),
    (lambda: ConvTranspose1d(2, 2, 3)(np.ones((1, 2, 4, 4))), "3-D input"),
])
def test_conv_transpose_bad_input(call, match):
    with pytest.raises((ConfigError, ShapeError), match=match):
        call()


POOLS = [
    (MaxPool2d, "MaxPool2d", dict(kernel_size=3, stride=2, ceil_mode=True), (2, 3, 8, 7)),
    (MaxPool2d, "MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 3, 6, 9)),
    (MaxPool1d, "MaxPool1d", dict(kernel_size=2, stride=2, ceil_mode=True), (2, 3, 7)),
    (MaxPool3d, "MaxPool3d", dict(kernel_size=2), (2, 3, 4, 4, 6)),
    (MaxPool3d, "MaxPool3d", dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2, 1)),
     (1, 2, 5, 7, 6)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
     (2, 3, 7, 6)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=3, stride=2, ceil_mode=True), (2, 3, 8, 7)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True), (2, 3, 6, 8)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                  count_include_pad=False), (2, 3, 6, 8)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=2, padding=1, divisor_override=3), (2, 3, 5, 5)),
    (AvgPool1d, "AvgPool1d", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True,
                                  count_include_pad=False), (2, 3, 10)),
    (AvgPool3d, "AvgPool3d", dict(kernel_size=2, stride=(1, 2, 2), padding=1), (2, 3, 3, 4, 5)),
]


@pytest.mark.parametrize(("ours", "name", "kw", "shape"), POOLS,
                         ids=[f"{p[1]}-{p[2]}" for p in POOLS])
def test_pooling_options_match_torch(ours, name, kw, shape):
    torch = pytest.importorskip("torch")
    torch_pair(torch, ours(**kw), getattr(torch.nn, name)(**kw), shape)


@pytest.mark.parametrize(("pool", "unpool", "name", "kw", "shape"), [
    (MaxPool1d, MaxUnpool1d, "1d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 9)),
    (MaxPool2d, MaxUnpool2d, "2d", dict(kernel_size=2), (2, 3, 6, 8)),
    (MaxPool2d, MaxUnpool2d, "2d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 7, 6)),
    (MaxPool3d, MaxUnpool3d, "3d", dict(kernel_size=2), (1, 2, 4, 4, 2)),
], ids=["1d", "2d", "2d-overlap", "3d"])
def test_return_indices_and_max_unpool_match_torch(pool, unpool, name, kw, shape):
    torch = pytest.importorskip("torch")
    x = rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64)  # no ties
    y, idx = pool(return_indices=True, **kw)(Tensor(x))
    ty, tidx = getattr(torch.nn, f"MaxPool{name}")(return_indices=True, **kw)(torch.tensor(x))
    np.testing.assert_array_equal(y.numpy(), ty.numpy())
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert idx.dtype == np.int64
    yt = Tensor(y.numpy(), requires_grad=True)
    up = unpool(**kw)(yt, idx, output_size=shape[2:])
    tyt = ty.clone().requires_grad_(True)
    tup = getattr(torch.nn, f"MaxUnpool{name}")(**kw)(tyt, tidx, output_size=list(shape[2:]))
    np.testing.assert_array_equal(up.numpy(), tup.detach().numpy())
    g = rng.standard_normal(up.shape)
    up.backward(g)
    tup.backward(torch.tensor(g))
    if kw.get("stride", kw["kernel_size"]) == kw["kernel_size"]:  # (see max_unpool on overlaps)
        np.testing.assert_allclose(yt.grad, tyt.grad.numpy(), rtol=1e-12)


def test_pooling_closed_forms_and_errors():
    # ceil_mode keeps the last partial window [5]; count_include_pad=False divides the padded
    # first window (pad, 1) by 1 and the next (3, 2) by 2
    assert max_pool(Tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2, k=1, ceil_mode=True).tolist() \
        == [[[3.0, 2.0, 5.0]]]
    assert avg_pool(Tensor([[[1.0, 3.0, 2.0]]]), 2, k=1, padding=1,
                    count_include_pad=False).tolist() == [[[1.0, 2.5]]]
    assert avg_pool(Tensor([[[1.0, 3.0, 2.0]]]), 2, k=1, padding=1).tolist() == [[[0.5, 2.5]]]
    with pytest.raises(ConfigError, match="ceil_mode"):
        MaxPool2d(2, ceil_mode="yes")
    with pytest.raises(ShapeError, match="point into their own pooling window"):
        MaxUnpool1d(2)(Tensor([[[1.0, 2.0]]]), np.array([[[3, 1]]]))
    with pytest.raises(ShapeError, match="output_size"):
        MaxUnpool1d(2)(Tensor([[[1.0, 2.0]]]), np.array([[[0, 2]]]), output_size=(9,))


INTERP = [
    ((2, 3, 5, 4), dict(scale_factor=2)),
    ((2, 3, 5, 4), dict(size=(7, 3))),
    ((2, 3, 7), dict(scale_factor=0.4)),
    ((2, 3, 6), dict(size=4, mode="nearest-exact")),
    ((2, 3, 5, 4), dict(size=(7, 9), mode="bilinear")),
    ((2, 3, 5, 4), dict(scale_factor=1.7, mode="bilinear", align_corners=True)),
    ((2, 3, 5, 4), dict(scale_factor=(2.5, 0.6), mode="bilinear")),
    ((2, 3, 5, 4), dict(scale_factor=2.3, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 6), dict(scale_factor=1.5, mode="linear")),
    ((1, 2, 3, 4, 2), dict(scale_factor=2, mode="trilinear", align_corners=True)),
]


@pytest.mark.parametrize(("shape", "kw"), INTERP, ids=[str(k) for _, k in INTERP])
def test_interpolate_matches_torch(shape, kw):
    torch = pytest.importorskip("torch")
    step_matches_torch(torch, Upsample(**kw), torch.nn.Upsample(**kw), rng.standard_normal(shape))


def test_interpolate_closed_forms_and_errors():
    # bilinear, align_corners=False, 2 → 4: source x = (o + ½)/2 − ½ = −¼ (clamped to 0), ¼,
    # ¾, 1¼ (clamped cell 1): [1, 1·¾ + 2·¼, 1·¼ + 2·¾, 2]
    y = interpolate(Tensor([[[1.0, 2.0]]]), scale_factor=2, mode="linear")
    assert y.tolist() == [[[1.0, 1.25, 1.75, 2.0]]]
    assert UpsamplingNearest2d(scale_factor=2)(Tensor([[[[1.0, 2.0]]]])).shape == (1, 1, 2, 4)
    assert UpsamplingBilinear2d(size=(1, 3))(Tensor([[[[1.0, 2.0]]]])).tolist() \
        == [[[[1.0, 1.5, 2.0]]]]
    x = Tensor(np.ones((1, 1, 4, 4)))
    for kw, match in [(dict(), "exactly one"), (dict(size=2, scale_factor=2), "exactly one"),
                      (dict(size=2, mode="bicubic"), "not implemented"),
                      (dict(size=2, mode="linear"), "takes a 3-D input"),
                      (dict(size=2, align_corners=True), "linear modes only"),
                      (dict(size=(2, 2, 2)), "needs 2 entries"), (dict(size=2, mode="cubic"), "mode")]:
        with pytest.raises((ConfigError, ShapeError), match=match):
            interpolate(x, **kw)


class AutoEncoder(cr.nn.Module):
    """8×8 → conv (stride 2) 4×4 → conv (stride 2) 2×2 code of 8 channels → ConvTranspose
    back to 4×4 → Upsample ×2 and a conv back to 8×8."""

    def __init__(self, rng=0):
        super().__init__()
        g = np.random.default_rng(rng)
        self.encoder = cr.nn.Sequential(
            Conv2d(1, 8, 3, stride=2, padding=1, rng=g), cr.nn.ReLU(),
            Conv2d(8, 8, 3, stride=2, padding=1, rng=g), cr.nn.ReLU())
        self.decoder = cr.nn.Sequential(
            ConvTranspose2d(8, 8, 4, stride=2, padding=1, rng=g), cr.nn.ReLU(),
            Upsample(scale_factor=2, mode="bilinear"), Conv2d(8, 1, 3, padding=1, rng=g),
            cr.nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_autoencoder_reconstructs_the_digits():
    """A 32-number code (8 channels × 2 × 2) for 64 pixels; the baseline predicts the mean
    training image for every test image."""
    t0 = time.perf_counter()
    X, _ = cr.data.load_digits(images=True)
    g = np.random.default_rng(0)
    order = g.permutation(len(X))
    train, test = X[order[:1400]], X[order[1400:]]
    baseline = float(((test - train.mean(axis=0)) ** 2).mean())
    model = AutoEncoder()
    opt = cr.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(6):
        for batch in np.array_split(g.permutation(len(train)), len(train) // 32):
            loss = cr.nn.functional.mse_loss(model(train[batch]), Tensor(train[batch]))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    with cr.no_grad():
        mse = float(((model(test).numpy() - test) ** 2).mean())
    print(f"autoencoder: test MSE {mse:.4f}, mean-image baseline {baseline:.4f}, "
          f"{time.perf_counter() - t0:.1f}s")
    assert mse < 0.5 * baseline and mse < 0.035  # measured 0.024 against 0.074
