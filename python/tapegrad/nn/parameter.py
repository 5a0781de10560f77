"""``Parameter``: a tensor that a ``Module`` registers as trainable when assigned to
one of its attributes."""

from __future__ import annotations

from typing import Any

import tapegrad as tg

__all__ = ["Parameter"]


class Parameter(tg.Tensor):  # type: ignore[misc]  # the stub still marks Tensor final
    """A leaf tensor holding a module's trainable values, as ``torch.nn.Parameter``.

    ``Parameter(t)`` is a new leaf sharing ``t``'s storage (``t.detach()``, as in
    PyTorch: an in-place write to one is seen by the other). Arrays and nested lists are
    converted with ``tapegrad.tensor``. Operations on a parameter return plain tensors;
    ``copy.deepcopy`` gives a ``Parameter`` with storage of its own.

    Args:
        data: A tensor (its dtype is kept), NumPy array or nested list of numbers;
            None gives an empty float32 tensor.
        requires_grad: Whether the optimiser should train it.

    Example:
        >>> import tapegrad as tg
        >>> from tapegrad import nn
        >>> p = nn.Parameter(tg.ones(2))
        >>> isinstance(p, nn.Parameter), p.is_leaf, p.requires_grad
        (True, True, True)
        >>> p
        Parameter containing:
        tensor([1., 1.], requires_grad=True)
    """

    __slots__ = ()  # the native layout, so that __class__ can be set on a new leaf

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Parameter:  # noqa: PYI034
        if data is None:
            leaf = tg.zeros(0)
        elif isinstance(data, tg.Tensor):
            leaf = data.detach()
        else:
            leaf = tg.tensor(data)
        # The native type has no Python constructor: a new leaf takes this class.
        leaf.__class__ = cls
        leaf.requires_grad_(requires_grad)
        return leaf  # type: ignore[return-value]

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        """Everything happens in ``__new__``."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
