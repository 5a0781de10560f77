"""Timing and checking helpers shared by every benchmark case (runs in the child process).

Timing follows ``timeit``: warm up, pick a number of calls per block so that one block
lasts long enough for the clock, then time several blocks with the garbage collector off
and keep the median per-call time. Every framework is timed by the same loop, so Python's
loop overhead is the same for all of them.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Settings:
    """How long to measure: ``--quick`` trades precision for speed."""

    quick: bool
    threads: int
    warmup_s: float
    block_s: float
    repeats: int
    max_point_s: float

    @classmethod
    def make(cls, quick: bool, threads: int) -> Settings:
        if quick:
            return cls(
                quick, threads, warmup_s=0.01, block_s=0.004, repeats=3, max_point_s=0.3
            )
        return cls(
            quick, threads, warmup_s=0.05, block_s=0.02, repeats=7, max_point_s=1.5
        )


class CheckFailed(AssertionError):
    """A framework's result or gradient disagrees with the reference: nothing is timed."""


def _block(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` back-to-back calls."""
    loop = range(number)
    start = time.perf_counter()
    for _ in loop:
        fn()
    return (time.perf_counter() - start) / number


def _summary(samples: list[float], number: int) -> dict[str, Any]:
    samples = sorted(samples)
    quartiles = statistics.quantiles(samples, n=4) if len(samples) > 1 else samples * 3
    return {
        "time_s": statistics.median(samples),
        "stats": {
            "min_s": samples[0],
            "q1_s": quartiles[0],
            "q3_s": quartiles[2],
            "repeats": len(samples),
            "calls_per_repeat": number,
        },
    }


def measure(fn: Callable[[], Any], settings: Settings) -> dict[str, Any]:
    """Median seconds per call of ``fn`` (and its spread), after a warm-up.

    Returns ``{"time_s": median, "stats": {...}}``, the shape of a result row's timing.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        # Warm-up: caches, allocator pools, thread pools, lazy initialisation.
        calls, start = 0, time.perf_counter()
        while calls < 2 or time.perf_counter() - start < settings.warmup_s:
            fn()
            calls += 1
        per_call = (time.perf_counter() - start) / calls
        number = max(1, math.ceil(settings.block_s / max(per_call, 1e-9)))
        # Slow points get fewer blocks (never under 3) so that one point stays bounded.
        affordable = int(settings.max_point_s / max(per_call * number, 1e-9))
        repeats = max(3, min(settings.repeats, affordable))
        samples = [_block(fn, number) for _ in range(repeats)]
    finally:
        if was_enabled:
            gc.enable()
    return _summary(samples, number)


def measure_phases(
    step: Callable[[], tuple[float, ...]], settings: Settings, names: tuple[str, ...]
) -> dict[str, Any]:
    """Times a step that reports its own phase boundaries, one step per sample.

    ``step()`` returns ``perf_counter()`` stamps ``t0, t1, ..., tn``; phase i lasts
    ``t[i+1] - t[i]`` and is called ``names[i]``. Returns the median step time, its spread
    and the median of each phase (medians of parts need not add up to the median step).
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        calls, start = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - start < settings.warmup_s:
            step()
            calls += 1
        per_call = (time.perf_counter() - start) / calls
        budget = (
            settings.max_point_s if not settings.quick else settings.max_point_s / 2
        )
        steps = int(
            min(200, max(5 if settings.quick else 11, budget / max(per_call, 1e-9)))
        )
        stamps = [step() for _ in range(steps)]
    finally:
        if was_enabled:
            gc.enable()
    totals = [s[-1] - s[0] for s in stamps]
    row = _summary(totals, 1)
    row["phases_s"] = {
        name: statistics.median(s[i + 1] - s[i] for s in stamps)
        for i, name in enumerate(names)
    }
    return row


def check_close(what: str, got: Any, expected: Any, rtol: float) -> dict[str, Any]:
    """Raises CheckFailed unless ``got`` matches ``expected`` to ``rtol``.

    The error is measured against the reference's largest magnitude (max |got - ref| /
    max |ref|): robust for float32 sums of many terms, yet a wrong VJP rule (a missing
    factor, a wrong mask) is off by far more. Returns a record for the JSON output.
    """
    import numpy as np  # not at the top: compare.py (via _runner) must not load NumPy

    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        raise CheckFailed(
            f"{what}: shape {got.shape} but the reference has {expected.shape}"
        )
    if not np.all(np.isfinite(got)):
        raise CheckFailed(f"{what}: non-finite values")
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    error = float(np.max(np.abs(got - expected))) if expected.size else 0.0
    relative = error / scale if scale > 0 else error
    if relative > rtol:
        worst = np.unravel_index(int(np.argmax(np.abs(got - expected))), expected.shape)
        raise CheckFailed(
            f"{what}: relative error {relative:.3g} > {rtol:g} (max |got - ref| = {error:.3g} "
            f"at {tuple(int(i) for i in worst)}: got {got[worst]:.6g}, "
            f"reference {expected[worst]:.6g})"
        )
    return {"what": what, "relative_error": relative, "rtol": rtol}


def rtol_for(dtype: str) -> float:
    """Tolerance of a check against a float64 reference, by the dtype computed in."""
    return 2e-4 if dtype == "float32" else 1e-9
