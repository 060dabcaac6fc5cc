"""JAX on the CPU with the whole training step under one ``jax.jit``.

The step is a pure function ``(state, X, y, idx) -> (state, loss)``: it gathers the batch
``X[idx]`` from the data set (copied to the device once), runs the forward pass, takes the
gradient of the mean softmax cross-entropy with ``jax.value_and_grad`` and applies Adam with
PyTorch's arithmetic, written in ``jax.numpy`` (no optax). The state is four arrays: the
parameters as one flat float32 vector (as in the floor; the layers are static slices of it),
Adam's two moments of the same length and the step count. It is donated to the call so XLA
may update it in place; four arrays instead of one per tensor cut the step time at batch 1
by about 40% (measured: 37 against 64 µs). Each epoch ends with ``jax.block_until_ready``,
so the harness's clock sees finished work, not queued work.

A jitted function compiles once per input shape: full batches and the epoch's short last
batch are two compilations, both done in the harness's untimed warm-up epoch (every epoch
has the same batch sizes).

Threads: XLA's CPU client sizes its thread pools (``tf_XLAEigen``, the intra-op pool that
runs the products, and its own task pool) from the ``NPROC`` environment variable when it is
set, else from the CPUs in the process's affinity mask; :func:`set_threads` sets ``NPROC``
before the client exists. ``--xla_cpu_multi_thread_eigen=false`` in ``XLA_FLAGS`` does not
limit it in jaxlib 0.10 (measured: 1.9 busy cores on 2), and one CPU device is the default.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

NAME = "jax"
VERSION = jax.__version__

Params = list[tuple[jax.Array, jax.Array]]
State = tuple[jax.Array, jax.Array, jax.Array, jax.Array]
"""Flat parameters θ, Adam's first and second moments (same length), step count."""


def set_threads(n: int) -> None:
    """Size XLA's CPU thread pools to ``n``; effective only before JAX's first computation."""
    # NOTE: XLA reads NPROC (tsl DefaultThreadPoolSize) once, when the CPU client is created,
    # which JAX does lazily: the harness calls this right after importing the module.
    os.environ["NPROC"] = str(n)


def _forward(params: Params, x: jax.Array) -> jax.Array:
    """Logits of the ReLU MLP; weights have shape (out, in) as in the other frameworks."""
    for W, b in params[:-1]:
        x = jax.nn.relu(x @ W.T + b)
    W, b = params[-1]
    return x @ W.T + b


def _loss(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of integer labels ``y``."""
    z = _forward(params, x)
    z_y = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(z, axis=1) - z_y)


def _unflatten(theta: jax.Array, shapes: tuple[tuple[int, ...], ...]) -> Params:
    """Views of the flat vector as ``(W, b)`` per layer (static slices, free under jit)."""
    arrays, at = [], 0
    for shape in shapes:
        n = int(np.prod(shape))
        arrays.append(theta[at:at + n].reshape(shape))
        at += n
    return list(zip(arrays[0::2], arrays[1::2]))


def _step(state: State, X: jax.Array, y: jax.Array, idx: jax.Array, *,
          shapes: tuple[tuple[int, ...], ...], lr: float, b1: float, b2: float,
          eps: float) -> tuple[State, jax.Array]:
    """One step: gather the batch, gradient of the loss, Adam as torch.optim.Adam computes it."""
    theta, m, v, t = state
    loss, grads = jax.value_and_grad(_loss)(_unflatten(theta, shapes), X[idx], y[idx])
    # NOTE: differentiating the per-layer views and concatenating is measured 1.1-9x faster
    # than differentiating θ itself, whose gradient XLA builds as one zero-padded copy of θ
    # per layer (and, at batch 1, fuses the products into slow loops).
    g = jnp.concatenate([a.ravel() for pair in grads for a in pair])
    t = t + 1
    tf = t.astype(jnp.float32)
    # PyTorch: m.lerp_(g, 1 - b1); v = b2·v + (1 - b2)·g²;
    # θ -= lr / (1 - b1^t) · m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    m = m + (1 - b1) * (g - m)
    v = b2 * v + (1 - b2) * g * g
    theta = theta - lr / (1 - b1 ** tf) * m / (jnp.sqrt(v) / jnp.sqrt(1 - b2 ** tf) + eps)
    return (theta, m, v, t), loss


class JaxMLP:
    """ReLU MLP with softmax cross-entropy and Adam, one jitted function per step.

    Args:
        params: initial ``(W, b)`` per layer, ``W`` of shape (out, in); copied to the device.
        lr: Adam learning rate.
        betas: Adam's ``b1``, ``b2``.
        eps: Adam's epsilon (added to sqrt(v̂), as PyTorch does).

    >>> from benchmarks.data import init_params
    >>> net = JaxMLP(init_params([4, 8, 3]))
    >>> X = np.random.default_rng(0).random((10, 4), dtype=np.float32)
    >>> y = np.arange(10) % 3
    >>> net.train_epoch(X, y, np.arange(10), batch_size=4, epoch=0)
    >>> 0.0 <= net.accuracy(X, y) <= 1.0
    True
    """

    def __init__(self, params: list[tuple[np.ndarray, np.ndarray]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        shapes = tuple(a.shape for pair in params for a in pair)
        theta = jnp.asarray(np.concatenate([a.ravel() for pair in params for a in pair]))
        self.state: State = (theta, jnp.zeros_like(theta), jnp.zeros_like(theta),
                             jnp.zeros((), jnp.int32))
        self.step = jax.jit(partial(_step, shapes=shapes, lr=lr, b1=betas[0], b2=betas[1],
                                    eps=eps), donate_argnums=0)
        self._unflatten = partial(_unflatten, shapes=shapes)
        self._predict = jax.jit(lambda theta, x: jnp.argmax(_forward(_unflatten(theta, shapes), x),
                                                            axis=1))
        self._host: tuple[Any, Any] = (None, None)
        self._device: tuple[jax.Array, jax.Array] | None = None
        self.loss: jax.Array | None = None

    @property
    def params(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The current ``(W, b)`` per layer as NumPy arrays."""
        return [(np.asarray(W), np.asarray(b)) for W, b in self._unflatten(self.state[0])]

    def _on_device(self, X: np.ndarray, y: np.ndarray) -> tuple[jax.Array, jax.Array]:
        # NOTE: the data set is copied to the device once (JAX cannot alias this NumPy
        # memory), so each step only moves its indices; the copy shows in "growth MB".
        if self._device is None or self._host[0] is not X or self._host[1] is not y:
            self._host = (X, y)
            self._device = (jnp.asarray(X), jnp.asarray(y, dtype=jnp.int32))
        return self._device

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray, batch_size: int,
                    epoch: int) -> None:
        """Train on consecutive ``batch_size`` slices of ``order``; returns when done."""
        X_d, y_d = self._on_device(X, y)
        order32 = order.astype(np.int32)
        step, state, loss = self.step, self.state, self.loss
        for i in range(0, len(order32), batch_size):
            state, loss = step(state, X_d, y_d, order32[i:i + batch_size])
        self.state, self.loss = jax.block_until_ready((state, loss))

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        """Fraction of ``X``'s rows whose argmax logit is the label."""
        pred = np.asarray(self._predict(self.state[0], jnp.asarray(X)))
        return float((pred == y).mean())


Trainer = JaxMLP
