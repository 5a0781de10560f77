"""Helpers around parameters: gradient clipping and calling a module with other values."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Union

import tapegrad as tg
from tapegrad._errors import ArgumentError, GraphError

from ..module import Module, StateDictError

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "functional_call",
    "parameters_to_vector",
    "vector_to_parameters",
]

TensorOrTensors = Union[tg.Tensor, Iterable[tg.Tensor]]


def _as_list(parameters: TensorOrTensors) -> list[tg.Tensor]:
    return [parameters] if isinstance(parameters, tg.Tensor) else list(parameters)


def _vector_norm(values: tg.Tensor, norm_type: float) -> tg.Tensor:
    if math.isinf(norm_type):
        magnitudes = values.abs()
        if values.numel() == 0:
            return tg.zeros((), dtype=values.dtype)
        return magnitudes.max() if norm_type > 0 else magnitudes.min()
    if norm_type == 2.0:
        return (values * values).sum().sqrt()
    return (values.abs() ** norm_type).sum() ** (1.0 / norm_type)


def clip_grad_norm_(
    parameters: TensorOrTensors,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> tg.Tensor:
    """Scales the gradients so that their joint norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated into one
    vector; they are multiplied by ``min(1, max_norm / (norm + 1e-6))``, as PyTorch.

    Args:
        parameters: A tensor or an iterable of tensors whose ``.grad`` to clip;
            those without a gradient are skipped.
        max_norm: The largest norm allowed.
        norm_type: The p of the p-norm (``math.inf`` for the largest magnitude).
        error_if_nonfinite: Raise instead of scaling when the norm is NaN or infinite.

    Returns:
        The total norm of the gradients before clipping (a 0-d tensor).

    Raises:
        GraphError: With ``error_if_nonfinite``, when the norm is NaN or infinite.
    """
    if max_norm < 0 or math.isnan(max_norm):
        raise ArgumentError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    pairs = [(p, p.grad) for p in _as_list(parameters) if p.grad is not None]
    if not pairs:
        return tg.tensor(0.0)
    with tg.no_grad():
        norms = [_vector_norm(grad.reshape(-1), norm_type) for _, grad in pairs]
        total = _vector_norm(tg.stack(norms), norm_type)
        value = total.item()
        if error_if_nonfinite and not math.isfinite(value):
            raise GraphError(
                f"clip_grad_norm_: the total norm of order {norm_type} of the "
                f"gradients is {value}, so they cannot be clipped; pass "
                f"error_if_nonfinite=False to scale them anyway"
            )
        scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
        for p, grad in pairs:
            p.grad = grad * scale.to(grad.dtype)
    return total


def clip_grad_value_(parameters: TensorOrTensors, clip_value: float) -> None:
    """Clamps every gradient element into ``[-clip_value, clip_value]``."""
    if clip_value < 0:
        raise ArgumentError(
            f"clip_grad_value_: clip_value must be >= 0, got {clip_value}"
        )
    with tg.no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                p.grad = p.grad.clamp(-clip_value, clip_value)


def parameters_to_vector(parameters: TensorOrTensors) -> tg.Tensor:
    """The parameters flattened and concatenated into one vector (differentiable)."""
    return tg.cat([p.reshape(-1) for p in _as_list(parameters)])


def vector_to_parameters(vector: tg.Tensor, parameters: TensorOrTensors) -> None:
    """Copies consecutive slices of ``vector`` into the parameters, in place."""
    params = _as_list(parameters)
    needed = sum(p.numel() for p in params)
    if vector.ndim != 1 or vector.numel() != needed:
        raise ArgumentError(
            f"vector_to_parameters: expected a vector of {needed} elements, got "
            f"shape {tuple(vector.shape)}"
        )
    offset = 0
    with tg.no_grad():
        for p in params:
            piece = vector[offset : offset + p.numel()].reshape(*p.shape)
            p._assign(piece.detach().to(p.dtype))
            offset += p.numel()


def functional_call(
    module: Module,
    parameters_and_buffers: Mapping[str, tg.Tensor],
    args: Any = (),
    kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """Runs ``module(*args, **kwargs)`` with some parameters or buffers replaced.

    The replacements are used as they are (they may require grad, or be the inputs of
    a function being differentiated, as in ``gradcheck``); the module's own tensors
    are put back afterwards, even if the call raises. Like ``torch.func``'s.

    Args:
        module: The module to call.
        parameters_and_buffers: Dotted names (as in ``state_dict()``) to tensors.
        args: A positional argument, or a tuple of them.
        kwargs: Keyword arguments.

    Raises:
        StateDictError: For a name that is not a parameter or buffer of ``module``.
    """
    owners = {name: (registry, key) for name, key, registry in _registries(module)}
    unknown = [name for name in parameters_and_buffers if name not in owners]
    if unknown:
        raise StateDictError(
            f"functional_call: {unknown} are not parameters or buffers of "
            f"{type(module).__name__}"
        )
    saved = []
    try:
        for name, value in parameters_and_buffers.items():
            registry, key = owners[name]
            saved.append((registry, key, registry[key]))
            registry[key] = value
        call_args = args if isinstance(args, tuple) else (args,)
        return module(*call_args, **(kwargs or {}))
    finally:
        for registry, key, original in reversed(saved):
            registry[key] = original


def _registries(module: Module) -> Iterable[tuple[str, str, dict[str, Any]]]:
    """(dotted name, key, the dictionary holding it) for every parameter and buffer."""
    for prefix, sub in module.named_modules():
        for registry in (sub._parameters, sub._buffers):
            for key, value in registry.items():
                if value is not None:
                    yield (f"{prefix}.{key}" if prefix else key), key, registry


from . import rnn  # variable-length sequences for the recurrent layers

__all__ += ["rnn"]
