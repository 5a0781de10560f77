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


def _conv_transpose_ref(
    x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """Direct transposed convolution: each input value scatters its kernel."""
    n = w.ndim - 2
    unbatched = x.ndim == n + 1
    x = x[None] if unbatched else x
    tup = lambda v: tuple(v) if isinstance(v, tuple) else (v,) * n
    stride, padding, dilation = tup(stride), tup(padding), tup(dilation)
    extra = tup(output_padding)
    full = [
        (x.shape[2 + i] - 1) * stride[i] + dilation[i] * (w.shape[2 + i] - 1) + 1
        for i in range(n)
    ]
    cg, og = w.shape[0] // groups, w.shape[1]
    out = np.zeros((x.shape[0], og * groups, *(f + e for f, e in zip(full, extra))))
    for g in range(groups):
        xs = x[:, g * cg : (g + 1) * cg]
        ws = w[g * cg : (g + 1) * cg]
        for tap in np.ndindex(*w.shape[2:]):
            window = tuple(
                slice(t * d, t * d + (size - 1) * s + 1, s)
                for t, d, size, s in zip(tap, dilation, x.shape[2:], stride)
            )
            out[(slice(None), slice(g * og, (g + 1) * og), *window)] += np.einsum(
                "nc...,co->no...", xs, ws[(slice(None), slice(None), *tap)]
            )
    crop = tuple(slice(p, out.shape[2 + i] - p) for i, p in enumerate(padding))
    out = out[(slice(None), slice(None), *crop)]
    if b is not None:
        out = out + b.reshape(-1, *([1] * n))
    return out[0] if unbatched else out


def _unfold_ref(x, kernel_size, dilation=1, padding=0, stride=1):
    """im2col by the definition: one row per (channel, tap), one column per block."""
    tup = lambda v: tuple(v) if isinstance(v, tuple) else (v,) * 2
    k, d, p, s = tup(kernel_size), tup(dilation), tup(padding), tup(stride)
    x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p[0], p[0]), (p[1], p[1])])
    blocks = [(x.shape[-2 + a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(2)]
    rows = []
    for c in range(x.shape[-3]):
        for i, j in np.ndindex(*k):
            rows.append(
                x[
                    ...,
                    c,
                    i * d[0] : i * d[0] + (blocks[0] - 1) * s[0] + 1 : s[0],
                    j * d[1] : j * d[1] + (blocks[1] - 1) * s[1] + 1 : s[1],
                ].reshape(*x.shape[:-3], -1)
            )
    return np.stack(rows, axis=-2)


def _pixel_shuffle_ref(x, upscale_factor):
    r = upscale_factor
    *batch, c, h, w = x.shape
    out = np.zeros((*batch, c // (r * r), h * r, w * r))
    for ch in range(c):
        out[..., ch // (r * r), (ch // r) % r :: r, ch % r :: r] = x[..., ch, :, :]
    return out


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
    OpSpec(
        "conv_transpose2d",
        lambda x, w, b, **kw: tg.nn.functional.conv_transpose2d(x, w, b, **kw),
        _conv_transpose_ref,
        (
            S((2, 3, 4, 3), (3, 2, 3, 2), (2,)),
            S((1, 2, 3, 4), (2, 3, 3, 3), (3,), stride=2, padding=1, output_padding=1),
            S((1, 4, 3, 3), (4, 1, 2, 3), (2,), groups=2, dilation=(2, 1)),
            S((1, 2, 3, 3), (2, 2, 2, 2), (2,), stride=(1, 3), output_padding=(0, 2)),
            S((2, 3, 3), (2, 1, 2, 2), (1,), note="unbatched"),
            S((0, 2, 3, 3), (2, 2, 2, 2), (2,)),
            S((1, 2, 3, 4), (2, 2, 2, 2), (2,), layout="transposed"),
        ),
        errors=(
            E([(1, 3, 4, 4), (2, 2, 3, 3), (4,)], tg.ShapeError, "(1, 3, 4, 4)"),
            E(
                [(1, 2, 4, 4), (2, 2, 3, 3), (2,)],
                tg.ArgumentError,
                "output_padding",
                stride=2,
                output_padding=2,
            ),
            E([(1, 2, 4, 4), (2, 2, 3, 3), (3,)], tg.ShapeError, "bias", "(3,)"),
            E([(1, 2, 1, 1), (2, 2, 3, 3), (2,)], tg.ShapeError, "empty", padding=2),
        ),
    ),
    OpSpec(
        "conv_transpose1d",
        lambda x, w, b, **kw: tg.nn.functional.conv_transpose1d(x, w, b, **kw),
        _conv_transpose_ref,
        (
            S((2, 3, 5), (3, 2, 3), (2,)),
            S((1, 2, 4), (2, 3, 3), (3,), stride=3, padding=1, output_padding=2),
            S((1, 4, 4), (4, 2, 2), (4,), groups=2, dilation=2),
            S((2, 5), (2, 1, 2), (1,), note="unbatched"),
        ),
        errors=(E([(1, 3, 4), (2, 2, 3), (2,)], tg.ShapeError, "(1, 3, 4)"),),
    ),
    OpSpec(
        "unfold",
        lambda x, **kw: tg.nn.functional.unfold(x, **kw),
        _unfold_ref,
        (
            S((2, 3, 4, 5), kernel_size=2),
            S((1, 2, 5, 5), kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=2),
            S((2, 4, 4), kernel_size=3, padding=1, note="unbatched"),
        ),
        errors=(E([(4, 4)], tg.ShapeError, "3-D or 4-D", "(4, 4)", kernel_size=2),),
    ),
    OpSpec(
        "pixel_shuffle",
        lambda x, **kw: tg.nn.functional.pixel_shuffle(x, **kw),
        _pixel_shuffle_ref,
        (
            S((2, 8, 2, 3), upscale_factor=2),
            S((9, 2, 2), upscale_factor=3, note="unbatched"),
            S((1, 2, 4, 1, 2), upscale_factor=1),
        ),
        errors=(E([(1, 6, 2, 2)], tg.ShapeError, "divisible", upscale_factor=2),),
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
        lambda x, **kw: x.amax(**kw),
        lambda x, dim=None, keepdim=False: np.max(x, axis=dim, keepdims=keepdim),
        (*REDUCTION_SAMPLES, S((0, 3), dim=1)),
        alternates=(lambda x, **kw: tg.amax(x, **kw),),
        errors=(
            *DIM_ERRORS,
            E([(0, 3)], (tg.ShapeError, tg.ArgumentError), "(0, 3)", note="empty"),
            E([(0, 3)], (tg.ShapeError, tg.ArgumentError), "(0, 3)", dim=0),
        ),
    ),
    OpSpec(
        "min",
        lambda x, **kw: x.amin(**kw),
        lambda x, dim=None, keepdim=False: np.min(x, axis=dim, keepdims=keepdim),
        (*REDUCTION_SAMPLES, S((0, 3), dim=1)),
        alternates=(lambda x, **kw: tg.amin(x, **kw),),
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
        # zero-copy interop, not an op (shares memory): tests/test_zero_copy.py
        "from_dlpack",
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
    + ["InternalError", "OutOfMemoryError"]
)


def specs_named(name: str) -> list[OpSpec]:
    return [spec for spec in OPS if spec.name == name]


# ---------------------------------------------------------------- elementwise functions
# (issue 15: the unary and binary stanzas added to the core, and their composites)


def _erfinv_ref(y):
    """erfinv by bisection on math.erf: slow, but independent of the implementation."""

    def one(v: float) -> float:
        lo, hi = -6.0, 6.0
        for _ in range(80):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if math.erf(mid) < v else (lo, mid)
        return (lo + hi) / 2

    return np.vectorize(one, otypes=[float])(y)


def _xlogy_ref(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a == 0, 0.0, a * np.log(b))


NOT_INTEGER = avoiding(-2.0, -1.0, 0.0, 1.0, 2.0)
NOT_HALF = avoiding(-1.5, -0.5, 0.5, 1.5)
UNIT = real(-0.9, 0.9)

MORE_UNARY_FUNCTIONS = {
    "floor": (np.floor, NOT_INTEGER),
    "ceil": (np.ceil, NOT_INTEGER),
    "round": (np.round, NOT_HALF),
    "trunc": (np.trunc, NOT_INTEGER),
    "frac": (lambda x: x - np.trunc(x), NOT_INTEGER),
    "sign": (np.sign, nonzero()),
    "sgn": (np.sign, nonzero()),
    "reciprocal": (np.reciprocal, nonzero(0.5, 2.0)),
    "rsqrt": (lambda x: 1 / np.sqrt(x), positive()),
    "square": (np.square, real()),
    "exp2": (np.exp2, real()),
    "expm1": (np.expm1, real()),
    "log2": (np.log2, positive()),
    "log10": (np.log10, positive()),
    "tan": (np.tan, real(-1.2, 1.2)),
    "asin": (np.arcsin, UNIT),
    "acos": (np.arccos, UNIT),
    "atan": (np.arctan, real()),
    "sinh": (np.sinh, real()),
    "cosh": (np.cosh, real()),
    "asinh": (np.arcsinh, real()),
    "acosh": (np.arccosh, real(1.2, 3.0)),
    "atanh": (np.arctanh, UNIT),
    "erfc": (np.vectorize(math.erfc, otypes=[float]), real(-2.5, 2.5)),
    "erfinv": (_erfinv_ref, UNIT),
    "sinc": (np.sinc, real(-2.5, 2.5)),
    "logit": (lambda x: np.log(x / (1 - x)), real(0.1, 0.9)),
    "lgamma": (np.vectorize(math.lgamma, otypes=[float]), real(0.2, 4.0)),
    "digamma": (lambda x: _scipy_special().digamma(x), real(0.2, 4.0)),
    "deg2rad": (np.deg2rad, real()),
    "rad2deg": (np.rad2deg, real()),
}


def _scipy_special():
    """scipy.special (a test dependency), imported when a reference needs it."""
    import scipy.special

    return scipy.special

NONZERO_PAIR = (nonzero(), nonzero())

OPS = OPS + (
    *(_unary(name, ref, dom) for name, (ref, dom) in MORE_UNARY_FUNCTIONS.items()),
    OpSpec(
        "polygamma",
        lambda x, n: x.polygamma(n),
        lambda x, n: _scipy_special().polygamma(n, x),
        (S((4, 3), n=1), S((5,), n=2), S((2, 3), n=3, layout="transposed"), S((), n=0)),
        real(0.2, 4.0),
        errors=(E([(3,)], tg.ArgumentError, "negative n", n=-1),),
        alternates=(lambda x, n: tg.polygamma(n, x), lambda x, n: tg.special.polygamma(n, x)),
    ),
    OpSpec(
        "sinc",
        lambda x: x.sinc(),
        np.sinc,
        (S((3,)),),
        lambda rng, shape: np.array([0.0, 0.5, -1.25])[: shape[0]],
        variant="at-zero",
    ),
    _binary("atan2", lambda a, b: a.atan2(b), np.arctan2, NONZERO_PAIR),
    _binary("hypot", lambda a, b: a.hypot(b), np.hypot, NONZERO_PAIR),
    _binary("copysign", lambda a, b: a.copysign(b), np.copysign, NONZERO_PAIR),
    _binary("fmod", lambda a, b: a.fmod(b), np.fmod, (real(), nonzero(0.5, 2.0))),
    _binary(
        "remainder",
        lambda a, b: a.remainder(b),
        np.remainder,
        (real(), nonzero(0.5, 2.0)),
        alternates=[lambda a, b: a % b],
    ),
    _binary("logaddexp", lambda a, b: a.logaddexp(b), np.logaddexp),
    _binary("logaddexp2", lambda a, b: a.logaddexp2(b), np.logaddexp2),
    _binary("xlogy", lambda a, b: a.xlogy(b), _xlogy_ref, (real(), positive())),
    _binary(
        "heaviside", lambda a, b: a.heaviside(b), np.heaviside, (nonzero(), real())
    ),
)

PUBLIC_OPS += [*MORE_UNARY_FUNCTIONS]
PUBLIC_OPS += ["atan2", "hypot", "copysign", "fmod", "remainder", "logaddexp"]
PUBLIC_OPS += ["logaddexp2", "xlogy", "heaviside"]


# ---------------------------------------------------------------- shape functions
# (issue 15: composites over slicing, cat, reshape, permute, expand and indexing)


def _weighted(pieces):
    """Each piece scaled by its position and summed to a vector: a gradient that
    reaches the wrong piece is caught."""
    return tg.stack([p.sum() * (i + 1.0) for i, p in enumerate(pieces)])


def _np_weighted(pieces):
    return np.array([p.sum() * (i + 1.0) for i, p in enumerate(pieces)])


def _np_split(x, size_or_sizes, dim=0):
    n = x.shape[dim]
    if isinstance(size_or_sizes, int):
        cuts = list(range(size_or_sizes, n, size_or_sizes))
    else:
        cuts = np.cumsum(size_or_sizes)[:-1].tolist()
    return np.split(x, cuts, axis=dim)


def _np_chunk(x, chunks, dim=0):
    n = x.shape[dim]
    return _np_split(x, max(-(-n // chunks), 1), dim)


def _np_diag_embed(v, offset=0):
    n = v.shape[-1] + abs(offset)
    out = np.zeros((*v.shape[:-1], n, n))
    idx = np.arange(v.shape[-1])
    rows, cols = (idx, idx + offset) if offset >= 0 else (idx - offset, idx)
    out[..., rows, cols] = v
    return out


SHAPE_SPECS = (
    OpSpec(
        "narrow",
        lambda x, **kw: x.narrow(**kw),
        lambda x, dim, start, length: np.take(x, range(start, start + length), dim),
        (
            S((4, 3), dim=0, start=1, length=2),
            S((4, 3), dim=-1, start=0, length=3),
            S((4, 3), dim=1, start=2, length=0),
            S((2, 5), dim=1, start=-3, length=2, layout="strided"),
        ),
        errors=(
            E([(4, 3)], tg.ShapeError, "start 3", "length 2", dim=0, start=3, length=2),
            E([(4, 3)], tg.AxisError, "dim 2", "out of range", dim=2, start=0, length=1),
        ),
        alternates=(lambda x, **kw: tg.narrow(x, **kw),),
    ),
    OpSpec(
        "split",
        lambda x, s, dim=0: _weighted(x.split(s, dim)),
        lambda x, s, dim=0: _np_weighted(_np_split(x, s, dim)),
        (
            S((5, 3), s=2),
            S((5, 3), s=5),
            S((2, 6), s=[1, 2, 3], dim=1),
            S((2, 6), s=4, dim=-1, layout="transposed"),
        ),
        errors=(E([(5, 3)], tg.ShapeError, "sizes [1, 2]", "size 5", s=[1, 2]),),
        alternates=(lambda x, s, dim=0: _weighted(tg.split(x, s, dim)),),
    ),
    OpSpec(
        "chunk",
        lambda x, chunks, dim=0: _weighted(x.chunk(chunks, dim)),
        lambda x, chunks, dim=0: _np_weighted(_np_chunk(x, chunks, dim)),
        (S((5, 3), chunks=2), S((6,), chunks=3), S((2, 5), chunks=4, dim=1)),
        errors=(E([(5,)], tg.ArgumentError, "chunks must be positive", chunks=0),),
        alternates=(lambda x, chunks, dim=0: _weighted(tg.chunk(x, chunks, dim)),),
    ),
    OpSpec(
        "tensor_split",
        lambda x, s, dim=0: _weighted(x.tensor_split(s, dim)),
        lambda x, s, dim=0: _np_weighted(np.array_split(x, s, axis=dim)),
        (S((7, 2), s=3), S((2, 6), s=[1, 4], dim=1), S((5,), s=[2, 9])),
        alternates=(lambda x, s, dim=0: _weighted(tg.tensor_split(x, s, dim)),),
    ),
    OpSpec(
        "unbind",
        lambda x, dim=0: _weighted(x.unbind(dim)),
        lambda x, dim=0: _np_weighted(list(np.moveaxis(x, dim, 0))),
        (S((3, 2)), S((2, 4), dim=1), S((2, 3, 2), dim=-1)),
        errors=(E([(2, 3)], tg.AxisError, "dim 2", dim=2),),
        alternates=(lambda x, dim=0: _weighted(tg.unbind(x, dim)),),
    ),
    OpSpec(
        "flip",
        lambda x, dims: x.flip(dims),
        lambda x, dims: np.flip(x, dims),
        (
            S((4,), dims=0),
            S((2, 3), dims=(0, 1)),
            S((2, 3, 2), dims=[-1]),
            S((3, 4), dims=(1,), layout="transposed"),
        ),
        errors=(E([(2, 3)], tg.AxisError, "dim 2", dims=(2,)),),
        alternates=(lambda x, dims: tg.flip(x, dims),),
    ),
    OpSpec("fliplr", lambda x: x.fliplr(), np.fliplr, (S((2, 3)), S((2, 3, 2)))),
    OpSpec("flipud", lambda x: x.flipud(), np.flipud, (S((3,)), S((3, 2)))),
    OpSpec(
        "roll",
        lambda x, **kw: x.roll(**kw),
        lambda x, shifts, dims=None: np.roll(x, shifts, dims),
        (
            S((5,), shifts=2),
            S((3, 4), shifts=-1, dims=1),
            S((3, 4), shifts=(1, 7), dims=(0, 1)),
            S((2, 3), shifts=4),
        ),
        alternates=(lambda x, **kw: tg.roll(x, **kw),),
    ),
    OpSpec(
        "rot90",
        lambda x, **kw: x.rot90(**kw),
        lambda x, k=1, dims=(0, 1): np.rot90(x, k, dims),
        (S((2, 3)), S((2, 3), k=2), S((2, 3, 4), k=3, dims=(1, 2)), S((2, 3), k=-1)),
        alternates=(lambda x, **kw: tg.rot90(x, **kw),),
    ),
    OpSpec(
        "repeat",
        lambda x, reps: x.repeat(*reps),
        lambda x, reps: np.tile(x, reps),
        (S((3,), reps=(2,)), S((2, 3), reps=(2, 1)), S((2,), reps=(3, 2)), S((2, 1), reps=(1, 3))),
        errors=(E([(2, 3)], tg.ArgumentError, "at least one per dimension", reps=(2,)),),
    ),
    OpSpec(
        "tile",
        lambda x, reps: x.tile(reps),
        lambda x, reps: np.tile(x, reps),
        (S((3,), reps=(2,)), S((2, 3), reps=(2,)), S((2,), reps=(3, 2))),
        alternates=(lambda x, reps: tg.tile(x, reps),),
    ),
    OpSpec(
        "repeat_interleave",
        lambda x, **kw: x.repeat_interleave(**kw),
        lambda x, repeats, dim=None: np.repeat(x, repeats, dim),
        (S((3,), repeats=2), S((2, 3), repeats=3, dim=1), S((2, 3), repeats=2)),
        alternates=(lambda x, **kw: tg.repeat_interleave(x, **kw),),
    ),
    OpSpec(
        "movedim",
        lambda x, s, d: x.movedim(s, d),
        lambda x, s, d: np.moveaxis(x, s, d),
        (S((2, 3, 4), s=0, d=-1), S((2, 3, 4), s=(0, 1), d=(2, 0))),
        alternates=(lambda x, s, d: tg.movedim(x, s, d),),
    ),
    OpSpec(
        "swapaxes",
        lambda x: x.swapaxes(0, 2),
        lambda x: np.swapaxes(x, 0, 2),
        (S((2, 3, 4)),),
        alternates=(lambda x: tg.swapaxes(x, 0, 2),),
    ),
    OpSpec(
        "swapdims",
        lambda x: x.swapdims(2, 0),
        lambda x: np.swapaxes(x, 2, 0),
        (S((2, 3, 4)),),
        alternates=(lambda x: tg.swapdims(x, 2, 0),),
    ),
    OpSpec(
        "diagonal",
        lambda x, **kw: x.diagonal(**kw),
        lambda x, offset=0, dim1=0, dim2=1: np.diagonal(x, offset, dim1, dim2),
        (
            S((3, 3)),
            S((3, 4), offset=1),
            S((4, 3), offset=-2),
            S((2, 3, 3), dim1=1, dim2=2),
            S((3, 2, 4), offset=1, dim1=2, dim2=0),
            S((2, 2), offset=5),
        ),
        errors=(E([(3,)], tg.ShapeError, "diagonal", "(3,)"),),
        alternates=(lambda x, **kw: tg.diagonal(x, **kw),),
    ),
    OpSpec(
        "diag",
        lambda x, d=0: x.diag(d),
        lambda x, d=0: np.diag(x, d),
        (S((3,)), S((3,), d=1), S((3,), d=-2), S((3, 4)), S((3, 4), d=-1)),
        errors=(E([(2, 2, 2)], tg.ShapeError, "diag", "(2, 2, 2)"),),
        alternates=(lambda x, d=0: tg.diag(x, d),),
    ),
    OpSpec(
        "diag_embed",
        lambda x, offset=0: x.diag_embed(offset),
        _np_diag_embed,
        (S((3,)), S((2, 3)), S((2, 3), offset=1), S((2, 3), offset=-1)),
        alternates=(lambda x, offset=0: tg.diag_embed(x, offset),),
    ),
    OpSpec(
        "trace",
        lambda x: x.trace(),
        np.trace,
        (S((3, 3)), S((2, 4)), S((4, 2))),
        errors=(E([(2, 2, 2)], tg.ShapeError, "trace", "(2, 2, 2)"),),
        alternates=(lambda x: tg.trace(x),),
    ),
    OpSpec(
        "tril",
        lambda x, d=0: x.tril(d),
        lambda x, d=0: np.tril(x, d),
        (S((3, 3)), S((3, 4), d=1), S((2, 3, 3), d=-1)),
        errors=(E([(3,)], tg.ShapeError, "tril", "(3,)"),),
        alternates=(lambda x, d=0: tg.tril(x, d),),
    ),
    OpSpec(
        "triu",
        lambda x, d=0: x.triu(d),
        lambda x, d=0: np.triu(x, d),
        (S((3, 3)), S((3, 4), d=1), S((2, 3, 3), d=-1)),
        alternates=(lambda x, d=0: tg.triu(x, d),),
    ),
    OpSpec(
        "atleast_1d",
        lambda x: tg.atleast_1d(x),
        np.atleast_1d,
        (S(()), S((2,)), S((2, 3))),
    ),
    OpSpec("atleast_2d", lambda x: tg.atleast_2d(x), np.atleast_2d, (S(()), S((2,)))),
    OpSpec(
        "atleast_3d",
        lambda x: tg.atleast_3d(x),
        np.atleast_3d,
        (S(()), S((2,)), S((2, 3)), S((1, 2, 3))),
    ),
    OpSpec(
        "hstack",
        lambda a, b: tg.hstack([a, b]),
        lambda a, b: np.hstack([a, b]),
        (S((2,), (3,)), S((2, 1), (2, 3))),
    ),
    OpSpec(
        "vstack",
        lambda a, b: tg.vstack([a, b]),
        lambda a, b: np.vstack([a, b]),
        (S((3,), (3,)), S((1, 3), (2, 3))),
    ),
    OpSpec(
        "dstack",
        lambda a, b: tg.dstack([a, b]),
        lambda a, b: np.dstack([a, b]),
        (S((3,), (3,)), S((2, 3), (2, 3, 2))),
    ),
    OpSpec(
        "column_stack",
        lambda a, b: tg.column_stack([a, b]),
        lambda a, b: np.column_stack([a, b]),
        (S((3,), (3,)), S((3, 2), (3,))),
    ),
    OpSpec(
        "unflatten",
        lambda x, dim, sizes: x.unflatten(dim, sizes),
        lambda x, dim, sizes: x.reshape(
            *x.shape[: dim % x.ndim], *sizes, *x.shape[dim % x.ndim + 1 :]
        ),
        (S((2, 6), dim=1, sizes=(2, 3)), S((6, 2), dim=0, sizes=(3, -1))),
        errors=(
            E([(2, 6)], tg.ShapeError, "sizes [4, 2]", "size 6", dim=1, sizes=(4, 2)),
        ),
        alternates=(lambda x, dim, sizes: tg.unflatten(x, dim, sizes),),
    ),
)

OPS = OPS + SHAPE_SPECS

ELEMENTWISE_COMPOSITES = (
    OpSpec(
        "lerp",
        lambda a, b, w: a.lerp(b, w),
        lambda a, b, w: a + w * (b - a),
        (S((3,), (3,), (3,)), S((2, 3), (3,), ()), S((2, 1), (1, 3), (2, 3))),
        alternates=(lambda a, b, w: tg.lerp(a, b, w),),
    ),
    OpSpec(
        "addcmul",
        lambda a, b, c, value=1.0: a.addcmul(b, c, value=value),
        lambda a, b, c, value=1.0: a + value * b * c,
        (S((3,), (3,), (3,)), S((2, 3), (3,), (2, 1), value=-0.5)),
        alternates=(lambda a, b, c, value=1.0: tg.addcmul(a, b, c, value=value),),
    ),
    OpSpec(
        "addcdiv",
        lambda a, b, c, value=1.0: a.addcdiv(b, c, value=value),
        lambda a, b, c, value=1.0: a + value * b / c,
        (S((3,), (3,), (3,)), S((2, 3), (3,), (2, 1), value=2.0)),
        (REAL, REAL, nonzero(0.5, 2.0)),
        alternates=(lambda a, b, c, value=1.0: tg.addcdiv(a, b, c, value=value),),
    ),
    OpSpec(
        "float_power",
        lambda a, b: a.float_power(b),
        np.power,
        (S((3,), (3,)), S((2, 3), ())),
        (positive(), real()),
        out_dtype=tg.float64,
        alternates=(lambda a, b: tg.float_power(a, b),),
    ),
    OpSpec(
        "nan_to_num",
        lambda x: x.nan_to_num(),
        np.nan_to_num,
        (S((3,)), S((2, 3))),
        alternates=(lambda x: tg.nan_to_num(x),),
    ),
    OpSpec(
        "round",
        lambda x: tg.round(x, decimals=1),
        lambda x: np.round(x, 1),
        (S((3,)), S((2, 3))),
        avoiding(-1.95, -1.85, -1.75, -1.65, -1.55, -1.45, -1.35, -1.25, -1.15, -1.05,
                 -0.95, -0.85, -0.75, -0.65, -0.55, -0.45, -0.35, -0.25, -0.15, -0.05,
                 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.05,
                 1.15, 1.25, 1.35, 1.45, 1.55, 1.65, 1.75, 1.85, 1.95, margin=0.01),
        variant="decimals",
    ),
)

OPS = OPS + ELEMENTWISE_COMPOSITES


# ---------------------------------------------------------------- products, statistics
# (issue 15: composites over matmul, sum, mean and the elementwise primitives)


def _np_cross(a, b, dim=-1):
    return np.cross(a, b, axis=dim)


def _np_cdist(a, b, p=2.0):
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    return np.sum(d**p, axis=-1) ** (1 / p)


def _np_var(x, dim=None, correction=1, keepdim=False):
    axis = dim if dim is None or isinstance(dim, int) else tuple(dim)
    return np.var(x, axis=axis, ddof=correction, keepdims=keepdim)


def _np_logcumsumexp(x, dim):
    return np.logaddexp.accumulate(x, axis=dim)


PRODUCT_SPECS = (
    OpSpec("mm", lambda a, b: a.mm(b), np.matmul, (S((2, 3), (3, 4)), S((1, 2), (2, 0))),
           errors=(E([(2, 3), (3,)], tg.ShapeError, "mm", "2-d", "(3,)"),),
           alternates=(lambda a, b: tg.mm(a, b),)),
    OpSpec("bmm", lambda a, b: a.bmm(b), np.matmul, (S((2, 2, 3), (2, 3, 4)),),
           errors=(E([(2, 2, 3), (3, 3, 4)], tg.ShapeError, "batch sizes", "(2, 2, 3)"),),
           alternates=(lambda a, b: tg.bmm(a, b),)),
    OpSpec("mv", lambda a, b: a.mv(b), np.matmul, (S((2, 3), (3,)),),
           errors=(E([(2, 3), (2, 3)], tg.ShapeError, "vec", "1-d"),),
           alternates=(lambda a, b: tg.mv(a, b),)),
    OpSpec("dot", lambda a, b: a.dot(b), np.dot, (S((3,), (3,)),),
           errors=(E([(3,), (4,)], tg.ShapeError, "(3,)", "(4,)"),),
           alternates=(lambda a, b: tg.dot(a, b), lambda a, b: tg.vdot(a, b),
                       lambda a, b: a.vdot(b))),
    OpSpec("vdot", lambda a, b: tg.vdot(a, b), np.vdot, (S((4,), (4,)),)),
    OpSpec("outer", lambda a, b: a.outer(b), np.outer, (S((3,), (2,)),),
           alternates=(lambda a, b: tg.outer(a, b),)),
    OpSpec("addmm", lambda c, a, b, **kw: c.addmm(a, b, **kw),
           lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b),
           (S((2, 4), (2, 3), (3, 4)), S((4,), (2, 3), (3, 4), beta=0.5, alpha=-2.0)),
           alternates=(lambda c, a, b, **kw: tg.addmm(c, a, b, **kw),)),
    OpSpec("addmv", lambda c, a, b, **kw: c.addmv(a, b, **kw),
           lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b),
           (S((2,), (2, 3), (3,)), S((), (2, 3), (3,), beta=2.0)),
           alternates=(lambda c, a, b, **kw: tg.addmv(c, a, b, **kw),)),
    OpSpec("baddbmm", lambda c, a, b, **kw: c.baddbmm(a, b, **kw),
           lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b),
           (S((2, 2, 4), (2, 2, 3), (2, 3, 4)), S((1, 4), (2, 2, 3), (2, 3, 4), alpha=0.5)),
           alternates=(lambda c, a, b, **kw: tg.baddbmm(c, a, b, **kw),)),
    OpSpec("kron", lambda a, b: a.kron(b), np.kron,
           (S((2,), (3,)), S((2, 2), (3, 1)), S((2, 1, 2), (2, 3))),
           alternates=(lambda a, b: tg.kron(a, b),)),
    OpSpec("cross", lambda a, b, dim=-1: a.cross(b, dim=dim), _np_cross,
           (S((3,), (3,)), S((2, 3), (2, 3)), S((2, 3), (3,)), S((3, 2), (3, 2), dim=0)),
           errors=(E([(2, 4), (2, 4)], tg.ShapeError, "size 3", dim=-1),),
           alternates=(lambda a, b, dim=-1: tg.cross(a, b, dim=dim),)),
    OpSpec("cdist", lambda a, b, p=2.0: tg.cdist(a, b, p), _np_cdist,
           (S((3, 2), (4, 2)), S((2, 3, 2), (2, 2, 2), p=1.0), S((3, 2), (2, 2), p=3.0)),
           (nonzero(), nonzero()),
           errors=(E([(3, 2), (4, 3)], tg.ShapeError, "(3, 2)", "(4, 3)"),)),
    OpSpec("tensordot", lambda a, b, dims=2: tg.tensordot(a, b, dims),
           lambda a, b, dims=2: np.tensordot(a, b, dims),
           (S((2, 3, 4), (3, 4, 5)), S((2, 3), (3, 2), dims=([1, 0], [0, 1])),
            S((2, 3), (4,), dims=0)),
           errors=(E([(2, 3), (4, 5)], tg.ShapeError, "(2, 3)", "(4, 5)", dims=1),)),
    OpSpec("einsum", lambda *ts, eq: tg.einsum(eq, *ts),
           lambda *arrays, eq: np.einsum(eq, *arrays),
           (S((2, 3), (3, 4), eq="ij,jk->ik"),
            S((3, 3), eq="ii->"),
            S((3, 3), eq="ii->i"),
            S((2, 3, 3), eq="bii->b"),
            S((2, 3), (2, 3), eq="ij,ij->"),
            S((3,), (4,), eq="i,j"),
            S((2, 5, 3), (2, 3, 4), eq="...ij,...jk->...ik"),
            S((2, 3), (3, 4), (4, 2), eq="ij,jk,kl->il"),
            S((4, 2, 3), (3,), eq="...j,j"),
            S((2, 3), eq="ij->ji"),
            S((2, 3), (2,), eq="ij,i->j")),
           errors=(E([(2, 3), (4, 5)], tg.ShapeError, "subscript 'j'", eq="ij,jk->ik"),
                   E([(2, 3)], tg.ShapeError, "subscripts 'ijk'", eq="ijk->i"))),
)

STAT_SPECS = (
    OpSpec("var", lambda x, **kw: x.var(**kw), _np_var,
           (S((5,)), S((2, 3), dim=1), S((2, 3, 4), dim=(0, 2), keepdim=True),
            S((4, 3), dim=0, correction=0), S((3, 4), correction=2, layout="transposed")),
           errors=(E([(2, 3)], tg.AxisError, "dim 2", dim=2),),
           alternates=(lambda x, **kw: tg.var(x, **kw),)),
    OpSpec("std", lambda x, **kw: x.std(**kw),
           lambda x, **kw: np.sqrt(_np_var(x, **kw)),
           (S((5,)), S((2, 3), dim=1), S((4, 3), dim=0, correction=0, keepdim=True)),
           alternates=(lambda x, **kw: tg.std(x, **kw),)),
    OpSpec("var_mean", lambda x, dim: tg.stack(list(tg.var_mean(x, dim))),
           lambda x, dim: np.stack([np.var(x, axis=dim, ddof=1), np.mean(x, axis=dim)]),
           (S((2, 3), dim=1),), alternates=(lambda x, dim: tg.stack(list(x.var_mean(dim))),)),
    OpSpec("std_mean", lambda x, dim: tg.stack(list(tg.std_mean(x, dim))),
           lambda x, dim: np.stack([np.std(x, axis=dim, ddof=1), np.mean(x, axis=dim)]),
           (S((3, 2), dim=0),), alternates=(lambda x, dim: tg.stack(list(x.std_mean(dim))),)),
    OpSpec("norm", lambda x, **kw: x.norm(**kw),
           lambda x, p=2, dim=None, keepdim=False: np.sum(
               np.abs(x) ** p, axis=dim, keepdims=keepdim) ** (1 / p),
           (S((4,)), S((2, 3), dim=1), S((2, 3), p=1, dim=0, keepdim=True),
            S((2, 3), p=3)),
           nonzero(),
           alternates=(lambda x, **kw: tg.norm(x, **kw),)),
    OpSpec("vector_norm", lambda x, **kw: tg.linalg.vector_norm(x, **kw),
           lambda x, ord=2, dim=None: np.max(np.abs(x), axis=dim) if ord == np.inf
           else np.sum(np.abs(x) ** ord, axis=dim) ** (1 / ord),
           (S((2, 3)), S((2, 3), ord=np.inf, dim=1), S((2, 3), ord=0.5, dim=0)),
           nonzero()),
    OpSpec("matrix_norm", lambda x, **kw: tg.linalg.matrix_norm(x, **kw),
           lambda x, ord="fro": np.linalg.norm(x, ord, axis=(-2, -1)),
           (S((2, 3)), S((2, 2, 3), ord=1), S((3, 2), ord=np.inf), S((3, 2), ord="nuc")),
           nonzero(),
           errors=(E([(2, 2)], tg.ArgumentError, "not a matrix norm", ord=3),
                   E([(3,)], tg.ShapeError, "at least 2-D"))),
    OpSpec("dist", lambda a, b, p=2: a.dist(b, p),
           lambda a, b, p=2: np.sum(np.abs(a - b) ** p) ** (1 / p),
           (S((3,), (3,)), S((2, 3), (3,), p=1)), alternates=(lambda a, b, p=2: tg.dist(a, b, p),)),
    OpSpec("nansum", lambda x, **kw: x.nansum(**kw),
           lambda x, dim=None: np.nansum(x, axis=dim), (S((2, 3)), S((2, 3), dim=1)),
           alternates=(lambda x, **kw: tg.nansum(x, **kw),)),
    OpSpec("nanmean", lambda x, **kw: x.nanmean(**kw),
           lambda x, dim=None: np.nanmean(x, axis=dim), (S((2, 3)), S((2, 3), dim=0)),
           alternates=(lambda x, **kw: tg.nanmean(x, **kw),)),
    OpSpec("cumsum", lambda x, dim: x.cumsum(dim), lambda x, dim: np.cumsum(x, axis=dim),
           (S((4,), dim=0), S((2, 3), dim=1), S((2, 3, 2), dim=-2), S((0, 3), dim=0)),
           errors=(E([(2, 3)], tg.AxisError, "dim 2", dim=2),),
           alternates=(lambda x, dim: tg.cumsum(x, dim),)),
    OpSpec("logcumsumexp", lambda x, dim: x.logcumsumexp(dim), _np_logcumsumexp,
           (S((4,), dim=0), S((2, 3), dim=1), S((3, 2), dim=0)),
           alternates=(lambda x, dim: tg.logcumsumexp(x, dim),)),
    OpSpec("diff", lambda x, **kw: x.diff(**kw),
           lambda x, n=1, dim=-1: np.diff(x, n, axis=dim),
           (S((5,)), S((2, 4), n=2, dim=1), S((4, 2), dim=0)),
           alternates=(lambda x, **kw: tg.diff(x, **kw),)),
    OpSpec("cov", lambda x: tg.cov(x), lambda x: np.cov(x), (S((2, 5)), S((3, 4)), S((5,)))),
    OpSpec("corrcoef", lambda x: tg.corrcoef(x), np.corrcoef, (S((2, 5)), S((3, 6)))),
)

OPS = OPS + PRODUCT_SPECS + STAT_SPECS


# Copies and shape/dtype borrowed from another tensor (issue 15's device and dtype API).
OPS = OPS + (
    OpSpec("clone", lambda x: x.clone(), lambda x: x.copy(), ELEMENTWISE,
           alternates=(lambda x: tg.clone(x),)),
    OpSpec("type_as", lambda x: x.type_as(tg.zeros(1, dtype=tg.float64)), lambda x: x,
           ELEMENTWISE, out_dtype=tg.float64),
    OpSpec("view_as", lambda x: x.view_as(tg.zeros(3, 2)), lambda x: x.reshape(3, 2),
           (S((2, 3)), S((6,)), S((2, 3), layout="transposed")),
           errors=(E([(4,)], tg.ShapeError, "(4,)"),),
           alternates=(lambda x: x.reshape_as(tg.zeros(3, 2)),)),
    OpSpec("reshape_as", lambda x: x.reshape_as(tg.zeros(6)), lambda x: x.reshape(6),
           (S((2, 3)), S((3, 2), layout="transposed"))),
    OpSpec("expand_as", lambda x: x.expand_as(tg.zeros(2, 3)),
           lambda x: np.broadcast_to(x, (2, 3)), (S((3,)), S((2, 1)), S(()))),
)

NOT_OPS = NOT_OPS | {
    "backends", "cuda", "linalg", "device", "get_default_device", "set_default_device",
    "cpu", "element_size", "nelement", "is_floating_point", "is_tensor", "empty",
    "empty_like", "full_like", "new_empty", "new_full", "new_ones", "new_tensor",
    "new_zeros",
}

# Ops whose derivative is zero wherever it exists (heaviside's, with respect to
# `values`, is nonzero only where the input is exactly 0, which samples avoid).
ZERO_DERIVATIVE = frozenset(
    ["floor", "ceil", "round", "trunc", "sign", "sgn", "heaviside", "round[decimals]"]
)


# ---------------------------------------------------------------- sorting and selection
# Each returns its values (a Tensor); the indices are checked in tests/test_sorting.py.
# Sampled values are distinct, so every selection is a smooth function of its input.


def _np_sorted(x, dim=-1, descending=False):
    if x.ndim == 0:
        return x.copy()
    out = np.sort(x, axis=dim)
    return np.flip(out, axis=dim) if descending else out


def _np_topk(x, k, dim=-1, largest=True):
    return np.take(_np_sorted(x, dim, largest), np.arange(k), axis=dim)


def _np_kth(x, k, dim=-1, keepdim=False):
    out = np.take(np.sort(x, axis=dim), [k - 1], axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


def _np_median(x, dim=None, keepdim=False):
    if dim is None:
        return np.sort(x.reshape(-1))[(x.size - 1) // 2]
    return _np_kth(x, (x.shape[dim] - 1) // 2 + 1, dim, keepdim)


def _np_cum(fn):
    return lambda x, dim: fn.accumulate(x, axis=dim) if x.ndim else x.copy()


DIM_SAMPLES = (
    S((5,), dim=0),
    S((2, 3), dim=1),
    S((3, 2), dim=0),
    S((2, 3, 4), dim=-2),
    S((4, 3), dim=0, layout="transposed"),
    S((2, 6), dim=1, layout="strided"),
)
SELECT_ERRORS = (E([(2, 3)], tg.AxisError, "out of range", dim=2),)

SORT_SPECS = (
    OpSpec(
        "max",
        lambda x, dim, keepdim=False: x.max(dim, keepdim).values,
        lambda x, dim, keepdim=False: np.max(x, axis=dim, keepdims=keepdim),
        (*DIM_SAMPLES, S((2, 3), dim=1, keepdim=True)),
        variant="dim",
        alternates=(
            lambda x, dim, keepdim=False: tg.max(x, dim, keepdim=keepdim)[0],
            lambda x, dim, keepdim=False: x.max(dim=dim, keepdim=keepdim).values,
        ),
        errors=(
            *SELECT_ERRORS,
            E([(0, 3)], tg.AxisError, "non-zero size", "(0, 3)", dim=0),
        ),
    ),
    OpSpec(
        "min",
        lambda x, dim, keepdim=False: x.min(dim, keepdim).values,
        lambda x, dim, keepdim=False: np.min(x, axis=dim, keepdims=keepdim),
        (*DIM_SAMPLES, S((2, 3), dim=0, keepdim=True)),
        variant="dim",
        alternates=(lambda x, dim, keepdim=False: tg.min(x, dim, keepdim=keepdim)[0],),
        errors=SELECT_ERRORS,
    ),
    OpSpec(
        "max",
        lambda x: x.max(),
        lambda x: np.max(x),
        (S(()), S((3,)), S((2, 3)), S((4, 3), layout="transposed")),
        variant="all",
        alternates=(lambda x: tg.max(x),),
    ),
    OpSpec(
        "sort",
        lambda x, **kw: x.sort(**kw).values,
        _np_sorted,
        (
            *DIM_SAMPLES,
            S((2, 3), dim=1, descending=True),
            S((7,), dim=0, descending=True, layout="reversed"),
            S((0, 3), dim=1),
            S(()),
            S((300,), note="radix"),
        ),
        alternates=(
            lambda x, dim=-1, descending=False: tg.sort(x, dim, descending).values,
            lambda x, dim=-1, descending=False: x.sort(
                dim=dim, descending=descending, stable=True
            )[0],
        ),
        errors=SELECT_ERRORS,
    ),
    OpSpec(
        "msort",
        lambda x: x.msort(),
        lambda x: np.sort(x, axis=0),
        (S((4,)), S((3, 2)), S((3, 4), layout="transposed")),
        alternates=(lambda x: tg.msort(x),),
    ),
    OpSpec(
        "topk",
        lambda x, k, **kw: x.topk(k, **kw).values,
        _np_topk,
        (
            S((5,), k=2),
            S((2, 5), k=3, dim=1),
            S((4, 3), k=1, dim=0, largest=False),
            S((2, 6), k=6, dim=-1, layout="strided"),
            S((3,), k=0),
        ),
        alternates=(lambda x, k, **kw: tg.topk(x, k, **kw)[0],),
        errors=(
            E([(3,)], tg.AxisError, "k=4", "size 3", k=4),
            E([(3,)], tg.AxisError, "out of range", k=1, dim=1),
        ),
    ),
    OpSpec(
        "kthvalue",
        lambda x, k, **kw: x.kthvalue(k, **kw).values,
        _np_kth,
        (S((5,), k=2), S((2, 5), k=5, dim=1), S((4, 3), k=1, dim=0, keepdim=True)),
        alternates=(lambda x, k, **kw: tg.kthvalue(x, k, **kw)[0],),
        errors=(
            E([(3,)], tg.AxisError, "k=0", k=0),
            E([(3,)], tg.AxisError, "k=4", k=4),
        ),
    ),
    OpSpec(
        "median",
        lambda x, **kw: x.median(**kw).values if "dim" in kw else x.median(),
        _np_median,
        (S((5,)), S((4,)), S((2, 3))) + DIM_SAMPLES + (S((2, 4), dim=1, keepdim=True),),
        alternates=(
            lambda x, **kw: tg.median(x, **kw)[0] if "dim" in kw else tg.median(x),
        ),
        errors=(
            *SELECT_ERRORS,
            E([(2, 0)], tg.AxisError, "non-zero size", dim=1),
        ),
    ),
    OpSpec(
        "nanmedian",
        lambda x, **kw: x.nanmedian(**kw).values if "dim" in kw else x.nanmedian(),
        _np_median,
        (S((5,)), S((2, 3), dim=1), S((4, 3), dim=0, layout="transposed")),
        alternates=(
            lambda x, **kw: tg.nanmedian(x, **kw)[0] if "dim" in kw else tg.nanmedian(x),
        ),
    ),
    OpSpec(
        # Distinct samples: every value is a mode, and the smallest wins.
        "mode",
        lambda x, **kw: x.mode(**kw).values,
        lambda x, dim=-1, keepdim=False: np.min(x, axis=dim, keepdims=keepdim),
        (S((5,)), S((2, 3), dim=0), S((2, 3), dim=1, keepdim=True)),
        alternates=(lambda x, **kw: tg.mode(x, **kw)[0],),
        errors=(E([(0,)], tg.AxisError, "non-zero size", dim=0),),
    ),
    OpSpec(
        "cummax",
        lambda x, dim: x.cummax(dim).values,
        _np_cum(np.maximum),
        DIM_SAMPLES + (S((), dim=0),),
        alternates=(lambda x, dim: tg.cummax(x, dim)[0],),
        errors=SELECT_ERRORS,
    ),
    OpSpec(
        "cummin",
        lambda x, dim: x.cummin(dim).values,
        _np_cum(np.minimum),
        DIM_SAMPLES,
        alternates=(lambda x, dim: tg.cummin(x, dim)[0],),
        errors=SELECT_ERRORS,
    ),
    OpSpec(
        "aminmax",
        lambda x, **kw: tg.stack(list(x.aminmax(**kw))),
        lambda x, dim=None, keepdim=False: np.stack(
            [np.min(x, axis=dim, keepdims=keepdim), np.max(x, axis=dim, keepdims=keepdim)]
        ),
        (S((5,)), S((2, 3), dim=1), S((2, 3), dim=0, keepdim=True)),
        alternates=(lambda x, **kw: tg.stack(list(tg.aminmax(x, **kw))),),
    ),
)

OPS = OPS + SORT_SPECS
PUBLIC_OPS += ["sort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode"]
PUBLIC_OPS += ["cummax", "cummin", "aminmax"]
NOT_OPS = NOT_OPS | {
    # int64 indices and random samples (no gradient): tests/test_sorting.py and
    # tests/test_random.py
    "argsort", "return_types", "Generator", "default_generator", "seed",
    "initial_seed", "get_rng_state", "set_rng_state", "randint", "randint_like",
    "randperm", "multinomial", "bernoulli", "normal", "poisson", "rand_like",
    "randn_like",
}
# ---------------------------------------------------------------- selections by index
# (issue 11: advanced indexing, gather/scatter and the index_*/masked_* family)


def _along_coords(index: np.ndarray, dim: int):
    """For each element of ``index``: its coordinates with ``index``'s value on ``dim``."""
    for e in np.ndindex(*index.shape):
        target = list(e)
        target[dim] = int(index[e])
        yield e, tuple(target)


def _gather_ref(x, dim, index):
    out = np.empty(index.shape, x.dtype)
    for e, target in _along_coords(index, dim):
        out[e] = x[target]
    return out


def _scatter_ref(x, src, dim, index, reduce="assign", include_self=True):
    out = x.copy()
    groups: dict[tuple[int, ...], list[float]] = {}
    for e, target in _along_coords(index, dim):
        groups.setdefault(target, []).append(src[e])
    fold = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max,
            "amin": np.min, "assign": lambda v: v[-1]}[reduce]
    for target, values in groups.items():
        out[target] = fold(([x[target]] if include_self and reduce != "assign" else [])
                           + values)
    return out


def _along_index(shape, dim, index):
    """A 1-d index spread over ``shape`` along ``dim`` (index_add/index_copy's form)."""
    view = [1] * len(shape)
    view[dim] = -1
    return np.broadcast_to(np.asarray(index).reshape(view), shape)


def T(index):
    """An index array as an int64 (or bool) tensor."""
    return tg.tensor(np.asarray(index))


IDX_2x3 = np.array([[2, 0, 1], [1, 1, 0]])
ROWS = np.array([0, 2, 2, 1])
MASK_4x3 = np.array([[True, False, True], [False, False, False], [True, True, True],
                     [False, True, False]])

SELECTION_SPECS = (
    OpSpec(
        "getitem",
        lambda x, index: x[index],
        lambda x, index: x[index],
        (
            S((4, 3), index=([0, 3, 3], [2, 0, 2]), note="rows,cols"),
            S((4, 3, 2), index=(slice(None), [1, 0, 1], [0, 1, 1]), note="adjacent"),
            S((4, 3, 2), index=([1, 3], slice(None), [0, 1]), note="separated"),
            S((2, 3, 4, 5), index=(slice(None), [[0], [2]], slice(1, 3), [1, 4, 0]),
              note="separated-broadcast"),
            S((4, 3), index=MASK_4x3, note="mask"),
            S((4, 3), index=(MASK_4x3[:, 0], slice(1, None)), note="mask,slice"),
            S((4, 3), index=(Ellipsis, np.array([True, False, True])), note="...,mask"),
            S((4, 3), index=(None, [1, 1], 0), note="none,array,int"),
            S((4, 3), index=np.zeros((4, 3), bool), note="empty-mask"),
            S((4, 3), index=([0, 3], [2, 0]), layout="transposed"),
        ),
        errors=(
            E([(4, 3)], tg.AxisError, "index 5", "dimension 1", "size 3",
              index=(slice(None), [0, 5])),
            E([(4, 3)], tg.ShapeError, "(3,)", "(4,)", index=np.array([True] * 3)),
            E([(4, 3)], IndexError, "broadcast", index=([0, 1], [0, 1, 2])),
        ),
        variant="advanced",
    ),
    OpSpec(
        "getitem",
        lambda x, index: x[T(index) if not isinstance(index, tuple)
                           else tuple(T(i) if isinstance(i, np.ndarray) else i
                                      for i in index)],
        lambda x, index: x[index],
        (
            S((4, 3), index=ROWS),
            S((4, 3), index=(ROWS, np.array([2, 1, 0, 2]))),
            S((4, 3), index=(slice(None), np.array([[1, 0], [2, 2]]))),
            S((4, 3), index=MASK_4x3),
            S((4, 3), index=(MASK_4x3[:, 1], slice(1, None))),
            S((4, 3), index=ROWS.astype(np.int32)),
        ),
        errors=(E([(4, 3)], tg.DTypeError, "float", index=np.array([0.0, 1.0])),),
        variant="tensor-index",
    ),
    OpSpec(
        "gather",
        lambda x, dim, index: tg.gather(x, dim, T(index)),
        _gather_ref,
        (
            S((2, 3), dim=1, index=IDX_2x3),
            S((3, 2), dim=0, index=IDX_2x3.T),
            S((3, 4), dim=1, index=np.array([[3], [0], [3]]), note="smaller"),
            S((3, 4), dim=-1, index=np.array([[0, 0, 0], [1, 2, 3]]), note="fewer-rows"),
            S((2, 3), dim=1, index=np.zeros((2, 0), np.int64)),
            S((2, 3), dim=1, index=IDX_2x3, layout="transposed"),
        ),
        errors=(
            E([(2, 3)], tg.AxisError, "index 3", "dimension 1", "size 3",
              dim=1, index=np.array([[3]])),
            E([(2, 3)], tg.ShapeError, "(3,)", dim=1, index=np.array([0, 1, 2])),
            E([(2, 3)], tg.DTypeError, "float", dim=1, index=np.array([[0.0]])),
        ),
        alternates=(lambda x, dim, index: x.gather(dim, T(index)),),
    ),
    OpSpec(
        "take",
        lambda x, index: tg.take(x, T(index)),
        lambda x, index: np.take(x, index),
        (S((2, 3), index=np.array([[5, 0], [-1, 5]])), S((4,), index=np.array([2])),
         S((2, 3), index=np.array([1, 4]), layout="transposed")),
        errors=(E([(2, 3)], tg.AxisError, "index 6", "size 6", index=np.array([6])),),
        alternates=(lambda x, index: x.take(T(index)),),
    ),
    OpSpec(
        "take_along_dim",
        lambda x, index, dim=None: tg.take_along_dim(x, T(index), dim),
        lambda x, index, dim=None: np.take_along_axis(x, index, axis=dim),
        (
            S((2, 3), index=np.array([[2, 0], [1, 1]]), dim=1),
            S((2, 3), index=np.array([[2], [0]]), dim=1),
            S((2, 3), index=np.array([[1, 0, 1]]), dim=0, note="broadcast"),
            S((2, 3), index=np.array([5, 0, 3])),
        ),
        alternates=(lambda x, index, dim=None: x.take_along_dim(T(index), dim),),
    ),
    OpSpec(
        "index_select",
        lambda x, dim, index: tg.index_select(x, dim, T(index)),
        lambda x, dim, index: np.take(x, index, axis=dim),
        (S((4, 3), dim=0, index=ROWS), S((4, 3), dim=1, index=np.array([2, 2])),
         S((4, 3), dim=-1, index=np.zeros(0, np.int64)),
         S((4, 3), dim=0, index=ROWS, layout="transposed")),
        errors=(E([(4, 3)], tg.AxisError, "index 4", "size 4", dim=0,
                  index=np.array([4])),),
        alternates=(lambda x, dim, index: x.index_select(dim, T(index)),),
    ),
    OpSpec(
        "masked_fill",
        lambda x, mask, value=-1.5: tg.masked_fill(x, T(mask), value),
        lambda x, mask, value=-1.5: np.where(mask, value, x),
        (S((4, 3), mask=MASK_4x3), S((4, 3), mask=np.array([True, False, True])),
         S((4, 3), mask=MASK_4x3, value=2.0, layout="transposed")),
        errors=(E([(4, 3)], tg.ShapeError, "(2,)", "(4, 3)", mask=np.array([True, False])),
                E([(4, 3)], tg.DTypeError, "bool", mask=np.ones((4, 3), np.int64))),
        alternates=(lambda x, mask, value=-1.5: x.masked_fill(T(mask), value),),
    ),
    OpSpec(
        "masked_select",
        lambda x, mask: tg.masked_select(x, T(mask)),
        lambda x, mask: np.broadcast_to(x, np.broadcast_shapes(x.shape, mask.shape))[
            np.broadcast_to(mask, np.broadcast_shapes(x.shape, mask.shape))],
        (S((4, 3), mask=MASK_4x3), S((3,), mask=MASK_4x3, note="broadcast-input"),
         S((4, 3), mask=np.zeros((4, 3), bool))),
        errors=(E([(4, 3)], tg.ShapeError, "(2,)", "(4, 3)", mask=np.array([True, False])),),
        alternates=(lambda x, mask: x.masked_select(T(mask)),),
    ),
    OpSpec(
        "scatter",
        lambda x, src, dim, index: tg.scatter(x, dim, T(index), src),
        lambda x, src, dim, index: _scatter_ref(x, src, dim, index),
        (S((3, 3), (2, 3), dim=1, index=IDX_2x3), S((4, 3), (2, 3), dim=0, index=IDX_2x3),
         S((3, 4), (2, 4), dim=1, index=np.array([[3], [0]]), note="src-larger")),
        errors=(E([(3, 3), (2, 3)], tg.AxisError, "index 3", dim=1,
                  index=np.array([[3, 0, 0]])),),
        alternates=(lambda x, src, dim, index: x.scatter(dim, T(index), src),),
    ),
    OpSpec(
        "scatter_add",
        lambda x, src, dim, index: tg.scatter_add(x, dim, T(index), src),
        lambda x, src, dim, index: _scatter_ref(x, src, dim, index, "sum"),
        (S((3, 3), (2, 3), dim=1, index=IDX_2x3), S((4, 3), (2, 3), dim=0, index=IDX_2x3),
         S((2, 3), (2, 3), dim=1, index=np.array([[0, 0, 0], [2, 2, 2]]), note="repeats")),
        alternates=(lambda x, src, dim, index: x.scatter_add(dim, T(index), src),),
    ),
    *(
        OpSpec(
            "scatter_reduce",
            lambda x, src, dim, index, reduce, include_self=True: tg.scatter_reduce(
                x, dim, T(index), src, reduce, include_self=include_self),
            lambda x, src, dim, index, reduce, include_self=True: _scatter_ref(
                x, src, dim, index, reduce, include_self),
            (
                S((3, 3), (2, 3), dim=1, index=IDX_2x3, reduce=reduce),
                S((4, 3), (2, 3), dim=0, index=IDX_2x3, reduce=reduce, include_self=False),
                S((2, 3), (2, 3), dim=1, index=np.array([[0, 0, 0], [2, 2, 1]]),
                  reduce=reduce, include_self=False, note="repeats"),
            ),
            errors=(E([(3, 3), (2, 3)], tg.ArgumentError, "reduce", dim=1,
                      index=IDX_2x3, reduce="max"),),
            variant=reduce,
            alternates=(lambda x, src, dim, index, reduce, include_self=True:
                        x.scatter_reduce(dim, T(index), src, reduce,
                                         include_self=include_self),),
        )
        for reduce in ("sum", "prod", "mean", "amax", "amin")
    ),
    OpSpec(
        "index_add",
        lambda x, src, dim, index, alpha=1: tg.index_add(x, dim, T(index), src, alpha=alpha),
        lambda x, src, dim, index, alpha=1: _scatter_ref(
            x, alpha * src, dim, _along_index(src.shape, dim, index), "sum"),
        (S((4, 3), (4, 3), dim=0, index=ROWS), S((4, 3), (4, 2), dim=1,
                                                 index=np.array([2, 2]), alpha=-2.0)),
        errors=(E([(4, 3), (3, 3)], tg.ShapeError, "(3, 3)", dim=0, index=ROWS),),
        alternates=(lambda x, src, dim, index, alpha=1:
                    x.index_add(dim, T(index), src, alpha=alpha),),
    ),
    OpSpec(
        "index_copy",
        lambda x, src, dim, index: tg.index_copy(x, dim, T(index), src),
        lambda x, src, dim, index: _scatter_ref(
            x, src, dim, _along_index(src.shape, dim, index)),
        (S((4, 3), (2, 3), dim=0, index=np.array([3, 0])),
         S((4, 3), (4, 2), dim=1, index=np.array([1, 2]))),
        alternates=(lambda x, src, dim, index: x.index_copy(dim, T(index), src),),
    ),
    OpSpec(
        "index_fill",
        lambda x, dim, index, value=0.5: tg.index_fill(x, dim, T(index), value),
        lambda x, dim, index, value=0.5: _index_fill_ref(x, dim, index, value),
        (S((4, 3), dim=0, index=ROWS), S((4, 3), dim=1, index=np.array([-1]), value=-3.0)),
        errors=(E([(4, 3)], tg.AxisError, "index 3", dim=1, index=np.array([3])),),
        alternates=(lambda x, dim, index, value=0.5: x.index_fill(dim, T(index), value),),
    ),
)


def _index_fill_ref(x, dim, index, value):
    out = x.copy()
    out[(slice(None),) * dim + (np.asarray(index),)] = value
    return out


OPS = OPS + SELECTION_SPECS
NOT_OPS = NOT_OPS | {
    "nonzero", "unique", "bincount", "histc", "searchsorted", "bucketize",
}
# ---------------------------------------------------------------- integer arithmetic
# (issue 11: `//` of floats here; the integer and bool kernels of every elementwise op run
# over a dtype axis in tests/test_integer_ops.py, and the promotion of `+ - * / // % & ==`
# over all dtype pairs in tests/test_integer_promotion.py)
OPS = OPS + (
    _binary(
        "floor_divide",
        lambda a, b: a.floor_divide(b),
        np.floor_divide,
        (real(), nonzero(0.5, 2.0)),
        alternates=[
            lambda a, b: a // b,
            lambda a, b: a.div(b, rounding_mode="floor"),
        ],
    ),
)
OPS = OPS + (
    OpSpec(
        "prod",
        lambda x, **kw: x.prod(**kw),
        lambda x, dim=None, keepdim=False: np.prod(x, axis=dim, keepdims=keepdim),
        (
            S((4,)),
            S((5,)),
            S((2, 3), dim=1),
            S((3, 2), dim=0, keepdim=True),
            S((2, 3), layout="transposed", dim=-1),
            S((0, 3), dim=0),
        ),
        nonzero(0.5, 1.5),
        errors=(E([(2, 3)], tg.AxisError, "dim", dim=2),),
        alternates=(lambda x, **kw: tg.prod(x, **kw),),
    ),
    OpSpec(
        "cumprod",
        lambda x, dim: x.cumprod(dim),
        lambda x, dim: np.cumprod(x, axis=dim),
        (S((5,), dim=0), S((2, 3), dim=1), S((2, 3, 2), dim=-2), S((0, 3), dim=0)),
        nonzero(0.5, 1.5),
        errors=(E([(2, 3)], tg.AxisError, "dim", dim=2),),
        alternates=(lambda x, dim: tg.cumprod(x, dim),),
    ),
)
PUBLIC_OPS += ["floor_divide", "prod", "cumprod"]
NOT_OPS = NOT_OPS | {
    # integer and bool results only (tests/test_integer_ops.py)
    *("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"),
    *("bitwise_left_shift", "bitwise_right_shift", "IntegerDivisionError"),
}
ZERO_DERIVATIVE = ZERO_DERIVATIVE | {"floor_divide"}

# Storage, views and in-place ops (issue 12), checked in tests/test_inplace.py: the
# `name_` form of an op with an OpSpec is that op written back (test_inplace.py runs every
# such pair over the spec's samples); the rest are in-place fills, copies and metadata.
# (The `name_` spellings are derived at the end of this file, once every spec and
# spelling is known.)
NOT_OPS = NOT_OPS | {"special"}  # the module (tests/test_special.py)
NOT_OPS = NOT_OPS | {
    "zero_", "fill_", "copy_", "uniform_", "normal_", "bernoulli_", "exponential_",
    "random_", "clamp_min_", "clamp_max_", "clip_", "masked_fill_", "lerp_", "addcmul_",
    "addcdiv_", "as_strided", "contiguous", "data", "is_contiguous", "stride",
    "storage_offset", "data_ptr", "t", "mT", "index_put_", "index_put",
}

# PyTorch's other names for the maths and more maths (python/tapegrad/_math_aliases.py,
# _math_extra.py, _math_writes.py); values against PyTorch in tests/test_surface_math.py.


def _well_conditioned(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Square matrices near ``n · I``: invertible with a positive determinant."""
    return rng.uniform(-1.0, 1.0, size=shape) + shape[-1] * np.eye(shape[-1])


def _np_mvlgamma(x, p):
    from math import lgamma, log, pi

    lg = np.vectorize(lgamma)
    return sum(lg(x - j / 2) for j in range(p)) + p * (p - 1) / 4 * log(pi)


def _np_renorm(x, p, dim, maxnorm):
    others = tuple(d for d in range(x.ndim) if d != dim % x.ndim)
    norm = np.sum(np.abs(x) ** p, axis=others, keepdims=True) ** (1 / p)
    return x * np.where(norm > maxnorm, maxnorm / (norm + 1e-7), 1.0)


def _np_cumulative_trapezoid(y, x=None, dx=1.0, dim=-1):
    y = np.moveaxis(y, dim, -1)
    step = dx if x is None else np.diff(x)
    return np.moveaxis(np.cumsum((y[..., 1:] + y[..., :-1]) / 2 * step, -1), -1, dim)


def _np_masked_scatter(x, src, mask):
    out = x.copy()
    chosen = np.broadcast_to(mask, x.shape)
    out[chosen] = src.reshape(-1)[: int(chosen.sum())]
    return out


def _np_put(x, src, index, accumulate=False):
    out = x.copy().reshape(-1)
    if accumulate:
        np.add.at(out, index.reshape(-1), src.reshape(-1))
    else:
        out[index.reshape(-1)] = src.reshape(-1)
    return out.reshape(x.shape)


MASK_2x3 = np.array([[True, False, True], [False, True, True]])
OPS = OPS + (
    OpSpec("clamp_min", lambda x, min=0.3: x.clamp_min(min), lambda x, min=0.3: np.maximum(x, min),
           (S((2, 3)), S((4,), min=-1.0), S((0, 2))), avoiding(0.3, -1.0),
           alternates=(lambda x, min=0.3: tg.clamp_min(x, min),)),
    OpSpec("clamp_max", lambda x, max=0.3: x.clamp_max(max), lambda x, max=0.3: np.minimum(x, max),
           (S((2, 3)), S((4,), max=-1.0), S((0, 2))), avoiding(0.3, -1.0),
           alternates=(lambda x, max=0.3: tg.clamp_max(x, max),)),
    OpSpec("clamp", lambda x, lo, hi: x.clamp(lo, hi),
           lambda x, lo, hi: np.minimum(np.maximum(x, lo), hi),
           (S((2, 3), (2, 3), (2, 3)), S((2, 3), (3,), ()), S((4,), (1,), (4,)),
            S((2, 3), (2, 3), (2, 3), layout="transposed")),
           (REAL, real(-2.0, 0.0), real(0.0, 2.0)), variant="tensor-bounds",
           alternates=(lambda x, lo, hi: tg.clamp(x, lo, hi), lambda x, lo, hi: x.clip(lo, hi),
                       lambda x, lo, hi: tg.clamp_max(tg.clamp_min(x, lo), hi))),
    OpSpec("positive", lambda x: x.positive(), lambda x: x, (S((2, 3)), S(())),
           alternates=(lambda x: tg.positive(x),)),
    OpSpec("mvlgamma", lambda x, p=2: x.mvlgamma(p), _np_mvlgamma,
           (S((2, 3), p=1), S((4,), p=2), S((2, 2), p=3)), positive(1.2, 4.0),
           alternates=(lambda x, p=2: tg.mvlgamma(x, p),)),
    OpSpec("det", lambda a: a.det(), np.linalg.det, (S((3, 3)), S((2, 2, 2))),
           _well_conditioned, alternates=(lambda a: tg.det(a),)),
    OpSpec("logdet", lambda a: a.logdet(), lambda a: np.log(np.linalg.det(a)),
           (S((3, 3)), S((2, 2, 2))), _well_conditioned, alternates=(lambda a: tg.logdet(a),)),
    OpSpec("inverse", lambda a: a.inverse(), np.linalg.inv, (S((3, 3)), S((2, 2, 2))),
           _well_conditioned, alternates=(lambda a: tg.inverse(a),)),
    OpSpec("matrix_power", lambda a, n=2: a.matrix_power(n),
           lambda a, n=2: np.linalg.matrix_power(a, n),
           (S((3, 3)), S((2, 2, 2), n=3), S((3, 3), n=-1)), _well_conditioned,
           alternates=(lambda a, n=2: tg.matrix_power(a, n),)),
    OpSpec("matrix_exp", lambda a: a.matrix_exp(),
           lambda a: sum(np.linalg.matrix_power(a, k) / math.factorial(k) for k in range(40)),
           (S((3, 3)), S((2, 2, 2))), real(-0.5, 0.5), alternates=(lambda a: tg.matrix_exp(a),)),
    OpSpec("ldexp", lambda x, e: x.ldexp(e), lambda x, e: x * 2.0**e,
           (S((2, 3), (2, 3)), S((2, 3), (3,)), S((4,), ())), (REAL, real(-2.0, 2.0)),
           alternates=(lambda x, e: tg.ldexp(x, e),)),
    OpSpec("i0", lambda x: x.i0(), np.i0, (S((2, 3)), S((5,)), S((0,))), real(-12.0, 12.0),
           alternates=(lambda x: tg.i0(x),)),
    OpSpec("inner", lambda a, b: a.inner(b), np.inner,
           (S((3,), (3,)), S((2, 3), (4, 3)), S((), (3,)), S((2, 2, 3), (3,))),
           errors=(E([(2, 3), (4, 2)], tg.ShapeError, "[2, 3]", "[4, 2]"),),
           alternates=(lambda a, b: tg.inner(a, b),)),
    OpSpec("addr", lambda c, a, b, **kw: c.addr(a, b, **kw),
           lambda c, a, b, beta=1, alpha=1: beta * c + alpha * np.outer(a, b),
           (S((2, 3), (2,), (3,)), S((3,), (2,), (3,), beta=0.5, alpha=-2.0)),
           errors=(E([(2, 3), (2, 1), (3,)], tg.ShapeError, "1-D"),),
           alternates=(lambda c, a, b, **kw: tg.addr(c, a, b, **kw),)),
    OpSpec("addbmm", lambda c, a, b, **kw: c.addbmm(a, b, **kw),
           lambda c, a, b, beta=1, alpha=1: beta * c + alpha * (a @ b).sum(0),
           (S((2, 4), (3, 2, 3), (3, 3, 4)), S((4,), (2, 2, 3), (2, 3, 4), beta=2.0, alpha=0.5)),
           errors=(E([(2, 4), (2, 3), (3, 4)], tg.ShapeError, "3-D"),),
           alternates=(lambda c, a, b, **kw: tg.addbmm(c, a, b, **kw),)),
    OpSpec("renorm", lambda x, p, dim, maxnorm: x.renorm(p, dim, maxnorm), _np_renorm,
           (S((3, 4), p=2, dim=0, maxnorm=1.5), S((2, 3, 2), p=1, dim=1, maxnorm=2.0),
            S((3, 4), p=3, dim=-1, maxnorm=100.0)),
           errors=(E([(3,)], tg.ShapeError, "2 dimensions", p=2, dim=0, maxnorm=1.0),
                   E([(2, 3)], tg.ArgumentError, "maxnorm", p=2, dim=0, maxnorm=-1.0)),
           alternates=(lambda x, p, dim, maxnorm: tg.renorm(x, p, dim, maxnorm),)),
    OpSpec("trapezoid", lambda y, **kw: tg.trapezoid(y, **kw),
           lambda y, dx=1.0, dim=-1: np.trapezoid(y, dx=dx, axis=dim),
           (S((5,)), S((2, 4), dim=0), S((3, 4), dx=0.5), S((1,))),
           alternates=(lambda y, **kw: tg.trapz(y, **kw),)),
    OpSpec("trapezoid", lambda y, x: tg.trapezoid(y, x), lambda y, x: np.trapezoid(y, x),
           (S((5,), (5,)), S((2, 4), (4,)), S((2, 4), (2, 4))), variant="x",
           errors=(E([(3,), (2,)], tg.ShapeError, "one `x` value"),),
           alternates=(lambda y, x: tg.trapz(y, x),)),
    OpSpec("cumulative_trapezoid", lambda y, **kw: tg.cumulative_trapezoid(y, **kw),
           _np_cumulative_trapezoid, (S((5,)), S((2, 4), dim=0), S((3, 4), dx=0.5), S((1,)))),
    OpSpec("quantile", lambda x, q=0.3, **kw: x.quantile(q, **kw),
           lambda x, q=0.3, dim=None, keepdim=False, interpolation="linear": np.quantile(
               x, q, axis=dim, keepdims=keepdim, method=interpolation),
           (S((7,)), S((3, 4), q=0.5, dim=1), S((3, 4), dim=0, keepdim=True),
            S((2, 5), dim=-1, interpolation="lower"), S((2, 5), dim=1, interpolation="higher"),
            S((2, 5), dim=1, interpolation="midpoint"), S((2, 5), dim=1, interpolation="nearest"),
            S((3, 4), q=1.0), S((3, 4), layout="transposed", dim=1)),
           errors=(E([(3,)], tg.ArgumentError, "range [0, 1]", q=1.5),
                   E([(0,)], tg.ArgumentError, "non-empty"),
                   E([(3,)], tg.ArgumentError, "interpolation", interpolation="foo")),
           alternates=(lambda x, q=0.3, **kw: tg.quantile(x, q, **kw),
                       lambda x, q=0.3, **kw: tg.nanquantile(x, q, **kw))),
    OpSpec("nanquantile", lambda x, q=0.3, **kw: x.nanquantile(q, **kw),
           lambda x, q=0.3, dim=None, keepdim=False: np.nanquantile(
               x, q, axis=dim, keepdims=keepdim),
           (S((7,)), S((3, 4), q=0.5, dim=1), S((3, 4), dim=0, keepdim=True)),
           alternates=(lambda x, q=0.3, **kw: tg.nanquantile(x, q, **kw),)),
    OpSpec("masked_scatter", lambda x, src, mask: x.masked_scatter(T(mask), src),
           _np_masked_scatter,
           (S((2, 3), (2, 3), mask=MASK_2x3), S((2, 3), (5,), mask=np.array([True, False, True])),
            S((2, 3), (4,), mask=np.zeros((2, 3), bool))),
           errors=(E([(2, 3), (2,)], tg.ShapeError, "number of elements", mask=MASK_2x3),),
           alternates=(lambda x, src, mask: tg.masked_scatter(x, T(mask), src),)),
    OpSpec("put", lambda x, src, index, **kw: x.put(T(index), src, **kw), _np_put,
           (S((2, 3), (3,), index=np.array([0, 5, 3])),
            S((2, 3), (2, 2), index=np.array([[1, 1], [-1, 1]]), accumulate=True),
            S((2, 3), (2,), index=np.array([4, 2]), layout="transposed")),
           errors=(E([(2, 3), (2,)], tg.AxisError, "out of range", index=np.array([0, 6])),
                   E([(2, 3), (2,)], tg.ShapeError, "same number", index=np.array([0]))),
           alternates=(lambda x, src, index, **kw: tg.put(x, T(index), src, **kw),)),
    OpSpec("index_reduce", lambda x, src, dim, index, reduce, **kw:
           x.index_reduce(dim, T(index), src, reduce, **kw),
           lambda x, src, dim, index, reduce, include_self=True: _scatter_ref(
               x, src, dim, _along_index(src.shape, dim, index), reduce, include_self),
           (S((4, 3), (4, 3), dim=0, index=ROWS, reduce="prod"),
            S((4, 3), (4, 2), dim=1, index=np.array([2, 0]), reduce="mean"),
            S((4, 3), (4, 3), dim=0, index=ROWS, reduce="amax", include_self=False),
            S((4, 3), (4, 3), dim=0, index=ROWS, reduce="amin")),
           nonzero(0.5, 1.5),
           errors=(E([(4, 3), (4, 3)], tg.ArgumentError, "prod, mean, amax or amin", dim=0,
                     index=ROWS, reduce="sum"),),
           alternates=(lambda x, src, dim, index, reduce, **kw:
                       tg.index_reduce(x, dim, T(index), src, reduce, **kw),)),
)
SPELLINGS.update({
    "fix": "trunc", "arctan2": "atan2", "arcsin": "asin", "arccos": "acos", "arctan": "atan",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "ger": "outer",
    "trapz": "trapezoid",
})
NOT_OPS = NOT_OPS | {
    # masks, integers and counts without gradients (tests/test_surface_math.py)
    "greater", "less", "greater_equal", "less_equal", "not_equal", "signbit", "frexp",
    "gcd", "lcm", "nextafter", "histogram", "unique_consecutive",
    # tuples or factorisations: checked against tapegrad.linalg with gradcheck there
    "slogdet", "qr", "svd", "cholesky", "pinverse",
    # in-place writes and random fills (tests/test_surface_math.py)
    "masked_scatter_", "put_", "index_reduce_", "fill_diagonal_", "cauchy_", "geometric_",
    "log_normal_",
}

# ---------------------------------------------------------------- surface names
# Creation, shape and real-tensor names of tapegrad/_surface.py (tests/test_surface_create.py
# checks views, dtypes and PyTorch parity).


def _np_unfold(x, dimension, size, step):
    moved = np.moveaxis(x, dimension, -1)
    count = (moved.shape[-1] - size) // step + 1
    windows = np.stack([moved[..., w * step : w * step + size] for w in range(count)], -2)
    return np.moveaxis(windows, -2, dimension % x.ndim)


def _np_sum_to_size(x, size):
    lead = x.ndim - len(size)
    out = x.sum(axis=tuple(range(lead)))
    axes = tuple(k for k, s in enumerate(size) if s == 1 and out.shape[k] != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


def _np_block_diag(*blocks):
    blocks = [b.reshape(1, -1) if b.ndim < 2 else b for b in blocks]
    out = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)))
    r = c = 0
    for b in blocks:
        out[r : r + b.shape[0], c : c + b.shape[1]] = b
        r, c = r + b.shape[0], c + b.shape[1]
    return out


def _np_combinations(x, r=2, with_replacement=False):
    import itertools

    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    return np.array([[x[i] for i in row] for row in pick(range(len(x)), r)])


SURFACE_SPECS = (
    OpSpec(
        "select",
        lambda x, dim, index: x.select(dim, index),
        lambda x, dim, index: np.take(x, index, dim),
        (
            S((4, 3), dim=0, index=1),
            S((4, 3), dim=-1, index=-1),
            S((2, 3, 2), dim=1, index=2, layout="transposed"),
        ),
        errors=(
            E([(3,)], tg.AxisError, "index 5 out of range", dim=0, index=5),
            E([()], tg.AxisError, "0-dim", dim=0, index=0),
            E([(3,)], tg.AxisError, "dim 2", dim=2, index=0),
        ),
        alternates=(lambda x, dim, index: tg.select(x, dim, index),),
    ),
    OpSpec(
        "unfold",
        lambda x, dimension, size, step: x.unfold(dimension, size, step),
        _np_unfold,
        (
            S((7,), dimension=0, size=3, step=2),
            S((7,), dimension=0, size=3, step=1, note="overlapping"),
            S((3, 5), dimension=1, size=2, step=3),
            S((4, 3), dimension=-2, size=4, step=1, layout="transposed"),
            S((2, 6), dimension=1, size=0, step=1),
        ),
        errors=(
            E([(5,)], tg.ShapeError, "maximum size for tensor at dimension 0 is 5", dimension=0, size=6, step=1),
            E([(5,)], ValueError, "step is 0 but must be > 0", dimension=0, size=2, step=0),
            E([(5,)], ValueError, "size is -1 but must be >= 0", dimension=0, size=-1, step=1),
            E([(5,)], tg.AxisError, "dim", dimension=1, size=1, step=1),
        ),
    ),
    OpSpec(
        "ravel",
        lambda x: x.ravel(),
        lambda x: x.ravel(),
        (S(()), S((2, 3)), S((2, 3), layout="transposed"), S((0, 2))),
        alternates=(lambda x: tg.ravel(x),),
    ),
    OpSpec(
        "hsplit",
        lambda x, s: _weighted(x.hsplit(s)),
        lambda x, s: _np_weighted(np.hsplit(x, s)),
        (S((6,), s=3), S((2, 6), s=2), S((2, 6), s=[1, 4])),
        errors=(
            E([(2, 5)], tg.ShapeError, "not divisible by the split_size 2", s=2),
            E([()], tg.ShapeError, "at least 1 dimension", s=2),
        ),
        alternates=(lambda x, s: _weighted(tg.hsplit(x, s)),),
    ),
    OpSpec(
        "vsplit",
        lambda x, s: _weighted(x.vsplit(s)),
        lambda x, s: _np_weighted(np.vsplit(x, s)),
        (S((4, 2), s=2), S((5, 2), s=[2, 3])),
        errors=(E([(5,)], tg.ShapeError, "at least 2 dimension", s=2),),
        alternates=(lambda x, s: _weighted(tg.vsplit(x, s)),),
    ),
    OpSpec(
        "dsplit",
        lambda x, s: _weighted(x.dsplit(s)),
        lambda x, s: _np_weighted(np.dsplit(x, s)),
        (S((2, 2, 4), s=2), S((1, 2, 5), s=[1, 3])),
        errors=(E([(5, 5)], tg.ShapeError, "at least 3 dimension", s=2),),
        alternates=(lambda x, s: _weighted(tg.dsplit(x, s)),),
    ),
    OpSpec(
        "sum_to_size",
        lambda x, size: x.sum_to_size(size),
        _np_sum_to_size,
        (S((2, 3), size=(1, 3)), S((2, 3), size=(3,)), S((2, 3), size=(1, 1)), S((4, 2, 3), size=(2, 1))),
        errors=(E([(2, 3)], tg.ShapeError, "is not expandable to size", size=(4, 3)),),
        alternates=(lambda x, size: x.sum_to_size(*size),),
    ),
    OpSpec(
        "vander",
        lambda x, **kw: tg.vander(x, **kw),
        lambda x, N=None, increasing=False: np.vander(x, N, increasing),
        (S((3,)), S((4,), N=2), S((3,), N=5, increasing=True), S((0,))),
        errors=(
            E([(2, 2)], tg.ShapeError, "one-dimensional"),
            E([(2,)], tg.ArgumentError, "N must be non-negative", N=-1),
        ),
    ),
    OpSpec(
        "meshgrid",
        lambda a, b, indexing: _weighted(tg.meshgrid(a, b, indexing=indexing)),
        lambda a, b, indexing: _np_weighted(np.meshgrid(a, b, indexing=indexing)),
        (S((2,), (3,), indexing="ij"), S((2,), (3,), indexing="xy"), S((), (3,), indexing="ij")),
        errors=(E([(2,), (3,)], tg.ArgumentError, "indexing must be one of", indexing="foo"),),
    ),
    OpSpec(
        "cartesian_prod",
        lambda a, b: tg.cartesian_prod(a, b),
        lambda a, b: np.array([[x, y] for x in a for y in b]),
        (S((2,), (3,)), S((1,), (2,))),
        errors=(E([(2, 2), (2,)], tg.ShapeError, "Expect a 1D vector"),),
    ),
    OpSpec(
        "combinations",
        lambda x, **kw: tg.combinations(x, **kw),
        _np_combinations,
        (S((4,)), S((3,), r=3), S((3,), r=2, with_replacement=True)),
        errors=(
            E([(2, 2)], tg.ShapeError, "Expect a 1D vector"),
            E([(3,)], tg.ArgumentError, "non-negative", r=-1),
        ),
    ),
    OpSpec(
        "block_diag",
        lambda a, b, c: tg.block_diag(a, b, c),
        _np_block_diag,
        (S((2, 2), (), (3,)), S((1, 3), (2, 1), (0, 2))),
        errors=(E([(2, 2, 2), (2,), (2,)], tg.ShapeError, "2 or fewer dimensions"),),
    ),
    OpSpec(
        "broadcast_tensors",
        lambda a, b: _weighted(tg.broadcast_tensors(a, b)),
        lambda a, b: _np_weighted(np.broadcast_arrays(a, b)),
        (S((2, 1), (3,)), S((), (2, 2)), S((2, 3), (2, 3))),
        errors=(E([(2,), (3,)], tg.ShapeError, "broadcast"),),
    ),
    OpSpec(
        "H",
        lambda x: x.H,
        lambda x: x.T,
        (S((2, 3)), S((3, 3), layout="transposed")),
        errors=(E([(2,)], tg.ShapeError, "only supported on matrices"),),
    ),
    OpSpec(
        "mH",
        lambda x: x.mH,
        lambda x: np.swapaxes(x, -1, -2),
        (S((2, 3)), S((2, 3, 4))),
        errors=(E([(2,)], tg.ShapeError, "matrices or batches of matrices"),),
    ),
    OpSpec(
        "conj",
        lambda x: x.conj(),
        lambda x: np.conj(x),
        (S(()), S((2, 3))),
        alternates=(lambda x: x.resolve_conj(), lambda x: x.real, lambda x: x.resolve_neg()),
    ),
)
OPS = OPS + SURFACE_SPECS
# Tensor methods (vander, meshgrid, cartesian_prod, combinations, block_diag and
# broadcast_tensors are functions only, as in PyTorch).
PUBLIC_OPS += ["select", "unfold", "ravel", "hsplit", "vsplit", "dsplit", "sum_to_size"]
PUBLIC_OPS += ["H", "mH", "conj"]
SPELLINGS.update(moveaxis="movedim", row_stack="vstack", resolve_conj="conj", real="conj")
SPELLINGS.update(resolve_neg="conj")
NOT_OPS = NOT_OPS | {
    # creation and index tables: no gradient to their arguments (test_surface_create.py)
    *("linspace", "logspace", "as_tensor", "tril_indices", "triu_indices"),
    *("broadcast_shapes", "ndimension", "is_nonzero", "is_complex", "is_shared"),
    *("share_memory_", "pin_memory", "is_pinned", "is_conj", "is_neg", "imag"),
    *("set_printoptions", "get_printoptions", "use_deterministic_algorithms"),
    *("are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled"),
    "compile",
}
NOT_OPS = NOT_OPS | {
    # shapes, legacy types and dtype casts tapegrad lacks (test_size.py,
    # test_legacy_types.py)
    *("Size", "FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "ShortTensor"),
    *("CharTensor", "ByteTensor", "BoolTensor", "half", "bfloat16"),
    # device predicates and switches of a CPU-only library (test_cuda_queries.py)
    *("is_cpu", "is_cuda", "is_mps", "is_meta", "is_sparse", "is_quantized"),
    *("set_float32_matmul_precision", "get_float32_matmul_precision"),
    # mixed precision: a context and a namespace, no maths (test_amp.py)
    *("amp", "autocast", "is_autocast_enabled"),
}
NOT_OPS = NOT_OPS | {
    # in-place metadata ops (tests/test_view_inplace.py)
    *("resize_", "resize_as_", "as_strided_", "t_"),
}

# The `name_` forms, derived last, once every spec, spelling and NOT_OPS entry is known.
_SPEC_NAMES = {spec.name for spec in OPS}
for _name in dir(tg.Tensor):
    _base = _name[:-1]
    if _name.endswith("_") and not _name.startswith("_") and SPELLINGS.get(_base, _base) in _SPEC_NAMES:
        SPELLINGS[_name] = SPELLINGS.get(_base, _base)
INPLACE_SPELLINGS = {n: b for n, b in SPELLINGS.items() if n.endswith("_") and not n.startswith("_")}
# Checked elsewhere: in-place forms whose spec's call cannot be turned into them
# mechanically (tests/test_inplace_aliases.py, against torch), and the in-place view ops,
# which change the shape on purpose (tests/test_view_inplace.py).
_INPLACE_ELSEWHERE = {"addmm_", "addmv_", "baddbmm_", "cumsum_", "tril_", "triu_"}
_INPLACE_ELSEWHERE |= {"unsqueeze_", "squeeze_", "transpose_", "swapaxes_", "swapdims_"}
# ...and those whose spec reorders or wraps its arguments (tests/test_inplace_aliases.py,
# tests/test_surface_math.py and tests/test_inplace.py check them directly).
_INPLACE_ELSEWHERE |= {"addbmm_", "addr_", "i0_", "ldexp_", "mvlgamma_", "renorm_"}
_INPLACE_ELSEWHERE |= {"clamp_max_", "clamp_min_", "index_reduce_", "masked_scatter_", "put_"}
INPLACE_SPELLINGS = {n: b for n, b in INPLACE_SPELLINGS.items() if n not in _INPLACE_ELSEWHERE}
# The in-place forms of the integer-only and logical ops are as NOT_OPS as their bases
# (tests/test_integer_ops.py checks them).
NOT_OPS = NOT_OPS | {n for n in dir(tg.Tensor) if n.endswith("_") and n[:-1] in NOT_OPS}
