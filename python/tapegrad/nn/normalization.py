"""Batch, instance and group normalisation and channel dropout layers, as PyTorch's.

Parameter and buffer names match PyTorch's (``weight``, ``bias``, ``running_mean``,
``running_var``, ``num_batches_tracked``), so a PyTorch ``state_dict`` loads.
``num_batches_tracked`` is a float64 scalar here (tapegrad has no integer tensors yet).
"""

from __future__ import annotations

from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

from . import functional as F
from .module import Module, Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout1d",
    "Dropout2d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
]


class _NormBase(Module):
    """State shared by the batch and instance norms (PyTorch's ``_NormBase``)."""

    _ndims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if not isinstance(num_features, int) or num_features < 1:
            raise ArgumentError(
                f"{name}: num_features must be a positive int, got {num_features!r}"
            )
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(tg.ones(num_features, dtype=dtype))
            self.bias = Parameter(tg.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", tg.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", tg.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", tg.zeros((), dtype=tg.float64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, variance 1, no batches seen."""
        if self.track_running_stats:
            with tg.no_grad():
                self.running_mean._assign(tg.zeros_like(self.running_mean))
                self.running_var._assign(tg.ones_like(self.running_var))
                self.num_batches_tracked._assign(
                    tg.zeros_like(self.num_batches_tracked)
                )

    def _check_input(self, input: tg.Tensor) -> None:
        if input.ndim not in self._ndims:
            dims = " or ".join(f"{d}D" for d in self._ndims)
            raise ShapeError(
                f"{type(self).__name__}: expected {dims} input (got {input.ndim}D input "
                f"of shape {tuple(input.shape)})"
            )

    def _momentum(self) -> float:
        """The running update's weight: ``momentum``, or 1/batches for None."""
        if self.training and self.track_running_stats:
            with tg.no_grad():
                self.num_batches_tracked._assign(self.num_batches_tracked + 1.0)
            if self.momentum is None:
                return 1.0 / float(self.num_batches_tracked.item())
        return 0.0 if self.momentum is None else self.momentum

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Normalises with batch statistics (training) or running ones (eval)."""
        self._check_input(input)
        momentum = self._momentum()
        use_batch = self.training or self.running_mean is None
        return F.batch_norm(
            input,
            self.running_mean
            if not self.training or self.track_running_stats
            else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight,
            self.bias,
            use_batch,
            momentum,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input, as ``torch.nn.BatchNorm1d``."""

    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, as ``torch.nn.BatchNorm2d``."""

    _ndims = (4,)


class _InstanceNorm(_NormBase):
    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, dtype
        )

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Normalises each channel of each sample over its positions."""
        self._check_input(input)
        unbatched = input.ndim == self._ndims[0]
        x = input.unsqueeze(0) if unbatched else input
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            self._momentum(),
            self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L) input (affine off by default)."""

    _ndims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W) input."""

    _ndims = (3, 4)


class GroupNorm(Module):
    """Group normalisation, as ``torch.nn.GroupNorm``: ``weight`` 1, ``bias`` 0."""

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if (
            not isinstance(num_groups, int)
            or num_groups < 1
            or num_channels % num_groups
        ):
            raise ArgumentError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                f"num_groups ({num_groups})"
            )
        self.num_groups, self.num_channels = num_groups, num_channels
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(tg.ones(num_channels, dtype=dtype))
            self.bias = Parameter(tg.zeros(num_channels, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Normalises each group of channels of each sample."""
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class Dropout1d(Module):
    """Zeroes whole channels with probability ``p`` while training."""

    _fn = staticmethod(F.dropout1d)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(
                f"{type(self).__name__}: p must be between 0 and 1, got {p}"
            )
        self.p = float(p)
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies channel dropout (only in training mode)."""
        return type(self)._fn(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout2d(Dropout1d):
    """Zeroes whole channels of (N, C, H, W) input with probability ``p``."""

    _fn = staticmethod(F.dropout2d)
