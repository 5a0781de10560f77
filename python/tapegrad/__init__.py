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

import builtins
from collections.abc import Sequence
from typing import Any

from . import _batched, _native
from ._creation import (
    arange,
    eye,
    from_dlpack,
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
    FileFormatError,
    GraphError,
    InternalError,
    OutOfMemoryError,
    PathNotFoundError,
    ShapeError,
    TapegradError,
)
from ._grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ._native import (
    Tensor,
    cat,
    float32,
    float64,
    get_num_threads,
    set_num_threads,
    stack,
)
from ._native import dtype as dtype

__version__ = "0.1.0"

# Ops as functions (`tg.exp is Tensor.exp`), generated from the core's derivative index.
from . import _ops
from ._ops import *


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` is true (nonzero), ``other`` elsewhere.

    With ``condition`` alone, ``nonzero(condition, as_tuple=True)``: one int64 tensor of
    indices per dimension.

    ``condition`` may be a Tensor (such as a comparison mask), a NumPy bool array or a list;
    ``input`` and ``other`` may be tensors or Python numbers. Gradients flow to ``input``
    where the condition holds and to ``other`` elsewhere.
    """
    if not isinstance(condition, (Tensor, _batched.BatchedTensor)):  # vmap's too
        condition = tensor(condition)
    if input is None and other is None:
        return _selection.nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise ArgumentError("where: give both input and other, or neither")
    return _native._where(condition, input, other)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: builtins.bool | None = None,
    create_graph: builtins.bool = False,
    allow_unused: builtins.bool = False,
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
    retain = create_graph if retain_graph is None else builtins.bool(retain_graph)
    return _native._grad(
        outputs, inputs, grad_outputs, retain, create_graph, allow_unused
    )


from . import (
    autograd,
    diagnostics,
    func,
    linalg,
    memory,
    nn,
    optim,
    special,
    testing,
    utils,
    viz,
)
from ._checkpoint import checkpoint, checkpoint_sequential

# cat and stack as vmap left them: the native functions behind a batching-rule check.
cat, stack = _native.cat, _native.stack
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
    "arange",
    "cat",
    "checkpoint",
    "checkpoint_sequential",
    "diagnostics",
    "dtype",
    "enable_grad",
    "eye",
    "float32",
    "float64",
    "from_dlpack",
    "from_numpy",
    "full",
    "func",
    "get_num_threads",
    "grad",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "memory",
    "memory_bill",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randn",
    "save",
    "set_grad_enabled",
    "set_num_threads",
    "stack",
    "tensor",
    "testing",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
__all__ += _ops.__all__
__all__ += ["FileFormatError", "PathNotFoundError", "autograd", "inference_mode"]
__all__ += ["is_inference_mode_enabled", "utils"]
__all__ += ["InternalError", "OutOfMemoryError"]

# Integer and bool dtypes, PyTorch's aliases, limits and promotion (issue 11).
from . import _dtypes
from ._dtypes import *

__all__ += _dtypes.__all__

# Logical functions, predicates and argmax/argmin (bool and int64 results, no gradient).
from . import _logical
from ._logical import *

__all__ += _logical.__all__

# Elementwise composites with parameters (issue 15); `round` takes `decimals=`.
from . import _elementwise  # noqa: E402
from ._elementwise import *  # noqa: E402, F403

__all__ += [n for n in _elementwise.__all__ if n not in __all__]

# The device API and the factories' `device=` keyword (issue 15): CPU only.
from . import _device, _factories, backends, cuda  # noqa: E402
from ._device import device, get_default_device, set_default_device  # noqa: E402
from ._factories import *  # noqa: E402, F403

__all__ += ["backends", "cuda", "device", "get_default_device", "set_default_device"]
__all__ += [n for n in _factories.__all__ if n not in __all__]


# Shape functions composed from the primitives (issue 15).
from . import _shapes  # noqa: E402
from ._shapes import *  # noqa: E402, F403

__all__ += [n for n in _shapes.__all__ if n not in __all__]

# Products, statistics and scans composed from the primitives (issue 15).
from . import _products, _stats, linalg  # noqa: E402
from ._products import *  # noqa: E402, F403
from ._stats import *  # noqa: E402, F403

__all__ += [n for n in _products.__all__ + _stats.__all__ if n not in __all__]

# Selections by index: scatter*, index_*, masked_*, take*, unique... (issue 11).
from . import _selection  # noqa: E402
from ._selection import *  # noqa: E402, F403

__all__ += [n for n in _selection.__all__ if n not in __all__]
__all__ += ["linalg", "special"]

# Integer and bool arithmetic: bitwise ops, shifts, rounding divisions (issue 11).
from . import _integer, _scans  # noqa: E402
from ._integer import *  # noqa: E402, F403
from ._scans import *  # noqa: E402, F403

__all__ += [n for n in _integer.__all__ + _scans.__all__ if n not in __all__]
from ._errors import IntegerDivisionError  # noqa: E402

__all__ += ["IntegerDivisionError"]
# Random numbers: generators, seeds and samplers (issue 11); selections along a dim
# return the named tuples of `return_types`.
from . import _random, return_types  # noqa: E402
from ._random import *  # noqa: E402, F403

__all__ += [n for n in _random.__all__ if n not in __all__]
__all__ += ["return_types"]

# PyTorch names scripts call: ranges, grids, shape aliases, switches (`_surface`), and
# `set_printoptions` (`_printing`).
from . import _printing, _surface  # noqa: E402
from ._printing import *  # noqa: E402, F403
from ._surface import *  # noqa: E402, F403

__all__ += [n for n in _surface.__all__ + _printing.__all__ if n not in __all__]


def __getattr__(name: str) -> Any:
    # PyTorch dtypes tapegrad does not have (float16, bfloat16, complex64...) raise a clear
    # DTypeError instead of an AttributeError.
    if name in _dtypes.UNSUPPORTED:
        raise _dtypes.unsupported(name)
    raise AttributeError(f"module 'tapegrad' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Public names only (no ``np``, ``math``, ``Any``, ``annotations``...)."""
    return sorted(__all__)

# PyTorch's other names for the maths (aliases, torch.<linalg> forms), more maths
# (integers, quantiles, histograms, integrals) and scattered writes: Python composites.
from . import _math_aliases, _math_extra, _math_writes  # noqa: E402
from ._math_aliases import *  # noqa: E402, F403
from ._math_extra import *  # noqa: E402, F403
from ._math_writes import *  # noqa: E402, F403

__all__ += [
    n
    for n in _math_aliases.__all__ + _math_extra.__all__ + _math_writes.__all__
    if n not in __all__
]

# Shapes as `tapegrad.Size` (a tuple subclass, as torch.Size) (issue 15).
from ._size import Size  # noqa: E402

__all__ += ["Size"]

# PyTorch's legacy tensor types (`tapegrad.LongTensor(...)`, isinstance checks).
from . import _legacy  # noqa: E402
from ._legacy import *  # noqa: E402, F403

__all__ += _legacy.__all__

# CUDA-free answers to PyTorch's device and precision switches, and mixed precision
# (`amp`, `autocast`: accepted, no dtype changes; `GradScaler` works) (issue 15).
from . import _precision, amp, cpu  # noqa: E402
from ._precision import *  # noqa: E402, F403
from .amp import autocast, is_autocast_enabled  # noqa: E402

__all__ += _precision.__all__ + ["amp", "autocast", "cpu", "is_autocast_enabled"]

# NumPy's `axis=`/`keepdims=` for every function written in Python that has `dim`/`keepdim`
# (the native methods get them from the binding): last, once every module is loaded.
from . import _inplace, _quantiles, _spellings  # noqa: E402

_spellings.install(
    (_elementwise, _inplace, _integer, _logical, _math_aliases, _math_extra),
    globals(),
)
_spellings.install(
    (_math_writes, _products, _quantiles, _random, _scans, _selection, _shapes),
    globals(),
)
_spellings.install((_stats, _surface, _factories, _native, linalg, special), globals())

# Public composite functions whose Tensor method has a dedicated vmap batching rule run
# that rule for a batched tensor (`tg.quantile(x)` inside vmap as `x.quantile()`); after
# the spellings, so that the routing wraps the functions that take `axis=`.
from . import _batched_extra  # noqa: E402

_batched_extra.route_functions(globals())
