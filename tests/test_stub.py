"""The type stub ``_native.pyi`` matches the built extension module (pydantic-core's habit)."""

import subprocess
import sys

import pytest


def test_native_stub_matches_the_module():
    pytest.importorskip("mypy")
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "tapegrad._native"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
