"""``DistributedSampler``: each rank reads its own share of a dataset's indices."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from tapegrad._errors import ArgumentError, DTypeError

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler[int]):
    """Splits a dataset's indices between ranks, as ``torch.utils.data.distributed``.

    Every rank draws the same permutation (from ``seed + epoch``), pads it by
    repeating its first indices until it divides evenly (or, with ``drop_last``, cuts
    the tail), and takes every ``num_replicas``-th index starting at ``rank``. So in
    each epoch every index goes to exactly one rank, except the padding, and all ranks
    get the same number of samples. Call ``set_epoch(epoch)`` at the start of each
    epoch, on every rank, to reshuffle.

    Args:
        dataset: Anything with ``len()``.
        num_replicas: Number of ranks sharing the data; the world size by default.
        rank: This rank; ``tapegrad.distributed.get_rank()`` by default.
        shuffle: Permute the indices (else they go in order).
        seed: Seed of the permutation; must be the same on every rank.
        drop_last: Drop the tail that does not divide evenly instead of padding.

    Example:
        >>> sampler = DistributedSampler(range(10), num_replicas=3, rank=0, shuffle=False)
        >>> list(sampler), len(sampler)
        ([0, 3, 6, 9], 4)
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from tapegrad import distributed

            if not distributed.is_initialized():
                raise ArgumentError(
                    "DistributedSampler: pass num_replicas and rank, or call "
                    "tapegrad.distributed.init_process_group() first"
                )
            num_replicas = (
                distributed.get_world_size() if num_replicas is None else num_replicas
            )
            rank = distributed.get_rank() if rank is None else rank
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ArgumentError(f"num_replicas must be >= 1, got {num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ArgumentError(
                f"Invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}]"
            )
        try:
            length = len(dataset)
        except TypeError as exc:
            raise DTypeError(
                f"DistributedSampler needs a dataset with len(), got "
                f"{type(dataset).__name__}"
            ) from exc
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        if drop_last and length % num_replicas:
            self.num_samples = math.ceil((length - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(length / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        length = len(self.dataset)
        if self.shuffle:
            rng = np.random.default_rng(self.seed + self.epoch)
            indices = rng.permutation(length).tolist()
        else:
            indices = list(range(length))
        if self.drop_last:
            indices = indices[: self.total_size]
        elif indices:
            padding = self.total_size - len(indices)
            repeats = math.ceil(padding / len(indices))
            indices += (indices * repeats)[:padding]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch, and so the permutation, of the next ``__iter__``."""
        self.epoch = int(epoch)
