"""The memory bill: what backprop keeps between the forward and the backward pass.

The accounting must be exact: for a Linear+ReLU MLP the bytes saved equal a formula
worked out from the shapes and from what each rule needs (below), the bill's rows, its
totals by op and by module, and the live counter ``tapegrad.memory.saved_bytes()`` all
agree, and a ``backward()`` without ``retain_graph`` gives every byte back.
"""

from __future__ import annotations

import argparse
import doctest
import gc
import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest
import tapegrad as tg
from tapegrad import memory, nn
from tapegrad.memory import MemoryBill, SavedRow

BATCH = 7
SIZES = (5, 6, 4, 3)  # in -> hidden -> hidden -> out
DTYPES = [(tg.float32, "float32", 4), (tg.float64, "float64", 8)]


def make_mlp(dtype) -> nn.Sequential:
    d0, d1, d2, d3 = SIZES
    tg.manual_seed(0)
    return nn.Sequential(
        nn.Linear(d0, d1, dtype=dtype),
        nn.ReLU(),
        nn.Linear(d1, d2, dtype=dtype),
        nn.ReLU(),
        nn.Linear(d2, d3, dtype=dtype),
    )


def mlp_loss(dtype, input_requires_grad=False, batch=BATCH):
    """The MLP, its input and its MSE loss (nn.MSELoss labels its nodes ``MSELoss``)."""
    model = make_mlp(dtype)
    x = tg.randn(batch, SIZES[0], dtype=dtype).requires_grad_(input_requires_grad)
    target = tg.zeros(batch, SIZES[-1], dtype=dtype)
    return model, x, nn.MSELoss()(model(x), target)


def expected_saved(dtype_name, itemsize, input_requires_grad=False, batch=BATCH):
    """Every tensor the MLP's graph keeps, from the shapes, as
    ``(op, module) -> [(why, shape, dtype, bytes), ...]`` (one list per node).

    - Linear is ``x @ W.T + b``. The matmul keeps ``x`` ("input 0") because ``W.T``
      requires grad (dW needs x) and ``W.T`` ("input 1") only when ``x`` requires grad
      (dx needs W): the first layer's input, the data, needs none. It is one
      node, ``LinearBackward`` (x·Wᵀ + b recorded as one op).
    - ReLU keeps its input (the mask ``x > 0``).
    - MSELoss: ``diff = out - target`` keeps nothing; ``diff * diff`` keeps both of its
      operands, the same tensor counted twice; ``mean`` is ``sum / n``: the sum keeps
      nothing, the division keeps its divisor ``n``, a 0-d tensor.
    """
    d0, d1, d2, d3 = SIZES
    dt = dtype_name

    def kept(why, *shape):
        n = 1
        for s in shape:
            n *= s
        return (why, shape, dt, n * itemsize)

    first = [kept("input 0", batch, d0)]
    if input_requires_grad:
        first.append(kept("input 1", d1, d0))
    return {
        ("LinearBackward", "Sequential.0"): first,
        ("ReluBackward", "Sequential.1"): [kept("input 0", batch, d1)],
        ("LinearBackward", "Sequential.2"): [
            kept("input 0", batch, d1),
            kept("input 1", d2, d1),
        ],
        ("ReluBackward", "Sequential.3"): [kept("input 0", batch, d2)],
        ("LinearBackward", "Sequential.4"): [
            kept("input 0", batch, d2),
            kept("input 1", d3, d2),
        ],
        ("SubBackward", "MSELoss"): [],
        ("MulBackward", "MSELoss"): [
            kept("input 0", batch, d3),
            kept("input 1", batch, d3),
        ],
        ("SumBackward", "MSELoss"): [],
        ("DivBackward", "MSELoss"): [kept("input 1")],
    }


def total(saved: dict) -> int:
    return sum(b for items in saved.values() for *_, b in items)


def grouped(saved: dict, key_index: int) -> dict:
    out: dict = Counter()
    for key, items in saved.items():
        out[key[key_index]] += sum(b for *_, b in items)
    return dict(out)


@pytest.fixture
def baseline() -> int:
    """Saved bytes held by graphs outside the test (normally 0), after collection."""
    gc.collect()
    return memory.saved_bytes()


# ---- the bill is exact


