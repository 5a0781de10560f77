"""The API fuzzer behind ``test_no_panic.py``'s API groups (run in a child process).

Hypothesis draws shapes (0-size dims included), values (NaN, ±inf, −0.0, huge and tiny
numbers), dtypes and arguments, and calls every ``nn`` module and functional, every
optimiser, the ``func`` transforms, ``testing``, checkpointing, ``save``/``load``, hooks
and custom Functions with them, until the time budget is spent. Only documented exception
types may escape: tapegrad's classes and the builtins they derive from (plus ``OSError``
for files and ``MemoryError``). Anything else, a ``BaseException`` (PyO3's
``PanicException``) included, is recorded with the call that raised it; an abort kills the
child, and the parent names the last call printed to stderr.

The ``shapes`` group draws shapes mixing 0-size, small and huge dims (up to 2**63 - 1) in
every position, products that overflow and products that fit but cannot be allocated, and
feeds them to the creation functions, ``expand``/``broadcast_to``, ``reshape``, reductions,
``nn`` modules and the ``func`` transforms; its child caps its address space
(``RLIMIT_AS``) so that an allocation it cannot make is a ``MemoryError``, never an abort
or the machine's memory.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import tapegrad as tg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tapegrad import func, nn, optim, testing
from tapegrad.nn import functional as F

ALLOWED = (tg.TapegradError, ValueError, TypeError, IndexError, RuntimeError)
FILE_ALLOWED = ALLOWED + (OSError,)
SPECIAL = [0.0, -0.0, 1.0, -1.5, 2.0, 1e30, -1e-30, math.nan, math.inf, -math.inf]

dims = st.sampled_from([0, 1, 2, 3])
shapes = st.lists(dims, min_size=0, max_size=3).map(tuple)


@st.composite
def tensors(draw, shape=None, requires_grad=None):
    shape = draw(shapes) if shape is None else shape
    n = int(np.prod(shape, dtype=np.int64))
    values = draw(st.lists(st.sampled_from(SPECIAL), min_size=n, max_size=n))
    dtype = draw(st.sampled_from([tg.float32, tg.float64]))
    grad = draw(st.booleans()) if requires_grad is None else requires_grad
    data = np.array(values, dtype=np.float64).reshape(shape)
    return tg.tensor(data, dtype=dtype, requires_grad=grad)


scalars = st.one_of(
    st.sampled_from([0, 1, 2, 3, -1, 0.5, 1e-3, math.nan, math.inf, None, True])
)
arguments = st.one_of(tensors(), scalars, st.sampled_from(["mean", "sum", "none"]))

MODULES = [
    getattr(nn, name)
    for name in nn.__all__
    if isinstance(getattr(nn, name), type)
    and issubclass(getattr(nn, name), nn.Module)
    and name not in ("Module",)
]
FUNCTIONALS = [getattr(F, name) for name in F.__all__]
OPTIMIZERS = [
    getattr(optim, name)
    for name in optim.__all__
    if isinstance(getattr(optim, name), type) and name != "Optimizer"
]
TRANSFORMS = [func.grad, func.jacrev, func.jacfwd, func.hessian, func.value_and_grad]
FUNCTIONS = [
    lambda t: t.sum(),
    lambda t: (t * t).exp().sum(),
    lambda t: t.relu(),
    lambda t: (t, t),
    lambda t: 1.0,
    lambda t: None,
    lambda t: t @ t,
]


def _positional(cls) -> int:
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return 0
    return sum(
        1
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def _call(label, allowed, fn, *args, **kwargs):
    os.write(2, f"CALL {label}\n".encode(errors="replace"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fn(*args, **kwargs)
    except allowed:
        return None
    except BaseException as error:  # noqa: BLE001 - the point of the fuzzer
        ESCAPED.append(
            f"{label}: {type(error).__module__}.{type(error).__name__}: "
            f"{str(error)[:200]}"
        )
        return None
    finally:
        tg.set_grad_enabled(True)
    return result


def _backward(label, out, allowed=ALLOWED):
    if isinstance(out, tg.Tensor) and out.requires_grad:
        _call(f"{label}.sum().backward()", allowed, lambda: out.sum().backward())


def fuzz_nn(data):
    if data.draw(st.booleans()):
        cls = data.draw(st.sampled_from(MODULES))
        args = [
            data.draw(st.sampled_from([0, 1, 2, 3])) for _ in range(_positional(cls))
        ]
        module = _call(f"nn.{cls.__name__}(*{args})", ALLOWED, cls, *args)
        if module is None:
            return
        inputs = data.draw(st.lists(tensors(), min_size=1, max_size=3))
        label = f"nn.{cls.__name__}(*{args})(*{[tuple(t.shape) for t in inputs]})"
        _backward(label, _call(label, ALLOWED, module, *inputs))
    else:
        fn = data.draw(st.sampled_from(FUNCTIONALS))
        args = data.draw(st.lists(arguments, min_size=1, max_size=4))
        label = f"F.{fn.__name__}(*{[_describe(a) for a in args]})"
        _backward(label, _call(label, ALLOWED, fn, *args))


def fuzz_optim(data):
    cls = data.draw(st.sampled_from(OPTIMIZERS))
    shape = data.draw(shapes)
    param = data.draw(tensors(shape=shape, requires_grad=True))
    param.grad = data.draw(tensors(shape=shape, requires_grad=False)).to(param.dtype)
    lr = data.draw(st.sampled_from([0.1, 0.0, 1e30, -1.0, math.nan]))
    label = f"optim.{cls.__name__}([param{shape}], lr={lr})"
    opt = _call(label, ALLOWED, cls, [param], lr=lr)
    if opt is None:
        return
    closure = lambda: (param * param).sum()
    _call(f"{label}.step()", ALLOWED, opt.step, closure)
    _call(
        f"{label}.state_dict()", ALLOWED, lambda: opt.load_state_dict(opt.state_dict())
    )


def fuzz_func(data):
    transform = data.draw(st.sampled_from(TRANSFORMS))
    f = data.draw(st.sampled_from(FUNCTIONS))
    x = data.draw(tensors())
    label = f"func.{transform.__name__}(f{FUNCTIONS.index(f)})(x{tuple(x.shape)})"
    _call(label, ALLOWED, lambda: transform(f)(x))
    v = data.draw(tensors(shape=tuple(x.shape), requires_grad=False))
    _call(f"func.jvp(f{FUNCTIONS.index(f)})", ALLOWED, func.jvp, f, (x,), (v,))
    _call(f"func.vjp(f{FUNCTIONS.index(f)})", ALLOWED, func.vjp, f, x)
    check = data.draw(st.sampled_from([testing.gradcheck, testing.check_vjp]))
    _call(f"testing.{check.__name__}", ALLOWED, check, f, [x.double()])


def fuzz_checkpoint(data):
    x = data.draw(tensors())
    f = data.draw(st.sampled_from(FUNCTIONS))
    label = f"tg.checkpoint(f{FUNCTIONS.index(f)}, x{tuple(x.shape)})"
    _backward(label, _call(label, ALLOWED, tg.checkpoint, f, x))
    width = data.draw(st.sampled_from([0, 1, 3]))
    layers = [nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)]
    segments = data.draw(st.sampled_from([1, 2, 3, 0, "sqrt", 7]))
    inp = data.draw(tensors(shape=(data.draw(dims), width)))
    label = (
        f"tg.checkpoint_sequential(width {width}, {segments!r}, x{tuple(inp.shape)})"
    )
    out = _call(label, ALLOWED, tg.checkpoint_sequential, layers, inp, segments)
    _backward(label, out)


def fuzz_io(data):
    x = data.draw(tensors())
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "f.safetensors")
        value = data.draw(
            st.sampled_from([{"x": x}, [x, 1, "a"], x, {"n": None}, {"bad": object()}])
        )
        _call("tg.save", FILE_ALLOWED, tg.save, value, path)
        if os.path.exists(path):
            with open(path, "rb") as handle:
                raw = handle.read()
            cut = data.draw(st.integers(0, len(raw)))
            flip = data.draw(st.integers(0, max(len(raw) - 1, 0)))
            damaged = bytearray(raw[:cut])
            if damaged and data.draw(st.booleans()):
                damaged[min(flip, len(damaged) - 1)] ^= 0xFF
            with open(path, "wb") as handle:
                handle.write(bytes(damaged))
        _call(
            f"tg.load(damaged {len(raw) if os.path.exists(path) else 0})",
            FILE_ALLOWED,
            tg.load,
            path,
        )
        _call("tg.load(folder)", FILE_ALLOWED, tg.load, folder)


class _BadFunction(tg.Function):
    mode = 0

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return [x * 2, None, 1.0, (x, x)][_BadFunction.mode % 4]

    @staticmethod
    def backward(ctx, *grads):
        (x,) = ctx.saved_tensors
        return [grads[0], None, (grads[0], grads[0]), 1.0, x.sum(), x.reshape(-1)][
            _BadFunction.mode // 4 % 6
        ]


def fuzz_hooks(data):
    x = data.draw(tensors(requires_grad=True))
    hook = data.draw(
        st.sampled_from(
            [
                lambda g: None,
                lambda g: g * 2,
                lambda g: 1.0,
                lambda g: g.sum(),
                lambda g: tg.ones(7),
                lambda g: 1 / 0,
            ]
        )
    )
    _call("x.register_hook", ALLOWED + (ZeroDivisionError,), x.register_hook, hook)
    y = _call("x * 2", ALLOWED, lambda: x * 2)
    if y is not None:
        _call("y.register_hook", ALLOWED, y.register_hook, hook)
        # ZeroDivisionError is the hook's own exception, re-raised unchanged (documented)
        _call(
            "hooked backward",
            ALLOWED + (ZeroDivisionError,),
            lambda: y.sum().backward(),
        )
    _BadFunction.mode = data.draw(st.integers(0, 23))
    label = f"custom Function mode {_BadFunction.mode}"
    out = _call(label, ALLOWED, _BadFunction.apply, x)
    _backward(label, out, ALLOWED + (ZeroDivisionError,))  # the hook's, unchanged


HUGE = [2**31, 2**40, 2**48 + 1, 2**62, 2**63 - 1]
big_dims = st.one_of(dims, st.sampled_from(HUGE))
big_shapes = st.lists(big_dims, min_size=1, max_size=4).map(tuple)
SHAPE_ALLOWED = ALLOWED + (OverflowError, MemoryError)
CREATORS = [tg.zeros, tg.ones, tg.empty, tg.rand, tg.randn]


def _cap_address_space():
    """Caps the child's address space at what it uses now plus 2 GB (Linux only)."""
    try:
        import resource

        with open("/proc/self/status") as status:
            line = next(x for x in status if x.startswith("VmSize:"))
        used = int(line.split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (used + 2**31, resource.RLIM_INFINITY))
    except (ImportError, OSError, StopIteration, ValueError):
        pass  # elsewhere the shapes drawn still overflow before anything is allocated


