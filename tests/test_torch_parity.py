"""Random compositions of ops against torch.autograd (runs only where PyTorch is installed)."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Tensor
from chainrule import functional as F

torch = pytest.importorskip("torch")

# (chainrule function, torch function); both act on one tensor and keep shape (4, 5)
UNARY = [
    (lambda x: x.exp(), torch.exp),
    (lambda x: x.tanh(), torch.tanh),
    (lambda x: x.sigmoid(), torch.sigmoid),
    (lambda x: x.relu(), torch.relu),
    (lambda x: F.leaky_relu(x, 0.01), lambda x: torch.nn.functional.leaky_relu(x, 0.01)),
    (F.softplus, torch.nn.functional.softplus),
    (lambda x: F.elu(x, 1.0), torch.nn.functional.elu),
    (lambda x: F.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    (F.gelu, torch.nn.functional.gelu),
    (lambda x: (x * x + 1).sqrt(), lambda x: (x * x + 1).sqrt()),
    (lambda x: (x * x + 1).log(), lambda x: (x * x + 1).log()),
    (lambda x: x.abs(), torch.abs),
    (lambda x: F.softmax(x, axis=1), lambda x: torch.softmax(x, dim=1)),
    (lambda x: F.log_softmax(x, axis=0), lambda x: torch.log_softmax(x, dim=0)),
    (lambda x: x - x.mean(axis=1, keepdims=True), lambda x: x - x.mean(dim=1, keepdim=True)),
    (lambda x: x / (x.var(axis=0, keepdims=True, ddof=0) + 1).sqrt(),
     lambda x: x / (x.var(dim=0, keepdim=True, unbiased=False) + 1).sqrt()),
    (lambda x: x * x.max(axis=1, keepdims=True), lambda x: x * x.amax(dim=1, keepdim=True)),
    (lambda x: x.clip(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5)),
    (lambda x: (x.T @ x)[:4, :5], lambda x: (x.T @ x)[:4, :5]),
    (lambda x: F.concatenate([x[:, :2], x[:, 2:] * 2], axis=1),
     lambda x: torch.cat([x[:, :2], x[:, 2:] * 2], dim=1)),
    (lambda x: x.reshape(5, 4).transpose(1, 0), lambda x: x.reshape(5, 4).permute(1, 0)),
]


@pytest.mark.parametrize("seed", range(12))
def test_random_compositions_match_torch(seed):
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal((4, 5))
    w0 = rng.standard_normal((5, 5))
    picks = rng.integers(0, len(UNARY), size=4)
    x, w = Tensor(x0, requires_grad=True), Tensor(w0, requires_grad=True)
    tx = torch.tensor(x0, requires_grad=True)
    tw = torch.tensor(w0, requires_grad=True)
    y, ty = x, tx
    for i, k in enumerate(picks):
        f, tf = UNARY[k]
        y, ty = f(y), tf(ty)
        if i == 1:  # a weight in the middle, so two leaves get gradients
            y, ty = y @ w, ty @ tw
    u = rng.standard_normal(y.shape)
    (y * Tensor(u)).sum().backward()
    (ty * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_batched_matmul_broadcast_and_indexing_match_torch():
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    idx = np.array([0, 2, 2, 1])
    a, b = Tensor(a0, requires_grad=True), Tensor(b0, requires_grad=True)
    ta, tb = torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    ((a @ b)[:, idx].logsumexp(axis=-1) ** 2).sum().backward()
    (torch.logsumexp((ta @ tb)[:, idx], dim=-1) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-9)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-9)
