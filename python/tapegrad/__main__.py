"""``python -m tapegrad``: all the gradients for the price of one forward pass.

Builds a small two-layer tanh network's loss in float64, gets every partial derivative
with one ``backward()``, checks them against central finite differences, and times both
ways of getting them. Finite differences need two forward passes per parameter;
backprop sweeps the recorded graph once in reverse, whatever the parameter count.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np

import tapegrad as tg
from tapegrad.testing import gradcheck


def mlp_loss(x: tg.Tensor, y: tg.Tensor, *params: tg.Tensor) -> tg.Tensor:
    """Mean squared error of ``tanh(x @ w1 + b1) @ w2 + b2`` against ``y``."""
    w1, b1, w2, b2 = params
    hidden = (x @ w1 + b1).tanh()
    prediction = hidden @ w2 + b2
    return ((prediction - y) ** 2).mean()


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``fn`` in seconds (the least disturbed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def finite_difference_gradient(
    loss_of: Callable[[list[np.ndarray]], float],
    params: Sequence[np.ndarray],
    eps: float = 1e-6,
) -> list[np.ndarray]:
    """Central differences: two forward passes for every parameter element."""
    grads = []
    for i, p in enumerate(params):
        g = np.zeros_like(p)
        for k in range(p.size):
            moved = [q.copy() for q in params]
            moved[i].reshape(-1)[k] += eps
            plus = loss_of(moved)
            moved[i].reshape(-1)[k] -= 2 * eps
            minus = loss_of(moved)
            g.reshape(-1)[k] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad",
        description="Backprop vs finite differences on a small tanh network (float64).",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--points", type=int, default=16, help="data points (16)")
    parser.add_argument("--hidden", type=int, default=32, help="hidden units (32)")
    args = parser.parse_args(argv)
    if args.points < 1 or args.hidden < 1:
        parser.error("--points and --hidden must be at least 1")

    # Data: y = sin(x0) + x1 * x2 plus noise, 3 features.
    tg.manual_seed(args.seed)
    f64 = tg.float64
    x = tg.randn(args.points, 3, dtype=f64)
    x0, x1, x2 = x[:, 0], x[:, 1], x[:, 2]
    y = (x0.sin() + x1 * x2 + 0.1 * tg.randn(args.points, dtype=f64)).unsqueeze(1)

    # Parameters, kept as NumPy arrays so that finite differences can nudge them.
    scale = 1.0 / np.sqrt(args.hidden)
    params = [
        (tg.randn(3, args.hidden, dtype=f64) * 0.5).numpy(),  # w1
        np.zeros(args.hidden),  # b1
        (tg.randn(args.hidden, 1, dtype=f64) * scale).numpy(),  # w2
        np.zeros(1),  # b2
    ]
    n_params = sum(p.size for p in params)

    def leaves(values: Sequence[np.ndarray]) -> list[tg.Tensor]:
        return [tg.tensor(v, dtype=f64, requires_grad=True) for v in values]

    def loss_value(values: list[np.ndarray]) -> float:
        with tg.no_grad():  # a plain forward pass: nothing recorded
            return mlp_loss(x, y, *leaves(values)).item()

    print(
        f"tapegrad {tg.__version__}: the loss of a 3-{args.hidden}-1 tanh network on "
        f"{args.points} points, {n_params} parameters, float64\n"
    )

    # 1. Backprop: one forward pass that records the tape, one backward sweep.
    tensors = leaves(params)
    loss = mlp_loss(x, y, *tensors)
    loss.backward()
    backprop = [np.asarray(t.grad) for t in tensors]  # .grad: set by backward()
    print(f"loss = {loss.item():.6f}  (grad_fn: {loss.grad_fn})\n")

    # 2. The same gradient by finite differences, and the largest disagreement.
    numerical = finite_difference_gradient(loss_value, params)
    print("max |backprop - finite differences|:")
    for name, p, a, n in zip(["w1", "b1", "w2", "b2"], params, backprop, numerical):
        print(f"  {name:3} {p.shape!s:9} {np.max(np.abs(a - n)):.2e}")
    worst = max(float(np.max(np.abs(a - n))) for a, n in zip(backprop, numerical))

    # 3. tapegrad.testing.gradcheck: the full Jacobian, element by element.
    ok = gradcheck(lambda *ps: mlp_loss(x, y, *ps), leaves(params))
    print(f"tapegrad.testing.gradcheck: {'passed' if ok else 'FAILED'}\n")

    # 4. What each costs. Every backward needs a fresh tape, so the recording forward
    #    pass and the backward sweep are timed separately.
    def one_step() -> tuple[float, float]:
        start = time.perf_counter()
        out = mlp_loss(x, y, *leaves(params))
        recorded = time.perf_counter()
        out.backward()
        return recorded - start, time.perf_counter() - recorded

    t_forward = best_time(lambda: loss_value(params), 20)
    t_record, t_backward = (min(ts) for ts in zip(*(one_step() for _ in range(20))))
    t_fd = best_time(lambda: finite_difference_gradient(loss_value, params), 3)
    t_backprop = t_record + t_backward
    print("cost of the gradient (best of several runs):")
    print(f"  one forward pass (no_grad)        {t_forward * 1e3:8.3f} ms")
    print(f"  backprop: recording forward pass  {t_record * 1e3:8.3f} ms")
    print(f"            backward sweep          {t_backward * 1e3:8.3f} ms")
    print(
        f"  finite differences                {t_fd * 1e3:8.3f} ms "
        f"(2 x {n_params} = {2 * n_params} forward passes)\n"
    )
    print(
        f"backprop got all {n_params} derivatives in the time of "
        f"{t_backprop / t_forward:.1f} forward passes,\n"
        f"{t_fd / t_backprop:.0f}x faster than finite differences; the gap grows with "
        f"the parameter count."
    )
    return 0 if ok and worst < 1e-6 else 1


if __name__ == "__main__":
    raise SystemExit(main())
