"""Integer and bool dtypes: names, inference, casts, promotion, autograd rules, files.

The promotion tables below are PyTorch's (``torch.promote_types`` and
``torch.result_type``), committed so that the suite checks them without torch; when
torch is installed the same pairs are also checked against it.
"""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64"]
DTYPES = [getattr(tg, n) for n in NAMES]
SHORT = dict(zip(["b1", "u1", "i1", "i2", "i4", "i8", "f4", "f8"], NAMES, strict=True))

# torch.promote_types(row, column)
PROMOTE = """
    b1 u1 i1 i2 i4 i8 f4 f8
b1  b1 u1 i1 i2 i4 i8 f4 f8
u1  u1 u1 i2 i2 i4 i8 f4 f8
i1  i1 i2 i1 i2 i4 i8 f4 f8
i2  i2 i2 i2 i2 i4 i8 f4 f8
i4  i4 i4 i4 i4 i4 i8 f4 f8
i8  i8 i8 i8 i8 i8 i8 f4 f8
f4  f4 f4 f4 f4 f4 f4 f4 f8
f8  f8 f8 f8 f8 f8 f8 f8 f8
"""

# torch.result_type(1-d tensor of row, 0-d tensor of column)
WITH_ZERO_DIM = """
    b1 u1 i1 i2 i4 i8 f4 f8
b1  b1 u1 i1 i2 i4 i8 f4 f8
u1  u1 u1 u1 u1 u1 u1 f4 f8
i1  i1 i1 i1 i1 i1 i1 f4 f8
i2  i2 i2 i2 i2 i2 i2 f4 f8
i4  i4 i4 i4 i4 i4 i4 f4 f8
i8  i8 i8 i8 i8 i8 i8 f4 f8
f4  f4 f4 f4 f4 f4 f4 f4 f4
f8  f8 f8 f8 f8 f8 f8 f8 f8
"""

# torch.result_type(1-d tensor of row, Python True / 3 / 2.5), default dtype float32
WITH_NUMBER = """
    bool int float
b1  b1   i8  f4
u1  u1   u1  f4
i1  i1   i1  f4
i2  i2   i2  f4
i4  i4   i4  f4
i8  i8   i8  f4
f4  f4   f4  f4
f8  f8   f8  f8
"""
NUMBERS = {"bool": True, "int": 3, "float": 2.5}


def _table(text: str) -> dict[tuple[str, str], str]:
    lines = [line.split() for line in text.strip().splitlines()]
    columns = lines[0]
    return {
        (SHORT[row[0]], SHORT.get(col, col)): SHORT[cell]
        for row in lines[1:]
        for col, cell in zip(columns, row[1:], strict=True)
    }


def _sample(name: str) -> tg.Tensor:
    """[1, 0, 1] in dtype ``name`` (values every dtype holds exactly)."""
    return tg.tensor([1, 0, 1], dtype=getattr(tg, name))


# ---------------------------------------------------------------- dtype objects


def test_dtype_objects_and_aliases():
    sizes = [1, 1, 1, 2, 4, 8, 4, 8]
    for dtype, name, size in zip(DTYPES, NAMES, sizes, strict=True):
        assert dtype.name == name and dtype.itemsize == size
        assert repr(dtype) == f"tapegrad.{name}"
        assert dtype.is_floating_point == name.startswith("float")
        assert dtype.is_signed == (name not in ("bool", "uint8"))
    assert tg.long == tg.int64 and tg.int == tg.int32 and tg.short == tg.int16
    assert tg.float == tg.float32 and tg.double == tg.float64
    assert tg.tensor([1, 2], dtype="long").dtype == tg.int64


@pytest.mark.parametrize("name", ["float16", "bfloat16", "complex64", "half"])
def test_unsupported_dtypes_raise_dtype_error(name):
    with pytest.raises(tg.DTypeError, match=f"{name} is not supported"):
        getattr(tg, name)
    with pytest.raises(tg.DTypeError, match="not supported"):
        tg.tensor([1.0], dtype=name)


