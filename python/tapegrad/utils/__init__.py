"""Utilities with PyTorch's names (``tapegrad.utils.data``)."""

__all__: list[str] = []
