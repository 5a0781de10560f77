"""Custom differentiable functions (``tapegrad.Function``), like ``torch.autograd.Function``.

Subclass :class:`Function` with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``
(and optionally ``jvp(ctx, *tangents)`` for forward mode), then call ``MyFn.apply(...)``::

    class Cube(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x * x

The engine records one node for the call; its VJP is ``backward``. ``backward`` returns one
gradient per argument of ``forward`` (None for non-tensors or zero gradients); the count and
each gradient's shape are checked here (the one place where a custom function's gradients and
tangents are checked: they must match exactly, never broadcast), and errors name the function. Exceptions raised inside
``backward`` reach the caller of ``.backward()`` unchanged.
"""

from __future__ import annotations

from typing import Any

from .. import _batched, _native
from .._anomaly import detect_anomaly, set_detect_anomaly
from .._errors import DTypeError, GraphError, ShapeError
from .._grad_mode import no_grad
from .._native import Tensor

__all__ = [
    "Function",
    "FunctionCtx",
    "backward",
    "detect_anomaly",
    "functional",
    "grad",
    "set_detect_anomaly",
]


class FunctionCtx:
    """The ``ctx`` passed to a custom function's ``forward``, ``backward`` and ``jvp``.

    Attributes:
        needs_input_grad: One bool per argument of ``forward``: whether it is a tensor that
            requires grad (backward may skip the others).
    """

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        self._to_save: tuple[Tensor | None, ...] = ()
        self._saved: tuple[Tensor | None, ...] | None = None

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keeps tensors (inputs or outputs of ``forward``) for ``backward`` and ``jvp``.

        Saved this way they are checked for in-place modification and do not form
        reference cycles with the function's outputs.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise DTypeError(
                    f"save_for_backward: argument {i} is {type(t).__name__}; only Tensors "
                    f"(or None) can be saved, other values can be set as ctx attributes"
                )
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple[Tensor | None, ...]:
        """The tensors given to ``save_for_backward``, in order."""
        if self._saved is None:
            raise GraphError(
                "saved_tensors is only available inside backward() and jvp(); save them in "
                "forward() with ctx.save_for_backward(...)"
            )
        return self._saved


class Function:
    """Base class of custom differentiable functions; see the module docstring."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        """Computes the outputs (a Tensor or a tuple of Tensors) without recording."""
        raise NotImplementedError(
            "subclasses of tapegrad.Function must define forward()"
        )

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Tensor) -> Any:
        """Returns one gradient per argument of ``forward`` (None where there is none)."""
        raise NotImplementedError(
            "subclasses of tapegrad.Function must define backward()"
        )

    jvp: Any = None
    """Optional ``jvp(ctx, *tangents)``: the output's tangent (forward mode). Tangents come
    one per argument of ``forward``: zeros for tensors without one, None for non-tensors."""

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Runs ``forward`` and records the call for backward (and forward mode)."""
        if _batched.any_batched(*args):  # under vmap: the documented loop
            from .._batched_native import function_fallback

            return function_fallback(cls, args)
        name = f"{cls.__name__}Backward"
        is_tensor = [isinstance(a, Tensor) for a in args]
        shapes = [a.shape if t else None for a, t in zip(args, is_tensor)]
        ctx = FunctionCtx(tuple(t and a.requires_grad for a, t in zip(args, is_tensor)))
        # forward runs unrecorded, and without propagating tangents: its own rules stand in.
        levels = _native._swap_dual_levels([])
        try:
            with no_grad():
                outputs = cls.forward(ctx, *args)
        finally:
            _native._swap_dual_levels(levels)
        single = isinstance(outputs, Tensor)
        if not single and not isinstance(outputs, (tuple, list)):
            raise DTypeError(
                f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, "
                f"got {type(outputs).__name__}"
            )
        outs = (outputs,) if single else tuple(outputs)
        for i, out in enumerate(outs):
            if not isinstance(out, Tensor):
                raise DTypeError(
                    f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors; "
                    f"output {i} is {type(out).__name__}"
                )

        # The rules below keep no reference to the arguments or outputs: the node holds
        # them, and a reference from its rule back to them would make a cycle through
        # Python that the collector cannot see (a leaf kept alive by its own gradient's
        # graph under create_graph=True, issue 13).
        n_args = len(args)
        arg_meta = [(a.shape, a.dtype) if t else None for a, t in zip(args, is_tensor)]
        out_shape = outs[0].shape

        def backward(
            ctx: FunctionCtx, grads: tuple[Tensor, ...], saved: tuple
        ) -> tuple:
            ctx._saved = saved
            try:
                result = cls.backward(ctx, *grads)
            finally:
                ctx._saved = None
            result = result if isinstance(result, tuple) else (result,)
            if len(result) != n_args:
                raise GraphError(
                    f"function {name} returned {len(result)} gradient(s), but forward took "
                    f"{n_args} argument(s): return one per argument (None where none)"
                )
            picked = []
            for i, (g, tensor_arg) in enumerate(zip(result, is_tensor)):
                if not tensor_arg:
                    if g is not None:
                        raise GraphError(
                            f"function {name} returned a gradient for argument {i}, which "
                            f"is not a Tensor; return None there"
                        )
                    continue
                if g is not None and not isinstance(g, Tensor):
                    raise DTypeError(
                        f"function {name} returned {type(g).__name__} as the gradient of "
                        f"argument {i}; expected a Tensor or None"
                    )
                if g is not None and g.shape != shapes[i]:
                    raise ShapeError(
                        f"function {name} returned a gradient of shape {tuple(g.shape)} for "
                        f"argument {i}, whose shape is {tuple(shapes[i] or ())}"
                    )
                picked.append(g)
            return tuple(picked)

        def jvp(ctx: FunctionCtx, tangents: tuple, saved: tuple) -> Tensor | None:
            per_arg: list[Tensor | None] = []
            given = iter(tangents)
            for meta in arg_meta:
                t = next(given) if meta is not None else None
                if t is None and meta is not None:
                    t = _native._full(meta[0], 0.0, meta[1], False)
                per_arg.append(t)
            ctx._saved = tuple(saved)
            try:
                tangent = cls.jvp(ctx, *per_arg)
            finally:
                ctx._saved = None
            if tangent is None:
                return None
            if not isinstance(tangent, Tensor):
                raise DTypeError(
                    f"{name} returned {type(tangent).__name__} from jvp; expected a Tensor"
                )
            # Exact shapes: broadcasting a scalar or a size-1 tangent would silently give a
            # wrong directional derivative.
            if tangent.shape != out_shape:
                raise ShapeError(
                    f"{name} returned a tangent of shape {tuple(tangent.shape)} from jvp for an "
                    f"output of shape {tuple(out_shape)}"
                )
            return tangent

        has_jvp = cls.jvp is not None
        inputs = [a for a, t in zip(args, is_tensor) if t]
        to_save = list(ctx._to_save)
        results = _native._apply_function(
            name, backward, jvp if has_jvp else None, ctx, inputs, outs, to_save
        )
        # `jvp` ran while recording; from now on the node keeps what forward saved as saved
        # tensors, and these Python references would only make cycles (see above).
        to_save.clear()
        ctx._to_save = ()
        return results[0] if single else results


from . import functional  # after Function: it is imported through tapegrad
from ._backward import backward, grad


def __dir__() -> list[str]:
    """Public names only (no ``np``, ``math``, ``Any``, ``annotations``...)."""
    return sorted(__all__)
