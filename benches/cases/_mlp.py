"""The classifier MLP trained by ``mlp_step`` (and ``thread_scaling``), in each framework.

Layers ``sizes = (in, hidden..., classes)``; each layer is ``h @ W.T + b`` with W of
(out, in), as ``nn.Linear``; ReLU between layers; the loss is the mean cross-entropy of
the logits. One training step is forward (to the loss), backward, and a plain SGD update
``p ← p - lr·grad`` that also clears the gradients.

- tapegrad: what a tapegrad user writes, the same code as the PyTorch one:
  ``F.linear``, ``tg.relu``, ``F.cross_entropy``, ``tapegrad.optim.SGD`` (``step()`` then
  ``zero_grad()``).
- torch: what a PyTorch user writes: ``F.linear``, ``torch.relu``, ``F.cross_entropy``,
  ``torch.optim.SGD`` (``step()`` then ``zero_grad()``).
- NumPy: the same maths with a hand-written backward; in float64 it is the reference
  every framework's gradient is checked against.
"""

from __future__ import annotations

import time
from typing import Any

Tensor = Any  # a tapegrad or torch tensor

import numpy as np

LEARNING_RATE = 0.01


def init(
    sizes: tuple[int, ...], batch: int, dtype: str = "float32", seed: int = 0
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Parameters [W1, b1, W2, b2, ...] (uniform ±1/√in, as nn.Linear), inputs, labels."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(dtype))
        params.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    x = rng.standard_normal((batch, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], batch)
    return params, x, labels


class NumpyMLP:
    """Forward and hand-written backward in NumPy (the reference, in float64)."""

    def __init__(
        self, params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
    ) -> None:
        self.params = [p.copy() for p in params]
        self.x, self.labels = x, labels

    def forward(self) -> tuple[float, tuple[list[np.ndarray], np.ndarray]]:
        """The loss, and what backward needs: each layer's input, the log-probabilities."""
        inputs, h = [], self.x
        layers = len(self.params) // 2
        for i in range(layers):
            inputs.append(h)
            w, b = self.params[2 * i], self.params[2 * i + 1]
            h = h @ w.T + b
            if i < layers - 1:
                h = np.maximum(h, 0)
        shifted = h - h.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(self.labels)), self.labels].mean()
        return float(loss), (inputs, logp)

    def backward(self, saved: tuple[list[np.ndarray], np.ndarray]) -> list[np.ndarray]:
        """[dW1, db1, ...] for the mean cross-entropy."""
        inputs, logp = saved
        batch = len(self.labels)
        grad = np.exp(logp)  # d loss / d logits = (softmax - onehot) / batch
        grad[np.arange(batch), self.labels] -= 1
        grad /= batch
        grads: list[np.ndarray] = []
        for i in reversed(range(len(inputs))):
            w = self.params[2 * i]
            grads[:0] = [grad.T @ inputs[i], grad.sum(axis=0)]
            if i > 0:
                grad = (grad @ w) * (
                    inputs[i] > 0
                )  # relu's output > 0 where its input was
        return grads

    def grads(self) -> list[np.ndarray]:
        return self.backward(self.forward()[1])

    def loss(self) -> float:
        return self.forward()[0]

    def step(self) -> tuple[float, ...]:
        t0 = time.perf_counter()
        _, saved = self.forward()
        t1 = time.perf_counter()
        grads = self.backward(saved)
        t2 = time.perf_counter()
        for p, g in zip(self.params, grads):
            p -= LEARNING_RATE * g
        return t0, t1, t2, time.perf_counter()

    def values(self) -> list[np.ndarray]:
        return [p.copy() for p in self.params]


