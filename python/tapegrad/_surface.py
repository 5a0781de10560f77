"""PyTorch names that scripts call, composed from the primitives: ranges and index
tables (``linspace``, ``tril_indices``...), grids and products of tensors (``meshgrid``,
``cartesian_prod``, ``block_diag``...), shape aliases (``select``, ``ravel``, ``hsplit``...)
and the predicates and no-ops of a real CPU tensor (``is_complex``, ``pin_memory``, ``H``,
``conj``...). Gradients come from the primitives they are made of."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from . import _creation, _native, _shapes
from ._device import accepts_device
from ._errors import ArgumentError, AxisError, DTypeError, GraphError, ShapeError
from ._native import Tensor, cat
from ._size import Size

__all__ = [
    "are_deterministic_algorithms_enabled",
    "as_tensor",
    "block_diag",
    "broadcast_shapes",
    "broadcast_tensors",
    "cartesian_prod",
    "combinations",
    "compile",
    "concat",
    "concatenate",
    "dsplit",
    "hsplit",
    "is_deterministic_algorithms_warn_only_enabled",
    "is_nonzero",
    "linspace",
    "logspace",
    "meshgrid",
    "moveaxis",
    "ravel",
    "row_stack",
    "select",
    "t",
    "tril_indices",
    "triu_indices",
    "use_deterministic_algorithms",
    "vander",
    "vsplit",
]

# ---- creation ------------------------------------------------------------------------


def _scalar(value: Any, op: str, name: str) -> float:
    """A Python number from a number or a 0-d tensor (PyTorch's rule for start/end)."""
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(
                f"{op} only supports 0-dimensional start and end tensors, but got "
                f"{name} with {value.ndim} dimension(s)."
            )
        return float(value.item())
    return float(value)


def _spaced(start: Any, end: Any, steps: int, op: str) -> np.ndarray:
    """``steps`` evenly spaced float64 values, PyTorch's symmetric formula (exact ends)."""
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool):
        raise DTypeError(f"{op}: steps must be an int, got {type(steps).__name__}")
    if steps < 0:
        raise ArgumentError("number of steps must be non-negative")
    a, b = _scalar(start, op, "start"), _scalar(end, op, "end")
    if steps == 1:
        return np.array([a])
    i = np.arange(steps, dtype=np.float64)
    step = (b - a) / (steps - 1) if steps > 1 else 0.0
    half = steps // 2
    return np.where(i < half, a + i * step, b - (steps - 1 - i) * step)


