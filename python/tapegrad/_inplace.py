"""In-place forms of the ops, the augmented operators and ``x[index] = value``.

Every function here goes through one mechanism, ``Tensor._update_(op, fn)``: ``fn`` computes
the out-of-place result from the current value, the core checks it (shape, dtype, a
writable window) before writing anything, writes it into the tensor's storage (seen by
every view of it), bumps the storage's version and, when a graph is recorded, makes the
result's node the tensor's history (PyTorch's rebase). So ``x.exp_()`` is exactly
``x.exp()`` written back, with the same gradient, and an error leaves ``x`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._errors import ArgumentError
from ._native import Tensor

__all__: list[str] = []  # methods of Tensor, not functions of the package


def _update(self: Tensor, op: str, fn: Callable[[Tensor], Any]) -> Tensor:
    result: Tensor = self._update_(op, fn)
    return result


# ---- arithmetic ---------------------------------------------------------------------------


def _fast(self: Tensor, op: str, other: Any, alpha: Any = 1) -> bool:
    """The direct kernel (no allocation) when nothing is recorded and the dtypes agree."""
    if isinstance(alpha, (int, float)) and isinstance(other, (Tensor, int, float)):
        done: bool = self._arith_(op, other, float(alpha))
        return done
    return False


def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """In place ``self + alpha * other``."""
    if _fast(self, "add", other, alpha):
        return self
    if alpha == 1:
        return _update(self, "add_", lambda cur: cur + other)
    return _update(self, "add_", lambda cur: cur + other * alpha)


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    """In place ``self - alpha * other``."""
    if _fast(self, "sub", other, alpha):
        return self
    if alpha == 1:
        return _update(self, "sub_", lambda cur: cur - other)
    return _update(self, "sub_", lambda cur: cur - other * alpha)


def mul_(self: Tensor, other: Any) -> Tensor:
    """In place ``self * other``."""
    if _fast(self, "mul", other):
        return self
    return _update(self, "mul_", lambda cur: cur * other)


def div_(self: Tensor, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    """In place ``self / other`` (``rounding_mode`` "floor" or "trunc" as ``div``)."""
    if rounding_mode is None:
        if _fast(self, "div", other):
            return self
        return _update(self, "div_", lambda cur: cur / other)
    if rounding_mode == "floor":
        return _update(self, "div_", lambda cur: cur // other)
    if rounding_mode == "trunc":
        return _update(self, "div_", lambda cur: (cur / other).trunc())
    raise ArgumentError(
        f"div_ expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
        f"{rounding_mode!r}"
    )


def pow_(self: Tensor, exponent: Any) -> Tensor:
    """In place ``self ** exponent``."""
    return _update(self, "pow_", lambda cur: cur**exponent)


def clamp_(self: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """In place ``clamp(min, max)``."""
    return _update(self, "clamp_", lambda cur: cur.clamp(min, max))


clip_ = clamp_


def clamp_min_(self: Tensor, min: Any) -> Tensor:
    """In place ``clamp(min=min)``."""
    return _update(self, "clamp_min_", lambda cur: cur.clamp(min, None))


def clamp_max_(self: Tensor, max: Any) -> Tensor:
    """In place ``clamp(max=max)``."""
    return _update(self, "clamp_max_", lambda cur: cur.clamp(None, max))


def lerp_(self: Tensor, end: Any, weight: Any) -> Tensor:
    """In place ``lerp(self, end, weight)``."""
    from ._elementwise import lerp

    return _update(self, "lerp_", lambda cur: lerp(cur, end, weight))


def addcmul_(self: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1.0) -> Tensor:
    """In place ``self + value * tensor1 * tensor2``."""
    from ._elementwise import addcmul

    return _update(self, "addcmul_", lambda cur: addcmul(cur, tensor1, tensor2, value=value))


def addcdiv_(self: Tensor, tensor1: Any, tensor2: Any, *, value: float = 1.0) -> Tensor:
    """In place ``self + value * tensor1 / tensor2``."""
    from ._elementwise import addcdiv

    return _update(self, "addcdiv_", lambda cur: addcdiv(cur, tensor1, tensor2, value=value))


def masked_fill_(self: Tensor, mask: Any, value: Any) -> Tensor:
    """Sets the elements where the bool ``mask`` (broadcast to this shape) is True."""
    from . import where

    mask = _bool_mask("masked_fill_", mask)
    return _update(self, "masked_fill_", lambda cur: where(mask, value, cur))


def _bool_mask(op: str, mask: Any) -> Tensor:
    from . import tensor

    if not isinstance(mask, Tensor):
        mask = tensor(np.asarray(mask))
    if str(mask.dtype) != "tapegrad.bool":
        from ._errors import DTypeError

        raise DTypeError(f"{op} only supports boolean masks, but got mask with dtype {mask.dtype}")
    return mask


# ---- elementwise functions: `name_` is `name` written back ---------------------------------

_UNARY_AND_BINARY = (
    "neg abs exp log sqrt sin cos tanh sigmoid relu floor ceil round trunc frac sign "
    "reciprocal rsqrt square exp2 expm1 log2 log10 log1p tan asin acos atan sinh cosh asinh "
    "acosh atanh erf erfc erfinv sinc logit sgn nan_to_num fmod remainder atan2 hypot "
    "copysign xlogy floor_divide logical_not logical_and logical_or logical_xor bitwise_not "
    "bitwise_and bitwise_or bitwise_xor bitwise_left_shift bitwise_right_shift float_power "
    "deg2rad rad2deg digamma lgamma index_add index_copy index_fill scatter scatter_add "
    "scatter_reduce"
).split()
# PyTorch's other names for the ones above, and the remaining ops PyTorch has an in-place
# form of (found by comparing `dir(torch.Tensor)` with `dir(tapegrad.Tensor)`).
_UNARY_AND_BINARY += (
    "absolute negative fix arcsin arccos arctan arcsinh arccosh arctanh arctan2 multiply "
    "divide true_divide subtract eq ne lt le gt ge greater greater_equal less less_equal "
    "not_equal gcd lcm heaviside i0 ldexp nextafter mvlgamma polygamma cumsum cumprod tril "
    "triu renorm addmm addmv addbmm baddbmm addr"
).split()


def _written_back(name: str) -> Callable[..., Tensor]:
    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return _update(self, name + "_", lambda cur: getattr(cur, name)(*args, **kwargs))

    method.__name__ = name + "_"
    method.__doc__ = f"In place ``{name}``: ``self.{name}(...)`` written back into ``self``."
    return method


for _name in _UNARY_AND_BINARY:
    globals()[_name + "_"] = _written_back(_name)


# ---- random fills ---------------------------------------------------------------------------


def _random_like(self: Tensor) -> Tensor:
    from . import rand

    dtype = self.dtype if self.dtype.is_floating_point else None
    return rand(*self.shape, dtype=dtype)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fills with values drawn uniformly from ``[a, b)``."""
    return _update(self, "uniform_", lambda cur: _random_like(cur) * (b - a) + a)


