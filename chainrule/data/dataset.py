"""Data sets and the loader that cuts them into mini-batches.

Mini-batch gradient descent (NOTES.md section 6) visits the training set in batches, in a
fresh random order every epoch. :class:`DataLoader` does that without copying the data set:
for a :class:`TensorDataset` each batch is one fancy index of the stored arrays with a slice
of the epoch's permutation (or a plain slice, a view, when not shuffling). Shuffling a
60000×784 set by fancy indexing costs a third of a fast epoch (shared/PERF-NOTES.md), so the
whole set is never copied per epoch and samples are never visited one by one in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import random as _random
from ..backend import require_host
from ..errors import ConfigError, DataError
from ..validate import check_number
from ..tensor import Tensor, to_array


def _as_array(x: Any) -> np.ndarray:
    """The array behind ``x``: a Tensor's data, or the array NumPy makes of a sequence."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class Dataset:
    """A sized, indexable collection of samples: ``len(ds)`` and ``ds[i]``.

    Subclasses define ``__len__`` and ``__getitem__(i)`` returning one sample (an array or a
    tuple of arrays, e.g. ``(x, y)``). They may also define ``get_batch(indices)`` returning a
    tuple of arrays with a leading batch axis; :class:`DataLoader` then fetches a whole batch
    with one call instead of one call per sample.

    >>> class Squares(Dataset):
    ...     def __len__(self): return 4
    ...     def __getitem__(self, i): return (float(i), i * i)
    >>> len(Squares()), Squares()[3]
    (4, (3.0, 9))
    """

    def __len__(self) -> int:
        raise TypeError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise TypeError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples stored as arrays sharing their first axis: ``ds[i] = (a[i] for a in arrays)``.

    Arrays keep their dtypes (a dtype a Tensor cannot hold, such as uint8, becomes int64 and
    float16 becomes float32, as for :class:`chainrule.Tensor`); Tensors contribute their data.

    Args:
        *arrays: arrays, Tensors or nested sequences, all of the same length.

    Raises:
        DataError: no arrays, an empty array, a 0-d array, or arrays of different lengths.

    >>> ds = TensorDataset(np.zeros((5, 2), np.float32), np.arange(5))
    >>> len(ds), int(ds[4][1])
    (5, 4)
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise DataError("TensorDataset needs at least one array; got none")
        require_host("TensorDataset", [a.data if isinstance(a, Tensor) else a for a in arrays],
                     "data sets and DataLoader hold host arrays; fit, evaluate and predict move "
                     "each batch to the model's device")
        self.arrays = tuple(to_array(_as_array(a)) for a in arrays)
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise DataError(f"TensorDataset: array {i} is a scalar; every array needs a "
                                "leading sample axis")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise DataError(f"TensorDataset: arrays have different lengths {lengths}; every "
                            "array must have one entry per sample")
        if lengths[0] == 0:
            raise DataError("TensorDataset: the data set is empty (0 samples)")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: int) -> tuple[np.ndarray, ...]:
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices: np.ndarray | slice) -> tuple[np.ndarray, ...]:
        """The samples at ``indices`` (an index array or a slice) as one array per field."""
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order.

    >>> sub = Subset(TensorDataset(np.arange(10)), [7, 2])
    >>> len(sub), int(sub[0][0])
    (2, 7)
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray | slice) -> tuple[np.ndarray, ...]:
        """The samples at ``indices`` of this subset, fetched from the parent in one call."""
        return _fetch(self.dataset, self.indices[indices])


