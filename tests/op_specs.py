"""The one table of differentiable ops that drives test_ops.py.

Each OpSpec names a public op, a tapegrad callable, a NumPy reference and sample
inputs. A sample lists one shape per tensor argument (values are drawn from the
op's domain), keyword arguments passed unchanged to both callables, and a memory
layout for the NumPy inputs ("contiguous", "strided" = ``a[..., ::2]`` of a wider
array, "transposed" = Fortran order, "reversed" = negative strides, "big-endian").
The table is long by design: adding an op means adding one entry here, and
``test_every_public_op_has_a_spec`` fails until that is done.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tapegrad as tg

Shape = tuple[int, ...]
Domain = Callable[[np.random.Generator, Shape], np.ndarray]


# ---------------------------------------------------------------- domains


def real(lo: float = -2.0, hi: float = 2.0) -> Domain:
    """Uniform in [lo, hi]."""
    return lambda rng, shape: rng.uniform(lo, hi, size=shape)


REAL = real()


def positive(lo: float = 0.5, hi: float = 2.0) -> Domain:
    """Uniform in [lo, hi], lo > 0 (log, sqrt, bases of pow)."""
    return real(lo, hi)


def nonzero(lo: float = 0.3, hi: float = 2.0) -> Domain:
    """Magnitude in [lo, hi] with a random sign: away from kinks and poles at 0."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)

    return draw


def avoiding(*points: float, margin: float = 0.05) -> Domain:
    """Uniform in [-2, 2] but at least ``margin`` away from each point (kinks)."""

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        x = rng.uniform(-2.0, 2.0, size=shape)
        for p in points:
            close = np.abs(x - p) < margin
            x = np.where(close, p + np.where(x >= p, 2, -2) * margin, x)
        return x

    return draw


# ---------------------------------------------------------------- table types


@dataclass(frozen=True)
class Sample:
    """One input configuration: a shape per tensor argument plus fixed kwargs."""

    shapes: tuple[Shape, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    layout: str = "contiguous"
    note: str = ""

    def label(self) -> str:
        shapes = "&".join("x".join(map(str, s)) or "scalar" for s in self.shapes)
        extra = ",".join(f"{k}={_short(v)}" for k, v in self.kwargs.items())
        parts = [shapes, extra, "" if self.layout == "contiguous" else self.layout]
        return "-".join(p for p in [*parts, self.note] if p).replace(" ", "")


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, tuple):
        return "(" + ",".join(_short(v) for v in value) + ")"
    if isinstance(value, slice):
        return ":".join(
            "" if v is None else str(v) for v in (value.start, value.stop, value.step)
        )
    return repr(value)


@dataclass(frozen=True)
class ErrorCase:
    """Inputs that must raise ``exc`` with every fragment in the message."""

    shapes: tuple[Shape, ...]
    kwargs: Mapping[str, Any]
    exc: type[BaseException] | tuple[type[BaseException], ...]
    fragments: tuple[str, ...]
    note: str = ""

    def label(self) -> str:
        shapes = "&".join("x".join(map(str, s)) or "scalar" for s in self.shapes)
        extra = ",".join(f"{k}={_short(v)}" for k, v in self.kwargs.items())
        return "-".join(p for p in (shapes, extra, self.note) if p).replace(" ", "")


@dataclass(frozen=True)
class OpSpec:
    """A differentiable op: how to call it, its reference, its samples."""

    name: str
    op: Callable[..., Any]
    ref: Callable[..., Any]
    samples: tuple[Sample, ...]
    domain: Domain | tuple[Domain, ...] = REAL
    errors: tuple[ErrorCase, ...] = ()
    variant: str = ""
    alternates: tuple[Callable[..., Any], ...] = ()
    out_dtype: Any = None  # None: the (promoted) input dtype
    gradcheck_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}[{self.variant}]" if self.variant else self.name

    def domain_of(self, arg: int) -> Domain:
        return self.domain[arg] if isinstance(self.domain, tuple) else self.domain


def make_arrays(spec: OpSpec, sample: Sample, dtype: Any, seed_text: str) -> list:
    """Deterministic NumPy inputs of ``dtype`` in the sample's layout."""
    rng = np.random.default_rng(zlib.crc32(seed_text.encode()))
    arrays = []
    for arg, shape in enumerate(sample.shapes):
        values = np.asarray(spec.domain_of(arg)(rng, shape), dtype=dtype)
        arrays.append(_layout(values, sample.layout))
    return arrays


def _layout(values: np.ndarray, layout: str) -> np.ndarray:
    if layout == "contiguous" or values.ndim == 0:
        return values
    if layout == "strided":
        wide = np.zeros((*values.shape[:-1], 2 * values.shape[-1]), values.dtype)
        wide[..., ::2] = values
        return wide[..., ::2]
    if layout == "transposed":
        return np.asfortranarray(values)
    if layout == "reversed":
        return values[::-1].copy()[::-1]
    if layout == "big-endian":
        return values.astype(values.dtype.newbyteorder(">"))
    raise ValueError(layout)


