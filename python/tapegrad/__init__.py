"""tapegrad: reverse-mode automatic differentiation with a Rust core.

All the gradients for the price of one forward pass: every op records what its
vector-Jacobian product needs, and ``backward()`` sweeps the recorded graph once in
reverse. The API follows PyTorch's names and semantics::

    import tapegrad as tg
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    x.grad  # tensor([2., 4., 6.])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _native
from ._creation import (
    arange,
    eye,
    from_numpy,
    full,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from ._errors import (
    ArgumentError,
    AxisError,
    DTypeError,
    GraphError,
    ShapeError,
    TapegradError,
)
from ._grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from ._native import (
    Tensor,
    cat,
    float32,
    float64,
    get_num_threads,
    manual_seed,
    set_num_threads,
    stack,
)
from ._native import dtype as dtype

__version__ = "0.1.0"

# Ops as functions: the Tensor methods themselves, so `tg.exp(x)` costs what `x.exp()` does.
add = Tensor.add
sub = Tensor.sub
mul = Tensor.mul
div = Tensor.div
pow = Tensor.pow
matmul = Tensor.matmul
neg = Tensor.neg
abs = Tensor.abs
exp = Tensor.exp
log = Tensor.log
log1p = Tensor.log1p
erf = Tensor.erf
sqrt = Tensor.sqrt
sin = Tensor.sin
cos = Tensor.cos
tanh = Tensor.tanh
sigmoid = Tensor.sigmoid
relu = Tensor.relu
clamp = Tensor.clamp
maximum = Tensor.maximum
minimum = Tensor.minimum
lt = Tensor.lt
le = Tensor.le
gt = Tensor.gt
ge = Tensor.ge
eq = Tensor.eq
ne = Tensor.ne
sum = Tensor.sum
mean = Tensor.mean
max = Tensor.max
min = Tensor.min
amax = Tensor.amax
amin = Tensor.amin
logsumexp = Tensor.logsumexp
softmax = Tensor.softmax
log_softmax = Tensor.log_softmax
reshape = Tensor.reshape
flatten = Tensor.flatten
transpose = Tensor.transpose
permute = Tensor.permute
unsqueeze = Tensor.unsqueeze
squeeze = Tensor.squeeze
broadcast_to = Tensor.broadcast_to
detach = Tensor.detach


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true (nonzero), ``other`` elsewhere.

    ``condition`` may be a Tensor (such as a comparison mask), a NumPy bool array or a list;
    ``input`` and ``other`` may be tensors or Python numbers. Gradients flow to ``input``
    where the condition holds and to ``other`` elsewhere.
    """
    if not isinstance(condition, Tensor):
        condition = tensor(condition)
    return _native._where(condition, input, other)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, as ``torch.autograd.grad``.

    Nothing is accumulated into ``.grad``. ``grad_outputs`` weighs each output (needed for
    non-scalar outputs); ``create_graph=True`` makes the result differentiable;
    ``retain_graph`` defaults to ``create_graph``. An input the outputs do not depend on raises
    unless ``allow_unused=True``, which returns None for it.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is not None:
        grad_outputs = (
            [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        )
    retain = create_graph if retain_graph is None else bool(retain_graph)
    return _native._grad(
        outputs, inputs, grad_outputs, retain, create_graph, allow_unused
    )


from . import (
    diagnostics,
    func,
    memory,
    nn,
    optim,
    testing,
    viz,
)
from ._checkpoint import checkpoint, checkpoint_sequential
from .autograd import Function, FunctionCtx
from .memory import memory_bill
from .serialization import load, save

__all__ = [
    "ArgumentError",
    "AxisError",
    "DTypeError",
    "Function",
    "FunctionCtx",
    "GraphError",
    "ShapeError",
    "TapegradError",
    "Tensor",
    "abs",
    "add",
    "amax",
    "amin",
    "arange",
    "broadcast_to",
    "cat",
    "checkpoint",
    "checkpoint_sequential",
    "clamp",
    "cos",
    "detach",
    "diagnostics",
    "div",
    "dtype",
    "enable_grad",
    "eq",
    "erf",
    "exp",
    "eye",
    "flatten",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "func",
    "ge",
    "get_num_threads",
    "grad",
    "gt",
    "is_grad_enabled",
    "le",
    "load",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "lt",
    "manual_seed",
    "matmul",
    "max",
    "maximum",
    "mean",
    "memory",
    "memory_bill",
    "min",
    "minimum",
    "mul",
    "ne",
    "neg",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "permute",
    "pow",
    "rand",
    "randn",
    "relu",
    "reshape",
    "save",
    "set_grad_enabled",
    "set_num_threads",
    "sigmoid",
    "sin",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "sub",
    "sum",
    "tanh",
    "tensor",
    "testing",
    "transpose",
    "unsqueeze",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
