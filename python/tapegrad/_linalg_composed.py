"""The ``tg.linalg`` functions composed from the primitives (their derivatives, of
every order, follow from the primitives' rules): pinv, lstsq, matrix_power,
matrix_exp, norm, cond, cross."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from . import _native
from ._dtypes import require_floating
from ._errors import ArgumentError, ShapeError
from ._native import Tensor


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _eye_like(n: int, A: Tensor) -> Tensor:
    return _native._eye(n, n, A.dtype, False)


def _square(op: str, A: Tensor) -> int:
    if A.ndim < 2:
        raise ShapeError(
            f"{op}: The input tensor A must have at least 2 dimensions, "
            f"got shape {tuple(A.shape)}"
        )
    m, n = A.shape[-2], A.shape[-1]
    if m != n:
        raise ShapeError(
            f"{op}: A must be batches of square matrices, but they are {m} by {n} "
            f"matrices (shape {tuple(A.shape)})"
        )
    return n


def _eps(A: Tensor) -> float:
    return float(np.finfo(np.float32 if A.dtype == _native.float32 else np.float64).eps)


def pinv(
    A: Tensor,
    *,
    atol: float | None = None,
    rtol: float | None = None,
    hermitian: bool = False,
) -> Tensor:
    """The Moore-Penrose pseudo-inverse, from the SVD.

    Singular values at most ``max(atol, rtol * s_max)`` are treated as zero; the
    defaults are PyTorch's (``atol=0``, ``rtol = eps * max(m, n)`` when neither is
    given). ``hermitian`` is accepted for PyTorch compatibility (the SVD is used
    either way). The gradient needs distinct nonzero kept singular values.

    Args:
        A: Shape ``(*, m, n)``.

    Returns:
        Shape ``(*, n, m)``.
    """
    from .linalg import svd

    if A.ndim < 2:
        raise ShapeError(
            f"linalg.pinv: The input tensor A must have at least 2 dimensions, "
            f"got shape {tuple(A.shape)}"
        )
    m, n = A.shape[-2], A.shape[-1]
    if rtol is None:
        rtol = _eps(A) * max(m, n) if atol is None or atol <= 0 else 0.0
    atol = 0.0 if atol is None else atol
    U, S, Vh = svd(A, full_matrices=False)
    if S.shape[-1] == 0:
        return _mT(A).mul(0.0)
    s_max = S.detach().amax(-1, keepdim=True)
    keep = S.detach().gt(s_max.mul(rtol).maximum(s_max.mul(0.0).add(atol)))
    safe = S.where(keep, 1.0)  # no division by the dropped values
    inv_s = safe.pow(-1.0).where(keep, 0.0)
    return _mT(Vh).mul(inv_s.unsqueeze(-2)).matmul(_mT(U))


class LstsqResult(NamedTuple):
    """``lstsq``'s result. Only ``solution`` is computed: the other fields are empty
    tensors (PyTorch also leaves them empty for some drivers)."""

    solution: Tensor
    residuals: Tensor
    rank: Tensor
    singular_values: Tensor


def lstsq(
    A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None
) -> LstsqResult:
    """The least-squares solution of ``A X = B`` (minimum-norm when ``m < n``).

    Uses the QR decomposition of ``A`` (``m >= n``) or of ``A^T`` (``m < n``), so
    ``A`` must have full rank; ``rcond`` and ``driver`` are accepted for PyTorch
    compatibility and ignored.

    Args:
        A: Shape ``(*, m, n)``.
        B: Shape ``(*, m, k)``; batch dimensions broadcast.

    Returns:
        An :class:`LstsqResult` whose ``solution`` has shape ``(*, n, k)``.
    """
    from .linalg import qr, solve_triangular

    del rcond, driver
    if A.ndim < 2 or B.ndim < 2 or A.shape[-2] != B.shape[-2]:
        raise ShapeError(
            f"linalg.lstsq: A and B must have at least 2 dimensions and the same "
            f"number of rows, got shapes {tuple(A.shape)} and {tuple(B.shape)}"
        )
    m, n = A.shape[-2], A.shape[-1]
    if m >= n:
        Q, R = qr(A)
        X = solve_triangular(R, _mT(Q).matmul(B), upper=True)
    else:
        Q, R = qr(_mT(A))
        X = Q.matmul(solve_triangular(_mT(R), B, upper=False))
    empty = _native._full((0,), 0.0, A.dtype, False)
    return LstsqResult(X, empty, empty, empty)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (``n < 0``: of ``inv(A)``; ``n == 0``:
    the identity), by repeated squaring."""
    from .linalg import inv

    if isinstance(n, bool) or not isinstance(n, int):
        raise ArgumentError(f"linalg.matrix_power: n must be an int, got {n!r}")
    size = _square("linalg.matrix_power", A)
    if n == 0:
        return A.mul(0.0).add(_eye_like(size, A))
    base = inv(A) if n < 0 else A
    result = None
    k = abs(n)
    while k:
        if k & 1:
            result = base if result is None else result.matmul(base)
        k >>= 1
        if k:
            base = base.matmul(base)
    assert result is not None
    return result


