"""Differentiable linear algebra, ``torch.linalg``'s names and signatures.

Every function works on batches of matrices (leading dimensions), in float32 and
float64, and records a node whose VJP and JVP are written with tapegrad ops, so
higher derivatives work too. The factorizations run on the ``faer`` crate. The
derivations are listed in ``docs/transforms.md``.

Errors: a singular matrix in ``inv``/``solve`` and a matrix that is not positive-definite
in ``cholesky`` raise :class:`tapegrad.ArgumentError` (a ``ValueError``; PyTorch raises
``torch.linalg.LinAlgError``, a ``RuntimeError``) with PyTorch's message; non-square
inputs raise :class:`tapegrad.ShapeError` naming the shape.
"""

from __future__ import annotations

from typing import NamedTuple

from . import _native
from ._errors import ArgumentError
from ._linalg_composed import (
    LstsqResult,
    cond,
    cross,
    lstsq,
    matrix_exp,
    matrix_norm,
    matrix_power,
    norm,
    pinv,
    vector_norm,
)
from ._native import Tensor

__all__ = [
    "EighResult",
    "LstsqResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cond",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_exp",
    "matrix_norm",
    "matrix_power",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "vector_norm",
]


class SlogdetResult(NamedTuple):
    """``slogdet``'s result: ``det(A) = sign * exp(logabsdet)``."""

    sign: Tensor
    logabsdet: Tensor


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _is_vector_rhs(A: Tensor, B: Tensor) -> bool:
    # PyTorch's rule: B is a batch of vectors when B.ndim == 1, or when B has one
    # dimension fewer than A and the shapes agree on everything but A's last dimension.
    return B.ndim == 1 or (
        B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1])
    )


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """Solves ``A X = B`` (or ``X A = B`` with ``left=False``) for square ``A``.

    Args:
        A: Invertible matrices, shape ``(*, n, n)``.
        B: Right-hand sides, shape ``(*, n, k)`` or ``(*, n)``; batch dimensions
            broadcast with ``A``'s.
        left: Solve ``A X = B`` if True, ``X A = B`` otherwise.

    Returns:
        ``X``, with ``B``'s trailing shape and the broadcast batch shape.

    Raises:
        ArgumentError: ``A`` is singular.
        ShapeError: ``A`` is not square or ``B`` does not fit it.
    """
    if not left:
        return _mT(solve(_mT(A), _mT(B)))
    if _is_vector_rhs(A, B):
        return _native._linalg_solve(A, B.unsqueeze(-1)).squeeze(-1)
    return _native._linalg_solve(A, B)


def inv(A: Tensor) -> Tensor:
    """The inverse of square matrices ``A`` (shape ``(*, n, n)``).

    Raises:
        ArgumentError: ``A`` is singular.
        ShapeError: ``A`` is not square.
    """
    return _native._linalg_inv(A)


def det(A: Tensor) -> Tensor:
    """The determinants of square matrices ``A`` (shape ``(*, n, n)``), shape ``(*)``.

    The gradient is ``det(A) A^-T``, which needs ``A`` invertible.
    """
    return _native._linalg_det(A)


def slogdet(A: Tensor) -> SlogdetResult:
    """Sign and log of the absolute value of the determinants of ``A``.

    Returns:
        ``(sign, logabsdet)``, each of shape ``(*)``; for a singular matrix the sign is
        0 and the log ``-inf``. Only ``logabsdet`` is differentiable.
    """
    sign, logabsdet = _native._linalg_slogdet(A)
    return SlogdetResult(sign, logabsdet)


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor of symmetric positive-definite matrices ``A``.

    Only the lower triangle of ``A`` is read. The gradient is symmetric (Murray 2016).

    Args:
        A: Shape ``(*, n, n)``.
        upper: Return ``U = L^T`` (``A = U^T U``) instead of ``L`` (``A = L L^T``).

    Raises:
        ArgumentError: ``A`` is not positive-definite (the message names the leading
            minor that is not).
        ShapeError: ``A`` is not square.
    """
    return _native._linalg_cholesky(A, upper)


def solve_triangular(
    A: Tensor,
    B: Tensor,
    *,
    upper: bool,
    left: bool = True,
    unitriangular: bool = False,
) -> Tensor:
    """Solves ``A X = B`` (``left``) or ``X A = B`` for triangular ``A``.

    Only the ``upper`` (or lower) triangle of ``A`` is read; with ``unitriangular`` its
    diagonal is taken to be ones. No check for zeros on the diagonal is made (as in
    PyTorch: the result then holds infinities or NaNs).

    Args:
        A: Shape ``(*, n, n)``.
        B: Shape ``(*, n, k)`` (left) or ``(*, k, n)``; batch dimensions broadcast.
        upper: Whether ``A`` is upper triangular.
        left: Solve ``A X = B`` if True, ``X A = B`` otherwise.
        unitriangular: Treat ``A``'s diagonal as ones.
    """
    return _native._linalg_solve_triangular(A, B, upper, left, unitriangular)


class EighResult(NamedTuple):
    """``eigh``'s result: ``A = eigenvectors @ diag(eigenvalues) @ eigenvectors.mT``."""

    eigenvalues: Tensor
    eigenvectors: Tensor


