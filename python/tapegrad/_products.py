"""Matrix and tensor products with PyTorch's names, composed from ``matmul`` (one
``gemm`` behind it) and the shape primitives, so their gradients come for free.

``einsum`` contracts operands pairwise (greedily, the pair whose result is smallest
first), each pair as one batched ``matmul``; repeated subscripts within one operand
(traces, diagonals) are taken first with ``diagonal``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._dtypes import refuse_bool, require_floating
from ._errors import ArgumentError, ShapeError
from ._native import Tensor, stack

__all__ = [
    "addmm",
    "addmv",
    "baddbmm",
    "bmm",
    "cdist",
    "cross",
    "dot",
    "einsum",
    "kron",
    "mm",
    "mv",
    "outer",
    "tensordot",
    "vdot",
]


def _need(op: str, name: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise ShapeError(f"{op}: {name} must be {ndim}-d, got shape {tuple(t.shape)}")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """``input @ mat2`` for two matrices."""
    _need("mm", "input", input, 2)
    _need("mm", "mat2", mat2, 2)
    return input @ mat2


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched ``input @ mat2`` for ``(b, n, m)`` and ``(b, m, p)`` (no broadcasting)."""
    _need("bmm", "input", input, 3)
    _need("bmm", "mat2", mat2, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(
            f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}"
        )
    return input @ mat2


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """``input @ vec`` for a matrix and a vector."""
    _need("mv", "input", input, 2)
    _need("mv", "vec", vec, 1)
    return input @ vec


def dot(input: Tensor, other: Tensor) -> Tensor:
    """``Σ input_i other_i`` for two 1-d tensors of one size."""
    _need("dot", "input", input, 1)
    _need("dot", "other", other, 1)
    return input @ other


vdot = dot  # real tensors only: no conjugation to do


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """``input_i · vec2_j`` for two 1-d tensors."""
    _need("outer", "input", input, 1)
    _need("outer", "vec2", vec2, 1)
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def _scaled_sum(input: Tensor, product: Tensor, beta: float, alpha: float) -> Tensor:
    if not (input.dtype.is_floating_point or product.dtype.is_floating_point):
        # Integer tensors take the factors in their dtype (truncated, as PyTorch).
        from ._selection import _fits

        beta, alpha = (
            _fits(f, product.dtype, "addmm", wrap_ints=True) for f in (beta, alpha)
        )
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:  # PyTorch ignores input then (NaN in it does not propagate)
        return scaled
    return (input if beta == 1 else input * beta) + scaled


def addmm(
    input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """``beta · input + alpha · (mat1 @ mat2)``."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def addmv(
    input: Tensor, mat: Tensor, vec: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """``beta · input + alpha · (mat @ vec)``."""
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def baddbmm(
    input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1
) -> Tensor:
    """``beta · input + alpha · (batch1 @ batch2)``."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: blocks ``input[i] · other``."""
    ndim = max(input.ndim, other.ndim)
    a = input.reshape(*([1] * (ndim - input.ndim)), *input.shape)
    b = other.reshape(*([1] * (ndim - other.ndim)), *other.shape)
    # (a0, 1, a1, 1, ...) * (1, b0, 1, b1, ...) -> (a0 b0, a1 b1, ...)
    wide = a.reshape(*[v for s in a.shape for v in (s, 1)]) * b.reshape(
        *[v for s in b.shape for v in (1, s)]
    )
    return wide.reshape(*[x * y for x, y in zip(a.shape, b.shape)])


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """Cross product of 3-vectors along ``dim`` (None: the first dimension of size 3,
    as ``torch.cross`` without ``dim``)."""
    from ._shapes import _dim

    refuse_bool("cross", input, other)
    shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    a, b = input.broadcast_to(shape), other.broadcast_to(shape)
    if dim is None:
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise ShapeError(f"cross: no dimension of size 3 in shape {shape}")
    dim = _dim(a, dim, "cross")
    if shape[dim] != 3:
        raise ShapeError(
            f"cross: dimension {dim} of shape {shape} must have size 3, got {shape[dim]}"
        )
    lead = (slice(None),) * dim
    ax, ay, az = (a[(*lead, i)] for i in range(3))
    bx, by, bz = (b[(*lead, i)] for i in range(3))
    return stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], dim)


