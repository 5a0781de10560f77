"""Differentially private SGD (Abadi et al. 2016) on scikit-learn's digits, with
per-sample gradients from ``vmap(grad(loss))``.

    python examples/dp_sgd.py
    python examples/dp_sgd.py --epochs 10 --noise 1.1 --clip 1.0

Each step computes every example's own gradient in one batched call, clips each to
norm ``--clip``, sums them, adds Gaussian noise of standard deviation
``noise * clip`` and takes an SGD step with the noisy mean. Before training, the
per-sample gradients of one batch are checked against a loop of single-example
backward passes. The data ships inside scikit-learn: ``pip install "tapegrad[examples]"``.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import tapegrad as tg
from tapegrad import func, nn

try:
    from sklearn.datasets import load_digits
except ImportError:
    raise SystemExit(
        "this example needs scikit-learn, which ships the digits data set: "
        'pip install "tapegrad[examples]" (or pip install scikit-learn)'
    ) from None


def make_model(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(64, hidden), nn.Tanh(), nn.Linear(hidden, 10))


def per_sample_gradients(model: nn.Module) -> Any:
    """``(params, images, labels) -> {name: (batch, *param.shape)}``."""

    def loss(params: dict[str, tg.Tensor], image: tg.Tensor, label: tg.Tensor) -> Any:
        logits = func.functional_call(model, params, (image.unsqueeze(0),))
        return nn.functional.cross_entropy(logits, label.unsqueeze(0))

    return func.vmap(func.grad(loss), in_dims=(None, 0, 0))


def check_against_a_loop(model: nn.Module, images: tg.Tensor, labels: tg.Tensor) -> float:
    """The largest difference between vmap's per-sample gradients and a loop of
    single-example backward passes."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    batched = per_sample_gradients(model)(params, images, labels)
    worst = 0.0
    for k in range(images.shape[0]):
        model.zero_grad()
        label = np.array([int(labels[k].item())])
        nn.functional.cross_entropy(model(images[k].unsqueeze(0)), label).backward()
        for name, p in model.named_parameters():
            diff = np.abs(batched[name][k].numpy() - p.grad.numpy()).max()
            worst = max(worst, float(diff))
    return worst


def dp_step(
    model: nn.Module,
    optimizer: tg.optim.Optimizer,
    grads_of: Any,
    images: tg.Tensor,
    labels: tg.Tensor,
    clip: float,
    noise: float,
    rng: np.random.Generator,
) -> None:
    """One DP-SGD step: clip every per-sample gradient, sum, add noise, average, and
    hand the result to the optimiser as the parameters' ``.grad``."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    grads = grads_of(params, images, labels)
    batch = images.shape[0]
    flat = [g.reshape(batch, -1) for g in grads.values()]
    norms = sum((g * g).sum(1) for g in flat).sqrt()  # each example's gradient norm
    scale = (clip / (norms + 1e-12)).clamp(max=1.0)  # shrink only the long ones
    with tg.no_grad():
        for name, p in model.named_parameters():
            g = grads[name]
            factor = scale.reshape(batch, *([1] * (g.ndim - 1)))
            total = (g * factor).sum(0)
            total = total + tg.tensor(
                rng.normal(0.0, noise * clip, tuple(p.shape)), dtype=p.dtype
            )
            p.grad = total / batch
    optimizer.step()


def accuracy(model: nn.Module, images: tg.Tensor, labels: np.ndarray) -> float:
    with tg.no_grad():
        predicted = model(images).numpy().argmax(1)
    return float((predicted == labels).mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--noise", type=float, default=0.8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.float32)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(y))
    train, test = order[:1400], order[1400:]
    tg.manual_seed(args.seed)
    model = make_model(args.hidden)

    worst = check_against_a_loop(model, tg.tensor(x[train[:16]]), tg.tensor(y[train[:16]]))
    print(f"per-sample gradients vs a loop of backward passes: max |diff| = {worst:.2e}")
    if worst > 1e-5:
        raise SystemExit("per-sample gradients disagree with the loop")

    grads_of = per_sample_gradients(model)
    optimizer = tg.optim.SGD(model.parameters(), lr=args.lr)
    x_test = tg.tensor(x[test])
    for epoch in range(1, args.epochs + 1):
        shuffled = rng.permutation(train)
        for start in range(0, len(shuffled) - args.batch + 1, args.batch):
            idx = shuffled[start : start + args.batch]
            dp_step(
                model,
                optimizer,
                grads_of,
                tg.tensor(x[idx]),
                tg.tensor(y[idx]),
                args.clip,
                args.noise,
                rng,
            )
        acc = accuracy(model, x_test, digits.target[test])
        print(f"epoch {epoch}: test accuracy {acc:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
