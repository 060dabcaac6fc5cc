"""Backpropagation by hand: one training step of a dense sigmoid network in the notes' notation.

`backprop_trace` does what the notes' §4 (backpropagation) asks a learner to do with pencil and paper,
in NumPy and without the autograd engine (that is the point; the tests compare its numbers
with the engine's):

- forward pass, layer by layer: z_j = Σ_i w_ij y_i + w_0j and y_j = σ(z_j), where y_i are
  the outputs of the layer below (the inputs x_i for the first layer) and the bias w_0j is the
  weight of an extra input y_0 = 1;
- the error, E = ½ Σ_t (y*_t − y_t)² over the output units (or the log-loss
  E = −Σ_t [y*_t ln y_t + (1 − y*_t) ln(1 − y_t)]);
- the deltas δ_j = ∂E/∂z_j, from the top: δ_t = −y_t(1 − y_t)(y*_t − y_t) at the outputs
  (δ_t = y_t − y*_t for the log-loss), then δ_j = y_j(1 − y_j) Σ_k w_jk δ_k for hidden units;
- every weight's gradient ∂E/∂w_ij = δ_j y_i and its update w_ij ← w_ij − η δ_j y_i.

Weights are written w_ij, from unit i (below) to unit j (above): ``Linear.weight[j, i]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError, DataError, ShapeError
from .validate import check_choice, check_number
from .ops import stable_sigmoid
from .explain_four import Differentiation, differentiate

LOSSES = ("squared", "log")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z), the library's own array-level form (the Sigmoid op's forward)."""
    return stable_sigmoid(np, z)


@dataclass
class LayerTrace:
    """One layer of the trace; arrays use the notes' indices (i below, j this layer).

    Attributes:
        number: 1 for the layer fed by the inputs, up to the output layer.
        inputs: names of the units below (x1, x2, ... or h1, h2, ...).
        units: names of this layer's units.
        y_in: y_i, the outputs of the units below.
        w: w_ij, shape (n_in, n_out); ``w[i, j]`` is ``Linear.weight[j, i]``.
        w0: w_0j, the biases (weights of the constant input y_0 = 1), or None.
        z: z_j = Σ_i w_ij y_i + w_0j.
        y: y_j = σ(z_j).
        back: Σ_k w_jk δ_k for hidden layers (None for the output layer).
        delta: δ_j = ∂E/∂z_j.
        grad_w: ∂E/∂w_ij = δ_j y_i, shape (n_in, n_out).
        grad_w0: ∂E/∂w_0j = δ_j.
        new_w: w_ij − η δ_j y_i.
        new_w0: w_0j − η δ_j.
        weight_name: the model's name for this layer's weight (e.g. ``"0.weight"``).
        bias_name: the model's name for its bias, or None.
    """

    number: int
    inputs: list[str]
    units: list[str]
    y_in: np.ndarray
    w: np.ndarray
    w0: np.ndarray | None
    z: np.ndarray
    y: np.ndarray
    back: np.ndarray | None
    delta: np.ndarray
    grad_w: np.ndarray
    grad_w0: np.ndarray | None
    new_w: np.ndarray
    new_w0: np.ndarray | None
    weight_name: str
    bias_name: str | None


