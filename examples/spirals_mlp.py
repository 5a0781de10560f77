"""Train an MLP on the spirals of ``python -m tapegrad`` and plot its loss curves.

    python examples/spirals_mlp.py                      # writes spirals_mlp.png
    python examples/spirals_mlp.py --epochs 30 --plot out.png

The plot (training and held-out loss per epoch, and the learned decision regions) needs
matplotlib (``pip install "tapegrad[examples]"``); without it the example trains,
reports, and says that it skipped the plot.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import tapegrad as tg
from tapegrad import nn
from tapegrad._demo import make_spirals  # the data set that python -m tapegrad uses


def build_model(hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(2, hidden),
        nn.Tanh(),
        nn.Linear(hidden, hidden),
        nn.Tanh(),
        nn.Linear(hidden, 3),
    )


def evaluate(model: nn.Module, x: tg.Tensor, y: np.ndarray) -> tuple[float, float]:
    """(mean loss, accuracy) without recording a graph."""
    model.eval()
    with tg.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
    return loss, float(np.mean(np.argmax(logits.numpy(), axis=1) == y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="spirals_mlp.png", help="PNG to write")
    args = parser.parse_args()

    features, labels = make_spirals(1000, args.seed)
    x_train, y_train = tg.tensor(features[:2400]), labels[:2400]
    x_test, y_test = tg.tensor(features[2400:]), labels[2400:]

    tg.manual_seed(args.seed)
    model = build_model(args.hidden)
    optimizer = tg.optim.AdamW(model.parameters(), lr=0.01, weight_decay=1e-4)
    scheduler = tg.optim.lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)

    history: dict[str, list[float]] = {"train": [], "test": []}
    for epoch in range(args.epochs):
        model.train()
        for batch in np.array_split(rng.permutation(len(y_train)), len(y_train) // 32):
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
        scheduler.step()
        train_loss, _ = evaluate(model, x_train, y_train)
        test_loss, test_accuracy = evaluate(model, x_test, y_test)
        history["train"].append(train_loss)
        history["test"].append(test_loss)
        if epoch % 10 == 9 or epoch == args.epochs - 1:
            print(
                f"epoch {epoch + 1:3d}  lr {scheduler.get_last_lr()[0]:.4f}  "
                f"train loss {train_loss:.4f}  test loss {test_loss:.4f}  "
                f"test accuracy {test_accuracy:.1%}"
            )

    # Save the weights (safetensors) and load them into a fresh model.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spirals.safetensors"
        tg.save(model.state_dict(), path)
        restored = build_model(args.hidden)
        restored.load_state_dict(tg.load(path))
    _, restored_accuracy = evaluate(restored, x_test, y_test)
    print(f"reloaded from safetensors: test accuracy {restored_accuracy:.1%}")

    plot(model, history, features[2400:], y_test, args.plot)


def plot(
    model: nn.Module,
    history: dict[str, list[float]],
    points: np.ndarray,
    labels: np.ndarray,
    path: str,
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed: skipped the plot "
            '(pip install "tapegrad[examples]" to get it)'
        )
        return
    figure, (curves, regions) = plt.subplots(1, 2, figsize=(11, 4.5))
    epochs = np.arange(1, len(history["train"]) + 1)
    curves.plot(epochs, history["train"], label="training")
    curves.plot(epochs, history["test"], label="held out")
    curves.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    curves.legend()

    grid = np.linspace(-1.2, 1.2, 300)
    gx, gy = np.meshgrid(grid, grid)
    with tg.no_grad():
        logits = model(tg.tensor(np.stack([gx.ravel(), gy.ravel()], axis=1)))
    classes = np.argmax(logits.numpy(), axis=1).reshape(gx.shape)
    colours = matplotlib.colors.ListedColormap(["tab:blue", "tab:orange", "tab:green"])
    regions.contourf(
        gx, gy, classes, levels=[-0.5, 0.5, 1.5, 2.5], alpha=0.25, cmap=colours
    )
    regions.scatter(
        points[:, 0], points[:, 1], c=labels, s=6, cmap=colours, vmin=0, vmax=2
    )
    regions.set(title="decision regions, held-out points", aspect="equal")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
