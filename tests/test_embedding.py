"""Embedding: lookup, scatter-added gradients for repeated ids, PyTorch parity, bad indices."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import Tensor
from chainrule.errors import ConfigError, DataError
from chainrule.nn.embedding import Embedding


def test_lookup_and_repeated_indices_add_their_gradients():
    emb = Embedding(5, 2, rng=0, dtype=np.float64)
    idx = np.array([[0, 3, 3], [3, 1, 0]])
    out = emb(idx)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[idx])
    g = np.arange(12.0).reshape(2, 3, 2)
    out.backward(g)
    # Row 3 is used three times: its gradient is g[0,1] + g[0,2] + g[1,0] = (2+4+6, 3+5+7).
    assert emb.weight.grad[3].tolist() == [12.0, 15.0]
    assert emb.weight.grad[0].tolist() == [0.0 + 10.0, 1.0 + 11.0]
    assert emb.weight.grad[2].tolist() == [0.0, 0.0] and emb.weight.grad[4].tolist() == [0.0, 0.0]


def test_forward_mode_and_gradient_check():
    idx = np.array([1, 1, 2])
    cr.check_grad(lambda w: w[idx] * w[idx], np.random.default_rng(0).standard_normal((3, 2)))


def test_matches_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(7, 3, padding_idx=2).double()
    ours = Embedding(7, 3, padding_idx=2, dtype=np.float64)
    assert ours.weight.numpy()[2].tolist() == [0.0, 0.0, 0.0]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    idx = np.array([[1, 4, 4, 6], [0, 1, 1, 1]])
    g = np.random.default_rng(1).standard_normal((2, 4, 3))
    out = ours(Tensor(idx))
    out.backward(g)
    tout = theirs(torch.tensor(idx))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy())
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize(("idx", "match"), [
    ([0, 5], r"lie in \[0, 5\); got 1 outside it \(min 0, max 5\)"),
    ([[-1, 2]], r"got 1 outside it \(min -1"),
    (np.array([0.5, 1.0]), "must be integers; got dtype float64"),
])
def test_bad_indices_raise_data_error(idx, match):
    with pytest.raises(DataError, match=match):
        Embedding(5, 2)(idx)


def test_integral_floats_are_accepted_and_config_is_checked():
    assert Embedding(4, 2, rng=0)(np.array([1.0, 3.0])).shape == (2, 2)
    with pytest.raises(ConfigError, match="num_embeddings"):
        Embedding(0, 3)
    with pytest.raises(ConfigError, match="padding_idx"):
        Embedding(4, 3, padding_idx=4)
    assert repr(Embedding(4, 3, padding_idx=-1)) == "Embedding(4, 3, padding_idx=3)"
