"""Convolutions of ``tapegrad.nn.functional``: argument handling in PyTorch's forms.

The maths is one native primitive (``ConvolutionBackward``): im2col plus a matrix
product per sample and group, whose VJPs (a transposed convolution for the input, a
correlation for the weight) are the same primitive again, so second derivatives work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError, ShapeError

__all__ = ["conv1d", "conv2d"]


def _tuple(value: Any, n: int, name: str, op: str, minimum: int) -> tuple[int, ...]:
    """``value`` as an ``n``-tuple of ints of at least ``minimum`` (int or sequence)."""
    items = tuple(value) if isinstance(value, Sequence) else (value,) * n
    if len(items) != n or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in items
    ):
        raise ArgumentError(
            f"{op}: {name} must be an int >= {minimum} or a tuple of {n} such ints, "
            f"got {value!r}"
        )
    return items


def _padding(
    padding: Any,
    n: int,
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    op: str,
) -> list[tuple[int, int]]:
    """Per spatial axis (before, after): ints, or PyTorch's ``"same"``/``"valid"``."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * n
        if padding != "same":
            raise ArgumentError(
                f"{op}: padding must be an int, a tuple, 'same' or 'valid', "
                f"got {padding!r}"
            )
        if any(s != 1 for s in stride):
            raise ArgumentError(
                f"{op}: padding='same' is not supported for strided convolutions "
                f"(stride={tuple(stride)})"
            )
        # As PyTorch: the total d·(k-1) split with the extra zero after.
        totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in _tuple(padding, n, "padding", op, 0)]


def _conv(
    op: str,
    n: int,
    input: tg.Tensor,
    weight: tg.Tensor,
    bias: tg.Tensor | None,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
) -> tg.Tensor:
    if weight.ndim != n + 2:
        raise ShapeError(
            f"{op}: weight must be {n + 2}-D (out_channels, in_channels/groups, "
            f"{'kernel' if n == 1 else 'kh, kw'}), got shape {tuple(weight.shape)}"
        )
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ArgumentError(f"{op}: groups must be a positive int, got {groups!r}")
    strides = _tuple(stride, n, "stride", op, 1)
    dilations = _tuple(dilation, n, "dilation", op, 1)
    pads = _padding(padding, n, weight.shape[2:], strides, dilations, op)
    if n == 1:
        strides, dilations, pads = (1, *strides), (1, *dilations), [(0, 0), *pads]
    return _native._conv(input, weight, bias, strides, pads, dilations, groups)


def conv1d(
    input: tg.Tensor,
    weight: tg.Tensor,
    bias: tg.Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> tg.Tensor:
    """1-D cross-correlation over ``(N, C, L)`` (or ``(C, L)``) input, as PyTorch's.

    Args:
        input: Input of shape (N, C_in, L) or (C_in, L).
        weight: Filters of shape (C_out, C_in / groups, kernel_size).
        bias: Optional (C_out,) bias.
        stride: Step between windows.
        padding: Zeros on both sides, or ``"valid"`` (none) or ``"same"`` (output
            as long as the input; stride 1 only).
        dilation: Spacing between kernel taps.
        groups: Independent channel blocks (``groups == C_in`` is depthwise).

    Returns:
        The (N, C_out, L_out) output.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: tg.Tensor,
    weight: tg.Tensor,
    bias: tg.Tensor | None = None,
    stride: int | tuple[int, ...] = 1,
    padding: int | tuple[int, ...] | str = 0,
    dilation: int | tuple[int, ...] = 1,
    groups: int = 1,
) -> tg.Tensor:
    """2-D cross-correlation over ``(N, C, H, W)`` (or ``(C, H, W)``) input.

    Args:
        input: Input of shape (N, C_in, H, W) or (C_in, H, W).
        weight: Filters of shape (C_out, C_in / groups, kH, kW).
        bias: Optional (C_out,) bias.
        stride: Step between windows, int or (sH, sW).
        padding: Zeros on each side, int or (pH, pW), or ``"valid"``/``"same"``.
        dilation: Spacing between kernel taps, int or (dH, dW).
        groups: Independent channel blocks (``groups == C_in`` is depthwise).

    Returns:
        The (N, C_out, H_out, W_out) output.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)