def tensordot(a: Tensor, b: Tensor, dims: int | Sequence[Any] = 2) -> Tensor:
    """Contracts the last ``dims`` dimensions of ``a`` with the first of ``b``, or the
    listed pairs ``(dims_a, dims_b)``: one ``matmul`` after moving them together."""
    refuse_bool("tensordot", a, b)
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise ArgumentError(f"tensordot: dims must be >= 0, got {dims}")
        dims_a = list(range(a.ndim - int(dims), a.ndim))
        dims_b = list(range(int(dims)))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a = [d % a.ndim for d in dims_a]
    dims_b = [d % b.ndim for d in dims_b]
    if len(dims_a) != len(dims_b) or any(
        a.shape[i] != b.shape[j] for i, j in zip(dims_a, dims_b)
    ):
        raise ShapeError(
            f"tensordot: cannot contract dims {dims_a} of {tuple(a.shape)} with dims "
            f"{dims_b} of {tuple(b.shape)}"
        )
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = int(np.prod([a.shape[d] for d in dims_a]))
    left = a.permute(*free_a, *dims_a).reshape(-1, k) if a.ndim else a.reshape(1, 1)
    right = b.permute(*dims_b, *free_b).reshape(k, -1) if b.ndim else b.reshape(1, 1)
    out_shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return (left @ right).reshape(*out_shape)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, **_: Any) -> Tensor:
    """Pairwise ``p``-norm distances between the rows of ``x1`` ``(…, P, M)`` and ``x2``
    ``(…, R, M)``: shape ``(…, P, R)``."""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise ShapeError(
            f"cdist: x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} must be >= 2-d with "
            "the same last dimension"
        )
    require_floating("cdist", x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    from ._stats import vector_norm

    return vector_norm(diff, p, dim=-1)


def _parse_einsum(equation: str, operands: Sequence[Tensor]) -> tuple[list[str], str]:
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise ArgumentError(
            f"einsum: {equation!r} names {len(inputs)} operands, got {len(operands)}"
        )
    used = set("".join(inputs)) - {"."}
    spare = iter(
        c
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        if c not in used and c not in rhs
    )
    ellipsis_letters: str | None = None
    widest = 0
    for term, t in zip(inputs, operands):
        if "..." in term:
            widest = max(widest, t.ndim - (len(term) - 3))
    ellipsis_letters = "".join(next(spare) for _ in range(widest))
    expanded = []
    for term, t in zip(inputs, operands):
        if "..." in term:
            n = t.ndim - (len(term) - 3)
            term = term.replace("...", ellipsis_letters[widest - n :])
        if len(term) != t.ndim or not term.isalpha():
            raise ShapeError(
                f"einsum: subscripts {term!r} do not fit operand of shape "
                f"{tuple(t.shape)}"
            )
        expanded.append(term)
    if arrow:
        out = rhs.replace("...", ellipsis_letters)
    else:
        counts: dict[str, int] = {}
        for c in "".join(expanded):
            counts[c] = counts.get(c, 0) + 1
        out = ellipsis_letters + "".join(
            sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis_letters)
        )
    if not set(out) <= set("".join(expanded)) or len(set(out)) != len(out):
        raise ArgumentError(
            f"einsum: output subscripts {out!r} are invalid for {equation!r}"
        )
    return expanded, out


def _take_repeated(term: str, t: Tensor) -> tuple[str, Tensor]:
    """Collapses a subscript repeated within one operand to its diagonal."""
    while True:
        seen = next((c for c in term if term.count(c) > 1), None)
        if seen is None:
            return term, t
        i = term.index(seen)
        j = term.index(seen, i + 1)
        t = t.diagonal(0, i, j)  # the diagonal goes last
        term = term[:i] + term[i + 1 : j] + term[j + 1 :] + seen