class UserMLP:
    """The model as a user of the framework writes it: the same code for tapegrad and
    PyTorch (``F.linear``, ``relu``, ``F.cross_entropy``, ``optim.SGD``)."""

    framework: Any
    F: Any

    def __init__(self, params: list[Tensor], x: Any, labels: Any) -> None:
        self.params, self.x, self.labels = params, x, labels
        self.optimizer = self.framework.optim.SGD(self.params, lr=LEARNING_RATE)

    def forward(self) -> Any:
        h = self.x
        layers = len(self.params) // 2
        for i in range(layers):
            h = self.F.linear(h, self.params[2 * i], self.params[2 * i + 1])
            if i < layers - 1:
                h = self.framework.relu(h)
        return self.F.cross_entropy(h, self.labels)

    def grads(self) -> list[np.ndarray]:
        self.forward().backward()
        grads = [p.grad.numpy().copy() for p in self.params]
        self.optimizer.zero_grad()
        return grads

    def loss(self) -> float:
        with self.framework.no_grad():
            return self.forward().item()

    def step(self) -> tuple[float, ...]:
        t0 = time.perf_counter()
        loss = self.forward()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return t0, t1, t2, time.perf_counter()

    def values(self) -> list[np.ndarray]:
        return [p.detach().numpy().copy() for p in self.params]


class TapegradMLP(UserMLP):
    """tapegrad: class labels stay an integer NumPy array."""

    def __init__(
        self, params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
    ) -> None:
        import tapegrad
        from tapegrad.nn import functional

        self.framework, self.F = tapegrad, functional
        tensors = [tapegrad.from_numpy(p, True) for p in params]
        super().__init__(tensors, tapegrad.from_numpy(x), labels)


class TorchMLP(UserMLP):
    """PyTorch: class labels become an int64 tensor."""

    def __init__(
        self, params: list[np.ndarray], x: np.ndarray, labels: np.ndarray
    ) -> None:
        import torch
        import torch.nn.functional as F

        self.framework, self.F = torch, F
        tensors = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
        labels = torch.from_numpy(labels.astype(np.int64))
        super().__init__(tensors, torch.from_numpy(x.copy()), labels)


MODELS = {"numpy": NumpyMLP, "tapegrad": TapegradMLP, "torch": TorchMLP}


def check_model(
    ctx: Any, framework: str, label: str, sizes: tuple[int, ...], batch: int
) -> None:
    """Checks the framework's loss, gradient and update against the float64 reference.

    The reference's own hand-written gradient is first checked against a central finite
    difference along a random direction, so a wrong reference cannot pass either.
    """
    params, x, labels = init(sizes, batch)
    reference = NumpyMLP(
        [p.astype(np.float64) for p in params], x.astype(np.float64), labels
    )
    expected = reference.grads()
    # A unit direction moves each pre-activation by ~1e-7 at most, so that (almost) no
    # ReLU crosses its kink between the two evaluations.
    rng = np.random.default_rng(1)
    direction = [rng.standard_normal(p.shape) for p in params]
    norm = np.sqrt(sum(float((d * d).sum()) for d in direction))
    direction = [d / norm for d in direction]
    eps = 1e-5
    losses = []
    for sign in (1, -1):
        probe = NumpyMLP(
            [p + sign * eps * d for p, d in zip(reference.params, direction)],
            reference.x,
            labels,
        )
        losses.append(probe.loss())
    ctx.check(
        f"{label} reference gradient vs finite difference",
        np.array([(losses[0] - losses[1]) / (2 * eps)]),
        np.array([sum(float((g * d).sum()) for g, d in zip(expected, direction))]),
        1e-4,
    )

    model = MODELS[framework](params, x, labels)
    ctx.check(
        f"{label} loss", np.array([model.loss()]), np.array([reference.loss()]), 2e-5
    )
    for i, (got, ref) in enumerate(zip(model.grads(), expected)):
        name = f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}"
        ctx.check(f"{label} gradient {name}", got, ref, 2e-4)
    before = model.values()
    model.step()
    for i, (old, new, ref) in enumerate(zip(before, model.values(), expected)):
        ctx.check(
            f"{label} SGD update of parameter {i}",
            (old.astype(np.float64) - new) / LEARNING_RATE,
            ref,
            2e-2,
        )
