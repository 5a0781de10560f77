"""Neural-network building blocks with PyTorch's names: modules, layers and losses.

Example:
    >>> import tapegrad as tg
    >>> from tapegrad import nn
    >>> _ = tg.manual_seed(0)
    >>> model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
    >>> logits = model(tg.randn(4, 2))
    >>> loss = nn.CrossEntropyLoss()(logits, [0, 2, 1, 0])
    >>> loss.backward()
    >>> [tuple(p.grad.shape) for p in model.parameters()]
    [(8, 2), (8,), (3, 8), (3,)]
"""

from __future__ import annotations

from . import functional, init, parallel, utils
from .containers import ModuleList, Sequential
from .layers import (
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import IncompatibleKeys, Module, Parameter, StateDictError

__all__ = [
    "GELU",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "IncompatibleKeys",
    "LayerNorm",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "StateDictError",
    "Tanh",
    "functional",
    "init",
    "parallel",
    "utils",
]