@pytest.mark.parametrize("input_requires_grad", [False, True])
@pytest.mark.parametrize(("dtype", "name", "itemsize"), DTYPES)
def test_mlp_bill_equals_the_formula_from_the_shapes(
    baseline, dtype, name, itemsize, input_requires_grad
):
    _, _, loss = mlp_loss(dtype, input_requires_grad)
    want = expected_saved(name, itemsize, input_requires_grad)
    bill = tg.memory_bill(loss)

    assert isinstance(bill, MemoryBill)
    assert all(isinstance(r, SavedRow) for r in bill.rows)
    got = Counter((r.op, r.module, r.saved) for r in bill.rows)
    assert got == Counter((op, mod, tuple(items)) for (op, mod), items in want.items())
    for row in bill.rows:
        assert row.bytes == sum(b for *_, b in row.saved)

    assert bill.total_bytes == total(want)
    assert bill.by_op == grouped(want, 0)
    assert bill.by_module == grouped(want, 1)
    # The live counter agrees with the bill: this graph is all that was recorded.
    assert memory.saved_bytes() - baseline == total(want)


def test_the_formula_in_closed_form():
    """The same total written as a formula over the shapes, float32, data input."""
    d0, d1, d2, d3 = SIZES
    b, s = BATCH, 4
    formula = s * (
        b * d0  # layer 0: x, for dW0
        + b * d1  # ReLU 1: its input
        + b * d1
        + d1 * d2  # layer 2: its input (dW2) and W2 (d input)
        + b * d2  # ReLU 3
        + b * d2
        + d2 * d3  # layer 4
        + 2 * b * d3  # diff * diff keeps diff twice
        + 1  # mean = sum / n keeps n
    )
    _, _, loss = mlp_loss(tg.float32)
    assert tg.memory_bill(loss).total_bytes == formula == 1016


def test_bytes_scale_with_the_batch_and_the_dtype():
    _, _, small = mlp_loss(tg.float32, batch=4)
    _, _, large = mlp_loss(tg.float32, batch=8)
    _, _, wide = mlp_loss(tg.float64, batch=8)
    d0, d1, d2, d3 = SIZES
    per_sample = 4 * (d0 + 2 * d1 + 2 * d2 + 2 * d3)
    assert tg.memory_bill(large).total_bytes - tg.memory_bill(small).total_bytes == (
        4 * per_sample
    )
    assert tg.memory_bill(wide).total_bytes == 2 * tg.memory_bill(large).total_bytes


@pytest.mark.parametrize(
    ("build", "op", "why"),
    [
        (lambda a, b, c: a.exp(), "ExpBackward", ("result",)),
        (lambda a, b, c: a.tanh(), "TanhBackward", ("result",)),
        (lambda a, b, c: a.relu(), "ReluBackward", ("input 0",)),
        (lambda a, b, c: a.log(), "LogBackward", ("input 0",)),
        (lambda a, b, c: -a, "NegBackward", ()),
        (lambda a, b, c: a + b, "AddBackward", ()),
        (lambda a, b, c: a * b, "MulBackward", ("input 0", "input 1")),
        (lambda a, b, c: a * c, "MulBackward", ("input 1",)),  # c needs no grad
        (lambda a, b, c: c * a, "MulBackward", ("input 0",)),
        (lambda a, b, c: c @ b, "MmBackward", ("input 0",)),  # dB = cᵀ grad
        (lambda a, b, c: a @ c, "MmBackward", ("input 1",)),  # dA = grad cᵀ
    ],
)
def test_each_rule_keeps_only_what_its_vjp_needs(build, op, why):
    a = (tg.rand(3, 3, dtype=tg.float64) + 0.5).requires_grad_()
    b = tg.rand(3, 3, dtype=tg.float64).requires_grad_()
    c = tg.rand(3, 3, dtype=tg.float64)
    (row,) = tg.memory_bill(build(a, b, c)).rows
    assert row.op == op and row.module is None
    assert tuple(w for w, *_ in row.saved) == why
    assert all(s == (3, 3) and d == "float64" and n == 72 for _, s, d, n in row.saved)


def test_nested_modules_are_labelled_with_their_path():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.body(x))

    out = Net()(tg.randn(5, 3))
    bill = tg.memory_bill(out)
    assert bill.by_module == {
        "Net.body.0": 5 * 3 * 4,
        "Net.body.1": 5 * 4 * 4,
        "Net.head": (5 * 4 + 4 * 2) * 4,
    }
    # Outside any module a node has no label; the totals call that "(no module)".
    bill = tg.memory_bill(out.exp())
    assert bill.rows[0].module is None
    assert bill.by_module["(no module)"] == 5 * 2 * 4


def test_a_graph_shared_by_several_outputs_is_counted_once():
    _, _, loss = mlp_loss(tg.float32)
    other = loss + 1.0  # an add keeps nothing
    assert tg.memory_bill([loss, other]).total_bytes == tg.memory_bill(loss).total_bytes
    assert len(tg.memory_bill([loss, other]).rows) == len(tg.memory_bill(loss).rows) + 1


