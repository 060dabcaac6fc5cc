"""The printed tables of :class:`chainrule.explain.BackpropTrace` (notes §4, backpropagation):
the forward pass, the error (and the log-likelihood), the deltas and the updates, in the
notes' notation, as gradient descent on E or as gradient ascent on log L."""

from __future__ import annotations

from typing import Any

from .explain_trace import fmt, grid

__all__ = ["backprop_table", "DERIVATIVES"]

#: f'(z) as the notes write it, for the table's headers (the numbers come from the function).
DERIVATIVES = {
    "sigmoid": "y_j(1 − y_j)", "tanh": "1 − y_j²", "relu": "1 if z_j > 0 else 0",
    "leaky_relu": "1 if z_j > 0 else a", "elu": "1 if z_j ≥ 0 else y_j + a",
    "softplus": "σ(z_j)", "identity": "1", "gelu": "Φ(z_j) + z_j·φ(z_j)",
    "silu": "σ(z_j)(1 + z_j(1 − σ(z_j)))",
}


def _fmt(digits: int) -> tuple[Any, Any]:
    def f(v: float) -> str:
        return fmt(v, digits)

    def p(v: float) -> str:  # a factor in a product: negative numbers in parentheses
        return f"({f(v)})" if float(v) < 0 else f(v)
    return f, p


def _definitions(t: Any) -> tuple[str, str, str]:
    """E's definition, the output δ's formula and the words for the units."""
    out = t.output_unit
    if t.loss == "squared":
        e_def = "E = ½ Σ_t (y*_t − y_t)²"
        if out == "sigmoid":
            d_out = "δ_t = −y_t(1 − y_t)(y*_t − y_t)"
        elif out == "linear":
            d_out = "δ_t = y_t − y*_t   (identity output: f'(z_t) = 1)"
        else:
            d_out = f"δ_t = f'(z_t)(y_t − y*_t),  f'(z_t) = {DERIVATIVES.get(out, 'f′')}"
    elif out == "softmax":
        e_def = "E = −Σ_t y*_t ln p_t"
        d_out = ("δ_t = p_t − y*_t   (softmax with cross-entropy: the softmax Jacobian and "
                 "∂E/∂p_t cancel)")
    else:
        e_def = "E = −Σ_t [y*_t ln y_t + (1 − y*_t) ln(1 − y_t)]"
        d_out = "δ_t = y_t − y*_t   (= y_t(1 − y_t) ∂E/∂y_t for the log-loss)"
    if t.hidden == "sigmoid" and out == "sigmoid" or len(t.layers) == 1 and out == "sigmoid":
        units = "sigmoid units"
    elif len(t.layers) == 1:
        units = f"{out} output"
    else:
        units = f"{t.hidden} hidden units, {out} output"
    return e_def, d_out, units


def _f_of(name: str) -> str:
    return {"sigmoid": "σ(z_j)", "identity": "z_j", "softmax": "p_j = softmax(z)_j"}.get(
        name, f"{name}(z_j)")


