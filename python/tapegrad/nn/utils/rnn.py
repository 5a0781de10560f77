"""Variable-length sequences for the recurrent layers, as ``torch.nn.utils.rnn``.

A :class:`PackedSequence` stores a batch of sequences time step by time step, the
sequences sorted by decreasing length, so that step t holds only the ``batch_sizes[t]``
sequences still running: ``RNN``, ``LSTM`` and ``GRU`` then run each step on those rows
only, and each sequence's final state is the one after its own last step. Packing and
unpacking are index gathers and concatenations, so gradients flow through them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

import tapegrad as tg
from tapegrad._errors import ArgumentError, ShapeError

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


class PackedSequence(NamedTuple):
    """A packed batch of sequences (PyTorch's fields and meaning).

    Attributes:
        data: (sum of lengths, *) the time steps, step by step, each step's rows
            being the sequences still running, in sorted order.
        batch_sizes: int64 (T,): how many sequences run at each step.
        sorted_indices: int64 (B,): batch position of each sorted sequence, or None
            when the batch was already sorted by decreasing length.
        unsorted_indices: int64 (B,): the inverse permutation, or None.
    """

    data: tg.Tensor
    batch_sizes: tg.Tensor
    sorted_indices: tg.Tensor | None = None
    unsorted_indices: tg.Tensor | None = None


def _lengths(lengths: Any, batch: int) -> np.ndarray:
    values = np.asarray(
        lengths.__array__(copy=True) if isinstance(lengths, tg.Tensor) else lengths
    ).reshape(-1)
    if values.shape != (batch,) or (values.size and values.dtype.kind not in "iu"):
        raise ShapeError(
            f"pack_padded_sequence: lengths must be {batch} integers (one per "
            f"sequence), got {lengths!r}"
        )
    return values.astype(np.int64)


def pack_padded_sequence(
    input: tg.Tensor,
    lengths: Any,
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """Packs a padded (T, B, *) batch (``(B, T, *)`` with ``batch_first``).

    Args:
        input: The padded sequences.
        lengths: Each sequence's length (a list or an integer tensor), all >= 1.
        batch_first: ``input`` is (B, T, *).
        enforce_sorted: Require lengths in decreasing order (else they are sorted and
            the permutation kept in the result).

    Returns:
        The :class:`PackedSequence`.
    """
    if input.ndim < 2:
        raise ShapeError(
            f"pack_padded_sequence: expected an input of at least 2 dimensions, got "
            f"shape {tuple(input.shape)}"
        )
    x = input.transpose(0, 1) if batch_first else input
    steps, batch = x.shape[0], x.shape[1]
    sizes = _lengths(lengths, batch)
    if sizes.size and (sizes.min() < 1 or sizes.max() > steps):
        raise ShapeError(
            f"pack_padded_sequence: lengths must be between 1 and the padded length "
            f"{steps}, got {sizes.tolist()}"
        )
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(sizes) > 0):
            raise ArgumentError(
                f"pack_padded_sequence: lengths {sizes.tolist()} are not sorted in "
                f"decreasing order; sort them or pass enforce_sorted=False"
            )
    else:
        order = np.argsort(-sizes, kind="stable")
        x, sizes = x[:, order], sizes[order]
        sorted_indices = tg.tensor(order.astype(np.int64))
        unsorted_indices = tg.tensor(np.argsort(order).astype(np.int64))
    batch_sizes = np.array(
        [int((sizes > t).sum()) for t in range(int(sizes.max(initial=0)))],
        dtype=np.int64,
    )
    data = tg.cat([x[t, : int(b)] for t, b in enumerate(batch_sizes)], dim=0)
    return PackedSequence(
        data, tg.tensor(batch_sizes), sorted_indices, unsorted_indices
    )


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[tg.Tensor, tg.Tensor]:
    """The inverse of :func:`pack_padded_sequence`.

    Args:
        sequence: The packed batch.
        batch_first: Return (B, T, *) instead of (T, B, *).
        padding_value: The value after each sequence's end.
        total_length: Pad to this many steps (at least the longest sequence).

    Returns:
        ``(padded, lengths)``, sequences in their original order, lengths int64.
    """
    if not isinstance(sequence, PackedSequence):
        raise ArgumentError(
            f"pad_packed_sequence: expected a PackedSequence, got {type(sequence)}"
        )
    data = sequence.data
    sizes = [int(b) for b in sequence.batch_sizes.__array__(copy=True)]
    batch, steps = (sizes[0] if sizes else 0), len(sizes)
    if total_length is not None and total_length < steps:
        raise ArgumentError(
            f"pad_packed_sequence: total_length ({total_length}) is less than the "
            f"longest sequence ({steps})"
        )
    feature = tuple(data.shape[1:])
    rows, offset = [], 0
    for size in sizes:
        step = data[offset : offset + size]
        if size < batch:
            fill = tg.full((batch - size, *feature), padding_value, dtype=data.dtype)
            step = tg.cat([step, fill], dim=0)
        rows.append(step)
        offset += size
    length = steps if total_length is None else total_length
    if length > steps:
        fill = tg.full((batch, *feature), padding_value, dtype=data.dtype)
        rows.extend([fill] * (length - steps))
    padded = tg.stack(rows) if rows else tg.zeros(0, batch, *feature, dtype=data.dtype)
    lengths = np.array([sum(b > i for b in sizes) for i in range(batch)])
    if sequence.unsorted_indices is not None:
        order = sequence.unsorted_indices.__array__(copy=True)
        padded, lengths = padded[:, order], lengths[order]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, tg.tensor(lengths.astype(np.int64))


def pad_sequence(
    sequences: Sequence[tg.Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> tg.Tensor:
    """Stacks (L_i, *) tensors into one (L_max, B, *) tensor ((B, L_max, *) with
    ``batch_first``), padding each with ``padding_value`` on ``padding_side``.
    """
    if padding_side not in ("right", "left"):
        raise ArgumentError(
            f"pad_sequence: padding_side must be 'right' or 'left', got "
            f"{padding_side!r}"
        )
    sequences = list(sequences)
    if not sequences:
        raise ArgumentError("pad_sequence: expected at least one sequence")
    trailing = {tuple(s.shape[1:]) for s in sequences}
    if any(s.ndim < 1 for s in sequences) or len(trailing) != 1:
        raise ShapeError(
            f"pad_sequence: the sequences must share their trailing dimensions, got "
            f"shapes {[tuple(s.shape) for s in sequences]}"
        )
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            fill = tg.full((missing, *s.shape[1:]), padding_value, dtype=s.dtype)
            s = tg.cat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return tg.stack(padded, dim=0 if batch_first else 1)


def pack_sequence(
    sequences: Sequence[tg.Tensor], enforce_sorted: bool = True
) -> PackedSequence:
    """Packs a list of (L_i, *) tensors (decreasing lengths unless
    ``enforce_sorted=False``)."""
    sequences = list(sequences)
    lengths = [s.shape[0] if s.ndim else 0 for s in sequences]
    return pack_padded_sequence(
        pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted
    )


def __dir__() -> list[str]:
    """Public names only."""
    return sorted(__all__)
