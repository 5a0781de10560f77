"""Gradient checkpointing: trade one extra forward pass for the activations' memory.

:func:`checkpoint` runs a function, keeps only its inputs, and re-runs it inside backward.
:func:`checkpoint_sequential` splits a chain of layers into balanced segments (about
``sqrt(depth)`` of them by default, or the fewest that fit a byte budget), so the activations
kept at once fall from O(depth) to O(sqrt(depth)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import _native
from ._errors import ArgumentError, DTypeError
from ._grad_mode import enable_grad, is_grad_enabled
from ._native import Tensor
from .autograd import FunctionCtx
from .memory import peak_saved_bytes, reset_peak, saved_bytes

__all__ = ["CheckpointPlan", "checkpoint", "checkpoint_sequential"]


def checkpoint(fn: Callable[..., Any], *args: Any) -> Any:
    """Calls ``fn(*args)`` keeping only its inputs for backward; backward re-runs ``fn``.

    Gradients are the same as without checkpointing (for every tensor ``fn`` uses: its
    arguments and anything it closes over, such as module parameters). Random ops inside
    (``Dropout``) draw the same numbers when re-run. Checkpoints nest.
    """
    if not callable(fn):
        raise DTypeError(f"checkpoint: expected a callable, got {type(fn).__name__}")
    if not is_grad_enabled():
        return fn(*args)
    rng = _native._rng_state()
    start = _native._next_node_seq()
    out = fn(*args)
    single = isinstance(out, Tensor)
    outs = (out,) if single else tuple(out)
    tensor_args = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
    # What the segment used from outside besides its arguments: parameters, captured tensors.
    others = list(_native._external_inputs(outs, start, tensor_args))
    inputs = tensor_args + others
    if not inputs:
        return out
    values = tuple(o.detach() for o in outs)
    del out, outs  # the segment's graph (its activations) is freed here

    def backward(ctx: FunctionCtx, grads: tuple[Tensor, ...], saved: tuple) -> tuple:
        # Re-run the segment from the saved arguments, with the random numbers of the first run.
        now = _native._rng_state()
        create_graph = is_grad_enabled()
        _native._set_rng_state(rng)
        try:
            kept, fresh, call = iter(saved), [], []
            for a in args:
                if isinstance(a, Tensor):
                    a = next(kept)
                    if a.requires_grad:
                        # A fresh leaf stops the sweep at the segment's boundary; with
                        # create_graph the gradient must stay a function of the real input.
                        a = a if create_graph else a.detach().requires_grad_()
                        fresh.append(a)
                call.append(a)
            with enable_grad():
                again = fn(*call)
        finally:
            _native._set_rng_state(now)
        again = (again,) if isinstance(again, Tensor) else tuple(again)
        found = _native._grad_within(again, fresh + others, grads, create_graph)
        return found

    # Every tensor argument is kept, also those that need no gradient (the data batch): the
    # re-run needs them, so the memory bill counts them and in-place changes are caught.
    kept_args = tuple(a for a in args if isinstance(a, Tensor))
    ctx = FunctionCtx(tuple(True for _ in inputs))
    results = _native._apply_function(
        "CheckpointBackward", backward, None, ctx, inputs, values, kept_args
    )
    return results[0] if single else results


@dataclass
class CheckpointPlan:
    """How :func:`checkpoint_sequential` split the layers, and what it predicted.

    Attributes:
        sizes: Layers per segment (balanced: sizes differ by at most one).
        layer_bytes: Measured bytes each layer saves for backward.
        predicted_peak_bytes: Predicted peak of bytes saved for backward during the step.
        measured_peak_bytes: Filled by :meth:`measure` after backward.
    """

    sizes: list[int]
    layer_bytes: list[int]
    predicted_peak_bytes: int | None
    measured_peak_bytes: int | None = None
    _baseline: int = 0

    @property
    def segments(self) -> int:
        """Number of segments."""
        return len(self.sizes)

    def measure(self) -> int:
        """Records (and returns) the peak saved bytes since the call, above what was held
        before it: call after ``backward()``."""
        self.measured_peak_bytes = peak_saved_bytes() - self._baseline
        return self.measured_peak_bytes

    def __str__(self) -> str:
        measured = (
            ""
            if self.measured_peak_bytes is None
            else f", measured peak {self.measured_peak_bytes:,} B"
        )
        predicted = (
            ""
            if self.predicted_peak_bytes is None
            else f": predicted peak {self.predicted_peak_bytes:,} B saved for backward"
        )
        return f"{self.segments} segments of {self.sizes} layers{predicted}{measured}"


def _balanced(n: int, segments: int) -> list[int]:
    base, extra = divmod(n, segments)
    return [base + 1 if i < extra else base for i in range(segments)]


def _predict(layer_bytes: list[int], input_bytes: list[int], sizes: list[int]) -> int:
    """Peak saved bytes for a split.

    Backward runs the segments last to first, freeing each one's kept input once it has run.
    So while segment ``i`` is re-run (or, for the last one, kept from the forward pass), the
    inputs kept by the checkpointed segments ``0..i`` are held, and no later ones.
    """
    peak = kept = 0
    start = 0
    for i, size in enumerate(sizes):
        if (
            i < len(sizes) - 1
        ):  # the last segment is not checkpointed: it keeps no input
            kept += input_bytes[start]
        peak = max(peak, kept + sum(layer_bytes[start : start + size]))
        start += size
    return peak


def checkpoint_sequential(
    functions: Sequence[Callable[[Any], Any]],
    input: Tensor,
    segments: int | str = "sqrt",
    *,
    budget_bytes: int | None = None,
    return_plan: bool = False,
) -> Any:
    """Runs ``functions`` in sequence, checkpointing balanced segments of them.

    Args:
        functions: Callables of one argument (layers), applied in order.
        input: The first layer's input.
        segments: How many segments: an int, or ``"sqrt"`` for ``ceil(sqrt(n))``.
        budget_bytes: Instead of ``segments``: choose the fewest segments whose predicted
            peak of saved bytes fits; the prediction uses each layer's saved bytes, measured
            on one extra forward pass. Raises if even one layer per segment does not fit,
            naming the minimum.
        return_plan: Also return the :class:`CheckpointPlan` (call its ``measure()`` after
            backward for the measured peak). Only then is the process-wide peak counter
            (:func:`tapegrad.peak_saved_bytes`) restarted; otherwise it is left alone.

    Returns:
        The output of the last layer, or ``(output, plan)`` with ``return_plan``.
    """
    if isinstance(segments, Tensor) and not isinstance(input, Tensor):
        raise DTypeError(
            f"checkpoint_sequential: input is {type(input).__name__} and segments is a "
            f"Tensor: tapegrad.checkpoint_sequential takes (functions, input, segments); "
            f"tapegrad.utils.checkpoint.checkpoint_sequential takes PyTorch's order "
            f"(functions, segments, input)"
        )
    layers = list(functions)
    for i, f in enumerate(layers):
        if not callable(f):
            raise DTypeError(
                f"checkpoint_sequential: functions[{i}] is {type(f).__name__}, not callable"
            )
    n = len(layers)
    if n == 0:
        raise ArgumentError("checkpoint_sequential: functions is empty")
    if budget_bytes is None:
        if segments == "sqrt":
            count = math.ceil(math.sqrt(n))
        elif isinstance(segments, int) and not isinstance(segments, bool):
            count = segments
        else:
            raise ArgumentError(
                f"checkpoint_sequential: segments must be a positive int or 'sqrt', "
                f"got {segments!r}"
            )
        if not 1 <= count <= n:
            raise ArgumentError(
                f"checkpoint_sequential: segments={count} must be between 1 and the number "
                f"of functions ({n})"
            )
    elif not (
        isinstance(budget_bytes, int)
        and not isinstance(budget_bytes, bool)
        and budget_bytes > 0
    ):
        raise ArgumentError(
            f"checkpoint_sequential: budget_bytes must be a positive int, got "
            f"{budget_bytes!r}"
        )

    # Measuring costs one extra forward pass: only when a budget or the plan asks for it.
    measured = budget_bytes is not None or return_plan
    layer_bytes, input_bytes = _measure_layers(layers, input) if measured else ([], [])
    if budget_bytes is not None:
        fits = [
            k
            for k in range(1, n + 1)
            if _predict(layer_bytes, input_bytes, _balanced(n, k)) <= budget_bytes
        ]
        if not fits:
            least = min(
                _predict(layer_bytes, input_bytes, _balanced(n, k))
                for k in range(1, n + 1)
            )
            raise ArgumentError(
                f"checkpoint_sequential: budget_bytes={budget_bytes:,} is below the minimum "
                f"possible peak of {least:,} bytes saved for backward for these layers"
            )
        count = fits[0]
    sizes = _balanced(n, count)
    predicted = _predict(layer_bytes, input_bytes, sizes) if measured else None
    plan = CheckpointPlan(sizes, layer_bytes, predicted)
    if return_plan:
        # Only the returned plan reads the peak: a caller's own measurement stays intact.
        plan._baseline = saved_bytes()
        reset_peak()

    x = input
    start = 0
    for i, size in enumerate(sizes):
        chunk = layers[start : start + size]
        start += size

        def run(h: Any, chunk: list = chunk) -> Any:
            for f in chunk:
                h = f(h)
            return h

        # The last segment's activations are needed right away: keep them normally.
        x = run(x) if i == len(sizes) - 1 else checkpoint(run, x)
    return (x, plan) if return_plan else x


def _measure_layers(layers: list, input: Tensor) -> tuple[list[int], list[int]]:
    """Each layer's saved bytes and its input's bytes, from one forward pass that frees each
    layer's graph as soon as it is measured."""
    layer_bytes, input_bytes = [], []
    x = input.detach()
    # Each layer sees an input that requires grad exactly when the real one will (a layer
    # saves less when it does not: the first Linear on a data batch keeps no weight).
    needs_grad = input.requires_grad
    rng = _native._rng_state()  # the real pass must draw the same random numbers
    with enable_grad():
        for f in layers:
            input_bytes.append(x.numel() * x.dtype.itemsize)
            h = x.detach().requires_grad_(needs_grad)
            before = saved_bytes()
            out = f(h)
            layer_bytes.append(saved_bytes() - before)
            needs_grad = out.requires_grad
            x = out.detach()
            del out, h
    _native._set_rng_state(rng)
    return layer_bytes, input_bytes
