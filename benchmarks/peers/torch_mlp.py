"""PyTorch eager on the CPU, written the way its tutorials write a training loop.

``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy``, ``torch.optim.Adam``
with its defaults (the per-tensor implementation on CPU), batches gathered by indexing a
tensor that shares memory with the NumPy data set.
"""

from __future__ import annotations

import numpy as np
import torch

NAME = "torch"
VERSION = torch.__version__


def set_threads(n: int) -> None:
    """Use ``n`` intra-op threads, as the other frameworks do through OMP/BLAS variables."""
    torch.set_num_threads(n)


class TorchMLP:
    """ReLU MLP with softmax cross-entropy and Adam in PyTorch eager mode.

    Args:
        params: initial ``(W, b)`` per layer, ``W`` of shape (out, in); copied.
        lr: Adam learning rate.
        betas: Adam's ``b1``, ``b2``.
        eps: Adam's epsilon.
    """

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        layers: list[torch.nn.Module] = []
        for k, (W, _) in enumerate(params):
            layers.append(torch.nn.Linear(W.shape[1], W.shape[0]))
            if k < len(params) - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers)
        with torch.no_grad():
            linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
            for lin, (W, b) in zip(linears, params):
                lin.weight.copy_(torch.from_numpy(W))
                lin.bias.copy_(torch.from_numpy(b))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, betas=betas, eps=eps)

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                    epoch: int) -> None:
        """Train on consecutive ``batch_size`` slices of ``order``."""
        model, opt, cross_entropy = self.model, self.opt, torch.nn.functional.cross_entropy
        X_t, y_t, order_t = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(order)
        model.train()
        for i in range(0, len(order_t), batch_size):
            idx = order_t[i:i + batch_size]
            loss = cross_entropy(model(X_t[idx]), y_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X``'s rows whose argmax logit is the label."""
        self.model.eval()
        with torch.no_grad():
            pred = self.model(torch.from_numpy(X)).argmax(dim=1).numpy()
        return float((pred == y).mean())


Trainer = TorchMLP
