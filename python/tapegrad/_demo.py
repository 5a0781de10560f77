"""The main job, ``python -m tapegrad``: train a classifier, check its gradient, time it.

1. Trains an MLP on three interleaved 2-D spirals (generated here: no download) with
   Adam and a cosine learning-rate schedule, showing a progress bar, and reports the
   accuracy on held-out points.
2. Checks the trained model's gradient against finite differences with
   ``tapegrad.testing.gradcheck`` in float64, every parameter of it.
3. Measures the thesis on that model: one backprop gradient costs a few forward
   passes, finite differences cost two per parameter.

Along the way it prints the memory bill of one training step: what backprop keeps
for backward, by op and by layer (``tapegrad.memory_bill``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import nn
from tapegrad.nn.utils import functional_call
from tapegrad.testing import gradcheck

CLASSES = 3
GRADCHECK_POINTS = 8


def make_spirals(
    points_per_class: int, seed: int, turns: float = 1.75, noise: float = 0.03
) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spiral arms, one per class: (points, 2) float32s and labels.

    Each arm winds ``turns`` times from the centre to radius 1; points are spread
    evenly over the area and jittered by Gaussian ``noise``.
    """
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for k in range(CLASSES):
        radius = np.sqrt(rng.uniform(0.0, 1.0, points_per_class))
        angle = 2 * np.pi * (turns * radius + k / CLASSES)
        arm = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
        features.append(arm + noise * rng.standard_normal((points_per_class, 2)))
        labels.append(np.full(points_per_class, k))
    order = rng.permutation(CLASSES * points_per_class)
    # float32, like the model: a float64 batch would promote every layer to float64.
    points = np.concatenate(features)[order].astype(np.float32)
    return points, np.concatenate(labels)[order]


def make_model(hidden: int, dtype: Any = None) -> nn.Sequential:
    """A 2-hidden-layer tanh MLP from the plane to three class logits."""
    return nn.Sequential(
        nn.Linear(2, hidden, dtype=dtype),
        nn.Tanh(),
        nn.Linear(hidden, hidden, dtype=dtype),
        nn.Tanh(),
        nn.Linear(hidden, CLASSES, dtype=dtype),
    )


def accuracy(model: nn.Module, features: tg.Tensor, labels: np.ndarray) -> float:
    """The fraction of points whose largest logit is their class."""
    with tg.no_grad():
        predicted = np.argmax(model(features).__array__(copy=True), axis=1)
    return float(np.mean(predicted == labels))


