"""L-BFGS: a quasi-Newton method from a short history of steps, with an optional
strong-Wolfe line search (Nocedal and Wright, *Numerical Optimization*, algorithms
7.4, 3.5 and 3.6)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError

from .optimizer import NumberRanges, Optimizer, ParamsT

__all__ = ["LBFGS"]

# The state entries that are flat vectors (or lists of them) over all parameters.
_VECTORS = ("d", "prev_flat_grad")
_HISTORY = ("old_dirs", "old_stps")


class LBFGS(Optimizer):
    """L-BFGS, iteration for iteration as ``torch.optim.LBFGS``.

    ``step(closure)`` runs up to ``max_iter`` iterations; ``closure`` clears the
    gradients, computes the loss, calls ``backward()`` and returns the loss. The
    parameters are treated as one flat vector, so there is a single parameter group.

    Args:
        params: Tensors to optimise (one group).
        lr: Step length (the line search's first trial with ``strong_wolfe``).
        max_iter: Iterations per ``step``.
        max_eval: Closure evaluations per ``step`` (default ``max_iter · 5 / 4``).
        tolerance_grad: Stop when the gradient's largest magnitude is below it.
        tolerance_change: Stop when the loss or the step changes less than it.
        history_size: How many past steps approximate the inverse Hessian.
        line_search_fn: None (fixed step ``lr``) or ``"strong_wolfe"``.
    """

    _number_ranges: ClassVar[NumberRanges] = {"lr": ("learning rate", 0.0, None)}

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ) -> None:
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {
            "lr": lr,
            "max_iter": max_iter,
            "max_eval": max_eval,
            "tolerance_grad": tolerance_grad,
            "tolerance_change": tolerance_change,
            "history_size": history_size,
            "line_search_fn": line_search_fn,
        }
        super().__init__(params, defaults)  # add_param_group refuses a second group
        self._params = self.param_groups[0]["params"]

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        if group["line_search_fn"] not in (None, "strong_wolfe"):
            raise ArgumentError(
                f"LBFGS: only 'strong_wolfe' is supported as line_search_fn, got "
                f"{group['line_search_fn']!r}"
            )
        for name in ("max_iter", "max_eval", "history_size"):
            if not isinstance(group[name], int) or group[name] < 1:
                raise ArgumentError(
                    f"LBFGS: {name} must be a positive int, got {group[name]!r}"
                )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Refused after construction: L-BFGS has one group."""
        if self.param_groups:
            raise ArgumentError(
                "LBFGS doesn't support per-parameter options (parameter groups)"
            )
        super().add_param_group(param_group)

    # ---- the flat vector of all parameters

    def _dtype(self) -> np.dtype:
        return np.result_type(*(_numpy_dtype(p) for p in self._params))

    def _flat_grad(self) -> np.ndarray:
        return np.concatenate(
            [
                np.zeros(p.numel(), self._dtype())
                if p.grad is None
                else p.grad.detach().__array__(copy=True).reshape(-1).astype(self._dtype())
                for p in self._params
            ]
        )

    def _flat_params(self) -> np.ndarray:
        return np.concatenate(
            [p.detach().__array__(copy=True).reshape(-1).astype(self._dtype()) for p in self._params]
        )

    def _set_params(self, flat: np.ndarray) -> None:
        offset = 0
        with tg.no_grad():
            for p in self._params:
                count = p.numel()
                chunk = flat[offset : offset + count].reshape(tuple(p.shape))
                p._assign(tg.tensor(chunk, dtype=p.dtype))
                offset += count

    def _evaluate(
        self, closure: Callable[[], Any], x: np.ndarray, t: float, d: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Loss and flat gradient at ``x + t d``; the parameters are put back to x."""
        self._set_params(x + t * d)
        with tg.enable_grad():
            loss = float(closure())
        flat_grad = self._flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # ---- the step

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Runs up to ``max_iter`` L-BFGS iterations; returns the first loss.

        Args:
            closure: Re-evaluates the model: zeroes the gradients, computes the
                loss, calls ``backward()`` and returns the loss. Required.
        """
        if closure is None:
            raise ArgumentError("LBFGS.step needs a closure that returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with tg.enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max(initial=0.0) <= tolerance_grad:
            return orig_loss

        d, t = _array(state.get("d")), state.get("t")
        old_dirs = [_array(v) for v in state.get("old_dirs", [])]
        old_stps = [_array(v) for v in state.get("old_stps", [])]
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag", 1.0)
        prev_flat_grad = _array(state.get("prev_flat_grad"))
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                # Update the history with the last step s and gradient change y, when
                # their curvature ys is positive (algorithm 7.4's two loops below).
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                alphas = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - alphas[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i] @ d) * ro[i]
                    d = d + (alphas[i] - beta) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = float(flat_grad @ d)  # the directional derivative
            if gtd > -tolerance_change:
                break

            if group["line_search_fn"] is not None:
                x_init = self._flat_params()
                loss, flat_grad, t, ls_evals = _strong_wolfe(
                    lambda x, step, direction: self._evaluate(
                        closure, x, step, direction
                    ),
                    x_init,
                    t,
                    d,
                    loss,
                    flat_grad,
                    gtd,
                )
                self._set_params(x_init + t * d)
            else:
                self._set_params(self._flat_params() + t * d)
                ls_evals = 0
                if n_iter != max_iter:
                    with tg.enable_grad():
                        loss = float(closure())
                    flat_grad = self._flat_grad()
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval:
                break
            if np.abs(flat_grad).max(initial=0.0) <= tolerance_grad:
                break
            if np.abs(d * t).max(initial=0.0) <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        dtype = self._params[0].dtype
        state["d"] = tg.tensor(d, dtype=dtype)
        state["t"] = t
        state["old_dirs"] = [tg.tensor(v, dtype=dtype) for v in old_dirs]
        state["old_stps"] = [tg.tensor(v, dtype=dtype) for v in old_stps]
        state["ro"] = ro
        state["H_diag"] = h_diag
        state["prev_flat_grad"] = tg.tensor(prev_flat_grad, dtype=dtype)
        state["prev_loss"] = prev_loss
        return orig_loss

    def _load_state_entry(
        self, value: Any, param: tg.Tensor, name: str, key: Any
    ) -> Any:
        # Flat vectors over all parameters: no shape to check against ``param``.
        if name in _HISTORY:
            return [_as_tensor(v, param) for v in value]
        if name in _VECTORS:
            return _as_tensor(value, param)
        return super()._load_state_entry(value, param, name, key)


def _numpy_dtype(param: tg.Tensor) -> np.dtype:
    return np.dtype("float64") if param.dtype == tg.float64 else np.dtype("float32")


def _array(value: Any) -> Any:
    return value.detach().__array__(copy=True) if isinstance(value, tg.Tensor) else value


def _as_tensor(value: Any, param: tg.Tensor) -> tg.Tensor:
    if isinstance(value, tg.Tensor):
        return value.detach().to(param.dtype)
    return tg.tensor(np.asarray(value), dtype=param.dtype)


def _cubic_interpolate(
    x1: float,
    f1: float,
    g1: float,
    x2: float,
    f2: float,
    g2: float,
    bounds: tuple[float, float] | None = None,
) -> float:
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to
    ``bounds`` (default: between x1 and x2); their midpoint without a real one."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        position = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        position = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(position, low), high)


def _strong_wolfe(
    evaluate: Callable[[np.ndarray, float, np.ndarray], tuple[float, np.ndarray]],
    x: np.ndarray,
    t: float,
    d: np.ndarray,
    f: float,
    g: np.ndarray,
    gtd: float,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_ls: int = 25,
) -> tuple[float, np.ndarray, float, int]:
    """A step length satisfying the strong Wolfe conditions along ``d`` from ``x``:
    bracketing (algorithm 3.5), then zooming in by cubic interpolation (3.6).

    Returns the loss, flat gradient and step length chosen, and the evaluations made.
    """
    d_norm = float(np.abs(d).max(initial=0.0))
    f_new, g_new = evaluate(x, t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f, bracket_g = [f_prev, f_new], [g_prev, g_new]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f, bracket_g = [f_prev, f_new], [g_prev, g_new]
            bracket_gtd = [gtd_prev, gtd_new]
            break
        # extrapolate, between 1.01 t and 10 t
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        t_prev, t = (
            t,
            _cubic_interpolate(
                t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
            ),
        )
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = evaluate(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
        bracket_gtd = [gtd, gtd_new]

    # Zoom: shrink the bracket until a point satisfies the conditions.
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(
            bracket[0], bracket_f[0], bracket_gtd[0],
            bracket[1], bracket_f[1], bracket_gtd[1],
        )  # fmt: skip
        # Too close to an end of the bracket: move 10 % of its width inside, unless
        # the last step made good progress.
        margin = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < margin:
            if insufficient_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - margin
                else:
                    t = min(bracket) + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals
