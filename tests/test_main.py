"""The main job ``python -m tapegrad`` and the examples, run as a user would."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
import tapegrad as tg
from tapegrad import _demo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(
    *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        cwd=cwd,
    )


def run_without(module: str, script: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs ``script`` as if ``module`` were not installed."""
    code = (
        "import runpy, sys\n"
        f"sys.modules[{module!r}] = None  # makes 'import {module}' fail\n"
        f"sys.argv = {[str(script), *args]!r}\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    return run("-c", code)


def held_out_accuracy(stdout: str) -> float:
    match = re.search(r"([\d.]+)% on the held-out points", stdout)
    assert match, stdout
    return float(match.group(1)) / 100


def test_help_lists_every_option():
    result = run("-m", "tapegrad", "--help")
    assert result.returncode == 0, result.stderr
    for option in (
        "--epochs",
        "--hidden",
        "--lr",
        "--seed",
        "--save",
        "--no-progress",
        "--diagnose",
        "--plot",
        "--help",
    ):
        assert option in result.stdout


@pytest.mark.parametrize(
    "bad",
    [
        ["--epochs", "0"],
        ["--hidden", "-1"],
        ["--lr", "0"],
        ["--x"],
        ["--save", "/nonexistent/dir/w.safetensors"],
        ["--save", "."],
    ],
)
def test_bad_options_exit_with_usage(bad):
    result = run("-m", "tapegrad", *bad)
    assert result.returncode == 2
    assert "usage: python -m tapegrad" in result.stderr


def test_short_run_saves_a_safetensors_file(tmp_path):
    path = tmp_path / "weights.safetensors"
    result = run(
        "-m",
        "tapegrad",
        "--epochs",
        "3",
        "--hidden",
        "12",
        "--lr",
        "0.02",
        "--seed",
        "3",
        "--no-progress",
        "--save",
        str(path),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2-12-12-3 tanh MLP (231 parameters)" in out and "3 epochs" in out
    assert "gradcheck of the trained model (float64, all 231 parameters" in out
    assert "passed" in out and "462 forward passes" in out
    assert re.search(r"by backprop +\S+ \S+ = [\d.]+ forward passes", out)
    assert re.search(r"by finite differences +~ *\S+ \S+ = 462 forward passes", out)
    assert f"saved the weights to {path}" in out
    assert "training" not in result.stderr  # --no-progress: no bar
    # The memory bill of one training step: the bytes depend on the shapes only.
    features, labels = _demo.make_spirals(1000, 3)
    bill = _demo.step_memory_bill(_demo.make_model(12), features, labels, 32)
    assert bill.total_bytes > 0 and "Sequential.2" in bill.by_module
    assert (
        "memory bill of one training step (32 points): what backprop keeps for "
        "backward\n" + textwrap.indent(bill.summary(), "  ")
    ) in out
    arrays = safetensors.numpy.load_file(str(path))
    assert {k: v.shape for k, v in arrays.items()} == {
        "0.weight": (12, 2),
        "0.bias": (12,),
        "2.weight": (12, 12),
        "2.bias": (12,),
        "4.weight": (3, 12),
        "4.bias": (3,),
    }
    model = _demo.make_model(12)
    model.load_state_dict(tg.load(path))
    features, labels = _demo.make_spirals(1000, 3)
    assert (
        abs(
            _demo.accuracy(model, tg.tensor(features[2400:]), labels[2400:])
            - held_out_accuracy(out)
        )
        < 0.001
    )


def test_the_progress_bar_shows_loss_and_accuracy():
    result = run("-m", "tapegrad", "--epochs", "2", "--hidden", "8")
    assert result.returncode == 0, result.stderr
    assert re.search(r"training: 100%.*2/2.*acc=[\d.]+%, loss=[\d.]+", result.stderr)


def test_default_run_is_accurate_and_fast():
    """The acceptance run: default options, under a minute, at least 95 % held out."""
    start = time.perf_counter()
    result = run("-m", "tapegrad", timeout=120)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    assert elapsed < 60, f"python -m tapegrad took {elapsed:.1f} s"
    assert held_out_accuracy(result.stdout) >= 0.95
    assert "60 epochs of Adam" in result.stdout
    assert "(float64, all 4,547 parameters, 8 points): passed" in result.stdout
    assert "training: 100%" in result.stderr


def test_a_failed_gradcheck_is_reported_with_exit_code_1(monkeypatch, capsys):
    monkeypatch.setattr(_demo, "gradcheck", lambda *args, **kwargs: False)
    code = _demo.main(["--epochs", "1", "--hidden", "4", "--no-progress"])
    assert code == 1
    assert "FAILED" in capsys.readouterr().out


def test_spirals_are_reproducible_and_balanced():
    a, labels = _demo.make_spirals(50, seed=1)
    b, _ = _demo.make_spirals(50, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (150, 2) and np.bincount(labels).tolist() == [50, 50, 50]


# ---- examples


def test_spirals_example_writes_a_loss_plot(tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "curve.png"
    result = run(str(EXAMPLES / "spirals_mlp.py"), "--epochs", "3", "--plot", str(plot))
    assert result.returncode == 0, result.stderr
    assert (
        "reloaded from safetensors" in result.stdout
        and f"wrote {plot}" in result.stdout
    )
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spirals_example_skips_the_plot_without_matplotlib(tmp_path):
    plot = tmp_path / "curve.png"
    result = run_without(
        "matplotlib", EXAMPLES / "spirals_mlp.py", "--epochs", "2", "--plot", str(plot)
    )
    assert result.returncode == 0, result.stderr
    assert "matplotlib is not installed: skipped the plot" in result.stdout
    assert not plot.exists()


def test_digits_example_trains_and_resumes():
    pytest.importorskip("sklearn")
    result = run(str(EXAMPLES / "digits_torch_style.py"), "--epochs", "4")
    assert result.returncode == 0, result.stderr
    assert "resumed from a checkpoint after epoch 2" in result.stdout
    accuracy = re.search(r"final test accuracy: ([\d.]+)%", result.stdout)
    assert accuracy and float(accuracy.group(1)) > 85


def test_digits_example_explains_a_missing_scikit_learn():
    result = run_without("sklearn", EXAMPLES / "digits_torch_style.py")
    assert result.returncode == 1
    assert "needs scikit-learn" in result.stderr and "pip install" in result.stderr