def test_nothing_is_billed_without_a_graph(baseline):
    leaf = tg.randn(4, 4).requires_grad_()
    assert tg.memory_bill(leaf).rows == ()
    assert tg.memory_bill(tg.randn(4)).total_bytes == 0
    model = make_mlp(tg.float32)
    with tg.no_grad():
        out = model(tg.randn(BATCH, SIZES[0]))
    bill = tg.memory_bill(out)
    assert bill.rows == () and bill.total_bytes == 0 and bill.by_op == {}
    assert memory.saved_bytes() == baseline


def test_to_dict_is_plain_json_data():
    _, _, loss = mlp_loss(tg.float32)
    bill = tg.memory_bill(loss)
    data = json.loads(json.dumps(bill.to_dict()))
    assert data["total_bytes"] == bill.total_bytes
    assert data["by_op"] == bill.by_op and data["by_module"] == bill.by_module
    assert len(data["rows"]) == len(bill.rows) == 9
    for row, entry in zip(bill.rows, data["rows"]):
        assert entry["op"] == row.op and entry["module"] == row.module
        assert entry["bytes"] == row.bytes
        assert entry["saved"] == [
            {"why": w, "shape": list(s), "dtype": d, "bytes": b}
            for w, s, d, b in row.saved
        ]


def test_printing_the_bill_shows_a_table_and_the_totals(capsys):
    _, _, loss = mlp_loss(tg.float32)
    bill = tg.memory_bill(loss)
    print(bill)
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == ["op", "module", "kept", "for", "backward", "bytes"]
    assert set(lines[1]) == {"-"}
    mm2 = next(
        line for line in lines if "Sequential.2" in line and "LinearBackward" in line
    )
    assert "input 0 (7, 6) float32, input 1 (4, 6) float32" in mm2
    assert mm2.split()[-2:] == [str(4 * (7 * 6 + 6 * 4)), "B"]
    assert "saved for backward: 1016 B in 9 nodes" in text
    by_op = text.index("  by op:")
    by_module = text.index("  by module:")
    assert by_op < by_module
    assert text.index("MSELoss", by_module) > by_module
    assert str(bill) == text.rstrip("\n")
    assert bill.summary() in text and "kept for backward" not in bill.summary()


def test_the_summary_uses_readable_units():
    x = tg.randn(256, 1024).requires_grad_()  # 1 MiB of float32
    summary = tg.memory_bill(x.relu()).summary()
    assert summary.splitlines()[0] == "saved for backward: 1.0 MiB in 1 nodes"
    assert "ReluBackward" in summary and "1.0 MiB" in summary.splitlines()[2]
    y = tg.randn(3, 128).requires_grad_()  # 1.5 KiB
    assert "1.5 KiB" in tg.memory_bill(y.relu()).summary()


# ---- the live counter


def test_backward_gives_every_saved_byte_back(baseline):
    model, _, loss = mlp_loss(tg.float32)
    held = tg.memory_bill(loss).total_bytes
    assert held == 1016 and memory.saved_bytes() == baseline + held
    loss.backward()
    assert memory.saved_bytes() == baseline
    # The swept nodes stay in the graph, keeping nothing.
    bill = tg.memory_bill(loss)
    assert len(bill.rows) == 9 and bill.total_bytes == 0
    assert all(row.saved == () for row in bill.rows)
    assert all(p.grad is not None for p in model.parameters())


def test_retain_graph_keeps_the_bytes_until_the_graph_goes(baseline):
    _, _, loss = mlp_loss(tg.float64, input_requires_grad=True)
    held = tg.memory_bill(loss).total_bytes
    loss.backward(retain_graph=True)
    assert memory.saved_bytes() == baseline + held
    assert tg.memory_bill(loss).total_bytes == held
    loss.backward()  # the second sweep, without retain_graph, frees them
    assert memory.saved_bytes() == baseline

    _, _, loss = mlp_loss(tg.float64)
    loss.backward(retain_graph=True)
    assert memory.saved_bytes() == baseline + tg.memory_bill(loss).total_bytes
    del loss  # dropping the graph frees them too
    assert memory.saved_bytes() == baseline


def test_a_graph_dropped_without_backward_gives_its_bytes_back(baseline):
    model, x, loss = mlp_loss(tg.float32)
    assert memory.saved_bytes() > baseline
    del loss
    assert memory.saved_bytes() == baseline
    hidden = model[0](x)  # a graph kept alive by a partial result
    assert memory.saved_bytes() == baseline + BATCH * SIZES[0] * 4
    del hidden
    assert memory.saved_bytes() == baseline


def test_tg_grad_frees_like_backward(baseline):
    model, _, loss = mlp_loss(tg.float32)
    tg.grad(loss, list(model.parameters()))
    assert memory.saved_bytes() == baseline


