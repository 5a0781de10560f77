"""The one place where tensor data crosses into and out of MPI buffers.

MPI reads and writes memory through the buffer protocol, and ``Tensor.numpy()`` shares a
tensor's memory with NumPy (see docs/architecture.md, "Memory shared with NumPy and
DLPack"), so a contiguous tensor is handed to MPI as it is: MPI reads and writes the
tensor's own storage, no copy either way. A non-contiguous tensor (``x.T``,
``x[:, ::2]``) goes through one contiguous copy, written back through the view
afterwards, because MPI's buffers are one block.

MPI's writes happen behind the core's back, so ``_written`` counts them in the tensor's
version (a tensor saved for backward and then overwritten by a collective makes that
backward raise, as in PyTorch). Once the NumPy array is gone, the storage turns native
again at its next use, so a tensor that went through a collective stays as fast as
before.
"""

from __future__ import annotations

import numpy as np

import tapegrad as tg

__all__: list[str] = []


def _shared(tensor: tg.Tensor) -> np.ndarray:
    """The tensor's memory as a NumPy array (its shape and strides; no copy)."""
    return tensor.detach().numpy()


def _mpi_buffer(tensor: tg.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(shared, buffer)``: the tensor's memory, and the C-contiguous array holding its
    values that MPI reads and writes: ``shared`` itself when the tensor is contiguous,
    else a copy that ``_written`` puts back."""
    shared = _shared(tensor)
    if shared.flags.c_contiguous:
        return shared, shared
    return shared, np.ascontiguousarray(shared)


def _written(tensor: tg.Tensor, shared: np.ndarray, buffer: np.ndarray) -> None:
    """Finishes a write by MPI into ``buffer`` (from ``_mpi_buffer(tensor)``)."""
    if buffer is not shared:
        shared[...] = buffer.reshape(shared.shape)
    tensor._increment_version()


def _write(tensor: tg.Tensor, values: np.ndarray) -> None:
    """Copies ``values`` (as many elements, same dtype) into ``tensor``'s memory."""
    shared = _shared(tensor)
    shared[...] = values.reshape(shared.shape)
    tensor._increment_version()
