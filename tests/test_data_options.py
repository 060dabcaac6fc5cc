"""Issue 12, the data side: collate_fn, dict and tuple samples, samplers and batch samplers,
WeightedRandomSampler, ConcatDataset, Subset and random_split as PyTorch's, num_workers; and
nn.utils."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.data import (
    BatchSampler, ConcatDataset, DataLoader, Dataset, RandomSampler, Subset, TensorDataset,
    WeightedRandomSampler, default_collate, random_split,
)


class Records(Dataset):
    """Samples as dicts, as a user's data set often returns them."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "y": i % 2, "meta": (i, np.float32(i) / 2)}


def test_dict_samples_make_dict_batches():
    batches = list(DataLoader(Records(), batch_size=3))
    assert [b["y"].data.tolist() for b in batches] == [[0, 1, 0], [1, 0, 1], [0]]
    first = batches[0]
    assert first["x"].shape == (3, 3) and first["meta"][0].data.tolist() == [0, 1, 2]
    assert isinstance(first["x"], cr.Tensor)


def test_collate_fn_gets_the_samples():
    def collate(samples):
        return (np.stack([s["x"] for s in samples]), np.array([s["y"] for s in samples]))
    (xb, yb), *_ = DataLoader(Records(), batch_size=4, collate_fn=collate)
    assert xb.shape == (4, 3) and yb.tolist() == [0, 1, 0, 1]
    b = default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
    assert isinstance(b, tuple) and b[0].shape == (2, 2) and b[1].data.tolist() == [1, 0]


def test_fit_takes_a_loader_with_a_collate_fn():
    X = np.random.default_rng(0).standard_normal((20, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)

    def collate(samples):
        return np.stack([s[0] for s in samples]), np.stack([s[1] for s in samples])
    net = nn.Linear(3, 2, rng=0)
    h = cr.train.fit(net, nn.CrossEntropyLoss(), cr.optim.SGD(net.parameters(), lr=0.1),
                     DataLoader(TensorDataset(X, y), batch_size=5, collate_fn=collate),
                     epochs=2, progress=False)
    assert len(h) == 2 and "accuracy" in h
    with pytest.raises(cr.DataError, match="dict with keys"):
        cr.train.fit(net, nn.CrossEntropyLoss(), cr.optim.SGD(net.parameters(), lr=0.1),
                     DataLoader(Records(), batch_size=5), progress=False)


def test_batch_sampler_and_sampler():
    ds = TensorDataset(np.arange(10))
    loader = DataLoader(ds, batch_sampler=[[3, 1], [0, 9, 8]])
    assert [b[0].data.tolist() for b in loader] == [[3, 1], [0, 9, 8]] and len(loader) == 2
    bs = BatchSampler(range(10), batch_size=4, drop_last=True)
    assert [b[0].data.tolist() for b in DataLoader(ds, batch_sampler=bs)] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(cr.ConfigError, match="batch_sampler"):
        DataLoader(ds, batch_sampler=bs, batch_size=4)
    got = np.concatenate([b[0].data for b in DataLoader(ds, batch_size=3, sampler=RandomSampler(ds, rng=0))])
    assert sorted(got.tolist()) == list(range(10))


def test_weighted_random_sampler_draws_in_proportion():
    w = np.array([1.0, 3.0, 0.0, 6.0])
    s = WeightedRandomSampler(w, num_samples=20000, rng=0)
    freq = np.bincount(list(s), minlength=4) / 20000
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.01)
    assert sorted(WeightedRandomSampler(w, 3, replacement=False, rng=1)) == [0, 1, 3]
    with pytest.raises(cr.ConfigError, match="at most 3"):
        WeightedRandomSampler(w, 4, replacement=False)
    with pytest.raises(cr.ConfigError, match="Invalid weights"):
        WeightedRandomSampler([-1.0, 2.0], 2)
    a = WeightedRandomSampler(w, 5, rng=2)
    state = a.state_dict()
    first = list(a)
    a.load_state_dict(state)
    assert list(a) == first


