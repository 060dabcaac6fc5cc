"""Convolution and pooling layers: against PyTorch (when installed), closed forms, both modes
of differentiation, bad input, and a small CNN trained on the 8×8 digits."""

from __future__ import annotations

import time

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor, no_grad
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import Flatten, Linear, ReLU, Sequential
from chainrule.nn.conv import Conv1d, Conv2d, conv1d, conv2d
from chainrule.nn.functional import cross_entropy
from chainrule.nn.normalization import BatchNorm2d
from chainrule.nn.pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
    adaptive_avg_pool, avg_pool, max_pool,
)

from .torch_compare import step_matches_torch

rng = np.random.default_rng(7)


def torch_pair(torch, ours, theirs, shape):
    """Outputs and input/parameter gradients of ``ours`` and ``theirs`` on one random input."""
    theirs = theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    step_matches_torch(torch, ours, theirs, rng.standard_normal(shape))


CONV2D = [
    dict(kernel_size=3),
    dict(kernel_size=3, padding=1, bias=False),
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
    dict(kernel_size=3, padding=2, dilation=2),
    dict(kernel_size=3, padding="same", dilation=(1, 2)),
    dict(kernel_size=(2, 4), padding="same"),
    dict(kernel_size=2, stride=2, padding="valid"),
    dict(kernel_size=3, stride=2, padding=1, groups=2),
    dict(kernel_size=3, padding=1, groups=4),
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("kw", CONV2D, ids=str)
def test_conv2d_matches_torch(kw):
    torch = pytest.importorskip("torch")
    out = 8 if kw.get("groups") == 4 else 6
    torch_pair(torch, Conv2d(4, out, dtype=np.float64, **kw), torch.nn.Conv2d(4, out, **kw),
               (3, 4, 9, 8))


@pytest.mark.parametrize("kw", [dict(kernel_size=3), dict(kernel_size=4, stride=3, padding=2),
                                dict(kernel_size=3, dilation=2, padding="same", groups=2),
                                dict(kernel_size=2, bias=False)], ids=str)
def test_conv1d_matches_torch(kw):
    torch = pytest.importorskip("torch")
    torch_pair(torch, Conv1d(4, 6, dtype=np.float64, **kw), torch.nn.Conv1d(4, 6, **kw), (3, 4, 11))


POOLS = [
    (MaxPool2d, "MaxPool2d", dict(kernel_size=2), (2, 3, 8, 8)),
    (MaxPool2d, "MaxPool2d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 9, 7)),
    (MaxPool2d, "MaxPool2d", dict(kernel_size=(2, 3), stride=1, dilation=2), (2, 3, 7, 8)),
    (MaxPool1d, "MaxPool1d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 10)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=2), (2, 3, 8, 8)),
    (AvgPool2d, "AvgPool2d", dict(kernel_size=3, stride=2, padding=1), (2, 3, 9, 7)),
    (AvgPool1d, "AvgPool1d", dict(kernel_size=4, stride=3, padding=2), (2, 3, 10)),
    (AdaptiveAvgPool2d, "AdaptiveAvgPool2d", dict(output_size=1), (2, 3, 7, 5)),
    (AdaptiveAvgPool2d, "AdaptiveAvgPool2d", dict(output_size=(3, 2)), (2, 3, 7, 5)),
    (AdaptiveAvgPool1d, "AdaptiveAvgPool1d", dict(output_size=4), (2, 3, 9)),
]


@pytest.mark.parametrize(("ours", "name", "kw", "shape"), POOLS,
                         ids=[f"{p[1]}-{p[2]}" for p in POOLS])
def test_pooling_matches_torch(ours, name, kw, shape):
    torch = pytest.importorskip("torch")
    torch_pair(torch, ours(**kw), getattr(torch.nn, name)(**kw), shape)


def test_conv1d_closed_form():
    # y_i = 1·x_i + 2·x_{i+1} − 1·x_{i+2} + 0.5 on x = 0, 1, 2, 3, 4:
    # y_0 = 0 + 2 − 2 + 0.5 = 0.5; every step adds 1 + 2 − 1 = 2.
    y = conv1d(Tensor(np.arange(5.0).reshape(1, 1, 5)), Tensor([[[1.0, 2.0, -1.0]]]),
               Tensor([0.5]))
    assert y.tolist() == [[[0.5, 2.5, 4.5]]]


def test_conv2d_closed_form_with_stride_and_padding():
    # A 3×3 all-ones kernel with padding 1 sums each pixel's neighbourhood; on a 4×4 block of
    # ones the corners see 4 ones, edges 6, the centre 9; stride 2 keeps rows/cols 0 and 2.
    y = conv2d(Tensor(np.ones((1, 1, 4, 4))), Tensor(np.ones((1, 1, 3, 3))), stride=2, padding=1)
    assert y.tolist() == [[[[4.0, 6.0], [6.0, 9.0]]]]


def test_max_pool_gradient_goes_to_first_maximum_of_a_tie():
    x = Tensor(np.array([[[[1.0, 1.0], [0.0, 1.0]]]]), requires_grad=True)
    max_pool(x, 2).sum().backward()
    assert x.grad.tolist() == [[[[1.0, 0.0], [0.0, 0.0]]]]


def test_avg_pool_counts_padding_in_the_mean():
    # kernel 2, padding 1 on [2, 4]: windows [0, 2] and [4, 0] (the zeros are padding).
    assert avg_pool(Tensor([[[2.0, 4.0]]]), 2, padding=1, k=1).tolist() == [[[1.0, 2.0]]]


def test_adaptive_windows_overlap_like_torch():
    # 5 → 3: windows [0, 2), [1, 4), [3, 5).
    y = adaptive_avg_pool(Tensor([[[0.0, 3.0, 6.0, 9.0, 12.0]]]), 3, k=1)
    assert y.tolist() == [[[1.5, 6.0, 10.5]]]


@pytest.mark.parametrize(("f", "shapes"), [
    (lambda x, w, b: conv2d(x, w, b, stride=2, padding=1), [(2, 2, 4, 4), (3, 2, 2, 2), (3,)]),
    (lambda x, w: conv2d(x, w, padding="same", dilation=2), [(1, 2, 4, 5), (2, 2, 2, 3)]),
    (lambda x, w, b: conv1d(x, w, b, dilation=2, groups=2), [(2, 2, 6), (4, 1, 2), (4,)]),
    (lambda x: avg_pool(x, 2, stride=1, padding=1), [(2, 2, 3, 3)]),
    (lambda x: adaptive_avg_pool(x, (2, 3)), [(2, 2, 5, 4)]),
    (lambda x: adaptive_avg_pool(x, 1, k=1), [(2, 2, 5)]),
], ids=["conv2d", "conv2d-same-dilated", "conv1d-groups", "avg_pool", "adaptive", "global"])
def test_functional_forms_pass_reverse_and_forward_mode_checks(f, shapes):
    cr.check_grad(f, *[rng.standard_normal(s) for s in shapes])


def test_unbatched_input_and_default_init():
    conv = Conv2d(3, 5, 3, rng=0)
    bound = 1 / np.sqrt(3 * 9)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert conv.weight.data.std() > bound / 3  # uniform on the whole interval, not zeros
    assert conv(Tensor(np.ones((3, 6, 6), np.float32))).shape == (5, 4, 4)
    assert MaxPool2d(2)(Tensor(np.ones((3, 6, 6)))).shape == (3, 3, 3)
    assert repr(conv) == "Conv2d(3, 5, kernel_size=(3, 3), stride=(1, 1))"
    assert conv.weight.dtype == np.float32 and conv(Tensor(np.ones((1, 3, 3, 3), np.float32))).dtype \
        == np.float32


@pytest.mark.parametrize(("make", "shape", "match"), [
    (lambda: Conv2d(3, 4, 3), (3, 8), "4-D input"),
    (lambda: Conv2d(3, 4, 3), (2, 5, 8, 8), "expected 3 input channels"),
    (lambda: Conv1d(3, 4, 3), (2, 3, 4, 4, 4), "3-D input"),
    (lambda: Conv2d(3, 4, 5), (2, 3, 4, 8), "larger than the padded input"),
    (lambda: Conv2d(3, 4, 5, padding=1), (2, 3, 2, 8), "larger than the padded input"),
    (lambda: Conv1d(3, 4, 3, dilation=4), (2, 3, 8), "larger than the padded input"),
    (lambda: MaxPool2d(3), (2, 3, 2, 8), "MaxPool2d.*larger than the padded input"),
    (lambda: AvgPool1d(2), (2, 3, 4, 4), "AvgPool1d.*3-D input"),
])
def test_bad_input_names_layer_expected_and_got(make, shape, match):
    with pytest.raises(ShapeError, match=match):
        make()(Tensor(np.ones(shape, np.float32)))


@pytest.mark.parametrize(("make", "match"), [
    (lambda: Conv2d(3, 4, 0), "kernel_size must be an integer ≥ 1"),
    (lambda: Conv2d(3, 4, 3, stride=0), "stride"),
    (lambda: Conv2d(3, 4, 3, padding=-1), "padding"),
    (lambda: Conv2d(3, 4, 3, padding="full"), "padding must be"),
    (lambda: Conv2d(3, 4, 3, stride=2, padding="same"), "needs stride 1"),
    (lambda: Conv2d(3, 4, 3, groups=2), r"divisible by groups \(2\)"),
    (lambda: Conv2d(4, 6, 3, groups=4), "divisible by groups"),
    (lambda: Conv2d(4, 6, (3, 3, 3)), "tuple of 2"),
    (lambda: MaxPool2d(2, padding=2), "at most half the kernel"),
    (lambda: AvgPool2d(2, stride=0), "stride"),
])
def test_bad_configuration_raises_config_error(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_functional_conv_checks_weight_and_groups():
    x = Tensor(np.ones((1, 4, 5, 5)))
    with pytest.raises(ShapeError, match="conv2d: weight must have 4 dimensions"):
        conv2d(x, np.ones((2, 4, 3)))
    with pytest.raises(ConfigError, match="groups must be a positive integer dividing"):
        conv2d(x, np.ones((3, 2, 3, 3)), groups=2)
    with pytest.raises(ShapeError, match="expected 2 input channels .* got 4"):
        conv2d(x, np.ones((2, 2, 3, 3)), groups=1)


@pytest.mark.slow
def test_small_cnn_learns_digits():
    """Two conv layers, batch norm, max pooling and a dense read-out reach ≥ 98% test accuracy
    on scikit-learn's 8×8 digits (training loop written inline, Adam)."""
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    Xtr, Xte, ytr, yte = model_selection.train_test_split(X, y, test_size=0.25, random_state=0,
                                                          stratify=y)
    net = Sequential(Conv2d(1, 16, 3, padding=1, rng=0), BatchNorm2d(16), ReLU(),
                     Conv2d(16, 32, 3, padding=1, rng=1), ReLU(), MaxPool2d(2), Flatten(),
                     Linear(32 * 16, 10, rng=2))
    params = net.parameters()
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    order, lr, step = np.random.default_rng(0), 3e-3, 0
    start = time.perf_counter()
    for _ in range(6):
        net.train()
        for idx in np.array_split(order.permutation(len(Xtr)), len(Xtr) // 32):
            loss = cross_entropy(net(Tensor(Xtr[idx])), ytr[idx])
            net.zero_grad()
            loss.backward()
            step += 1
            for p, mi, vi in zip(params, m, v):  # Adam, β = (0.9, 0.999)
                mi *= 0.9
                mi += 0.1 * p.grad
                vi *= 0.999
                vi += 0.001 * p.grad ** 2
                p.data -= lr * (mi / (1 - 0.9 ** step)) / (np.sqrt(vi / (1 - 0.999 ** step)) + 1e-8)
    net.eval()
    with no_grad():
        accuracy = float((net(Tensor(Xte)).numpy().argmax(axis=1) == yte).mean())
    assert accuracy >= 0.98, f"test accuracy {accuracy:.3f} after {time.perf_counter() - start:.1f}s"
