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
from .containers import (
    ModuleDict,
    ModuleList,
    ParameterDict,
    ParameterList,
    Sequential,
)
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
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CosineEmbeddingLoss,
    CrossEntropyLoss,
    GaussianNLLLoss,
    HingeEmbeddingLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MarginRankingLoss,
    MSELoss,
    MultiLabelSoftMarginLoss,
    MultiMarginLoss,
    NLLLoss,
    PoissonNLLLoss,
    SmoothL1Loss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from .module import IncompatibleKeys, Module, StateDictError
from .parameter import Parameter

__all__ = [
    "GELU",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CosineEmbeddingLoss",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianNLLLoss",
    "HingeEmbeddingLoss",
    "HuberLoss",
    "Identity",
    "IncompatibleKeys",
    "KLDivLoss",
    "L1Loss",
    "LayerNorm",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MarginRankingLoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "NLLLoss",
    "Parameter",
    "ParameterDict",
    "ParameterList",
    "PoissonNLLLoss",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SmoothL1Loss",
    "SoftMarginLoss",
    "Softmax",
    "StateDictError",
    "Tanh",
    "TripletMarginLoss",
    "functional",
    "init",
    "parallel",
    "utils",
]

from .conv import Conv1d, Conv2d
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    Dropout1d,
    Dropout2d,
    GroupNorm,
    InstanceNorm1d,
    InstanceNorm2d,
)
from .pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AvgPool1d,
    AvgPool2d,
    ConstantPad1d,
    ConstantPad2d,
    MaxPool1d,
    MaxPool2d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReplicationPad1d,
    ReplicationPad2d,
    Unflatten,
    ZeroPad2d,
)
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import (
    MultiheadAttention,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ += ["Conv1d", "Conv2d"]
__all__ += ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]
__all__ += ["MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer"]
__all__ += [
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout1d",
    "Dropout2d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
]
__all__ += [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "ConstantPad1d",
    "ConstantPad2d",
    "MaxPool1d",
    "MaxPool2d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "Unflatten",
    "ZeroPad2d",
]

from . import activation  # noqa: E402  (activation modules, issue 15)
from .activation import *  # noqa: E402, F403

__all__ += activation.__all__

from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .resampling import (  # issue 14 remainder
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    Fold,
    MaxUnpool1d,
    MaxUnpool2d,
    PixelShuffle,
    PixelUnshuffle,
    Unfold,
    Upsample,
)

__all__ += ["ConvTranspose1d", "ConvTranspose2d"]
__all__ += [
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "Fold",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "PixelShuffle",
    "PixelUnshuffle",
    "Unfold",
    "Upsample",
]

from .transformer_decoder import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
)

__all__ += ["Transformer", "TransformerDecoder", "TransformerDecoderLayer"]
