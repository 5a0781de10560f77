"""Random numbers with PyTorch's names: ``Generator`` objects, the default generator and
its seeds, and the samplers (``randint``, ``randperm``, ``multinomial``, ``bernoulli``,
``normal``, ``poisson``, the ``_like`` forms). Every function takes ``generator=``; without
one it draws from ``default_generator``, which ``manual_seed`` reseeds. Samples are
constants: they never require grad.
"""

from __future__ import annotations

from typing import Any

from . import _native
from ._creation import _shape
from ._device import accepts_device
from ._errors import ArgumentError
from ._native import Generator, Tensor

__all__ = [
    "Generator",
    "bernoulli",
    "default_generator",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "multinomial",
    "normal",
    "poisson",
    "rand_like",
    "randint",
    "randint_like",
    "randn_like",
    "randperm",
    "seed",
    "set_rng_state",
]

default_generator: Generator = _native._default_generator()


def manual_seed(seed: int) -> Generator:
    """Reseeds the default generator (every random function without ``generator=``
    then draws the same numbers again); returns it, as PyTorch does."""
    return default_generator.manual_seed(int(seed))


def seed() -> int:
    """Reseeds the default generator from a non-deterministic seed and returns it."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed the default generator started from."""
    return default_generator.initial_seed()


def get_rng_state() -> Tensor:
    """The default generator's state (a uint8 tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Restores the default generator's state from ``get_rng_state``."""
    default_generator.set_state(new_state)


def _leaf(t: Tensor, requires_grad: bool) -> Tensor:
    return t.requires_grad_(True) if requires_grad else t


def _size_of(op: str, size: Any) -> Any:
    if size is None:
        raise ArgumentError(f"{op}() missing its size argument")
    return _shape(size) if isinstance(size, (tuple, list)) else (size,)


@accepts_device
def randint(
    *args: Any,
    size: Any = None,
    generator: Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers drawn uniformly from ``[low, high)``: ``randint(high, size)`` or
    ``randint(low, high, size)`` (int64 unless ``dtype`` says otherwise)."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        *args, size = args  # type: ignore[assignment]
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise ArgumentError(
            f"randint() takes (high, size) or (low, high, size), got {len(args)} "
            "positional bounds"
        )
    shape = _size_of("randint", size)
    out = _native._randint(int(low), int(high), shape, dtype, generator)
    return _leaf(out, requires_grad)


def randint_like(
    input: Tensor,
    low: int = 0,
    high: int | None = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """``randint`` with ``input``'s shape (and dtype unless given);
    ``randint_like(x, high)`` draws from ``[0, high)``."""
    if high is None:
        low, high = 0, low
    out = _native._randint(
        int(low), int(high), input.shape, dtype or input.dtype, generator
    )
    return _leaf(out, requires_grad)


@accepts_device
def randperm(
    n: int,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """A random permutation of ``0, ..., n - 1`` (int64 unless ``dtype`` says
    otherwise)."""
    return _leaf(_native._randperm(int(n), dtype, generator), requires_grad)


def rand_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform samples from [0, 1) with ``input``'s shape (and dtype unless given)."""
    dtype = dtype or input.dtype
    return _native._rand(input.shape, dtype, requires_grad, generator)


def randn_like(
    input: Tensor,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Standard normal samples with ``input``'s shape (and dtype unless given)."""
    dtype = dtype or input.dtype
    return _native._randn(input.shape, dtype, requires_grad, generator)


def multinomial(
    input: Tensor,
    num_samples: int,
    replacement: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """``num_samples`` category indices per row of the weights ``input`` (1-D or 2-D,
    non-negative, not necessarily normalised), int64. Without replacement a row cannot
    give more samples than it has categories; categories of weight 0 come after every
    positive one."""
    return input.multinomial(num_samples, replacement, generator=generator)


def bernoulli(
    input: Tensor, p: float | None = None, *, generator: Generator | None = None
) -> Tensor:
    """1 with probability ``input`` (elementwise, or ``p`` when given), else 0."""
    return input.bernoulli(p, generator=generator)


@accepts_device
def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: Generator | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples: ``normal(mean, std)`` with tensor means and/or standard
    deviations (broadcast together), or ``normal(mean, std, size)`` with two floats."""
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        if size is not None:
            raise ArgumentError(
                "normal() takes a size only when mean and std are both numbers"
            )
        like = mean if isinstance(mean, Tensor) else std
        m = mean if isinstance(mean, Tensor) else _native._full((), mean, like.dtype)
        s = std if isinstance(std, Tensor) else _native._full((), std, like.dtype)
        return _leaf(_native._normal(m.detach(), s.detach(), generator), requires_grad)
    shape = _size_of("normal", size)
    if float(std) < 0:
        raise ArgumentError(f"normal expects std >= 0.0, but found std {std}")
    out = _native._randn(shape, dtype, False, generator)
    return _leaf((out * float(std) + float(mean)).detach(), requires_grad)


def poisson(input: Tensor, generator: Generator | None = None) -> Tensor:
    """Poisson samples with the elementwise rates ``input`` (in ``input``'s dtype)."""
    return _native._poisson(input.detach(), generator)


def __dir__() -> list[str]:
    return sorted(__all__)
