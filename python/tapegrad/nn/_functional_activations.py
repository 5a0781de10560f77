"""Activation functions with PyTorch's names, signatures and defaults, composed from
tapegrad's differentiable primitives (so their gradients come for free, to any order).

Branches are written so that the branch ``where`` does not pick never overflows: an
infinite value there would turn its zero gradient into NaN (``0 · inf``).
"""

from __future__ import annotations

from collections.abc import Callable

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

__all__ = [
    "celu",
    "elu",
    "glu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "leaky_relu",
    "logsigmoid",
    "mish",
    "prelu",
    "relu6",
    "selu",
    "silu",
    "softmin",
    "softplus",
    "softsign",
    "tanhshrink",
    "threshold",
]

# The constants of "Self-Normalizing Neural Networks" (Klambauer et al., 2017).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inplace(
    op: Callable[[tg.Tensor], tg.Tensor], input: tg.Tensor, inplace: bool
) -> tg.Tensor:
    """``op(input)``, written into ``input`` when ``inplace`` (PyTorch's ``inplace=True``).

    The op reads a clone, so what it saves for backward is not the value the write
    overwrites; the write itself (``copy_``) moves ``input``'s history onto the result,
    so gradients flow as in PyTorch, and in-place on a leaf that requires grad raises.
    """
    if not inplace:
        return op(input)
    return input.copy_(op(input.clone()))


def _negative_part_expm1(
    input: tg.Tensor, alpha: float, scale: float = 1.0
) -> tg.Tensor:
    """``alpha · (e^(x / scale) - 1)`` on the negative side, ``x`` elsewhere."""
    negative = input.clamp(max=0.0) * (1.0 / scale)
    return tg.where(input > 0, input, alpha * negative.expm1())


def silu(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``x · σ(x)`` (also called swish)."""
    return _inplace(lambda x: x * x.sigmoid(), input, inplace)


def softplus(input: tg.Tensor, beta: float = 1.0, threshold: float = 20.0) -> tg.Tensor:
    """``log(1 + e^(βx)) / β``, and ``x`` itself where ``βx > threshold`` (as PyTorch)."""
    z = input * beta
    smooth = (z.relu() + (-z.abs()).exp().log1p()) * (1.0 / beta)
    return tg.where(z > threshold, input, smooth)


def mish(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``x · tanh(softplus(x))``."""
    return _inplace(lambda x: x * softplus(x).tanh(), input, inplace)


def elu(input: tg.Tensor, alpha: float = 1.0, inplace: bool = False) -> tg.Tensor:
    """``x`` for ``x > 0``, ``α (e^x - 1)`` otherwise."""
    return _inplace(lambda x: _negative_part_expm1(x, alpha), input, inplace)


def selu(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``scale · elu(x, α)`` with the self-normalising constants."""
    return _inplace(
        lambda x: _SELU_SCALE * _negative_part_expm1(x, _SELU_ALPHA), input, inplace
    )


def celu(input: tg.Tensor, alpha: float = 1.0, inplace: bool = False) -> tg.Tensor:
    """``x`` for ``x > 0``, ``α (e^(x/α) - 1)`` otherwise."""
    if alpha == 0:
        raise ArgumentError("celu: alpha must not be 0 (it divides x)")
    return _inplace(
        lambda x: _negative_part_expm1(x, alpha, scale=alpha), input, inplace
    )


def leaky_relu(
    input: tg.Tensor, negative_slope: float = 0.01, inplace: bool = False
) -> tg.Tensor:
    """``x`` for ``x > 0``, ``negative_slope · x`` otherwise."""
    return _inplace(
        lambda x: tg.where(x > 0, x, x * negative_slope), input, inplace
    )


def hardtanh(
    input: tg.Tensor,
    min_val: float = -1.0,
    max_val: float = 1.0,
    inplace: bool = False,
) -> tg.Tensor:
    """``x`` clamped to ``[min_val, max_val]``."""
    if min_val > max_val:
        raise ArgumentError(
            f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})"
        )
    return _inplace(lambda x: x.clamp(min_val, max_val), input, inplace)


def relu6(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``min(max(x, 0), 6)``."""
    return _inplace(lambda x: x.clamp(0.0, 6.0), input, inplace)


def hardsigmoid(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``0`` below -3, ``1`` above 3, ``x/6 + 1/2`` between."""
    return _inplace(lambda x: (x * (1.0 / 6.0) + 0.5).clamp(0.0, 1.0), input, inplace)


def hardswish(input: tg.Tensor, inplace: bool = False) -> tg.Tensor:
    """``x · hardsigmoid(x)``."""
    return _inplace(lambda x: x * hardsigmoid(x), input, inplace)


def logsigmoid(input: tg.Tensor) -> tg.Tensor:
    """``log σ(x) = min(x, 0) - log(1 + e^(-|x|))``, stable for any ``x``."""
    return input.minimum(0.0) - (-input.abs()).exp().log1p()


def softsign(input: tg.Tensor) -> tg.Tensor:
    """``x / (1 + |x|)``."""
    return input / (input.abs() + 1.0)


def tanhshrink(input: tg.Tensor) -> tg.Tensor:
    """``x - tanh(x)``."""
    return input - input.tanh()


def threshold(
    input: tg.Tensor, threshold: float, value: float, inplace: bool = False
) -> tg.Tensor:
    """``x`` where ``x > threshold``, ``value`` elsewhere."""
    return _inplace(lambda x: tg.where(x > threshold, x, value), input, inplace)


def glu(input: tg.Tensor, dim: int = -1) -> tg.Tensor:
    """Gated linear unit: splits ``dim`` in halves ``a, b`` and returns ``a · σ(b)``."""
    if input.ndim == 0:
        raise ShapeError("glu: a 0-d tensor has no dimension to halve")
    if not -input.ndim <= dim < input.ndim:
        raise tg.AxisError(
            f"glu: dim {dim} is out of range for a tensor of {input.ndim} dimensions"
        )
    dim %= input.ndim
    size = input.shape[dim]
    if size % 2:
        raise ShapeError(
            f"glu: dimension {dim} of input {tuple(input.shape)} has odd size {size}; "
            "it must split in halves"
        )
    lead = (slice(None),) * dim
    first, second = (
        input[(*lead, slice(0, size // 2))],
        input[(*lead, slice(size // 2, size))],
    )
    return first * second.sigmoid()


def prelu(input: tg.Tensor, weight: tg.Tensor) -> tg.Tensor:
    """``x`` for ``x > 0``, ``weight · x`` otherwise; ``weight`` has one element or one
    per channel (dimension 1 of ``input``)."""
    if weight.ndim > 1:
        raise ShapeError(f"prelu: weight must be 0-d or 1-d, got {tuple(weight.shape)}")
    count = weight.numel()
    if count != 1:
        channels = (
            input.shape[1] if input.ndim >= 2 else (input.shape[0] if input.ndim else 1)
        )
        if count != channels:
            raise ShapeError(
                f"prelu: weight of {count} elements does not match the {channels} "
                f"channels of input {tuple(input.shape)}"
            )
        channel_dim = 1 if input.ndim >= 2 else 0
        shape = [1] * input.ndim
        shape[channel_dim] = count
        weight = weight.reshape(tuple(shape))
    return tg.where(input > 0, input, weight * input)


def softmin(input: tg.Tensor, dim: int | None = None) -> tg.Tensor:
    """``softmax(-x)`` along ``dim`` (None: PyTorch's legacy choice, 0 for 0-, 1- and
    3-d inputs, else 1)."""
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return (-input).softmax(dim)
