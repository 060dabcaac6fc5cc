"""BatchNorm1d/2d and LayerNorm: against PyTorch (train and eval, running statistics), hand
numbers, both modes of differentiation, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm

from .torch_compare import step_matches_torch

rng = np.random.default_rng(11)


def load_from_torch(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def compare_step(torch, ours, theirs, shape):
    step_matches_torch(torch, ours, theirs, rng.standard_normal(shape) * 2 + 1, rtol=1e-9)
    for name, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), theirs.state_dict()[name].numpy(), rtol=1e-12,
                                   err_msg=name)


@pytest.mark.parametrize(("cls", "name", "shape", "kw"), [
    (BatchNorm1d, "BatchNorm1d", (8, 3), {}),
    (BatchNorm1d, "BatchNorm1d", (4, 3, 5), {"momentum": 0.3}),
    (BatchNorm2d, "BatchNorm2d", (4, 3, 5, 6), {}),
    (BatchNorm2d, "BatchNorm2d", (4, 3, 2, 3), {"momentum": None}),
    (BatchNorm2d, "BatchNorm2d", (4, 3, 2, 3), {"affine": False, "eps": 1e-3}),
    (BatchNorm1d, "BatchNorm1d", (6, 3), {"track_running_stats": False}),
], ids=["1d", "1d-3D-momentum", "2d", "2d-cumulative", "2d-no-affine", "1d-no-running"])
def test_batch_norm_matches_torch_in_train_and_eval(cls, name, shape, kw):
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn, name)(3, **kw).double()
    ours = cls(3, dtype=np.float64, **kw)
    if ours.affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1, 1)
    load_from_torch(ours, theirs)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    for _ in range(3):  # three training steps: running statistics must follow torch's
        compare_step(torch, ours, theirs, shape)
    ours.eval()
    theirs.eval()
    compare_step(torch, ours, theirs, shape)


@pytest.mark.parametrize(("shape", "normalized", "kw"), [
    ((4, 5), 5, {}),
    ((2, 3, 4), (3, 4), {}),
    ((2, 3, 4), 4, {"elementwise_affine": False}),
    ((3, 6), 6, {"bias": False, "eps": 1e-2}),
])
def test_layer_norm_matches_torch(shape, normalized, kw):
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LayerNorm(normalized, **kw).double()
    if theirs.weight is not None:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            if theirs.bias is not None:
                theirs.bias.uniform_(-1, 1)
    ours = LayerNorm(normalized, dtype=np.float64, **kw)
    load_from_torch(ours, theirs)
    compare_step(torch, ours, theirs, shape)


def test_batch_norm_hand_numbers():
    # Channel 0 holds 1, 3 (mean 2, biased var 1) -> x̂ = ∓1/√(1 + 1e-5);
    # running mean 0.9·0 + 0.1·2 = 0.2, running var 0.9·1 + 0.1·2 = 1.1 (unbiased var 2).
    bn = BatchNorm1d(1, dtype=np.float64)
    y = bn(Tensor(np.array([[1.0], [3.0]])))
    assert y.numpy()[:, 0] == pytest.approx([-1 / np.sqrt(1 + 1e-5), 1 / np.sqrt(1 + 1e-5)])
    assert bn.running_mean.item() == pytest.approx(0.2)
    assert bn.running_var.item() == pytest.approx(1.1)
    assert int(bn.num_batches_tracked.item()) == 1
    bn.eval()  # eval: (x − 0.2)/√(1.1 + 1e-5)
    assert bn(Tensor(np.array([[2.0]]))).item() == pytest.approx(1.8 / np.sqrt(1.1 + 1e-5))


def test_layer_norm_hand_numbers():
    # [1, 2, 3]: mean 2, biased var 2/3 -> x̂ = [−1, 0, 1]/√(2/3 + ε), then ·γ + β.
    ln = LayerNorm(3, dtype=np.float64)
    ln.weight.data[:] = [1.0, 2.0, 3.0]
    ln.bias.data[:] = 0.5
    s = 1 / np.sqrt(2 / 3 + 1e-5)
    assert ln(Tensor(np.array([1.0, 2.0, 3.0]))).numpy() == pytest.approx([0.5 - s, 0.5, 0.5 + 3 * s])


@pytest.mark.parametrize("make", [lambda: BatchNorm2d(2, dtype=np.float64),
                                  lambda: LayerNorm((2, 3), dtype=np.float64)])
def test_norms_pass_reverse_and_forward_mode_checks(make):
    m = make()
    m.weight.data[:] = rng.uniform(0.5, 1.5, m.weight.shape)
    cr.check_grad(lambda x: m(x), rng.standard_normal((3, 2, 3, 3) if isinstance(m, BatchNorm2d)
                                                      else (4, 2, 3)))


def test_eval_mode_is_not_updating_running_stats():
    bn = BatchNorm2d(2).eval()
    bn(Tensor(rng.standard_normal((4, 2, 3, 3)).astype(np.float32)))
    assert bn.running_mean.tolist() == [0.0, 0.0] and int(bn.num_batches_tracked.item()) == 0


@pytest.mark.parametrize(("make", "shape", "match"), [
    (lambda: BatchNorm2d(3), (4, 3, 5), "BatchNorm2d.*4-D input"),
    (lambda: BatchNorm2d(3), (4, 2, 5, 5), "expected 3 channels .* got 2"),
    (lambda: BatchNorm1d(3), (4, 3, 5, 5), "2-D or 3-D input"),
    (lambda: BatchNorm1d(3), (1, 3), "more than one value per channel"),
    (lambda: LayerNorm((3, 4)), (2, 4, 3), r"ending in shape \(3, 4\)"),
])
def test_bad_input(make, shape, match):
    with pytest.raises(ShapeError, match=match):
        make()(Tensor(np.ones(shape, np.float32)))


@pytest.mark.parametrize(("make", "match"), [
    (lambda: BatchNorm2d(0), "num_features"),
    (lambda: BatchNorm2d(3, momentum=1.5), "momentum"),
    (lambda: BatchNorm1d(3, eps=0.0), "eps"),
    (lambda: LayerNorm(0), "normalized_shape"),
])
def test_bad_configuration(make, match):
    with pytest.raises(ConfigError, match=match):
        make()
