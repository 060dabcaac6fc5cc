"""Issue 12's activations: hand-worked values, forward mode, PyTorch parity (forward and
backward in float64, skipped without torch), names, and save/load through chainrule.io."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import Dual, Tensor, nn
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import functional as NF

from .torch_compare import step_matches_torch

X = np.array([-5.0, -3.0, -1.5, -0.5, 0.25, 1.0, 2.5, 3.0, 4.0])
SIG = 1 / (1 + np.exp(-X))
SOFTPLUS = np.log1p(np.exp(X))
A, S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

# (module, the closed form in NumPy): the definitions PyTorch documents
CLOSED = [
    (nn.SiLU(), X * SIG),
    (nn.Mish(), X * np.tanh(SOFTPLUS)),
    (nn.Hardswish(), X * np.clip(X + 3, 0, 6) / 6),
    (nn.Hardsigmoid(), np.clip(X + 3, 0, 6) / 6),
    (nn.SELU(), S * np.where(X > 0, X, A * np.expm1(X))),
    (nn.CELU(0.5), np.where(X > 0, X, 0.5 * np.expm1(X / 0.5))),
    (nn.PReLU(), np.where(X > 0, X, 0.25 * X)),
    (nn.LogSigmoid(), np.log(SIG)),
    (nn.Softsign(), X / (1 + np.abs(X))),
    (nn.Softmin(dim=0), np.exp(-X) / np.exp(-X).sum()),
    (nn.GELU(approximate="tanh"),
     0.5 * X * (1 + np.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3)))),
]


@pytest.mark.parametrize("module, expected", CLOSED, ids=lambda v: type(v).__name__)
def test_closed_forms_and_forward_mode(module, expected):
    np.testing.assert_allclose(module(Tensor(X)).numpy(), expected, rtol=1e-12, atol=1e-15)
    # forward mode (a Dual) agrees with reverse mode on the same composite
    t = np.random.default_rng(0).standard_normal(X.shape)
    xt = Tensor(X, requires_grad=True)
    y = module(xt)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(g)
    d = module(Dual(X, t))
    np.testing.assert_allclose((d.tangent * g).sum(), (xt.grad * t).sum(), rtol=1e-10)


def test_hand_worked_values():
    # silu(1) = 1·σ(1) = 0.731059; hardswish(1) = 1·4/6; hardsigmoid(1.5) = 1.5/6 + 0.5 = 0.75
    assert NF.silu(Tensor([1.0])).item() == pytest.approx(0.7310586, abs=1e-6)
    assert NF.hardswish(Tensor([1.0])).item() == pytest.approx(4 / 6)
    assert NF.hardsigmoid(Tensor([1.5])).item() == pytest.approx(0.75)
    # softsign(3) = 3/4; celu(−1, α=2) = 2(e^−½ − 1) = −0.786939
    assert NF.softsign(Tensor([3.0])).item() == 0.75
    assert NF.celu(Tensor([-1.0]), 2.0).item() == pytest.approx(-0.786939, abs=1e-6)
    # logsigmoid stays finite where ln σ(x) would underflow: ln σ(−200) = −200 − ln(1 + e^−200)
    np.testing.assert_allclose(NF.logsigmoid(Tensor(np.array([-200.0, 200.0]))).numpy(),
                               [-200.0, -np.exp(-200.0)], rtol=1e-12)
    # Mish and SiLU of huge inputs: no overflow warning (pytest turns warnings into errors)
    big = Tensor(np.array([-1e4, 1e4], np.float32))
    assert NF.mish(big).tolist() == [-0.0, 1e4] and NF.silu(big).tolist() == [-0.0, 1e4]


def test_prelu_per_channel_learns_its_slopes():
    m = nn.PReLU(3, init=0.1).double()
    x = Tensor(np.array([[[-1.0, 2.0], [-2.0, -3.0], [4.0, -1.0]]]), requires_grad=True)
    y = m(x)
    np.testing.assert_allclose(y.numpy(), [[[-0.1, 2.0], [-0.2, -0.3], [4.0, -0.1]]])
    y.sum().backward()
    # ∂/∂a_c = Σ of the channel's negative inputs
    np.testing.assert_allclose(m.weight.grad, [-1.0, -5.0, -1.0])
    np.testing.assert_allclose(x.grad, [[[0.1, 1.0], [0.1, 0.1], [1.0, 0.1]]])
    with pytest.raises(ShapeError, match="3 weights need an input with 3 channels"):
        m(Tensor(np.zeros((2, 4))))
    assert repr(m) == "PReLU(num_parameters=3)"


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="approximate"):
        nn.GELU(approximate="fast")
    with pytest.raises(ConfigError, match="alpha must not be 0"):
        nn.CELU(0.0)
    with pytest.raises(ConfigError, match="Softmin needs dim"):
        nn.Softmin()
    with pytest.raises(ConfigError, match="num_parameters"):
        nn.PReLU(0)


def test_names_and_hidden_activations():
    for name in ("silu", "swish", "mish", "hardswish", "hardsigmoid", "selu", "celu", "prelu",
                 "logsigmoid", "softsign"):
        assert isinstance(nn.get_activation(name), nn.Module)
        assert name in nn.ACTIVATIONS
    assert set(nn.HIDDEN_ACTIVATIONS) <= set(nn.ACTIVATIONS)
    assert "softmin" not in nn.HIDDEN_ACTIVATIONS  # not element-wise, and needs its dim
    # a hidden activation by name in the MLP (the CLI and estimators read the same table)
    net = cr.models.MLP([3, 4, 2], activation="mish", rng=0)
    assert any(isinstance(m, nn.Mish) for m in net.modules())


def test_gelu_exact_uses_erf():
    x = Tensor(X)
    Phi = 0.5 * (1 + np.vectorize(math.erf)(X / math.sqrt(2)))
    np.testing.assert_allclose(nn.GELU()(x).numpy(), X * Phi, rtol=1e-12, atol=1e-15)


def test_save_and_load_models_with_the_new_activations(tmp_path):
    pytest.importorskip("safetensors")
    net = nn.Sequential(nn.Linear(3, 4, rng=0), nn.PReLU(), nn.Linear(4, 4, rng=1), nn.Mish(),
                        nn.SiLU(), nn.CELU(0.7), nn.Hardswish(), nn.Softmin(dim=1),
                        nn.GELU(approximate="tanh"))
    net.modules().__next__()[1].weight.data[:] = 0.4  # a trained slope, not the initial one
    cr.save(net, tmp_path / "m.safetensors")
    back = cr.load(tmp_path / "m.safetensors")
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32))
    np.testing.assert_array_equal(back(x).numpy(), net(x).numpy())
    assert back[5].alpha == 0.7 and back[7].dim == 1 and back[8].approximate == "tanh"


# --- PyTorch parity -----------------------------------------------------------------------

# PyTorch computes the backward of Hardsigmoid with 1/6, and of CELU with 1/α, in float32
# (derivatives.yaml: ``1.0/alpha.toFloat()``; ``one_sixth(1.0f / 6.0f)``): those two agree to
# float32's precision only; chainrule's are exact.
PARITY = [
    (lambda: nn.SiLU(), lambda t: t.nn.SiLU(), 1e-12),
    (lambda: nn.Mish(), lambda t: t.nn.Mish(), 1e-12),
    (lambda: nn.Hardswish(), lambda t: t.nn.Hardswish(), 1e-12),
    (lambda: nn.Hardsigmoid(), lambda t: t.nn.Hardsigmoid(), 1e-7),
    (lambda: nn.SELU(), lambda t: t.nn.SELU(), 1e-12),
    (lambda: nn.CELU(0.7), lambda t: t.nn.CELU(0.7), 1e-6),
    (lambda: nn.LogSigmoid(), lambda t: t.nn.LogSigmoid(), 1e-12),
    (lambda: nn.Softsign(), lambda t: t.nn.Softsign(), 1e-12),
    (lambda: nn.Softmin(dim=1), lambda t: t.nn.Softmin(dim=1), 1e-12),
    (lambda: nn.GELU(approximate="tanh"), lambda t: t.nn.GELU(approximate="tanh"), 1e-12),
    (lambda: nn.PReLU(), lambda t: t.nn.PReLU(), 1e-12),
    (lambda: nn.PReLU(3, init=0.1), lambda t: t.nn.PReLU(3, init=0.1), 1e-12),
]


@pytest.mark.parametrize("ours, theirs, rtol", PARITY,
                         ids=["silu", "mish", "hardswish", "hardsigmoid", "selu", "celu",
                              "logsigmoid", "softsign", "softmin", "gelu_tanh", "prelu",
                              "prelu3"])
def test_matches_torch(ours, theirs, rtol):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5)) * 3  # beyond ±3, where the hard forms bend
    x[0, 0, :3] = [-3.0, 3.0, 0.0]          # the kinks themselves: PyTorch's one-sided choices
    m, tm = ours().double(), theirs(torch).double()
    step_matches_torch(torch, m, tm, x, rtol=rtol, atol=1e-14)


def test_gelu_exact_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((4, 5)) * 3
    step_matches_torch(torch, nn.GELU(), torch.nn.GELU(), x, rtol=1e-12, atol=1e-14)
