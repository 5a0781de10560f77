"""Malformed input never escapes as anything but an ``Exception``.

PyO3 turns a Rust panic into ``PanicException``, which derives from
``BaseException`` so that ``except Exception`` does not catch it. This file feeds
wrong types, None, huge and negative ints, NaN, strings and bad indices to every
public function and method and fails on any non-``Exception`` that escapes.

Each group runs in a child process, so that an abort (stack overflow, failed
allocation) fails the test and names the last call instead of killing pytest.

The API groups (``fuzz_api.py``) go further: Hypothesis draws shapes (0-size dims
included) and values (NaN, ±inf, −0.0) for ``nn``, ``optim``, ``func``, ``testing``,
checkpointing, ``save``/``load``, hooks and custom Functions, and only documented
exception types may escape. They share a time budget: 36 s in CI, longer with
``python -m pytest tests/test_no_panic.py --fuzz-budget 600``.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest

GROUPS = ["functions", "methods", "operators", "attributes"]


@pytest.mark.parametrize("group", GROUPS)
def test_no_panic_escapes(group, tmp_path):
    child = subprocess.run(
        [sys.executable, os.path.abspath(__file__), group],
        cwd=tmp_path,  # calls such as tg.save(x, "abc") write files: keep them there
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    if child.returncode != 0:
        last = [line for line in child.stderr.splitlines() if line.startswith("CALL ")]
        pytest.fail(
            f"fuzz child died with code {child.returncode}; last call: "
            f"{last[-1] if last else '?'}\n{child.stderr[-3000:]}"
        )
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["calls"] > 100, "the fuzzer made almost no calls"
    assert not report["escaped"], "non-Exception escaped:\n" + "\n".join(
        report["escaped"][:40]
    )


API_GROUPS = ["nn", "optim", "func", "checkpoint", "io", "hooks", "shapes"]


@pytest.mark.parametrize("group", API_GROUPS)
def test_api_fuzzer_lets_only_documented_errors_escape(group, tmp_path, fuzz_budget):
    """Hypothesis-drawn calls of nn, optim, func, testing, checkpointing, save/load, hooks
    and custom Functions (``fuzz_api.py``), for this group's share of the budget."""
    budget = fuzz_budget / len(API_GROUPS)
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_api.py")
    child = subprocess.run(
        [sys.executable, script, group, str(budget)],
        cwd=tmp_path,
        check=False,
        capture_output=True,
        text=True,
        timeout=budget + 240,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
    )
    if child.returncode != 0:
        last = [line for line in child.stderr.splitlines() if line.startswith("CALL ")]
        pytest.fail(
            f"fuzz child died with code {child.returncode}; last call: "
            f"{last[-1] if last else '?'}\n{child.stderr[-3000:]}"
        )
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert report["calls"] > 0, "the fuzzer made no calls"
    assert not report["escaped"], "undocumented exception escaped:\n" + "\n".join(
        sorted(set(report["escaped"]))[:40]
    )


# Reproducers the fuzzer found (issue 13): shape checks that depended on dim order, NumPy
# conversion of empty tensors with huge dims, integer indices that wrapped, allocations that
# aborted. Each runs in a child process, so an abort fails the test instead of pytest.
KNOWN = {
    "empty shape with an overflowing dim": "tg.ones(0, 2, 2**62)",
    "expand to an empty overflowing shape": "tg.ones(1, 1).expand(2**40, 0, 3, 2**40)",
    "sum over an empty overflowing shape": "tg.ones((0, 1, 1, 2**63 - 1)).sum(0, True)",
    "numpy of an empty tensor with a huge dim": "tg.zeros(2**62, 0).numpy()",
    "repr of an empty tensor with a huge dim": "repr(tg.zeros(2**62, 0))",
    "index 2**64 - 1 wraps to -1": "tg.ones(3)[2**64 - 1]",
    "a failed allocation aborts": "tg.zeros(10**6, 10**6)",
}


@pytest.mark.parametrize("code", KNOWN.values(), ids=list(KNOWN))
def test_known_faults_raise_a_documented_error(code):
    program = (
        "import tapegrad as tg\n"
        "try:\n"
        f"    {code}\n"
        "except (tg.TapegradError, ValueError, IndexError, OverflowError, MemoryError):\n"
        "    print('clean error')\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", program],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0 and child.stdout.strip() == "clean error", (
        child.returncode,
        child.stderr[-500:],
    )