def test_iinfo_and_finfo():
    assert (tg.iinfo(tg.int8).min, tg.iinfo(tg.int8).max) == (-128, 127)
    assert tg.iinfo(tg.int64).max == 2**63 - 1 and tg.iinfo(tg.uint8).bits == 8
    assert tg.finfo(tg.float32).eps == float(np.finfo(np.float32).eps)
    assert tg.finfo().bits == 32 and tg.finfo(tg.float64).max == np.finfo(float).max
    with pytest.raises(tg.DTypeError, match="not an integer dtype"):
        tg.iinfo(tg.float32)
    with pytest.raises(tg.DTypeError, match="not a floating dtype"):
        tg.finfo(tg.int32)


# ---------------------------------------------------------------- inference, creation


def test_inference_follows_pytorch():
    assert tg.tensor([1, 2]).dtype == tg.int64
    assert tg.tensor(3).dtype == tg.int64 and isinstance(tg.tensor(3).item(), int)
    assert tg.tensor([True, False]).dtype == tg.bool
    assert tg.tensor([True, 2]).dtype == tg.int64
    assert tg.tensor([1, 2.5]).dtype == tg.float32
    assert tg.tensor([]).dtype == tg.float32
    for name in NAMES:
        assert tg.tensor(np.zeros(2, dtype=name)).dtype.name == name
        assert tg.from_numpy(np.ones((2, 2), dtype=name)).dtype.name == name
    assert tg.tensor(np.int32(4)).dtype == tg.int32
    assert tg.tensor(tg.tensor([1], dtype=tg.int16)).dtype == tg.int16


def test_integers_stay_exact():
    big = [2**24 + 1, 2**60 + 3, -(2**63)]
    assert tg.tensor(big).tolist() == big
    assert tg.tensor([16777217]).tolist() == [16777217]


@pytest.mark.parametrize("bad", ["float16", "complex64", "uint16", "object"])
def test_unsupported_numpy_dtypes_raise(bad):
    data = np.array([1, 2], dtype=bad)
    with pytest.raises(tg.DTypeError, match="not supported|expected numbers"):
        tg.tensor(data)


def test_default_dtype():
    assert tg.get_default_dtype() == tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert tg.tensor([1.5]).dtype == tg.float64
        assert tg.zeros(2).dtype == tg.float64
        assert tg.result_type(tg.tensor([1, 2]), 2.5) == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)
    with pytest.raises(tg.DTypeError, match="only floating point dtypes"):
        tg.set_default_dtype(tg.int64)


def test_creation_functions_take_every_dtype():
    assert tg.arange(5).dtype == tg.int64 and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(0, 1, 0.5).dtype == tg.float32
    assert tg.arange(5, dtype=tg.float64).dtype == tg.float64
    assert tg.full((2,), 7).dtype == tg.int64 and tg.full((2,), 7).tolist() == [7, 7]
    assert tg.full((2,), True).dtype == tg.bool
    assert tg.full((2,), 1.5).dtype == tg.float32
    assert tg.full((1,), 2**62 + 1).tolist() == [2**62 + 1]
    for dtype in DTYPES:
        for make in (tg.zeros, tg.ones, tg.empty):
            t = make(2, 3, dtype=dtype)
            assert t.dtype == dtype and t.shape == (2, 3)
        like = tg.zeros(2, dtype=dtype)
        for make_like in (tg.zeros_like, tg.ones_like, tg.empty_like):
            assert make_like(like).dtype == dtype
        assert tg.full_like(like, 1).dtype == dtype
    assert tg.ones(2, dtype=tg.bool).tolist() == [True, True]
    assert tg.empty(2, 2).dtype == tg.float32


@pytest.mark.parametrize("make", [tg.rand, tg.randn])
def test_random_floats_refuse_integer_dtypes(make):
    with pytest.raises(tg.DTypeError, match="rand.*int64"):
        make(3, dtype=tg.int64)


# ---------------------------------------------------------------- conversions


