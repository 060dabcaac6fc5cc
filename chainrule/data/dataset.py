"""Data sets and the loader that cuts them into mini-batches.

Mini-batch gradient descent (notes §6, making networks work) visits the training set in batches, in a
fresh random order every epoch. :class:`DataLoader` does that without copying the data set:
for a :class:`TensorDataset` each batch is one fancy index of the stored arrays with a slice
of the epoch's permutation (or a plain slice, a view, when not shuffling). Shuffling a
60000×784 set by fancy indexing costs a third of a fast epoch (shared/PERF-NOTES.md), so the
whole set is never copied per epoch and samples are never visited one by one in Python.
"""

from __future__ import annotations

import math
import multiprocessing as mp
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .. import random as _random
from ..backend import require_host
from ..errors import ConfigError, DataError, StateError
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


class ConcatDataset(Dataset):
    """The samples of several data sets one after another, as ``torch.utils.data.ConcatDataset``
    (``cumulative_sizes[i]`` is the number of samples in the first i + 1 sets).

    Raises:
        DataError: no data sets, or an empty one.

    >>> ds = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
    >>> len(ds), int(ds[3][0]), int(ds[-1][0]), ds.cumulative_sizes
    (5, 10, 11, [3, 5])
    """

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise DataError("ConcatDataset needs at least one data set; got none")
        sizes = [len(d) for d in self.datasets]
        if 0 in sizes:
            raise DataError(f"ConcatDataset: data set {sizes.index(0)} is empty")
        self.cumulative_sizes = np.cumsum(sizes).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, index: Any) -> tuple[np.ndarray, np.ndarray]:
        """(which data set, index inside it) for each of ``index``."""
        n = len(self)
        idx = np.arange(n)[index] if isinstance(index, slice) else np.asarray(index, np.int64)
        if ((idx < -n) | (idx >= n)).any():
            raise IndexError(f"ConcatDataset: index out of range for {n} samples")
        idx = np.where(idx < 0, idx + n, idx)
        which = np.searchsorted(self.cumulative_sizes, idx, side="right")
        starts = np.concatenate([[0], self.cumulative_sizes[:-1]])
        return which, idx - starts[which]

    def __getitem__(self, index: int) -> Any:
        which, inner = self._locate(index)
        return self.datasets[int(which)][int(inner)]

    def get_batch(self, indices: np.ndarray | slice) -> tuple[np.ndarray, ...]:
        """The samples at ``indices``, one fetch per data set they fall in, in order."""
        which, inner = self._locate(indices)
        parts = {int(d): _fetch(self.datasets[int(d)], inner[which == d]) for d in np.unique(which)}
        if not all(isinstance(p, tuple) for p in parts.values()):  # dict samples: one by one
            return _stack([self[int(i)] for i in np.arange(len(self))[indices]])
        fields = len(next(iter(parts.values())))
        out = []
        for k in range(fields):
            first = parts[int(which[0])][k]
            col = np.empty((len(which), *first.shape[1:]), dtype=np.result_type(
                *[p[k].dtype for p in parts.values()]))
            for d, arrays in parts.items():
                col[which == d] = arrays[k]
            out.append(col)
        return tuple(out)


