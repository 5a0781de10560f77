"""repr/str of tensors: PyTorch's layout under its default and custom print options,
compared string for string with torch (after the "torch." -> "tapegrad." renames)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)

# (name, NumPy data) pairs: each is printed by both libraries in the same dtype.
TABLE = [
    ("float_scalar", np.array(3.14159, np.float32)),
    ("negative_scalar", np.array(-2.5, np.float64)),
    ("int_scalar", np.array(7, np.int64)),
    ("bool_scalar", np.array(True)),
    ("floats", np.array([1.23456789, 2.0, -3.5], np.float32)),
    ("integral_floats", np.array([1.0, 2.0, -30.0], np.float32)),
    ("zeros", np.zeros(4, np.float32)),
    ("nan_inf", np.array([1.5, np.nan, np.inf, -np.inf, 0.0], np.float32)),
    ("integral_with_nan", np.array([1.0, np.nan, np.inf], np.float32)),
    ("only_nonfinite", np.array([np.nan, np.inf], np.float64)),
    ("small", np.array([1e-5, 1.0], np.float32)),
    ("wide_range", np.array([1.0, 5000.0], np.float64)),
    ("huge_integral", np.array([1e9, 2.0], np.float64)),
    ("tiny", np.array([1e-8, -3e-9], np.float64)),
    ("ints", np.array([1, -20, 300], np.int64)),
    ("int32", np.array([[1, 2], [3, 4]], np.int32)),
    ("uint8", np.array([0, 255], np.uint8)),
    ("int8", np.array([-128, 5], np.int8)),
    ("int16", np.array([7], np.int16)),
    ("bools", np.array([[True, False], [False, True]])),
    ("float64_matrix", RNG.standard_normal((3, 4))),
    ("float32_3d", RNG.standard_normal((2, 3, 4)).astype(np.float32)),
    ("wrapping_vector", RNG.standard_normal(30).astype(np.float32)),
    ("wrapping_rows", RNG.standard_normal((2, 25))),
    ("summarised_vector", np.arange(2000, dtype=np.float32)),
    ("summarised_ints", np.arange(1500, dtype=np.int64)),
    ("summarised_matrix", RNG.standard_normal((40, 40)).astype(np.float32)),
    ("summarised_3d", RNG.standard_normal((12, 10, 10))),
    ("empty", np.zeros(0, np.float32)),
    ("empty_2d", np.zeros((0, 3), np.float32)),
    ("empty_int", np.zeros(0, np.int64)),
    ("empty_float64_2d", np.zeros((2, 0), np.float64)),
    ("negative_zero", np.array([-0.0, 1.0], np.float32)),
]

OPTIONS = [
    {},
    {"precision": 2},
    {"precision": 6, "linewidth": 40},
    {"threshold": 5, "edgeitems": 1},
    {"threshold": 5, "edgeitems": 0},
    {"sci_mode": True},
    {"sci_mode": False},
    {"profile": "short"},
    {"profile": "full", "linewidth": 120},
]


def _ours(text: str) -> str:
    return text.replace("torch.", "tapegrad.")


def _joined_suffixes(text: str) -> str:
    """``text`` with suffixes always on the elements' line: "tapegrad." is 3 characters
    longer than "torch.", so a suffix may wrap in one library and not the other."""
    return re.sub(r",\n *(dtype=|size=|requires_grad=|grad_fn=)", r", \1", text)


@pytest.fixture
def restore_options():
    yield
    tg.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: str(o) or "default")
def test_repr_and_str_match_torch(options, restore_options):
    tg.set_printoptions(**options)
    torch.set_printoptions(**options)
    for name, data in TABLE:
        mine = tg.tensor(data)
        theirs = torch.tensor(data)
        expected = _joined_suffixes(_ours(repr(theirs)))
        assert _joined_suffixes(repr(mine)) == expected, name
        assert str(mine) == repr(mine), name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_autograd_suffixes_match_torch(dtype):
    data = np.arange(6.0).reshape(2, 3)
    mine = tg.tensor(data, dtype=getattr(tg, dtype), requires_grad=True)
    theirs = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=True)
    assert repr(mine) == _ours(repr(theirs))
    # grad_fn names differ between the libraries (MulBackward vs MulBackward0).
    expected = _ours(repr(theirs * 2)).replace("MulBackward0", "MulBackward")
    assert repr(mine * 2) == expected
    assert repr(tg.nn.Parameter(mine.detach())) == _ours(
        repr(torch.nn.Parameter(theirs.detach()))
    )


def test_long_suffixes_wrap_at_linewidth():
    # A full last line of elements: the suffix goes to a line of its own, in both.
    data = np.arange(16, dtype=np.float32) * 1.5
    mine = tg.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    assert repr(mine) == repr(theirs)
    assert repr(mine).endswith("],\n       requires_grad=True)")
    text = repr(tg.tensor(data, dtype=tg.float64, requires_grad=True))
    assert all(len(line) <= 80 for line in text.splitlines())


def test_set_printoptions_is_pytorchs(restore_options):
    assert tg.get_printoptions() == {
        "precision": 4,
        "threshold": 1000,
        "edgeitems": 3,
        "linewidth": 80,
        "sci_mode": None,
    }
    tg.set_printoptions(precision=2, sci_mode=True)
    tg.set_printoptions(linewidth=100)  # sci_mode omitted resets it, as in PyTorch
    assert tg.get_printoptions()["sci_mode"] is None
    assert tg.get_printoptions()["precision"] == 2
    tg.set_printoptions(profile="full")
    assert tg.get_printoptions()["threshold"] == math.inf
    with pytest.raises(tg.ArgumentError, match="profile"):
        tg.set_printoptions(profile="long")
    with pytest.raises(tg.ArgumentError, match="precision"):
        tg.set_printoptions(precision=-1)


def test_format_of_0d_and_views():
    x = tg.arange(12.0).reshape(3, 4)
    assert repr(x.t()) == _ours(repr(torch.arange(12.0).reshape(3, 4).t()))
    assert repr(x[:, ::2]) == _ours(repr(torch.arange(12.0).reshape(3, 4)[:, ::2]))
    assert f"{tg.tensor(0.5):.3f}" == "0.500"
