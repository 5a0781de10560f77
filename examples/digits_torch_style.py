"""A PyTorch-style training loop on scikit-learn's handwritten digits (8×8 images).

    python examples/digits_torch_style.py
    python examples/digits_torch_style.py --epochs 5

The data ships inside scikit-learn (no download): ``pip install "tapegrad[examples]"``.
The loop is written as one would for PyTorch (``import tapegrad as torch`` would almost
do): model, loss, optimiser and scheduler objects, ``train()``/``eval()``,
``zero_grad()``/``backward()``/``step()``, gradient clipping, and a checkpoint of the
model and the optimiser that training resumes from.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


class DigitNet(nn.Module):
    """Flatten 8×8 images, two hidden layers with LayerNorm and dropout, 10 logits."""

    def __init__(self, hidden: int = 128) -> None:
        super().__init__()
        self.flatten = nn.Flatten()
        self.body = nn.Sequential(
            nn.Linear(64, hidden),
            nn.LayerNorm(hidden),
            nn.GELU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, hidden),
            nn.GELU(),
        )
        self.head = nn.Linear(hidden, 10)

    def forward(self, images: tg.Tensor) -> tg.Tensor:
        return self.head(self.body(self.flatten(images)))


def batches(
    images: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator | None
) -> Iterator[tuple[tg.Tensor, np.ndarray]]:
    """A tiny DataLoader: shuffled (when given a generator) mini-batches."""
    order = rng.permutation(len(labels)) if rng is not None else np.arange(len(labels))
    for start in range(0, len(order), size):
        batch = order[start : start + size]
        yield tg.tensor(images[batch]), labels[batch]


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    correct = 0
    with tg.no_grad():
        for x, y in batches(images, labels, 256, None):
            correct += int(np.sum(np.argmax(model(x).numpy(), axis=1) == y))
    return correct / len(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)  # (1797, 8, 8), in [0, 1]
    labels = digits.target  # integer class labels, 0..9
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(labels))
    train, test = order[:1400], order[1400:]

    tg.manual_seed(args.seed)
    model = DigitNet()
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    optimizer = tg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    print(model)

    def run_epoch(epoch: int) -> None:
        model.train()
        total, seen = 0.0, 0
        for x, y in batches(images[train], labels[train], 64, rng):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            total, seen = total + loss.item() * len(y), seen + len(y)
        scheduler.step()
        accuracy = evaluate(model, images[test], labels[test])
        print(
            f"epoch {epoch + 1:2d}  loss {total / seen:.4f}  test accuracy {accuracy:.1%}"
        )

    half = args.epochs // 2
    for epoch in range(half):
        run_epoch(epoch)

    # Checkpoint everything (safetensors, no pickle), then resume from it in new objects.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "checkpoint.safetensors"
        tg.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            path,
        )
        checkpoint = tg.load(path)
    model = DigitNet()
    model.load_state_dict(checkpoint["model"])
    optimizer = tg.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    scheduler.load_state_dict(checkpoint["scheduler"])
    print(f"resumed from a checkpoint after epoch {half}")

    for epoch in range(half, args.epochs):
        run_epoch(epoch)
    print(f"final test accuracy: {evaluate(model, images[test], labels[test]):.1%}")


if __name__ == "__main__":
    main()
