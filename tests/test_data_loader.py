"""Dataset, TensorDataset, Subset, random_split and DataLoader."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule.data import DataLoader, Dataset, Subset, TensorDataset, random_split
from chainrule.errors import ConfigError, DataError


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    X = np.arange(3 * n, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return X, y


def _epoch_labels(loader: DataLoader) -> list[int]:
    return np.concatenate([yb.data for _, yb in loader]).tolist()


class _Recorder(np.ndarray):
    """An array that records the length of every index it is asked for."""

    calls: list[int]

    def __getitem__(self, index):
        out = super().__getitem__(index)
        if isinstance(index, (np.ndarray, slice)):
            self.calls.append(len(np.arange(len(self))[index]))
        return out.view(np.ndarray) if isinstance(out, np.ndarray) else out


class _Squares(Dataset):
    """A per-sample data set without get_batch: the loader must collate samples."""

    def __len__(self) -> int:
        return 7

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return np.array([i, i * i], dtype=np.float32), i


def test_tensor_dataset_len_getitem_and_dtypes():
    X, y = _data(5)
    ds = TensorDataset(X, chainrule.Tensor(y))
    assert len(ds) == 5
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3, X[3])
    assert int(y3) == 3
    assert ds.arrays[0].dtype == np.float32 and ds.arrays[1].dtype == np.int64
    assert ds.arrays[0] is X  # no copy of arrays that are already fine
    # a dtype a Tensor cannot hold becomes its supported counterpart, once, here
    assert TensorDataset(np.zeros((2, 2), np.uint8)).arrays[0].dtype == np.uint8  # as PyTorch


@pytest.mark.parametrize("arrays, needle", [
    ((np.zeros((4, 2)), np.zeros(3)), "[4, 3]"),
    ((np.zeros((0, 2)), np.zeros(0)), "empty"),
    ((), "at least one"),
    ((np.float32(1.0),), "scalar"),
])
def test_tensor_dataset_rejects_bad_arrays(arrays, needle):
    with pytest.raises(DataError, match=None) as info:
        TensorDataset(*arrays)
    assert needle in str(info.value)


@pytest.mark.parametrize("n, bs, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
])
def test_loader_batch_sizes_and_len(n, bs, drop_last, sizes):
    X, y = _data(n)
    loader = DataLoader(TensorDataset(X, y), batch_size=bs, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes) == len(batches)
    assert [len(xb.data) for xb, _ in batches] == sizes
    for xb, yb in batches:
        assert isinstance(xb, chainrule.Tensor) and isinstance(yb, chainrule.Tensor)
        assert xb.shape[1:] == (3,) and xb.dtype == np.float32 and yb.dtype == np.int64
        assert not xb.requires_grad
    if not drop_last:  # in order without shuffling
        assert _epoch_labels(loader) == list(range(n))


def test_unshuffled_batches_are_views_of_the_data():
    X, y = _data(10)
    xb, yb = next(iter(DataLoader(TensorDataset(X, y), batch_size=4)))
    assert np.shares_memory(xb.data, X) and np.shares_memory(yb.data, y)


def test_shuffle_visits_every_sample_exactly_once_per_epoch():
    X, y = _data(103)
    loader = DataLoader(TensorDataset(X, y), batch_size=8, shuffle=True, rng=0)
    orders = [_epoch_labels(loader) for _ in range(3)]
    for order in orders:
        assert sorted(order) == list(range(103))
    assert orders[0] != orders[1] != orders[2]  # a fresh permutation each epoch
    for xb, yb in loader:  # features travel with their labels
        np.testing.assert_array_equal(xb.data[:, 0], 3 * yb.data)


def test_drop_last_with_shuffle_drops_only_the_remainder():
    X, y = _data(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, drop_last=True, rng=1)
    order = _epoch_labels(loader)
    assert len(order) == 8 and len(set(order)) == 8


def test_same_seed_same_order_different_seed_different_order():
    X, y = _data(50)
    ds = TensorDataset(X, y)

    def epochs(rng):
        loader = DataLoader(ds, batch_size=7, shuffle=True, rng=rng)
        return [_epoch_labels(loader) for _ in range(2)]

    assert epochs(42) == epochs(42)
    assert epochs(np.random.default_rng(42)) == epochs(42)
    assert epochs(42) != epochs(43)


def test_rng_none_draws_from_the_global_generator():
    X, y = _data(30)
    loader = DataLoader(TensorDataset(X, y), batch_size=5, shuffle=True)
    chainrule.manual_seed(7)
    first = _epoch_labels(loader)
    chainrule.manual_seed(7)
    assert _epoch_labels(loader) == first


def test_shuffled_loader_indexes_once_per_batch_never_the_whole_set():
    X, y = _data(20)
    ds = TensorDataset(X, y)
    recorders = []
    for a in ds.arrays:
        r = a.view(_Recorder)
        r.calls = []
        recorders.append(r)
    ds.arrays = tuple(recorders)
    loader = DataLoader(ds, batch_size=6, shuffle=True, rng=0)
    for _ in range(2):
        list(loader)
    for r in recorders:
        # two epochs of 4 batches: one fancy index per batch, none covering the whole set
        assert r.calls == [6, 6, 6, 2] * 2


def test_generic_dataset_is_collated_per_field():
    batches = list(DataLoader(_Squares(), batch_size=3, shuffle=True, rng=0))
    assert [len(yb.data) for _, yb in batches] == [3, 3, 1]
    for xb, yb in batches:
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        np.testing.assert_array_equal(xb.data[:, 1], yb.data ** 2)
    assert sorted(np.concatenate([yb.data for _, yb in batches]).tolist()) == list(range(7))


def test_single_array_samples_give_one_tensor_batches():
    class Plain(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(2, i, dtype=np.float32)

    (xb,), *_ = DataLoader(Plain(), batch_size=5)
    assert xb.shape == (5, 2)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_loader_rejects_bad_batch_size(batch_size):
    X, y = _data(4)
    with pytest.raises(ConfigError, match="batch_size"):
        DataLoader(TensorDataset(X, y), batch_size=batch_size)


def test_loader_rejects_empty_dataset():
    class Empty(Dataset):
        def __len__(self):
            return 0

    with pytest.raises(DataError, match="empty"):
        DataLoader(Empty())


def test_random_split_partitions_and_is_seeded():
    X, y = _data(25)
    ds = TensorDataset(X, y)
    parts = random_split(ds, [15, 6, 4], rng=3)
    assert [len(p) for p in parts] == [15, 6, 4]
    ids = np.concatenate([p.indices for p in parts])
    assert sorted(ids.tolist()) == list(range(25))
    again = random_split(ds, [15, 6, 4], rng=3)
    assert all(np.array_equal(a.indices, b.indices) for a, b in zip(parts, again))
    # subsets keep the one-index batch path and the (x, y) pairing
    xb, yb = next(iter(DataLoader(parts[0], batch_size=15)))
    np.testing.assert_array_equal(yb.data, parts[0].indices)
    np.testing.assert_array_equal(xb.data, X[parts[0].indices])
    assert int(parts[1][0][1]) == parts[1].indices[0]


def test_random_split_fractions_round_to_the_total():
    parts = random_split(TensorDataset(np.arange(11)), [0.5, 0.3, 0.2], rng=0)
    # floors 5, 3, 2 leave one sample, which goes to the first subset
    assert [len(p) for p in parts] == [6, 3, 2]


@pytest.mark.parametrize("lengths", [[5, 4], [0.5, 0.4], [-1, 11]])
def test_random_split_rejects_lengths_that_do_not_add_up(lengths):
    with pytest.raises(ConfigError, match="random_split"):
        random_split(TensorDataset(np.arange(10)), lengths)


def test_subset_of_generic_dataset():
    sub = Subset(_Squares(), [6, 2])
    xb, yb = next(iter(DataLoader(sub, batch_size=2)))
    assert yb.data.tolist() == [6, 2]
    assert xb.data[:, 1].tolist() == [36.0, 4.0]
