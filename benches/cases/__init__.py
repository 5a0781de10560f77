"""The benchmark cases: which frameworks and thread counts each one runs with.

This module is plain data so that ``compare.py`` can plan the runs without importing
NumPy, torch or tapegrad (each (case, framework) pair runs in a child process of its own,
through ``_runner.py``, which imports the case module ``cases.<name>``).
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_FRAMEWORKS = ("tapegrad", "numpy", "torch")


@dataclass(frozen=True)
class CaseInfo:
    """What ``compare.py`` needs to know about a case before running it."""

    summary: str
    frameworks: tuple[str, ...] = ALL_FRAMEWORKS
    # None: the run's --threads; otherwise the thread counts to run each framework at.
    threads: tuple[int, ...] | None = None


CASES: dict[str, CaseInfo] = {
    "op_overhead": CaseInfo(
        "µs per op from Python: add, mul, relu on (1,), (64,), (32, 32); matmul 8×8 and "
        "32×32; with grad (inputs require grad, a node is recorded) and without"
    ),
    "tape_overhead": CaseInfo(
        "µs per forward + backward of tiny graphs: a 3-op graph on 4 elements, and "
        "10 layers of tanh(h @ W) at 8×16 (NumPy: hand-written backward)"
    ),
    "matmul": CaseInfo(
        "GFLOP/s of X·W, Xᵀ·dY and dY·Wᵀ (transposes as strided views) on squares "
        "128-1024 and MLP shapes (batch, in, out), float32 and float64"
    ),
    "elementwise": CaseInfo(
        "GB/s of add, exp and relu's backward (tg.grad / torch.autograd.grad of relu) "
        "from 2^10 to 2^22 float32 elements"
    ),
    "inplace": CaseInfo(
        "GB/s of add_, mul_, zero_ and copy_ on 2^10 to 2^22 float32 elements (NumPy: "
        "out= and copyto); nothing recorded, so no allocation"
    ),
    "mlp_step": CaseInfo(
        "the headline: one SGD training step (forward, cross-entropy, backward, update) "
        "of four MLPs, with its forward, backward and optimiser parts"
    ),
    "fd_vs_backprop": CaseInfo(
        "a full gradient by backprop vs by central finite differences for tanh MLPs of "
        "10^2 to 10^6 parameters (finite differences measured when small, extrapolated "
        "from the forward time when large)"
    ),
    "cnn_step": CaseInfo(
        "one SGD step of a LeNet-style CNN (conv 3×3 32, ReLU, max-pool 2, conv 3×3 64, "
        "ReLU, max-pool 2, linear 10) on 1×28×28 inputs, batch 64",
        frameworks=("tapegrad", "torch"),
    ),
    "indexing": CaseInfo(
        "selections of 2^20 float32 elements: gather along rows, x[rows, cols], "
        "boolean-mask selection, and gather's backward (a scatter-add)"
    ),
    "selection": CaseInfo(
        "sort and top-100 of 2^20 float32 (values and indices), argmax over the rows of a "
        "(4096, 1024) float32, multinomial: 16 draws from each of 1,000 rows of 10,000"
    ),
    "thread_scaling": CaseInfo(
        "the 1024² float32 matmul and the 784-1024-1024-10 MLP step at 1 and at 2 threads",
        threads=(1, 2),
    ),
}
