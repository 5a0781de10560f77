"""Datasets: what a ``DataLoader`` draws samples from, with PyTorch's names.

A map-style :class:`Dataset` answers ``dataset[i]`` and ``len(dataset)``; an
:class:`IterableDataset` yields its samples from ``iter(dataset)`` (a stream, a file
read line by line).
"""

from __future__ import annotations

import bisect
import math
import operator
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from tapegrad._errors import ArgumentError, AxisError, DTypeError, ShapeError

from ._random import GeneratorLike, as_generator, resolve

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__`` (and usually ``__len__``,
    which samplers and ``len(loader)`` need)."""

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError(
            f"{type(self).__name__} is a Dataset subclass without __getitem__"
        )

    def __add__(self, other: Dataset[T_co]) -> ConcatDataset[T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__``.

    With ``num_workers > 0`` every worker calls ``iter(dataset)`` and its batches are
    interleaved, so each worker should yield its own share: split the stream by
    ``tg.utils.data.get_worker_info()`` (``id`` and ``num_workers``).
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(
            f"{type(self).__name__} is an IterableDataset subclass without __iter__"
        )

    def __add__(self, other: Dataset[T_co]) -> ChainDataset[T_co]:  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset[tuple[Any, ...]]):
    """Samples are rows: ``dataset[i]`` is ``tuple(t[i] for t in tensors)``.

    Args:
        *tensors: Tensors (or NumPy arrays) with the same first dimension.

    Raises:
        ShapeError: If the first dimensions differ (or a tensor is 0-d).
    """

    def __init__(self, *tensors: Any) -> None:
        sizes = [tuple(t.shape)[:1] for t in tensors]
        if any(not size for size in sizes) or len({s[0] for s in sizes}) > 1:
            shown = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ShapeError(
                f"TensorDataset: size mismatch between tensors: every tensor needs the "
                f"same first dimension, got shapes {shown}"
            )
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0]) if self.tensors else 0


class Subset(Dataset[T_co]):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset[T_co], indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset[T_co]):
    """Map-style datasets one after the other.

    Raises:
        ArgumentError: If ``datasets`` is empty or holds an ``IterableDataset``
            (chain those with :class:`ChainDataset`).
    """

    def __init__(self, datasets: Iterable[Dataset[T_co]]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentError(
                "ConcatDataset: datasets should not be an empty iterable"
            )
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise ArgumentError(
                    "ConcatDataset does not support IterableDataset: use ChainDataset"
                )
        self.cumulative_sizes = self.cumsum(self.datasets)

    @staticmethod
    def cumsum(sequence: Sequence[Any]) -> list[int]:
        """Running totals of the datasets' lengths."""
        totals, total = [], 0
        for d in sequence:
            total += len(d)
            totals.append(total)
        return totals

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> T_co:
        n = len(self)
        if index < 0:
            if -index > n:
                raise ArgumentError(
                    f"ConcatDataset: absolute value of index {index} should not exceed "
                    f"dataset length {n}"
                )
            index += n
        if index >= n:
            raise AxisError(f"ConcatDataset: index {index} is out of range for {n}")
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset[T_co]):
    """Iterable datasets one after the other (lazily, as ``itertools.chain``)."""

    def __init__(self, datasets: Iterable[Dataset[T_co]]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[T_co]:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise DTypeError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise DTypeError("ChainDataset only supports IterableDataset")
            total += len(d)  # type: ignore[arg-type]
        return total


def random_split(
    dataset: Dataset[T_co],
    lengths: Sequence[int | float],
    generator: GeneratorLike = None,
) -> list[Subset[T_co]]:
    """Splits ``dataset`` at random into non-overlapping subsets of ``lengths``.

    Args:
        dataset: A map-style dataset with a length.
        lengths: Sizes that add up to ``len(dataset)``, or fractions that add up to 1:
            then each gets ``floor(fraction * len)`` and the remainder is dealt one by
            one, round-robin, as PyTorch does.
        generator: A ``numpy.random.Generator``, an int seed, or None (a seed from
            tapegrad's global stream, which ``tg.manual_seed`` sets).

    Raises:
        ArgumentError: If the lengths do not add up, or a fraction is outside [0, 1].
    """
    rng = resolve(as_generator(generator, "random_split"))
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    fractions = lengths and all(isinstance(x, float) for x in lengths)
    if fractions and math.isclose(sum(lengths), 1.0):
        lengths = _from_fractions(lengths, n)
    counts = [_length(x) for x in lengths]
    if sum(counts) != n:
        raise ArgumentError(
            f"random_split: sum of input lengths {counts} ({sum(counts)}) does not equal "
            f"the length of the input dataset ({n})"
        )
    order = rng.permutation(n).tolist()
    subsets, start = [], 0
    for count in counts:
        subsets.append(Subset(dataset, order[start : start + count]))
        start += count
    return subsets


def _from_fractions(fractions: list[float], n: int) -> list[int]:
    for i, f in enumerate(fractions):
        if not 0.0 <= f <= 1.0:
            raise ArgumentError(
                f"random_split: fraction at index {i} is not between 0 and 1: {f}"
            )
    counts = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    for i, count in enumerate(counts):
        if count == 0:
            warnings.warn(
                f"random_split: length of split at index {i} is 0; this might result "
                f"in an empty dataset",
                stacklevel=3,
            )
    return counts


def _length(x: Any) -> int:
    if isinstance(x, bool) or not hasattr(x, "__index__"):
        raise DTypeError(
            f"random_split: lengths must be ints (or fractions adding up to 1), got {x!r}"
        )
    count = operator.index(x)
    if count < 0:
        raise ArgumentError(f"random_split: lengths must be >= 0, got {count}")
    return count
