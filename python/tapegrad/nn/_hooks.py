"""Module hooks: the handles that remove them, and running a module call with its
forward pre-hooks, forward hooks and full backward hooks."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import tapegrad as tg
from tapegrad.autograd import Function, FunctionCtx

__all__ = ["RemovableHandle"]

_ids = itertools.count()


class RemovableHandle:
    """Returned by ``register_*_hook``: ``remove()`` unregisters the hook (also usable
    as a context manager, removing it on exit)."""

    def __init__(self, registry: OrderedDict[int, Any], prepend: bool = False) -> None:
        self.id = next(_ids)
        self._registry = registry
        if prepend:
            registry[self.id] = None
            registry.move_to_end(self.id, last=False)

    def remove(self) -> None:
        """Unregisters the hook (a second call does nothing)."""
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:  # noqa: PYI034
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def add_hook(
    registry: OrderedDict[int, Any], entry: Any, prepend: bool
) -> RemovableHandle:
    """Stores ``entry`` (last, or first with ``prepend``) and returns its handle."""
    handle = RemovableHandle(registry, prepend)
    registry[handle.id] = entry
    return handle


def call_with_hooks(
    module: Any, forward: Callable[..., Any], args: tuple, kwargs: dict
) -> Any:
    """``forward(*args, **kwargs)`` with the module's hooks, in PyTorch's order:
    pre-hooks (which may replace the arguments), forward, forward hooks (which may
    replace the output); backward hooks see the gradients of the tensor arguments
    and of the outputs."""
    for hook, with_kwargs in list(module._forward_pre_hooks.values()):
        if with_kwargs:
            result = hook(module, args, kwargs)
            if result is not None:
                args, kwargs = result
        else:
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
    state = None
    if module._backward_hooks and tg.is_grad_enabled():
        state = _BackwardHookState(module)
        args = state.wrap_inputs(args)
    output = forward(*args, **kwargs)
    for hook, with_kwargs in list(module._forward_hooks.values()):
        result = (
            hook(module, args, kwargs, output)
            if with_kwargs
            else hook(module, args, output)
        )
        if result is not None:
            output = result
    if state is not None:
        output = state.wrap_outputs(output)
    return output


class _BackwardHookState:
    """One call's gradients: identities around the tensor arguments and the outputs
    record ``grad_output`` (reached first in backward) and then hand ``grad_input``
    to the hooks, which may replace it."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.grad_output: tuple[tg.Tensor | None, ...] = ()
        self.positions: list[int] = []  # the tensor arguments
        self.differentiable: list[int] = []  # ... of those, the ones requiring grad

    def wrap_inputs(self, args: tuple) -> tuple:
        self.positions = [k for k, a in enumerate(args) if isinstance(a, tg.Tensor)]
        self.differentiable = [k for k in self.positions if args[k].requires_grad]
        if not self.differentiable:
            return args
        wrapped = _Identity.apply(
            self, "input", *(args[k] for k in self.differentiable)
        )
        replaced = list(args)
        for k, tensor in zip(self.differentiable, wrapped):
            replaced[k] = tensor
        return tuple(replaced)

    def wrap_outputs(self, output: Any) -> Any:
        single = isinstance(output, tg.Tensor)
        outputs = (output,) if single else output
        if not isinstance(outputs, tuple) or not all(
            isinstance(o, tg.Tensor) for o in outputs
        ):
            return output  # not tensors: nothing to hook, as PyTorch
        if not any(o.requires_grad for o in outputs):
            return output
        wrapped = _Identity.apply(self, "output", *outputs)
        return wrapped[0] if single else tuple(wrapped)

    def run_hooks(self, grad_input: tuple) -> tuple:
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                result = result if isinstance(result, tuple) else (result,)
                if len(result) != len(grad_input):
                    raise tg.GraphError(
                        f"backward hook returned {len(result)} gradients, but the "
                        f"module has {len(grad_input)} tensor inputs"
                    )
                grad_input = result
        return grad_input


class _Identity(Function):
    """Passes tensors through; in backward, records or hands over their gradients."""

    @staticmethod
    def forward(
        ctx: FunctionCtx, state: _BackwardHookState, side: str, *tensors: tg.Tensor
    ) -> tuple[tg.Tensor, ...]:
        ctx.state, ctx.side = state, side  # type: ignore[attr-defined]
        return tuple(t.detach() for t in tensors)

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: tg.Tensor) -> tuple:
        state: _BackwardHookState = ctx.state  # type: ignore[attr-defined]
        if ctx.side == "output":  # type: ignore[attr-defined]
            state.grad_output = grads
            if not state.differentiable:  # no input gradient will come: hooks now
                state.run_hooks(tuple(None for _ in state.positions))
            return (None, None, *grads)
        # grad_input: one entry per tensor argument, None where none is computed
        by_position = dict(zip(state.differentiable, grads))
        grad_input = state.run_hooks(tuple(by_position.get(k) for k in state.positions))
        chosen = dict(zip(state.positions, grad_input))
        return (None, None, *(chosen[k] for k in state.differentiable))