def test_casts_follow_pytorch():
    x = tg.tensor([-1.7, 2.9, 0.0, -0.2])
    assert x.long().tolist() == [-1, 2, 0, 0]  # truncation toward zero
    assert x.bool().tolist() == [True, True, False, True]
    assert tg.tensor([float("nan")]).bool().tolist() == [True]
    assert tg.tensor([-1, 256, 200]).to(tg.uint8).tolist() == [255, 0, 200]
    assert tg.tensor([200, -129]).to(tg.int8).tolist() == [-56, 127]
    assert tg.tensor([True, False]).float().tolist() == [1.0, 0.0]
    assert tg.tensor([3]).double().dtype == tg.float64
    t = tg.tensor([1, 2])
    assert t.int().dtype == tg.int32 and t.short().dtype == tg.int16
    assert t.byte().dtype == tg.uint8 and t.char().dtype == tg.int8
    assert t.type(tg.int16).dtype == tg.int16 and t.type() == "tapegrad.LongTensor"
    assert tg.tensor([1.0]).type() == "tapegrad.FloatTensor"
    for a in DTYPES:
        for b in DTYPES:
            assert _sample(a.name).to(b).dtype == b
            assert _sample(a.name).to(b).tolist() == _sample(b.name).tolist()


def test_item_tolist_numpy_keep_python_types():
    assert tg.tensor(True).item() is True
    assert type(tg.tensor(5).item()) is int and type(tg.tensor(5.0).item()) is float
    assert tg.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert type(tg.tensor([1]).tolist()[0]) is int
    assert [10, 20, 30][tg.tensor(1)] == 20 and int(tg.tensor(2.7)) == 2
    for name in NAMES:
        t = tg.zeros(3, dtype=getattr(tg, name))
        assert t.numpy().dtype == np.dtype(name) and np.asarray(t).dtype == name
    with pytest.raises(tg.DTypeError, match="integer tensors"):
        [1, 2][tg.tensor(0.0)]


def test_repr_shows_dtype_like_pytorch():
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tg.tensor([True, False])) == "tensor([ True, False])"
    assert (
        repr(tg.tensor([1, 2], dtype=tg.int32))
        == "tensor([1, 2], dtype=tapegrad.int32)"
    )
    assert repr(tg.tensor([1.5])) == "tensor([1.5000])"  # PyTorch prints 4 digits
    assert "dtype=tapegrad.float64" in repr(tg.tensor([1.5], dtype=tg.float64))


# ---------------------------------------------------------------- autograd


@pytest.mark.parametrize("name", NAMES[:6])
def test_only_floating_tensors_require_grad(name):
    message = "only Tensors of floating point dtype can require gradients"
    with pytest.raises(tg.DTypeError, match=message):
        tg.tensor([1, 2], dtype=getattr(tg, name), requires_grad=True)
    with pytest.raises(tg.DTypeError, match=message):
        tg.zeros(2, dtype=getattr(tg, name)).requires_grad_()
    with pytest.raises(tg.DTypeError, match=message):
        tg.ones(2, dtype=getattr(tg, name), requires_grad=True)


def test_integer_results_record_no_node():
    x = tg.tensor([1.5, -2.5], requires_grad=True)
    i = x.long()
    assert i.dtype == tg.int64 and not i.requires_grad and i.grad_fn is None
    assert i[0].grad_fn is None and i.reshape(2, 1).grad_fn is None
    back = i.float()  # an integer input is a constant: no path back to x
    assert not back.requires_grad
    y = (x * 2).sum()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_unary_primitives_on_integers_compute_promote_or_refuse_by_name():
    # Every unary primitive computes in the integer dtype, promotes to the default float
    # dtype, or refuses naming the op and dtype (values: tests/test_integer_ops.py).
    unary = [
        row["api"][0] for row in tg._native._primitives() if row["family"] == "unary"
    ]
    assert "exp" in unary
    for name in NAMES[:6]:
        t = _sample(name)
        for op in unary:
            try:
                out = getattr(t, op)()
            except tg.DTypeError as e:
                assert op in str(e) and name in str(e).lower(), str(e)
            else:
                assert out.dtype in (t.dtype, tg.float32, tg.int64), (op, name)
                assert out.grad_fn is None
    assert (tg.tensor([1, 2]) + tg.tensor([3, 4])).tolist() == [4, 6]
    assert (tg.tensor([[1]]) @ tg.tensor([[2]])).tolist() == [[2]]  # exact, as PyTorch
    with pytest.raises(tg.DTypeError, match="matmul.*bool"):
        tg.tensor([[True]]) @ tg.tensor([[True]])


