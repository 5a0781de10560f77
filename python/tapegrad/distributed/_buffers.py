"""The one place where tensor data crosses into and out of MPI buffers.

MPI reads and writes memory through the buffer protocol. tapegrad tensors do not expose
their storage yet, so today every crossing copies: ``_to_buffer`` copies a tensor's
data into a C-contiguous NumPy array and ``_from_buffer`` copies an array back into a
tensor in place (``Tensor._assign``, which bumps the version counter). Keeping every
copy in these functions lets the storage access that is coming replace them with
zero-copy views, and nothing else in ``tapegrad.distributed`` or ``DistributedDataParallel``
will need to change.
"""

from __future__ import annotations

import numpy as np

import tapegrad as tg

__all__: list[str] = []


def _to_buffer(
    tensor: tg.Tensor, out: np.ndarray | None = None, scale: float = 1.0
) -> np.ndarray:
    """The tensor's data as a C-contiguous NumPy array (row-major order of its shape).

    Args:
        tensor: Any tensor, contiguous or not; its gradient history is ignored.
        out: A C-contiguous array with as many elements (and the same dtype) to fill;
            a new array is made when None.
        scale: A factor applied while copying into ``out`` (no extra pass).

    Returns:
        ``out`` (flattened the caller's way), or the new array shaped like the tensor.
    """
    data = tensor.detach().__array__(copy=True)
    if out is None:
        return np.ascontiguousarray(data)
    np.multiply(data, scale, out=out.reshape(data.shape), casting="same_kind")
    return out


def _from_buffer(tensor: tg.Tensor, buffer: np.ndarray) -> None:
    """Writes ``buffer`` (as many elements, same dtype) into ``tensor`` in place."""
    with tg.no_grad():
        tensor._assign(_tensor_from_buffer(buffer, tuple(tensor.shape)))


def _tensor_from_buffer(buffer: np.ndarray, shape: tuple[int, ...]) -> tg.Tensor:
    """A new tensor of ``shape`` holding a copy of ``buffer``'s elements."""
    return tg.from_numpy(np.ascontiguousarray(buffer).reshape(shape))
