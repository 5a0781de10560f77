"""Pooling and padding of ``tapegrad.nn.functional``, in PyTorch's forms.

``max_pool*`` is one native primitive (a gather at each window's argmax, whose VJP is
the adjoint scatter). The others are compositions whose derivatives come from their
parts: ``avg_pool*`` is a depthwise convolution with a constant kernel, rescaled per
window; ``adaptive_avg_pool*`` two products with constant averaging matrices; ``pad``
concatenations with constants (``constant``) or index gathers (the other modes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad import _native
from tapegrad._errors import ArgumentError, ShapeError

from ._functional_conv import _tuple

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
    "pad",
]


def _check_input(input: tg.Tensor, n: int, op: str) -> None:
    if input.ndim not in (n + 1, n + 2):
        raise ShapeError(
            f"{op}: expected a {n + 1}-D or {n + 2}-D input, got shape "
            f"{tuple(input.shape)}"
        )


def _check_nonempty(input: tg.Tensor, n: int, op: str, checked: str) -> None:
    """PyTorch's refusal of empty non-batch dimensions (only the batch may be empty).

    ``checked`` names the dimensions that must not be empty, as PyTorch's kernels check
    them: ``"spatial"`` (``adaptive_avg_pool*``: channels may be empty), ``"after first"``
    (``adaptive_max_pool*``) or ``"non-batch"`` (``avg_pool*``, ``max_pool*``: every
    dimension of an unbatched input).
    """
    shape = tuple(input.shape)
    if checked == "spatial":
        first = len(shape) - n
    elif checked == "after first" or len(shape) == n + 2:
        first = 1
    else:
        first = 0
    empty = [d for d in range(first, len(shape)) if shape[d] == 0]
    if not empty:
        return
    if checked == "non-batch":
        raise ShapeError(
            f"{op}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional 0 "
            f"dim batch size for input, but got: {shape}"
        )
    raise ShapeError(
        f"{op}(): Expected input to have non-zero size for non-batch dimensions, but "
        f"input has sizes {shape} with dimension {empty[0]} being empty"
    )


def _max_pool(
    op: str,
    n: int,
    input: tg.Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
) -> Any:
    _check_input(input, n, op)
    _check_nonempty(input, n, op, "non-batch")
    kernel = _tuple(kernel_size, n, "kernel_size", op, 1)
    strides = (
        kernel if stride is None or stride == [] else _tuple(stride, n, "stride", op, 1)
    )
    pads = _tuple(padding, n, "padding", op, 0)
    dilations = _tuple(dilation, n, "dilation", op, 1)
    if n == 1:
        kernel, strides, pads, dilations = (
            (1, *kernel),
            (1, *strides),
            (0, *pads),
            (1, *dilations),
        )
    out, indices = _native._max_pool(
        input, kernel, strides, pads, dilations, bool(ceil_mode), n == 1
    )
    return (out, indices) if return_indices else out


def max_pool1d(
    input: tg.Tensor,
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window over (N, C, L) or (C, L) input, as PyTorch's.

    Padding is implicit ``-inf``. A tie sends the gradient to the one index PyTorch
    returns (the first maximum; a NaN wins). With ``return_indices`` the indices come
    back as a float64 tensor (integer tensors are not in tapegrad yet).

    Returns:
        The pooled tensor, or ``(pooled, indices)``.
    """
    return _max_pool(
        "max_pool1d",
        1,
        input,
        kernel_size,
        stride,
        padding,
        dilation,
        ceil_mode,
        return_indices,
    )