def test_mixed_float_and_integer_operands_promote():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    labels = tg.tensor([3, 4])
    y = x * labels  # int64 tensor promotes to float32, and is a constant
    assert y.dtype == tg.float32 and y.tolist() == [3.0, 8.0]
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 4.0]
    assert (tg.tensor([1, 2]) + 0.5).tolist() == [1.5, 2.5]
    assert (tg.tensor([1.0]) + tg.tensor(2, dtype=tg.float64)).dtype == tg.float32


# ---------------------------------------------------------------- promotion


def test_promote_types_table():
    table = _table(PROMOTE)
    for a in NAMES:
        for b in NAMES:
            expected = table[(a, b)]
            assert tg.promote_types(getattr(tg, a), getattr(tg, b)).name == expected


def test_result_type_tables():
    zero_dim, number = _table(WITH_ZERO_DIM), _table(WITH_NUMBER)
    for a in NAMES:
        for b in NAMES:
            other = tg.tensor(1, dtype=getattr(tg, b))
            assert tg.result_type(_sample(a), other).name == zero_dim[(a, b)], (a, b)
            # two dimensioned tensors follow promote_types
            expected = _table(PROMOTE)[(a, b)]
            assert tg.result_type(_sample(a), _sample(b)).name == expected
        for kind, value in NUMBERS.items():
            assert tg.result_type(_sample(a), value).name == number[(a, kind)], (
                a,
                kind,
            )


def test_can_cast():
    assert tg.can_cast(tg.int64, tg.float32) and tg.can_cast(tg.float64, tg.float32)
    assert tg.can_cast(tg.bool, tg.uint8) and tg.can_cast(tg.int64, tg.int8)
    assert not tg.can_cast(tg.float32, tg.int64)
    assert not tg.can_cast(tg.int32, tg.bool) and not tg.can_cast(tg.float32, tg.bool)


def test_cat_promotes_every_pair():
    table = _table(PROMOTE)
    for a in NAMES:
        for b in NAMES:
            out = tg.cat([_sample(a), _sample(b)])
            assert out.dtype.name == table[(a, b)], (a, b)
            assert out.tolist() == _sample(table[(a, b)]).tolist() * 2


def test_promotion_matches_torch():
    torch = pytest.importorskip("torch")
    for a in NAMES:
        ta = torch.tensor([1, 0, 1]).to(getattr(torch, a))
        for b in NAMES:
            tb = getattr(torch, b)
            assert str(torch.promote_types(getattr(torch, a), tb))[6:] == (
                tg.promote_types(getattr(tg, a), getattr(tg, b)).name
            )
            zero = torch.tensor(1).to(tb)
            ours = tg.result_type(_sample(a), tg.tensor(1, dtype=getattr(tg, b)))
            assert str(torch.result_type(ta, zero))[6:] == ours.name
            assert str(torch.can_cast(getattr(torch, a), tb)) == str(
                tg.can_cast(getattr(tg, a), getattr(tg, b))
            )
        for value in NUMBERS.values():
            expected = str(torch.result_type(ta, value))[6:]
            assert tg.result_type(_sample(a), value).name == expected


# ---------------------------------------------------------------- files


def test_save_load_round_trips_every_dtype(tmp_path):
    state = {name: _sample(name) for name in NAMES}
    state["array"] = np.array([1, 2], dtype=np.int32)
    tg.save(state, tmp_path / "all.safetensors")
    back = tg.load(tmp_path / "all.safetensors")
    for name in NAMES:
        assert back[name].dtype.name == name and back[name].tolist() == [1, 0, 1]
    assert isinstance(back["array"], np.ndarray) and back["array"].dtype == np.int32


def test_load_keeps_dtypes_of_foreign_safetensors_files(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    arrays = {name: np.array([1, 0], dtype=name) for name in NAMES}
    arrays["half"] = np.array([1.5], dtype=np.float16)
    path = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file(arrays, str(path))
    back = tg.load(path)
    for name in NAMES:
        assert back[name].dtype.name == name
    assert back["half"].dtype == tg.float32
