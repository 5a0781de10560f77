"""``tapegrad.Size``: the shape of a tensor, a tuple of ints as ``torch.Size``.

``x.shape`` and ``x.size()`` return one. It compares, hashes and unpacks as the tuple it
is; slicing, ``+`` and ``*`` keep the class; ``numel()`` is the product of the extents.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable
from typing import Any, SupportsIndex

__all__ = ["Size"]


class Size(tuple[int, ...]):
    """The extents of a tensor's dimensions: ``tapegrad.Size([2, 3])``.

    Raises:
        TypeError: For an item that is not an integer (as ``torch.Size``).
    """

    __slots__ = ()

    def __new__(cls, sizes: Iterable[Any] = ()) -> Size:  # noqa: PYI034
        items = []
        for position, item in enumerate(sizes):
            try:
                items.append(operator.index(item))
            except TypeError:
                raise TypeError(
                    f"tapegrad.Size() takes an iterable of 'int' (item {position} is "
                    f"{type(item).__name__!r})"
                ) from None
        return tuple.__new__(cls, items)

    def numel(self) -> int:
        """The number of elements of a tensor of this shape (1 for ``Size([])``)."""
        return functools.reduce(operator.mul, self, 1)

    def __repr__(self) -> str:
        return f"tapegrad.Size({list(self)!r})"

    __str__ = __repr__

    def __getitem__(self, index: Any) -> Any:  # type: ignore[override]
        found = tuple.__getitem__(self, index)
        return from_native(found) if isinstance(index, slice) else found

    def __add__(self, other: Any) -> Any:  # type: ignore[override]
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, count: SupportsIndex) -> Size:
        return from_native(tuple.__mul__(self, count))

    __rmul__ = __mul__

    def __reduce__(self) -> tuple[Any, tuple[tuple[int, ...]]]:
        return (Size, (tuple(self),))


Size.__module__ = "tapegrad"

# The binding builds shapes it knows to be ints without the per-item check.
from_native = functools.partial(tuple.__new__, Size)
