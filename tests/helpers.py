"""Shared assertions for the test suite."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import tapegrad as tg


@contextlib.contextmanager
def raises(
    exc: type[BaseException] | tuple[type[BaseException], ...], *fragments: str
) -> Iterator[None]:
    """Expects ``exc`` whose message contains every fragment.

    A fragment is matched literally and case-insensitively, except that ``a|b``
    accepts either alternative.
    """
    try:
        yield
    except exc as error:
        message = str(error)
        for fragment in fragments:
            options = fragment.split("|")
            assert any(o.lower() in message.lower() for o in options), (
                f"{type(error).__name__} message {message!r} lacks {fragment!r}"
            )
        return
    except BaseException as error:
        raise AssertionError(
            f"expected {_names(exc)}, got {type(error).__name__}: {error}"
        ) from error
    raise AssertionError(f"expected {_names(exc)}, nothing was raised")


def _names(exc: type[BaseException] | tuple[type[BaseException], ...]) -> str:
    if isinstance(exc, tuple):
        return " or ".join(e.__name__ for e in exc)
    return exc.__name__


def values(x: tg.Tensor) -> np.ndarray:
    """The tensor's values as a float64 NumPy array (detached)."""
    return np.asarray(x.detach().numpy(), dtype=np.float64)


def assert_close(
    actual: tg.Tensor | np.ndarray | float,
    expected: np.ndarray | float,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> None:
    """Values and shape agree (NaNs in the same places)."""
    got = values(actual) if isinstance(actual, tg.Tensor) else np.asarray(actual)
    want = np.asarray(expected, dtype=np.float64)
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def shape_str(shape: tuple[int, ...]) -> str:
    """How error messages print a shape: ``(2, 3)``, ``(4,)``, ``()``."""
    return str(tuple(shape))


__all__ = ["assert_close", "raises", "shape_str", "values"]
