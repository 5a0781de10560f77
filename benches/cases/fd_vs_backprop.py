"""fd_vs_backprop: one full gradient by backprop vs by central finite differences.

Nets: tanh MLPs ``h-h-h-1`` (input width = hidden width = h), batch 32, float64, loss
0.5·mean((out - y)²), with h chosen for about 10², 10³, 10⁴, 10⁵ and 10⁶ parameters.

- forward: one loss evaluation with no tape (``no_grad``), what finite differences repeat;
- backprop: forward with the tape + ``backward()``: every parameter's gradient;
- finite differences: (L(θ + ε·e_j) - L(θ - ε·e_j)) / 2ε for every parameter j: 2·P
  forwards. Measured while P ≤ 10⁴ (10³ with ``--quick``); beyond that, estimated as
  2·P·forward (``fd_measured`` false). Where both exist, the measured time also shows what
  the estimate leaves out (re-uploading the perturbed parameter in tapegrad).

Backprop's time grows with the forward's cost, finite differences' with P·forward.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _timing import measure

WIDTHS = [6, 21, 70, 223, 706]  # 2h² + 3h + 1 parameters: 91 ... 998,901
BATCH = 32
EPS = 1e-6


def parameter_count(h: int) -> int:
    return 2 * h * h + 3 * h + 1


def init(h: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in ((h, h), (h, h), (h, 1)):
        bound = 1.0 / np.sqrt(fan_in)
        params += [
            rng.uniform(-bound, bound, (fan_out, fan_in)),
            rng.uniform(-bound, bound, fan_out),
        ]
    return params, rng.standard_normal((BATCH, h)), rng.standard_normal((BATCH, 1))


def numpy_loss(params: list[Any], x: np.ndarray, y: np.ndarray) -> float:
    h = x
    for i in range(3):
        h = h @ params[2 * i].T + params[2 * i + 1]
        if i < 2:
            h = np.tanh(h)
    return float(0.5 * np.mean((h - y) ** 2))


def numpy_gradient(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> list[Any]:
    """Hand-written backward of ``numpy_loss`` (the float64 reference)."""
    inputs, h = [], x
    for i in range(3):
        inputs.append(h)
        h = h @ params[2 * i].T + params[2 * i + 1]
        if i < 2:
            h = np.tanh(h)
    grad = (h - y) / h.size
    grads: list[Any] = []
    for i in reversed(range(3)):
        grads[:0] = [grad.T @ inputs[i], grad.sum(axis=0)]
        if i > 0:
            grad = (grad @ params[2 * i]) * (1.0 - inputs[i] ** 2)  # tanh' = 1 - tanh²
    return grads


class Net:
    """One framework's loss, backprop gradient and finite-difference gradient."""

    def __init__(
        self, framework: str, params: list[np.ndarray], x: np.ndarray, y: np.ndarray
    ) -> None:
        self.framework = framework
        self.arrays = [p.copy() for p in params]  # finite differences perturb these
        self.x_np, self.y_np = x, y
        if framework == "tapegrad":
            import tapegrad as tg

            self.lib, self.tanh, self.no_grad = tg, tg.tanh, tg.no_grad
            self.leaves = [tg.from_numpy(p, True) for p in params]
            self.constants = [tg.from_numpy(a) for a in self.arrays]
            self.x, self.y = tg.from_numpy(x), tg.from_numpy(y)
        elif framework == "torch":
            import torch

            self.lib, self.tanh, self.no_grad = torch, torch.tanh, torch.no_grad
            self.leaves = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
            # torch.from_numpy shares memory: perturbing self.arrays perturbs these.
            self.constants = [torch.from_numpy(a) for a in self.arrays]
            self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)

    def loss(self, params: list[Any]) -> Any:
        h = self.x
        for i in range(3):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < 2:
                h = self.tanh(h)
        d = h - self.y
        return (d * d).sum() * (0.5 / BATCH)

    def forward(self) -> float:
        if self.framework == "numpy":
            return numpy_loss(self.arrays, self.x_np, self.y_np)
        with self.no_grad():
            return self.loss(self.constants).item()

    def backprop(self) -> list[Any]:
        if self.framework == "numpy":
            return numpy_gradient(self.arrays, self.x_np, self.y_np)
        self.loss(self.leaves).backward()
        grads = [p.grad for p in self.leaves]
        for p in self.leaves:
            p.grad = None
        return grads

    def finite_differences(self) -> list[np.ndarray]:
        grads = []
        for i, array in enumerate(self.arrays):
            flat, grad = array.reshape(-1), np.empty(array.size)
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + EPS
                self._refresh(i)
                plus = self.forward()
                flat[j] = old - EPS
                self._refresh(i)
                minus = self.forward()
                flat[j] = old
                grad[j] = (plus - minus) / (2 * EPS)
            self._refresh(i)
            grads.append(grad.reshape(array.shape))
        return grads

    def _refresh(self, i: int) -> None:
        """tapegrad tensors own their data: re-upload the perturbed parameter."""
        if self.framework == "tapegrad":
            self.constants[i] = self.lib.from_numpy(self.arrays[i])


def _to_numpy(g: Any) -> np.ndarray:
    return g.detach().numpy() if hasattr(g, "detach") else np.asarray(g)


def run(framework: str, ctx: Any) -> None:
    widths = WIDTHS[:3] if ctx.quick else WIDTHS
    fd_limit = 10**3 if ctx.quick else 10**4
    for h in widths:
        params, x, y = init(h)
        net = Net(framework, params, x, y)
        count = parameter_count(h)
        label = f"{count:,} params (h={h})"
        expected = numpy_gradient(params, x, y)
        for i, (got, ref) in enumerate(zip(net.backprop(), expected)):
            ctx.check(f"{label} backprop gradient {i}", _to_numpy(got), ref, 1e-9)
        forward = measure(net.forward, ctx.settings)["time_s"]
        backprop = measure(net.backprop, ctx.settings)
        estimate = 2 * count * forward
        fd_measured = count <= fd_limit
        fd_seconds = estimate
        if fd_measured:
            samples = []
            while len(samples) < 3 and sum(samples) < ctx.settings.max_point_s:
                start = time.perf_counter()
                grads = net.finite_differences()
                samples.append(time.perf_counter() - start)
            fd_seconds = float(np.median(samples))
            if h == widths[0]:
                for i, (got, ref) in enumerate(zip(grads, expected)):
                    ctx.check(f"{label} finite-difference gradient {i}", got, ref, 1e-6)
        ctx.add(
            label,
            {"hidden": h, "parameters": count, "batch": BATCH},
            backprop,
            forward_ms=forward * 1e3,
            backprop_ms=backprop["time_s"] * 1e3,
            fd_ms=fd_seconds * 1e3,
            fd_estimate_ms=estimate * 1e3,
            fd_measured=fd_measured,
            backprop_over_forward=backprop["time_s"] / forward,
            fd_over_backprop=fd_seconds / backprop["time_s"],
        )
