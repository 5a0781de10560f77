"""``tapegrad.Size``: shapes as a tuple subclass, as ``torch.Size``."""

from __future__ import annotations

import copy
import pickle

import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")


def _ours(text: str) -> str:
    return text.replace("torch.", "tapegrad.")


def test_shape_and_size_return_a_size():
    x = tg.zeros(3, 4)
    for shape in (x.shape, x.size(), x.t().shape, x[1:].shape, x.sum().shape):
        assert type(shape) is tg.Size
    assert x.size(1) == 4 and type(x.size(1)) is int
    assert x.shape == (3, 4) and (3, 4) == x.shape and x.shape == tg.Size([3, 4])
    assert x.shape != (4, 3) and x.shape != [3, 4]
    assert hash(x.shape) == hash((3, 4))
    rows, cols = x.shape
    assert (rows, cols) == (3, 4)


@pytest.mark.parametrize("dims", [[], [5], [3, 4], [2, 0, 3], [1, 1, 1, 1]])
def test_size_behaves_as_torch_size(dims):
    mine, theirs = tg.Size(dims), torch.Size(dims)
    assert repr(mine) == _ours(repr(theirs)) and str(mine) == _ours(str(theirs))
    assert mine.numel() == theirs.numel()
    assert tuple(mine) == tuple(theirs) and len(mine) == len(theirs)
    assert repr(tg.zeros(dims).shape) == _ours(repr(torch.zeros(dims).shape))
    for piece in (slice(None), slice(1, None), slice(None, None, -1), slice(0, 0)):
        assert type(mine[piece]) is tg.Size
        assert tuple(mine[piece]) == tuple(theirs[piece])
    for other in ((7,), tg.Size([7])):
        assert type(mine + other) is tg.Size and type(other + mine) is tg.Size
        assert tuple(mine + other) == tuple(theirs + tuple(other))
        assert tuple(other + mine) == tuple(tuple(other) + theirs)
    assert type(mine * 2) is tg.Size and type(2 * mine) is tg.Size
    assert tuple(mine * 2) == tuple(theirs * 2)


def test_size_items_are_ints_and_bad_items_raise_as_torch():
    assert tg.Size([tg.tensor(2), 3]) == (2, 3)
    assert type(tg.Size([tg.tensor(2)])[0]) is int
    for bad in ([1.5], ["a"], [None]):
        with pytest.raises(TypeError) as ours:
            tg.Size(bad)
        with pytest.raises(TypeError) as theirs:
            torch.Size(bad)
        assert str(ours.value) == _ours(str(theirs.value))
    with pytest.raises(TypeError, match="not iterable"):
        tg.Size(3)


def test_size_pickles_and_copies_as_itself():
    size = tg.zeros(2, 5).shape
    for copied in (
        pickle.loads(pickle.dumps(size)),
        copy.deepcopy(size),
        copy.copy(size),
    ):
        assert type(copied) is tg.Size and copied == (2, 5)
    assert b"tapegrad" in pickle.dumps(size) and b"Size" in pickle.dumps(size)


def test_a_size_is_accepted_where_shapes_are():
    x = tg.arange(6.0)
    shape = tg.Size([2, 3])
    assert x.reshape(shape).shape == shape
    assert x.view(shape).shape == shape
    assert tg.zeros(shape).shape == shape
    assert tg.ones(shape).shape == shape
    assert tg.full(shape, 1.0).shape == shape
    assert tg.zeros(2, 1).expand(shape).shape == shape
    assert x.new_zeros(shape).shape == shape


def test_broadcast_shapes_and_vmapped_shapes_are_sizes():
    assert type(tg.broadcast_shapes((2, 1), (3,))) is tg.Size
    assert tg.broadcast_shapes((2, 1), (3,)) == torch.broadcast_shapes((2, 1), (3,))
    seen = []

    def record(row):
        seen.append(row.shape)
        return row * 2

    tg.func.vmap(record)(tg.zeros(4, 3))
    assert type(seen[0]) is tg.Size and seen[0] == (3,)
