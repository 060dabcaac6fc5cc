"""One forward and backward step of a chainrule layer beside its PyTorch twin."""

from __future__ import annotations

import numpy as np

from chainrule import Tensor


def step_matches_torch(torch, ours, theirs, x: np.ndarray, rtol: float = 1e-10,
                       atol: float = 1e-10, seed: int = 0) -> None:
    """Run both on ``x`` with one random output gradient; assert equal outputs, input
    gradients and parameter gradients (then clear the parameter gradients)."""
    xt = Tensor(x, requires_grad=True)
    y = ours(xt)
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = theirs(tx)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)
        p.grad, tp.grad = None, None
