"""Pooling, padding and reshaping layers with PyTorch's names and arguments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError

from . import functional as F
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "ConstantPad1d",
    "ConstantPad2d",
    "MaxPool1d",
    "MaxPool2d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "Unflatten",
    "ZeroPad2d",
]


class _MaxPoolNd(Module):
    _fn: Any = None

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input: tg.Tensor) -> Any:
        """The pooled input (and the indices with ``return_indices``)."""
        return type(self)._fn(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, "
            f"ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """:func:`tapegrad.nn.functional.max_pool1d` as a layer."""

    _fn = staticmethod(F.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """:func:`tapegrad.nn.functional.max_pool2d` as a layer."""

    _fn = staticmethod(F.max_pool2d)


class AvgPool1d(Module):
    """:func:`tapegrad.nn.functional.avg_pool1d` as a layer."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """The window means of ``input``."""
        return F.avg_pool1d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}"
        )


class AvgPool2d(Module):
    """:func:`tapegrad.nn.functional.avg_pool2d` as a layer."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """The window means of ``input``."""
        return F.avg_pool2d(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}"
        )


class AdaptiveAvgPool1d(Module):
    """:func:`tapegrad.nn.functional.adaptive_avg_pool1d` as a layer."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """``input`` averaged down to ``output_size``."""
        return F.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """:func:`tapegrad.nn.functional.adaptive_avg_pool2d` as a layer."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """``input`` averaged down to ``output_size``."""
        return F.adaptive_avg_pool2d(input, self.output_size)


def _pairs(padding: Any, dims: int, name: str) -> tuple[int, ...]:
    if isinstance(padding, int) and not isinstance(padding, bool):
        return (padding,) * (2 * dims)
    if isinstance(padding, Sequence) and len(padding) == 2 * dims:
        return tuple(padding)
    raise ArgumentError(
        f"{name}: padding must be an int or a tuple of {2 * dims} ints, got {padding!r}"
    )


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding: Any, value: float = 0.0) -> None:
        super().__init__()
        self.padding = _pairs(padding, self._dims, type(self).__name__)
        self.value = value

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """``input`` padded."""
        return F.pad(input, self.padding, self._mode, self.value)

    def extra_repr(self) -> str:
        text = f"{self.padding}"
        return text + (f", value={self.value}" if self._mode == "constant" else "")


class ConstantPad1d(_PadNd):
    """Pads the last dimension with ``value``: ``padding`` int or (left, right)."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(ConstantPad1d):
    """Pads the last two dimensions with ``value``: (left, right, top, bottom)."""

    _dims = 2


class ZeroPad2d(_PadNd):
    """Pads the last two dimensions with zeros: (left, right, top, bottom)."""

    _dims = 2

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)


class ReflectionPad1d(_PadNd):
    """Mirrors the last dimension about its edges (edge not repeated)."""

    _mode = "reflect"

    def __init__(self, padding: Any) -> None:
        super().__init__(padding)


class ReflectionPad2d(ReflectionPad1d):
    """Mirrors the last two dimensions about their edges."""

    _dims = 2


class ReplicationPad1d(_PadNd):
    """Repeats the edge of the last dimension."""

    _mode = "replicate"

    def __init__(self, padding: Any) -> None:
        super().__init__(padding)


class ReplicationPad2d(ReplicationPad1d):
    """Repeats the edges of the last two dimensions."""

    _dims = 2


class Unflatten(Module):
    """Splits dimension ``dim`` into ``unflattened_size``, as ``torch.nn.Unflatten``."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim = dim
        self.unflattened_size = tuple(unflattened_size)

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """``input`` with dimension ``dim`` split."""
        shape = list(input.shape)
        dim = self.dim % input.ndim if input.ndim else 0
        return input.reshape(*shape[:dim], *self.unflattened_size, *shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
