"""Parameter initialisation, in place, as ``torch.nn.init``.

Each function overwrites a tensor's values (keeping the tensor object, so optimisers
holding it stay valid) with draws from tapegrad's generator: ``tapegrad.manual_seed``
makes them reproducible.
"""

from __future__ import annotations

import math

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
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
    linear = ("linear", "sigmoid", "conv1d", "conv2d", "conv3d")
    if nonlinearity in linear or nonlinearity.startswith("conv_transpose"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is not None and (
            isinstance(param, bool) or not isinstance(param, (int, float))
        ):
            raise ArgumentError(
                f"calculate_gain: negative_slope {param!r} is not a number"
            )
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ArgumentError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _kaiming_std(
    tensor: tg.Tensor, a: float, mode: str, nonlinearity: str, caller: str
) -> float | None:
    """``gain / √fan`` for He initialisation, or None for an empty fan."""
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"{caller}: mode must be fan_in or fan_out, got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return None
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: tg.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> tg.Tensor:
    """He initialisation: U(-b, b) with ``b = gain · √(3 / fan)``; returns ``tensor``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: tg.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
) -> tg.Tensor:
    """He initialisation: N(0, std²) with ``std = gain / √fan``; returns ``tensor``."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return tensor if std is None else normal_(tensor, 0.0, std)


def xavier_uniform_(tensor: tg.Tensor, gain: float = 1.0) -> tg.Tensor:
    """Glorot initialisation: U(-b, b) with ``b = gain · √(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(tensor)
    if fan_in + fan_out == 0:
        return tensor
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: tg.Tensor, gain: float = 1.0) -> tg.Tensor:
    """Glorot initialisation: N(0, std²) with ``std = gain · √(2 / (fan_in +
    fan_out))``."""
    fan_in, fan_out = _fans(tensor)
    if fan_in + fan_out == 0:
        return tensor
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _normal_quantile(p: np.ndarray) -> np.ndarray:
    """Φ⁻¹(p) by bisection on Φ(z) = (1 + erf(z / √2)) / 2 (tapegrad's ``erf``); 64
    halvings of [-10, 10] reach float64 precision."""
    low, high = np.full(p.shape, -10.0), np.full(p.shape, 10.0)
    for _ in range(64):
        middle = (low + high) / 2
        cdf = 0.5 * (1.0 + tg.tensor(middle / math.sqrt(2.0)).erf().__array__(copy=True))
        below = cdf < p
        low, high = np.where(below, middle, low), np.where(below, high, middle)
    return (low + high) / 2


def trunc_normal_(
    tensor: tg.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
) -> tg.Tensor:
    """Fills ``tensor`` with N(mean, std²) draws restricted to [a, b] (by the inverse
    of the normal CDF applied to uniform draws from tapegrad's generator)."""
    if not a < b or std <= 0:
        raise ArgumentError(
            f"trunc_normal_: expected a < b and std > 0, got a={a}, b={b}, std={std}"
        )
    low = 0.5 * (1.0 + math.erf((a - mean) / std / math.sqrt(2.0)))
    high = 0.5 * (1.0 + math.erf((b - mean) / std / math.sqrt(2.0)))
    uniform = tg.rand(*tensor.shape, dtype=tg.float64).__array__(copy=True)
    z = _normal_quantile(low + (high - low) * uniform)
    return _fill(tensor, tg.tensor(np.clip(mean + std * z, a, b)))


def orthogonal_(tensor: tg.Tensor, gain: float = 1.0) -> tg.Tensor:
    """Fills ``tensor`` (viewed as rows × the rest) with a (semi-)orthogonal matrix
    times ``gain``: the Q of a QR decomposition of a standard normal draw, with the
    signs fixed by R's diagonal so that Q is uniformly distributed."""
    if tensor.ndim < 2:
        raise ShapeError(
            f"orthogonal_: only tensors with 2 or more dimensions are supported, got "
            f"{tuple(tensor.shape)}"
        )
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    draws = tg.randn(rows, cols, dtype=tg.float64).__array__(copy=True)
    flat = draws.T if rows < cols else draws
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, tg.tensor(gain * q.reshape(tuple(tensor.shape))))


def eye_(tensor: tg.Tensor) -> tg.Tensor:
    """Fills a 2-D ``tensor`` with the identity (ones on the main diagonal)."""
    if tensor.ndim != 2:
        raise ShapeError(
            f"eye_: only 2-D tensors are supported, got {tuple(tensor.shape)}"
        )
    return _fill(tensor, tg.tensor(np.eye(tensor.shape[0], tensor.shape[1])))
