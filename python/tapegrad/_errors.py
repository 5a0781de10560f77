"""The exception hierarchy. Each class also derives from the builtin a Python user would
catch, so ``except ValueError`` keeps working for shape errors."""

__all__ = [
    "ArgumentError",
    "AxisError",
    "DTypeError",
    "FileFormatError",
    "GraphError",
    "IntegerDivisionError",
    "InternalError",
    "OutOfMemoryError",
    "PathNotFoundError",
    "ShapeError",
    "TapegradError",
]


class TapegradError(Exception):
    """Base class of every error tapegrad raises."""


class ShapeError(TapegradError, ValueError):
    """Shapes that do not fit: broadcasting, matmul, reshape, gradient shapes."""


class AxisError(TapegradError, IndexError):
    """A dimension or index outside the tensor."""


class DTypeError(TapegradError, TypeError):
    """A dtype or Python type that an operation cannot take."""


class GraphError(TapegradError, RuntimeError):
    """Misuse of the autograd graph: backward twice, nothing requires grad, and so on."""


class ArgumentError(TapegradError, ValueError):
    """An argument value outside its domain (negative sizes, zero steps, ...)."""


class IntegerDivisionError(TapegradError, RuntimeError, ZeroDivisionError):
    """Integer division or remainder by zero (``//``, ``%``, ``fmod``, ``div`` with a
    ``rounding_mode``): PyTorch raises ``RuntimeError: ZeroDivisionError``, Python's
    ``1 // 0`` raises ``ZeroDivisionError``; this is both."""


class FileFormatError(TapegradError, ValueError):
    """A file ``tapegrad.load`` cannot read: a PyTorch pickle, or not a (whole)
    safetensors file."""


class PathNotFoundError(TapegradError, FileNotFoundError):
    """A file to load, or the folder to save into, does not exist."""


class OutOfMemoryError(TapegradError, MemoryError):
    """A buffer the system could not allocate; the message names the op and the bytes.
    (PyTorch's ``torch.OutOfMemoryError`` is a ``RuntimeError`` raised for accelerator
    memory; for host memory tapegrad raises a ``MemoryError``, as NumPy does.)"""


class InternalError(TapegradError, RuntimeError):
    """A bug in tapegrad: a broken internal invariant, or a panic caught at the boundary.
    The message names the op; please report it."""


# Tracebacks read `tapegrad.ShapeError`, the name users import.
for _cls in (
    TapegradError,
    ShapeError,
    AxisError,
    DTypeError,
    GraphError,
    IntegerDivisionError,
    ArgumentError,
    OutOfMemoryError,
    InternalError,
    FileFormatError,
    PathNotFoundError,
):
    _cls.__module__ = "tapegrad"
del _cls