def _stack(samples: list[Any]) -> Any:
    """Samples stacked field by field into arrays with a leading batch axis: tuples and lists
    give tuples, dicts give dicts with the same keys, one array gives a 1-tuple."""
    first = samples[0]
    if isinstance(first, Mapping):
        return {k: _stack_field([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        return tuple(_stack_field([s[k] for s in samples]) for k in range(len(first)))
    return (_stack_field(samples),)


def _stack_field(values: list[Any]) -> Any:
    if isinstance(values[0], (Mapping, tuple, list)):
        stacked = _stack(values)
        return list(stacked) if isinstance(values[0], list) else stacked
    return np.stack([_as_array(v) for v in values])


def _tensors(batch: Any) -> Any:
    """Every array of a stacked batch as a Tensor (dicts and tuples kept)."""
    if isinstance(batch, Mapping):
        return {k: _tensors(v) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(_tensors(v) for v in batch)
    return Tensor._make(to_array(batch)) if isinstance(batch, np.ndarray) else batch


def default_collate(samples: Sequence[Any]) -> Any:
    """A batch from a list of samples, as the loader makes it: tuples (and lists) of arrays
    become tuples of Tensors, dicts become dicts of Tensors, one array a 1-tuple.

    >>> b = default_collate([{"x": np.zeros(2), "y": 0}, {"x": np.ones(2), "y": 1}])
    >>> b["x"].shape, b["y"].data.tolist()
    ((2, 2), [0, 1])
    """
    return _tensors(_stack(list(samples)))


def _fetch(dataset: Dataset, indices: np.ndarray | slice) -> Any:
    """One batch of ``dataset`` as arrays with a leading batch axis (a tuple, or a dict for
    dict samples)."""
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        out = get_batch(indices)
        return out if isinstance(out, Mapping) else tuple(out)
    # NOTE: a generic Dataset only promises per-sample access, so this path loops over the
    # batch; TensorDataset, Subset and ConcatDataset take the one-index path above.
    if isinstance(indices, slice):
        indices = range(*indices.indices(len(dataset)))
    return _stack([dataset[int(i)] for i in indices])


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


class DataLoader:
    """Iterate over a data set in mini-batches of :class:`chainrule.Tensor`, as
    ``torch.utils.data.DataLoader``.

    Each batch has one Tensor per field of the samples, with a leading batch axis: a tuple
    (``(x, y)`` for a ``TensorDataset(X, y)``; a 1-tuple for samples that are one array) or a
    dict for dict samples; ``collate_fn`` makes anything else. Without shuffling, batches of a
    :class:`TensorDataset` are views of its arrays (no copy): do not modify them in place.

    Args:
        dataset: a :class:`Dataset` (or anything with ``len`` and ``[i]``).
        batch_size: samples per batch.
        shuffle: visit the samples in a fresh random order every epoch.
        sampler: instead of ``shuffle``, the order of the samples: a sized iterable of
            indices, iterated once per epoch (e.g. :class:`WeightedRandomSampler`,
            :class:`ReshuffleSampler`).
        batch_sampler: instead of ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``:
            a sized iterable of index lists, one per batch (e.g. :class:`BatchSampler`).
        num_workers: worker processes that fetch and collate batches (0: in this process).
            The order is drawn here, so the batches are the same as with 0 workers for a data
            set whose samples do not depend on chance.
        collate_fn: ``collate_fn(list of samples) -> batch``; default :func:`default_collate`
            (a data set with ``get_batch`` is then fetched a whole batch at a time).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        rng: generator or seed for the shuffling; None draws from the global generator
            (:func:`chainrule.manual_seed`) at the start of each epoch. An int seed makes a
            generator once, so epochs differ from each other but the same seed gives the
            same sequence of epochs; :meth:`state_dict` saves where it is.

    Raises:
        ConfigError: a batch size or worker count that is not a non-negative integer,
            ``shuffle`` with a sampler, a ``batch_sampler`` with options it replaces.
        DataError: an empty data set.

    >>> X = np.arange(10, dtype=np.float32).reshape(5, 2); y = np.arange(5)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=2)
    >>> len(loader), [yb.data.tolist() for _, yb in loader]
    (3, [[0, 1], [2, 3], [4]])
    """

    def __init__(self, dataset: Dataset, batch_size: int = 32, shuffle: bool = False,
                 drop_last: bool = False, rng: np.random.Generator | int | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        if shuffle and (sampler is not None or batch_sampler is not None):
            raise ConfigError("DataLoader: give shuffle=True or a sampler, not both")
        if batch_sampler is not None and (sampler is not None or drop_last or batch_size not in (1, 32)):
            raise ConfigError("DataLoader: batch_sampler makes the batches itself; give it "
                              "without batch_size, sampler and drop_last")
        check_number(batch_size, "batch_size", "DataLoader", low=1, integer=True)
        self.num_workers = check_number(num_workers, "num_workers", "DataLoader", low=0, integer=True)
        if len(dataset) == 0:
            raise DataError("DataLoader: the data set is empty (0 samples)")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.rng = None if rng is None else _random.get_rng(rng)
        self.sampler, self.batch_sampler, self.collate_fn = sampler, batch_sampler, collate_fn

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _indices(self) -> Iterator[np.ndarray | slice]:
        """This epoch's batches as index arrays (slices when in order), drawn here."""
        if self.batch_sampler is not None:
            for b in self.batch_sampler:
                yield np.asarray(list(b), dtype=np.int64)
            return
        n, bs = len(self.dataset), self.batch_size
        order = _random.get_rng(self.rng).permutation(n) if self.shuffle else None
        if self.sampler is not None:
            order = np.fromiter(self.sampler, dtype=np.int64, count=len(self.sampler))
            n = len(order)
        for b in range(len(self)):
            start, stop = b * bs, min((b + 1) * bs, n)
            yield slice(start, stop) if order is None else order[start:stop]

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            for index in self._indices():
                yield _load(self.dataset, self.collate_fn, index)
            return
        # NOTE: fork where the platform has it (the workers inherit the data set, nothing to
        # pickle); imap keeps the batches in order, so they match num_workers=0.
        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else None)
        with ctx.Pool(self.num_workers, initializer=_worker_init,
                      initargs=(self.dataset, self.collate_fn)) as pool:
            for batch in pool.imap(_worker_load, self._indices()):
                yield batch if self.collate_fn is not None else _tensors(batch)

    def state_dict(self) -> dict[str, Any]:
        """Where the shuffling stands: the generator's state (None for the global one, which a
        checkpoint saves anyway) and the sampler's, to resume bit-identically."""
        def of(sampler: Any) -> Any:
            return sampler.state_dict() if hasattr(sampler, "state_dict") else None
        return {"rng": None if self.rng is None else self.rng.bit_generator.state,
                "sampler": of(self.sampler), "batch_sampler": of(self.batch_sampler)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if state.get("rng") is not None:
            if self.rng is None:
                raise StateError("DataLoader.load_state_dict: the state holds a generator but "
                                 "this loader draws from the global one (give it rng=...)")
            self.rng.bit_generator.state = state["rng"]
        for name in ("sampler", "batch_sampler"):
            if state.get(name) is not None:
                getattr(self, name).load_state_dict(state[name])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")


def _load(dataset: Dataset, collate_fn: Any, index: np.ndarray | slice) -> Any:
    if collate_fn is None:
        return _tensors(_fetch(dataset, index))
    if isinstance(index, slice):
        index = range(*index.indices(len(dataset)))
    return collate_fn([dataset[int(i)] for i in index])


_WORKER: dict[str, Any] = {}


def _worker_init(dataset: Dataset, collate_fn: Any) -> None:
    _WORKER["dataset"], _WORKER["collate_fn"] = dataset, collate_fn


def _worker_load(index: np.ndarray | slice) -> Any:
    """One batch in a worker: arrays (the main process makes them Tensors), or what a
    ``collate_fn`` returns."""
    dataset, collate_fn = _WORKER["dataset"], _WORKER["collate_fn"]
    return _fetch(dataset, index) if collate_fn is None else _load(dataset, collate_fn, index)
