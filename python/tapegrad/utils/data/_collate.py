"""Turning a list of samples into a batch: ``default_collate`` and ``default_convert``."""

from __future__ import annotations

import collections.abc
from typing import Any

import numpy as np

import tapegrad as tg
from tapegrad._errors import DTypeError, ShapeError

__all__ = ["default_collate", "default_convert"]

_UNSUPPORTED = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
    "lists; found {}"
)


def default_collate(batch: collections.abc.Sequence[Any]) -> Any:
    """Stacks a list of samples into a batch, keeping the samples' structure.

    As PyTorch's: tensors are stacked along a new first dimension; NumPy arrays and
    NumPy scalars become tensors and are stacked; Python floats become a float64
    tensor; Python ints become an int64 tensor and bools a bool tensor; strings and bytes are not stacked (their list or tuple is
    kept); dicts are collated key by key, named tuples field by field, and tuples
    and lists position by position (tuples give lists, as PyTorch's).

    Raises:
        DTypeError: For a sample type it cannot batch (or a string/object array).
        ShapeError: For tensors of different shapes or sequences of different lengths.
    """
    elem = batch[0]
    if isinstance(elem, tg.Tensor):
        return tg.stack(list(batch), 0)
    if isinstance(elem, np.ndarray) or (
        isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_))
    ):
        if elem.dtype.kind in "OSUV":  # object, bytes, str, void: no tensor for these
            raise DTypeError(_UNSUPPORTED.format(elem.dtype))
        return tg.stack([_as_tensor(np.asarray(b)) for b in batch], 0)
    if isinstance(elem, float):
        return tg.tensor(list(batch), dtype=tg.float64)
    if isinstance(elem, int):  # bool too: an int subclass (bools give a bool tensor)
        return tg.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        return _rebuild(elem, collated)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a named tuple
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise ShapeError(
                f"default_collate: each element in list of batch should be of equal "
                f"size, got lengths {[len(sample) for sample in batch]}"
            )
        columns = [default_collate(s) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            return type(elem)(columns)  # type: ignore[call-arg]
        except TypeError:  # a sequence type that cannot be built from a list
            return columns
    raise DTypeError(_UNSUPPORTED.format(type(elem)))


def default_convert(data: Any) -> Any:
    """Converts NumPy arrays (not string or object ones) to tensors, inside dicts,
    named tuples, tuples and lists too; everything else is returned unchanged. The
    ``collate_fn`` of a loader with ``batch_size=None`` (no batching)."""
    if isinstance(data, np.ndarray) or (
        isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_))
    ):
        return data if data.dtype.kind in "OSUV" else _as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuild(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # as PyTorch's: a list
    if isinstance(data, collections.abc.Sequence) and not isinstance(
        data, (str, bytes)
    ):
        converted = [default_convert(d) for d in data]
        try:
            return type(data)(converted)  # type: ignore[call-arg]
        except TypeError:
            return converted
    return data


def _as_tensor(array: np.ndarray) -> tg.Tensor:
    """Arrays keep their dtype; float16 becomes float32 and the unsigned integers
    tapegrad has no tensors for (uint16, uint32, uint64) become int64."""
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    elif array.dtype.kind == "u" and array.dtype != np.uint8:
        array = array.astype(np.int64)
    return tg.from_numpy(np.asarray(array, order="C"))


def _rebuild(like: Any, items: dict[Any, Any]) -> Any:
    """A mapping of ``like``'s type holding ``items`` (a plain dict if it cannot be
    built that way, as PyTorch's)."""
    if type(like) is dict:
        return items
    try:
        return type(like)(items)
    except TypeError:
        return items
