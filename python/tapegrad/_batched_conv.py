"""The batching rules of convolution and transposed convolution (``_native._conv``,
``_native._conv_transpose``): a batched input, weight or bias.

A batched input alone is the merge-rows rule: the vmap batch becomes more samples. A
batched weight (per-example filters, as per-sample gradients of a CNN need) becomes more
*groups* of one convolution, PyTorch's ``BatchRulesConvolution`` trick:

- input and weight batched: the input's examples are laid side by side as channels,
  ``(N, B·C, ...)``, the weights as ``(B·O, C/g, ...)``, and ``groups = B·g``; group
  ``b·g + j`` of the output is group ``j`` of example ``b``;
- weight batched, input shared: the weights stack along the output channels, ordered
  group-major (``(g·B·O/g, C/g, ...)``) so that each of the ``g`` groups still reads its
  own input channels; the output channels are reordered back per example.

A transposed convolution's weight is ``(C, O/g, ...)``: the same two layouts, with the
examples' filters side by side along its second dimension when the input is shared.

A batched bias is added after the convolution. Every step is a reshape, a permute or the
one convolution, so gradients (and gradients of gradients) flow as for the unbatched op.
"""

from __future__ import annotations

from typing import Any

from . import _native
from ._batched import BatchedTensor, _top_level

__all__ = ["rule"]


def _mine(x: Any, level: int) -> bool:
    return isinstance(x, BatchedTensor) and x.level == level


def rule(transposed: bool) -> Any:
    """The rule of ``_native._conv(input, weight, bias, strides, pads, dilations, groups)``
    or, ``transposed``, of ``_native._conv_transpose(input, weight, bias, strides, pads,
    output_padding, dilations, groups)``: the settings between the bias and ``groups``
    pass through unchanged."""

    def conv(input: Any, weight: Any, bias: Any, *settings: Any) -> Any:
        *middle, groups = settings

        def call(x: Any, w: Any, b: Any, g: int) -> Any:
            # the installed entry point: an outer level's rule runs when still batched
            native: Any = _native._conv_transpose if transposed else _native._conv
            return native(x, w, b, *middle, g)

        return _batched(transposed, call, input, weight, bias, groups)

    return conv


def _batched(
    transposed: bool, call: Any, input: Any, weight: Any, bias: Any, groups: int
) -> Any:
    level = _top_level((input, weight, bias))
    spatial = weight.ndim - 2
    unbatched_example = input.ndim == spatial + 1  # (C, *spatial): no sample dim
    if _mine(input, level):
        size = int(input.value.shape[0])
    else:
        size = int(next(t for t in (weight, bias) if _mine(t, level)).value.shape[0])
    x = input.value if _mine(input, level) else input
    if unbatched_example:  # one sample per example
        x = x.unsqueeze(1) if _mine(input, level) else x.unsqueeze(0)
    bias_after = bias if _mine(bias, level) or _mine(weight, level) else None
    fused_bias = None if bias_after is not None else bias
    if not _mine(weight, level):  # input batched: its examples become more samples
        n = int(x.shape[1])
        merged = x.reshape(size * n, *x.shape[2:]) if _mine(input, level) else x
        out = call(merged, weight, fused_bias, groups)
        if _mine(input, level):
            out = out.reshape(size, n, *out.shape[1:])
        else:  # a batched bias with a shared input and weight
            out = out.unsqueeze(0).expand(size, *out.shape)
    elif _mine(input, level):
        out = _both_batched(transposed, call, x, weight.value, size, groups)
    else:
        out = _weight_batched(transposed, call, x, weight.value, size, groups)
    if bias_after is not None:
        b = bias_after.value if _mine(bias_after, level) else bias_after
        if _mine(bias_after, level):
            b = b.reshape(size, 1, b.shape[-1], *([1] * spatial))
        else:
            b = b.reshape(b.shape[-1], *([1] * spatial))
        out = out + b
    if unbatched_example:
        out = out.squeeze(1)
    return BatchedTensor(out, level)


def _both_batched(
    transposed: bool, call: Any, x: Any, w: Any, size: int, groups: int
) -> Any:
    """x: (B, N, C, *s); w: (B, O, C/g, *k), or (B, C, O/g, *k) transposed.
    Result: (B, N, O, *s')."""
    n, channels = int(x.shape[1]), int(x.shape[2])
    rest = tuple(x.shape[3:])
    side_by_side = x.movedim(0, 1).reshape(n, size * channels, *rest)
    filters = w.reshape(size * w.shape[1], *w.shape[2:])  # example-major, as the input
    out = call(side_by_side, filters, None, size * groups)
    out_channels = int(w.shape[2]) * groups if transposed else int(w.shape[1])
    return out.reshape(n, size, out_channels, *out.shape[2:]).movedim(1, 0)


def _weight_batched(
    transposed: bool, call: Any, x: Any, w: Any, size: int, groups: int
) -> Any:
    """x: (N, C, *s) shared; w as in ``_both_batched``. Result: (B, N, O, *s')."""
    kernel = tuple(w.shape[3:])
    if transposed:  # (B, C, O/g, ...) -> (C, B·O/g, ...): each group's columns per example
        per_group = int(w.shape[2])
        filters = w.movedim(0, 1).reshape(w.shape[1], size * per_group, *kernel)
    else:  # (B, g, O/g, ...) -> (g·B·O/g, ...): each group's filters of every example
        per_group = int(w.shape[1]) // groups
        grouped = w.reshape(size, groups, per_group, *w.shape[2:]).movedim(0, 1)
        filters = grouped.reshape(groups * size * per_group, *w.shape[2:])
    out = call(x, filters, None, groups)
    n, spatial = int(out.shape[0]), tuple(out.shape[2:])
    out = out.reshape(n, groups, size, per_group, *spatial).movedim(2, 0)
    return out.reshape(size, n, groups * per_group, *spatial)
