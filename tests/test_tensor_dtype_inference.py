"""``tg.tensor`` / ``tg.as_tensor`` infer the dtype of lists as PyTorch does: each element
has a dtype (Python bool/int/float, NumPy scalar or array, Tensor) and the list gets their
promotion by PyTorch's rules. Checked against ``torch.tensor`` on a table of cases."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

CASES = {
    "np.float64": [np.float64(1.0)],
    "np.float32": [np.float32(1)],
    "np.int32": [np.int32(3)],
    "np.uint8": [np.uint8(1)],
    "np.bool_": [np.bool_(True)],
    "np.float64 + float": [np.float64(1), 2.0],
    "np.int32 + int": [np.int32(3), 2],
    "np.float32 + int": [np.float32(1), 2],
    "np.float32 + float": [np.float32(1), 2.5],
    "np.int8 + np.uint8": [np.int8(1), np.uint8(2)],
    "bool + np.int32": [True, np.int32(1)],
    "np.int16 + float": [np.int16(1), 1.5],
    "np.float64 + np.int32": [np.float64(1), np.int32(1)],
    "np.uint8 + np.int8 + float": [np.uint8(1), np.int8(1), 1.0],
    "nested": [[np.float64(1)], [2.0]],
    "nested ints": [[np.int32(1), np.int32(2)], [np.int16(3), np.int8(4)]],
    "tuple": (np.int32(1), np.int64(2)),
    "int array + list": [np.array([1, 2]), [3, 4]],
    "float32 array + list": [np.array([1, 2], dtype=np.float32), [1.0, 2.0]],
    "ints": [1, 2],
    "int + float": [1, 2.5],
    "bools": [True, False],
    "empty": [],
    "empty nested": [[]],
}


def _torch_data(data):
    if isinstance(data, list):
        return [_torch_data(x) for x in data]
    if isinstance(data, tg.Tensor):
        return torch.from_numpy(data.numpy().copy())
    return data


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy")
@pytest.mark.parametrize("factory", ["tensor", "as_tensor"])
@pytest.mark.parametrize("case", list(CASES))
def test_list_dtype_is_pytorchs(case, factory):
    data = CASES[case]
    made = getattr(tg, factory)(data)
    expected = getattr(torch, factory)(_torch_data(data))
    assert str(made.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(made.numpy(), expected.numpy())


@pytest.mark.parametrize(
    "data",
    [[np.float32(1), 2.0], [np.float32(1), 2], [1.0], [np.int32(1), 0.5]],
    ids=["f32+float", "f32+int", "float", "i32+float"],
)
def test_python_floats_follow_the_default_dtype(data):
    previous = (tg.get_default_dtype(), torch.get_default_dtype())
    tg.set_default_dtype(tg.float64)
    torch.set_default_dtype(torch.float64)
    try:
        made, expected = tg.tensor(data), torch.tensor(data)
    finally:
        tg.set_default_dtype(previous[0])
        torch.set_default_dtype(previous[1])
    assert str(made.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]


def test_tensors_in_a_list_keep_their_dtype():
    made = tg.tensor([tg.tensor(1.0, dtype=tg.float64), 2.0])
    assert made.dtype == tg.float64
    assert tg.tensor([tg.tensor(3, dtype=tg.int32), tg.tensor(1, dtype=tg.int8)]).dtype == (
        tg.int32
    )


def test_float64_scalars_are_not_rounded_to_float32():
    assert tg.tensor([np.float64(0.1)]).item() == 0.1


def test_unsupported_numpy_scalar_in_a_list_raises():
    with pytest.raises(tg.DTypeError):
        tg.tensor([np.float16(1.0)])