def train(
    model: nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    args: argparse.Namespace,
) -> float:
    """Mini-batch Adam with a cosine schedule; returns the last epoch's mean loss."""
    from tqdm import tqdm  # imported here: the library itself does not need it

    optimizer = tg.optim.Adam(model.parameters(), lr=args.lr)
    schedule = tg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(args.seed)
    inputs = tg.tensor(features)
    mean_loss = float("nan")
    bar = tqdm(
        range(args.epochs),
        desc="training",
        unit="epoch",
        disable=args.no_progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    for _ in bar:
        model.train()
        order = rng.permutation(len(labels))
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            loss = loss_fn(model(inputs[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        mean_loss = total / len(labels)
        bar.set_postfix(
            loss=f"{mean_loss:.4f}", acc=f"{accuracy(model, inputs, labels):.1%}"
        )
    return mean_loss


def step_memory_bill(
    model: nn.Module, features: np.ndarray, labels: np.ndarray, batch_size: int
) -> tg.memory.MemoryBill:
    """What one training step's graph (a mini-batch's loss) keeps for backward."""
    loss = nn.CrossEntropyLoss()(
        model(tg.tensor(features[:batch_size])), labels[:batch_size]
    )
    return tg.memory_bill(loss)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``fn``, in seconds (the least disturbed)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def check_gradient(
    model: nn.Module, hidden: int, features: np.ndarray, labels: np.ndarray
) -> tuple[bool, float]:
    """gradcheck of the loss with respect to every parameter, in float64.

    Returns whether it passed and how long it took: its finite differences are two
    forward passes per parameter, done for real.
    """
    model64 = make_model(hidden, dtype=tg.float64)
    model64.load_state_dict(model.state_dict())  # float32 values, converted
    names = [name for name, _ in model64.named_parameters()]
    params = [p for _, p in model64.named_parameters()]
    x = tg.tensor(features, dtype=tg.float64)

    def loss_of(*values: tg.Tensor) -> tg.Tensor:
        logits = functional_call(model64, dict(zip(names, values)), x)
        return nn.functional.cross_entropy(logits, labels)

    start = time.perf_counter()
    passed = gradcheck(loss_of, params, raise_exception=False)
    return passed, time.perf_counter() - start


def time_gradients(
    model: nn.Module, features: np.ndarray, labels: np.ndarray
) -> tuple[float, float, float]:
    """Best times of one forward pass, of the recording forward pass and of backward."""
    x = tg.tensor(features)
    loss_fn = nn.CrossEntropyLoss()

    def forward() -> None:
        with tg.no_grad():
            loss_fn(model(x), labels)

    def backprop() -> tuple[float, float]:
        model.zero_grad()
        start = time.perf_counter()
        loss = loss_fn(model(x), labels)
        recorded = time.perf_counter()
        loss.backward()
        return recorded - start, time.perf_counter() - recorded

    forward()  # warm up
    t_forward = best_time(forward, 30)
    t_record, t_backward = (min(ts) for ts in zip(*(backprop() for _ in range(30))))
    return t_forward, t_record, t_backward


def _duration(seconds: float) -> str:
    """Three significant digits in a readable unit."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s"


def _aligned(*seconds: float) -> list[str]:
    texts = [_duration(s) for s in seconds]
    width = max(len(t) for t in texts)
    return [t.rjust(width) for t in texts]


def _say(text: str) -> None:
    print(text, flush=True)  # flushed, so it stays in order with the bar on stderr


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (``--help`` lists it)."""
    parser = argparse.ArgumentParser(
        prog="python -m tapegrad",
        description=(
            "Train an MLP on three 2-D spirals with tapegrad, check its gradient "
            "against finite differences, and time backprop against them."
        ),
    )
    parser.add_argument("--epochs", type=int, default=60, help="training epochs (60)")
    parser.add_argument(
        "--hidden", type=int, default=64, help="units per hidden layer (64)"
    )
    parser.add_argument(
        "--lr", type=float, default=0.01, help="Adam's learning rate (0.01)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--batch-size", type=int, default=32, help="mini-batch size (32)"
    )
    parser.add_argument(
        "--save", metavar="PATH", help="write the trained weights to PATH (safetensors)"
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="do not show the progress bar"
    )
    parser.add_argument(
        "--version", action="version", version=f"tapegrad {tg.__version__}"
    )
    parser.add_argument(
        "--diagnose",
        action="store_true",
        help=(
            "instead: compare the gradient flow of a deep sigmoid MLP, whose early "
            "layers' gradients vanish, with a residual ReLU MLP's "
            "(tapegrad.diagnostics; uses --seed only)"
        ),
    )
    parser.add_argument(
        "--plot",
        metavar="PATH",
        help="with --diagnose: draw the gradient flow to PATH (.png, .svg; matplotlib)",
    )
    args = parser.parse_args(argv)
    if args.plot is not None and not args.diagnose:
        parser.error("--plot draws the --diagnose comparison: add --diagnose")
    for name in ("epochs", "hidden", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if not args.lr > 0:
        parser.error("--lr must be positive")
    for option in ("save", "plot"):  # fail now, not after training
        value = getattr(args, option)
        target = Path(value) if value is not None else None
        if target is not None and (target.is_dir() or not target.parent.is_dir()):
            parser.error(f"--{option} {value}: not a file in an existing directory")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the demonstration; returns the exit code (1 if gradcheck failed)."""
    args = parse_args(argv)
    if args.diagnose:
        from tapegrad._diagnose_demo import diagnose

        return diagnose(args)
    started = time.perf_counter()
    features, labels = make_spirals(1000, args.seed)
    train_x, train_y = features[:2400], labels[:2400]
    test_x, test_y = features[2400:], labels[2400:]

    tg.manual_seed(args.seed)
    model = make_model(args.hidden)
    n_params = sum(p.numel() for p in model.parameters())
    _say(
        f"tapegrad {tg.__version__}: a 2-{args.hidden}-{args.hidden}-{CLASSES} tanh MLP "
        f"({n_params:,} parameters) on three spirals ({len(train_y):,} training "
        f"points, {len(test_y)} held out), {args.epochs} epochs of Adam"
    )

    loss = train(model, train_x, train_y, args)
    bill = step_memory_bill(model, train_x, train_y, args.batch_size)
    model.eval()
    test_accuracy = accuracy(model, tg.tensor(test_x), test_y)
    train_accuracy = accuracy(model, tg.tensor(train_x), train_y)
    _say(
        f"trained in {time.perf_counter() - started:.1f} s: loss {loss:.4f}, "
        f"accuracy {train_accuracy:.1%} on the training points, "
        f"{test_accuracy:.1%} on the held-out points\n"
    )
    _say(
        f"memory bill of one training step ({args.batch_size} points): what backprop "
        f"keeps for backward\n" + textwrap.indent(bill.summary(), "  ") + "\n"
    )

    passed, t_check = check_gradient(
        model, args.hidden, test_x[:GRADCHECK_POINTS], test_y[:GRADCHECK_POINTS]
    )
    verdict = (
        "passed: backprop agrees with central finite differences"
        if passed
        else "FAILED: backprop and finite differences disagree"
    )
    _say(
        f"gradcheck of the trained model (float64, all {n_params:,} parameters, "
        f"{GRADCHECK_POINTS} points): {verdict} ({2 * n_params:,} forward passes, "
        f"{t_check:.1f} s)\n"
    )

    t_forward, t_record, t_backward = time_gradients(model, train_x, train_y)
    t_backprop = t_record + t_backward
    t_fd = 2 * n_params * t_forward
    forward, backprop, fd = _aligned(t_forward, t_backprop, t_fd)
    _say(
        f"the gradient of the loss on the {len(train_y):,} training points "
        f"(all {n_params:,} derivatives), best of 30 runs:\n"
        f"  one forward pass (no_grad)  {forward}\n"
        f"  by backprop                 {backprop} = {t_backprop / t_forward:.1f} "
        f"forward passes (recording {_duration(t_record)} + backward "
        f"{_duration(t_backward)})\n"
        f"  by finite differences      ~{fd} = {2 * n_params:,} forward passes "
        f"(two per parameter)\n"
        f"backprop is ~{t_fd / t_backprop:,.0f}x faster here; finite differences "
        f"cost more with every parameter, backprop does not."
    )

    if args.save:
        tg.save(
            model.state_dict(),
            args.save,
            metadata={
                "model": f"2-{args.hidden}-{args.hidden}-{CLASSES} tanh MLP (nn.Sequential)",
                "hidden": str(args.hidden),
                "test_accuracy": f"{test_accuracy:.4f}",
            },
        )
        _say(f"saved the weights to {args.save} (safetensors)")
    _say(f"done in {time.perf_counter() - started:.1f} s")
    return 0 if passed else 1
