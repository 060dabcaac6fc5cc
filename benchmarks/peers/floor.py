"""The NumPy floor: an MLP's forward, backward and Adam written directly in NumPy.

This is the practical limit of a NumPy library, not a straw man: every parameter, gradient
and Adam moment lives in one flat float32 buffer (the layers' weights and biases are views
into it), every activation and delta has a preallocated buffer per batch size, every product
is ``np.dot`` with ``out=`` (``np.matmul`` misses the BLAS fast path for an inner dimension
of 1, see shared/PERF-NOTES.md), and the Adam step is a dozen vector operations over the
whole model. Softmax cross-entropy is fused into its gradient ``(softmax(z) - onehot(y))/B``.
"""

from __future__ import annotations

import math

import numpy as np

from ..data import batches

NAME = "floor"


class _Buffers:
    """Scratch arrays for one batch size (the last batch of an epoch may be shorter)."""

    def __init__(self, batch: int, sizes: list[int]) -> None:
        f32 = np.float32
        self.x = np.empty((batch, sizes[0]), f32)
        self.y = np.empty(batch, np.int64)
        self.a = [np.empty((batch, n), f32) for n in sizes[1:]]  # post-activation (logits last)
        self.d = [np.empty((batch, n), f32) for n in sizes[1:-1]]  # deltas of hidden layers
        self.mask = [np.empty((batch, n), f32) for n in sizes[1:-1]]  # relu' as 0/1 floats
        self.rowmax = np.empty(batch, f32)
        self.rowsum = np.empty(batch, f32)
        self.rows = np.arange(batch)


class FloorMLP:
    """ReLU MLP trained with softmax cross-entropy and Adam, all in hand-written NumPy.

    Args:
        params: initial ``(W, b)`` per layer, ``W`` of shape (out, in); copied.
        lr: Adam learning rate.
        betas: Adam's ``b1``, ``b2``.
        eps: Adam's epsilon (added to sqrt(v̂), as PyTorch does).

    >>> from benchmarks.data import init_params
    >>> net = FloorMLP(init_params([4, 8, 3]))
    >>> X = np.random.default_rng(0).random((16, 4), dtype=np.float32)
    >>> y = np.arange(16) % 3
    >>> net.train_epoch(X, y, np.arange(16), batch_size=4, epoch=0)
    >>> 0.0 <= net.accuracy(X, y) <= 1.0
    True
    """

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.sizes = [params[0][0].shape[1]] + [W.shape[0] for W, _ in params]
        total = sum(W.size + b.size for W, b in params)
        f32 = np.float32
        self.theta = np.empty(total, f32)
        self.grad = np.zeros(total, f32)
        self.m = np.zeros(total, f32)
        self.v = np.zeros(total, f32)
        self.tmp = np.empty(total, f32)
        self.W, self.b, self.gW, self.gb = [], [], [], []
        at = 0
        for W, b in params:
            for src, views, gviews in ((W, self.W, self.gW), (b, self.b, self.gb)):
                n = src.size
                views.append(self.theta[at:at + n].reshape(src.shape))
                gviews.append(self.grad[at:at + n].reshape(src.shape))
                views[-1][...] = src
                at += n
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.t = 0
        self._buffers: dict[int, _Buffers] = {}
        self.loss = np.float32(0.0)

    def step(self, X: np.ndarray, y: np.ndarray, idx: np.ndarray) -> None:
        """One training step on the rows ``idx`` of ``(X, y)``."""
        B = len(idx)
        buf = self._buffers.get(B)
        if buf is None:
            buf = self._buffers[B] = _Buffers(B, self.sizes)
        X.take(idx, axis=0, out=buf.x)
        y.take(idx, out=buf.y)
        W, b, gW, gb, a = self.W, self.b, self.gW, self.gb, buf.a
        L = len(W)

        # forward: a_k = relu(a_{k-1} W_kᵀ + b_k), logits z = a_{L-1} W_Lᵀ + b_L
        h = buf.x
        for k in range(L):
            np.dot(h, W[k].T, out=a[k])
            a[k] += b[k]
            if k < L - 1:
                np.maximum(a[k], 0, out=a[k])
            h = a[k]

        # softmax cross-entropy, its gradient overwriting the logits: (p - onehot(y)) / B
        z = a[-1]
        # NOTE: ufunc.reduce directly: np.max/np.sum add a Python wrapper per call.
        np.maximum.reduce(z, axis=1, out=buf.rowmax)
        z -= buf.rowmax[:, None]
        z_y = z[buf.rows, buf.y]
        np.exp(z, out=z)
        np.add.reduce(z, axis=1, out=buf.rowsum)
        self.loss = np.add.reduce(np.log(buf.rowsum) - z_y) / B
        z /= buf.rowsum[:, None]
        z[buf.rows, buf.y] -= 1.0
        z *= np.float32(1.0 / B)

        # backward straight into the flat gradient buffer
        d = z
        for k in range(L - 1, -1, -1):
            h = a[k - 1] if k > 0 else buf.x
            np.dot(d.T, h, out=gW[k])
            np.add.reduce(d, axis=0, out=gb[k])
            if k > 0:
                dh = buf.d[k - 1]
                np.dot(d, W[k], out=dh)
                # relu'(a) from the output: sign(h) is 1 where h > 0 and 0 where h == 0
                np.sign(h, out=buf.mask[k - 1])
                np.multiply(dh, buf.mask[k - 1], out=dh)
                d = dh
        self._adam()

    def _adam(self) -> None:
        # theta -= lr·m̂/(sqrt(v̂)+eps), rewritten with the bias corrections folded into two
        # scalars so the whole update is vector ops over the flat buffers.
        self.t += 1
        b1, b2, g, m, v, tmp = self.b1, self.b2, self.grad, self.m, self.v, self.tmp
        c2 = math.sqrt(1.0 - b2 ** self.t)
        lr_t = np.float32(self.lr * c2 / (1.0 - b1 ** self.t))
        eps_t = np.float32(self.eps * c2)
        np.subtract(g, m, out=tmp)           # m += (1-b1)(g - m)
        tmp *= np.float32(1.0 - b1)
        m += tmp
        np.multiply(g, g, out=tmp)           # v += (1-b2)(g² - v)
        tmp -= v
        tmp *= np.float32(1.0 - b2)
        v += tmp
        np.sqrt(v, out=tmp)
        tmp += eps_t
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        self.theta -= tmp

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                    epoch: int) -> None:
        """Train on consecutive ``batch_size`` slices of ``order``."""
        for idx in batches(order, batch_size):
            self.step(X, y, idx)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X``'s rows whose argmax logit is the label."""
        h = X
        for k, (W, b) in enumerate(zip(self.W, self.b)):
            h = np.dot(h, W.T) + b
            if k < len(self.W) - 1:
                np.maximum(h, 0, out=h)
        return float((h.argmax(axis=1) == y).mean())


Trainer = FloorMLP
