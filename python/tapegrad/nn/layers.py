"""Layers: ``Linear``, activations, ``Dropout``, ``LayerNorm``, ``Embedding``, ``Flatten``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import tapegrad as tg
from tapegrad._errors import ArgumentError

from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = [
    "GELU",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "Linear",
    "LogSoftmax",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


def _check_size(value: Any, name: str, layer: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ArgumentError(
            f"{layer}: {name} must be a non-negative int, got {value!r}"
        )
    return value


class Identity(Module):
    """Returns its input unchanged."""

    def forward(self, input: Any) -> Any:
        """``input``."""
        return input


class Linear(Module):
    """``y = x @ weight.T + bias``, initialised as PyTorch's ``Linear``.

    ``weight`` has shape (out_features, in_features) and ``bias`` (out_features,);
    both start from U(-1/√in_features, 1/√in_features) (PyTorch's default,
    ``kaiming_uniform_`` with ``a = √5``), drawn from tapegrad's seeded generator.

    Args:
        in_features: Size of each input sample.
        out_features: Size of each output sample.
        bias: Whether to add a learned bias.
        dtype: ``tapegrad.float32`` (default) or ``tapegrad.float64``.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in_features = _check_size(in_features, "in_features", "Linear")
        self.out_features = _check_size(out_features, "out_features", "Linear")
        self.weight = Parameter(tg.zeros(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(tg.zeros(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draws fresh initial values, as PyTorch does."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """``input @ weight.T + bias`` over the last dimension."""
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class ReLU(Module):
    """``max(x, 0)`` elementwise (written into the input with ``inplace=True``)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies ReLU."""
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """Hyperbolic tangent elementwise."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies tanh."""
        return input.tanh()


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` elementwise."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies the logistic sigmoid."""
        return input.sigmoid()


class GELU(Module):
    """Gaussian error linear unit, exact (``"none"``) or ``"tanh"``-approximated."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ArgumentError(
                f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}"
            )
        self.approximate = approximate

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies GELU."""
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies softmax."""
        return input.softmax(self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``."""

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies log-softmax."""
        return input.log_softmax(self.dim)


class Dropout(Module):
    """Zeroes elements with probability ``p`` while training; identity in eval mode.

    The surviving elements are scaled by ``1/(1-p)``. The mask is drawn with
    ``tapegrad.rand``, so ``tapegrad.manual_seed`` makes it reproducible.
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ArgumentError(f"Dropout: p must be between 0 and 1, got {p}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies dropout (only in training mode)."""
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dimensions, then scales/shifts.

    Args:
        normalized_shape: The trailing shape to normalise over (an int or a tuple).
        eps: Added to the variance for stability.
        elementwise_affine: Whether to learn ``weight`` (ones) and ``bias`` (zeros).
        bias: Whether to learn the bias (when ``elementwise_affine``).
        dtype: ``tapegrad.float32`` (default) or ``tapegrad.float64``.
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(
            _check_size(n, "normalized_shape", "LayerNorm") for n in normalized_shape
        )
        self.eps = float(eps)
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(tg.ones(self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(tg.zeros(self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Applies layer normalisation."""
        return F.layer_norm(
            input, self.normalized_shape, self.weight, self.bias, self.eps
        )

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}"
        )


class Embedding(Module):
    """A lookup table: integer indices pick rows of ``weight``.

    Indices come as integer NumPy arrays, (nested) lists, or float tensors holding
    whole numbers (tapegrad has no integer tensors). ``weight`` starts from N(0, 1),
    with the ``padding_idx`` row (if any) zero and never trained.

    Args:
        num_embeddings: Rows of the table.
        embedding_dim: Size of each row.
        padding_idx: Optional row that gets no gradient.
        dtype: ``tapegrad.float32`` (default) or ``tapegrad.float64``.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = _check_size(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = _check_size(embedding_dim, "embedding_dim", "Embedding")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ArgumentError(
                    f"Embedding: padding_idx {padding_idx} is out of range for "
                    f"{num_embeddings} rows"
                )
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(tg.zeros(num_embeddings, embedding_dim, dtype=dtype))
        init.normal_(self.weight)
        if padding_idx is not None:
            with tg.no_grad():
                keep = (tg.arange(num_embeddings) != padding_idx).unsqueeze(1)
                self.weight._assign(self.weight * keep.to(self.weight.dtype))

    def forward(self, input: Any) -> tg.Tensor:
        """Looks up the rows; the output has shape ``input.shape + (embedding_dim,)``."""
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        extra = (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        )
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"


class Flatten(Module):
    """Merges dimensions ``start_dim..end_dim`` (by default all but the batch one)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: tg.Tensor) -> tg.Tensor:
        """Flattens ``input``."""
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
