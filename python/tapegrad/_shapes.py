"""Shape functions with PyTorch's names and signatures, composed from the primitives
(slicing, ``cat``, ``reshape``, ``permute``, ``expand``, integer-array indexing), so their
gradients come for free. A result made by view primitives alone (``narrow``, ``split``,
``unbind``, ``movedim``, ``diagonal``...) is a view of the input, as PyTorch's; the
others are copies."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtypes import refuse_bool
from ._errors import ArgumentError, AxisError, ShapeError
from ._native import Tensor, cat

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "chunk",
    "column_stack",
    "diag",
    "diag_embed",
    "dstack",
    "flip",
    "fliplr",
    "flipud",
    "hstack",
    "movedim",
    "narrow",
    "repeat_interleave",
    "roll",
    "rot90",
    "split",
    "swapaxes",
    "swapdims",
    "tensor_split",
    "tile",
    "trace",
    "tril",
    "triu",
    "unbind",
    "unflatten",
    "vstack",
]


def _dim(input: Tensor, dim: int, op: str, ndim: int | None = None) -> int:
    """``dim`` normalised to ``0 <= dim < ndim``, or an AxisError naming it."""
    n = input.ndim if ndim is None else ndim
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise ArgumentError(f"{op}: dim must be an int, got {dim!r}")
    if not -max(n, 1) <= dim < max(n, 1):
        raise AxisError(
            f"{op}: dim {dim} is out of range for a tensor of {n} dimensions "
            f"(shape {tuple(input.shape)})"
        )
    return int(dim) % max(n, 1)


def _take(input: Tensor, dim: int, start: int, stop: int, step: int = 1) -> Tensor:
    """``input`` sliced along ``dim`` (a differentiable copy)."""
    key = (slice(None),) * dim + (slice(start, stop, step),)
    return input[key]


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """Elements ``start .. start + length`` along ``dim``."""
    dim = _dim(input, dim, "narrow")
    size = input.shape[dim]
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise ShapeError(
            f"narrow: start {start} and length {length} exceed dimension {dim} of "
            f"size {size} (shape {tuple(input.shape)})"
        )
    return _take(input, dim, start, start + length)


def split(
    tensor: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0
) -> tuple[Tensor, ...]:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or pieces of the
    given sizes (which must add up to the dimension)."""
    dim = _dim(tensor, dim, "split")
    size = tensor.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0 and not (step == 0 and size == 0):
            raise ArgumentError(f"split: split_size must be positive, got {step}")
        bounds = [(i, min(i + step, size)) for i in range(0, size, step)] or [(0, 0)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != size:
            raise ShapeError(
                f"split: sizes {sizes} must be non-negative and sum to dimension {dim} "
                f"of size {size} (shape {tuple(tensor.shape)})"
            )
        starts = np.cumsum([0, *sizes])
        bounds = list(zip(starts[:-1].tolist(), starts[1:].tolist()))
    return tuple(_take(tensor, dim, a, b) for a, b in bounds)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces of equal size ``ceil(size / chunks)`` along ``dim``."""
    if chunks <= 0:
        raise ArgumentError(f"chunk: chunks must be positive, got {chunks}")
    dim = _dim(input, dim, "chunk")
    size = input.shape[dim]
    return split(input, max(-(-size // chunks), 1), dim)


def tensor_split(
    input: Tensor, indices_or_sections: int | Sequence[int], dim: int = 0
) -> tuple[Tensor, ...]:
    """``n`` pieces as equal as possible (the first ``size % n`` one larger), or pieces
    cut at the given indices (NumPy's ``array_split``)."""
    dim = _dim(input, dim, "tensor_split")
    size = input.shape[dim]
    if isinstance(indices_or_sections, (int, np.integer)):
        n = int(indices_or_sections)
        if n <= 0:
            raise ArgumentError(f"tensor_split: sections must be positive, got {n}")
        base, extra = divmod(size, n)
        sizes = [base + 1] * extra + [base] * (n - extra)
        cuts = np.cumsum([0, *sizes]).tolist()
    else:
        cuts = [0, *[int(i) for i in indices_or_sections], size]
    pieces = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        a, b = (min(max(c + size if c < 0 else c, 0), size) for c in (a, b))
        pieces.append(_take(input, dim, a, max(a, b)))
    return tuple(pieces)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, with that dimension removed."""
    dim = _dim(input, dim, "unbind")
    key = (slice(None),) * dim
    return tuple(input[(*key, i)] for i in range(input.shape[dim]))


def flip(input: Tensor, dims: int | Sequence[int]) -> Tensor:
    """Reverses the order of elements along ``dims``."""
    dims = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    key = [slice(None)] * input.ndim
    for d in dims:
        d = _dim(input, d, "flip")
        if key[d] != slice(None):
            raise ArgumentError(f"flip: dim {d} appears more than once in {dims}")
        key[d] = slice(None, None, -1)
    return input[tuple(key)] if input.ndim else input * 1.0


def fliplr(input: Tensor) -> Tensor:
    """Reverses dimension 1 (left/right); the input needs at least 2 dimensions."""
    if input.ndim < 2:
        raise ShapeError(
            f"fliplr: input must be >= 2-d, got shape {tuple(input.shape)}"
        )
    return flip(input, 1)


def flipud(input: Tensor) -> Tensor:
    """Reverses dimension 0 (up/down); the input needs at least 1 dimension."""
    if input.ndim < 1:
        raise ShapeError("flipud: input must be >= 1-d, got a 0-d tensor")
    return flip(input, 0)


def roll(
    input: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None
) -> Tensor:
    """Rotates elements by ``shifts`` along ``dims`` (None: over the flattened tensor)."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            raise ArgumentError("roll: with dims=None, shifts must be one int")
        return roll(input.flatten(), shifts, 0).reshape(*input.shape)
    shifts = [shifts] if isinstance(shifts, (int, np.integer)) else list(shifts)
    dims = [dims] if isinstance(dims, (int, np.integer)) else list(dims)
    if len(shifts) != len(dims):
        raise ArgumentError(
            f"roll: shifts {shifts} and dims {dims} must have the same length"
        )
    out = input
    for shift, d in zip(shifts, dims):
        d = _dim(input, d, "roll")
        size = input.shape[d]
        if size == 0:
            continue
        k = int(shift) % size
        if k:
            out = cat([_take(out, d, size - k, size), _take(out, d, 0, size - k)], d)
    return out


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotates by 90° ``k`` times in the plane of ``dims``, from the first toward the
    second."""
    dims = list(dims)
    if len(dims) != 2:
        raise ArgumentError(f"rot90: dims must name two dimensions, got {dims}")
    a, b = (_dim(input, d, "rot90") for d in dims)
    if a == b:
        raise ArgumentError(f"rot90: the two dims must differ, got {dims}")
    k %= 4
    if k == 1:
        return flip(input, b).transpose(a, b)
    if k == 2:
        return flip(input, [a, b])
    if k == 3:
        return flip(input, a).transpose(a, b)
    return input * 1.0


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """Repeats the whole tensor ``dims[i]`` times along each dimension (missing leading
    repetitions are 1; missing leading dimensions are added)."""
    reps = [int(r) for r in dims]
    if any(r < 0 for r in reps):
        raise ArgumentError(f"tile: repetitions must be non-negative, got {reps}")
    if any(r > 1 << 48 for r in reps):  # the core's element limit
        raise ShapeError(f"tile: repetitions {reps} are too large")
    ndim = max(len(reps), input.ndim)
    reps = [1] * (ndim - len(reps)) + reps
    shape = [1] * (ndim - input.ndim) + list(input.shape)
    x = input.reshape(*shape)
    # (s0, s1, ...) -> (1, s0, 1, s1, ...) -> (r0, s0, r1, s1, ...) -> (r0 s0, r1 s1, ...)
    interleaved = x.reshape(*[v for s in shape for v in (1, s)])
    wide = interleaved.expand(*[v for r, s in zip(reps, shape) for v in (r, s)])
    return wide.reshape(*[r * s for r, s in zip(reps, shape)])


def repeat(input: Tensor, *sizes: Any) -> Tensor:
    """``Tensor.repeat``: repeats the tensor ``sizes[i]`` times along each dimension
    (``sizes`` may be one sequence; it needs at least ``input.ndim`` entries)."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < input.ndim:
        raise ArgumentError(
            f"repeat: {len(sizes)} repetitions {tuple(sizes)} for a tensor of "
            f"{input.ndim} dimensions: give at least one per dimension"
        )
    return tile(input, sizes)


def repeat_interleave(
    input: Tensor,
    repeats: int,
    dim: int | None = None,
    *,
    output_size: int | None = None,
) -> Tensor:
    """Repeats each element ``repeats`` times along ``dim`` (None: the flattened tensor)."""
    if not isinstance(repeats, (int, np.integer)):
        raise ArgumentError(
            "repeat_interleave: only an int number of repeats is supported, got "
            f"{type(repeats).__name__}"
        )
    if repeats < 0:
        raise ArgumentError(f"repeat_interleave: repeats must be >= 0, got {repeats}")
    if dim is None:
        input, dim = input.flatten(), 0
    dim = _dim(input, dim, "repeat_interleave")
    shape = list(input.shape)
    wide = input.unsqueeze(dim + 1)
    sizes = shape[: dim + 1] + [int(repeats)] + shape[dim + 1 :]
    out = wide.expand(*sizes)
    shape[dim] *= int(repeats)
    if output_size is not None and output_size != shape[dim]:
        raise ShapeError(
            f"repeat_interleave: output_size {output_size} != {shape[dim]}"
        )
    return out.reshape(*shape)


def movedim(
    input: Tensor, source: int | Sequence[int], destination: int | Sequence[int]
) -> Tensor:
    """Moves dimensions ``source`` to positions ``destination``, keeping the others in
    order."""
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = (
        [destination]
        if isinstance(destination, (int, np.integer))
        else list(destination)
    )
    if len(src) != len(dst):
        raise ArgumentError(
            f"movedim: source {src} and destination {dst} must have the same length"
        )
    src = [_dim(input, d, "movedim") for d in src]
    dst = [_dim(input, d, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ArgumentError(
            f"movedim: repeated dims in source {src} or destination {dst}"
        )
    order: list[int | None] = [None] * input.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(input.ndim) if d not in src)
    perm = [next(rest) if o is None else o for o in order]
    return input.permute(*perm) if input.ndim else input


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """Swaps two dimensions (NumPy's name for ``transpose``)."""
    return input.transpose(axis0, axis1)


def swapdims(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swaps two dimensions (PyTorch's other name for ``transpose``)."""
    return input.transpose(dim0, dim1)


def _diagonal_index(rows: int, cols: int, offset: int) -> np.ndarray:
    """Flat indices of the ``offset`` diagonal of a ``rows × cols`` matrix."""
    if offset >= 0:
        n = max(min(rows, cols - offset), 0)
        return np.arange(n) * (cols + 1) + offset
    n = max(min(rows + offset, cols), 0)
    return np.arange(n) * (cols + 1) - offset * cols


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-d tensor."""
    if input.ndim != 2:
        raise ShapeError(f"trace: input must be 2-d, got shape {tuple(input.shape)}")
    refuse_bool("trace", input)
    return input.diagonal().sum()


def diag_embed(
    input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1
) -> Tensor:
    """Matrices (in ``dim1``, ``dim2`` of the result) whose ``offset`` diagonals are the
    last dimension of ``input``."""
    n = input.shape[-1] if input.ndim else 1
    size = n + abs(offset)
    # A constant (n, size*size) one-hot placement matrix: result = input @ placement.
    from . import tensor as _tensor

    if input.dtype.is_floating_point:
        placement = np.zeros((n, size * size))
        placement[np.arange(n), _diagonal_index(size, size, offset)] = 1.0
        place = _tensor(placement, dtype=input.dtype)
        flat = (input.unsqueeze(-1) if input.ndim == 0 else input).unsqueeze(-2) @ place
    else:  # no gradient to carry: write the values in place (bools have no product)
        from . import zeros

        flat = zeros(*input.shape[:-1], size * size, dtype=input.dtype)
        flat[..., _tensor(_diagonal_index(size, size, offset))] = input
    out = flat.reshape(*input.shape[:-1], size, size)
    ndim = out.ndim
    a = dim1 % ndim if -ndim <= dim1 < ndim else None
    b = dim2 % ndim if -ndim <= dim2 < ndim else None
    if a is None or b is None or a == b:
        raise AxisError(
            f"diag_embed: dim1 {dim1} and dim2 {dim2} must be distinct dimensions of "
            f"the {ndim}-d result"
        )
    return movedim(out, [ndim - 2, ndim - 1], [a, b])


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A 1-d input becomes a square matrix with it on the ``diagonal``-th diagonal; a
    2-d input gives that diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal)
    if input.ndim == 2:
        return input.diagonal(diagonal).clone()  # a copy, as PyTorch's
    raise ShapeError(f"diag: input must be 1-d or 2-d, got shape {tuple(input.shape)}")


def _triangle(input: Tensor, diagonal: int, lower: bool, op: str) -> Tensor:
    if input.ndim < 2:
        raise ShapeError(f"{op}: input must be >= 2-d, got shape {tuple(input.shape)}")
    rows, cols = input.shape[-2], input.shape[-1]
    keep = (
        np.tri(rows, cols, diagonal, dtype=bool)
        if lower
        else ~np.tri(rows, cols, diagonal - 1, dtype=bool)
    )
    from . import tensor as _tensor
    from . import where, zeros

    return where(_tensor(keep), input, zeros((), dtype=input.dtype))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below the ``diagonal``-th diagonal); zeros above."""
    return _triangle(input, diagonal, True, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above the ``diagonal``-th diagonal); zeros below."""
    return _triangle(input, diagonal, False, "triu")


def _atleast(tensors: tuple[Any, ...], n: int) -> Any:
    def one(t: Tensor) -> Tensor:
        if t.ndim >= n:
            return t
        if n == 3 and t.ndim == 2:
            return t.unsqueeze(-1)
        if n == 3 and t.ndim == 1:
            return t.reshape(1, t.shape[0], 1)
        return t.reshape(*([1] * (n - t.ndim)), *t.shape)

    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(one(t) for t in tensors[0])
    out = tuple(one(t) for t in tensors)
    return out[0] if len(out) == 1 else out


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 dimension (0-d becomes shape ``(1,)``)."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 dimensions (leading 1s added)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 dimensions (NumPy's placement: ``(n,)`` becomes
    ``(1, n, 1)``, ``(m, n)`` becomes ``(m, n, 1)``)."""
    return _atleast(tensors, 3)


def _check_sequence(tensors: Sequence[Tensor], op: str) -> list[Tensor]:
    tensors = list(tensors)
    if not tensors:
        raise ArgumentError(f"{op}: expects a non-empty sequence of tensors")
    return tensors


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenates along dimension 1 (dimension 0 for 1-d tensors)."""
    tensors = [atleast_1d(t) for t in _check_sequence(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenates along dimension 0 after making each tensor at least 2-d."""
    return cat([atleast_2d(t) for t in _check_sequence(tensors, "vstack")], 0)


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenates along dimension 2 after making each tensor at least 3-d."""
    return cat([atleast_3d(t) for t in _check_sequence(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Stacks as columns: 0-d and 1-d tensors become ``(n, 1)``, then ``hstack``."""
    cols = []
    for t in _check_sequence(tensors, "column_stack"):
        cols.append(t.reshape(t.numel(), 1) if t.ndim <= 1 else t)
    return cat(cols, 1)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Splits dimension ``dim`` into ``sizes`` (one may be -1)."""
    dim = _dim(input, dim, "unflatten")
    sizes = [int(s) for s in sizes]
    known = int(np.prod([s for s in sizes if s != -1]))
    if (
        sizes.count(-1) > 1
        or (-1 not in sizes and known != input.shape[dim])
        or (-1 in sizes and (known == 0 or input.shape[dim] % known))
    ):
        raise ShapeError(
            f"unflatten: sizes {sizes} do not multiply to dimension {dim} of size "
            f"{input.shape[dim]} (shape {tuple(input.shape)})"
        )
    shape = list(input.shape)
    return input.reshape(*shape[:dim], *sizes, *shape[dim + 1 :])
