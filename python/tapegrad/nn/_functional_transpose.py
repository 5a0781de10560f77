"""Transposed convolutions, ``unfold`` and ``fold`` of ``tapegrad.nn.functional``.

A transposed convolution is the adjoint of a convolution in its input, which is the map
a convolution's input gradient already computes; the native ``_conv_transpose`` records
that map of the one ``ConvolutionBackward`` primitive, so its derivatives (a convolution
for the input, a correlation for the weight) and second derivatives come with it.

``unfold`` (im2col) is a depthwise convolution with a constant one-hot kernel per tap,
and ``fold`` (col2im) its adjoint, the transposed convolution with the same kernel: both
are one native node whose gradient is the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError, ShapeError

from ._functional_conv import _tuple

__all__ = ["conv_transpose1d", "conv_transpose2d", "fold", "unfold"]


def _conv_transpose(
    op: str,
    n: int,
    input: tg.Tensor,
    weight: tg.Tensor,
    bias: tg.Tensor | None,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
) -> tg.Tensor:
    if weight.ndim != n + 2:
        raise ShapeError(
            f"{op}: weight must be {n + 2}-D (in_channels, out_channels/groups, "
            f"{'kernel' if n == 1 else 'kh, kw'}), got shape {tuple(weight.shape)}"
        )
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    strides = _tuple(stride, n, "stride", op, 1)
    pads = _tuple(padding, n, "padding", op, 0)
    extra = _tuple(output_padding, n, "output_padding", op, 0)
    dilations = _tuple(dilation, n, "dilation", op, 1)
    if n == 1:
        strides, pads = (1, *strides), (0, *pads)
        extra, dilations = (0, *extra), (1, *dilations)
    return _native._conv_transpose(
        input,
        weight,
        bias,
        strides,
        [(p, p) for p in pads],
        extra,
        dilations,
        groups,
    )


def conv_transpose1d(
    input: tg.Tensor,
    weight: tg.Tensor,
    bias: tg.Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
) -> tg.Tensor:
    """1-D transposed convolution ("deconvolution"), as PyTorch's.

    Args:
        input: Input of shape (N, C_in, L) or (C_in, L).
        weight: Filters of shape (C_in, C_out / groups, kernel_size).
        bias: Optional (C_out,) bias.
        stride: Stride of the convolution this transposes.
        padding: ``dilation * (kernel_size - 1) - padding`` zeros are effectively
            added on both sides of the input (PyTorch's convention).
        output_padding: Extra length on one side of the output (less than the
            stride or the dilation), to pick among the input sizes that a strided
            convolution maps to the same output size.
        groups: Independent channel blocks.
        dilation: Spacing between kernel taps.

    Returns:
        The (N, C_out, L_out) output, ``L_out = (L - 1) * stride - 2 * padding +
        dilation * (kernel_size - 1) + output_padding + 1``.
    """
    return _conv_transpose(
        "conv_transpose1d",
        1,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def conv_transpose2d(
    input: tg.Tensor,
    weight: tg.Tensor,
    bias: tg.Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] = 0,
    output_padding: int | tuple[int, ...] = 0,
    groups: int = 1,
    dilation: int | tuple[int, ...] = 1,
) -> tg.Tensor:
    """2-D transposed convolution, as PyTorch's (arguments as :func:`conv_transpose1d`).

    Args:
        input: Input of shape (N, C_in, H, W) or (C_in, H, W).
        weight: Filters of shape (C_in, C_out / groups, kH, kW).
        bias: Optional (C_out,) bias.
        stride: Int or (sH, sW).
        padding: Int or (pH, pW).
        output_padding: Int or (oH, oW).
        groups: Independent channel blocks.
        dilation: Int or (dH, dW).

    Returns:
        The (N, C_out, H_out, W_out) output.
    """
    return _conv_transpose(
        "conv_transpose2d",
        2,
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
    )


def _tap_kernel(channels: int, kernel: tuple[int, ...], dtype: Any) -> tg.Tensor:
    """``(channels · kh · kw, 1, kh, kw)``: filter ``c · kh · kw + t`` is one at tap t."""
    taps = kernel[0] * kernel[1]
    eye = np.eye(taps).reshape(taps, 1, *kernel)
    return tg.tensor(np.tile(eye, (channels, 1, 1, 1)), dtype=dtype)


def _fold_arguments(
    op: str, kernel_size: Any, dilation: Any, padding: Any, stride: Any
) -> tuple[tuple[int, ...], ...]:
    return (
        _tuple(kernel_size, 2, "kernel_size", op, 1),
        _tuple(dilation, 2, "dilation", op, 1),
        _tuple(padding, 2, "padding", op, 0),
        _tuple(stride, 2, "stride", op, 1),
    )


def unfold(
    input: tg.Tensor,
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> tg.Tensor:
    """Sliding local blocks of a batched image as columns (im2col), as PyTorch's.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: Block size, int or (kH, kW).
        dilation: Spacing between block elements.
        padding: Zeros added on both sides of each spatial axis.
        stride: Step between blocks.

    Returns:
        (N, C · kH · kW, L) (no N for unbatched input), L the number of blocks; row
        ``c · kH · kW + i · kW + j`` holds tap (i, j) of channel c.
    """
    kernel, dilations, pads, strides = _fold_arguments(
        "unfold", kernel_size, dilation, padding, stride
    )
    if input.ndim not in (3, 4):
        raise ShapeError(
            f"unfold: expected a 3-D or 4-D input, got shape {tuple(input.shape)}"
        )
    channels = input.shape[-3]
    weight = _tap_kernel(channels, kernel, input.dtype)
    blocks = _native._conv(
        input, weight, None, strides, [(p, p) for p in pads], dilations, channels
    )
    return blocks.flatten(-2)


def fold(
    input: tg.Tensor,
    output_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> tg.Tensor:
    """Sums columns of sliding blocks back into an image (col2im), as PyTorch's.

    The adjoint of :func:`unfold`: overlapping entries add up.

    Args:
        input: (N, C · kH · kW, L) or (C · kH · kW, L).
        output_size: Spatial size (H, W) of the image.
        kernel_size: Block size, int or (kH, kW).
        dilation: Spacing between block elements.
        padding: Zeros added on both sides of each spatial axis (dropped again).
        stride: Step between blocks.

    Returns:
        (N, C, H, W) (no N for unbatched input).
    """
    kernel, dilations, pads, strides = _fold_arguments(
        "fold", kernel_size, dilation, padding, stride
    )
    size = _tuple(output_size, 2, "output_size", "fold", 1)
    if input.ndim not in (2, 3):
        raise ShapeError(
            f"fold: expected a 2-D or 3-D input, got shape {tuple(input.shape)}"
        )
    taps = kernel[0] * kernel[1]
    rows, length = input.shape[-2], input.shape[-1]
    blocks = [
        (size[a] + 2 * pads[a] - dilations[a] * (kernel[a] - 1) - 1) // strides[a] + 1
        for a in range(2)
    ]
    if rows % taps or blocks[0] < 1 or blocks[1] < 1 or blocks[0] * blocks[1] != length:
        raise ShapeError(
            f"fold: input {tuple(input.shape)} does not fit output_size {size}, "
            f"kernel_size {kernel}, dilation {dilations}, padding {pads} and stride "
            f"{strides}: expected {taps}·C rows and {max(blocks[0], 0)}·"
            f"{max(blocks[1], 0)} = {max(blocks[0], 0) * max(blocks[1], 0)} blocks"
        )
    channels = rows // taps
    images = input.unflatten(-1, tuple(blocks))
    # The transposed convolution's output is one of `stride` sizes; pick output_size.
    extra = [
        size[a]
        - ((blocks[a] - 1) * strides[a] - 2 * pads[a] + dilations[a] * (kernel[a] - 1))
        - 1
        for a in range(2)
    ]
    weight = _tap_kernel(channels, kernel, input.dtype)
    return _native._conv_transpose(
        images,
        weight,
        None,
        strides,
        [(p, p) for p in pads],
        extra,
        dilations,
        channels,
    )
