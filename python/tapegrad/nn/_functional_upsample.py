"""Resizing of ``tapegrad.nn.functional``: ``interpolate``, ``pixel_shuffle``.

``interpolate`` resizes one spatial axis at a time with index gathers at source
positions computed as PyTorch computes them (nearest: a gather; linear: two gathers
weighted by the fractional position), so its gradient is the adjoint scatter that
indexing already records. ``pixel_shuffle``/``pixel_unshuffle`` are a reshape, a
permutation and a reshape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

__all__ = ["interpolate", "pixel_shuffle", "pixel_unshuffle"]

_MODES = {"nearest": None, "nearest-exact": None, "linear": 1, "bilinear": 2}


def _per_axis(value: Any, n: int, name: str, kind: type) -> list[Any]:
    items = list(value) if isinstance(value, Sequence) else [value] * n
    if len(items) != n or not all(
        isinstance(v, (int, float) if kind is float else int)
        and not isinstance(v, bool)
        and v > 0
        for v in items
    ):
        raise ArgumentError(
            f"interpolate: {name} must be a positive {kind.__name__} or a sequence of "
            f"{n} of them for a {n + 2}-D input, got {value!r}"
        )
    return items


def _nearest(size: int, out: int, scale: float | None, exact: bool) -> np.ndarray:
    """Source index of each output position, in PyTorch's float32 arithmetic."""
    step = np.float32(1.0 / scale) if scale is not None else np.float32(size / out)
    dst = np.arange(out, dtype=np.float32) + np.float32(0.5 if exact else 0.0)
    return np.minimum(np.floor(dst * step).astype(np.int64), size - 1)


def _linear(
    size: int, out: int, scale: float | None, align_corners: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(left index, right index, right weight) of each output position."""
    dst = np.arange(out, dtype=np.float64)
    if align_corners:
        src = dst * ((size - 1) / (out - 1) if out > 1 else 0.0)
    else:
        step = 1.0 / scale if scale is not None else size / out
        src = np.maximum(step * (dst + 0.5) - 0.5, 0.0)
    left = np.minimum(np.floor(src).astype(np.int64), size - 1)
    right = np.minimum(left + 1, size - 1)
    return left, right, src - left


def interpolate(
    input: tg.Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> tg.Tensor:
    """Resizes the spatial axes of (N, C, L) or (N, C, H, W) input, as PyTorch's.

    Args:
        input: (N, C, L) for ``"linear"``, (N, C, H, W) for ``"bilinear"``, either
            for ``"nearest"``/``"nearest-exact"``.
        size: Output spatial size (int or one per spatial axis).
        scale_factor: Multiplier of each spatial size (the output size is
            ``floor(size · scale_factor)``); give exactly one of ``size`` and
            ``scale_factor``.
        mode: ``"nearest"`` (PyTorch's legacy rounding), ``"nearest-exact"``,
            ``"linear"`` or ``"bilinear"``.
        align_corners: For the linear modes: map the corner pixels' centres onto
            each other (True) or their outer edges (False, the default).
        recompute_scale_factor: Compute source positions from the sizes rather
            than from ``scale_factor``.
        antialias: Not supported (must be False).

    Returns:
        The resized tensor.
    """
    if mode not in _MODES:
        raise ArgumentError(
            f"interpolate: mode must be one of {sorted(_MODES)}, got {mode!r}"
        )
    n, linear_dims = input.ndim - 2, _MODES[mode]
    if n not in (1, 2) or (linear_dims is not None and linear_dims != n):
        expected = "3-D or 4-D" if linear_dims is None else f"{linear_dims + 2}-D"
        raise ShapeError(
            f"interpolate: mode {mode!r} expects a {expected} (N, C, ...) input, got "
            f"shape {tuple(input.shape)}"
        )
    if align_corners is not None and _MODES[mode] is None:
        raise ArgumentError(
            f"interpolate: align_corners only applies to the linear modes, not {mode!r}"
        )
    if antialias:
        raise ArgumentError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ArgumentError(
            "interpolate: give exactly one of size and scale_factor, got "
            f"size={size!r}, scale_factor={scale_factor!r}"
        )
    spatial = input.shape[2:]
    scales: list[float | None]
    if size is not None:
        outs = _per_axis(size, n, "size", int)
        scales = [None] * n
    else:
        factors = [float(f) for f in _per_axis(scale_factor, n, "scale_factor", float)]
        outs = [math.floor(s * f) for s, f in zip(spatial, factors, strict=True)]
        scales = [None if recompute_scale_factor else f for f in factors]
        if min(outs) < 1:
            raise ShapeError(
                f"interpolate: scale_factor {scale_factor!r} gives an empty output "
                f"{tuple(outs)} for input {tuple(input.shape)}"
            )
    if min(spatial) < 1:
        raise ShapeError(
            f"interpolate: the input {tuple(input.shape)} has an empty spatial axis"
        )
    out = input
    for a in range(n):
        axis = 2 + a
        before = (slice(None),) * axis
        if _MODES[mode] is None:
            index = _nearest(spatial[a], outs[a], scales[a], mode == "nearest-exact")
            out = out[before + (index,)]
            continue
        left, right, weight = _linear(
            spatial[a], outs[a], scales[a], bool(align_corners)
        )
        shape = (outs[a],) + (1,) * (n - 1 - a)
        w = tg.tensor(weight.reshape(shape), dtype=input.dtype)
        out = out[before + (left,)] * (1.0 - w) + out[before + (right,)] * w
    return out


def _shuffle_check(op: str, input: tg.Tensor, factor: int, name: str) -> None:
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ArgumentError(f"{op}: {name} must be a positive int, got {factor!r}")
    if input.ndim < 3:
        raise ShapeError(
            f"{op}: expected an input of at least 3 dimensions (*, C, H, W), got "
            f"shape {tuple(input.shape)}"
        )


def pixel_shuffle(input: tg.Tensor, upscale_factor: int) -> tg.Tensor:
    """(*, C·r², H, W) to (*, C, H·r, W·r), as PyTorch's (sub-pixel convolution).

    Args:
        input: At least 3-D, channels divisible by ``upscale_factor ** 2``.
        upscale_factor: r.

    Returns:
        Output pixel (h·r + i, w·r + j) of channel c is input channel
        ``c·r² + i·r + j`` at (h, w).
    """
    _shuffle_check("pixel_shuffle", input, upscale_factor, "upscale_factor")
    r = upscale_factor
    *batch, c, h, w = input.shape
    if c % (r * r):
        raise ShapeError(
            f"pixel_shuffle: the channels of input {tuple(input.shape)} ({c}) must be "
            f"divisible by upscale_factor² ({r * r})"
        )
    k = len(batch)
    x = input.reshape(*batch, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*batch, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: tg.Tensor, downscale_factor: int) -> tg.Tensor:
    """(*, C, H·r, W·r) to (*, C·r², H, W): the inverse of :func:`pixel_shuffle`.

    Args:
        input: At least 3-D, height and width divisible by ``downscale_factor``.
        downscale_factor: r.

    Returns:
        The rearranged tensor.
    """
    _shuffle_check("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    r = downscale_factor
    *batch, c, h, w = input.shape
    if h % r or w % r:
        raise ShapeError(
            f"pixel_unshuffle: the height and width of input {tuple(input.shape)} "
            f"must be divisible by downscale_factor ({r})"
        )
    k = len(batch)
    x = input.reshape(*batch, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*batch, c * r * r, h // r, w // r)
