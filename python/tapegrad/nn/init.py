"""Parameter initialisation, in place, as ``torch.nn.init``.

Each function overwrites a tensor's values (keeping the tensor object, so optimisers
holding it stay valid) with draws from tapegrad's generator: ``tapegrad.manual_seed``
makes them reproducible.
"""

from __future__ import annotations

import math

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

__all__ = [
    "calculate_gain",
    "constant_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "uniform_",
    "xavier_uniform_",
    "zeros_",
]


def _fill(tensor: tg.Tensor, values: tg.Tensor) -> tg.Tensor:
    with tg.no_grad():
        tensor._assign(values.to(tensor.dtype))
    return tensor


def uniform_(tensor: tg.Tensor, a: float = 0.0, b: float = 1.0) -> tg.Tensor:
    """Fills ``tensor`` with samples from U(a, b); returns it."""
    if not a <= b:
        raise ArgumentError(f"uniform_: expected a <= b, got a={a}, b={b}")
    draws = tg.rand(*tensor.shape, dtype=tensor.dtype)
    return _fill(tensor, draws * (b - a) + a)


def normal_(tensor: tg.Tensor, mean: float = 0.0, std: float = 1.0) -> tg.Tensor:
    """Fills ``tensor`` with samples from N(mean, std²); returns it."""
    if std < 0:
        raise ArgumentError(f"normal_: std must be non-negative, got {std}")
    return _fill(tensor, tg.randn(*tensor.shape, dtype=tensor.dtype) * std + mean)


def constant_(tensor: tg.Tensor, value: float) -> tg.Tensor:
    """Fills ``tensor`` with ``value``; returns it."""
    return _fill(tensor, tg.full(tensor.shape, value, dtype=tensor.dtype))


def zeros_(tensor: tg.Tensor) -> tg.Tensor:
    """Fills ``tensor`` with zeros; returns it."""
    return constant_(tensor, 0.0)


def ones_(tensor: tg.Tensor) -> tg.Tensor:
    """Fills ``tensor`` with ones; returns it."""
    return constant_(tensor, 1.0)


def _fans(tensor: tg.Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ShapeError(
            f"fan in and fan out need a tensor of at least 2 dimensions, got "
            f"{tuple(tensor.shape)}"
        )
    receptive = math.prod(tensor.shape[2:])
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "sigmoid", "conv1d", "conv2d", "conv3d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def kaiming_uniform_(
    tensor: tg.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> tg.Tensor:
    """He initialisation: U(-b, b) with ``b = gain · √(3 / fan)``; returns ``tensor``."""
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(
            f"kaiming_uniform_: mode must be fan_in or fan_out, got {mode!r}"
        )
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def xavier_uniform_(tensor: tg.Tensor, gain: float = 1.0) -> tg.Tensor:
    """Glorot initialisation: U(-b, b) with ``b = gain · √(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(tensor)
    if fan_in + fan_out == 0:
        return tensor
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)
