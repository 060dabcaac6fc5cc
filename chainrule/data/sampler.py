"""Samplers: the order in which a :class:`~chainrule.data.DataLoader` visits samples, as
``torch.utils.data``'s (a sampler yields indices; a batch sampler yields lists of them).

Each random sampler owns a seedable generator and has ``state_dict()`` /
``load_state_dict()``, so a checkpoint can resume its stream where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from typing import Any

import numpy as np

from .. import random as _random
from ..errors import ConfigError, DataError
from ..validate import check_bool, check_number


def _generator(rng: Any) -> Any:
    """``rng`` if it can permute (a Generator or a RandomState), else a generator from it."""
    return rng if hasattr(rng, "permutation") else _random.get_rng(rng)


def rng_state(rng: Any) -> Any:
    """The JSON-able state of a NumPy ``Generator`` or ``RandomState``."""
    if isinstance(rng, np.random.RandomState):
        return rng.get_state(legacy=False)
    return rng.bit_generator.state


def set_rng_state(rng: Any, state: Any) -> None:
    """Restore what :func:`rng_state` returned."""
    if isinstance(rng, np.random.RandomState):
        rng.set_state(state)
    else:
        rng.bit_generator.state = state


class _RandomSampler:
    """A sampler that draws from a generator of its own, whose state it saves."""

    rng: Any

    def state_dict(self) -> dict[str, Any]:
        """The generator's state (and any order kept between epochs), to resume."""
        return {"rng": rng_state(self.rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])


class SequentialSampler:
    """0, 1, ..., len(data_source) − 1.

    >>> list(SequentialSampler(range(3)))
    [0, 1, 2]
    """

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __len__(self) -> int:
        return len(self.data_source)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))


class RandomSampler(_RandomSampler):
    """A fresh random order every epoch (or ``num_samples`` draws with replacement).

    >>> sorted(RandomSampler(range(4), rng=0))
    [0, 1, 2, 3]
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, rng: Any = None) -> None:
        self.data_source, self.replacement = data_source, check_bool(replacement, "replacement",
                                                                      "RandomSampler")
        self.num_samples = len(data_source) if num_samples is None else \
            check_number(num_samples, "num_samples", "RandomSampler", low=1, integer=True)
        self.rng = _generator(rng)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.replacement:
            return iter(self.rng.integers(0, n, self.num_samples).tolist())
        order = np.concatenate([self.rng.permutation(n) for _ in range(-(-self.num_samples // n))])
        return iter(order[:self.num_samples].tolist())


class SubsetRandomSampler(_RandomSampler):
    """The given indices in a fresh random order every epoch.

    >>> sorted(SubsetRandomSampler([5, 7, 9], rng=0))
    [5, 7, 9]
    """

    def __init__(self, indices: Iterable[int], rng: Any = None) -> None:
        self.indices = np.asarray(list(indices), dtype=np.int64)
        self.rng = _generator(rng)

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices[self.rng.permutation(len(self.indices))].tolist())


class WeightedRandomSampler(_RandomSampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (with or
    without replacement), as ``torch.utils.data.WeightedRandomSampler``: oversample rare
    classes with weights 1 / count(class).

    Args:
        weights: one non-negative weight per sample (they need not sum to 1).
        num_samples: draws per epoch.
        replacement: draw with replacement (without: at most as many draws as positive
            weights).
        rng: generator or seed (None: the global generator).

    Raises:
        ConfigError: negative, non-finite or all-zero weights; too many draws without
            replacement.

    >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], num_samples=4, rng=0)
    >>> list(s)
    [1, 1, 1, 1]
    """

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 rng: Any = None) -> None:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        where = "WeightedRandomSampler"
        if not w.size or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() == 0:
            raise ConfigError(f"Invalid weights: {w[:5].tolist()}{' ...' if w.size > 5 else ''} "
                              f"(expected finite, non-negative numbers, not all 0) in {where}")
        self.weights = w
        self.num_samples = check_number(num_samples, "num_samples", where, low=1, integer=True)
        self.replacement = check_bool(replacement, "replacement", where)
        if not replacement and num_samples > np.count_nonzero(w):
            raise ConfigError(f"Invalid num_samples: {num_samples} (expected at most "
                              f"{np.count_nonzero(w)}, the positive weights, without replacement) "
                              f"in {where}")
        self.rng = _generator(rng)

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        draw = self.rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(draw.tolist())


class BatchSampler:
    """Lists of ``batch_size`` indices from ``sampler`` (the last one shorter unless
    ``drop_last``): a ``batch_sampler`` for :class:`~chainrule.data.DataLoader`.

    >>> list(BatchSampler(range(5), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = check_number(batch_size, "batch_size", "BatchSampler", low=1, integer=True)
        self.drop_last = check_bool(drop_last, "drop_last", "BatchSampler")

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def state_dict(self) -> dict[str, Any]:
        """The inner sampler's state, when it has one."""
        inner = getattr(self.sampler, "state_dict", None)
        return {"sampler": inner() if inner else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("sampler") is not None:
            self.sampler.load_state_dict(state["sampler"])  # type: ignore[attr-defined]


class ReshuffleSampler(_RandomSampler):
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
        if self.n < 1:
            raise DataError(f"ReshuffleSampler: needs at least one sample; got n={n}")
        self.rng = _generator(rng)
        self.order = np.arange(self.n)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        self.order = self.order[self.rng.permutation(self.n)]
        return iter(self.order)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(self.rng), "order": self.order.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.rng, state["rng"])
        self.order = np.asarray(state["order"], dtype=np.int64)


__all__ = ["SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "ReshuffleSampler", "rng_state", "set_rng_state"]
