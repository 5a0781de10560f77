"""The OpSpec table's dtype axis (issue 11): every op on every bool and integer dtype.

For each OpSpec sample and dtype, ``tests/data/op_dtypes.json`` holds PyTorch's answer (see
``tests/dtype_oracle.py``): the op is refused, or it returns a tensor of a given dtype.
tapegrad must make the same decision: refuse with a tapegrad error that names the dtype, or
return the same dtype, and (when torch is installed) the same values.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from dtype_oracle import (
    NON_FLOAT,
    RAISES,
    UNTRANSLATABLE,
    arrays_of,
    cases,
    first_tensor,
    table,
    torch_result,
)
from op_specs import OPS

try:
    import torch
except ImportError:  # the committed table still decides accept/refuse and dtypes
    torch = None

TABLE_PATH = Path(__file__).parent / "data" / "op_dtypes.json"
TABLE = {
    key: dict(zip(NON_FLOAT, row.split()))
    for key, row in json.loads(TABLE_PATH.read_text()).items()
}
# How a refusal may name the dtype (PyTorch's own messages say "Boolean" for bool).
DTYPE_WORDS = {"bool": ("bool", "boolean")}


# Deliberate differences (README, "Differences from PyTorch"): convolutions and
# im2col take floats only, where PyTorch's CPU build also convolves integers; bools have
# no matrix product anywhere, where PyTorch refuses `mm`/`bmm` of bools but accepts the
# `einsum`/`tensordot` contractions that its kernels route around them.
CONVOLUTIONS = {"conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"}
BOOL_PRODUCTS = {"einsum", "tensordot"}


def _deliberately_refused(spec, sample, dtype) -> bool:
    im2col = spec.name == "unfold" and "kernel_size" in sample.kwargs  # F.unfold
    if spec.name in CONVOLUTIONS or im2col:
        return True
    return dtype == "bool" and spec.name in BOOL_PRODUCTS


def _names_dtype(message: str, dtype: str) -> bool:
    return any(w in message.lower() for w in DTYPE_WORDS.get(dtype, (dtype,)))


def _check(spec, index, sample, dtype) -> str | None:
    """None when tapegrad agrees with PyTorch on this sample and dtype, else why not."""
    expected = TABLE[f"{spec.id}/{index}"][dtype]
    if _deliberately_refused(spec, sample, dtype):
        expected = RAISES
    tensors = [tg.tensor(a) for a in arrays_of(spec, sample, dtype)]
    assert all(t.dtype == getattr(tg, dtype) for t in tensors)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = first_tensor(spec.op(*tensors, **sample.kwargs))
    except tg.TapegradError as error:
        # PyTorch skips some dtype checks when there is nothing to compute (softmax of a
        # (0, 3) int tensor returns it); refusing the dtype there too is consistent.
        empty = any(t.numel() == 0 for t in tensors)
        if expected not in (RAISES, UNTRANSLATABLE) and not (
            empty and isinstance(error, tg.DTypeError)
        ):
            return f"raises {type(error).__name__}: {error}; PyTorch gives {expected}"
        if not _names_dtype(str(error), dtype):
            return f"refuses without naming the dtype: {error}"
        return None
    if expected == RAISES:
        return f"returns {out.dtype}, PyTorch refuses"
    if expected == UNTRANSLATABLE:
        return None
    if str(out.dtype).removeprefix("tapegrad.") != expected:
        return f"returns {out.dtype}, PyTorch returns {expected}"
    if torch is not None:
        ref = torch_result(torch, spec, sample, dtype).numpy()
        got = out.numpy()
        if got.shape != ref.shape or not np.allclose(
            got.astype(np.float64), ref.astype(np.float64), rtol=1e-5, equal_nan=True
        ):
            return f"values differ from PyTorch's:\n{got}\n{ref}"
    return None


@pytest.mark.parametrize("spec", OPS, ids=lambda s: s.id)
def test_every_sample_on_every_non_float_dtype_does_what_pytorch_does(spec):
    problems = [
        f"{spec.id} sample {i} ({sample.label()}) on {dtype}: {why}"
        for i, sample in enumerate(spec.samples)
        for dtype in NON_FLOAT
        if (why := _check(spec, i, sample, dtype)) is not None
    ]
    assert not problems, "\n".join(problems)


# Samples PyTorch refuses in float64 too (a NumPy condition for `where`, negative slice
# steps, `reshape(shape=())` by keyword, `cross` of different ranks, `view` across strides):
# their refusal says nothing about dtypes, and the float tests cover them.
NOT_RUN_BY_TORCH = {"cross", "getitem", "reshape", "view_as", "where"}


def test_the_table_covers_every_sample_and_torch_runs_almost_all_of_them():
    keys = {key for key, *_ in cases()}
    assert keys == set(TABLE), "run python tools/gen_op_dtypes.py"
    untranslatable = {
        k.rsplit("/", 1)[0] for k, row in TABLE.items() if UNTRANSLATABLE in row.values()
    }
    assert untranslatable == NOT_RUN_BY_TORCH


def test_the_table_is_what_the_installed_torch_says():
    if torch is None:
        pytest.skip("torch is not installed; the committed table stands")
    assert {k: dict(v) for k, v in table(torch).items()} == TABLE, (
        "run python tools/gen_op_dtypes.py"
    )
