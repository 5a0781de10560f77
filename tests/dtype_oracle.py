"""The OpSpec table's dtype axis: every op on every bool and integer dtype.

Each OpSpec sample is run with its float inputs turned into bool/uint8/int8/int16/int32/int64
tensors. PyTorch decides what should happen: the op is refused (an error) or it returns a
tensor of some dtype. ``tests/data/op_dtypes.json`` records PyTorch's answers (written by
``python tools/gen_op_dtypes.py`` with torch installed), so the test checks tapegrad's
accept/refuse decisions and result dtypes without torch, and its values against torch when
torch is installed.

PyTorch runs the *same* OpSpec functions: ``op_specs`` calls tapegrad through its module
global ``tg``, and :func:`torch_result` points that global at ``torch`` for the call. A spec
written with a tapegrad-only name (``tg._native._linear``) cannot run that way; the table
records it as ``"untranslatable"`` and the test checks only that tapegrad's answer is a
result or a clear dtype error.
"""

from __future__ import annotations

import types
import warnings
from typing import Any

import numpy as np

import op_specs
from op_specs import OPS, OpSpec, Sample, make_arrays

NON_FLOAT = ("bool", "uint8", "int8", "int16", "int32", "int64")
UNTRANSLATABLE = "untranslatable"
RAISES = "raises"


def case_key(spec: OpSpec, index: int) -> str:
    return f"{spec.id}/{index}"


def cases() -> list[tuple[str, OpSpec, int, Sample]]:
    return [
        (case_key(spec, i), spec, i, sample)
        for spec in OPS
        for i, sample in enumerate(spec.samples)
    ]


def arrays_of(spec: OpSpec, sample: Sample, dtype: str) -> list[np.ndarray]:
    """The sample's inputs in ``dtype``: the float samples scaled by 3 and rounded (so
    small integers of both signs, and both truth values for bool)."""
    floats = make_arrays(spec, sample, np.float64, f"{spec.id}/{sample.label()}")
    out = []
    for a in floats:
        a = np.asarray(a) * 3
        if dtype == "float64":
            out.append(a)
        elif dtype == "bool":
            out.append(a > 0)
        elif dtype == "uint8":
            out.append(np.abs(np.round(a)).astype(np.uint8))
        else:
            out.append(np.round(a).astype(dtype))
    return out


def _is_translation_failure(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, AttributeError) or "tapegrad" in text


class _TorchAsTapegrad(types.SimpleNamespace):
    """``torch`` under tapegrad's spelling: the few tapegrad-only names the specs use map to
    their PyTorch equivalents, everything else is looked up in ``torch``."""

    def __init__(self, torch: Any) -> None:
        super().__init__(
            _torch=torch,
            _native=types.SimpleNamespace(_linear=torch.nn.functional.linear),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._torch, name)


def torch_result(torch: Any, spec: OpSpec, sample: Sample, dtype: str) -> Any:
    """PyTorch's answer: a tensor, ``RAISES``, or ``UNTRANSLATABLE`` (also when torch
    refuses the sample in float64 too: then the refusal is not about the dtype, and the
    float OpSpec tests are the authority on it)."""
    result = _run_in_torch(torch, spec, sample, dtype)
    if result is RAISES and dtype != "float64":
        if _run_in_torch(torch, spec, sample, "float64") is not RAISES:
            return RAISES
        return UNTRANSLATABLE
    return result


def _run_in_torch(torch: Any, spec: OpSpec, sample: Sample, dtype: str) -> Any:
    tensors = [torch.tensor(a) for a in arrays_of(spec, sample, dtype)]
    saved = op_specs.tg
    op_specs.tg = _TorchAsTapegrad(torch)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = spec.op(*tensors, **sample.kwargs)
    except Exception as error:  # noqa: BLE001 - the oracle's verdict is "it raises"
        return UNTRANSLATABLE if _is_translation_failure(error) else RAISES
    finally:
        op_specs.tg = saved
    out = first_tensor(out)
    if not isinstance(out, torch.Tensor):
        return UNTRANSLATABLE
    return out


def first_tensor(out: Any) -> Any:
    """The first output of ops that return several (values and indices, splits)."""
    while isinstance(out, (tuple, list)) and out:
        out = out[0]
    return out


def verdict(torch: Any, result: Any) -> str:
    """What the table records: the result's dtype name, or the verdict string."""
    if isinstance(result, str):
        return result
    return str(result.dtype).removeprefix("torch.")


def table(torch: Any) -> dict[str, dict[str, str]]:
    return {
        key: {d: verdict(torch, torch_result(torch, spec, sample, d)) for d in NON_FLOAT}
        for key, spec, _, sample in cases()
    }