# Padé(13) coefficients of exp (Higham 2005, "The scaling and squaring method for the
# matrix exponential revisited", table 10.4) and the 1-norm bound theta_13 under which
# it is accurate to unit roundoff in float64.
_PADE13 = (
    64764752532480000.0,
    32382376266240000.0,
    7771770303897600.0,
    1187353796428800.0,
    129060195264000.0,
    10559470521600.0,
    670442572800.0,
    33522128640.0,
    1323241920.0,
    40840800.0,
    960960.0,
    16380.0,
    182.0,
    1.0,
)
_THETA13 = 5.371920351148152


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential, by scaling and squaring with a Padé(13) approximant
    (Higham 2005).

    Composed of matmuls and one :func:`tapegrad.linalg.solve`, so its derivatives of
    every order are those of the approximant (accurate to the same precision). The
    number of squarings is chosen from the largest 1-norm in the batch.

    Args:
        A: Shape ``(*, n, n)``.
    """
    from ._batched import unwrap_tensor
    from .linalg import solve

    n = _square("linalg.matrix_exp", A)
    require_floating("linalg.matrix_exp", A)
    if A.numel() == 0:
        return A.mul(0.0)
    # Under vmap, the largest norm of every example (the physical tensor's).
    plain = unwrap_tensor(A).detach()
    norm1 = float(np.abs(plain.__array__(copy=True)).sum(-2).max())
    s = max(0, math.ceil(math.log2(norm1 / _THETA13))) if norm1 > 0 else 0
    X = A.mul(1.0 / 2**s) if s else A
    eye = _eye_like(n, A)
    b = _PADE13
    X2 = X.matmul(X)
    X4 = X2.matmul(X2)
    X6 = X4.matmul(X2)
    U_inner = X6.mul(b[13]).add(X4.mul(b[11])).add(X2.mul(b[9]))
    U = X.matmul(
        X6.matmul(U_inner)
        .add(X6.mul(b[7]))
        .add(X4.mul(b[5]))
        .add(X2.mul(b[3]))
        .add(eye.mul(b[1]))
    )
    V_inner = X6.mul(b[12]).add(X4.mul(b[10])).add(X2.mul(b[8]))
    V = (
        X6.matmul(V_inner)
        .add(X6.mul(b[6]))
        .add(X4.mul(b[4]))
        .add(X2.mul(b[2]))
        .add(eye.mul(b[0]))
    )
    R = solve(V.sub(U), V.add(U))
    for _ in range(s):
        R = R.matmul(R)
    return R


def _vector_norm(x: Tensor, ord: float, dim: tuple[int, ...], keepdim: bool) -> Tensor:
    if ord == 2:
        # The 2-norm's gradient at 0 is 0 (PyTorch's subgradient), not 0/0.
        from . import where

        squares = x.mul(x).sum(dim, keepdim=keepdim)
        zero = squares == 0.0
        return where(zero, 0.0, where(zero, 1.0, squares).sqrt())
    if ord == math.inf:
        return x.abs().amax(dim, keepdim=keepdim)
    if ord == -math.inf:
        return x.abs().amin(dim, keepdim=keepdim)
    if ord == 0:
        return (x != 0.0).to(x.dtype).sum(dim, keepdim=keepdim)
    if ord == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    return x.abs().pow(ord).sum(dim, keepdim=keepdim).pow(1.0 / ord)


def _matrix_norm(A: Tensor, ord: float | str, keepdim: bool) -> Tensor:
    from .linalg import svdvals

    if ord == "fro":
        out = A.mul(A).sum((-2, -1)).sqrt()
    elif ord == "nuc":
        out = svdvals(A).sum(-1)
    elif ord in (2, -2):
        S = svdvals(A)
        out = S.amax(-1) if ord == 2 else S.amin(-1)
    elif ord in (1, -1):
        sums = A.abs().sum(-2)
        out = sums.amax(-1) if ord == 1 else sums.amin(-1)
    elif ord in (math.inf, -math.inf):
        sums = A.abs().sum(-1)
        out = sums.amax(-1) if ord == math.inf else sums.amin(-1)
    else:
        raise ArgumentError(
            f"linalg.norm: ord {ord!r} is not a matrix norm "
            "(use 'fro', 'nuc', 2, -2, 1, -1, inf or -inf)"
        )
    return out.unsqueeze(-1).unsqueeze(-1) if keepdim else out


def norm(
    A: Tensor,
    ord: float | str | None = None,
    dim: int | tuple[int, ...] | None = None,
    keepdim: bool = False,
) -> Tensor:
    """Vector or matrix norm, as ``torch.linalg.norm``.

    With ``dim`` an int, or ``dim=None`` and ``ord=None`` (all elements flattened), a
    vector norm; with ``dim`` a pair, or ``dim=None`` on a 2-D input, a matrix norm
    (``ord=None`` is Frobenius; 2 and -2 use the singular values).
    """
    require_floating("linalg.norm", A)
    if isinstance(dim, int):
        dims: tuple[int, ...] | None = (dim,)
    else:
        dims = tuple(dim) if dim is not None else None
    if dims is None:
        if ord is None:
            flat = A.reshape((-1,))
            out = _vector_norm(flat, 2, (0,), False)
            if keepdim:
                out = out.reshape((1,) * A.ndim)
            return out
        if A.ndim == 1:
            dims = (0,)
        elif A.ndim == 2:
            dims = (-2, -1)
        else:
            raise ShapeError(
                f"linalg.norm: with ord={ord!r} and dim=None the input must be 1-D or "
                f"2-D, got shape {tuple(A.shape)}"
            )
    if len(dims) == 1:
        if isinstance(ord, str):
            raise ArgumentError(f"linalg.norm: ord {ord!r} needs a matrix (two dims)")
        return _vector_norm(A, 2.0 if ord is None else float(ord), dims, keepdim)
    if len(dims) != 2:
        raise ShapeError(f"linalg.norm: dim must have 1 or 2 entries, got {dims}")
    d0, d1 = (d % A.ndim for d in dims)
    if d0 == d1:
        raise ShapeError(f"linalg.norm: dims {dims} name the same dimension twice")
    rest = [d for d in range(A.ndim) if d not in (d0, d1)]
    moved = A.permute(tuple(rest) + (d0, d1))
    out = _matrix_norm(moved, "fro" if ord is None else ord, False)
    if keepdim:
        for d in sorted((d0, d1)):
            out = out.unsqueeze(d)
    return out


def cond(A: Tensor, p: float | str | None = None) -> Tensor:
    """The condition number of ``A`` in norm ``p`` (None: the 2-norm,
    ``s_max / s_min``; -2: ``s_min / s_max``; others: ``norm(A) * norm(inv(A))``)."""
    from .linalg import inv, svdvals

    if p is None or p in (2, -2):
        if A.ndim < 2:
            raise ShapeError(
                f"linalg.cond: The input tensor A must have at least 2 dimensions, "
                f"got shape {tuple(A.shape)}"
            )
        S = svdvals(A)
        ratio = S.amax(-1).div(S.amin(-1))
        return ratio.pow(-1.0) if p == -2 else ratio
    _square("linalg.cond", A)
    return _matrix_norm(A, p, False).mul(_matrix_norm(inv(A), p, False))


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (batch dimensions broadcast)."""
    from . import stack

    for name, t in (("input", input), ("other", other)):
        if t.ndim == 0 or t.shape[dim] != 3:
            raise ShapeError(
                f"linalg.cross: {name} must have 3 elements along dim {dim}, "
                f"got shape {tuple(t.shape)}"
            )
    a = [input.transpose(dim, -1)[..., i] for i in range(3)]
    b = [other.transpose(dim, -1)[..., i] for i in range(3)]
    parts = [
        a[1].mul(b[2]).sub(a[2].mul(b[1])),
        a[2].mul(b[0]).sub(a[0].mul(b[2])),
        a[0].mul(b[1]).sub(a[1].mul(b[0])),
    ]
    return stack(parts, -1).transpose(dim, -1)