def S(*shapes: Shape, layout: str = "contiguous", note: str = "", **kwargs: Any):
    return Sample(tuple(shapes), kwargs, layout, note)


def E(shapes, exc, *fragments: str, note: str = "", **kwargs: Any) -> ErrorCase:
    return ErrorCase(tuple(shapes), kwargs, exc, fragments, note)


# ---------------------------------------------------------------- references


def _stable_logsumexp(x, dim=None, keepdim=False):
    if x.size == 0:
        with np.errstate(divide="ignore"):
            return np.log(np.sum(np.exp(x), axis=dim, keepdims=keepdim))
    m = np.max(x, axis=dim, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=dim)


def _softmax(x, dim):
    if x.size == 0:
        return x.copy()
    e = np.exp(x - np.max(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _sigmoid(x):
    # exp of a non-positive number only: no overflow at either end.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _conv_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct N-d cross-correlation (1-D or 2-D), one kernel tap at a time."""
    n = w.ndim - 2
    unbatched = x.ndim == n + 1
    x = x[None] if unbatched else x
    tup = lambda v: tuple(v) if isinstance(v, tuple) else (v,) * n
    stride, dilation = tup(stride), tup(dilation)
    if padding == "valid":
        pads = [(0, 0)] * n
    elif padding == "same":
        pads = [
            (d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2)
            for k, d in zip(w.shape[2:], dilation)
        ]
    else:
        pads = [(p, p) for p in tup(padding)]
    x = np.pad(x, [(0, 0), (0, 0), *pads])
    out_len = [
        (x.shape[2 + i] - dilation[i] * (w.shape[2 + i] - 1) - 1) // stride[i] + 1
        for i in range(n)
    ]
    cg, og = w.shape[1], w.shape[0] // groups
    out = np.zeros((x.shape[0], w.shape[0], *out_len))
    for g in range(groups):
        xs = x[:, g * cg : (g + 1) * cg]
        ws = w[g * og : (g + 1) * og]
        for tap in np.ndindex(*w.shape[2:]):
            window = tuple(
                slice(t * d, t * d + (o - 1) * s + 1, s)
                for t, d, o, s in zip(tap, dilation, out_len, stride)
            )
            patch = xs[(slice(None), slice(None), *window)]
            out[:, g * og : (g + 1) * og] += np.einsum(
                "nc...,oc->no...", patch, ws[(slice(None), slice(None), *tap)]
            )
    if b is not None:
        out += b.reshape(-1, *([1] * n))
    return out[0] if unbatched else out


def _clamp(x, min=None, max=None):
    out = x
    if min is not None:
        out = np.maximum(out, min)
    if max is not None:
        out = np.minimum(out, max)
    return out


def _expand(x, size):
    lead = len(size) - x.ndim
    full = [
        x.shape[i - lead] if (s == -1 and i >= lead) else s for i, s in enumerate(size)
    ]
    return np.broadcast_to(x, tuple(full))


def _flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return x.reshape(1)
    start, end = start_dim % x.ndim, end_dim % x.ndim
    return x.reshape(*x.shape[:start], -1, *x.shape[end + 1 :])


def _squeeze(x, dim=None):
    if dim is not None and x.shape[dim] != 1:
        return x
    return np.squeeze(x, axis=dim)


# ---------------------------------------------------------------- samples

ELEMENTWISE = (
    S(()),
    S((3,)),
    S((2, 3)),
    S((2, 1, 3)),
    S((0, 3)),
    S((2, 3), layout="strided"),
    S((3, 4), layout="transposed"),
    S((4,), layout="reversed"),
    S((2, 3), layout="big-endian"),
)

BROADCAST_PAIRS = (
    S((), ()),
    S((3,), (3,)),
    S((2, 3), (2, 3)),
    S((2, 3), (3,)),
    S((2, 1), (1, 3)),
    S((4, 1, 3), (2, 1)),
    S((2, 3), ()),
    S((), (2, 3)),
    S((1,), (2, 3)),
    S((0, 3), (3,)),
    S((0, 3), (1, 3)),
    S((2, 3), (2, 3), layout="strided"),
    S((3, 4), (4,), layout="transposed"),
    S((5,), (5,), layout="reversed"),
)

BROADCAST_ERRORS = (
    E([(2, 3), (4,)], tg.ShapeError, "(2, 3)", "(4,)"),
    E([(2, 3), (3, 2)], tg.ShapeError, "(2, 3)", "(3, 2)"),
    E([(0,), (2,)], tg.ShapeError, "(0,)", "(2,)"),
)

REDUCTION_SAMPLES = (
    S(()),
    S((3,)),
    S((2, 3)),
    S((2, 3), dim=0),
    S((2, 3), dim=1, keepdim=True),
    S((2, 3), dim=-1),
    S((2, 3, 4), dim=(0, 2)),
    S((2, 3, 4), dim=(-1, 0), keepdim=True),
    S((2, 1, 3), dim=1),
    S((4, 3), dim=0, layout="transposed"),
    S((2, 6), dim=1, layout="strided"),
)

DIM_ERRORS = (
    E([(2, 3)], tg.AxisError, "dimension 2|dim 2", "out of range", dim=2),
    E([(2, 3)], tg.AxisError, "-3", "out of range", dim=-3),
    E([(2, 3)], tg.AxisError, "5", "out of range", dim=(0, 5)),
)

UNARY_FUNCTIONS = {
    "exp": (np.exp, real()),
    "log": (np.log, positive()),
    "log1p": (np.log1p, real(-0.7, 3.0)),
    "erf": (np.vectorize(math.erf, otypes=[float]), real(-2.5, 2.5)),
    "sqrt": (np.sqrt, positive()),
    "sin": (np.sin, real(-4.0, 4.0)),
    "cos": (np.cos, real(-4.0, 4.0)),
    "tanh": (np.tanh, real(-3.0, 3.0)),
    "sigmoid": (_sigmoid, real(-6.0, 6.0)),
    "relu": (lambda x: np.maximum(x, 0), nonzero()),
    "abs": (np.abs, nonzero()),
}


def _unary(name: str, ref: Callable, domain: Domain) -> OpSpec:
    # Looked up at call time: a missing method fails its own tests, not the import.
    alternates = [lambda x: getattr(tg, name)(x)]
    if name == "abs":
        alternates.append(abs)
    return OpSpec(
        name,
        lambda x: getattr(x, name)(),
        ref,
        ELEMENTWISE,
        domain,
        alternates=tuple(alternates),
    )


def _binary(name, op, ref, domain=REAL, alternates=()) -> OpSpec:
    return OpSpec(
        name,
        op,
        ref,
        BROADCAST_PAIRS,
        domain,
        BROADCAST_ERRORS,
        alternates=tuple(alternates),
    )


def _scalar(name, variant, op, ref, domain=REAL) -> OpSpec:
    return OpSpec(name, op, ref, ELEMENTWISE, domain, variant=variant)


# ---------------------------------------------------------------- the table

CAST_GRADCHECK = {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}

OPS: tuple[OpSpec, ...] = (
    # --- arithmetic (operators, broadcasting, Python scalars on either side)
    _binary(
        "add",
        lambda a, b: a + b,
        np.add,
        alternates=[lambda a, b: a.add(b), lambda a, b: tg.add(a, b)],
    ),
    _scalar("add", "scalar-right", lambda x: x + 2.5, lambda x: x + 2.5),
    _scalar("add", "scalar-left", lambda x: 2.5 + x, lambda x: 2.5 + x),
    _binary(
        "sub",
        lambda a, b: a - b,
        np.subtract,
        alternates=[lambda a, b: a.sub(b), lambda a, b: tg.sub(a, b)],
    ),
    _scalar("sub", "scalar-right", lambda x: x - 1.5, lambda x: x - 1.5),
    _scalar("sub", "scalar-left", lambda x: 1.5 - x, lambda x: 1.5 - x),
    _binary(
        "mul",
        lambda a, b: a * b,
        np.multiply,
        alternates=[lambda a, b: a.mul(b), lambda a, b: tg.mul(a, b)],
    ),
    _scalar("mul", "scalar-right", lambda x: x * 3.0, lambda x: x * 3.0),
    _scalar("mul", "scalar-left", lambda x: -3 * x, lambda x: -3 * x),
    _binary(
        "truediv",
        lambda a, b: a / b,
        np.divide,
        (real(), nonzero(0.5, 2.0)),
        alternates=[lambda a, b: a.div(b), lambda a, b: tg.div(a, b)],
    ),
    _scalar("truediv", "scalar-right", lambda x: x / 4.0, lambda x: x / 4.0),
    _scalar("truediv", "scalar-left", lambda x: 2.0 / x, lambda x: 2.0 / x, nonzero()),
    _binary(
        "pow",
        lambda a, b: a**b,
        np.power,
        (positive(), real()),
        alternates=[lambda a, b: a.pow(b), lambda a, b: tg.pow(a, b)],
    ),
    _scalar("pow", "square", lambda x: x**2, lambda x: x**2),
    _scalar("pow", "cube-int", lambda x: x**3, lambda x: x**3),
    _scalar("pow", "sqrt", lambda x: x**0.5, lambda x: x**0.5, positive()),
    _scalar("pow", "negative", lambda x: x**-1.5, lambda x: x**-1.5, positive()),
    _scalar("pow", "scalar-base", lambda x: 2.0**x, lambda x: 2.0**x),
    OpSpec(
        "neg",
        lambda x: -x,
        np.negative,
        ELEMENTWISE,
        alternates=(lambda x: x.neg(), lambda x: tg.neg(x)),
    ),
    OpSpec(
        "matmul",
        lambda a, b: a @ b,
        np.matmul,
        (
            S((3,), (3,)),
            S((2, 3), (3,)),
            S((3,), (3, 4)),
            S((2, 3), (3, 4)),
            S((1, 1), (1, 1)),
            S((5, 2, 3), (3, 4)),
            S((2, 3), (5, 3, 4)),
            S((3,), (2, 3, 4)),
            S((2, 1, 2, 3), (3, 3, 4)),
            S((0, 3), (3, 4)),
            S((2, 0), (0, 4)),
            S((2, 3), (3, 0)),
            S((3, 2), (2, 4), layout="transposed"),
            S((2, 4), (4, 3), layout="strided"),
            S((3, 3), (3, 3), layout="reversed"),
        ),
        errors=(
            E([(2, 3), (4, 5)], tg.ShapeError, "(2, 3)", "(4, 5)"),
            E([(3,), (4,)], tg.ShapeError, "(3,)", "(4,)"),
            E(
                [(2, 2, 3), (3, 3, 4)],
                tg.ShapeError,
                "(2, 2, 3)|(2,)",
                "(3, 3, 4)|(3,)",
            ),
            E([(), (3,)], tg.ShapeError, "matmul"),
        ),
        alternates=(lambda a, b: tg.matmul(a, b), lambda a, b: a.matmul(b)),
    ),
    OpSpec(
        "linear",
        lambda x, w, b: tg._native._linear(x, w, b),
        lambda x, w, b: x @ w.T + b,
        (
            S((4, 3), (2, 3), (2,)),
            S((3,), (2, 3), (2,)),
            S((2, 5, 3), (4, 3), (4,)),
            S((0, 3), (2, 3), (2,)),
            S((4, 3), (2, 3), (2,), layout="transposed"),
        ),
        errors=(
            E([(4, 3), (2, 4), (2,)], tg.ShapeError, "(4, 3)", "(2, 4)"),
            E([(4, 3), (2, 3), (3,)], tg.ShapeError, "(3,)", "(2, 3)"),
        ),
    ),
    OpSpec(
        "conv2d",
        lambda x, w, b, **kw: tg.nn.functional.conv2d(x, w, b, **kw),
        _conv_ref,
        (
            S((2, 3, 5, 4), (4, 3, 3, 2), (4,)),
            S((1, 2, 6, 5), (2, 2, 3, 3), (2,), stride=2, padding=1),
            S((1, 2, 7, 6), (3, 2, 2, 3), (3,), stride=(2, 1), padding=(1, 2)),
            S((1, 2, 7, 7), (2, 2, 3, 3), (2,), dilation=2, padding="same"),
            S((2, 4, 5, 5), (6, 2, 3, 3), (6,), groups=2, padding="valid"),
            S((1, 3, 5, 5), (3, 1, 3, 3), (3,), groups=3, padding=1, note="depthwise"),
            S((3, 4, 4), (2, 3, 1, 1), (2,), note="unbatched"),
            S((0, 2, 4, 4), (2, 2, 3, 3), (2,)),
            S((1, 2, 5, 4), (2, 2, 2, 2), (2,), layout="transposed"),
            S((1, 2, 5, 4), (2, 2, 2, 2), (2,), layout="strided", stride=(1, 2)),
        ),
        errors=(
            E(
                [(1, 3, 4, 4), (2, 2, 3, 3), (2,)],
                tg.ShapeError,
                "(1, 3, 4, 4)",
                "(2, 2, 3, 3)",
            ),
            E(
                [(1, 2, 2, 2), (2, 2, 3, 3), (2,)],
                tg.ShapeError,
                "larger",
                "(1, 2, 2, 2)",
            ),
            E([(1, 2, 4, 4), (2, 2, 3, 3), (3,)], tg.ShapeError, "bias", "(3,)"),
            E(
                [(1, 2, 4, 4), (2, 2, 3, 3), (2,)],
                tg.ArgumentError,
                "same",
                "strided",
                stride=2,
                padding="same",
            ),
            E([(1, 2, 4, 4), (2, 2, 3, 3), (2,)], tg.ArgumentError, "stride", stride=0),
            E([(2, 4, 4), (2, 2, 3), (2,)], tg.ShapeError, "4-D", "(2, 2, 3)"),
        ),
    ),
    OpSpec(
        "conv1d",
        lambda x, w, b, **kw: tg.nn.functional.conv1d(x, w, b, **kw),
        _conv_ref,
        (
            S((2, 3, 7), (4, 3, 3), (4,)),
            S((1, 2, 9), (2, 2, 3), (2,), stride=2, padding=2, dilation=2),
            S((1, 4, 6), (4, 1, 3), (4,), groups=4, padding="same", note="depthwise"),
            S((2, 5), (3, 2, 2), (3,), note="unbatched"),
        ),
        errors=(
            E([(1, 3, 4), (2, 2, 3), (2,)], tg.ShapeError, "(1, 3, 4)", "(2, 2, 3)"),
        ),
    ),
    # --- elementwise unary
    *(_unary(name, ref, dom) for name, (ref, dom) in UNARY_FUNCTIONS.items()),
    OpSpec(
        "sigmoid",
        lambda x: x.sigmoid(),
        _sigmoid,
        (S((6,)),),
        lambda rng, shape: np.array([-800.0, -40.0, -1e-3, 0.0, 40.0, 800.0]),
        variant="extreme",
    ),
    OpSpec(
        "clamp",
        lambda x, **kw: x.clamp(**kw),
        _clamp,
        (
            S((3,), min=-0.5, max=0.5),
            S((2, 3), min=0.0),
            S((2, 3), max=0.25),
            S((), min=-0.5, max=0.5),
            S((0, 2), min=-0.5, max=0.5),
            S((3, 4), layout="transposed", min=-1.0, max=1.0),
        ),
        avoiding(-1.0, -0.5, 0.0, 0.25, 0.5, 1.0),
        errors=(E([(3,)], tg.ArgumentError, "min|max"),),
        alternates=(lambda x, **kw: tg.clamp(x, **kw),),
    ),
    _binary(
        "maximum",
        lambda a, b: tg.maximum(a, b),
        np.maximum,
        alternates=[lambda a, b: a.maximum(b)],
    ),
    _binary(
        "minimum",
        lambda a, b: tg.minimum(a, b),
        np.minimum,
        alternates=[lambda a, b: a.minimum(b)],
    ),
    OpSpec(
        "where",
        lambda a, b, cond: tg.where(
            cond if cond.dtype == bool else tg.tensor(cond, dtype=a.dtype), a, b
        ),
        lambda a, b, cond: np.where(cond != 0, a, b),
        (
            S(
                (2, 3),
                (2, 3),
                cond=np.array([[True, False, True], [False, False, True]]),
            ),
            S((2, 3), (3,), cond=np.array([True, False, True])),
            S((), (2, 3), cond=np.array([[1.0, 0.0, 2.0], [0.0, -1.0, 0.0]])),
            S((2, 1), (1, 3), cond=np.array(True)),
            S((0, 3), (3,), cond=np.zeros((0, 3), dtype=bool)),
            S((3, 2), (3, 2), layout="transposed", cond=np.eye(3, 2, dtype=bool)),
        ),
        errors=(
            E([(2, 3), (2, 3)], tg.ShapeError, "(4,)", cond=np.ones(4, dtype=bool)),
        ),
        alternates=(lambda a, b, cond: a.where(tg.tensor(cond), b),),
    ),
    # --- reductions
    OpSpec(
        "sum",
        lambda x, **kw: x.sum(**kw),
        lambda x, dim=None, keepdim=False: np.sum(x, axis=dim, keepdims=keepdim),
        (*REDUCTION_SAMPLES, S((0, 3)), S((0, 3), dim=0), S((0, 3), dim=1)),
        errors=DIM_ERRORS,
        alternates=(lambda x, **kw: tg.sum(x, **kw),),
    ),
    OpSpec(
        "mean",
        lambda x, **kw: x.mean(**kw),
        lambda x, dim=None, keepdim=False: np.mean(x, axis=dim, keepdims=keepdim),
        (*REDUCTION_SAMPLES, S((0, 3), dim=1)),
        errors=DIM_ERRORS,
        alternates=(lambda x, **kw: tg.mean(x, **kw),),
    ),
    OpSpec(
        "max",
        lambda x, **kw: x.max(**kw),
        lambda x, dim=None, keepdim=False: np.max(x, axis=dim, keepdims=keepdim),
        (*REDUCTION_SAMPLES, S((0, 3), dim=1)),
        alternates=(
            lambda x, **kw: x.amax(**kw),
            lambda x, **kw: tg.max(x, **kw),
            lambda x, **kw: tg.amax(x, **kw),
        ),
        errors=(
            *DIM_ERRORS,
            E([(0, 3)], (tg.ShapeError, tg.ArgumentError), "(0, 3)", note="empty"),
            E([(0, 3)], (tg.ShapeError, tg.ArgumentError), "(0, 3)", dim=0),
        ),
    ),
    OpSpec(
        "min",
        lambda x, **kw: x.min(**kw),
        lambda x, dim=None, keepdim=False: np.min(x, axis=dim, keepdims=keepdim),
        (*REDUCTION_SAMPLES, S((0, 3), dim=1)),
        alternates=(
            lambda x, **kw: x.amin(**kw),
            lambda x, **kw: tg.min(x, **kw),
            lambda x, **kw: tg.amin(x, **kw),
        ),
        errors=(
            *DIM_ERRORS,
            E([(0,)], (tg.ShapeError, tg.ArgumentError), "(0,)", note="empty"),
        ),
    ),
    OpSpec(
        "logsumexp",
        lambda x, **kw: x.logsumexp(**kw),
        _stable_logsumexp,
        (
            S((3,), dim=0),
            S((2, 3), dim=1),
            S((2, 3), dim=0, keepdim=True),
            S((2, 3), dim=-1, keepdim=True),
            S((2, 3, 4), dim=(0, 2)),
            S((0, 3), dim=1),
            S((3, 4), dim=1, layout="transposed"),
        ),
        errors=DIM_ERRORS,
        alternates=(lambda x, **kw: tg.logsumexp(x, **kw),),
    ),
    OpSpec(
        "logsumexp",
        lambda x, **kw: x.logsumexp(**kw),
        _stable_logsumexp,
        (S((2, 3), dim=1), S((4,), dim=0)),
        real(500.0, 1000.0),
        variant="large",
    ),
    OpSpec(
        "softmax",
        lambda x, **kw: x.softmax(**kw),
        lambda x, dim: _softmax(x, dim),
        (
            S((3,), dim=0),
            S((2, 3), dim=1),
            S((2, 3), dim=0),
            S((2, 3, 4), dim=-2),
            S((0, 3), dim=1),
            S((3, 4), dim=1, layout="transposed"),
        ),
        errors=(E([(2, 3)], tg.AxisError, "out of range", dim=2),),
        alternates=(lambda x, **kw: tg.softmax(x, **kw),),
    ),
    OpSpec(
        "softmax",
        lambda x, **kw: x.softmax(**kw),
        lambda x, dim: _softmax(x, dim),
        (S((2, 3), dim=1),),
        real(500.0, 1000.0),
        variant="large",
    ),
    OpSpec(
        "log_softmax",
        lambda x, **kw: x.log_softmax(**kw),
        lambda x, dim: x - _stable_logsumexp(x, dim, keepdim=True),
        (
            S((3,), dim=0),
            S((2, 3), dim=1),
            S((2, 3), dim=0),
            S((2, 3, 4), dim=-1),
            S((0, 3), dim=1),
            S((2, 6), dim=1, layout="strided"),
        ),
        errors=(E([(2, 3)], tg.AxisError, "out of range", dim=-3),),
        alternates=(lambda x, **kw: tg.log_softmax(x, **kw),),
    ),
    # --- shapes
    OpSpec(
        "reshape",
        lambda x, shape: x.reshape(*shape),
        lambda x, shape: np.reshape(x, shape),
        (
            S((2, 3), shape=(3, 2)),
            S((6,), shape=(2, -1)),
            S((), shape=(1, 1)),
            S((1, 1), shape=()),
            S((0, 3), shape=(3, 0)),
            S((3, 4), shape=(12,), layout="transposed"),
            S((2, 6), shape=(3, 4), layout="strided"),
        ),
        errors=(
            E([(2, 3)], tg.ShapeError, "(2, 3)", "(4,)", shape=(4,)),
            E([(2, 3)], (tg.ShapeError, tg.ArgumentError), "-1", shape=(-1, -1)),
            E([(2, 3)], (tg.ShapeError, tg.ArgumentError), "-2", shape=(-2, -3)),
        ),
        alternates=(
            lambda x, shape: x.reshape(shape),
            lambda x, shape: tg.reshape(x, shape),
        ),
    ),
    OpSpec(
        "view",
        lambda x, shape: x.view(*shape),
        lambda x, shape: np.reshape(x, shape),
        (S((2, 3), shape=(3, 2)), S((6,), shape=(-1, 2)), S((2, 3), shape=(6,))),
        errors=(E([(2, 3)], tg.ShapeError, "(2, 3)", "(5,)", shape=(5,)),),
        alternates=(lambda x, shape: x.view(shape),),
    ),
    OpSpec(
        "flatten",
        lambda x, **kw: x.flatten(**kw),
        _flatten,
        (
            S((2, 3, 4)),
            S((2, 3, 4), start_dim=1),
            S((2, 3, 4), end_dim=1),
            S(()),
            S((0, 3)),
        ),
        errors=(E([(2, 3)], tg.AxisError, "out of range", start_dim=3),),
        alternates=(lambda x, **kw: tg.flatten(x, **kw),),
    ),
    OpSpec(
        "transpose",
        lambda x, dims: x.transpose(*dims),
        lambda x, dims: np.swapaxes(x, *dims),
        (
            S((2, 3), dims=(0, 1)),
            S((2, 3, 4), dims=(0, 2)),
            S((2, 3, 4), dims=(-1, -2)),
            S((3,), dims=(0, 0)),
            S((0, 3), dims=(1, 0)),
        ),
        errors=(E([(2, 3)], tg.AxisError, "out of range", dims=(0, 2)),),
        alternates=(lambda x, dims: tg.transpose(x, *dims),),
    ),
    OpSpec(
        "T",
        lambda x: x.T,
        lambda x: x.T,
        (S((2, 3)), S((1, 4)), S((3, 4), layout="transposed"), S((0, 2))),
    ),
    OpSpec(
        "permute",
        lambda x, dims: x.permute(*dims),
        lambda x, dims: np.transpose(x, dims),
        (
            S((2, 3, 4), dims=(2, 0, 1)),
            S((2, 3), dims=(1, 0)),
            S((2, 0, 3), dims=(1, 2, 0)),
        ),
        errors=(
            E([(2, 3)], tg.AxisError, "5", dims=(0, 5)),
            E(
                [(2, 3)],
                (tg.ArgumentError, tg.AxisError, tg.ShapeError),
                "permute",
                dims=(0, 0),
            ),
            E([(2, 3, 4)], (tg.ArgumentError, tg.ShapeError), "permute", dims=(0, 1)),
        ),
        alternates=(
            lambda x, dims: x.permute(dims),
            lambda x, dims: tg.permute(x, dims),
        ),
    ),
    OpSpec(
        "unsqueeze",
        lambda x, dim: x.unsqueeze(dim),
        lambda x, dim: np.expand_dims(x, dim),
        (
            S((3,), dim=0),
            S((3,), dim=1),
            S((2, 3), dim=-1),
            S((), dim=0),
            S((0,), dim=0),
        ),
        errors=(E([(2, 3)], tg.AxisError, "out of range", dim=3),),
        alternates=(lambda x, dim: tg.unsqueeze(x, dim),),
    ),
    OpSpec(
        "squeeze",
        lambda x, **kw: x.squeeze(**kw),
        _squeeze,
        (
            S((2, 1, 3)),
            S((2, 1, 3), dim=1),
            S((2, 1, 3), dim=-2),
            S((1, 1)),
            S((2, 1, 3), dim=0),
            S((1, 0), dim=0),
        ),
        errors=(E([(2, 1)], tg.AxisError, "out of range", dim=2),),
        alternates=(lambda x, **kw: tg.squeeze(x, **kw),),
    ),
    OpSpec(
        "expand",
        lambda x, size: x.expand(*size),
        _expand,
        (
            S((3, 1), size=(3, 4)),
            S((3,), size=(2, 3)),
            S((1, 3), size=(2, -1)),
            S((), size=(2, 3)),
            S((2, 1), size=(3, 2, 0)),
        ),
        errors=(
            E([(2, 3)], tg.ShapeError, "(2, 3)", "(4, 3)", size=(4, 3)),
            E([(2, 3)], tg.ShapeError, "(2, 3)", size=(3,)),
        ),
        alternates=(lambda x, size: x.expand(size),),
    ),
    OpSpec(
        "broadcast_to",
        lambda x, shape: x.broadcast_to(shape),
        lambda x, shape: np.broadcast_to(x, shape),
        (S((3, 1), shape=(2, 3, 4)), S((), shape=(2,)), S((1,), shape=(0,))),
        errors=(E([(2, 3)], tg.ShapeError, "(2, 3)", "(3, 3)", shape=(3, 3)),),
        alternates=(lambda x, shape: tg.broadcast_to(x, shape),),
    ),
    OpSpec(
        "getitem",
        lambda x, index: x[index],
        lambda x, index: x[index],
        (
            S((4, 3), index=1),
            S((4, 3), index=-1),
            S((4, 3), index=slice(1, 3)),
            S((4, 3), index=(slice(None), slice(None, None, 2))),
            S((4, 3), index=slice(None, None, -1)),
            S((4, 3), index=(slice(None, None, -2), slice(1, None))),
            S((4, 3), index=(slice(-3, -1), 0)),
            S((4, 3), index=slice(10, 20)),
            S((4, 3), index=None),
            S((2, 3, 4), index=(Ellipsis, 0)),
            S((2, 3, 4), index=(Ellipsis, None)),
            S((2, 3, 4), index=(1, None, slice(None, None, -1))),
            S((4, 3), index=(2, 1)),
            S((), index=()),
            S((), index=None),
            S((4, 3), index=[0, 2, 0]),
            S((4, 3), index=np.array([3, -1, 0])),
            S((4, 3), index=(slice(None), [1, 0, 1])),
            S((4, 3), index=np.array([[0], [1]])),
            S((2, 3, 4), index=(slice(None), [0, 2], 1)),
            S((4, 3), index=np.array([], dtype=np.int64)),
            S((0, 3), index=(slice(None), 1)),
            S((6, 4), index=(slice(1, None, 2), 2), layout="strided"),
        ),
        errors=(
            E([(4, 3)], tg.AxisError, "5", index=5),
            E([(4, 3)], tg.AxisError, "-5", index=(slice(None), -5)),
            E([(4, 3)], tg.AxisError, "7", index=[0, 7]),
            E([(4, 3)], tg.AxisError, "index", index=(0, 0, 0)),
            E([(4, 3)], tg.TapegradError, "step", index=slice(None, None, 0)),
        ),
    ),
    OpSpec(
        "cat",
        lambda *ts, **kw: tg.cat(list(ts), **kw),
        lambda *xs, dim=0: np.concatenate(xs, axis=dim),
        (
            S((2, 3), (4, 3)),
            S((2, 3), (2, 1), dim=1),
            S((2, 3), (2, 2), (2, 1), dim=-1),
            S((0, 3), (2, 3)),
            S(
                (3,),
            ),
            S((2, 2), (3, 2), layout="transposed"),
        ),
        errors=(
            E([(2, 3), (2, 4)], tg.ShapeError, "(2, 3)", "(2, 4)"),
            E([(2, 3), (3,)], tg.ShapeError, "(2, 3)", "(3,)"),
            E([(2, 3), (2, 3)], tg.AxisError, "out of range", dim=2),
        ),
    ),
    OpSpec(
        "stack",
        lambda *ts, **kw: tg.stack(list(ts), **kw),
        lambda *xs, dim=0: np.stack(xs, axis=dim),
        (
            S((2, 3), (2, 3)),
            S((2, 3), (2, 3), (2, 3), dim=2),
            S((2, 3), (2, 3), dim=-1),
            S((), ()),
            S((0, 3), (0, 3), dim=1),
        ),
        errors=(
            E([(2, 3), (3, 2)], tg.ShapeError, "(2, 3)", "(3, 2)"),
            E([(2, 3), (2, 3)], tg.AxisError, "out of range", dim=3),
        ),
    ),
    # --- dtype casts (float32 rounding in the middle needs a larger step)
    OpSpec(
        "to",
        lambda x: x.to(tg.float32),
        lambda x: x,
        ELEMENTWISE,
        out_dtype=tg.float32,
        gradcheck_kwargs=CAST_GRADCHECK,
        alternates=(lambda x: x.to("float32"), lambda x: x.to(np.float32)),
    ),
    OpSpec(
        "to",
        lambda x: x.to(tg.float64),
        lambda x: x,
        ELEMENTWISE,
        variant="float64",
        out_dtype=tg.float64,
    ),
    OpSpec(
        "float",
        lambda x: x.float(),
        lambda x: x,
        ELEMENTWISE,
        out_dtype=tg.float32,
        gradcheck_kwargs=CAST_GRADCHECK,
    ),
    OpSpec(
        "double", lambda x: x.double(), lambda x: x, ELEMENTWISE, out_dtype=tg.float64
    ),
)

# The differentiable public ops of the issue; every one needs an entry above.
PUBLIC_OPS = [
    "add",
    "sub",
    "mul",
    "truediv",
    "pow",
    "matmul",
    "neg",
    "abs",
    "exp",
    "log",
    "log1p",
    "erf",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "clamp",
    "maximum",
    "minimum",
    "where",
    "sum",
    "mean",
    "max",
    "min",
    "logsumexp",
    "softmax",
    "log_softmax",
    "reshape",
    "view",
    "flatten",
    "transpose",
    "T",
    "permute",
    "unsqueeze",
    "squeeze",
    "expand",
    "broadcast_to",
    "getitem",
    "cat",
    "stack",
]

# Operator dunders and aliases, by the op whose spec covers them.
SPELLINGS = {
    "__add__": "add",
    "__radd__": "add",
    "__sub__": "sub",
    "__rsub__": "sub",
    "__mul__": "mul",
    "__rmul__": "mul",
    "__truediv__": "truediv",
    "__rtruediv__": "truediv",
    "div": "truediv",
    "divide": "truediv",
    "true_divide": "truediv",
    "__pow__": "pow",
    "__rpow__": "pow",
    "__matmul__": "matmul",
    "__rmatmul__": "matmul",
    "__neg__": "neg",
    "negative": "neg",
    "__abs__": "abs",
    "absolute": "abs",
    "clip": "clamp",
    "__getitem__": "getitem",
    "concat": "cat",
    "concatenate": "cat",
    "amax": "max",
    "amin": "min",
    "multiply": "mul",
    "subtract": "sub",
}

# Public names that are not differentiable ops (creation, conversion, autograd
# plumbing, comparisons that return masks, dtypes, errors).
NOT_OPS = frozenset(
    [
        # dtypes, casts and promotion (issue 11): tests/test_dtypes.py
        *("bool", "uint8", "int8", "int16", "int32", "int64", "long", "int", "short"),
        *("byte", "char", "type", "element_size", "is_floating_point", "is_signed"),
        *("iinfo", "finfo", "get_default_dtype", "set_default_dtype", "result_type"),
        *("promote_types", "can_cast", "empty", "empty_like", "full_like"),
        # bool and int64 results without gradients: tests/test_dtypes_ops.py
        *("all", "any", "allclose", "isclose", "equal", "isnan", "isinf", "isfinite"),
        *("logical_and", "logical_or", "logical_xor", "logical_not", "count_nonzero"),
        *("argmax", "argmin"),
        "tensor",
        "from_numpy",
        "zeros",
        "ones",
        "full",
        "zeros_like",
        "ones_like",
        "arange",
        "eye",
        "rand",
        "randn",
        "manual_seed",
        "set_num_threads",
        "get_num_threads",
        "Tensor",
        "dtype",
        "float32",
        "float64",
        "TapegradError",
        "ShapeError",
        "AxisError",
        "DTypeError",
        "GraphError",
        "ArgumentError",
        "grad",
        "no_grad",
        "enable_grad",
        "is_grad_enabled",
        "set_grad_enabled",
        "backward",
        "detach",
        "requires_grad",
        "requires_grad_",
        "retain_grad",
        "is_leaf",
        "grad_fn",
        "retains_grad",
        "numpy",
        "item",
        "tolist",
        "shape",
        "ndim",
        "numel",
        "size",
        "dim",
        "lt",
        "le",
        "gt",
        "ge",
        "eq",
        "ne",
        "testing",
        "func",
        "Function",
        "FunctionCtx",
        "register_hook",
        "register_post_accumulate_grad_hook",
        "nn",
        "optim",
        "save",
        "load",
        "memory",
        "memory_bill",
        "checkpoint",
        "checkpoint_sequential",
        "viz",
        "diagnostics",
    ]
    + ["autograd", "inference_mode", "is_inference_mode_enabled", "utils"]
    # A module: its functions are tested in test_linalg*.py.
    + ["linalg"]
    + ["FileFormatError", "PathNotFoundError"]
)


def specs_named(name: str) -> list[OpSpec]:
    return [spec for spec in OPS if spec.name == name]
