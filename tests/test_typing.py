"""``mypy python/tapegrad`` is clean (its configuration is in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_finds_no_errors_in_the_package():
    pytest.importorskip(
        "mypy", reason="mypy is in the test extra: pip install '.[test]'"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "python/tapegrad"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
