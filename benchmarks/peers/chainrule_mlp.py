"""chainrule, written the way its README writes a training loop.

``nn.Sequential`` of ``nn.Linear``/``nn.ReLU``, ``F.cross_entropy`` on integer labels,
``optim.Adam`` with its defaults (betas 0.9/0.999, eps 1e-8), batches gathered from the
NumPy data set and wrapped in ``cr.Tensor``; evaluation under ``cr.no_grad()``.
"""

from __future__ import annotations

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F

NAME = "chainrule"
VERSION = cr.__version__


class ChainruleMLP:
    """ReLU MLP with softmax cross-entropy and Adam in chainrule.

    Args:
        params: initial ``(W, b)`` per layer, ``W`` of shape (out, in); copied into the
            parameters' arrays in place (so a model that keeps its parameters in one flat
            buffer keeps it).
        lr: Adam learning rate.
        betas: Adam's ``b1``, ``b2`` (checked against the optimizer's defaults).
        eps: Adam's epsilon (checked against the optimizer's defaults).

    Raises:
        ValueError: the model's parameters do not line up with ``params``, or the
            optimizer's defaults differ from the other frameworks' settings.
    """

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        layers: list[nn.Module] = []
        for k, (W, _) in enumerate(params):
            layers.append(nn.Linear(W.shape[1], W.shape[0]))
            if k < len(params) - 1:
                layers.append(nn.ReLU())
        self.model = nn.Sequential(*layers)
        mine = list(self.model.parameters())
        shared = [a for pair in params for a in pair]
        if [tuple(p.shape) for p in mine] != [a.shape for a in shared]:
            raise ValueError("chainrule parameters "
                             f"{[tuple(p.shape) for p in mine]} do not match the shared "
                             f"initial weights {[a.shape for a in shared]}")
        for p, a in zip(mine, shared):
            p.data[...] = a
        self.opt = optim.Adam(self.model.parameters(), lr=lr)
        _check_defaults(self.opt, betas, eps)

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                    epoch: int) -> None:
        """Train on consecutive ``batch_size`` slices of ``order``."""
        model, opt, Tensor, cross_entropy = self.model, self.opt, cr.Tensor, F.cross_entropy
        model.train()
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = cross_entropy(model(Tensor(X[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X``'s rows whose argmax logit is the label."""
        self.model.eval()
        with cr.no_grad():
            logits = self.model(cr.Tensor(X))
        return float((np.asarray(logits.data).argmax(axis=1) == y).mean())


def _check_defaults(opt: object, betas: tuple[float, float], eps: float) -> None:
    """Fail loudly if the optimizer's defaults are not the shared Adam settings."""
    defaults = dict(getattr(opt, "defaults", {}) or {})
    got_betas = defaults.get("betas", (defaults.get("b1", betas[0]), defaults.get("b2", betas[1])))
    got_eps = defaults.get("eps", eps)
    if tuple(float(b) for b in got_betas) != tuple(betas) or float(got_eps) != eps:
        raise ValueError(f"chainrule Adam defaults betas={got_betas}, eps={got_eps}; the "
                         f"benchmark needs betas={betas}, eps={eps}")


Trainer = ChainruleMLP