def test_a_panic_in_the_core_comes_back_as_internal_error():
    """The binding's last resort (``#[catch_panics]``): a panic, here a deliberate one in the
    GIL-free section, is an ``InternalError`` (an ``Exception``) naming the function and the
    message, and the module keeps working afterwards."""
    import tapegrad as tg

    with pytest.raises(tg.InternalError) as info:
        tg._native._panic_for_tests("invariant X broke")
    message = str(info.value)
    assert "_panic_for_tests" in message and "invariant X broke" in message
    assert "bug in tapegrad" in message
    assert isinstance(info.value, RuntimeError)
    assert (tg.ones(2) + 1).tolist() == [2.0, 2.0]


def test_every_binding_entry_point_catches_panics():
    """Every ``#[pymethods]`` block and ``#[pyfunction]`` of the binding carries
    ``#[tapegrad_macros::catch_panics]`` on the line above it."""
    import pathlib
    import re

    src = pathlib.Path(__file__).resolve().parents[1] / "rust" / "python" / "src"
    bare = []
    for path in sorted(src.glob("*.rs")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s*#\[(pymethods|pyfunction)\]", line):
                if i == 0 or "#[tapegrad_macros::catch_panics]" not in lines[i - 1]:
                    bare.append(f"{path.name}:{i + 1}: {line.strip()}")
    assert not bare, "entry points without #[tapegrad_macros::catch_panics]:\n" + "\n".join(bare)


# ---------------------------------------------------------------- child process


def _describe(value):
    """A short label that never calls into the library's own repr."""
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_describe(v) for v in value)
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_describe(v)}" for k, v in value.items()) + "}"
    kind = type(value).__name__
    if kind == "Tensor":
        return "tensor" + str(tuple(value.shape))
    if kind == "ndarray":
        return f"array({value.dtype}, {value.shape})"
    return repr(value)[:60]


def _bad_values(tg, np):
    nan = float("nan")
    return [
        None,
        "abc",
        "",
        b"x",
        [],
        [[1.0], [2.0, 3.0]],
        [None],
        {},
        object(),
        0,
        -1,
        -(2**63),
        2**62,
        2**63,
        2**64,
        10**30,
        -(10**30),
        nan,
        float("inf"),
        -float("inf"),
        1.5,
        True,
        (1, -1),
        (-3,),
        (2**62, 2**62),
        (2**64,),
        (None,),
        ("a", 1),
        slice(None),
        slice(None, None, 0),
        slice(2**63, None),
        Ellipsis,
        np.array(["a"]),
        np.array([1, 2], dtype=object),
        np.array([0, 99]),
        np.array([True, False, True]),
        np.array(nan),
        np.int64(-5),
        1j,
        np.zeros((2, 0)),
        np.ones((3, 3), dtype=np.float32)[:, ::2],
        tg.float64,
        lambda: 0,
        tg.tensor(nan),
        tg.zeros(0, 3),
        tg.tensor([1.0, nan]),
        tg.ones(5, 7, dtype=tg.float64, requires_grad=True),
    ]


def _subjects(tg):
    """Fresh tensors to call methods on (fresh each time: methods may mutate)."""
    return [
        lambda: tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True),
        lambda: tg.tensor(2.0, dtype=tg.float64),
        lambda: tg.zeros(0, 3),
        lambda: tg.tensor([float("nan"), 1.0]),
    ]


def _patterns(x, bad):
    return [
        ((bad,), {}),
        ((bad, bad), {}),
        ((x, bad), {}),
        ((bad, x), {}),
        (([x, bad],), {}),
        ((x, x, bad), {}),
        ((x,), {"dim": bad}),
        ((x,), {"dtype": bad}),
        ((bad,), {"requires_grad": True}),
        ((x, bad), {"keepdim": bad}),
    ]


def _method_patterns(bad):
    return [
        ((bad,), {}),
        ((bad, bad), {}),
        ((0, bad), {}),
        ((), {"dim": bad}),
        ((bad,), {"keepdim": bad}),
    ]


