"""cnn_step: one SGD training step of a LeNet-style CNN on 1×28×28 inputs, float32.

conv 3×3 (1→32) → ReLU → max-pool 2 → conv 3×3 (32→64) → ReLU → max-pool 2 → linear
(64·5·5 → 10), cross-entropy, batch 64 (``--quick``: batch 16). Timed as a whole and in
forward, backward and optimiser phases. Before timing, each framework's loss is checked
against a float64 NumPy forward, and its gradient along a random direction against a
central finite difference of that forward.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from _timing import measure_phases

PHASES = ("forward", "backward", "optimizer")
LEARNING_RATE = 0.01
SHAPES = [(32, 1, 3, 3), (32,), (64, 32, 3, 3), (64,), (10, 64 * 5 * 5), (10,)]


def init(batch: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    params = []
    for shape in SHAPES:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        params.append((rng.uniform(-1, 1, shape) / np.sqrt(fan_in)).astype(np.float32))
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 10, batch)
    return params, x, labels


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    k = w.shape[-1]
    out = x.shape[-1] - k + 1
    y = np.zeros((x.shape[0], w.shape[0], out, out))
    for i in range(k):
        for j in range(k):
            y += np.einsum(
                "nchw,oc->nohw", x[:, :, i : i + out, j : j + out], w[:, :, i, j]
            )
    return y + b[None, :, None, None]


def _pool(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return (
        x[:, :, : h // 2 * 2, : w // 2 * 2]
        .reshape(n, c, h // 2, 2, w // 2, 2)
        .max((3, 5))
    )


def reference_loss(
    params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
) -> float:
    w1, b1, w2, b2, w3, b3 = params
    h = _pool(np.maximum(_conv(x, w1, b1), 0))
    h = _pool(np.maximum(_conv(h, w2, b2), 0))
    logits = h.reshape(len(x), -1) @ w3.T + b3
    shifted = logits - logits.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return float(-logp[np.arange(len(x)), labels].mean())


class TapegradCNN:
    def __init__(self, params: list[np.ndarray], x: np.ndarray, labels: np.ndarray):
        import tapegrad as tg

        self.tg, self.F = tg, tg.nn.functional
        self.params = [tg.tensor(p, requires_grad=True) for p in params]
        self.x, self.labels = tg.tensor(x), labels

    def loss(self) -> Any:
        w1, b1, w2, b2, w3, b3 = self.params
        F = self.F
        h = F.max_pool2d(F.conv2d(self.x, w1, b1).relu(), 2)
        h = F.max_pool2d(F.conv2d(h, w2, b2).relu(), 2)
        return F.cross_entropy(F.linear(h.flatten(1), w3, b3), self.labels)

    def grads(self) -> list[np.ndarray]:
        grads = self.tg.autograd.grad(self.loss(), self.params)
        return [g.numpy().astype(np.float64) for g in grads]

    def step(self) -> tuple[float, ...]:
        t0 = time.perf_counter()
        loss = self.loss()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        with self.tg.no_grad():
            for p in self.params:
                p._assign(p - LEARNING_RATE * p.grad)
                p.grad = None
        return t0, t1, t2, time.perf_counter()


class TorchCNN:
    def __init__(self, params: list[np.ndarray], x: np.ndarray, labels: np.ndarray):
        import torch

        self.torch, self.F = torch, torch.nn.functional
        self.params = [torch.tensor(p, requires_grad=True) for p in params]
        self.x, self.labels = torch.tensor(x), torch.tensor(labels)

    def loss(self) -> Any:
        w1, b1, w2, b2, w3, b3 = self.params
        F = self.F
        h = F.max_pool2d(F.relu(F.conv2d(self.x, w1, b1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2)), 2)
        return F.cross_entropy(F.linear(h.flatten(1), w3, b3), self.labels)

    def grads(self) -> list[np.ndarray]:
        grads = self.torch.autograd.grad(self.loss(), self.params)
        return [g.numpy().astype(np.float64) for g in grads]

    def step(self) -> tuple[float, ...]:
        t0 = time.perf_counter()
        loss = self.loss()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        with self.torch.no_grad():
            for p in self.params:
                p -= LEARNING_RATE * p.grad
                p.grad = None
        return t0, t1, t2, time.perf_counter()


MODELS = {"tapegrad": TapegradCNN, "torch": TorchCNN}


def run(framework: str, ctx: Any) -> None:
    batch = 16 if ctx.quick else 64
    label = f"lenet 1x28x28 b{batch}"
    params, x, labels = init(batch)
    model = MODELS[framework](params, x, labels)
    as64 = [p.astype(np.float64) for p in params]
    expected = reference_loss(as64, x.astype(np.float64), labels)
    ctx.check(
        f"{label} loss",
        np.array([float(model.loss().item())]),
        np.array([expected]),
        1e-4,
    )
    rng = np.random.default_rng(1)
    direction = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum(float((d * d).sum()) for d in direction))
    direction = [d / norm for d in direction]
    eps = 1e-5
    probes = [
        reference_loss(
            [p + s * eps * d for p, d in zip(as64, direction)],
            x.astype(np.float64),
            labels,
        )
        for s in (1, -1)
    ]
    grads = model.grads()
    ctx.check(
        f"{label} gradient along a random direction vs finite difference",
        np.array([sum(float((g * d).sum()) for g, d in zip(grads, direction))]),
        np.array([(probes[0] - probes[1]) / (2 * eps)]),
        1e-3,
    )
    timing = measure_phases(model.step, ctx.settings, PHASES)
    phases = timing["phases_s"]
    ctx.add(
        label,
        {"batch": batch},
        timing,
        step_ms=timing["time_s"] * 1e3,
        **{f"{name}_ms": seconds * 1e3 for name, seconds in phases.items()},
    )
