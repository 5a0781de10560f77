"""PyTorch's legacy tensor types (``tg.FloatTensor`` ...) and ``Tensor.type()``."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

NAMES = [
    "FloatTensor",
    "DoubleTensor",
    "LongTensor",
    "IntTensor",
    "ShortTensor",
    "CharTensor",
    "ByteTensor",
    "BoolTensor",
]


def _same(mine: tg.Tensor, theirs: torch.Tensor) -> None:
    assert mine.dtype.name == str(theirs.dtype).removeprefix("torch.")
    assert tuple(mine.shape) == tuple(theirs.shape)
    np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", NAMES)
def test_constructors_take_data_or_sizes_as_torch(name):
    mine, theirs = getattr(tg, name), getattr(torch, name)
    for data in ([1.7, 2.5, 0.0], [[1, 0], [3, 4]], [True, False], (2,), []):
        _same(mine(data), theirs(data))
    _same(mine(np.array([1, 2])), theirs(np.array([1, 2])))
    assert tuple(mine(2, 3).shape) == (2, 3) and mine(2, 3).dtype == mine.dtype
    assert tuple(mine(tg.Size([4, 1])).shape) == (4, 1)
    assert tuple(mine().shape) == (0,)
    assert tuple(mine(2, device="cpu").shape) == (2,)
    assert type(mine([1])) is tg.Tensor


@pytest.mark.parametrize("name", NAMES)
def test_isinstance_checks_the_dtype_as_torch(name):
    legacy = getattr(tg, name)
    for other in NAMES:
        x = getattr(tg, other)([1, 0])
        theirs = getattr(torch, other)([1, 0])
        assert isinstance(x, legacy) == isinstance(theirs, getattr(torch, name))
    assert not isinstance([1.0], legacy) and not isinstance(np.ones(1), legacy)
    assert legacy.dtype == getattr(tg, str(getattr(torch, name).dtype)[6:])
    assert not issubclass(legacy, tg.Tensor) and repr(legacy) == (
        f"<class 'tapegrad.{name}'>"
    )
    assert isinstance(tg.nn.Parameter(tg.ones(1)), tg.FloatTensor)


def test_a_tensor_of_another_dtype_is_refused():
    with pytest.raises(tg.DTypeError, match="LongTensor"):
        tg.LongTensor(tg.ones(2))
    x = tg.tensor([1, 2])
    assert tg.LongTensor(x).numpy().tolist() == [1, 2]


@pytest.mark.parametrize("name", NAMES)
def test_type_names_and_conversions_match_torch(name):
    mine, theirs = tg.tensor([1.5, 2.0, 0.0]), torch.tensor([1.5, 2.0, 0.0])
    for target in (f"torch.{name}", f"tapegrad.{name}", name):
        _same(mine.type(target), theirs.type(f"torch.{name}"))
    _same(mine.type(getattr(tg, name)), theirs.type(getattr(torch, name)))
    converted = mine.type(getattr(tg, name))
    assert (
        converted.type() == "tapegrad." + theirs.type(getattr(torch, name)).type()[6:]
    )
    assert converted.type(name) is converted  # no copy when the type is already right


def test_type_with_dtypes_and_bad_names():
    x = tg.ones(2)
    assert x.type() == "tapegrad.FloatTensor"
    assert x.type(tg.float64).dtype == tg.float64
    assert x.type(dtype=tg.int32, non_blocking=True).dtype == tg.int32
    assert x.type(tg.float32) is x
    with pytest.raises(tg.ArgumentError, match="invalid type: 'foo'"):
        x.type("foo")
    with pytest.raises(ValueError, match="CPUs only"):
        x.type("torch.cuda.FloatTensor")
    with pytest.raises(tg.DTypeError, match="float16"):
        x.type("torch.HalfTensor")
    with pytest.raises(tg.DTypeError, match="bfloat16"):
        x.type("torch.BFloat16Tensor")


def test_half_and_bfloat16_raise_the_dtype_error():
    x = tg.ones(2)
    with pytest.raises(tg.DTypeError, match="tapegrad.float16 is not supported"):
        x.half()
    with pytest.raises(tg.DTypeError, match="tapegrad.bfloat16 is not supported"):
        x.bfloat16()
    with pytest.raises(tg.DTypeError) as from_the_name:
        _ = tg.float16
    with pytest.raises(tg.DTypeError) as from_the_method:
        x.half()
    assert str(from_the_name.value) == str(from_the_method.value)
