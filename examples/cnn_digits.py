"""A small CNN on scikit-learn's 8×8 handwritten digits, with a loss-curve plot.

    python examples/cnn_digits.py
    python examples/cnn_digits.py --epochs 10 --plot digits_cnn.png

The data ships inside scikit-learn (no download): ``pip install "tapegrad[examples]"``.
Conv2d → BatchNorm2d → ReLU → MaxPool2d, twice, then a linear layer: the held-out
accuracy passes 98 % in well under a minute on two cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import tapegrad as tg
from tapegrad import nn

try:
    from sklearn.datasets import load_digits
except ImportError:
    raise SystemExit(
        "this example needs scikit-learn, which ships the digits data set: "
        'pip install "tapegrad[examples]" (or pip install scikit-learn)'
    ) from None


def make_model() -> nn.Module:
    """Two convolution blocks (8×8 → 4×4 → 2×2) and a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.2),
        nn.Linear(64 * 2 * 2, 10),
    )


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of correct predictions, in eval mode and without a graph."""
    model.eval()
    with tg.no_grad():
        logits = model(tg.tensor(images)).numpy()
    model.train()
    return float((logits.argmax(1) == labels).mean())


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default=None, help="write the loss curve to this PNG")
    args = parser.parse_args(argv)

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    labels = digits.target
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(labels))
    test, train = order[:360], order[360:]
    tg.manual_seed(args.seed)
    model = make_model()
    optimizer = tg.optim.Adam(model.parameters(), lr=3e-3)
    schedule = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    losses: list[float] = []
    start = time.perf_counter()
    for epoch in range(args.epochs):
        shuffled = rng.permutation(train)
        for first in range(0, len(shuffled), args.batch_size):
            batch = shuffled[first : first + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(tg.tensor(images[batch])), labels[batch])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        schedule.step()
        held_out = accuracy(model, images[test], labels[test])
        print(
            f"epoch {epoch + 1:2d}  loss {np.mean(losses[-len(train) // args.batch_size :]):.4f}"
            f"  held-out accuracy {held_out:.3f}  ({time.perf_counter() - start:.1f} s)"
        )
    if args.plot:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            print("matplotlib is not installed: no plot")
        else:
            fig, ax = plt.subplots(figsize=(6, 3.5))
            ax.plot(losses)
            ax.set_xlabel("step")
            ax.set_ylabel("cross-entropy")
            ax.set_yscale("log")
            ax.set_title("CNN on 8×8 digits")
            fig.tight_layout()
            fig.savefig(args.plot, dpi=120)
            print(f"loss curve written to {args.plot}")
    return held_out


if __name__ == "__main__":
    main()