def test_concat_subset_and_random_split_as_pytorch():
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    parts = [np.arange(3), np.arange(10, 15), np.arange(20, 22)]
    ours = ConcatDataset([TensorDataset(p) for p in parts])
    ref = tdata.ConcatDataset([tdata.TensorDataset(torch.tensor(p)) for p in parts])
    assert len(ours) == len(ref) and ours.cumulative_sizes == ref.cumulative_sizes
    for i in list(range(len(ref))) + [-1, -4]:
        assert int(ours[i][0]) == int(ref[i][0])
    order = np.array([9, 0, 4, 3, 8, 1])
    (xb,) = next(iter(DataLoader(ours, batch_size=6, sampler=order)))
    assert xb.data.tolist() == [int(ref[i][0]) for i in order]
    sub = Subset(ours, [5, 0])
    assert [int(sub[i][0]) for i in range(2)] == [int(tdata.Subset(ref, [5, 0])[i][0]) for i in range(2)]
    sizes = [len(p) for p in random_split(TensorDataset(np.arange(11)), [0.5, 0.3, 0.2], rng=0)]
    assert sizes == [len(p) for p in tdata.random_split(range(11), [0.5, 0.3, 0.2])]


class Slow(Dataset):
    """A deterministic per-sample data set (no get_batch), so workers fetch sample by sample."""

    def __len__(self):
        return 50

    def __getitem__(self, i):
        return np.sin(np.arange(4, dtype=np.float32) * i), np.int64(i % 3)


def test_workers_give_the_same_batches_as_none():
    def run(workers, collate=None):
        loader = DataLoader(Slow(), batch_size=8, shuffle=True, rng=7, num_workers=workers,
                            collate_fn=collate)
        return [[np.asarray(getattr(t, "data", t)) for t in b] for e in range(2) for b in loader]
    plain, pooled = run(0), run(2)
    assert len(plain) == len(pooled) == 14
    for a, b in zip(plain, pooled):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
    pooled = run(2, collate=lambda s: (np.stack([x for x, _ in s]), np.stack([y for _, y in s])))
    np.testing.assert_array_equal(pooled[3][0], plain[3][0])
    with pytest.raises(cr.ConfigError, match="num_workers"):
        DataLoader(Slow(), num_workers=-1)


def test_loader_state_resumes_its_shuffling():
    loader = DataLoader(TensorDataset(np.arange(12)), batch_size=4, shuffle=True, rng=3)
    list(loader)
    state = loader.state_dict()
    after = [b[0].data.tolist() for b in loader]
    other = DataLoader(TensorDataset(np.arange(12)), batch_size=4, shuffle=True, rng=3)
    other.load_state_dict(state)
    assert [b[0].data.tolist() for b in other] == after
    with pytest.raises(cr.StateError, match="global"):
        DataLoader(TensorDataset(np.arange(12)), shuffle=True).load_state_dict(state)


# --- nn.utils -------------------------------------------------------------------------------

def test_parameters_to_vector_and_back():
    net = nn.Sequential(nn.Linear(3, 2, rng=0), nn.Linear(2, 1, rng=1))
    v = nn.utils.parameters_to_vector(net.parameters())
    assert v.shape == (net.num_parameters(),)
    np.testing.assert_array_equal(v.data[:6], net[0].weight.data.reshape(-1))
    nn.utils.vector_to_parameters(cr.Tensor(np.arange(11, dtype=np.float32)), net.parameters())
    assert net[1].bias.data.tolist() == [10.0] and net[0].weight.data[1].tolist() == [3.0, 4.0, 5.0]
    with pytest.raises(cr.ShapeError, match="11 values"):
        nn.utils.vector_to_parameters(cr.Tensor(np.zeros(5)), net.parameters())
    assert nn.utils.clip_grad_norm_ is cr.optim.clip_grad_norm_  # one implementation


def test_parameters_to_vector_matches_torch():
    torch = pytest.importorskip("torch")
    net = nn.Linear(4, 3, rng=0)
    ref = torch.nn.Linear(4, 3)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(net.weight.data))
        ref.bias.copy_(torch.tensor(net.bias.data))
    np.testing.assert_array_equal(nn.utils.parameters_to_vector(net.parameters()).data,
                                  torch.nn.utils.parameters_to_vector(ref.parameters()).detach().numpy())
