"""Data loading with PyTorch's names: datasets, samplers and ``DataLoader``.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad.utils.data import DataLoader, TensorDataset
    >>> data = TensorDataset(tg.arange(0.0, 10.0, 1.0).reshape(5, 2), tg.zeros(5))
    >>> [tuple(x.shape) for x, y in DataLoader(data, batch_size=2)]
    [(2, 2), (2, 2), (1, 2)]

Background workers (``num_workers > 0``) are threads; ``generator=`` arguments take a
``numpy.random.Generator``, an int seed or None (see docs/data.md).
"""

from ._collate import default_collate, default_convert
from ._worker import WorkerInfo, get_worker_info
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