def max_pool2d(
    input: tg.Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum of each window over (N, C, H, W) or (C, H, W) input.

    As :func:`max_pool1d`; indices are flat positions ``h * W + w`` in each plane.

    Returns:
        The pooled tensor, or ``(pooled, indices)``.
    """
    return _max_pool(
        "max_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        dilation,
        ceil_mode,
        return_indices,
    )


def _pool_len(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length (the last window starts inside the input)."""
    steps = size + 2 * p - k
    out = (-(-steps // s) if ceil_mode else steps // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _avg_pool(
    op: str,
    n: int,
    input: tg.Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: int | None,
) -> tg.Tensor:
    _check_input(input, n, op)
    _check_nonempty(input, n, op, "non-batch")
    kernel = _tuple(kernel_size, n, "kernel_size", op, 1)
    strides = (
        kernel if stride is None or stride == [] else _tuple(stride, n, "stride", op, 1)
    )
    pads = _tuple(padding, n, "padding", op, 0)
    if any(2 * p > k for p, k in zip(pads, kernel, strict=True)):
        raise ArgumentError(
            f"{op}: padding {pads} must be at most half of the kernel size {kernel}"
        )
    if divisor_override is not None and (
        not isinstance(divisor_override, int) or divisor_override <= 0
    ):
        raise ArgumentError(
            f"{op}: divisor_override must be a positive int, got {divisor_override!r}"
        )
    sizes = tuple(input.shape[-n:])
    if any(s + 2 * p < k for s, p, k in zip(sizes, pads, kernel, strict=True)):
        raise ShapeError(
            f"{op}: the window {kernel} (padding {pads}) is larger than the input "
            f"{tuple(input.shape)}"
        )
    outs = [
        _pool_len(size, k, s, p, ceil_mode)
        for size, k, s, p in zip(sizes, kernel, strides, pads, strict=True)
    ]
    # Each window's sum: a depthwise convolution with ones, zeros beyond the input
    # (the extra right padding of ceil_mode's last window included).
    lead = tuple(input.shape[:-n])
    planes = input.reshape(-1, 1, *sizes)
    ones = tg.ones(1, 1, *kernel, dtype=input.dtype)
    conv_pads = [
        (p, max(0, (o - 1) * s + k - size - p))
        for size, k, s, p, o in zip(sizes, kernel, strides, pads, outs, strict=True)
    ]
    if n == 1:
        ones = ones.reshape(1, 1, 1, kernel[0])
        planes = planes.reshape(-1, 1, 1, sizes[0])
        conv_pads = [(0, 0), *conv_pads]
    stride2 = (1, *strides) if n == 1 else strides
    sums = _native._conv(planes, ones, None, stride2, conv_pads, (1, 1), 1)
    sums = sums.reshape(*lead, *outs)
    if divisor_override is not None:
        return sums / float(divisor_override)
    # PyTorch's divisor per window: its size clipped to the padded input, or with
    # count_include_pad=False to the input itself.
    divisors = np.ones(outs)
    for axis, (size, k, s, p, o) in enumerate(
        zip(sizes, kernel, strides, pads, outs, strict=True)
    ):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        shape = [1] * n
        shape[axis] = o
        divisors = divisors * (end - start).reshape(shape)
    return sums * tg.tensor(1.0 / divisors, dtype=input.dtype)


def avg_pool1d(
    input: tg.Tensor,
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> tg.Tensor:
    """The mean of each window over (N, C, L) or (C, L) input, as PyTorch's.

    ``count_include_pad`` counts the zero padding in each window's divisor.
    """
    return _avg_pool(
        "avg_pool1d",
        1,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        None,
    )


def avg_pool2d(
    input: tg.Tensor,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> tg.Tensor:
    """The mean of each window over (N, C, H, W) or (C, H, W) input, as PyTorch's.

    ``count_include_pad`` counts the zero padding in each window's divisor;
    ``divisor_override`` divides every window's sum by that number instead.
    """
    return _avg_pool(
        "avg_pool2d",
        2,
        input,
        kernel_size,
        stride,
        padding,
        ceil_mode,
        count_include_pad,
        divisor_override,
    )


def _averaging_matrix(size: int, out: int, dtype: Any) -> tg.Tensor:
    """(out, size): row i averages PyTorch's adaptive window [⌊i·size/out⌋, ⌈(i+1)·size/out⌉)."""
    matrix = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return tg.tensor(matrix, dtype=dtype)


def _output_sizes(output_size: Any, sizes: Sequence[int], op: str) -> list[int]:
    n = len(sizes)
    items = (
        list(output_size) if isinstance(output_size, Sequence) else [output_size] * n
    )
    if len(items) != n:
        raise ArgumentError(
            f"{op}: output_size must have {n} entries, got {output_size!r}"
        )
    items = [size if v is None else v for v, size in zip(items, sizes, strict=True)]
    if not all(isinstance(v, int) and v >= 1 for v in items):
        raise ArgumentError(
            f"{op}: output_size entries must be positive ints or None, got {output_size!r}"
        )
    return items


def adaptive_avg_pool1d(input: tg.Tensor, output_size: int | tuple[int]) -> tg.Tensor:
    """Averages (N, C, L) or (C, L) input over ``output_size`` windows, as PyTorch's."""
    _check_input(input, 1, "adaptive_avg_pool1d")
    _check_nonempty(input, 1, "adaptive_avg_pool1d", "spatial")
    (out,) = _output_sizes(output_size, input.shape[-1:], "adaptive_avg_pool1d")
    return input @ _averaging_matrix(input.shape[-1], out, input.dtype).transpose(0, 1)


def adaptive_avg_pool2d(input: tg.Tensor, output_size: Any) -> tg.Tensor:
    """Averages (N, C, H, W) or (C, H, W) input over an ``output_size`` grid of windows.

    ``output_size`` is an int, or a pair whose entries may be None (keep that size).
    """
    _check_input(input, 2, "adaptive_avg_pool2d")
    _check_nonempty(input, 2, "adaptive_avg_pool2d", "spatial")
    h, w = input.shape[-2:]
    oh, ow = _output_sizes(output_size, (h, w), "adaptive_avg_pool2d")
    rows = _averaging_matrix(h, oh, input.dtype)
    cols = _averaging_matrix(w, ow, input.dtype).transpose(0, 1)
    return rows @ input @ cols


def _pad_indices(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of each position of the padded axis, for the non-constant modes."""
    positions = np.arange(-before, size + after)
    if mode == "replicate":
        return np.clip(positions, 0, size - 1)
    if mode == "circular":
        return positions % size
    period = 2 * (size - 1)  # reflect: mirror about the edges, edge not repeated
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= size, period - folded, folded)


def pad(
    input: tg.Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0
) -> tg.Tensor:
    """Pads the last ``len(pad) // 2`` dimensions, as ``torch.nn.functional.pad``.

    ``pad`` lists (before, after) pairs from the last dimension backwards.

    Args:
        input: The tensor.
        pad: ``(left, right)``, ``(left, right, top, bottom)``, ...
        mode: ``"constant"`` (``value``; negative pads crop), ``"reflect"``
            (mirror, edge not repeated; pads < size), ``"replicate"`` (edge
            repeated) or ``"circular"`` (wrap around; pads <= size).
        value: The fill of ``"constant"`` mode.
    """
    pads = list(pad)
    if len(pads) % 2 or not all(isinstance(p, int) for p in pads):
        raise ArgumentError(
            f"pad: pad must be an even-length sequence of ints, got {pad!r}"
        )
    dims = len(pads) // 2
    if dims > input.ndim:
        raise ShapeError(
            f"pad: {len(pads)} pad entries for a {input.ndim}-D input of shape "
            f"{tuple(input.shape)} (at most {2 * input.ndim})"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ArgumentError(
            f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', "
            f"got {mode!r}"
        )
    if mode != "constant":
        if dims > 3 or input.ndim not in (dims + 1, dims + 2):
            raise ShapeError(
                f"pad: {mode} padding of {dims} dimension(s) needs a {dims + 1}-D or "
                f"{dims + 2}-D input, got shape {tuple(input.shape)}"
            )
        if any(p < 0 for p in pads):
            raise ArgumentError(
                f"pad: {mode} padding must be non-negative, got {pad!r}"
            )
    out = input
    for i in range(dims):
        before, after = pads[2 * i], pads[2 * i + 1]
        axis = input.ndim - 1 - i
        size = out.shape[axis]
        if mode == "constant":
            out = _pad_constant(out, axis, before, after, value)
            continue
        limit = size - 1 if mode == "reflect" else size
        if mode != "replicate" and (before > limit or after > limit):
            raise ShapeError(
                f"pad: {mode} padding ({before}, {after}) of dimension {axis} must be "
                f"{'less than' if mode == 'reflect' else 'at most'} its size {size} "
                f"(input {tuple(input.shape)})"
            )
        if size == 0:
            raise ShapeError(f"pad: cannot {mode}-pad the empty dimension {axis}")
        index = (slice(None),) * axis + (_pad_indices(size, before, after, mode),)
        out = out[index]
    return out


def _pad_constant(
    x: tg.Tensor, axis: int, before: int, after: int, value: float
) -> tg.Tensor:
    size = x.shape[axis]
    start, stop = max(0, -before), size - max(0, -after)
    if stop < start:
        raise ShapeError(
            f"pad: cropping ({before}, {after}) leaves dimension {axis} of size "
            f"{size} negative"
        )
    if start or stop != size:
        x = x[(slice(None),) * axis + (slice(start, stop),)]
    parts = []
    for count in (max(0, before), max(0, after)):
        shape = list(x.shape)
        shape[axis] = count
        parts.append(tg.full(tuple(shape), value, dtype=x.dtype) if count else None)
    pieces = [p for p in (parts[0], x, parts[1]) if p is not None]
    return tg.cat(pieces, dim=axis) if len(pieces) > 1 else x