# NOTE: one printed table, section after section in the order the notes work it.
def backprop_table(t: Any, digits: int = 6, view: str = "error") -> list[str]:
    """The lines of ``Any.table``: forward pass, error (and log L), deltas, updates."""
    f, p = _fmt(digits)
    e_def, d_out, units = _definitions(t)
    sizes = [len(t.layers[0].inputs)] + [len(layer.units) for layer in t.layers]
    f_def = ("y_j = σ(z_j) = 1 / (1 + e^(−z_j))" if units == "sigmoid units"
             else "y_j = f(z_j)")
    lines = [
        "One step of backpropagation on one example (tutorial: Backpropagation)",
        f"network {'-'.join(map(str, sizes))}, {units}, {e_def}, η = {f(t.lr)}",
        "w_ij is the weight from unit i to unit j; the bias w_0j is the weight of an extra "
        "input y_0 = 1",
        "",
        f"Forward pass: z_j = Σ_i w_ij y_i + w_0j,  {f_def}",
        "  inputs: " + ", ".join(f"{n} = {f(v)}" for n, v in zip(t.layers[0].inputs, t.x)),
    ]
    for layer in t.layers:
        lines.append(f"  layer {layer.number} ({', '.join(layer.inputs)} → "
                     f"{', '.join(layer.units)}):")
        rows = []
        for j, unit in enumerate(layer.units):
            terms = " + ".join(f"{p(layer.w[i, j])}·{p(layer.y_in[i])}"
                               for i in range(len(layer.inputs)))
            if layer.w0 is not None:
                terms += f" + {p(layer.w0[j])}"
            rows.append([unit, terms, f(layer.z[j]), f(layer.y[j])])
        lines += grid(["unit j", "Σ_i w_ij·y_i + w_0j", "= z_j", f"y_j = {_f_of(layer.activation)}"],
                      rows, 4)
    out = t.layers[-1]
    lines += ["", f"Error: {e_def} = {f(t.error)}"]
    if view == "likelihood":
        ll = ("log L = −E" if t.loss == "log" else
              "log L = −E − (n/2) ln 2π   (y* = y + Gaussian noise of unit variance)")
        lines += [f"Log-likelihood of the target (tutorial: Objectives): {ll} = {f(t.log_likelihood)}; "
                  "maximizing log L by gradient ascent is minimizing E by gradient descent"]
    lines += ["", "Backward pass: δ_j = ∂E/∂z_j, from the outputs down",
              f"  output layer {out.number}: {d_out}"]
    with_fp = out.fprime is not None and t.loss == "squared"
    head = ["unit t", "y_t", "y*_t"] + (["f'(z_t)"] if with_fp else []) + ["δ_t"]
    if out.activation == "sigmoid" and t.loss == "squared":
        head[3] = "y_t(1 − y_t)"
    lines += grid(head, [[u, f(out.y[k]), f(t.target[k]), *([f(out.fprime[k])] if with_fp else []),
                          f(out.delta[k])] for k, u in enumerate(out.units)], 4)
    for layer, above in zip(reversed(t.layers[:-1]), reversed(t.layers[1:])):
        rule = ("δ_j = y_j(1 − y_j) Σ_k w_jk δ_k" if layer.activation == "sigmoid" else
                f"δ_j = f'(z_j) Σ_k w_jk δ_k,  f'(z_j) = {DERIVATIVES.get(layer.activation, 'f′')}")
        lines.append(f"  hidden layer {layer.number}: {rule}   (k over {', '.join(above.units)})")
        rows = []
        for j, unit in enumerate(layer.units):
            terms = " + ".join(f"{p(above.w[j, k])}·{p(above.delta[k])}"
                               for k in range(len(above.units)))
            rows.append([unit, f(layer.y[j]), terms, f(layer.back[j]), f(layer.fprime[j]),
                         f(layer.delta[j])])
        fp_head = "y_j(1 − y_j)" if layer.activation == "sigmoid" else "f'(z_j)"
        lines += grid(["unit j", "y_j", "Σ_k w_jk·δ_k", "= Σ", fp_head, "δ_j"], rows, 4)
    lines += ["", *_updates(t, f, view)]
    return lines


def _updates(t: Any, f: Any, view: str) -> list[str]:
    """The gradient and update table of each layer, as descent on E or ascent on log L."""
    if view == "likelihood":
        lines = ["Gradient ascent on the log-likelihood: ∂logL/∂w_ij = −δ_j y_i,  "
                 "w_ij ← w_ij + η ∂logL/∂w_ij   (the same step as w_ij ← w_ij − η δ_j y_i)"]
        head = ["weight", "w_ij", "y_i", "∂logL/∂w_ij", "new w_ij"]
    else:
        lines = ["Gradients and updates: ∂E/∂w_ij = δ_j y_i,  w_ij ← w_ij − η δ_j y_i"]
        head = ["weight", "w_ij", "δ_j", "y_i", "δ_j·y_i", "new w_ij"]
    for layer in t.layers:
        rows = []
        for j, unit in enumerate(layer.units):
            pairs = [(f"w({src}→{unit})", layer.w[i, j], layer.y_in[i], layer.grad_w[i, j],
                      layer.new_w[i, j]) for i, src in enumerate(layer.inputs)]
            if layer.w0 is not None:
                pairs.append((f"w(1→{unit}) bias", layer.w0[j], 1.0, layer.grad_w0[j],
                              layer.new_w0[j]))
            for name, w, y_i, g, new in pairs:
                y_text = "1" if name.endswith("bias") else f(y_i)
                rows.append([name, f(w), y_text, f(-g), f(new)] if view == "likelihood" else
                            [name, f(w), f(layer.delta[j]), y_text, f(g), f(new)])
        lines.append(f"  layer {layer.number} ({layer.weight_name}"
                     + (f", {layer.bias_name}" if layer.bias_name else "") + "):")
        lines += grid(head, rows, 4)
    return lines
