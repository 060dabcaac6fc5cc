"""Recurrent layers: RNN (tanh or ReLU), LSTM and GRU, with PyTorch's equations, gate order,
parameter names and initialization (notes §6: recurrent connections for sequences).

Each layer runs over the time axis in Python, one step per time step; the input projection
x_t·W_ihᵀ + b_ih of every step is computed up front by one matrix product over the whole
sequence. Backpropagation through time is ordinary reverse mode over the unrolled graph.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functional as F
from ..backend import array_module
from ..errors import ShapeError
from ..validate import check_bool, check_choice, check_number
from ..ops.recurrent import Gru, Lstm
from ..random import get_rng
from ..tensor import ArrayLike, Tensor, apply, as_dtype
from . import functional as NF
from .module import Module, Parameter, layer_input

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _sequence_input(where: str, x: Any, batch_first: bool,
                    dtype: Any) -> tuple[Any, bool, bool]:
    """``x`` as a 3-D Tensor (or Dual), whether it came without a batch axis, and whether it
    is batch-first (else time-major). A list of per-example sequences (each (T, I)) is stacked
    time-major."""
    if isinstance(x, (list, tuple)):
        if not x:
            raise ShapeError(f"{where}: got an empty list of sequences")
        arrays = [s.data if isinstance(s, Tensor) else s for s in x]
        xp = array_module(*arrays)  # stacked where the sequences live
        arrays = [xp.asarray(a) for a in arrays]
        lengths = [a.shape[0] if a.ndim else 0 for a in arrays]
        if len(set(lengths)) > 1 or len({a.shape[1:] for a in arrays}) > 1:
            raise ShapeError(f"{where}: the sequences have inconsistent shapes "
                             f"{[a.shape for a in arrays]} (lengths {lengths}); pad them to one "
                             "length (and mask the padding) before stacking them into a batch")
        x = Tensor(xp.stack(arrays, axis=1).astype(dtype, copy=False))
        batch_first = False
    elif not isinstance(x, ArrayLike):
        x = Tensor(array_module(x).asarray(x, dtype=dtype))
    if x.ndim == 2:
        return x.unsqueeze(1), True, False
    if x.ndim != 3:
        layout = "(N, T, input_size)" if batch_first else "(T, N, input_size)"
        raise ShapeError(f"{where}: expected a 3-D input {layout} or a 2-D unbatched "
                         f"(T, input_size) one; got shape {tuple(x.shape)}")
    return x, False, batch_first


class RNNBase(Module):
    """The machinery shared by :class:`RNN`, :class:`LSTM` and :class:`GRU`.

    Parameters per layer k, in PyTorch's names and shapes: ``weight_ih_l{k}`` (G·H, I_k),
    ``weight_hh_l{k}`` (G·H, H), ``bias_ih_l{k}`` and ``bias_hh_l{k}`` (G·H,), where G is the
    number of gates (1, 4 for LSTM, 3 for GRU) stacked in PyTorch's order, I_0 = input_size and
    I_k = D·H above (D = 2 directions when bidirectional, else 1). A bidirectional layer has a
    second set, ``weight_ih_l{k}_reverse`` and so on, run over the reversed sequence; its outputs
    are concatenated after the forward direction's, [h→_t, h←_t]. All start U(−1/√H, 1/√H).
    """

    mode = "RNN_TANH"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 rng: Any = None, dtype: Any = np.float32) -> None:
        super().__init__()
        where = type(self).__name__
        self.input_size = check_number(input_size, "input_size", where, low=1, integer=True)
        self.hidden_size = check_number(hidden_size, "hidden_size", where, low=1, integer=True)
        self.num_layers = check_number(num_layers, "num_layers", where, low=1, integer=True)
        self.dropout = check_number(dropout, "dropout", where, low=0, high=1)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.bidirectional = check_bool(bidirectional, "bidirectional", where)
        self.num_directions = 2 if self.bidirectional else 1
        self.dtype = as_dtype(dtype)
        g, h = get_rng(rng), self.hidden_size
        gh = _GATES[self.mode] * h
        bound = 1.0 / math.sqrt(h)
        for k in range(self.num_layers):
            for suffix in ("", "_reverse")[:self.num_directions]:
                shapes = {f"weight_ih_l{k}{suffix}": (gh, self.input_size if k == 0
                                                      else h * self.num_directions),
                          f"weight_hh_l{k}{suffix}": (gh, h)}
                if self.bias:
                    shapes.update({f"bias_ih_l{k}{suffix}": (gh,), f"bias_hh_l{k}{suffix}": (gh,)})
                for name, shape in shapes.items():
                    setattr(self, name,
                            Parameter(g.uniform(-bound, bound, shape).astype(self.dtype)))

    def _layer(self, k: int, reverse: bool = False) -> tuple[Any, Any, Any, Any]:
        suffix = "_reverse" if reverse else ""
        get = lambda n: getattr(self, f"{n}_l{k}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _initial(self, where: str, name: str, state: Any, n: int, unbatched: bool) -> list[Any]:
        """The initial states per layer and direction (zeros when ``state`` is None)."""
        shape = (self.num_layers * self.num_directions, n, self.hidden_size)
        if state is None:
            return [None] * shape[0]
        if not isinstance(state, ArrayLike):
            state = Tensor(array_module(state).asarray(state, dtype=self.dtype))
        if unbatched and state.ndim == 2:
            state = state.unsqueeze(1)
        if tuple(state.shape) != shape:
            want = shape[::2] if unbatched else shape
            raise ShapeError(f"{where}: expected {name} of shape {want} (num_layers · "
                             f"num_directions, batch, hidden_size); got {tuple(state.shape)}")
        return [state[k] for k in range(shape[0])]

    @staticmethod
    def _project(x: Any, w_ih: Any, b: Any, batch_first: bool) -> Any:
        """Every step's input projection x_t·W_ihᵀ + b in one 2-D matrix product, time-major."""
        a, c = x.shape[0], x.shape[1]
        xw = F.linear(x.reshape(a * c, x.shape[2]), w_ih, b).reshape(a, c, w_ih.shape[0])
        return xw.permute((1, 0, 2)) if batch_first else xw

    def _zeros(self, x: Any, n: int) -> Any:
        """A zero state (n, H) in x's mode (Tensor or Dual) and on x's device."""
        xp = array_module(x.data if isinstance(x, Tensor) else x.primal)
        return type(x)(xp.zeros((n, self.hidden_size), self.dtype))

    def _input_bias(self, b_ih: Any, b_hh: Any) -> Any:
        """The bias that joins the input projection (b_ih; LSTM adds b_hh too)."""
        return b_ih

    def _sequence(self, xw: Any, w_hh: Any, b_hh: Any, state: list[Any]) -> tuple[Any, list[Any]]:
        """One direction of one layer over the time-major projected input ``xw``: the hidden
        state at every step (T, N, H) and the final states."""
        raise NotImplementedError

    def _run(self, x: Any, states: list[list[Any]], batch_first: bool) -> tuple[Any, list[list[Any]]]:
        """All layers over the input; ``states`` per layer and direction, one list per state
        kind. Returns the time-major output and each layer's (and direction's) final states."""
        n = x.shape[0] if batch_first else x.shape[1]
        finals = []
        for k in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self._layer(k, reverse=d == 1)
                xw = self._project(x, w_ih, self._input_bias(b_ih, b_hh), batch_first and k == 0)
                if d:  # the reverse direction reads the sequence back to front
                    xw = xw[::-1]
                state = [s if s is not None else self._zeros(x, n)
                         for s in states[k * self.num_directions + d]]
                y, final = self._sequence(xw, w_hh, b_hh, state)
                outs.append(y[::-1] if d else y)
                finals.append(final)
            x = outs[0] if len(outs) == 1 else F.concatenate(outs, axis=-1)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = NF.dropout(x, self.dropout, True)
        return x, finals

    def forward(self, x: Any, hx: Any = None) -> tuple[Any, Any]:
        """Run the layers over a sequence.

        Args:
            x: (T, N, input_size), or (N, T, input_size) with ``batch_first``, or unbatched
                (T, input_size), or a list of N equal-length sequences (T, input_size).
            hx: initial hidden state (D·num_layers, N, hidden_size) (zeros when None; D = 2
                when bidirectional, rows ordered layer by layer, forward then reverse); for
                LSTM a pair (h_0, c_0).

        Returns:
            ``(output, h_n)``: the last layer's hidden state at every step (T, N, D·H) (batch
            first if ``batch_first``), and every layer's final state (D·num_layers, N, H); for
            LSTM ``(output, (h_n, c_n))``.

        Raises:
            ShapeError: an input of the wrong rank or feature size, sequences of different
                lengths, or initial states of the wrong shape.
        """
        where = f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"
        w = self.weight_ih_l0
        x, unbatched, batch_first = _sequence_input(where, x, self.batch_first, w.dtype)
        layer_input(where, x, w)
        if x.shape[-1] != self.input_size:
            raise ShapeError(f"{where}: expected inputs with {self.input_size} features in the "
                             f"last axis; got shape {tuple(x.shape)}")
        n = x.shape[0] if batch_first else x.shape[1]
        if self.mode == "LSTM":
            h0, c0 = (None, None) if hx is None else hx
            inits = [self._initial(where, "h_0", h0, n, unbatched),
                     self._initial(where, "c_0", c0, n, unbatched)]
        else:
            inits = [self._initial(where, "h_0", hx, n, unbatched)]
        states = [[kind[k] for kind in inits] for k in range(len(inits[0]))]
        out, finals = self._run(x, states, batch_first)
        if unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.permute((1, 0, 2))
        kinds = [F.stack([f[i] for f in finals], axis=0) for i in range(len(finals[0]))]
        if unbatched:
            kinds = [s.squeeze(1) for s in kinds]
        return out, (tuple(kinds) if self.mode == "LSTM" else kinds[0])

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) (or ReLU).

    Args:
        input_size: features per step.
        hidden_size: H, the size of the hidden state.
        num_layers: stacked layers (each feeds its outputs to the next).
        nonlinearity: "tanh" or "relu".
        bias: learn b_ih and b_hh.
        batch_first: inputs and outputs are (N, T, ·) instead of (T, N, ·).
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: run a second set of weights over the reversed sequence; outputs get
            2·H features [forward, reverse] and states 2·num_layers rows (PyTorch's layout).
        rng: seed or generator for the initial weights.
        dtype: float32 (default) or float64.

    Raises:
        ConfigError: non-positive sizes, an unknown nonlinearity or a bad dropout.

    >>> rnn = RNN(3, 5, num_layers=2, batch_first=True, rng=0)
    >>> out, h_n = rnn(np.zeros((4, 7, 3), dtype=np.float32))
    >>> out.shape, h_n.shape
    ((4, 7, 5), (2, 4, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, rng: Any = None,
                 dtype: Any = np.float32) -> None:
        check_choice(nonlinearity, "nonlinearity", "RNN", ("tanh", "relu"))
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, rng, dtype)

    def _sequence(self, xw: Any, w_hh: Any, b_hh: Any, state: list[Any]) -> tuple[Any, list[Any]]:
        # the plain recurrence h_t = f(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), one step at a time
        outs = []
        for t in range(xw.shape[0]):
            state = self._step(xw[t], state, w_hh, b_hh)
            outs.append(state[0])
        return F.stack(outs, axis=0), state

    def _step(self, xw: Any, state: Any, w_hh: Any, b_hh: Any) -> Any:
        a = xw + F.linear(state[0], w_hh, b_hh)
        return [a.tanh() if self.mode == "RNN_TANH" else a.relu()]


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's equations and gate order (i, f, g, o)::

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
        c' = f ⊙ c + i ⊙ g                        h' = o ⊙ tanh(c')

    Args: as :class:`RNN` (without ``nonlinearity``). ``forward(x, (h_0, c_0))`` returns
    ``(output, (h_n, c_n))``.

    >>> lstm = LSTM(2, 3, rng=0)
    >>> out, (h_n, c_n) = lstm(np.ones((5, 4, 2), dtype=np.float32))
    >>> out.shape, h_n.shape, c_n.shape
    ((5, 4, 3), (1, 4, 3), (1, 4, 3))
    >>> [n for n, _ in lstm.named_parameters()]
    ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
    """

    mode = "LSTM"

    def _input_bias(self, b_ih: Any, b_hh: Any) -> Any:
        return None if b_ih is None else b_ih + b_hh

    def _sequence(self, xw: Any, w_hh: Any, b_hh: Any, state: list[Any]) -> tuple[Any, list[Any]]:
        # One fused node per layer and direction (chainrule.ops.recurrent.Lstm, see there for
        # the measured reason); its output is the trajectory [h_t, c_t], sliced into outputs
        # and states.
        H = self.hidden_size
        y = apply(Lstm, xw, w_hh, *state)
        return y[:, :, :H], [y[-1, :, :H], y[-1, :, H:]]


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's equations and gate order (r, z, n)::

        r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 − z) ⊙ n + z ⊙ h

    Args: as :class:`RNN` (without ``nonlinearity``).

    >>> out, h_n = GRU(2, 3, rng=0)(np.ones((5, 2), dtype=np.float32))  # unbatched
    >>> out.shape, h_n.shape
    ((5, 3), (1, 3))
    """

    mode = "GRU"

    def _sequence(self, xw: Any, w_hh: Any, b_hh: Any, state: list[Any]) -> tuple[Any, list[Any]]:
        # One fused node per layer and direction (chainrule.ops.recurrent.Gru); its output is
        # h_t per step.
        args = (xw, w_hh, state[0]) if b_hh is None else (xw, w_hh, state[0], b_hh)
        y = apply(Gru, *args)
        return y, [y[-1]]


def last_step(output: Any, batch_first: bool = False) -> Any:
    """The last time step of a recurrent layer's output, for sequence classification.

    >>> out, _ = LSTM(2, 3, batch_first=True, rng=0)(np.ones((4, 6, 2), dtype=np.float32))
    >>> last_step(out, batch_first=True).shape
    (4, 3)
    """
    return output[:, -1] if batch_first else output[-1]


__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "last_step"]

