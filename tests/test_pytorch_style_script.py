"""A PyTorch-style training script, with ``import tapegrad as torch`` as its only change:
data loading with workers, gradient clipping, a schedule, a checkpoint dict saved to a
file, and a resume that continues exactly where the first run stopped."""

from __future__ import annotations

import numpy as np
import tapegrad as torch  # the one changed line
from helpers import values
from tapegrad import nn
from tapegrad.utils.data import DataLoader, TensorDataset


def make_data():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((96, 4))
    labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64) + (
        features[:, 2] > 1
    ).astype(np.int64)
    return TensorDataset(torch.tensor(features, dtype=torch.float64), labels)


def build():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 16, dtype=torch.float64),
        nn.Tanh(),
        nn.Linear(16, 3, dtype=torch.float64),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def run_epochs(model, optimizer, scheduler, first, last, losses):
    dataset = make_data()
    for epoch in range(first, last):
        torch.manual_seed(100 + epoch)  # the shuffle of each epoch, reproducibly
        loader = DataLoader(dataset, batch_size=16, shuffle=True, num_workers=2)
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs), targets)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()


def test_training_resumes_exactly_from_a_checkpoint_file(tmp_path):
    straight, straight_losses = build(), []
    run_epochs(*straight, 0, 5, straight_losses)

    first, losses = build(), []
    run_epochs(*first, 0, 2, losses)
    model, optimizer, scheduler = first
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "epoch": 2,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
        },
        path,
    )
    del first, model, optimizer, scheduler

    model, optimizer, scheduler = build()  # a fresh process would do the same
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    run_epochs(model, optimizer, scheduler, checkpoint["epoch"], 5, losses)

    assert losses == straight_losses  # bit for bit
    assert losses[-1] < losses[0]
    assert scheduler.get_last_lr() == straight[2].get_last_lr()
    for ours, theirs in zip(model.parameters(), straight[0].parameters()):
        np.testing.assert_array_equal(values(ours), values(theirs))
