"""No deadlock when Python code that the engine calls (a custom Function's backward or JVP
rule, a checkpoint segment) looks at the graph it is part of, from the same thread or
another. Each reproducer runs in a child process with a timeout, so a hang fails the test
instead of hanging the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import tapegrad as tg

# Children import tapegrad from where this process did (the source tree in an editable
# install, site-packages in CI).
PYTHON_DIR = str(Path(tg.__file__).resolve().parent.parent)
TIMEOUT = 60  # seconds: generous for a loaded 2-core machine; a deadlock never ends


def run_child(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_function_backward_may_call_memory_bill_on_its_own_output():
    out = run_child(
        """
        import tapegrad as tg

        seen = {}

        class Square(tg.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                seen["bill"] = tg.memory_bill(seen["y"])
                return 2 * x * grad

        x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = Square.apply(x)
        seen["y"] = y
        y.sum().backward(retain_graph=True)
        print(x.grad.tolist(), [r.op for r in seen["bill"].rows])
        """
    )
    assert out.startswith("[2.0, 4.0, 6.0]")
    assert "SquareBackward" in out


def test_memory_bill_from_another_thread_while_a_backward_runs_python():
    # Thread A backpropagates through a Function whose backward releases the GIL (sleep);
    # meanwhile thread B asks for the memory bill of the same graph, many times.
    out = run_child(
        """
        import threading, time
        import tapegrad as tg

        inside = threading.Event()

        class Slow(tg.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 3

            @staticmethod
            def backward(ctx, grad):
                inside.set()
                time.sleep(0.5)  # releases the GIL with the node's rule running
                return grad * 3

        x = tg.tensor([1.0, 2.0], requires_grad=True)
        y = Slow.apply(x).sum()
        bills = []

        def biller():
            inside.wait(30)
            for _ in range(20):
                bills.append(len(tg.memory_bill(y).rows))

        thread = threading.Thread(target=biller)
        thread.start()
        y.backward(retain_graph=True)
        thread.join(30)
        print(x.grad.tolist(), thread.is_alive(), len(bills))
        """
    )
    assert out.split() == ["[3.0,", "3.0]", "False", "20"]


def test_a_checkpoint_segment_may_call_memory_bill_while_it_is_recomputed():
    out = run_child(
        """
        import tapegrad as tg

        seen = {"calls": 0}

        def segment(h):
            seen["calls"] += 1
            if "loss" in seen:  # the recomputation, inside backward
                seen["rows"] = len(tg.memory_bill(seen["loss"]).rows)
            return (h * h).exp()

        x = tg.tensor([0.1, 0.2], requires_grad=True)
        loss = tg.checkpoint(segment, x * 2).sum()
        seen["loss"] = loss
        loss.backward(retain_graph=True)
        print(seen["calls"], seen["rows"] > 0)
        """
    )
    assert out.split() == ["2", "True"]


def test_a_function_jvp_rule_may_call_memory_bill_on_the_graph_it_extends():
    out = run_child(
        """
        import tapegrad as tg
        from tapegrad import func

        seen = {}

        class Double(tg.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, grad):
                return grad * 2

            @staticmethod
            def jvp(ctx, tangent):
                seen["rows"] = len(tg.memory_bill(seen["h"]).rows)
                return tangent * 2

        x = tg.tensor([1.0, 2.0], requires_grad=True)

        def f(a):
            h = a * a
            seen["h"] = h
            return Double.apply(h)

        out, tangent = func.jvp(f, (x,), (tg.ones(2),))
        print(tangent.tolist(), seen["rows"] >= 0)
        """
    )
    assert out.split() == ["[4.0,", "8.0]", "True"]
