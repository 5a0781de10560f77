"""Normalisation and channel dropout of ``tapegrad.nn.functional``, as PyTorch's.

Each is a short composition of primitives (means, products, ``sqrt``), so its first
and second derivatives come from theirs. Running statistics are updated in place,
outside the graph, as PyTorch does.
"""

from __future__ import annotations

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

__all__ = [
    "batch_norm",
    "dropout1d",
    "dropout2d",
    "group_norm",
    "instance_norm",
    "normalize",
]


def _per_channel(t: tg.Tensor, ndim: int) -> tg.Tensor:
    """A (C,) tensor shaped to broadcast over (N, C, *) input of ``ndim`` dims."""
    return t.reshape(-1, *([1] * (ndim - 2)))


def _update(running: tg.Tensor | None, stat: tg.Tensor, momentum: float) -> None:
    if running is None:
        return
    with tg.no_grad():
        running._assign(
            (running * (1.0 - momentum) + stat.detach() * momentum).to(running.dtype)
        )


def _affine(
    out: tg.Tensor, weight: tg.Tensor | None, bias: tg.Tensor | None
) -> tg.Tensor:
    if weight is not None:
        out = out * _per_channel(weight, out.ndim)
    if bias is not None:
        out = out + _per_channel(bias, out.ndim)
    return out


def _check_channels(op: str, input: tg.Tensor, **tensors: tg.Tensor | None) -> None:
    channels = input.shape[1]
    for name, t in tensors.items():
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(
                f"{op}: {name} of shape {tuple(t.shape)} does not fit input "
                f"{tuple(input.shape)} (expected ({channels},))"
            )


