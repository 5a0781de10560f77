"""Random generators for samplers and ``random_split``.

A ``generator=`` argument takes a ``numpy.random.Generator`` (used as is, its state
advancing draw by draw, like a ``torch.Generator``), a ``tapegrad.Generator`` or an int
seed (either turned into one such generator when the sampler or loader is built, seeded
from the tapegrad generator's stream or from the int, so that successive epochs still
differ), or None: then each draw
takes a fresh seed from tapegrad's global random stream, so ``tg.manual_seed`` makes
shuffles reproducible, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

import operator
from typing import Any, Union

import numpy as np

from tapegrad._errors import ArgumentError, DTypeError

GeneratorLike = Union[np.random.Generator, int, None]


def as_generator(generator: Any, owner: str) -> np.random.Generator | None:
    """Validates a ``generator=`` argument; an int seed becomes a NumPy generator."""
    import tapegrad as tg

    if generator is None or isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, tg.Generator):
        return np.random.default_rng(draw_seed(generator))
    if isinstance(generator, bool) or not isinstance(generator, (int, np.integer)):
        raise DTypeError(
            f"{owner}: generator must be a tapegrad.Generator, a numpy.random.Generator, "
            f"an int seed or None, got {type(generator).__name__}"
        )
    seed = operator.index(generator)
    if seed < 0:
        raise ArgumentError(f"{owner}: a generator seed must be >= 0, got {seed}")
    return np.random.default_rng(seed)


def resolve(generator: np.random.Generator | None) -> np.random.Generator:
    """The generator to draw from: the given one, or one freshly seeded from
    tapegrad's global random stream (what ``tg.manual_seed`` sets)."""
    return generator if generator is not None else np.random.default_rng(draw_seed())


def draw_seed(generator: Any = None) -> int:
    """A 64-bit seed drawn from ``generator`` (a ``tapegrad.Generator``; tapegrad's
    default one when None)."""
    import tapegrad as tg

    halves = tg.rand(2, dtype=tg.float64, generator=generator).__array__(copy=True)
    high, low = (int(h * 2.0**32) for h in halves)
    return (high << 32) | low
