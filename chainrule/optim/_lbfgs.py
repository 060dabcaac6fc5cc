"""L-BFGS for small full-batch problems: PyTorch's ``torch.optim.LBFGS`` (after minFunc), on a
flat NumPy vector, with its optional strong-Wolfe line search.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd import enable_grad
from ..backend import array_module, to_host
from ..errors import ConfigError, StateError
from ..tensor import Tensor
from ..validate import check_choice, check_number
from ._state import host_copy
from .optimizer import Optimizer


def _cubic_interpolate(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                       bounds: tuple[float, float] | None = None) -> float:
    # the minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to the bounds
    # (Nocedal & Wright, eq. 3.59)
    xmin_bound, xmax_bound = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _strong_wolfe(obj_func: Callable, x: list, t: float, d: Any, f: float, g: Any, gtd: float,
                  c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple[float, Any, float, int]:
    # bracketing then zoom (Nocedal & Wright, algorithms 3.5 and 3.6), as in PyTorch
    # NOTE: one function of ~80 lines on purpose: it follows torch.optim.lbfgs._strong_wolfe
    # statement for statement, so the two can be read side by side (test_optim_torch pins the
    # iterates); the two phases share a dozen bracket variables
    d_norm = float(abs(d).max())
    g = g.copy()
    f_new, g_new = obj_func(x, t, d)
    ls_func_evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
        bracket_gtd = [gtd, gtd_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])
        # keep away from the ends of the bracket unless progress was made (insuf_progress)
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = max(bracket) - eps if abs(t - max(bracket)) < abs(t - min(bracket)) \
                    else min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        ls_func_evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], ls_func_evals


_ARRAYS = ("d", "prev_flat_grad", "old_dirs", "old_stps", "ro")
_NUMBERS = {"func_evals": int, "n_iter": int, "t": float, "H_diag": float, "prev_loss": float}


class LBFGS(Optimizer):
    """Limited-memory BFGS, PyTorch's ``torch.optim.LBFGS`` (same defaults and iterations).

    For small full-batch problems (scikit-learn's MLP defaults to it). One :meth:`step` runs up
    to ``max_iter`` iterations, so it needs a closure that re-evaluates the loss. The two-loop
    recursion (Nocedal & Wright, algorithm 7.4) turns the last ``history_size`` steps
    ``s = Δθ`` and gradient changes ``y = Δg`` into a quasi-Newton direction; the step length is
    ``lr`` (the first iteration scales it by ``min(1, 1/‖g‖₁)``) or comes from a strong-Wolfe
    line search.

    L-BFGS is driven by its closure, not a chain of transforms: it keeps :class:`Optimizer`'s
    parameter group, ``zero_grad`` and state dicts (its state is one entry, index 0, holding the
    history) and brings its own :meth:`step`. ``needs_closure`` is True, which tells
    :func:`chainrule.train.fit` to pass one.

    Args:
        params: Tensors (one parameter group only).
        lr: the step length.
        max_iter: iterations per :meth:`step`.
        max_eval: loss evaluations per :meth:`step` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when ``max |g| <= tolerance_grad``.
        tolerance_change: stop when the loss or the step changes less than this.
        history_size: how many (s, y) pairs to keep.
        line_search_fn: None or ``"strong_wolfe"``.

    Raises:
        ConfigError: an invalid hyperparameter, or more than one parameter group.

    >>> import chainrule as cr
    >>> x = cr.Tensor([3.0, -2.0], requires_grad=True)
    >>> opt = LBFGS([x], line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((x - 1.0) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> _ = opt.step(closure)
    >>> x.data.round(4)
    array([1., 1.], dtype=float32)
    """

    needs_closure = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1.0, max_iter: int = 20,
                 max_eval: int | None = None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if max_eval is None and isinstance(max_iter, int) and not isinstance(max_iter, bool):
            max_eval = max_iter * 5 // 4
        super().__init__(params, {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                                  "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                                  "history_size": history_size, "line_search_fn": line_search_fn})
        self._params = self.param_groups[0]["params"]
        self._state: dict[str, Any] = {}

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ConfigError("LBFGS doesn't support per-parameter options (parameter groups); "
                              "expected one group")
        super().add_param_group(param_group)

    def _validate(self, group: dict[str, Any], where: str) -> None:
        check_number(group["lr"], "lr", where, low=0.0, label="learning rate")
        for key in ("max_iter", "max_eval", "history_size"):
            check_number(group[key], key, where, low=1, integer=True)
        for key in ("tolerance_grad", "tolerance_change"):
            check_number(group[key], key, where, low=0.0, label=f"{key} value")
        check_choice(group["line_search_fn"], "line_search_fn", where, (None, "strong_wolfe"))

    # flat views of the parameters and their gradients
    def _dtype(self) -> np.dtype:
        return np.result_type(*[p.data.dtype for p in self._params])

    def _gather_flat_grad(self) -> Any:
        xp = array_module(self._params[0].data)
        return xp.concatenate([p.grad.reshape(-1) if p.grad is not None
                               else xp.zeros(p.data.size, dtype=p.data.dtype)
                               for p in self._params]).astype(self._dtype(), copy=False)

    def _add_grad(self, step_size: float, update: Any) -> None:
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += (step_size * update[offset:offset + n]).reshape(p.data.shape)
            offset += n

    def _directional_evaluate(self, closure: Callable, x: list, t: float, d: Any) -> tuple[float, Any]:
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for p, saved in zip(self._params, x):
            p.data[...] = saved
        return loss, flat_grad

    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations.

        Args:
            closure: re-evaluates the model: calls zero_grad, computes the loss, calls
                ``backward()`` and returns the loss.

        Returns:
            The loss of the first evaluation (before this step's updates).

        Raises:
            ConfigError: no closure was given.
        """
        if not callable(closure):
            raise ConfigError("LBFGS.step needs a closure that re-evaluates the loss (zero_grad, "
                              f"forward, backward, return loss); got {closure!r}")

        def evaluate() -> Any:
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        self._validate(group, "LBFGS parameter group 0")
        state = self._state
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = evaluate()
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if float(abs(flat_grad).max()) > group["tolerance_grad"]:
            self._iterate(evaluate, group, float(orig_loss), flat_grad)
        return orig_loss

    def _iterate(self, evaluate: Callable[[], Any], group: dict[str, Any], loss: float,
                 flat_grad: Any) -> None:
        # up to max_iter iterations from (loss, flat_grad); the history stays in self._state
        state = self._state
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_change = group["tolerance_change"]
        current_evals = 1
        for n_iter in range(1, max_iter + 1):
            state["n_iter"] += 1
            d = state["d"] = self._direction(flat_grad, group["history_size"])
            if state.get("prev_flat_grad") is None:
                state["prev_flat_grad"] = flat_grad.copy()
            else:
                state["prev_flat_grad"][...] = flat_grad
            prev_loss = state["prev_loss"] = loss
            t = float(group["lr"])
            if state["n_iter"] == 1:  # the first step is scaled by min(1, 1/‖g‖₁)
                t *= min(1.0, 1.0 / float(abs(flat_grad).sum()))
            state["t"] = t
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction
                break
            loss, flat_grad, t, evals = self._move(evaluate, group, loss, flat_grad, d, t, gtd,
                                                   max_eval - current_evals, n_iter == max_iter)
            state["t"] = t
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == max_iter or current_evals >= max_eval \
                    or float(abs(flat_grad).max()) <= group["tolerance_grad"]:
                break
            if float(abs(d * t).max()) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

    def _direction(self, flat_grad: Any, history_size: int) -> Any:
        """The quasi-Newton direction ``d = −H g``, after adding the last step's pair
        ``s = t·d``, ``y = Δg`` to the history (two-loop recursion, Nocedal & Wright, alg. 7.4)."""
        state = self._state
        if state["n_iter"] == 1:
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            return -flat_grad
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        y = flat_grad - state["prev_flat_grad"]
        s = state["d"] * state["t"]
        ys = float(y @ s)
        if ys > 1e-10:  # keep the pair only when the curvature condition holds
            if len(old_dirs) == history_size:
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(1.0 / ys)
            state["H_diag"] = ys / float(y @ y)  # the initial Hessian guess γ = sᵀy / yᵀy
        num_old = len(old_dirs)
        al = [0.0] * num_old
        q = -flat_grad
        for i in range(num_old - 1, -1, -1):
            al[i] = float(old_stps[i] @ q) * ro[i]
            q -= al[i] * old_dirs[i]
        d = r = q * state["H_diag"]
        for i in range(num_old):
            be_i = float(old_dirs[i] @ r) * ro[i]
            r += (al[i] - be_i) * old_stps[i]
        return d

    def _move(self, evaluate: Callable[[], Any], group: dict[str, Any], loss: float,
              flat_grad: Any, d: Any, t: float, gtd: float, evals_left: int,
              last: bool) -> tuple[float, Any, float, int]:
        """Step along ``d``: by a strong-Wolfe line search, or by ``t`` and then re-evaluate
        (not after the last iteration). Returns the new loss, gradient, step and evaluations."""
        if group["line_search_fn"] is not None:
            x_init = [p.data.copy() for p in self._params]

            def obj_func(x: list, t: float, d: Any) -> tuple[float, Any]:
                return self._directional_evaluate(evaluate, x, t, d)

            loss, flat_grad, t, evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                      max_ls=evals_left)
            self._add_grad(t, d)
            return loss, flat_grad, t, evals
        self._add_grad(t, d)
        if last:
            return loss, flat_grad, t, 0
        return float(evaluate()), self._gather_flat_grad(), t, 1

    # state dicts: one entry (index 0), the history stacked into 2-D arrays
    def _state_entries(self) -> dict[int, dict[str, Any]]:
        st = self._state
        if not st:
            return {}
        entry: dict[str, Any] = {}
        for key in _NUMBERS:
            if st.get(key) is not None:
                entry[key] = _NUMBERS[key](st[key])
        for key in ("d", "prev_flat_grad"):
            if st.get(key) is not None:
                entry[key] = host_copy(st[key])
        if st.get("old_dirs") is not None:
            n = sum(p.data.size for p in self._params)
            for key in ("old_dirs", "old_stps"):
                rows = [host_copy(v) for v in st[key]]
                entry[key] = np.stack(rows) if rows else np.zeros((0, n), dtype=self._dtype())
            entry["ro"] = np.asarray(st["ro"], dtype=np.float64)
        return {0: entry}

    def _load_state_entries(self, saved_state: dict[int, dict[str, Any]],
                            where: dict[int, tuple[int, int]]) -> None:
        self._state = {}
        entry = saved_state.get(0)
        if entry is None:
            if saved_state:
                raise StateError(f"LBFGS.load_state_dict: expected the state under index 0; got "
                                 f"indices {sorted(saved_state)}")
            return
        n = sum(p.data.size for p in self._params)
        xp = array_module(self._params[0].data)
        for key, value in entry.items():
            if key in _NUMBERS:
                self._state[key] = _NUMBERS[key](value)
            elif key in _ARRAYS:
                arr = to_host(value)
                expect = {"d": (n,), "prev_flat_grad": (n,), "ro": arr.shape[:1]}.get(key, (arr.shape[0], n))
                if arr.shape != expect:
                    raise StateError(f"LBFGS.load_state_dict: state entry {key!r} has shape "
                                     f"{arr.shape}; expected {expect}")
                if key == "ro":
                    self._state[key] = [float(v) for v in arr]
                elif key in ("old_dirs", "old_stps"):
                    self._state[key] = [xp.asarray(row, dtype=self._dtype()) for row in arr]
                else:
                    self._state[key] = xp.asarray(arr, dtype=self._dtype()).copy()
            else:
                raise StateError(f"LBFGS.load_state_dict: unexpected state entry {key!r}; expected "
                                 f"some of {sorted([*_NUMBERS, *_ARRAYS])}")
