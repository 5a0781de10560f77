"""Convolution layers with PyTorch's parameter names, layouts and initialisation."""

from __future__ import annotations

import math
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError

from . import functional as F
from . import init
from ._functional_conv import _tuple
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    """Shared state of ``Conv1d`` and ``Conv2d`` (PyTorch's ``_ConvNd``)."""

    _dims = 0
    _name = ""
    # ConvTranspose*d: weight (in_channels, out_channels / groups, *kernel_size).
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name, n = self._name, self._dims
        for arg, value in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ArgumentError(
                    f"{name}: {arg} must be a positive int, got {value!r}"
                )
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            raise ArgumentError(
                f"{name}: groups must be a positive int, got {groups!r}"
            )
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(
                f"{name}: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must be divisible by groups ({groups})"
            )
        if padding_mode != "zeros":
            raise ArgumentError(
                f"{name}: padding_mode {padding_mode!r} is not supported; only 'zeros' "
                f"(pad the input with F.pad first for other modes)"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name, 1)
        self.stride = _tuple(stride, n, "stride", name, 1)
        self.padding = (
            padding
            if isinstance(padding, str)
            else _tuple(padding, n, "padding", name, 0)
        )
        self.dilation = _tuple(dilation, n, "dilation", name, 1)
        self.groups = groups
        self.padding_mode = padding_mode
        shape = (
            (in_channels, out_channels // groups, *self.kernel_size)
            if self._transposed
            else (out_channels, in_channels // groups, *self.kernel_size)
        )
        self.weight = Parameter(tg.zeros(*shape, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.zeros(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(a=√5)``, bias U(±1/√fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = (
            f"{self.in_channels}, {self.out_channels}, "
            f"kernel_size={self.kernel_size}, stride={self.stride}"
        )
        if self.padding != (0,) * self._dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) input, as ``torch.nn.Conv1d``.

    ``weight`` has shape (out_channels, in_channels / groups, kernel_size) and
    ``bias`` (out_channels,), initialised as PyTorch's, so a PyTorch ``state_dict``
    loads unchanged. Arguments as :func:`tapegrad.nn.functional.conv1d`; only
    ``padding_mode="zeros"`` is supported.
    """

    _dims = 1
    _name = "Conv1d"

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """The convolution of ``input`` with ``weight`` plus ``bias``."""
        return F.conv1d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) input, as ``torch.nn.Conv2d``.

    ``weight`` has shape (out_channels, in_channels / groups, kH, kW) and ``bias``
    (out_channels,), initialised as PyTorch's, so a PyTorch ``state_dict`` loads
    unchanged. Arguments as :func:`tapegrad.nn.functional.conv2d`; only
    ``padding_mode="zeros"`` is supported.
    """

    _dims = 2
    _name = "Conv2d"

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """The convolution of ``input`` with ``weight`` plus ``bias``."""
        return F.conv2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
        )