def _calls(group, tg, np):
    bads = _bad_values(tg, np)
    if group == "functions":
        from tapegrad import testing

        names = [n for n in getattr(tg, "__all__", dir(tg)) if not n.startswith("_")]
        targets = [(f"tg.{n}", getattr(tg, n)) for n in names]
        targets += [(f"testing.{n}", getattr(testing, n)) for n in testing.__all__]
        for label, fn in targets:
            if not callable(fn) or (
                isinstance(fn, type) and issubclass(fn, BaseException)
            ):
                continue
            yield f"{label}()", lambda fn=fn: fn()
            for bad in bads:
                x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
                for args, kwargs in _patterns(x, bad):
                    yield (
                        f"{label}(*{_describe(args)}, **{_describe(kwargs)})",
                        lambda fn=fn, a=args, k=kwargs: fn(*a, **k),
                    )
    elif group == "methods":
        names = [n for n in dir(tg.Tensor) if not n.startswith("_")]
        for name, make, bad in itertools.product(names, _subjects(tg), bads):
            for args, kwargs in _method_patterns(bad):

                def call(name=name, make=make, a=args, k=kwargs):
                    method = getattr(make(), name)
                    return method(*a, **k) if callable(method) else None

                yield f"x.{name}(*{_describe(args)}, **{_describe(kwargs)})", call
            yield (
                f"x.{name}()",
                lambda n=name, m=make: (
                    getattr(m(), n)() if callable(getattr(m(), n)) else None
                ),
            )
    elif group == "operators":
        dunders = [
            "__add__",
            "__radd__",
            "__sub__",
            "__rsub__",
            "__mul__",
            "__rmul__",
            "__truediv__",
            "__rtruediv__",
            "__pow__",
            "__rpow__",
            "__matmul__",
            "__rmatmul__",
            "__lt__",
            "__le__",
            "__gt__",
            "__ge__",
            "__eq__",
            "__ne__",
            "__getitem__",
            "__setitem__",
            "__array__",
            "__bool__",
            "__float__",
            "__len__",
            "__iter__",
            "__contains__",
            "__index__",
        ]
        indices = bads + [
            (0, 0, 0),
            (None, None, 5),
            (Ellipsis, Ellipsis),
            [[0, 1], [2]],
            ([0], [1]),
            (slice(None), [0, 1], [1, 0]),
            [-3],
            [2**62],
            (slice(None, None, -(2**63)),),
            1.0,
            [1.5],
            np.array([[True]]),
        ]
        for name, make, bad in itertools.product(dunders, _subjects(tg), indices):
            yield (
                f"x.{name}({_describe(bad)})",
                lambda n=name, m=make, b=bad: (
                    getattr(m(), n)(b) if hasattr(m(), n) else None
                ),
            )
            yield (
                f"x.{name}({_describe(bad)}, {_describe(bad)})",
                lambda n=name, m=make, b=bad: (
                    getattr(m(), n)(b, b) if hasattr(m(), n) else None
                ),
            )
    elif group == "attributes":
        for name, make, bad in itertools.product(
            ["grad", "requires_grad", "shape", "dtype", "data", "T", "is_leaf"],
            _subjects(tg),
            bads,
        ):
            yield (
                f"x.{name} = {_describe(bad)}",
                lambda n=name, m=make, b=bad: setattr(m(), n, b),
            )
        for bad in bads:
            yield f"tg.tensor({_describe(bad)})", lambda b=bad: tg.tensor(b)
            yield f"tg.tensor([{_describe(bad)}])", lambda b=bad: tg.tensor([b])
            yield (
                f"tg.tensor([1.0], dtype={_describe(bad)})",
                lambda b=bad: tg.tensor([1.0], dtype=b),
            )
            yield (
                f"y.backward({_describe(bad)})",
                lambda b=bad: (tg.ones(2, requires_grad=True) * 2.0).backward(b),
            )
            yield (
                f"tg.grad(y, {_describe(bad)})",
                lambda b=bad: tg.grad((tg.ones(2, requires_grad=True) * 2.0).sum(), b),
            )
            yield (
                f"tg.grad(y, [x], grad_outputs={_describe(bad)})",
                lambda b=bad: _grad_with(tg, b),
            )
            yield (
                f"tg.where({_describe(bad)}, x, x)",
                lambda b=bad: tg.where(b, tg.ones(3), tg.ones(3)),
            )


def _grad_with(tg, bad):
    x = tg.ones(2, requires_grad=True)
    return tg.grad(x * 2.0, [x], grad_outputs=bad)


def _run(group):
    import numpy as np
    import tapegrad as tg

    calls, escaped = 0, []
    for label, call in _calls(group, tg, np):
        os.write(2, f"CALL {label[:300]}\n".encode(errors="replace"))
        calls += 1
        try:
            call()
        except Exception:  # noqa: BLE001, S110 - a typed error is the expected outcome
            pass
        except BaseException as error:  # noqa: BLE001 - the point of the test
            escaped.append(
                f"{label[:300]}: {type(error).__module__}."
                f"{type(error).__name__}: {str(error)[:200]}"
            )
        finally:
            tg.set_grad_enabled(True)
    print(json.dumps({"calls": calls, "escaped": escaped}))


if __name__ == "__main__":
    _run(sys.argv[1])