def _made(values: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    name = _creation._dtype_name(dtype) or _creation._default_name()
    return _creation.tensor(values, dtype=name, requires_grad=requires_grad)


@accepts_device
def linspace(
    start: Any,
    end: Any,
    steps: int,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` (both included).

    ``start`` and ``end`` are numbers or 0-d tensors; the dtype is the default float
    dtype unless given (integer dtypes truncate, as PyTorch).
    """
    return _made(_spaced(start, end, steps, "linspace"), dtype, requires_grad)


@accepts_device
def logspace(
    start: Any,
    end: Any,
    steps: int,
    base: float = 10.0,
    *,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    exponents = _spaced(start, end, steps, "logspace")
    with np.errstate(over="ignore"):
        return _made(np.power(float(base), exponents), dtype, requires_grad)


@accepts_device
def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a tensor: a tensor of the requested dtype is returned itself (no copy);
    another tensor is converted with ``to`` (keeping its graph); a NumPy array of that dtype
    shares its memory (``from_numpy``) when it can be shared; other data is copied (also a
    read-only, misaligned or byte-swapped array, which PyTorch would share: see README)."""
    if isinstance(data, Tensor):
        name = _creation._dtype_name(dtype)
        return data if name is None else data.to(getattr(_native, name))
    if isinstance(data, np.ndarray) and (
        dtype is None or _creation._dtype_name(dtype) == str(data.dtype)
    ):
        try:
            return _creation.from_numpy(data)
        except (DTypeError, ArgumentError):
            pass  # not shareable: copied below, as any other data
    return _creation.tensor(data, dtype=dtype)


def legacy_new(
    args: tuple[Any, ...],
    device: Any = None,
    dtype: str | None = None,
    name: str = "Tensor",
) -> Tensor:
    """``tapegrad.Tensor(...)``: PyTorch's legacy constructor, in the default dtype (or
    ``dtype``, for ``tapegrad.LongTensor(...)`` and the other legacy types)."""
    from ._device import as_device

    as_device(device)
    dtype = dtype or _creation._default_name()
    if not args:
        return _creation.zeros(0, dtype=dtype)
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])  # a Size is sizes, any other tuple is data
        if not args:
            return _creation.zeros((), dtype=dtype)
    if len(args) == 1 and isinstance(args[0], Tensor):
        source = args[0]
        if source.dtype != getattr(_native, dtype):
            raise DTypeError(
                f"{name}(): expected a {dtype} tensor, got {source.dtype.name}; use "
                "tapegrad.tensor(data, dtype=...) to convert"
            )
        return source.detach()
    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        return _creation.zeros(*args, dtype=dtype)  # tapegrad hands out no garbage
    if len(args) == 1 and not isinstance(args[0], (bool, int, float, np.generic)):
        return _creation.tensor(args[0], dtype=dtype)
    raise DTypeError(
        f"{name}(): expected sizes (ints) or one sequence of data, got "
        f"{tuple(type(a).__name__ for a in args)}"
    )


def _triangle_indices(
    row: int, col: int, offset: int, dtype: Any, lower: bool, op: str
) -> Tensor:
    for name, value in (("row", row), ("col", col)):
        if value < 0:
            raise ArgumentError(f"{name} must be non-negative, got {value}")
    name = _creation._dtype_name(dtype) or "int64"
    if name not in ("int32", "int64"):
        raise DTypeError(f'"{op}" not implemented for {name}: use int32 or int64')
    keep = np.tri(row, col, offset, dtype=bool)
    rows, cols = np.nonzero(keep if lower else ~np.tri(row, col, offset - 1, dtype=bool))
    return _creation.tensor(np.stack([rows, cols]).reshape(2, -1), dtype=name)


@accepts_device
def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None) -> Tensor:
    """A ``2 × N`` int64 tensor: the row and column indices of the lower triangle of a
    ``row × col`` matrix (on and below diagonal ``offset``), row by row."""
    return _triangle_indices(row, col, offset, dtype, True, "tril_indices")


@accepts_device
def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None) -> Tensor:
    """A ``2 × N`` int64 tensor: the indices of the upper triangle (on and above diagonal
    ``offset``), row by row."""
    return _triangle_indices(row, col, offset, dtype, False, "triu_indices")


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of a 1-d ``x``: columns ``x ** (N-1), ..., x, 1`` (or the
    reverse with ``increasing``). Integer and bool inputs give int64."""
    if x.ndim != 1:
        raise ShapeError(
            f"x must be a one-dimensional tensor, got shape {tuple(x.shape)}"
        )
    n = x.shape[0] if N is None else int(N)
    if n < 0:
        raise ArgumentError("N must be non-negative.")
    if not x.is_floating_point():
        x = x.to(_native.int64)
    if n == 0:
        return x.unsqueeze(1)[:, :0]
    # Powers by repeated products (as PyTorch): exact for integers, and x ** 0 has no
    # gradient trouble at x = 0.
    ones = _creation.ones_like(x).unsqueeze(1)
    columns = [ones]
    if n > 1:
        columns.append(_scans_cumprod(x.unsqueeze(1).expand(x.shape[0], n - 1), 1))
    out = cat(columns, 1)
    return out if increasing else _shapes.flip(out, 1)


def _scans_cumprod(x: Tensor, dim: int) -> Tensor:
    from ._scans import cumprod

    return cumprod(x, dim)


# ---- grids and products of tensors --------------------------------------------------


def _tensor_list(tensors: tuple[Any, ...]) -> list[Tensor]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d tensors: with ``indexing="ij"`` output ``k`` varies along
    dimension ``k``; ``"xy"`` swaps the first two dimensions (NumPy's default). Omitting
    ``indexing`` means ``"ij"`` and warns, as PyTorch. The results are views (expands)."""
    inputs = _tensor_list(tensors)
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the "
            "indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(
            'torch.meshgrid: indexing must be one of "xy" or "ij", but received: '
            f"{indexing}"
        )
    if not inputs:
        raise ArgumentError("meshgrid expects a non-empty TensorList")
    for t in inputs:
        if t.ndim > 1:
            raise ShapeError(
                "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got "
                f"shape {tuple(t.shape)}"
            )
        if t.dtype != inputs[0].dtype:
            raise DTypeError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(inputs) >= 2
    if swap:
        inputs[0], inputs[1] = inputs[1], inputs[0]
    sizes = [t.numel() for t in inputs]
    grids = []
    for k, t in enumerate(inputs):
        shape = [1] * len(inputs)
        shape[k] = sizes[k]
        grids.append(t.reshape(*shape).expand(*sizes))
    if swap:  # the grid of (b, a, ...) in "ij" order, outputs back in (a, b, ...) order
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one element from each 1-d tensor, as rows (itertools'
    ``product``); one tensor is returned as it is."""
    inputs = _tensor_list(tensors)
    for t in inputs:
        if t.ndim != 1:
            raise ShapeError(
                f"Expect a 1D vector, but got shape {list(t.shape)}"
            )
    if len(inputs) == 1:
        return inputs[0]
    grids = meshgrid(*inputs, indexing="ij")
    return _native.stack([g.flatten() for g in grids], 1)


def combinations(
    input: Tensor, r: int = 2, with_replacement: bool = False
) -> Tensor:
    """The ``r``-element combinations of a 1-d ``input`` as rows (itertools'
    ``combinations``, or ``combinations_with_replacement``)."""
    if input.ndim != 1:
        raise ShapeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise ArgumentError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input[:0]
    pick = (
        itertools.combinations_with_replacement
        if with_replacement
        else itertools.combinations
    )
    rows = list(pick(range(input.shape[0]), r))
    if not rows:
        return input[:0].unsqueeze(1).expand(0, r)
    index = np.array(rows, dtype=np.int64)
    return input[index.reshape(-1).tolist()].reshape(len(rows), r)


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (0-d, 1-d as one row, or 2-d) placed along the diagonal of a matrix
    of zeros, in their promoted dtype."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise ShapeError(
                "torch.block_diag: Input tensors must have 2 or fewer dimensions. "
                f"Input {i} has {t.ndim} dimensions"
            )
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return _creation.zeros(1, 0)
    from ._dtypes import result_type

    dtype = blocks[0].dtype
    for b in blocks[1:]:
        dtype = result_type(_creation.zeros(0, dtype=dtype), b)
    cols = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        b = b.to(dtype)
        n, m = b.shape
        parts = [_creation.zeros(n, left, dtype=dtype), b]
        parts.append(_creation.zeros(n, cols - left - m, dtype=dtype))
        rows.append(cat(parts, 1))
        left += m
    return cat(rows, 0)


def broadcast_shapes(*shapes: Any) -> tuple[int, ...]:
    """The shape the given shapes (tuples, or ints for 1-d shapes) broadcast to, as a
    ``tapegrad.Size``."""
    sizes = [(s,) if isinstance(s, (int, np.integer)) else tuple(s) for s in shapes]
    out: list[int] = []
    for i, shape in enumerate(sizes):
        for d in shape:
            if d < 0:
                raise ArgumentError(
                    f"Trying to create tensor with negative dimension {d}: {list(shape)}"
                )
        width = max(len(out), len(shape))
        a = [1] * (width - len(out)) + out
        b = [1] * (width - len(shape)) + list(shape)
        for k, (x, y) in enumerate(zip(a, b)):
            if x != y and 1 not in (x, y):
                raise ShapeError(
                    f"Attempting to broadcast a dimension of length {y} at {k - width}! "
                    f"Mismatching argument at index {i} had {tuple(shape)}; but expected "
                    f"shape should be broadcastable to {a}"
                )
        out = [y if x == 1 else x for x, y in zip(a, b)]
    return Size(int(d) for d in out)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape (views)."""
    inputs = _tensor_list(tensors)
    shape = broadcast_shapes(*(t.shape for t in inputs))
    return tuple(t.expand(*shape) for t in inputs)


# ---- shapes --------------------------------------------------------------------------


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, that dimension removed (a view)."""
    if input.ndim == 0:
        raise AxisError("select() cannot be applied to a 0-dim tensor.")
    d = _shapes._dim(input, dim, "select")
    size = input.shape[d]
    if not -size <= index < size:
        raise AxisError(
            f"select(): index {index} out of range for tensor of size "
            f"{list(input.shape)} at dimension {d}"
        )
    return input[(slice(None),) * d + (int(index),)]


def ravel(input: Tensor) -> Tensor:
    """The elements as a 1-d tensor, in row-major order (a view when possible)."""
    return input.reshape(-1)


moveaxis = _shapes.movedim


def t(input: Tensor) -> Tensor:
    """The transpose of a matrix (vectors and scalars as they are): ``input.t()``."""
    return input.t()


def concat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """``cat`` under another name."""
    return cat(tensors, dim)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """``cat`` under NumPy's name (the dimension is ``axis``)."""
    return cat(tensors, axis)


row_stack = _shapes.vstack


def _numpy_split(
    input: Tensor, sections: Any, dim: int, least: int, op: str
) -> tuple[Tensor, ...]:
    if input.ndim < least:
        raise ShapeError(
            f"torch.{op} requires a tensor with at least {least} dimension, but got a "
            f"tensor with {input.ndim} dimensions!"
        )
    if isinstance(sections, (int, np.integer)):
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise ShapeError(
                f"torch.{op} attempted to split along dimension {dim}, but the size of "
                f"the dimension {size} is not divisible by the split_size {sections}!"
            )
    return _shapes.tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """Splits along dimension 1 (0 for a 1-d tensor) into equal sections or at indices."""
    dim = 0 if input.ndim == 1 else 1
    return _numpy_split(input, indices_or_sections, dim, 1, "hsplit")


def vsplit(input: Tensor, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """Splits along dimension 0 (the input needs at least 2 dimensions)."""
    return _numpy_split(input, indices_or_sections, 0, 2, "vsplit")


def dsplit(input: Tensor, indices_or_sections: int | Sequence[int]) -> tuple[Tensor, ...]:
    """Splits along dimension 2 (the input needs at least 3 dimensions)."""
    return _numpy_split(input, indices_or_sections, 2, 3, "dsplit")


def ndimension(input: Tensor) -> int:
    """The number of dimensions."""
    return int(input.ndim)


def sum_to_size(input: Tensor, *size: Any) -> Tensor:
    """Sums the dimensions that ``size`` broadcasts to ``input``'s shape: the inverse of
    ``expand``."""
    target = list(size[0] if len(size) == 1 and isinstance(size[0], Sequence) else size)
    shape = list(input.shape)
    lead = len(shape) - len(target)
    if lead < 0 or any(t not in (1, s) for t, s in zip(target, shape[lead:])):
        raise ShapeError(
            f"size {{{target}}} is not expandable to size {{{shape}}}."
        )
    out = input.sum(dim=tuple(range(lead))) if lead else input
    reduce = [k for k, (t, s) in enumerate(zip(target, shape[lead:])) if t == 1 and s != 1]
    if reduce:
        out = out.sum(dim=tuple(reduce), keepdim=True)
    return out


# ---- predicates and no-ops of a real CPU tensor ---------------------------------------


def is_nonzero(input: Tensor) -> bool:
    """Whether the single element of ``input`` is nonzero."""
    n = input.numel()
    if n != 1:
        amount = "no values" if n == 0 else "more than one value"
        raise GraphError(f"Boolean value of Tensor with {amount} is ambiguous")
    return bool(input.item() != 0)


def is_complex(input: Tensor) -> bool:
    """False: tapegrad has no complex dtypes."""
    return False


def is_shared(input: Tensor) -> bool:
    """False: tensors live in process memory."""
    return False


def share_memory_(input: Tensor) -> Tensor:
    """The tensor itself (PyTorch moves CPU storage to shared memory for
    multiprocessing; tapegrad's ``DataLoader`` workers do not need it)."""
    return input


def pin_memory(input: Tensor, device: Any = None) -> Tensor:
    """The tensor itself: pinned memory only matters for copies to an accelerator, and
    tapegrad has none (PyTorch raises without one; see README)."""
    return input


def is_pinned(input: Tensor, device: Any = None) -> bool:
    """False: no memory is pinned without an accelerator."""
    return False


def conj(input: Tensor) -> Tensor:
    """The complex conjugate: a real tensor itself."""
    return input


def resolve_conj(input: Tensor) -> Tensor:
    """The tensor itself (no lazy conjugation for real tensors)."""
    return input


def is_conj(input: Tensor) -> bool:
    """False: real tensors have no conjugate bit."""
    return False


def resolve_neg(input: Tensor) -> Tensor:
    """The tensor itself (no lazy negation)."""
    return input


def is_neg(input: Tensor) -> bool:
    """False: there is no negative bit."""
    return False


def adjoint_of_matrix(input: Tensor) -> Tensor:
    """``Tensor.H``: the conjugate transpose of a matrix (its transpose, a view)."""
    if input.ndim == 0:
        warnings.warn(
            "Tensor.H is deprecated on 0-D tensors. Consider using x.conj().",
            UserWarning,
            stacklevel=2,
        )
        return input
    if input.ndim != 2:
        hint = (
            ". For batches of matrices, consider using tensor.mH" if input.ndim > 2 else ""
        )
        raise ShapeError(
            "tensor.H is only supported on matrices (2-D tensors). Got "
            f"{input.ndim}-D tensor{hint}"
        )
    return input.transpose(0, 1)


def adjoint(input: Tensor) -> Tensor:
    """``Tensor.mH``: the conjugate transpose of the last two dimensions."""
    if input.ndim < 2:
        raise ShapeError(
            "tensor.mH is only supported on matrices or batches of matrices. Got "
            f"{input.ndim}-D tensor."
        )
    return input.transpose(-2, -1)


def real(input: Tensor) -> Tensor:
    """The real part: a real tensor itself."""
    return input


def imag(input: Tensor) -> Tensor:
    """A real tensor has no imaginary part: raises, as PyTorch."""
    raise DTypeError("imag is not implemented for tensors with non-complex dtypes.")


# ---- process-wide switches ------------------------------------------------------------

_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Records the flag: tapegrad's CPU kernels are deterministic already (the same
    inputs give the same bits), so nothing else changes."""
    if not isinstance(mode, bool):
        raise DTypeError(
            f"use_deterministic_algorithms expects a bool, got {type(mode).__name__}"
        )
    _deterministic.update(mode=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    """The flag set by :func:`use_deterministic_algorithms` (False by default)."""
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    """The ``warn_only`` flag of :func:`use_deterministic_algorithms`."""
    return _deterministic["warn_only"]


_Model = TypeVar("_Model")


def compile(model: Any = None, **kwargs: Any) -> Any:  # noqa: A001  # PyTorch's name
    """Returns ``model`` unchanged (there is no compiler: ops run eagerly in the Rust
    core); with no model, a decorator that does the same. ``torch.compile``'s options
    (``fullgraph``, ``dynamic``, ``backend``, ``mode``, ``options``, ``disable``) are
    accepted and ignored."""
    if model is None:

        def decorate(fn: _Model) -> _Model:
            return fn

        return decorate
    if not callable(model):
        raise DTypeError(
            f"compile expects a callable (a Module or a function), got "
            f"{type(model).__name__}"
        )
    return model

