"""Activation modules with PyTorch's names, each a thin wrapper over its function in
``tapegrad.nn.functional``."""

from __future__ import annotations

import tapegrad as tg

from . import _functional_activations as A
from .module import Module
from .parameter import Parameter

__all__ = [
    "CELU",
    "ELU",
    "GLU",
    "SELU",
    "Hardsigmoid",
    "Hardswish",
    "Hardtanh",
    "LeakyReLU",
    "LogSigmoid",
    "Mish",
    "PReLU",
    "ReLU6",
    "SiLU",
    "Softmin",
    "Softplus",
    "Softsign",
    "Tanhshrink",
    "Threshold",
]

# The repr suffix PyTorch gives a module built with inplace=True.
_INPLACE = {False: "", True: ", inplace=True"}


class SiLU(Module):
    """``x · σ(x)`` elementwise."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies SiLU."""
        return A.silu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Mish(Module):
    """``x · tanh(softplus(x))`` elementwise."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies Mish."""
        return A.mish(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class SELU(Module):
    """Scaled ELU with the self-normalising constants."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies SELU."""
        return A.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(Module):
    """Piecewise-linear sigmoid: ``clamp(x/6 + 1/2, 0, 1)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies hardsigmoid."""
        return A.hardsigmoid(input, self.inplace)


class Hardswish(Module):
    """``x · hardsigmoid(x)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies hardswish."""
        return A.hardswish(input, self.inplace)


class ReLU6(Module):
    """``min(max(x, 0), 6)``."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies ReLU6."""
        return A.relu6(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LogSigmoid(Module):
    """``log σ(x)``, stable for any ``x``."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies log-sigmoid."""
        return A.logsigmoid(input)


class Softsign(Module):
    """``x / (1 + |x|)``."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies softsign."""
        return A.softsign(input)


class Tanhshrink(Module):
    """``x - tanh(x)``."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies tanhshrink."""
        return A.tanhshrink(input)


class ELU(Module):
    """``x`` for ``x > 0``, ``α (e^x - 1)`` otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies ELU."""
        return A.elu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + _INPLACE[self.inplace]


class CELU(ELU):
    """``x`` for ``x > 0``, ``α (e^(x/α) - 1)`` otherwise."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies CELU."""
        return A.celu(input, self.alpha, self.inplace)


class LeakyReLU(Module):
    """``x`` for ``x > 0``, ``negative_slope · x`` otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies leaky ReLU."""
        return A.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + _INPLACE[self.inplace]


class Softplus(Module):
    """``log(1 + e^(βx)) / β``, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies softplus."""
        return A.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """``x`` clamped to ``[min_val, max_val]``."""

    def __init__(
        self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
    ) -> None:
        super().__init__()
        if min_val > max_val:
            raise tg.ArgumentError(
                f"Hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})"
            )
        self.min_val, self.max_val = min_val, max_val
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies hardtanh."""
        return A.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        bounds = f"min_val={self.min_val}, max_val={self.max_val}"
        return bounds + _INPLACE[self.inplace]


class Threshold(Module):
    """``x`` where ``x > threshold``, ``value`` elsewhere."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value = threshold, value
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies the threshold."""
        return A.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        limits = f"threshold={self.threshold}, value={self.value}"
        return limits + _INPLACE[self.inplace]


class GLU(Module):
    """Gated linear unit over ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies GLU."""
        return A.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmin(Module):
    """``softmax(-x)`` along ``dim``."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies softmin."""
        return A.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """Leaky ReLU whose slope is learned: one (``num_parameters=1``) or one per channel."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.weight = Parameter(tg.full((num_parameters,), init))

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies PReLU."""
        return A.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