@dataclass
class BackpropTrace:
    """One step of backpropagation on one example; ``str(trace)`` is the table.

    Attributes:
        x: the input.
        target: y*, the wanted outputs.
        loss: "squared" (E = ½ Σ (y* − y)²) or "log" (the log-loss).
        error: E at the current weights.
        lr: η.
        layers: a :class:`LayerTrace` per layer, inputs first.
    """

    x: np.ndarray
    target: np.ndarray
    loss: str
    error: float
    lr: float
    layers: list[LayerTrace]

    @property
    def output(self) -> np.ndarray:
        """The network's outputs y_t."""
        return self.layers[-1].y

    def _by_name(self, weight: str, bias: str) -> dict[str, np.ndarray]:
        """Per-layer arrays keyed by parameter name, weights transposed to (out, in)."""
        out = {}
        for layer in self.layers:
            out[layer.weight_name] = getattr(layer, weight).T.copy()
            if layer.bias_name is not None:
                out[layer.bias_name] = getattr(layer, bias).copy()
        return out

    def gradients(self) -> dict[str, np.ndarray]:
        """∂E/∂θ for every parameter, keyed and shaped like ``model.named_parameters()``
        (so a weight is (out, in), the transpose of the notes' w_ij)."""
        return self._by_name("grad_w", "grad_w0")

    def updated(self) -> dict[str, np.ndarray]:
        """The parameters after the step, keyed like ``model.state_dict()``."""
        return self._by_name("new_w", "new_w0")

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-able lists and numbers."""
        def arr(a: Any) -> Any:
            return None if a is None else np.asarray(a).tolist()
        return {
            "x": arr(self.x), "target": arr(self.target), "loss": self.loss,
            "error": self.error, "lr": self.lr, "output": arr(self.output),
            "layers": [{k: (arr(v) if isinstance(v, np.ndarray) or v is None else v)
                        for k, v in vars(layer).items()} for layer in self.layers],
        }

    # NOTE: one printed table, section after section in the order the notes work it.
    def table(self, digits: int = 6) -> str:
        """The trace as text tables a learner can follow line by line.

        Args:
            digits: significant digits of every number.
        """
        def f(v: float) -> str:
            s = f"{float(v):.{digits}g}"
            return s[1:] if s.startswith("-") and float(s) == 0 else s  # never "-0"

        def p(v: float) -> str:  # a factor in a product: negative numbers in parentheses
            return f"({f(v)})" if float(v) < 0 else f(v)

        sizes = [len(self.layers[0].inputs)] + [len(layer.units) for layer in self.layers]
        if self.loss == "squared":
            e_def = "E = ½ Σ_t (y*_t − y_t)²"
            d_out = "δ_t = −y_t(1 − y_t)(y*_t − y_t)"
        else:
            e_def = "E = −Σ_t [y*_t ln y_t + (1 − y*_t) ln(1 − y_t)]"
            d_out = "δ_t = y_t − y*_t   (= y_t(1 − y_t) ∂E/∂y_t for the log-loss)"
        lines = [
            "One step of backpropagation on one example (notes §4, backpropagation)",
            f"network {'-'.join(map(str, sizes))}, sigmoid units, {e_def}, η = {f(self.lr)}",
            "w_ij is the weight from unit i to unit j; the bias w_0j is the weight of an extra "
            "input y_0 = 1",
            "",
            "Forward pass: z_j = Σ_i w_ij y_i + w_0j,  y_j = σ(z_j) = 1 / (1 + e^(−z_j))",
            "  inputs: " + ", ".join(f"{n} = {f(v)}" for n, v in zip(self.layers[0].inputs, self.x)),
        ]
        for layer in self.layers:
            lines.append(f"  layer {layer.number} ({', '.join(layer.inputs)} → "
                         f"{', '.join(layer.units)}):")
            rows = []
            for j, unit in enumerate(layer.units):
                terms = " + ".join(f"{p(layer.w[i, j])}·{p(layer.y_in[i])}"
                                   for i in range(len(layer.inputs)))
                if layer.w0 is not None:
                    terms += f" + {p(layer.w0[j])}"
                rows.append([unit, terms, f(layer.z[j]), f(layer.y[j])])
            lines += _grid(["unit j", "Σ_i w_ij·y_i + w_0j", "= z_j", "y_j = σ(z_j)"], rows, 4)
        out = self.layers[-1]
        lines += ["", f"Error: {e_def} = {f(self.error)}", "",
                  "Backward pass: δ_j = ∂E/∂z_j, from the outputs down",
                  f"  output layer {out.number}: {d_out}"]
        lines += _grid(["unit t", "y_t", "y*_t", "y_t(1 − y_t)", "δ_t"],
                       [[u, f(out.y[t]), f(self.target[t]), f(out.y[t] * (1 - out.y[t])),
                         f(out.delta[t])] for t, u in enumerate(out.units)], 4)
        for layer, above in zip(reversed(self.layers[:-1]), reversed(self.layers[1:])):
            lines.append(f"  hidden layer {layer.number}: δ_j = y_j(1 − y_j) Σ_k w_jk δ_k   "
                         f"(k over {', '.join(above.units)})")
            rows = []
            for j, unit in enumerate(layer.units):
                terms = " + ".join(f"{p(above.w[j, k])}·{p(above.delta[k])}"
                                   for k in range(len(above.units)))
                rows.append([unit, f(layer.y[j]), terms, f(layer.back[j]), f(layer.delta[j])])
            lines += _grid(["unit j", "y_j", "Σ_k w_jk·δ_k", "= Σ", "δ_j"], rows, 4)
        lines += ["", "Gradients and updates: ∂E/∂w_ij = δ_j y_i,  w_ij ← w_ij − η δ_j y_i"]
        for layer in self.layers:
            rows = []
            for j, unit in enumerate(layer.units):
                for i, src in enumerate(layer.inputs):
                    rows.append([f"w({src}→{unit})", f(layer.w[i, j]), f(layer.delta[j]),
                                 f(layer.y_in[i]), f(layer.grad_w[i, j]), f(layer.new_w[i, j])])
                if layer.w0 is not None:
                    rows.append([f"w(1→{unit}) bias", f(layer.w0[j]), f(layer.delta[j]), "1",
                                 f(layer.grad_w0[j]), f(layer.new_w0[j])])
            lines.append(f"  layer {layer.number} ({layer.weight_name}"
                         + (f", {layer.bias_name}" if layer.bias_name else "") + "):")
            lines += _grid(["weight", "w_ij", "δ_j", "y_i", "δ_j·y_i", "new w_ij"], rows, 4)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def _grid(headers: list[str], rows: list[list[str]], indent: int) -> list[str]:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    pad = " " * indent

    def line(cells: list[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:], widths[1:])]
        return pad + "  ".join([first, *rest]).rstrip()
    return [line(headers), *(line(r) for r in rows)]


def _dense_sigmoid_layers(model: Any) -> list[tuple[Any, str, str | None]]:
    """The Linear layers of a dense sigmoid network with the model's names for their
    parameters; raises ConfigError for anything else."""
    from .models import MLP
    from .nn import Linear, Sequential, Sigmoid
    names = {id(p): n for n, p in model.named_parameters()} if hasattr(model, "named_parameters") else {}
    expected = ("backprop_trace needs a dense sigmoid network: an nn.Sequential of Linear and "
                "Sigmoid layers in turn, ending with Sigmoid, or models.MLP(sizes, "
                "activation='sigmoid', task='binary')")
    if isinstance(model, MLP):
        if model.activation != "sigmoid" or model.task != "binary":
            raise ConfigError(f"{expected}; got an MLP with activation={model.activation!r}, "
                              f"task={model.task!r}")
        # The binary MLP's forward gives the logit z; its output unit is y = σ(z).
        modules = [*model.layers, Sigmoid()]
    elif isinstance(model, Sequential):
        modules = list(model)
    else:
        raise ConfigError(f"{expected}; got {type(model).__name__}")
    if not modules or len(modules) % 2:
        raise ConfigError(f"{expected}; got {len(modules)} layers: "
                          + ", ".join(type(m).__name__ for m in modules))
    layers = []
    for n, (lin, act) in enumerate(zip(modules[::2], modules[1::2]), start=1):
        if not isinstance(lin, Linear) or not isinstance(act, Sigmoid):
            raise ConfigError(f"{expected}; layer pair {n} is {type(lin).__name__}, "
                              f"{type(act).__name__}")
        layers.append((lin, names.get(id(lin.weight), f"{n}.weight"),
                       None if lin.bias is None else names.get(id(lin.bias), f"{n}.bias")))
    for (a, _, _), (b, _, _) in zip(layers, layers[1:]):
        if a.out_features != b.in_features:
            raise ConfigError(f"{expected}; a layer with {a.out_features} outputs feeds one "
                              f"with {b.in_features} inputs")
    return layers


def _unit_names(sizes: list[int]) -> list[list[str]]:
    hidden = len(sizes) - 2
    names = [[f"x{i + 1}" for i in range(sizes[0])]]
    for layer in range(1, hidden + 1):
        prefix = "h" if hidden == 1 else f"h{layer}_"
        names.append([f"{prefix}{j + 1}" for j in range(sizes[layer])])
    names.append([f"o{t + 1}" for t in range(sizes[-1])])
    return names


def _vector(value: Any, n: int, what: str) -> np.ndarray:
    a = np.asarray(value.data if hasattr(value, "data") and not isinstance(value, np.ndarray)
                   else value, dtype=np.float64)
    if a.size != n or (a.ndim == 2 and a.shape[0] != 1) or a.ndim > 2:
        raise ShapeError(f"backprop_trace: {what} must be one example of {n} values (shape "
                         f"({n},) or (1, {n})); got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise DataError(f"backprop_trace: {what} contains NaN or Inf: {a.reshape(-1).tolist()}")
    return a.reshape(-1)


# NOTE: the hand method of the notes' §4 in its order (forward, error, deltas from the top,
# gradients and updates) is meant to be read top to bottom as one algorithm.
def backprop_trace(model: Any, x: Any, y: Any, lr: float = 0.5, loss: str = "squared") -> BackpropTrace:
    """One step of backpropagation by the notes' δ recursion (notes §4, backpropagation), in NumPy.

    The model is not changed: the new weights are in the trace (``trace.updated()``, load
    them with ``model.load_state_dict``).

    Args:
        model: a dense sigmoid network: ``nn.Sequential(Linear, Sigmoid, Linear, Sigmoid, ...)``
            or ``models.MLP(sizes, activation="sigmoid", task="binary")``.
        x: one input example, shape (n_in,) or (1, n_in).
        y: its wanted outputs y*, one per output unit.
        lr: the learning rate η.
        loss: "squared" for E = ½ Σ_t (y*_t − y_t)², or "log" for the log-loss
            E = −Σ_t [y*_t ln y_t + (1 − y*_t) ln(1 − y_t)] (y* in [0, 1]).

    Returns:
        A :class:`BackpropTrace`; ``print(trace)`` shows the tables, ``trace.gradients()``
        the gradients by parameter name.

    Raises:
        ConfigError: a model that is not a dense sigmoid network, an unknown loss, lr <= 0.
        ShapeError: ``x`` or ``y`` of the wrong size.
        DataError: NaN or Inf in ``x`` or ``y``, or log-loss targets outside [0, 1].

    >>> from chainrule import nn
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1), nn.Sigmoid())
    >>> _ = net.load_state_dict({"0.weight": [[0.15, 0.20], [0.25, 0.30]], "0.bias": [0.35, 0.35],
    ...                          "2.weight": [[0.40, 0.45]], "2.bias": [0.60]})
    >>> trace = backprop_trace(net, [0.05, 0.10], [0.01], lr=0.5)
    >>> [round(float(v), 6) for v in trace.layers[0].y]   # h_j = σ(z_j)
    [0.59327, 0.596884]
    >>> print(trace.table().splitlines()[1])
    network 2-2-1, sigmoid units, E = ½ Σ_t (y*_t − y_t)², η = 0.5
    """
    check_choice(loss, "loss", "backprop_trace", LOSSES)
    lr = check_number(lr, "lr", "backprop_trace", low=0, low_open=True, label="learning rate η")
    layers = _dense_sigmoid_layers(model)
    sizes = [layers[0][0].in_features] + [lin.out_features for lin, _, _ in layers]
    x = _vector(x, sizes[0], "x")
    target = _vector(y, sizes[-1], "y (the target y*)")
    if loss == "log" and np.any((target < 0) | (target > 1)):
        raise DataError(f"backprop_trace: log-loss targets must lie in [0, 1]; got {target.tolist()}")
    names = _unit_names(sizes)

    # Forward pass: every layer's z and y, kept for the backward pass (the hand method reuses
    # the forward values, as reverse-mode AD does).
    ws, w0s, y_ins, zs, ys = [], [], [], [], []
    y_in = x
    for lin, _, _ in layers:
        w = np.asarray(lin.weight.data, dtype=np.float64).T      # w[i, j], i below, j here
        w0 = None if lin.bias is None else np.asarray(lin.bias.data, dtype=np.float64)
        z = y_in @ w + (0.0 if w0 is None else w0)
        ws.append(w)
        w0s.append(w0)
        y_ins.append(y_in)
        zs.append(z)
        ys.append(_sigmoid(z))
        y_in = ys[-1]
    out = ys[-1]
    if loss == "squared":
        error = 0.5 * float(np.sum((target - out) ** 2))
        delta = -out * (1 - out) * (target - out)
    else:
        # ln σ(z) = −softplus(−z) and ln(1 − σ(z)) = −softplus(z): finite even when y_t is 0 or 1.
        z = zs[-1]
        error = float(np.sum(target * np.logaddexp(0, -z) + (1 - target) * np.logaddexp(0, z)))
        delta = out - target

    # Backward pass: δ at the outputs, then δ_j = y_j(1 − y_j) Σ_k w_jk δ_k downwards.
    deltas: list[np.ndarray] = [delta]
    backs: list[np.ndarray | None] = [None]
    for lnum in range(len(layers) - 2, -1, -1):
        back = ws[lnum + 1] @ deltas[0]                            # Σ_k w_jk δ_k
        deltas.insert(0, ys[lnum] * (1 - ys[lnum]) * back)
        backs.insert(0, back)

    trace_layers = []
    for lnum, (_, wname, bname) in enumerate(layers):
        grad_w = np.outer(y_ins[lnum], deltas[lnum])              # δ_j y_i
        grad_w0 = None if w0s[lnum] is None else deltas[lnum].copy()
        trace_layers.append(LayerTrace(
            number=lnum + 1, inputs=names[lnum], units=names[lnum + 1], y_in=y_ins[lnum],
            w=ws[lnum], w0=w0s[lnum], z=zs[lnum], y=ys[lnum], back=backs[lnum],
            delta=deltas[lnum], grad_w=grad_w, grad_w0=grad_w0,
            new_w=ws[lnum] - lr * grad_w,
            new_w0=None if grad_w0 is None else w0s[lnum] - lr * grad_w0,
            weight_name=wname, bias_name=bname))
    return BackpropTrace(x=x, target=target, loss=loss, error=error, lr=float(lr),
                         layers=trace_layers)


def example_network(sizes: Sequence[int], seed: int = 0) -> Any:
    """A float64 dense sigmoid network ``nn.Sequential(Linear, Sigmoid, ...)`` whose weights
    and biases are drawn from U(−1, 1) and rounded to two decimals, so every product in a
    trace can be checked by hand.

    >>> net = example_network([2, 2, 1], seed=0)
    >>> [tuple(p.shape) for p in net.parameters()]
    [(2, 2), (2,), (1, 2), (1,)]
    """
    from .nn import Linear, Sequential, Sigmoid
    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    state = {}
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [Linear(a, b, rng=rng), Sigmoid()]
        state[f"{2 * k}.weight"] = np.round(rng.uniform(-1, 1, (b, a)), 2)
        state[f"{2 * k}.bias"] = np.round(rng.uniform(-1, 1, b), 2)
    net = Sequential(*layers).double()
    net.load_state_dict(state)
    return net


def engine_difference(model: Any, trace: BackpropTrace) -> float:
    """The largest difference between the hand-computed gradients of ``trace`` and those of
    ``loss.backward()`` (reverse-mode AD by the engine) on the same example and loss.

    >>> net = example_network([2, 2, 1])
    >>> engine_difference(net, backprop_trace(net, [0.05, 0.1], [1.0])) < 1e-12
    True
    """
    from .nn import functional as NF
    from .tensor import Tensor
    model.zero_grad()
    out = model(Tensor(trace.x.reshape(1, -1)))
    t = trace.target.reshape(1, -1)
    E = (NF.half_sum_squared_error(out, t) if trace.loss == "squared"
         else NF.binary_cross_entropy(out, t, reduction="sum"))
    E.backward()
    want = trace.gradients()
    return max(float(np.max(np.abs(p.grad - want[n]))) for n, p in model.named_parameters())


__all__ = ["backprop_trace", "BackpropTrace", "LayerTrace", "example_network", "engine_difference",
           "differentiate", "Differentiation"]
