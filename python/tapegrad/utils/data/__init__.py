"""Data loading with PyTorch's names; ``distributed`` holds ``DistributedSampler``."""

__all__: list[str] = []
