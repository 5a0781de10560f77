"""Adaptive max pooling and max unpooling of ``tapegrad.nn.functional``.

Both are the native max-pool primitive (``MaxPoolBackward``): adaptive pooling is its
gather at each adaptive window's argmax, unpooling its adjoint scatter at given indices,
so the gradient of one is the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError, ShapeError

from ._functional_conv import _tuple
from ._functional_pool import _check_input, _check_nonempty, _output_sizes

__all__ = [
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
]


def adaptive_max_pool1d(
    input: tg.Tensor, output_size: int | tuple[int], return_indices: bool = False
) -> Any:
    """Max over ``output_size`` adaptive windows of (N, C, L) or (C, L) input.

    Window i covers ``[⌊i·L/out⌋, ⌈(i+1)·L/out⌉)``, as PyTorch's.

    Args:
        input: (N, C, L) or (C, L).
        output_size: Number of windows.
        return_indices: Also return each maximum's position (int64), for
            :func:`max_unpool1d`.

    Returns:
        The pooled tensor, or ``(pooled, indices)``.
    """
    _check_input(input, 1, "adaptive_max_pool1d")
    _check_nonempty(input, 1, "adaptive_max_pool1d", "after first")
    (out,) = _output_sizes(output_size, input.shape[-1:], "adaptive_max_pool1d")
    values, indices = _native._adaptive_max_pool(input, (1, out), True)
    return (values, indices) if return_indices else values


def adaptive_max_pool2d(
    input: tg.Tensor, output_size: Any, return_indices: bool = False
) -> Any:
    """Max over an ``output_size`` grid of adaptive windows of (N, C, H, W) input.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: An int, or a pair whose entries may be None (keep that size).
        return_indices: Also return each maximum's flat position ``h * W + w`` in its
            plane (int64), for :func:`max_unpool2d`.

    Returns:
        The pooled tensor, or ``(pooled, indices)``.
    """
    _check_input(input, 2, "adaptive_max_pool2d")
    _check_nonempty(input, 2, "adaptive_max_pool2d", "after first")
    size = _output_sizes(output_size, input.shape[-2:], "adaptive_max_pool2d")
    values, indices = _native._adaptive_max_pool(input, tuple(size), False)
    return (values, indices) if return_indices else values


def _unpool_size(
    op: str,
    n: int,
    input: tg.Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    output_size: Any,
) -> tuple[int, ...]:
    """The spatial output size: given (its last n entries), or PyTorch's default."""
    kernel = _tuple(kernel_size, n, "kernel_size", op, 1)
    strides = kernel if stride is None else _tuple(stride, n, "stride", op, 1)
    pads = _tuple(padding, n, "padding", op, 0)
    spatial = input.shape[-n:]
    default = tuple(
        (spatial[a] - 1) * strides[a] - 2 * pads[a] + kernel[a] for a in range(n)
    )
    if output_size is None:
        return default
    if not isinstance(output_size, Sequence) or len(output_size) not in (n, n + 2):
        raise ArgumentError(
            f"{op}: output_size must have {n} or {n + 2} entries, got {output_size!r}"
        )
    size = tuple(int(v) for v in output_size[-n:])
    for a in range(n):
        low, high = default[a] - strides[a], default[a] + strides[a]
        if not low < size[a] < high:
            raise ShapeError(
                f"{op}: output_size {size} is not valid for input "
                f"{tuple(input.shape)}: entry {a} must be between {low + 1} and "
                f"{high - 1}"
            )
    return size


def max_unpool1d(
    input: tg.Tensor,
    indices: tg.Tensor,
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    output_size: Sequence[int] | None = None,
) -> tg.Tensor:
    """The partial inverse of :func:`max_pool1d`: zeros except at the maxima.

    Args:
        input: Pooled values, (N, C, L) or (C, L).
        indices: The int64 indices ``max_pool1d(..., return_indices=True)`` returned.
        kernel_size: The pool's window.
        stride: The pool's stride (default: ``kernel_size``).
        padding: The pool's padding.
        output_size: The unpooled length (default ``(L - 1)·stride - 2·padding +
            kernel_size``), as ``(L_out,)`` or ``(N, C, L_out)``.

    Returns:
        (N, C, L_out), ``input`` written at ``indices``.
    """
    _check_input(input, 1, "max_unpool1d")
    (length,) = _unpool_size(
        "max_unpool1d", 1, input, kernel_size, stride, padding, output_size
    )
    return _native._max_unpool(input, indices, (1, length), True)


def max_unpool2d(
    input: tg.Tensor,
    indices: tg.Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    output_size: Sequence[int] | None = None,
) -> tg.Tensor:
    """The partial inverse of :func:`max_pool2d`: zeros except at the maxima.

    Args:
        input: Pooled values, (N, C, H, W) or (C, H, W).
        indices: The int64 flat indices ``max_pool2d(..., return_indices=True)``
            returned.
        kernel_size: The pool's window.
        stride: The pool's stride (default: ``kernel_size``).
        padding: The pool's padding.
        output_size: The unpooled (H_out, W_out) (or with N, C in front); default
            ``(H - 1)·stride - 2·padding + kernel_size`` per axis.

    Returns:
        (N, C, H_out, W_out), ``input`` written at ``indices``.
    """
    _check_input(input, 2, "max_unpool2d")
    size = _unpool_size(
        "max_unpool2d", 2, input, kernel_size, stride, padding, output_size
    )
    return _native._max_unpool(input, indices, size, False)
