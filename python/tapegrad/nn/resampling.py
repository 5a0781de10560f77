"""Resampling layers with PyTorch's names: upsampling, pixel shuffles, fold/unfold,
adaptive max pooling and max unpooling (each a thin layer over its functional)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tapegrad as tg

from . import functional as F
from .module import Module

__all__ = [
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "Fold",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "PixelShuffle",
    "PixelUnshuffle",
    "Unfold",
    "Upsample",
]


class Upsample(Module):
    """:func:`tapegrad.nn.functional.interpolate` as a layer, as ``torch.nn.Upsample``."""

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.size = size
        self.scale_factor = (
            float(scale_factor)
            if isinstance(scale_factor, (int, float))
            else scale_factor
        )
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """The resized input."""
        return F.interpolate(
            input,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        what = (
            f"scale_factor={self.scale_factor!r}"
            if self.scale_factor is not None
            else f"size={self.size!r}"
        )
        return f"{what}, mode={self.mode!r}"


class PixelShuffle(Module):
    """:func:`tapegrad.nn.functional.pixel_shuffle` as a layer."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """(*, C·r², H, W) to (*, C, H·r, W·r)."""
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """:func:`tapegrad.nn.functional.pixel_unshuffle` as a layer."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """(*, C, H·r, W·r) to (*, C·r², H, W)."""
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class Unfold(Module):
    """:func:`tapegrad.nn.functional.unfold` (im2col) as a layer."""

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """(N, C, H, W) to (N, C·kH·kW, L)."""
        return F.unfold(
            input, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )


class Fold(Unfold):
    """:func:`tapegrad.nn.functional.fold` (col2im) as a layer."""

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """(N, C·kH·kW, L) to (N, C, H, W), overlaps summed."""
        return F.fold(
            input,
            self.output_size,
            self.kernel_size,
            self.dilation,
            self.padding,
            self.stride,
        )

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, " + super().extra_repr()


class _AdaptiveMaxPoolNd(Module):
    _fn: Any = None

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def forward(self, input: tg.Tensor) -> Any:
        """The pooled input (and the int64 indices with ``return_indices``)."""
        return type(self)._fn(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """:func:`tapegrad.nn.functional.adaptive_max_pool1d` as a layer."""

    _fn = staticmethod(F.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """:func:`tapegrad.nn.functional.adaptive_max_pool2d` as a layer."""

    _fn = staticmethod(F.adaptive_max_pool2d)


class _MaxUnpoolNd(Module):
    _fn: Any = None

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def forward(
        self,
        input: tg.Tensor,
        indices: tg.Tensor,
        output_size: Sequence[int] | None = None,
    ) -> tg.Tensor:
        """``input`` written at ``indices`` into zeros of the unpooled size."""
        return type(self)._fn(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}"
        )


class MaxUnpool1d(_MaxUnpoolNd):
    """:func:`tapegrad.nn.functional.max_unpool1d` as a layer."""

    _fn = staticmethod(F.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """:func:`tapegrad.nn.functional.max_unpool2d` as a layer."""

    _fn = staticmethod(F.max_unpool2d)