def _fetch(dataset: Dataset, indices: np.ndarray | slice) -> tuple[np.ndarray, ...]:
    """One batch of ``dataset`` as a tuple of arrays with a leading batch axis."""
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        return tuple(get_batch(indices))
    # NOTE: a generic Dataset only promises per-sample access, so this path loops over the
    # batch; TensorDataset and Subset take the one-index path above.
    if isinstance(indices, slice):
        indices = range(*indices.indices(len(dataset)))
    samples = [dataset[int(i)] for i in indices]
    if not isinstance(samples[0], tuple):
        return (np.stack([np.asarray(s) for s in samples]),)
    return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 rng: np.random.Generator | int | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping subsets of the given sizes.

    Args:
        dataset: the data set to split.
        lengths: sizes summing to ``len(dataset)``, or fractions summing to 1 (the rounding
            remainder goes one sample at a time to the first subsets).
        rng: generator, seed, or None for the global generator.

    Returns:
        One :class:`Subset` per length.

    Raises:
        ConfigError: negative sizes, or sizes/fractions that do not add up.

    >>> train, val = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], rng=0)
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    if any(v < 0 for v in lengths):
        raise ConfigError(f"random_split: lengths must be non-negative; got {list(lengths)}")
    if all(isinstance(v, (int, np.integer)) for v in lengths):
        sizes = [int(v) for v in lengths]
    elif math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
    else:
        raise ConfigError(f"random_split: lengths {list(lengths)} are neither sample counts nor "
                          "fractions summing to 1")
    if sum(sizes) != n:
        raise ConfigError(f"random_split: lengths {sizes} sum to {sum(sizes)}, but the data set "
                          f"has {n} samples")
    perm = _random.get_rng(rng).permutation(n)
    bounds = np.cumsum([0, *sizes])
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


class ReshuffleSampler:
    """Each epoch, the previous epoch's order permuted again: ``order = order[rng.permutation(n)]``.

    This is how scikit-learn's MLP shuffles (``sklearn.utils.shuffle`` of its index array every
    epoch): with the same ``RandomState`` a :class:`DataLoader` over this sampler visits the
    samples in scikit-learn's order, batch for batch. A fresh permutation every epoch is
    equally random; this one reproduces scikit-learn's bits.

    Args:
        n: the number of samples.
        rng: anything with ``permutation(n)`` (a NumPy ``Generator`` or ``RandomState``), or a
            seed.

    >>> s = ReshuffleSampler(4, np.random.RandomState(0))
    >>> first = list(s); second = list(s)
    >>> sorted(first) == sorted(second) == [0, 1, 2, 3]
    True
    """

    def __init__(self, n: int, rng: Any = None) -> None:
        self.n = int(n)
        self.rng = rng if hasattr(rng, "permutation") else _random.get_rng(rng)
        self.order = np.arange(self.n)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        self.order = self.order[self.rng.permutation(self.n)]
        return iter(self.order)


class DataLoader:
    """Iterate over a data set in mini-batches of :class:`chainrule.Tensor`.

    Each batch is a tuple with one Tensor per field of the samples (``(x, y)`` for a
    ``TensorDataset(X, y)``), with a leading batch axis. Without shuffling, batches of a
    :class:`TensorDataset` are views of its arrays (no copy): do not modify them in place.

    Args:
        dataset: a :class:`Dataset` (or anything with ``len`` and ``[i]``).
        batch_size: samples per batch.
        shuffle: visit the samples in a fresh random order every epoch.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        rng: generator or seed for the shuffling; None draws from the global generator
            (:func:`chainrule.manual_seed`) at the start of each epoch. An int seed makes a
            generator once, so epochs differ from each other but the same seed gives the
            same sequence of epochs.
        sampler: instead of ``shuffle``, the order of the samples: a sized iterable of
            indices, iterated once per epoch (PyTorch's ``sampler``), e.g.
            :class:`ReshuffleSampler`.

    Raises:
        ConfigError: a batch size that is not a positive integer, or both ``shuffle`` and
            ``sampler``.
        DataError: an empty data set.

    >>> X = np.arange(10, dtype=np.float32).reshape(5, 2); y = np.arange(5)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=2)
    >>> len(loader), [yb.data.tolist() for _, yb in loader]
    (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(self, dataset: Dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, rng: np.random.Generator | int | None = None,
                 sampler: Any = None) -> None:
        if shuffle and sampler is not None:
            raise ConfigError("DataLoader: give shuffle=True or a sampler, not both")
        check_number(batch_size, "batch_size", "DataLoader", low=1, integer=True)
        if len(dataset) == 0:
            raise DataError("DataLoader: the data set is empty (0 samples)")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = None if rng is None else _random.get_rng(rng)
        self.sampler = sampler

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n, bs = len(self.dataset), self.batch_size
        order = _random.get_rng(self.rng).permutation(n) if self.shuffle else None
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64, count=len(self.sampler))
            n = len(order)
        for b in range(len(self)):
            start, stop = b * bs, min((b + 1) * bs, n)
            index = slice(start, stop) if order is None else order[start:stop]
            yield tuple(Tensor._make(to_array(a)) for a in _fetch(self.dataset, index))

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
