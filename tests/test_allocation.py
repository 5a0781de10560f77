"""A failed allocation raises ``MemoryError`` naming the op and the bytes (issue 13).

Each case runs in a child process whose address space is capped with
``resource.setrlimit(RLIMIT_AS)`` a little above what it already uses, so that the
requests below cannot be satisfied whatever memory the machine has. Before fallible
allocation, each of them killed the process with ``memory allocation of N bytes failed``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="RLIMIT_AS caps allocations on Linux only",
)

# The child caps its address space at what it uses now plus HEADROOM, then runs one case.
HEADROOM = 120_000_000

CHILD = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import tapegrad as tg

    big = np.ones(50_000_000, dtype=np.float32) if {needs_big} else None  # 200 MB
    x = tg.tensor(big) if {needs_big} else None
    with open("/proc/self/status") as f:
        vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + {headroom}, resource.RLIM_INFINITY))
    try:
        {code}
    except MemoryError as error:
        print(type(error).__name__, "|", error)
    else:
        print("no error")
    """
)

CASES = {
    # code, whether it needs the 200 MB operand x, the message expected
    "ones": (
        "tg.ones(600_000_000)",
        False,
        r"full: could not allocate 2400000000 bytes",
    ),
    "zeros_4tb": (
        "tg.zeros(10**6, 10**6)",
        False,
        r"could not allocate 4000000000000 bytes",
    ),
    "full_f64": (
        "tg.full((400_000_000,), 2.0, dtype=tg.float64)",
        False,
        r"full: .*bytes",
    ),
    "add": ("x + 1.0", True, r"add: could not allocate 200000000 bytes"),
    "exp": ("x.exp()", True, r"exp: could not allocate 200000000 bytes"),
    "mul_tensors": ("x * x", True, r"mul: could not allocate 200000000 bytes"),
    "broadcast": ("x.reshape(1, -1) + tg.ones(2, 1)", True, r"add: could not allocate"),
    "matmul": (
        "x.reshape(50_000, 1_000) @ tg.ones(1_000, 1_000)",
        True,
        r"matmul: .* 200000000 bytes",
    ),
    "sum_strided": ("x.reshape(2, -1).T.sum(1)", True, r"sum: could not allocate"),
    "cat": ("tg.cat([x, x])", True, r"cat: could not allocate 400000000 bytes"),
    "clone_strided": ("x.reshape(2, -1).T.clone()", True, r"clone: could not allocate"),
    "tensor_copy": (
        "tg.tensor(big)",
        True,
        r"tensor: could not allocate 200000000 bytes",
    ),
    # numpy() shares memory (no allocation); a copy out allocates
    "numpy": ("x.__array__(copy=True)", True, r"numpy: could not allocate 200000000 bytes"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_failed_allocation_raises_memory_error(name):
    code, needs_big, message = CASES[name]
    program = CHILD.format(code=code, needs_big=needs_big, headroom=HEADROOM)
    child = subprocess.run(
        [sys.executable, "-c", program],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    kind, _, text = child.stdout.strip().partition(" | ")
    assert kind == "OutOfMemoryError", child.stdout
    assert re.search(message, text), text


def test_out_of_memory_error_is_a_memory_error():
    import tapegrad as tg

    assert issubclass(tg.OutOfMemoryError, MemoryError)
    assert issubclass(tg.OutOfMemoryError, tg.TapegradError)
    assert issubclass(tg.InternalError, RuntimeError)
