"""``dir()`` of the public modules shows public names only (issue 15)."""

from __future__ import annotations

import importlib

import pytest
import tapegrad as tg

MODULES = [
    "tapegrad",
    "tapegrad.nn.functional",
    "tapegrad.autograd",
    "tapegrad.optim",
    "tapegrad.cuda",
    "tapegrad.backends",
    "tapegrad.backends.mps",
]
IMPLEMENTATION_NAMES = {"np", "math", "Any", "annotations", "Sequence", "TYPE_CHECKING"}


@pytest.mark.parametrize("name", MODULES)
def test_dir_lists_exactly_the_public_names(name):
    module = importlib.import_module(name)
    names = dir(module)
    assert not IMPLEMENTATION_NAMES & set(names), IMPLEMENTATION_NAMES & set(names)
    assert not [n for n in names if n.startswith("_")], names
    assert sorted(names) == sorted(set(module.__all__))
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}: names in __all__ that do not exist: {missing}"


def test_implementation_names_stay_reachable_as_attributes():
    # dir() hides them; nothing is deleted (so `tg._native` etc. keep working).
    assert tg._native is not None
    assert "Tensor" in dir(tg) and "nn" in dir(tg) and "cuda" in dir(tg)