def vector_norm(
    x: Tensor,
    ord: float = 2,
    dim: int | tuple[int, ...] | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements when None): ``(Σ |x|^ord)^(1/ord)``;
    inf/-inf give the largest/smallest ``|x|``, 0 the count of nonzeros. ``dtype`` casts
    ``x`` first."""
    if dtype is not None:
        x = x.to(dtype)
    require_floating("linalg.vector_norm", x)
    if dim is None:
        out = _vector_norm(x.reshape((-1,)), float(ord), (0,), False)
        return out.reshape((1,) * x.ndim) if keepdim else out
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return _vector_norm(x, float(ord), dims, keepdim)


def matrix_norm(
    A: Tensor,
    ord: float | str = "fro",
    dim: tuple[int, int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: Any = None,
) -> Tensor:
    """The matrix norm ``ord`` ('fro', 'nuc', 2, -2, 1, -1, inf, -inf) over the two
    dimensions ``dim``; ``dtype`` casts ``A`` first."""
    if A.ndim < 2:
        raise ShapeError(f"linalg.matrix_norm: A must be at least 2-D, got shape {tuple(A.shape)}")
    if dtype is not None:
        A = A.to(dtype)
    require_floating("linalg.matrix_norm", A)
    return norm(A, ord, dim, keepdim)
