"""Bidirectional RNN, LSTM and GRU against PyTorch with PyTorch's weights (float64, outputs,
final states and every gradient), and the layout of their names and shapes."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule import Tensor
from chainrule.errors import ConfigError, ShapeError
from chainrule.nn import GRU, LSTM, RNN

rng = np.random.default_rng(5)
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("kw", [dict(num_layers=2), dict(batch_first=True, bias=False),
                                dict(num_layers=2, batch_first=True, nonlinearity="relu")], ids=str)
def test_bidirectional_matches_torch(name, kw):
    torch = pytest.importorskip("torch")
    if "nonlinearity" in kw and name != "RNN":
        kw = {k: v for k, v in kw.items() if k != "nonlinearity"}
    theirs = getattr(torch.nn, name)(3, 4, bidirectional=True, **kw).double()
    ours = LAYERS[name](3, 4, bidirectional=True, dtype=np.float64, **kw)
    sd = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    assert list(sd) == [n for n, _ in ours.named_parameters()]
    ours.load_state_dict(sd)
    n_states = 2 * kw.get("num_layers", 1)
    x = rng.standard_normal((2, 5, 3) if kw.get("batch_first") else (5, 2, 3))
    h0, c0 = rng.standard_normal((n_states, 2, 4)), rng.standard_normal((n_states, 2, 4))
    xt, ht = Tensor(x, requires_grad=True), Tensor(h0, requires_grad=True)
    tx, th = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    if name == "LSTM":
        out, (h, _) = ours(xt, (ht, Tensor(c0)))
        tout, (t_h, _) = theirs(tx, (th, torch.tensor(c0)))
    else:
        out, h = ours(xt, ht)
        tout, t_h = theirs(tx, th)
    assert out.shape == tuple(tout.shape) and out.shape[-1] == 8 and h.shape == (n_states, 2, 4)
    g, gh = rng.standard_normal(out.shape), rng.standard_normal(h.shape)
    ((out * Tensor(g)).sum() + (h * Tensor(gh)).sum()).backward()
    ((tout * torch.tensor(g)).sum() + (t_h * torch.tensor(gh)).sum()).backward()
    close = lambda a, b, what: np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12,  # noqa: E731
                                                          err_msg=what)
    close(out.numpy(), tout.detach().numpy(), "output")
    close(h.numpy(), t_h.detach().numpy(), "h_n")
    close(xt.grad, tx.grad.numpy(), "input")
    close(ht.grad, th.grad.numpy(), "h_0")
    for (n, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        close(p.grad, tp.grad.numpy(), n)


def test_bidirectional_layout_and_errors():
    gru = GRU(3, 4, num_layers=2, bidirectional=True, rng=0)
    assert [n for n, _ in gru.named_parameters()][4:8] == [
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert gru.weight_ih_l1.shape == (12, 8)  # the second layer reads both directions
    # the reverse direction's output at the last step is its first step: h_n rows 1 and 3
    # (layer 0 and 1, reverse) equal output[0, :, H:] for the last layer's reverse
    out, h_n = gru(np.ones((6, 2, 3), np.float32))
    np.testing.assert_array_equal(h_n.numpy()[3], out.numpy()[0, :, 4:])
    np.testing.assert_array_equal(h_n.numpy()[2], out.numpy()[-1, :, :4])
    assert "bidirectional=True" in repr(gru)
    out, h_n = gru(np.ones((6, 3), np.float32))  # unbatched
    assert out.shape == (6, 8) and h_n.shape == (4, 4)
    with pytest.raises(ShapeError, match=r"\(4, 2, 4\)"):
        gru(np.ones((6, 2, 3), np.float32), np.zeros((2, 2, 4), np.float32))
    with pytest.raises(ConfigError, match="bidirectional"):
        LSTM(3, 4, bidirectional="yes")
