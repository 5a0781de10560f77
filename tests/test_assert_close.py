"""``tg.testing.assert_close``: PyTorch's semantics and messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg
from tapegrad.testing import assert_close

torch = pytest.importorskip("torch")

nan, inf = math.nan, math.inf


def _both(make):
    """``make(lib)`` for tapegrad and torch."""
    return make(tg), make(torch)


CASES = [
    (lambda t: (t.tensor([1.0, 2.0, 3.0]), t.tensor([1.0, 2.5, 3.0])), {}),
    (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0 + 1e-6])), {}),
    (lambda t: (t.tensor([1, 2, 3]), t.tensor([1, 4, 3])), {}),
    (lambda t: (t.tensor([True, False]), t.tensor([True, True])), {}),
    (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0, 3.0])), {}),
    (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0], dtype=t.float64)), {}),
    (
        lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 2.0], dtype=t.float64)),
        {"check_dtype": False},
    ),
    (lambda t: (t.tensor([nan]), t.tensor([nan])), {}),
    (lambda t: (t.tensor([nan]), t.tensor([nan])), {"equal_nan": True}),
    (lambda t: (t.tensor([1.0, inf]), t.tensor([1.0, inf])), {}),
    (lambda t: (t.tensor([1.0, inf]), t.tensor([1.0, -inf])), {}),
    (
        lambda t: (
            t.tensor([[1.0, 2.0], [3.0, 4.0]]),
            t.tensor([[1.0, 2.0], [3.0, 5.0]]),
        ),
        {},
    ),
    (
        lambda t: (t.tensor([0.0, 1.0]), t.tensor([1e-6, 1.0])),
        {"rtol": 0.0, "atol": 0.0},
    ),
    (
        lambda t: (t.tensor([0.0, 1.0]), t.tensor([0.05, 1.0])),
        {"rtol": 0.0, "atol": 0.1},
    ),
    (lambda t: (t.tensor([1, 2]), t.tensor([1.0, 2.0])), {"check_dtype": False}),
    (lambda t: (t.tensor(1.5, dtype=t.float64), t.tensor(1.25, dtype=t.float64)), {}),
    (lambda t: (t.ones(2, requires_grad=True), t.ones(2)), {}),
    (lambda t: (1.0, 1.0 + 1e-9), {}),
    (lambda t: (1.0, 1.1), {}),
    (lambda t: (1, 1.0), {}),
    (lambda t: (1, 2), {}),
    (lambda t: (1, 1.0), {"check_dtype": False}),
    (lambda t: ([t.ones(2), 1.0], [t.ones(2), 1.5]), {}),
    (lambda t: ((1.0, 2.0), [1.0, 2.0]), {}),
    (lambda t: ([1.0, 2.0], [1.0]), {}),
    (lambda t: ({"a": t.ones(1)}, {"a": t.zeros(1)}), {}),
    (lambda t: ({"a": t.ones(1)}, {"b": t.ones(1)}), {}),
    (lambda t: (np.ones(2), np.ones(2)), {}),
    (lambda t: (np.ones(2), np.zeros(2)), {}),
    (lambda t: (None, None), {}),
    (lambda t: (t.ones(2), 1.0), {}),
    (lambda t: (t.ones(2), np.ones(2, dtype=np.float32)), {}),
    (lambda t: ("a", "a"), {}),
    (lambda t: (t.ones(2), t.ones(2)), {"rtol": 1e-3}),
    (lambda t: (t.ones(2), t.ones(2)), {"atol": 1e-3}),
    (lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 3.0])), {"msg": "custom"}),
    (
        lambda t: (t.tensor([1.0, 2.0]), t.tensor([1.0, 3.0])),
        {"msg": lambda generated: "wrapped: " + generated.splitlines()[0]},
    ),
]


def _outcome(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001  (compared by type and message)
        return type(error), str(error)
    return None


@pytest.mark.parametrize("case", range(len(CASES)))
def test_outcomes_and_messages_match_torch(case):
    make, kwargs = CASES[case]
    mine, theirs = make(tg), make(torch)
    ours = _outcome(lambda: assert_close(*mine, **kwargs))
    ref = _outcome(lambda: torch.testing.assert_close(*theirs, **kwargs))
    if ref is None:
        assert ours is None
        return
    assert ours is not None, ref
    # Our errors are the builtins torch raises (ArgumentError is a ValueError...).
    assert issubclass(ours[0], ref[0])
    expected = (
        ref[1]
        .replace("torch.", "tapegrad.")
        .replace("<class 'tapegrad.Tensor'>", "<class 'tapegrad.Tensor'>")
    )
    assert ours[1] == expected


def test_parameters_compare_with_tensors_unless_subclasses_are_refused():
    p = tg.nn.Parameter(tg.ones(2))
    assert_close(p, tg.ones(2))
    with pytest.raises(TypeError, match="No comparison pair"):
        assert_close(p, tg.ones(2), allow_subclasses=False)


def test_check_stride_compares_strides():
    x = tg.zeros(2, 3)
    assert_close(x.t(), tg.zeros(3, 2))
    with pytest.raises(AssertionError, match=r"'stride\(\)' do not match"):
        assert_close(x.t(), tg.zeros(3, 2), check_stride=True)
