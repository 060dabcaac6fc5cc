"""Embedding: a lookup table of learned vectors, indexed by integer ids."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_module
from ..errors import ConfigError, DataError
from ..validate import check_number
from ..random import get_rng
from ..tensor import Tensor, as_dtype
from .module import Module, Parameter


class Embedding(Module):
    """Row ``i`` of ``weight`` (num_embeddings, embedding_dim) for every index i, as
    ``torch.nn.Embedding``: the output has the indices' shape plus (embedding_dim,).

    The lookup is integer-array indexing, so the gradient of a row that appears several times
    in a batch is the sum of its cotangents (scatter-add). The weight starts N(0, 1), as in
    PyTorch; with ``padding_idx`` that row starts at zero.

    Args:
        num_embeddings: size of the vocabulary.
        embedding_dim: length of each vector.
        padding_idx: an index whose row starts at zero (a padding token).
        rng: seed or generator for the initial weights.
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: non-positive sizes or a padding_idx outside the table.
        DataError: (when called) indices that are not integers or lie outside
            [0, num_embeddings).

    >>> emb = Embedding(10, 3, rng=0)
    >>> emb([[1, 2, 1]]).shape
    (1, 3, 3)
    >>> out = emb([1, 1, 4]); out.sum().backward()
    >>> emb.weight.grad[[0, 1, 4], 0].tolist()   # row 1 was used twice
    [0.0, 2.0, 1.0]
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 rng: Any = None, dtype: Any = np.float32) -> None:
        super().__init__()
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            check_number(v, name, "Embedding", low=1, integer=True)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ConfigError(f"Embedding: padding_idx must lie in [-{num_embeddings}, "
                                  f"{num_embeddings}); got {padding_idx!r}")
            padding_idx = int(padding_idx) % num_embeddings
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = padding_idx
        w = get_rng(rng).standard_normal((self.num_embeddings, self.embedding_dim))
        if padding_idx is not None:
            w[padding_idx] = 0.0
        self.weight = Parameter(w.astype(as_dtype(dtype)))

    def forward(self, indices: Any) -> Any:
        # the indices go where the table lives (a host→device copy for host indices on a GPU)
        idx = array_module(self.weight.data).asarray(indices.data if isinstance(indices, Tensor)
                                                      else indices)
        where = f"Embedding({self.num_embeddings}, {self.embedding_dim})"
        if idx.dtype.kind not in "iu":
            if idx.dtype.kind == "f" and idx.size and bool((idx % 1 == 0).all()):
                idx = idx.astype(np.int64)
            elif idx.size or idx.dtype.kind not in "fb":
                raise DataError(f"{where}: indices must be integers; got dtype {idx.dtype}")
            else:
                idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx[(idx < 0) | (idx >= self.num_embeddings)]
            raise DataError(f"{where}: indices must lie in [0, {self.num_embeddings}); got "
                            f"{bad.size} outside it (min {idx.min()}, max {idx.max()})")
        return self.weight[idx]

    def extra_repr(self) -> str:
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


__all__ = ["Embedding"]