def _sum_out(term: str, t: Tensor, keep: set[str]) -> tuple[str, Tensor]:
    """Sums subscripts no other operand or the output needs."""
    drop = [i for i, c in enumerate(term) if c not in keep]
    if drop:
        t = t.sum(dim=tuple(drop))
        term = "".join(c for c in term if c in keep)
    return term, t


def _contract(
    ta: str, a: Tensor, tb: str, b: Tensor, keep: set[str]
) -> tuple[str, Tensor]:
    """One pairwise contraction as a batched matmul: batch (in both, kept), left-only,
    right-only and contracted (in both, not kept) subscripts."""
    sizes = {**dict(zip(ta, a.shape)), **dict(zip(tb, b.shape))}
    for c in set(ta) & set(tb):
        sa, sb = a.shape[ta.index(c)], b.shape[tb.index(c)]
        if sa != sb and 1 not in (sa, sb):
            raise ShapeError(
                f"einsum: subscript {c!r} has sizes {sa} and {sb} in two operands"
            )
        sizes[c] = max(sa, sb)
    batch = [c for c in ta if c in tb and c in keep]
    summed = [c for c in ta if c in tb and c not in keep]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    a = a.permute(*[ta.index(c) for c in batch + left + summed]) if ta else a
    b = b.permute(*[tb.index(c) for c in batch + summed + right]) if tb else b
    a = a.expand(*[sizes[c] for c in batch], *[-1] * (len(left) + len(summed)))
    b = b.expand(*[sizes[c] for c in batch], *[-1] * (len(summed) + len(right)))

    def prod(cs: list[str]) -> int:
        return int(np.prod([sizes[c] for c in cs]))

    nb = [sizes[c] for c in batch]
    am = a.reshape(*nb, prod(left), prod(summed))
    bm = b.reshape(*nb, prod(summed), prod(right))
    out = (am @ bm).reshape(*nb, *[sizes[c] for c in left], *[sizes[c] for c in right])
    return "".join(batch + left + right), out


def einsum(equation: str, *operands: Any) -> Tensor:
    """Einstein summation with NumPy's/PyTorch's subscripts: ``...`` broadcasts, a
    subscript repeated in one operand takes its diagonal (``"ii->i"``, ``"ii"``), and
    a missing ``->`` gives the once-used subscripts in order. Operands are contracted
    pairwise, smallest result first, each pair as one batched matmul."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError("einsum: needs at least one operand")
    refuse_bool("einsum", *(t for t in operands if isinstance(t, Tensor)))
    terms, out = _parse_einsum(equation, operands)
    items = [_take_repeated(term, t) for term, t in zip(terms, operands)]

    def needed(skip: set[int]) -> set[str]:
        return set(out).union(
            *[set(items[k][0]) for k in range(len(items)) if k not in skip]
        )

    items = [_sum_out(term, t, needed({k})) for k, (term, t) in enumerate(items)]
    while len(items) > 1:
        best = None
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                keep = needed({i, j})
                letters = (set(items[i][0]) | set(items[j][0])) & keep
                sizes = {
                    **dict(zip(items[i][0], items[i][1].shape)),
                    **dict(zip(items[j][0], items[j][1].shape)),
                }
                cost = int(np.prod([sizes[c] for c in letters])) if letters else 1
                if best is None or cost < best[0]:
                    best = (cost, i, j, keep)
        assert best is not None  # at least two items, so one pair was scored
        _, i, j, keep = best
        merged = _contract(*items[i], *items[j], keep)
        items = [it for k, it in enumerate(items) if k not in (i, j)] + [merged]
    term, t = _sum_out(*items[0], set(out))
    return t.permute(*[term.index(c) for c in out]) if out else t