def normal_(
    self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None
) -> Tensor:
    """Fills with values drawn from N(mean, std²)."""
    from . import randn

    def draw(cur: Tensor) -> Tensor:
        dtype = cur.dtype if cur.dtype.is_floating_point else None
        return randn(*cur.shape, dtype=dtype) * std + mean

    return _update(self, "normal_", draw)


def bernoulli_(self: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    """Fills with 1 where a uniform draw is below ``p`` (a number or a tensor), else 0."""
    return _update(self, "bernoulli_", lambda cur: (_random_like(cur) < p).to(cur.dtype))


def exponential_(self: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    """Fills with values drawn from the exponential distribution of rate ``lambd``."""
    if lambd <= 0:
        raise ArgumentError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _update(self, "exponential_", lambda cur: -(1.0 - _random_like(cur)).log() / lambd)


def random_(
    self: Tensor, from_: int = 0, to: int | None = None, *, generator: Any = None
) -> Tensor:
    """Fills with integers drawn uniformly from ``[from, to)``; ``random_(to)`` draws from
    ``[0, to)`` and ``random_()`` from ``[0, 2**mantissa]`` (floats) or the dtype's range."""
    if to is None:
        if from_ != 0:
            from_, to = 0, from_
        elif self.dtype.is_floating_point:
            to = 2**24 + 1 if self.dtype.itemsize == 4 else 2**53 + 1
        else:
            from . import iinfo

            to = int(iinfo(self.dtype).max) + (1 if self.dtype.itemsize < 8 else 0)
    if to <= from_:
        raise ArgumentError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
    span = to - from_
    return _update(
        self,
        "random_",
        lambda cur: (_random_like(cur).double() * span).floor().clamp(0, span - 1) + from_,
    )


# ---- augmented operators ---------------------------------------------------------------------


def __iadd__(self: Tensor, other: Any) -> Tensor:
    return add_(self, other)


def __isub__(self: Tensor, other: Any) -> Tensor:
    return sub_(self, other)


def __imul__(self: Tensor, other: Any) -> Tensor:
    return mul_(self, other)


def __itruediv__(self: Tensor, other: Any) -> Tensor:
    return div_(self, other)


def __ifloordiv__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "floor_divide_", lambda cur: cur // other)


def __imod__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "remainder_", lambda cur: cur % other)


def __ipow__(self: Tensor, other: Any) -> Tensor:
    return pow_(self, other)


def __imatmul__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "matmul_", lambda cur: cur @ other)