def batch_norm(
    input: tg.Tensor,
    running_mean: tg.Tensor | None,
    running_var: tg.Tensor | None,
    weight: tg.Tensor | None = None,
    bias: tg.Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tg.Tensor:
    """Normalises each channel of (N, C, *) input, as ``torch.nn.functional.batch_norm``.

    In training (or without running statistics) the batch's mean and biased variance
    are used and, when given, ``running_mean``/``running_var`` move towards the batch
    mean and unbiased variance by ``momentum``; otherwise the running statistics are.

    Args:
        input: (N, C) or (N, C, *) input.
        running_mean: (C,) running mean, updated in place in training; or None.
        running_var: (C,) running variance, updated in place in training; or None.
        weight: Optional (C,) scale.
        bias: Optional (C,) shift.
        training: Use (and update with) the batch statistics.
        momentum: Weight of the batch statistics in the running update.
        eps: Added to the variance before the square root.
    """
    if input.ndim < 2:
        raise ShapeError(
            f"batch_norm: expected an (N, C, *) input, got shape {tuple(input.shape)}"
        )
    _check_channels(
        "batch_norm",
        input,
        running_mean=running_mean,
        running_var=running_var,
        weight=weight,
        bias=bias,
    )
    dims = (0, *range(2, input.ndim))
    if training or running_mean is None or running_var is None:
        count = input.numel() // max(input.shape[1], 1)
        if training and count <= 1:
            raise ArgumentError(
                f"batch_norm: expected more than 1 value per channel when training, "
                f"got input of shape {tuple(input.shape)}"
            )
        mean = input.mean(dim=dims, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dim=dims, keepdim=True)
        if training:
            _update(running_mean, mean.reshape(-1), momentum)
            _update(running_var, var.reshape(-1) * (count / (count - 1)), momentum)
    else:
        centred = input - _per_channel(running_mean, input.ndim)
        var = _per_channel(running_var, input.ndim)
    return _affine(centred / (var + eps).sqrt(), weight, bias)


def instance_norm(
    input: tg.Tensor,
    running_mean: tg.Tensor | None = None,
    running_var: tg.Tensor | None = None,
    weight: tg.Tensor | None = None,
    bias: tg.Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> tg.Tensor:
    """Normalises each channel of each sample of (N, C, *) input over its positions.

    With ``use_input_stats=False`` the running statistics are used instead; when
    given and using input statistics, they move towards the batch averages of the
    per-instance mean and unbiased variance.
    """
    if input.ndim < 3:
        raise ShapeError(
            f"instance_norm: expected an (N, C, *) input with spatial dimensions, got "
            f"shape {tuple(input.shape)}"
        )
    _check_channels(
        "instance_norm",
        input,
        running_mean=running_mean,
        running_var=running_var,
        weight=weight,
        bias=bias,
    )
    dims = tuple(range(2, input.ndim))
    if use_input_stats:
        count = input.numel() // max(input.shape[0] * input.shape[1], 1)
        if count <= 1:
            raise ArgumentError(
                f"instance_norm: expected more than 1 spatial element when training, "
                f"got input of shape {tuple(input.shape)}"
            )
        mean = input.mean(dim=dims, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dim=dims, keepdim=True)
        _update(running_mean, mean.mean(dim=0).reshape(-1), momentum)
        unbiased = var.mean(dim=0).reshape(-1) * (count / (count - 1))
        _update(running_var, unbiased, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError(
                "instance_norm: use_input_stats=False needs running_mean and running_var"
            )
        centred = input - _per_channel(running_mean, input.ndim)
        var = _per_channel(running_var, input.ndim)
    return _affine(centred / (var + eps).sqrt(), weight, bias)


def group_norm(
    input: tg.Tensor,
    num_groups: int,
    weight: tg.Tensor | None = None,
    bias: tg.Tensor | None = None,
    eps: float = 1e-5,
) -> tg.Tensor:
    """Normalises each group of ``C / num_groups`` channels of each sample, then scales.

    Args:
        input: (N, C, *) input.
        num_groups: Groups the channels are split into (must divide C).
        weight: Optional (C,) scale.
        bias: Optional (C,) shift.
        eps: Added to the variance before the square root.
    """
    if input.ndim < 2:
        raise ShapeError(
            f"group_norm: expected an (N, C, *) input, got shape {tuple(input.shape)}"
        )
    channels = input.shape[1]
    if not isinstance(num_groups, int) or num_groups < 1 or channels % num_groups:
        raise ArgumentError(
            f"group_norm: num_groups={num_groups!r} must be a positive int dividing the "
            f"{channels} channels of input {tuple(input.shape)}"
        )
    _check_channels("group_norm", input, weight=weight, bias=bias)
    grouped = input.reshape(input.shape[0], num_groups, -1)
    centred = grouped - grouped.mean(dim=2, keepdim=True)
    var = (centred * centred).mean(dim=2, keepdim=True)
    out = (centred / (var + eps).sqrt()).reshape(*input.shape)
    return _affine(out, weight, bias)


def normalize(
    input: tg.Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12
) -> tg.Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim``, as PyTorch's.

    The norm is computed as ``max(Σ|x|^p, eps^p)^(1/p)``: the same value, and no NaN
    gradient at a zero vector (the norm's derivative is 0 where the clamp is active).
    """
    if p <= 0:
        raise ArgumentError(f"normalize: p must be positive, got {p}")
    if input.ndim == 0:
        raise ShapeError("normalize: expected at least a 1-D input, got a scalar")
    if not -input.ndim <= dim < input.ndim:
        raise tg.AxisError(
            f"normalize: dim {dim} is out of range for a {input.ndim}-D input"
        )
    total = (
        (input.abs() ** p).sum(dim=dim, keepdim=True)
        if p != 2
        else ((input * input).sum(dim=dim, keepdim=True))
    )
    return input / total.clamp(min=eps**p) ** (1.0 / p)


def _channel_dropout(
    op: str, input: tg.Tensor, p: float, training: bool, spatial: int, inplace: bool
) -> tg.Tensor:
    if not 0.0 <= p <= 1.0:
        raise ArgumentError(
            f"{op}: dropout probability has to be between 0 and 1, got {p}"
        )
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(
            f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input, got shape "
            f"{tuple(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    channels = input.shape[: input.ndim - spatial]
    keep = tg.rand(*channels, *([1] * spatial), dtype=input.dtype) < (1.0 - p)
    if inplace:
        return input.mul_(keep * (1.0 / (1.0 - p)))
    return input * keep * (1.0 / (1.0 - p))


def dropout1d(
    input: tg.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> tg.Tensor:
    """Zeroes whole channels of (N, C, L) or (C, L) input with probability ``p``."""
    return _channel_dropout("dropout1d", input, p, training, 1, inplace)


def dropout2d(
    input: tg.Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> tg.Tensor:
    """Zeroes whole channels of (N, C, H, W) or (C, H, W) input with probability ``p``."""
    return _channel_dropout("dropout2d", input, p, training, 2, inplace)
