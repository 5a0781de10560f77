"""``tapegrad.autograd.grad`` and ``tapegrad.autograd.backward`` with PyTorch's
signatures, over the engine's one backward sweep."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from .. import _native
from .._errors import ArgumentError, DTypeError, GraphError, ShapeError
from .._grad_mode import enable_grad
from .._native import Tensor

__all__ = ["backward", "grad"]

Tensors = Union[Tensor, Sequence[Tensor]]


def _as_list(value: Any, name: str, fn: str) -> list[Any]:
    items = [value] if isinstance(value, Tensor) else list(value)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise DTypeError(
                f"{fn}: {name}[{i}] is {type(item).__name__}, expected a Tensor"
            )
    return items


def _grad_list(value: Any, count: int, fn: str) -> list[Tensor | None]:
    if value is None:
        return [None] * count
    items = [value] if isinstance(value, Tensor) else list(value)
    if len(items) != count:
        raise ArgumentError(
            f"{fn}: got {len(items)} gradient tensor(s) for {count} output tensor(s)"
        )
    return items


def grad(
    outputs: Tensors,
    inputs: Tensors,
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Nothing is accumulated into ``.grad``. ``grad_outputs`` weighs each output (needed
    for non-scalar ones); ``retain_graph`` defaults to ``create_graph``; an input the
    outputs do not depend on raises unless ``allow_unused`` (None for it) or
    ``materialize_grads`` (zeros for it). With ``is_grads_batched`` the first
    dimension of each ``grad_outputs`` entry is a batch of cotangents: one sweep per
    entry, the results stacked. ``only_inputs`` is accepted (deprecated in PyTorch).

    Raises:
        ArgumentError: If ``materialize_grads`` is combined with
            ``allow_unused=False``, or the counts of outputs and gradients differ.
        GraphError: If an input is unused and neither option allows it.
    """
    outs = _as_list(outputs, "outputs", "grad")
    ins = _as_list(inputs, "inputs", "grad")
    if materialize_grads and allow_unused is False:
        raise ArgumentError(
            "grad: expected allow_unused to be True or not passed when "
            "materialize_grads=True, but got allow_unused=False"
        )
    unused_ok = bool(materialize_grads if allow_unused is None else allow_unused)
    seeds = _grad_list(grad_outputs, len(outs), "grad")
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if is_grads_batched:
        result = _batched(outs, ins, seeds, retain, create_graph, unused_ok)
    else:
        result = _native._grad(outs, ins, seeds, retain, create_graph, unused_ok)
    if materialize_grads:
        result = tuple(
            g if g is not None else _native._full(x.shape, 0.0, x.dtype, False)
            for g, x in zip(result, ins)
        )
    return tuple(result)


def _batched(
    outs: list[Tensor],
    ins: list[Tensor],
    seeds: list[Tensor | None],
    retain: bool,
    create_graph: bool,
    unused_ok: bool,
) -> tuple[Tensor | None, ...]:
    sizes = {s.shape[0] for s in seeds if s is not None and s.ndim}
    if None in seeds or len(sizes) != 1:
        raise ShapeError(
            "grad: is_grads_batched=True needs every grad_outputs entry to be a tensor "
            f"with the same first (batch) dimension, got shapes "
            f"{[None if s is None else s.shape for s in seeds]}"
        )
    (count,) = sizes
    rows = []
    for k in range(count):
        last = k == count - 1
        rows.append(
            _native._grad(
                outs,
                ins,
                [s[k] for s in seeds],  # type: ignore[index]
                retain or not last,
                create_graph,
                unused_ok,
            )
        )
    return tuple(
        None if column[0] is None else _native.stack(list(column), 0)
        for column in zip(*rows)
    )


def backward(
    tensors: Tensors,
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Any = None,
    inputs: Tensors | None = None,
) -> None:
    """Accumulates the gradients of ``tensors`` into the leaves' ``.grad``, as
    ``torch.autograd.backward``: one sweep for all of them, each weighted by its
    entry of ``grad_tensors`` (which may be None for a one-element tensor).

    With ``inputs``, only those tensors' ``.grad`` is accumulated.

    Raises:
        GraphError: If a tensor does not require grad.
        ShapeError: If a non-scalar tensor has no gradient given.
    """
    if grad_variables is not None:  # PyTorch's deprecated name
        grad_tensors = grad_variables
    roots = _as_list(tensors, "tensors", "backward")
    seeds = _grad_list(grad_tensors, len(roots), "backward")
    for i, (root, seed) in enumerate(zip(roots, seeds)):
        if not root.requires_grad:
            raise GraphError(
                f"backward: element {i} of tensors does not require grad and does not "
                f"have a grad_fn"
            )
        if seed is None and root.numel() != 1:
            raise ShapeError(
                f"backward: grad can be implicitly created only for scalar outputs, "
                f"but element {i} has shape {tuple(root.shape)}"
            )
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if inputs is not None:
        targets = _as_list(inputs, "inputs", "backward")
        found = _native._grad(roots, targets, seeds, retain, create_graph, True)
        for target, g in zip(targets, found):
            if g is not None:
                target.grad = g if target.grad is None else target.grad + g
        return
    if len(roots) == 1:
        roots[0].backward(seeds[0], retain, create_graph)
        return
    # One sweep for several roots: the gradient of sum_i <root_i, seed_i> is
    # seed_i at each root_i, so backward from that sum is backward from them all.
    with enable_grad():
        total = None
        for root, seed in zip(roots, seeds):
            term = root.sum() if seed is None else (root * seed).sum()
            total = term if total is None else total + term
    total.backward(None, retain, create_graph)  # type: ignore[union-attr]
