"""``set_float32_matmul_precision``: PyTorch's setting, validated and recorded.

tapegrad computes float32 matmuls in float32 whatever the setting (there is no TF32
or bfloat16 path on the CPU), so it never changes a result; scripts that set it run.
"""

from __future__ import annotations

import warnings

__all__ = ["get_float32_matmul_precision", "set_float32_matmul_precision"]

_PRECISIONS = ("highest", "high", "medium")
_precision = "highest"


def set_float32_matmul_precision(precision: str) -> None:
    """Records ``"highest"``, ``"high"`` or ``"medium"``; another value warns and
    changes nothing, as in PyTorch."""
    global _precision
    if precision not in _PRECISIONS:
        warnings.warn(
            f"{precision} is not one of 'highest', 'high', or 'medium'; the current "
            "set_float32_matmul_precision call has no effect.",
            UserWarning,
            stacklevel=2,
        )
        return
    _precision = precision


def get_float32_matmul_precision() -> str:
    """The recorded precision (``"highest"`` until set)."""
    return _precision
