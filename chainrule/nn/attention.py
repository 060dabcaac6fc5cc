"""Attention (Vaswani et al. 2017, "Attention is all you need"), in PyTorch's names, layouts and
mask conventions: :func:`scaled_dot_product_attention` (defined in nn.functional, as PyTorch's
F.scaled_dot_product_attention), :class:`MultiheadAttention` and
:class:`TransformerEncoderLayer`.

All are composites of existing primitives (linear, matmul, softmax, layer norm, dropout), so
they need no derivative code. Masks become one additive bias of 0 and −∞: e^−∞ = 0 removes a
position from the softmax, and its gradient is exactly zero there.

Mind PyTorch's two boolean conventions, kept here: for ``scaled_dot_product_attention`` a True
in ``attn_mask`` means "may attend"; for ``MultiheadAttention`` (``attn_mask`` and
``key_padding_mask``) a True means "masked out".
"""

from __future__ import annotations

import math
from typing import Any
from collections.abc import Callable

import numpy as np

from .. import functional as F
from ..backend import array_module
from ..errors import ConfigError, ShapeError
from ..random import get_rng
from ..tensor import ArrayLike, Tensor, array_of
from ..validate import check_bool, check_choice, check_number
from . import functional as NF
from .functional import _attention_bias, _causal_bias, _swap_last, scaled_dot_product_attention
from . import init as I
from .layers import Dropout, Linear
from .module import Module, Parameter
from .normalization import LayerNorm


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention``: h heads attend in parallel
    over E/h-wide slices of the projected query, key and value, and one output projection
    mixes them (Vaswani et al. 2017, §3.2.2).

    Parameters in PyTorch's names and layout: ``in_proj_weight`` (3E, E) holds W_q, W_k, W_v
    stacked (xavier-uniform; with kdim or vdim ≠ E instead ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim)), ``in_proj_bias`` (3E,) (zeros),
    and ``out_proj`` a Linear(E, E) whose bias starts at zero.

    Args:
        embed_dim: E, the model width; num_heads: h, dividing E.
        dropout: dropout on the attention weights (training only).
        bias: learn in_proj_bias and out_proj.bias.
        kdim: the keys' width (default E).
        vdim: the values' width (default E).
        batch_first: inputs and output (N, L, E) instead of (L, N, E).
        add_bias_kv: only False (not implemented).
        add_zero_attn: only False (not implemented).
        rng: seed or generator for the initial weights and the dropout masks.
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: E not divisible by h, non-positive sizes, a bad dropout, or
            add_bias_kv / add_zero_attn.

    >>> mha = MultiheadAttention(8, 2, batch_first=True, rng=0)
    >>> out, w = mha(np.ones((3, 5, 8), np.float32), np.ones((3, 4, 8), np.float32),
    ...              np.ones((3, 4, 8), np.float32))
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 4))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, rng: Any = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        where = type(self).__name__
        e = self.embed_dim = check_number(embed_dim, "embed_dim", where, low=1, integer=True)
        self.num_heads = check_number(num_heads, "num_heads", where, low=1, integer=True)
        if e % self.num_heads:
            raise ConfigError(f"{where}: embed_dim ({e}) must be divisible by num_heads "
                              f"({self.num_heads})")
        self.head_dim = e // self.num_heads
        self.dropout = check_number(dropout, "dropout", where, low=0, high=1)
        if check_bool(add_bias_kv, "add_bias_kv", where) or \
                check_bool(add_zero_attn, "add_zero_attn", where):
            raise ConfigError(f"{where}: add_bias_kv and add_zero_attn are not implemented")
        self.kdim = e if kdim is None else check_number(kdim, "kdim", where, low=1, integer=True)
        self.vdim = e if vdim is None else check_number(vdim, "vdim", where, low=1, integer=True)
        self.batch_first = check_bool(batch_first, "batch_first", where)
        g, dt = get_rng(rng), np.dtype(dtype)
        self._rng = g
        self.in_proj_weight: Parameter | None = None
        if self.kdim == e and self.vdim == e:
            self.in_proj_weight = Parameter(np.empty((3 * e, e), dt))
            I.xavier_uniform_(self.in_proj_weight, rng=g)
        else:
            self.q_proj_weight = Parameter(np.empty((e, e), dt))
            self.k_proj_weight = Parameter(np.empty((e, self.kdim), dt))
            self.v_proj_weight = Parameter(np.empty((e, self.vdim), dt))
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                I.xavier_uniform_(w, rng=g)
        self.in_proj_bias = Parameter(np.zeros(3 * e, dt)) if bias else None
        self.out_proj = Linear(e, e, bias=bias, rng=g, dtype=dt)
        if bias:
            self.out_proj.bias.data[...] = 0.0

    def _projections(self) -> tuple[Any, Any, Any]:
        if self.in_proj_weight is not None:
            w = self.in_proj_weight
            e = self.embed_dim
            return w[:e], w[e:2 * e], w[2 * e:]
        return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

    def _heads(self, x: Any, w: Any, b: Any) -> Any:
        """(N, T, ·) projected and split into heads: (N, h, T, E/h)."""
        n, t = x.shape[0], x.shape[1]
        y = F.linear(x.reshape(n * t, x.shape[2]), w, b)
        return y.reshape(n, t, self.num_heads, self.head_dim).permute((0, 2, 1, 3))

    def _inputs(self, where: str, query: Any, key: Any, value: Any) -> tuple[Any, Any, Any, bool]:
        q, k, v = (a if isinstance(a, ArrayLike) else Tensor(a) for a in (query, key, value))
        unbatched = q.ndim == 2
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ShapeError(f"{where}: expected query, key and value all 3-D "
                             f"({'(N, L, E)' if self.batch_first else '(L, N, E)'}) or all 2-D "
                             f"(L, E); got {tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
        if unbatched:
            q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
        elif not self.batch_first:
            q, k, v = (a.permute((1, 0, 2)) for a in (q, k, v))
        if (q.shape[2], k.shape[2], v.shape[2]) != (self.embed_dim, self.kdim, self.vdim) \
                or k.shape[:2] != v.shape[:2] or q.shape[0] != k.shape[0]:
            raise ShapeError(f"{where}: expected feature sizes {(self.embed_dim, self.kdim, self.vdim)}"
                             f" and one batch and source length for key and value; got query "
                             f"{tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)} "
                             "(batch first)")
        return q, k, v, unbatched

    # NOTE: over 60 lines: one pass of PyTorch's multi_head_attention_forward (projections,
    # masks in both of its layouts, softmax, dropout, heads merged, weights averaged), easier
    # to check against it side by side than split up.
    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False) -> tuple[Any, Any]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: (L, N, E) ((N, L, E) with batch_first, (L, E) unbatched).
            key: (S, N, kdim) (same layout rules).
            value: (S, N, vdim) (same layout rules).
            key_padding_mask: (N, S) (or (S,) unbatched): boolean, True = ignore that key
                (PyTorch's convention here), or a float bias.
            need_weights: also return the attention weights.
            attn_mask: (L, S) or (N·h, L, S): boolean, True = may not attend, or a float bias.
            average_attn_weights: average the returned weights over the heads.
            is_causal: with no attn_mask, query i attends to keys 0..i only (PyTorch reads it
                only as a hint about attn_mask; an explicit attn_mask wins here too).

        Returns:
            ``(output, weights)``: output like ``query``; weights (N, L, S) averaged, or
            (N, h, L, S) (without N when unbatched), after dropout as in PyTorch; None unless
            ``need_weights``.

        Raises:
            ShapeError: inputs or masks of the wrong shapes.
        """
        where = f"MultiheadAttention({self.embed_dim}, {self.num_heads})"
        q, k, v, unbatched = self._inputs(where, query, key, value)
        n, n_q, n_k, h = q.shape[0], q.shape[1], k.shape[1], self.num_heads
        wq, wk, wv = self._projections()
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else \
            (b[:self.embed_dim], b[self.embed_dim:2 * self.embed_dim], b[2 * self.embed_dim:])
        qh, kh, vh = self._heads(q, wq, bq), self._heads(k, wk, bk), self._heads(v, wv, bv)
        scores = F.matmul(qh * (1.0 / math.sqrt(self.head_dim)), _swap_last(kh))  # (N, h, L, S)
        xp, shape = array_module(array_of(scores)), (n, h, n_q, n_k)
        if attn_mask is not None:
            m = array_of(attn_mask)
            if m.ndim == 3:
                if tuple(m.shape) != (n * h, n_q, n_k):
                    raise ShapeError(f"{where}: a 3-D attn_mask must be (N·num_heads, L, S) = "
                                     f"{(n * h, n_q, n_k)}; got {tuple(m.shape)}")
                m = m.reshape(shape)
            elif tuple(m.shape) != (n_q, n_k):
                raise ShapeError(f"{where}: attn_mask must be (L, S) = {(n_q, n_k)} or "
                                 f"(N·num_heads, L, S); got {tuple(m.shape)}")
            scores = scores + _attention_bias(where, m, shape, xp, scores.dtype, "mask")
        elif check_bool(is_causal, "is_causal", where):
            scores = scores + _causal_bias(xp, n_q, n_k, scores.dtype)
        if key_padding_mask is not None:
            m = array_of(key_padding_mask)
            if tuple(m.shape) != ((n_k,) if unbatched else (n, n_k)):
                raise ShapeError(f"{where}: key_padding_mask must be (N, S) = {(n, n_k)}; got "
                                 f"{tuple(m.shape)}")
            scores = scores + _attention_bias(where, m.reshape(n, 1, 1, n_k), shape, xp,
                                              scores.dtype, "mask")
        weights = F.softmax(scores, axis=-1)
        if self.dropout and self.training:
            weights = NF.dropout(weights, self.dropout, True, self._rng)
        out = F.matmul(weights, vh).permute((0, 2, 1, 3)).reshape(n * n_q, self.embed_dim)
        out = self.out_proj(out).reshape(n, n_q, self.embed_dim)
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.permute((1, 0, 2))
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)
        return out, (weights.squeeze(0) if unbatched else weights)

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        return s + (", batch_first=True" if self.batch_first else "")


_FF_ACTIVATIONS = {"relu": NF.relu, "gelu": NF.gelu}


class TransformerEncoderLayer(Module):
    """One Transformer encoder block, as ``torch.nn.TransformerEncoderLayer``: self-attention
    then a two-layer feed-forward network, each with dropout and a residual connection, and
    layer norm after each (``norm_first=False``, the original post-norm) or before (pre-norm)::

        post-norm: x = norm1(x + sa(x));          x = norm2(x + ff(x))
        pre-norm:  x = x + sa(norm1(x));          x = x + ff(norm2(x))
        ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))

    Submodules in PyTorch's names: ``self_attn`` (MultiheadAttention), ``linear1``,
    ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``dropout1``, ``dropout2``.

    Args:
        d_model: the model width; nhead: attention heads.
        dim_feedforward: width of the feed-forward layer.
        dropout: dropout probability everywhere (attention weights included).
        activation: "relu", "gelu" (chainrule's :func:`~chainrule.functional.gelu`) or a
            callable.
        layer_norm_eps: the norms' ε.
        batch_first: (N, L, E) instead of (L, N, E).
        norm_first: pre-norm instead of post-norm.
        bias: biases in the linear layers and norms.
        rng: seed or generator for the initial weights and the dropout masks.
        dtype: float32 (default) or float64.

    >>> layer = TransformerEncoderLayer(16, 4, dim_feedforward=32, batch_first=True, rng=0)
    >>> layer(np.ones((2, 7, 16), np.float32)).shape
    (2, 7, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Any], Any] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, rng: Any = None,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        where = type(self).__name__
        g = get_rng(rng)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, rng=g, dtype=dtype)
        dim_feedforward = check_number(dim_feedforward, "dim_feedforward", where, low=1,
                                       integer=True)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, rng=g, dtype=dtype)
        self.dropout = Dropout(dropout, rng=g)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, rng=g, dtype=dtype)
        self.norm_first = check_bool(norm_first, "norm_first", where)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=g)
        self.dropout2 = Dropout(dropout, rng=g)
        if isinstance(activation, str):
            check_choice(activation, "activation", where, tuple(_FF_ACTIVATIONS))
            self.activation = _FF_ACTIVATIONS[activation]
        elif callable(activation):
            self.activation = activation
        else:
            raise ConfigError(f"{where}: activation must be 'relu', 'gelu' or a callable; got "
                              f"{activation!r}")
        self.batch_first = batch_first

    def forward(self, src: Any, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Any:
        """The block on ``src`` (L, N, E) ((N, L, E) with batch_first, (L, E) unbatched);
        ``src_mask`` and ``src_key_padding_mask`` as MultiheadAttention's attn_mask and
        key_padding_mask (True = masked out); ``is_causal`` with no src_mask masks the future."""
        x = src if isinstance(src, ArrayLike) else Tensor(src)
        if self.norm_first:
            x = x + self._sa(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self._sa(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff(x))

    def _sa(self, x: Any, mask: Any, padding: Any, is_causal: bool) -> Any:
        out, _ = self.self_attn(x, x, x, key_padding_mask=padding, need_weights=False,
                                attn_mask=mask, is_causal=is_causal)
        return self.dropout1(out)

    def _ff(self, x: Any) -> Any:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


__all__ = ["scaled_dot_product_attention", "MultiheadAttention", "TransformerEncoderLayer"]