def fuzz_shapes(data):
    shape = data.draw(big_shapes)
    creator = data.draw(st.sampled_from(CREATORS))
    label = f"tg.{creator.__name__}{shape}"
    _call(label, SHAPE_ALLOWED, creator, *shape)
    _call(f"tg.full({shape}, 1.5)", SHAPE_ALLOWED, tg.full, shape, 1.5)
    x = data.draw(
        tensors(shape=data.draw(st.sampled_from([(1,), (1, 1), (0,), (1, 0)])))
    )
    _call(f"x{tuple(x.shape)}.expand{shape}", SHAPE_ALLOWED, lambda: x.expand(*shape))
    _call(
        f"tg.broadcast_to(x{tuple(x.shape)}, {shape})",
        SHAPE_ALLOWED,
        tg.broadcast_to,
        x,
        shape,
    )
    _call(f"x.reshape{shape}", SHAPE_ALLOWED, lambda: x.reshape(*shape))
    empty = tuple(0 if i == 0 else d for i, d in enumerate(shape))
    e = _call(f"tg.zeros{empty}", SHAPE_ALLOWED, tg.zeros, *empty)
    if e is not None:
        dim = data.draw(st.integers(-len(empty), len(empty) - 1))
        _call(f"zeros{empty}.sum({dim})", SHAPE_ALLOWED, lambda: e.sum(dim, True))
        _call(f"zeros{empty}.numpy()", SHAPE_ALLOWED, e.numpy)
        _call(f"repr(zeros{empty})", SHAPE_ALLOWED, repr, e)
        _call(f"zeros{empty} @ zeros(0, 0)", SHAPE_ALLOWED, lambda: e @ tg.zeros(0, 0))
    width = data.draw(big_dims)
    _call(f"nn.Linear({width}, 1)", SHAPE_ALLOWED, nn.Linear, width, 1)
    index = data.draw(st.sampled_from([2**63, 2**64 - 1, -(2**63) - 1, 2**100]))
    _call(f"tg.ones(3)[{index}]", SHAPE_ALLOWED, lambda: tg.ones(3)[index])
    transform = data.draw(st.sampled_from([func.jacrev, func.jacfwd, func.hessian]))
    _call(
        f"func.{transform.__name__}(expand to {shape})",
        SHAPE_ALLOWED,
        lambda: transform(lambda t: t.expand(*shape).sum())(tg.ones(1)),
    )


def _describe(value):
    if isinstance(value, tg.Tensor):
        return f"tensor{tuple(value.shape)}"
    return repr(value)[:40]


GROUPS = {
    "nn": fuzz_nn,
    "optim": fuzz_optim,
    "func": fuzz_func,
    "checkpoint": fuzz_checkpoint,
    "io": fuzz_io,
    "hooks": fuzz_hooks,
    "shapes": fuzz_shapes,
}
ESCAPED: list[str] = []


def run(group: str, budget: float) -> None:
    body = GROUPS[group]
    calls = [0]

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def batch(data):
        calls[0] += 1
        body(data)

    stop = time.monotonic() + budget
    while time.monotonic() < stop:
        batch()
    print(json.dumps({"calls": calls[0], "escaped": ESCAPED}))


if __name__ == "__main__":
    if sys.argv[1] == "shapes":
        _cap_address_space()
    run(sys.argv[1], float(sys.argv[2]))