def __iand__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "bitwise_and_", lambda cur: cur & other)


def __ior__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "bitwise_or_", lambda cur: cur | other)


def __ixor__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "bitwise_xor_", lambda cur: cur ^ other)


def __ilshift__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "bitwise_left_shift_", lambda cur: cur << other)


def __irshift__(self: Tensor, other: Any) -> Tensor:
    return _update(self, "bitwise_right_shift_", lambda cur: cur >> other)


# ---- x[index] = value --------------------------------------------------------------------------


def _is_bool_mask(index: Any) -> bool:
    if isinstance(index, Tensor):
        return str(index.dtype) == "tapegrad.bool"
    return isinstance(index, np.ndarray) and index.dtype == np.bool_


def setitem(self: Tensor, index: Any, value: Any) -> None:
    """``self[index] = value``: a bool mask fills where it is True; ints, slices, ``None``
    and ``...`` write through the view ``self[index]``, broadcasting ``value``."""
    if _is_bool_mask(index):
        mask = _bool_mask("index_put_", index)
        if tuple(mask.shape) != tuple(self.shape[: mask.ndim]):
            from ._errors import ShapeError

            raise ShapeError(
                f"index_put_: the shape of the mask {tuple(mask.shape)} does not match the "
                f"shape of the indexed tensor {tuple(self.shape)}"
            )
        if isinstance(value, Tensor) and value.numel() != 1:
            index_put_(self, (mask,), value)  # one value (or row) per selected element
            return
        masked_fill_(self, mask.reshape(*mask.shape, *([1] * (self.ndim - mask.ndim))), value)
        return
    view = self[index]
    if view._base is None or not view._shares_storage(self):
        # integer-array indices (or a negative step): write the selected positions
        index_put_(self, index if isinstance(index, tuple) else (index,), value)
        return
    if isinstance(value, Tensor):
        view.copy_(value)
    elif np.ndim(value) == 0:
        view.fill_(value)
    else:
        view.copy_(_as_tensor(value, self))


def _as_tensor(value: Any, like: Tensor) -> Tensor:
    from . import tensor

    return tensor(value, dtype=like.dtype)


def index_put_(
    self: Tensor, indices: tuple[Any, ...], values: Any, accumulate: bool = False
) -> Tensor:
    """``self[indices] = values`` (or ``+=`` with ``accumulate``) for any index expression,
    integer arrays and masks included: the flat positions the expression selects get
    ``values`` broadcast to the selection's shape (with repeated positions, the last value
    wins, or all are added with ``accumulate``)."""
    from . import arange, tensor

    indices = tuple(indices)
    positions = arange(self.numel()).reshape(*self.shape)[indices if len(indices) != 1 else indices[0]]
    flat = positions.reshape(-1)

    def put(cur: Tensor) -> Tensor:
        v = values if isinstance(values, Tensor) else tensor(values, dtype=cur.dtype)
        v = v.to(cur.dtype).expand(*positions.shape).reshape(-1)
        line = cur.reshape(-1)
        out = line.scatter_add(0, flat, v) if accumulate else line.scatter(0, flat, v)
        return out.reshape(*cur.shape)

    return _update(self, "index_put_", put)


def index_put(
    self: Tensor, indices: tuple[Any, ...], values: Any, accumulate: bool = False
) -> Tensor:
    """Out of place ``index_put_``: a copy with ``indices`` set to ``values``."""
    return index_put_(self.clone(), indices, values, accumulate)


# ---- copy.deepcopy ---------------------------------------------------------------------------


def __deepcopy__(self: Tensor, memo: dict[int, Any]) -> Tensor:
    """A leaf with storage of its own, the same class (a ``Parameter`` stays one),
    ``requires_grad`` and a deep copy of ``.grad`` (PyTorch's rule: leaves only)."""
    import copy

    if id(self) in memo:
        found: Tensor = memo[id(self)]
        return found
    if not self.is_leaf:
        from ._errors import GraphError

        raise GraphError(
            "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
            "protocol at the moment"
        )
    new = self.detach().clone()
    if type(self) is not Tensor:
        new.__class__ = type(self)
    if self.requires_grad:
        new.requires_grad_(True)
    memo[id(self)] = new
    if self.grad is not None:
        new.grad = copy.deepcopy(self.grad, memo)
    return new
