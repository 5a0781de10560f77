"""Well-known kinds of PyTorch CPU scripts, run as a new user would run them: written as
for PyTorch with only the imports changed (``import tapegrad as torch``...), on small
synthetic data. Each script in ``tests/scripts/`` ends by asserting that its loss went
down; here each runs in a subprocess of its own (a fresh interpreter, as a user's), with a
timeout, so that these idioms keep working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import tapegrad

SCRIPTS = Path(__file__).parent / "scripts"
NAMES = sorted(path.stem for path in SCRIPTS.glob("*.py"))


def test_every_script_is_listed():
    assert NAMES == [
        "autograd_tutorial",  # hooks, retain_grad, double backward, jacobian, Function
        "blitz_cnn",  # the 60-minute blitz: Conv2d, DataLoader, save and reload
        "char_rnn",  # nn.LSTM / nn.GRU with detached hidden state, StepLR
        "makemore_mlp",  # C[X] embeddings, manual SGD, multinomial with a Generator
        "mnist_mlp",  # Sequential, BatchNorm1d, ReLU(inplace=True), OneCycleLR
        "nanogpt",  # a tiny GPT: attention, AdamW groups, weight tying, generate
    ]


@pytest.mark.parametrize("name", NAMES)
def test_script_runs_and_learns(name, tmp_path):
    env = dict(os.environ)
    package_root = str(Path(tapegrad.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        [package_root, *filter(None, [env.get("PYTHONPATH")])]
    )
    env.setdefault("PYTHONHASHSEED", "0")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, (
        f"{name}.py failed\n--- stdout\n{result.stdout[-2000:]}\n"
        f"--- stderr\n{result.stderr[-4000:]}"
    )
