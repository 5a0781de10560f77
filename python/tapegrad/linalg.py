"""``tapegrad.linalg``: norms with ``torch.linalg``'s names (decompositions and solvers
are future work)."""

from __future__ import annotations

from ._stats import matrix_norm, vector_norm

__all__ = ["matrix_norm", "vector_norm"]


def __dir__() -> list[str]:
    return sorted(__all__)
