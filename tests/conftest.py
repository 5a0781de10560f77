"""Suite-wide settings: Hypothesis profiles and a clean grad mode per test."""

from __future__ import annotations

import os

import pytest
import tapegrad as tg
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """Grad mode is on in every test, and no test (or library bug) leaves it off."""
    yield
    leaked = not tg.is_grad_enabled()
    tg.set_grad_enabled(True)
    assert not leaked, "grad mode was left off after the test"


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="total time for test_no_panic.py's API fuzzer, shared by its groups "
        "(default: 36 s, the CI budget)",
    )


@pytest.fixture
def fuzz_budget(request) -> float:
    """Seconds the API fuzzer spends in all its groups together."""
    budget = request.config.getoption("--fuzz-budget")
    return 36.0 if budget is None else budget