class SVDResult(NamedTuple):
    """``svd``'s result: ``A = U @ diag(S) @ Vh``."""

    U: Tensor
    S: Tensor
    Vh: Tensor


class QRResult(NamedTuple):
    """``qr``'s result: ``A = Q @ R``."""

    Q: Tensor
    R: Tensor


def _unpack(packed: Tensor, *shapes: tuple[int, ...]) -> list[Tensor]:
    """Slices a packed decomposition (factors flattened along the last axis) apart."""
    batch = tuple(packed.shape[:-1])
    parts, start = [], 0
    for shape in shapes:
        size = 1
        for d in shape:
            size *= d
        parts.append(packed[..., start : start + size].reshape(batch + shape))
        start += size
    return parts


def _uplo(A: Tensor, UPLO: str, op: str) -> Tensor:
    if UPLO not in ("L", "U"):
        raise ArgumentError(f"{op}: UPLO must be 'L' or 'U', got {UPLO!r}")
    # The kernel reads the lower triangle; the upper one of A is the lower one of A^T.
    return A if UPLO == "L" else _mT(A)


def eigh(A: Tensor, UPLO: str = "L") -> EighResult:
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices ``A``.

    Only the ``UPLO`` triangle of ``A`` is read. Eigenvectors are unique only up to
    sign, and their gradient divides by eigenvalue gaps: it is infinite or NaN when two
    eigenvalues are equal (PyTorch's caveat). Gradients of losses that use only the
    eigenvalues are always defined. The gradient returned is symmetric.

    Args:
        A: Shape ``(*, n, n)``.
        UPLO: ``"L"`` or ``"U"``, the triangle read.

    Returns:
        ``(eigenvalues, eigenvectors)`` of shapes ``(*, n)`` and ``(*, n, n)``, the
        eigenvectors as columns.
    """
    n = A.shape[-1] if A.ndim >= 1 else 0
    packed = _native._linalg_eigh(_uplo(A, UPLO, "linalg.eigh"))
    w, v = _unpack(packed, (n,), (n, n))
    return EighResult(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of symmetric matrices ``A``, shape ``(*, n)``."""
    return eigh(A, UPLO).eigenvalues


def svd(A: Tensor, full_matrices: bool = True) -> SVDResult:
    """The singular value decomposition ``A = U diag(S) Vh``, ``S`` descending.

    Only the thin decomposition is computed: ``full_matrices=True`` (PyTorch's default)
    is accepted for square matrices, where the two agree, and is an error otherwise.
    Singular vectors are unique only up to sign, and their gradient is infinite or
    NaN for repeated or zero singular values (PyTorch's caveat); gradients of losses
    that use only ``S`` are always defined.

    Args:
        A: Shape ``(*, m, n)``.
        full_matrices: Must be False unless ``m == n``.

    Returns:
        ``(U, S, Vh)`` of shapes ``(*, m, k)``, ``(*, k)``, ``(*, k, n)``,
        ``k = min(m, n)``.
    """
    if A.ndim >= 2:
        m, n = A.shape[-2], A.shape[-1]
        if full_matrices and m != n:
            raise ArgumentError(
                f"linalg.svd: full_matrices=True is not supported for {m} by {n} "
                "matrices; pass full_matrices=False for the thin decomposition"
            )
    else:
        m = n = 0
    packed = _native._linalg_svd(A)
    k = min(m, n)
    U, S, Vh = _unpack(packed, (m, k), (k,), (k, n))
    return SVDResult(U, S, Vh)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of ``A`` (shape ``(*, m, n)``), descending, shape ``(*, k)``."""
    return svd(A, full_matrices=False).S


def qr(A: Tensor, mode: str = "reduced") -> QRResult:
    """The QR decomposition ``A = Q R`` (Householder; ``R``'s diagonal may be negative).

    Args:
        A: Shape ``(*, m, n)``.
        mode: ``"reduced"`` (``Q``: ``(*, m, k)``, ``R``: ``(*, k, n)``,
            ``k = min(m, n)``), ``"complete"`` (only for ``m <= n``, where it equals
            ``"reduced"``) or ``"r"`` (``Q`` empty).

    Raises:
        ArgumentError: An unknown mode, or ``"complete"`` with ``m > n``.

    The gradient is defined for ``m >= n`` with ``R`` invertible.
    """
    if mode not in ("reduced", "complete", "r"):
        raise ArgumentError(
            f"linalg.qr: mode must be 'reduced', 'complete' or 'r', got {mode!r}"
        )
    m, n = (A.shape[-2], A.shape[-1]) if A.ndim >= 2 else (0, 0)
    if mode == "complete" and m > n:
        raise ArgumentError(
            f"linalg.qr: mode='complete' is not supported for {m} by {n} matrices "
            "(more rows than columns); use mode='reduced'"
        )
    k = min(m, n)
    Q, R = _unpack(_native._linalg_qr(A), (m, k), (k, n))
    if mode == "r":
        Q = _native._full((0,), 0.0, A.dtype, False)
    return QRResult(Q, R)


def __dir__() -> list[str]:
    return sorted(__all__)
