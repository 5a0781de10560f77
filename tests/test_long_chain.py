"""A 1,000,000-op chain: backward and drop without recursion.

Each scenario runs in a child process with the default 8 MiB main-thread stack, so
that a stack overflow (SIGSEGV) fails the test instead of killing pytest.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

N = 1_000_000

BACKWARD = f"""
import tapegrad as tg
x = tg.tensor(1.0, dtype=tg.float64, requires_grad=True)
y = x
for _ in range({N}):
    y = y * 1.0000001
expected = 1.0
for _ in range({N}):
    expected *= 1.0000001
assert abs(y.item() - expected) <= 1e-9 * expected, (y.item(), expected)
y.backward()
got = x.grad.item()
assert abs(got - expected) <= 1e-9 * expected, (got, expected)
del y
print("ok", got)
"""

DROP_UNUSED = f"""
import tapegrad as tg
x = tg.tensor([1.0, 2.0], requires_grad=True)
y = x
for _ in range({N}):
    y = y + 1.0
assert y.tolist() == [1.0 + {N}, 2.0 + {N}], y.tolist()
del y  # never backpropagated: the whole chain is freed here
print("ok")
"""

GRAD_THEN_DROP = f"""
import tapegrad as tg
x = tg.tensor(0.5, dtype=tg.float64, requires_grad=True)
y = x
for _ in range({N} // 2):
    y = y - 0.000001
(g,) = tg.grad(y, [x], retain_graph=True)
assert g.item() == 1.0, g.item()
(g,) = tg.grad(y, [x])
assert g.item() == 1.0, g.item()
del y, g
print("ok")
"""


@pytest.mark.parametrize(
    "script",
    [BACKWARD, DROP_UNUSED, GRAD_THEN_DROP],
    ids=["backward-mul-chain", "drop-without-backward", "grad-retained-then-drop"],
)
def test_million_op_chain(script):
    child = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", textwrap.dedent(script)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, (
        f"exit code {child.returncode} (negative = killed by signal)\n"
        f"{child.stdout[-2000:]}\n{child.stderr[-3000:]}"
    )
    assert child.stdout.startswith("ok")