def test_peak_tracks_the_largest_total_since_reset(baseline):
    memory.reset_peak()
    assert memory.peak_saved_bytes() == baseline
    _, _, loss = mlp_loss(tg.float32)
    held = tg.memory_bill(loss).total_bytes
    assert memory.peak_saved_bytes() == baseline + held
    loss.backward()
    # backward records nothing (no create_graph): the peak is the forward's.
    assert memory.saved_bytes() == baseline
    assert memory.peak_saved_bytes() == baseline + held
    memory.reset_peak()
    assert memory.peak_saved_bytes() == baseline
    _, _, small = mlp_loss(tg.float32, batch=2)
    assert memory.peak_saved_bytes() == baseline + tg.memory_bill(small).total_bytes
    assert tg.memory_bill(small).total_bytes < held
    _, _, again = mlp_loss(tg.float32)  # both graphs alive at once
    both = tg.memory_bill(small).total_bytes + tg.memory_bill(again).total_bytes
    assert memory.peak_saved_bytes() == baseline + both


def test_reset_peak_starts_from_what_is_held_now(baseline):
    _, _, loss = mlp_loss(tg.float32)
    held = tg.memory_bill(loss).total_bytes
    memory.reset_peak()
    assert memory.peak_saved_bytes() == memory.saved_bytes() == baseline + held
    del loss
    assert memory.peak_saved_bytes() == baseline + held  # the peak does not fall
    assert memory.saved_bytes() == baseline


def test_the_public_names():
    assert tg.memory_bill is memory.memory_bill
    assert set(memory.__all__) == {
        "MemoryBill",
        "memory_bill",
        "saved_bytes",
        "peak_saved_bytes",
        "reset_peak",
    }


def test_the_memory_page_examples_run():
    page = Path(__file__).resolve().parent.parent / "docs" / "memory.md"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags)
    assert result.attempted > 30 and result.failed == 0


# ---- the benchmark (benches/memory.py) measures what it says


def _memory_bench():
    path = Path(__file__).resolve().parent.parent / "benches" / "memory.py"
    spec = importlib.util.spec_from_file_location("memory_bench", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_peaks_follow_the_formula():
    bench = _memory_bench()
    args = argparse.Namespace(batch=4, width=16, threads=1, rounds=1)
    row = bench.measure_depth("tapegrad", 8, args)
    block = (2 * 4 * 16 + 16 * 16) * 4  # input, weight, ReLU input; float32
    loss = 2 * 4 * 16 * 4 + 4  # h * h keeps h twice; mean keeps n
    first = block - 16 * 16 * 4  # the data input needs no weight kept
    assert row["peak_plain_bytes"] == first + 7 * block + loss
    # 3 segments of 3, 3, 2 blocks: the peak is segment 1's re-run, with the kept
    # inputs of segments 0 and 1 (the loss was freed by then).
    assert row["sizes"] == [3, 3, 2]
    assert row["peak_sqrt_bytes"] == 2 * 4 * 16 * 4 + 3 * block
    assert row["predicted_peak_bytes"] == row["plan_measured_peak_bytes"]
    assert row["predicted_peak_bytes"] == row["peak_sqrt_bytes"]
    assert row["grad_error"] == 0.0 and row["overhead"] > 0


def test_the_benchmark_counts_pytorch_saved_bytes_the_same_way():
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    try:
        _check_pytorch_counting(torch, _memory_bench())
    finally:
        torch.set_num_threads(threads)  # the bench pins it


def _check_pytorch_counting(torch, bench):
    args = argparse.Namespace(batch=4, width=16, threads=1, rounds=1)
    ours = bench.measure_depth("tapegrad", 8, args)
    theirs = bench.measure_depth("torch", 8, args)
    assert theirs["loss"] == pytest.approx(ours["loss"], rel=1e-5)
    # PyTorch's mean keeps no divisor: 4 bytes less, all else equal.
    assert theirs["peak_plain_bytes"] == ours["peak_plain_bytes"] - 4
    assert theirs["sizes"] == [2, 2, 4]  # PyTorch's split: the rest goes last
    # Tensors re-computed in backward are counted too: a checkpointed function's peak
    # is its kept input plus its graph, re-run (but for the last ReLU's saved result:
    # that is the function's output, which PyTorch does not re-compute).
    model = bench.Torch(3, 4, 16, 1)
    x = torch.randn(4, 16, requires_grad=True)
    bench._Live.now = bench._Live.peak = 0
    with model._counting():
        y = torch.utils.checkpoint.checkpoint(model.model, x, use_reentrant=False)
        assert bench._Live.now == 4 * 16 * 4  # only the input is kept
        y.sum().backward()
    del y
    gc.collect()
    assert bench._Live.peak == 4 * 16 * 4 + 3 * (2 * 4 * 16 + 16 * 16) * 4 - 4 * 16 * 4
    assert bench._Live.now == 0
