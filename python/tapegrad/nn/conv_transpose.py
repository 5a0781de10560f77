"""Transposed convolution layers with PyTorch's parameter names, layouts and init."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

from . import functional as F
from ._functional_conv import _tuple
from .conv import _ConvNd

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


class _ConvTransposeNd(_ConvNd):
    """Shared state of ``ConvTranspose1d`` and ``ConvTranspose2d``."""

    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        dtype: Any = None,
    ) -> None:
        if isinstance(padding, str):
            raise ArgumentError(
                f"{self._name}: padding must be an int or a tuple of ints, got "
                f"{padding!r}"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            dtype=dtype,
        )
        # Transposed convolutions take int paddings only (checked above).
        self.padding: tuple[int, ...] = _tuple(
            padding, self._dims, "padding", self._name, 0
        )
        self.output_padding = _tuple(
            output_padding, self._dims, "output_padding", self._name, 0
        )

    def _output_padding(
        self, input: tg.Tensor, output_size: Sequence[int] | None
    ) -> tuple[int, ...]:
        """``output_padding``, or the one that gives ``output_size`` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        n = self._dims
        size = list(output_size)[-n:]
        if len(output_size) not in (n, n + 1, n + 2):
            raise ArgumentError(
                f"{self._name}: output_size must have {n} (or {n + 2}) entries, got "
                f"{tuple(output_size)}"
            )
        extra = []
        for a in range(n):
            smallest = (
                (input.shape[-n + a] - 1) * self.stride[a]
                - 2 * self.padding[a]
                + self.dilation[a] * (self.kernel_size[a] - 1)
                + 1
            )
            largest = smallest + self.stride[a] - 1
            if not smallest <= size[a] <= largest:
                raise ShapeError(
                    f"{self._name}: output_size {tuple(size)} is not reachable from "
                    f"input {tuple(input.shape)}: entry {a} must be in "
                    f"[{smallest}, {largest}]"
                )
            extra.append(size[a] - smallest)
        return tuple(extra)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        if self.output_padding != (0,) * self._dims:
            text += f", output_padding={self.output_padding}"
        return text


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) input, as ``torch.nn``'s.

    ``weight`` has shape (in_channels, out_channels / groups, kernel_size) and ``bias``
    (out_channels,), initialised as PyTorch's, so a PyTorch ``state_dict`` loads
    unchanged. Arguments as :func:`tapegrad.nn.functional.conv_transpose1d`; only
    ``padding_mode="zeros"`` exists (as in PyTorch).
    """

    _dims = 1
    _name = "ConvTranspose1d"

    def forward(
        self, input: tg.Tensor, output_size: Sequence[int] | None = None
    ) -> tg.Tensor:
        """The transposed convolution; ``output_size`` picks ``output_padding``."""
        return F.conv_transpose1d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) input, as ``torch.nn``'s.

    ``weight`` has shape (in_channels, out_channels / groups, kH, kW) and ``bias``
    (out_channels,), initialised as PyTorch's. Arguments as
    :func:`tapegrad.nn.functional.conv_transpose2d`.
    """

    _dims = 2
    _name = "ConvTranspose2d"

    def forward(
        self, input: tg.Tensor, output_size: Sequence[int] | None = None
    ) -> tg.Tensor:
        """The transposed convolution; ``output_size`` picks ``output_padding``."""
        return F.conv_transpose2d(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
        )
