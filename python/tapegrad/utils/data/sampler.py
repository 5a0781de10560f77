"""Samplers: the order in which a ``DataLoader`` visits a map-style dataset's indices."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from tapegrad._errors import ArgumentError, DTypeError, ShapeError

from ._random import GeneratorLike, as_generator, resolve

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

T_co = TypeVar("T_co", covariant=True)


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` (indices) and, if they can,
    ``__len__``. Any iterable of indices may serve as a sampler."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(
            f"{type(self).__name__} is a Sampler subclass without __iter__"
        )


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Indices in random order: a fresh permutation every epoch, or with
    ``replacement`` independent uniform draws.

    Args:
        data_source: The dataset (only its length is used).
        replacement: Draw with replacement.
        num_samples: How many indices per epoch (default ``len(data_source)``).
            Without replacement and above the length, whole permutations follow
            each other, as in PyTorch.
        generator: A ``numpy.random.Generator``, an int seed, or None (each epoch
            takes a seed from tapegrad's global stream, set by ``tg.manual_seed``).
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: GeneratorLike = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise DTypeError(
                f"RandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = as_generator(generator, "RandomSampler")
        _check_count(self.num_samples, "RandomSampler", "num_samples")

    @property
    def num_samples(self) -> int:
        """Indices per epoch."""
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = resolve(self.generator)
        count = self.num_samples
        if self.replacement:
            return iter(rng.integers(0, n, size=count).tolist())
        if n == 0:
            return iter([])
        rounds, rest = divmod(count, n)
        order: list[int] = []
        for _ in range(rounds):
            order += rng.permutation(n).tolist()
        order += rng.permutation(n)[:rest].tolist()
        return iter(order)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a random order, a new one each epoch."""

    def __init__(self, indices: Sequence[int], generator: GeneratorLike = None) -> None:
        self.indices = indices
        self.generator = as_generator(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        order = resolve(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in order.tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``
    (as ``torch.multinomial``), with or without replacement.

    Raises:
        ArgumentError: If a weight is negative or not finite, all are zero, or
            ``num_samples`` is not a positive int (or, without replacement, exceeds
            the number of nonzero weights).
        ShapeError: If ``weights`` is not one-dimensional.
    """

    def __init__(
        self,
        weights: Sequence[float] | Any,
        num_samples: int,
        replacement: bool = True,
        generator: GeneratorLike = None,
    ) -> None:
        _check_count(num_samples, "WeightedRandomSampler", "num_samples")
        if not isinstance(replacement, bool):
            raise DTypeError(
                f"WeightedRandomSampler: replacement should be a boolean value, but "
                f"got replacement={replacement!r}"
            )
        probabilities = np.asarray(weights, dtype=np.float64)
        if probabilities.ndim != 1:
            raise ShapeError(
                f"WeightedRandomSampler: weights should be a 1d sequence but given "
                f"weights have shape {tuple(probabilities.shape)}"
            )
        if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
            raise ArgumentError(
                "WeightedRandomSampler: weights must be finite and non-negative"
            )
        nonzero = int(np.count_nonzero(probabilities))
        if nonzero == 0:
            raise ArgumentError("WeightedRandomSampler: the weights sum to zero")
        if not replacement and num_samples > nonzero:
            raise ArgumentError(
                f"WeightedRandomSampler: cannot draw num_samples={num_samples} without "
                f"replacement from {nonzero} nonzero weights"
            )
        self.weights = probabilities
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = as_generator(generator, "WeightedRandomSampler")

    def __iter__(self) -> Iterator[int]:
        rng = resolve(self.generator)
        p = self.weights / self.weights.sum()
        drawn = rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p)
        return iter(drawn.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups another sampler's indices into lists of ``batch_size``.

    Args:
        sampler: A sampler or any iterable of indices.
        batch_size: Indices per batch.
        drop_last: Drop the last batch if it is smaller than ``batch_size``.
    """

    def __init__(
        self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool
    ) -> None:
        _check_count(batch_size, "BatchSampler", "batch_size")
        if not isinstance(drop_last, bool):
            raise DTypeError(
                f"BatchSampler: drop_last should be a boolean value, but got "
                f"drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size


def _check_count(value: Any, owner: str, name: str) -> None:
    """A positive int (PyTorch raises ValueError for these, as ArgumentError does)."""
    try:
        ok = not isinstance(value, bool) and operator.index(value) > 0
    except TypeError:
        ok = False
    if not ok:
        raise ArgumentError(
            f"{owner}: {name} should be a positive integer value, but got "
            f"{name}={value!r}"
        )
