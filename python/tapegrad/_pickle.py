"""Pickling tensors (``pickle.dumps(x)``, ``multiprocessing`` queues), as PyTorch.

A tensor pickles as its values (a C-ordered NumPy copy, whatever its strides), dtype,
class (a ``Parameter`` stays one) and ``requires_grad``; it unpickles as a new leaf, as
in PyTorch (the graph and ``.grad`` are not carried). Checkpoint files never use this:
``tapegrad.save`` writes safetensors and JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _creation
from ._native import Tensor


def __reduce_ex__(self: Tensor, protocol: int) -> tuple[Any, tuple[Any, ...]]:
    """``(rebuild, (class, values, dtype name, requires_grad))``."""
    del protocol  # NumPy's own reduction picks the format
    values = np.array(self.detach().numpy(), order="C", copy=True)
    return (_rebuild, (type(self), values, self.dtype.name, self.requires_grad))


def _rebuild(
    cls: type, values: np.ndarray, dtype_name: str, requires_grad: bool
) -> Tensor:
    """A leaf of class ``cls`` holding ``values`` (the inverse of ``__reduce_ex__``)."""
    made = _creation.tensor(values, dtype=dtype_name)
    if cls is not Tensor:
        made.__class__ = cls
    if requires_grad:
        made.requires_grad_(True)
    return made
