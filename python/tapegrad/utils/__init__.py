"""Utilities with PyTorch's ``torch.utils`` names: ``data`` (datasets, samplers,
``DataLoader``) and ``checkpoint`` (gradient checkpointing)."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
