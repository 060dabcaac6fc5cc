"""Backpropagation by hand: one training step of a dense network in the notes' notation.

`backprop_trace` does what the notes' §4 (backpropagation) asks a learner to do with pencil and
paper, in NumPy and without the reverse-mode engine (that is the point; the tests compare its
numbers with the engine's):

- forward pass, layer by layer: z_j = Σ_i w_ij y_i + w_0j and y_j = f(z_j), where y_i are
  the outputs of the layer below (the inputs x_i for the first layer) and the bias w_0j is the
  weight of an extra input y_0 = 1; f is σ in the notes, or any element-wise activation;
- the error: E = ½ Σ_t (y*_t − y_t)² over the output units, the log-loss
  E = −Σ_t [y*_t ln y_t + (1 − y*_t) ln(1 − y_t)] of sigmoid outputs, or the cross-entropy
  E = −Σ_t y*_t ln p_t of a softmax output; log L = −E is the log-likelihood the notes
  maximize by gradient ascent;
- the deltas δ_j = ∂E/∂z_j, from the top: δ_t = −y_t(1 − y_t)(y*_t − y_t) at sigmoid
  outputs with the squared error, δ_t = y_t − y*_t for the log-loss (p_t − y*_t for softmax),
  then δ_j = f'(z_j) Σ_k w_jk δ_k for hidden units (f' = y_j(1 − y_j) for σ);
- every weight's gradient ∂E/∂w_ij = δ_j y_i and its update w_ij ← w_ij − η δ_j y_i, which
  is w_ij ← w_ij + η ∂logL/∂w_ij.

Weights are written w_ij, from unit i (below) to unit j (above): ``Linear.weight[j, i]``.
:func:`trace` (from :mod:`chainrule.explain_trace`) writes the same two passes for any
function, as the slides' tables of v_i and their adjoints.
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
from .explain_table import backprop_table
from .explain_trace import GraphTrace, trace

LOSSES = ("squared", "log")
#: The output units a trace knows: σ (binary), softmax (one unit per class), identity (regression).
OUTPUTS = ("sigmoid", "softmax", "linear")

def _activation_name(module: Any) -> str:
    """The table name of an activation module (its first name in ``nn.ACTIVATIONS``)."""
    from .nn import ACTIVATIONS
    if module is None:
        return "identity"
    for name, cls in ACTIVATIONS.items():
        if type(module) is cls:
            return name
    return type(module).__name__


def _apply_activation(module: Any, name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """y = f(z) and f'(z) element-wise. σ and tanh by their closed forms (f' from y, as the
    notes write it); any other element-wise activation by its own module, f' by one
    forward-mode pass (a dual number with tangent 1 per unit: the activation is element-wise,
    so that is f'(z_j) for every unit at once). Softmax gives p and no f' (not element-wise)."""
    if name == "identity":
        return z.copy(), np.ones_like(z)
    if name == "sigmoid":
        y = stable_sigmoid(np, z)   # the Sigmoid op's own forward
        return y, y * (1 - y)
    if name == "tanh":
        y = np.tanh(z)
        return y, 1 - y * y
    if name == "softmax":
        e = np.exp(z - np.max(z))
        return e / np.sum(e), None
    from .forward import Dual
    d = module(Dual(z.copy(), np.ones_like(z)))
    return np.asarray(d.primal, dtype=np.float64), np.asarray(d.tangent_or_zeros(), dtype=np.float64)


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
        y: y_j = f(z_j) (p_t = softmax(z)_t for a softmax output).
        back: Σ_k w_jk δ_k for hidden layers (None for the output layer).
        delta: δ_j = ∂E/∂z_j.
        grad_w: ∂E/∂w_ij = δ_j y_i, shape (n_in, n_out).
        grad_w0: ∂E/∂w_0j = δ_j.
        new_w: w_ij − η δ_j y_i.
        new_w0: w_0j − η δ_j.
        weight_name: the model's name for this layer's weight (e.g. ``"0.weight"``).
        bias_name: the model's name for its bias, or None.
        activation: f, by name ("sigmoid", "relu", "softmax", "identity", ...).
        fprime: f'(z_j) (None for a softmax output, whose δ needs no f').
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
    activation: str = "sigmoid"
    fprime: np.ndarray | None = None


@dataclass
class BackpropTrace:
    """One step of backpropagation on one example; ``str(trace)`` is the table.

    Attributes:
        x: the input.
        target: y*, the wanted outputs (one-hot for a softmax output).
        loss: "squared" (E = ½ Σ (y* − y)²) or "log" (the log-loss: binary cross-entropy for
            sigmoid outputs, −Σ y* ln p for a softmax output).
        error: E at the current weights.
        lr: η.
        layers: a :class:`LayerTrace` per layer, inputs first.
        hidden: the hidden units' activation.
        output_unit: "sigmoid", "softmax", "linear" (identity) or another activation.
        appended: the output unit is not a module of the model but applied to its last layer,
            as a ``models.MLP`` head does (``σ`` of a binary MLP's logit, softmax of a
            multiclass one's).
    """

    x: np.ndarray
    target: np.ndarray
    loss: str
    error: float
    lr: float
    layers: list[LayerTrace]
    hidden: str = "sigmoid"
    output_unit: str = "sigmoid"
    appended: bool = False

    @property
    def output(self) -> np.ndarray:
        """The network's outputs y_t."""
        return self.layers[-1].y

    @property
    def log_likelihood(self) -> float:
        """log L of the target under the network's output (notes §3): −E for the log-loss;
        for the squared error, the log-density of y* under Gaussian noise of unit variance
        around y, −E − (n/2) ln 2π. Maximizing it is minimizing E."""
        if self.loss == "log":
            return -self.error
        return -self.error - 0.5 * self.target.size * float(np.log(2 * np.pi))

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
            "error": self.error, "log_likelihood": self.log_likelihood, "lr": self.lr,
            "hidden": self.hidden, "output_unit": self.output_unit, "output": arr(self.output),
            "layers": [{k: (arr(v) if isinstance(v, np.ndarray) or v is None else v)
                        for k, v in vars(layer).items()} for layer in self.layers],
        }

    def table(self, digits: int = 6, view: str = "error") -> str:
        """The trace as text tables a learner can follow line by line.

        Args:
            digits: significant digits of every number.
            view: "error" (gradient descent on E, the default) or "likelihood" (the notes'
                view of training as gradient ascent on the log-likelihood: log L and the
                step w ← w + η ∂logL/∂w, the same update).
        """
        check_choice(view, "view", "BackpropTrace.table", ("error", "likelihood"))
        return "\n".join(backprop_table(self, digits, view))

    def __str__(self) -> str:
        return self.table()


_TASK_OUTPUTS = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear"}


# NOTE: the model checks (which containers, which layers, which output unit) are one list of
# cases; each message names the case that failed.
def _dense_layers(model: Any, output: str | None) -> tuple[list[tuple[Any, Any, str, str | None]], str, bool]:
    """The (Linear, activation module, weight name, bias name) of each layer of a dense
    network, its output unit and whether that unit is applied on top of the model; raises
    ConfigError for anything else."""
    from .models import MLP
    from .nn import HIDDEN_ACTIVATIONS, Identity, Linear, Module, Sequential, Softmax
    names = {id(p): n for n, p in model.named_parameters()} if isinstance(model, Module) else {}
    expected = ("backprop_trace needs a dense network: an nn.Sequential of Linear layers, each "
                "followed by an element-wise activation or none, the last by Sigmoid, Softmax "
                "or none; or a models.MLP")
    implied = None
    if isinstance(model, MLP):
        implied = _TASK_OUTPUTS.get(model.task)
        if implied is None:
            raise ConfigError(f"{expected}; got an MLP with task={model.task!r} (expected one of "
                              f"{', '.join(map(repr, _TASK_OUTPUTS))})")
        modules = list(model.layers)
    elif isinstance(model, Sequential):
        modules = list(model)
    else:
        raise ConfigError(f"{expected}; got {type(model).__name__}")
    pairs: list[tuple[Any, Any]] = []
    for m in modules:
        if isinstance(m, Linear):
            pairs.append((m, None))
        elif not pairs or pairs[-1][1] is not None:
            raise ConfigError(f"{expected}; got {', '.join(type(m).__name__ for m in modules)}")
        else:
            pairs[-1] = (pairs[-1][0], m)
    if not pairs:
        raise ConfigError(f"{expected}; got no Linear layer")
    for n, (lin, act) in enumerate(pairs, start=1):
        last = n == len(pairs)
        name = _activation_name(act)
        ok = (isinstance(act, (Identity, type(None))) or name in HIDDEN_ACTIVATIONS
              or last and isinstance(act, Softmax) and act.axis in (None, -1, 1))
        if not ok or (act is not None and list(act.parameters())):
            why = " (its parameters would need gradients too)" if ok else ""
            raise ConfigError(f"{expected}; layer {n} ({type(lin).__name__}) is followed by "
                              f"{act!r}{why}")
    for (a, _), (b, _) in zip(pairs, pairs[1:]):
        if a.out_features != b.in_features:
            raise ConfigError(f"{expected}; a layer with {a.out_features} outputs feeds one "
                              f"with {b.in_features} inputs")
    last_act = pairs[-1][1]
    appended = last_act is None or isinstance(last_act, Identity)
    unit = _activation_name(last_act)
    unit = "linear" if unit in ("identity", "linear") else unit
    if appended and (output or implied):
        unit = output or implied
    elif output is not None and output != unit:
        raise ConfigError(f"backprop_trace: output={output!r}, but the model ends with "
                          f"{type(last_act).__name__} ({unit})")
    appended = appended and unit != "linear"
    layers = [(lin, act, names.get(id(lin.weight), f"{n}.weight"),
               None if lin.bias is None else names.get(id(lin.bias), f"{n}.bias"))
              for n, (lin, act) in enumerate(pairs)]
    return layers, unit, appended


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


def _target(y: Any, n: int, unit: str, loss: str) -> np.ndarray:
    """y* as a vector; a class number becomes its one-hot vector for a softmax output."""
    a = np.asarray(y.data if hasattr(y, "data") and not isinstance(y, np.ndarray) else y)
    if unit == "softmax" and a.size == 1 and n > 1:
        k = float(a.reshape(-1)[0])
        if k != int(k) or not 0 <= k < n:
            raise DataError(f"backprop_trace: a class number must be one of 0..{n - 1}; got {k:g}")
        return np.eye(n)[int(k)]
    target = _vector(a, n, "y (the target y*)")
    if loss == "log" and np.any((target < 0) | (target > 1)):
        raise DataError(f"backprop_trace: log-loss targets must lie in [0, 1]; got {target.tolist()}")
    if unit == "softmax" and abs(float(target.sum()) - 1) > 1e-9:
        raise DataError("backprop_trace: a softmax output's target is a class number or a "
                        f"one-hot vector (summing to 1); got {target.tolist()}")
    return target


def _output_delta(unit: str, loss: str, z: np.ndarray, out: np.ndarray, fprime: Any,
                  target: np.ndarray) -> tuple[float, np.ndarray]:
    """E and δ_t = ∂E/∂z_t at the output layer."""
    if loss == "squared":
        return 0.5 * float(np.sum((target - out) ** 2)), fprime * (out - target)
    if unit == "softmax":
        # ln p_t = z_t − log Σ_u e^(z_u), finite however large the scores are.
        log_p = z - (np.max(z) + np.log(np.sum(np.exp(z - np.max(z)))))
        return -float(np.sum(target * log_p)), out - target
    # ln σ(z) = −softplus(−z) and ln(1 − σ(z)) = −softplus(z): finite even when y_t is 0 or 1.
    error = float(np.sum(target * np.logaddexp(0, -z) + (1 - target) * np.logaddexp(0, z)))
    return error, out - target


def _check_pairing(unit: str, loss: str | None) -> str:
    loss = check_choice(loss, "loss", "backprop_trace", LOSSES) if loss is not None else \
        ("log" if unit == "softmax" else "squared")
    if unit == "softmax" and loss != "log":
        raise ConfigError("backprop_trace: a softmax output goes with loss='log' (the "
                          "cross-entropy −Σ y* ln p); got loss='squared'")
    if loss == "log" and unit not in ("sigmoid", "softmax"):
        raise ConfigError(f"backprop_trace: loss='log' needs probabilities, a sigmoid or softmax "
                          f"output; got a {unit} output (use loss='squared')")
    return loss


# NOTE: the hand method of the notes' §4 in its order (forward, error, deltas from the top,
# gradients and updates) is meant to be read top to bottom as one algorithm.
def backprop_trace(model: Any, x: Any, y: Any, lr: float = 0.5, loss: str | None = None,
                   output: str | None = None) -> BackpropTrace:
    """One step of backpropagation by the notes' δ recursion (notes §4, backpropagation), in NumPy.

    Any depth, any element-wise hidden activation (f(z) and f'(z) from the activation
    itself), and the notes' output units: sigmoid with the squared error or the log-loss,
    softmax with the cross-entropy (δ_t = p_t − y*_t), identity with the squared error.
    The model is not changed: the new weights are in the trace (``trace.updated()``, load
    them with ``model.load_state_dict``).

    Args:
        model: ``nn.Sequential(Linear, f, Linear, f, ..., Linear[, Sigmoid | Softmax])`` (an
            activation after a Linear is optional) or a ``models.MLP`` (binary: sigmoid
            output, multiclass: softmax, regression: identity).
        x: one input example, shape (n_in,) or (1, n_in).
        y: its wanted outputs y*, one per output unit; for a softmax output a class number
            or a one-hot vector.
        lr: the learning rate η.
        loss: "squared" for E = ½ Σ_t (y*_t − y_t)², or "log" for the log-loss
            E = −Σ_t [y*_t ln y_t + (1 − y*_t) ln(1 − y_t)] (y* in [0, 1]), −Σ_t y*_t ln p_t
            for softmax. Default: "log" for softmax, else "squared".
        output: the output unit applied to a model that ends with a Linear layer
            ("sigmoid", "softmax" or "linear"); default: the MLP's task's, else "linear".

    Returns:
        A :class:`BackpropTrace`; ``print(trace)`` shows the tables,
        ``trace.table(view="likelihood")`` the same step as gradient ascent on log L,
        ``trace.gradients()`` the gradients by parameter name.

    Raises:
        ConfigError: a model that is not a dense network, an unknown or unfitting loss or
            output, lr <= 0.
        ShapeError: ``x`` or ``y`` of the wrong size.
        DataError: NaN or Inf in ``x`` or ``y``, log-loss targets outside [0, 1], a softmax
            target that is not a class or one-hot.

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
    if output is not None:
        check_choice(output, "output", "backprop_trace", OUTPUTS)
    lr = check_number(lr, "lr", "backprop_trace", low=0, low_open=True, label="learning rate η")
    layers, unit, appended = _dense_layers(model, output)
    loss = _check_pairing(unit, loss)
    if unit == "softmax" and layers[-1][0].out_features < 2:
        raise ConfigError("backprop_trace: a softmax output needs two or more units (one per "
                          "class); use a sigmoid unit for two classes")
    sizes = [layers[0][0].in_features] + [lin.out_features for lin, _, _, _ in layers]
    x = _vector(x, sizes[0], "x")
    target = _target(y, sizes[-1], unit, loss)
    names = _unit_names(sizes)
    acts = [_activation_name(act) for _, act, _, _ in layers[:-1]] + [
        "identity" if unit == "linear" else unit]

    # Forward pass: every layer's z, y and f'(z), kept for the backward pass (the hand method
    # reuses the forward values, as reverse-mode AD does).
    ws, w0s, y_ins, zs, ys, fps = [], [], [], [], [], []
    y_in = x
    for (lin, act, _, _), name in zip(layers, acts):
        w = np.asarray(lin.weight.data, dtype=np.float64).T      # w[i, j], i below, j here
        w0 = None if lin.bias is None else np.asarray(lin.bias.data, dtype=np.float64)
        z = y_in @ w + (0.0 if w0 is None else w0)
        y_out, fp = _apply_activation(act, name, z)
        ws.append(w)
        w0s.append(w0)
        y_ins.append(y_in)
        zs.append(z)
        ys.append(y_out)
        fps.append(fp)
        y_in = y_out
    error, delta = _output_delta(unit, loss, zs[-1], ys[-1], fps[-1], target)

    # Backward pass: δ at the outputs, then δ_j = f'(z_j) Σ_k w_jk δ_k downwards.
    deltas: list[np.ndarray] = [delta]
    backs: list[np.ndarray | None] = [None]
    for lnum in range(len(layers) - 2, -1, -1):
        back = ws[lnum + 1] @ deltas[0]                            # Σ_k w_jk δ_k
        deltas.insert(0, fps[lnum] * back)
        backs.insert(0, back)

    trace_layers = []
    for lnum, (_, _, wname, bname) in enumerate(layers):
        grad_w = np.outer(y_ins[lnum], deltas[lnum])              # δ_j y_i
        grad_w0 = None if w0s[lnum] is None else deltas[lnum].copy()
        trace_layers.append(LayerTrace(
            number=lnum + 1, inputs=names[lnum], units=names[lnum + 1], y_in=y_ins[lnum],
            w=ws[lnum], w0=w0s[lnum], z=zs[lnum], y=ys[lnum], back=backs[lnum],
            delta=deltas[lnum], grad_w=grad_w, grad_w0=grad_w0,
            new_w=ws[lnum] - lr * grad_w,
            new_w0=None if grad_w0 is None else w0s[lnum] - lr * grad_w0,
            weight_name=wname, bias_name=bname, activation=acts[lnum], fprime=fps[lnum]))
    hidden = acts[0] if len(acts) > 1 else unit
    return BackpropTrace(x=x, target=target, loss=loss, error=error, lr=float(lr),
                         layers=trace_layers, hidden=hidden, output_unit=unit, appended=appended)


def example_network(sizes: Sequence[int], seed: int = 0, activation: str = "sigmoid",
                    output: str = "sigmoid") -> Any:
    """A float64 dense network ``nn.Sequential(Linear, f, ..., Linear[, output])`` whose
    weights and biases are drawn from U(−1, 1) and rounded to two decimals, so every product
    in a trace can be checked by hand.

    Args:
        sizes: [inputs, hidden..., outputs].
        seed: seeds the weights.
        activation: the hidden units' activation (a name of ``nn.HIDDEN_ACTIVATIONS`` or
            "identity").
        output: "sigmoid", "softmax" (over the outputs) or "linear" (no output module).

    >>> net = example_network([2, 2, 1], seed=0)
    >>> [tuple(p.shape) for p in net.parameters()]
    [(2, 2), (2,), (1, 2), (1,)]
    >>> example_network([2, 3, 3], activation="relu", output="softmax")[-1]
    Softmax(dim=-1)
    """
    from .nn import HIDDEN_ACTIVATIONS, Linear, Sequential, Sigmoid, Softmax, get_activation
    check_choice(activation, "activation", "example_network", (*HIDDEN_ACTIVATIONS, "identity"))
    check_choice(output, "output", "example_network", OUTPUTS)
    rng = np.random.default_rng(seed)
    layers: list[Any] = []
    state = {}
    last = len(sizes) - 2
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(a, b, rng=rng))  # (its own draw first: the same weights as before)
        state[f"{len(layers) - 1}.weight"] = np.round(rng.uniform(-1, 1, (b, a)), 2)
        state[f"{len(layers) - 1}.bias"] = np.round(rng.uniform(-1, 1, b), 2)
        if k < last:
            layers.append(get_activation(activation))
        elif output != "linear":
            layers.append(Sigmoid() if output == "sigmoid" else Softmax(dim=-1))
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
    from . import functional as F
    from .nn import functional as NF
    from .tensor import Tensor
    model.zero_grad()
    t = trace.target.reshape(1, -1)
    out = model(Tensor(trace.x.reshape(1, -1))).reshape(t.shape)
    unit = trace.output_unit
    if trace.loss == "squared":
        E = NF.half_sum_squared_error(out.sigmoid() if trace.appended else out, t)
    elif unit == "softmax":
        log_p = F.log_softmax(out, -1) if trace.appended else out.log()
        E = -(log_p * t).sum()
    elif trace.appended:
        E = NF.binary_cross_entropy_with_logits(out, t, reduction="sum")
    else:
        E = NF.binary_cross_entropy(out, t, reduction="sum")
    E.backward()
    want = trace.gradients()
    return max(float(np.max(np.abs(p.grad - want[n]))) for n, p in model.named_parameters())


__all__ = ["backprop_trace", "BackpropTrace", "LayerTrace", "example_network", "engine_difference",
           "differentiate", "Differentiation", "trace", "GraphTrace", "OUTPUTS"]
