"""``tapegrad.backends.cuda``: PyTorch's CUDA switches, for a CPU-only library.

``matmul.allow_tf32`` mirrors :func:`tapegrad.get_float32_matmul_precision` as in
PyTorch (True means ``"high"``); tapegrad's float32 matmuls always run in float32, so
neither changes a result.
"""

from __future__ import annotations

from typing import Any

from .. import _precision

__all__ = ["is_built", "matmul"]


class _MatmulSettings:
    """``tapegrad.backends.cuda.matmul``: ``allow_tf32`` and the reduced-precision
    reduction flags, as attributes (unknown names raise, as PyTorch)."""

    _FLAGS = (
        "allow_tf32",
        "allow_fp16_reduced_precision_reduction",
        "allow_bf16_reduced_precision_reduction",
    )

    def __init__(self) -> None:
        object.__setattr__(self, "_reduced", {name: True for name in self._FLAGS[1:]})

    def __getattr__(self, name: str) -> Any:
        if name == "allow_tf32":
            return _precision.get_float32_matmul_precision() != "highest"
        if name in self._reduced:
            return self._reduced[name]
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "allow_tf32":
            _precision.set_float32_matmul_precision("high" if value else "highest")
        elif name in self._reduced:
            self._reduced[name] = bool(value)
        else:
            raise AttributeError(f"Unknown attribute {name}")

    def __dir__(self) -> list[str]:
        return list(self._FLAGS)


matmul = _MatmulSettings()


def is_built() -> bool:
    """False: tapegrad is not built with CUDA."""
    return False


def __dir__() -> list[str]:
    return sorted(__all__)
