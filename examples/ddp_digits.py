"""Data-parallel training of a digits classifier: the same accuracy on 1 rank or 2.

    python examples/ddp_digits.py                                    # 1 rank
    python -m tapegrad.distributed.run --nproc-per-node 2 examples/ddp_digits.py
    mpiexec -n 2 python examples/ddp_digits.py                       # the same

Needs ``pip install "tapegrad[distributed]"`` (mpi4py and the mpich wheel). The data is
scikit-learn's 8×8 handwritten digits when scikit-learn is installed, else a synthetic
10-class set of the same shape. Every epoch, ``DistributedSampler`` deals one shared
permutation out to the ranks; each global batch of 64 is split between them and
``DistributedDataParallel`` averages the gradients, so each step sees the same 64
examples whatever the number of ranks, and the final accuracy matches.
"""

from __future__ import annotations

import argparse

import numpy as np
import tapegrad as tg
import tapegrad.distributed as dist
from tapegrad import nn
from tapegrad.utils.data.distributed import DistributedSampler

GLOBAL_BATCH = 64


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    """Images flattened to 64 features in [0, 1], integer labels, and the source."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        rng = np.random.default_rng(0)
        centres = rng.uniform(0, 1, (10, 64))
        labels = rng.integers(0, 10, 1797)
        images = np.clip(centres[labels] + rng.normal(0, 0.35, (1797, 64)), 0, 1)
        return images.astype(np.float32), labels, "synthetic 10-class data"
    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target, "scikit-learn digits"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if GLOBAL_BATCH % world:
        raise SystemExit(
            f"the global batch {GLOBAL_BATCH} must divide by {world} ranks"
        )
    local_batch = GLOBAL_BATCH // world

    images, labels, source = load_data()
    split = int(0.8 * len(labels))
    train_x, train_y = images[:split], labels[:split]
    test_x, test_y = tg.tensor(images[split:]), labels[split:]

    tg.manual_seed(0)  # rank 0's initial weights are broadcast anyway
    net = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    model = nn.parallel.DistributedDataParallel(net)
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    sampler = DistributedSampler(range(split), shuffle=True, seed=0, drop_last=True)

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)  # the same new permutation on every rank
        mine = np.fromiter(sampler, dtype=np.int64)
        for start in range(0, len(mine) - local_batch + 1, local_batch):
            batch = mine[start : start + local_batch]
            optimizer.zero_grad()
            loss = loss_fn(model(tg.tensor(train_x[batch])), train_y[batch].tolist())
            loss.backward()  # gradients averaged over all ranks here
            optimizer.step()
        if rank == 0:
            print(f"epoch {epoch + 1}: last loss {loss.item():.4f}")

    with tg.no_grad():
        predicted = np.argmax(model(test_x).numpy(), axis=1)
    accuracy = float(np.mean(predicted == test_y))
    if rank == 0:
        print(f"{source}, {world} rank(s): test accuracy {100 * accuracy:.2f}%")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
