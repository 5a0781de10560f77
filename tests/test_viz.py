"""tapegrad.viz: the graph as DOT text (exact nodes, edges and bytes) and as a picture."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tapegrad as tg
from tapegrad import nn

NODE = re.compile(r"^  (n\d+|g\d+) \[label=\"([^\"]*)\"", re.MULTILINE)
LEAF = re.compile(r"^  (l\d+) \[label=\"([^\"]*)\"", re.MULTILINE)
EDGE = re.compile(r"^  (\w+) -> (\w+)", re.MULTILINE)
SAVED = re.compile(r"saved ([\d,]+) B")


def labels(dot: str, pattern: re.Pattern = NODE) -> dict[str, list[str]]:
    return {name: text.split("\\n") for name, text in pattern.findall(dot)}


def edges(dot: str) -> set[tuple[str, str]]:
    """Edges as (first label line of the source, of the target)."""
    first = {k: v[0] for k, v in {**labels(dot), **labels(dot, LEAF)}.items()}
    return {(first[a], first[b]) for a, b in EDGE.findall(dot)}


def saved_total(dot: str) -> int:
    return sum(int(n.replace(",", "")) for n in SAVED.findall(dot))


def mlp_loss(batch: int = 8):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 4))
    x = tg.randn(batch, 3)
    loss = nn.CrossEntropyLoss()(model(x), np.arange(batch) % 4)
    return model, loss


def test_one_box_per_node_and_one_ellipse_per_leaf():
    model, loss = mlp_loss()
    dot = tg.viz.to_dot(loss, params=dict(model.named_parameters()))
    bill = tg.memory_bill(loss)
    nodes = labels(dot)
    assert len(nodes) == len(bill.rows) == 6
    assert sorted(v[0] for v in nodes.values()) == sorted(r.op for r in bill.rows)
    leaves = labels(dot, LEAF)
    assert sorted(v[0] for v in leaves.values()) == sorted(
        name for name, _ in model.named_parameters()
    )
    assert {tuple(v) for v in leaves.values()} >= {
        ("0.weight", "(16, 3) float32"),
        ("2.bias", "(4,) float32"),
    }


def test_byte_labels_sum_to_the_memory_bill():
    model, loss = mlp_loss(batch=64)
    dot = tg.viz.to_dot(loss, params=dict(model.named_parameters()))
    assert saved_total(dot) == tg.memory_bill(loss).total_bytes > 0
    # Node by node: (op, module, bytes) are the memory bill's rows.
    per_node = sorted(
        (v[0], v[1], int(SAVED.search(v[-1])[1].replace(",", "")))
        for v in labels(dot).values()
    )
    assert per_node == sorted(
        (r.op, r.module, r.bytes) for r in tg.memory_bill(loss).rows
    )
    # The heaviest node is the reddest; one that keeps nothing is white.
    assert 'fillcolor="0.02 0.800 1.000"' in dot
    assert 'fillcolor="0.02 0.000 1.000"' in dot


def test_edges_follow_the_backward_sweep_and_shared_inputs_are_drawn_once():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    product = a * b
    out = (product.exp() + product).sum() + (a * a).sum()
    dot = tg.viz.to_dot(out, params={"a": a, "b": b})
    names = {k: v[0] for k, v in {**labels(dot), **labels(dot, LEAF)}.items()}
    assert sorted(names.values()) == sorted(
        ["a", "b", "ExpBackward"] + ["MulBackward", "AddBackward", "SumBackward"] * 2
    )
    pairs = EDGE.findall(dot)
    assert len(pairs) == 10  # a * a uses `a` twice: one edge
    (leaf_a,) = [k for k, v in names.items() if v == "a"]
    (mul_ab,) = [n for n, leaf in pairs if names[leaf] == "b"]
    (mul_aa,) = [n for n, leaf in pairs if leaf == leaf_a and n != mul_ab]
    assert sorted(names[n] for n, target in pairs if target == mul_ab) == [
        "AddBackward",
        "ExpBackward",
    ]  # `product` feeds two nodes: one box, two edges into it
    assert [names[t] for n, t in pairs if n == mul_aa] == ["a"]
    (root,) = [k for k, v in names.items() if k not in {t for _, t in pairs}]
    assert names[root] == "AddBackward" and f"  {root} [" in dot
    assert next(line for line in dot.splitlines() if "penwidth" in line).startswith(
        f"  {root} ["
    )


def test_shapes_modules_and_outputs_are_labelled():
    model, loss = mlp_loss()
    dot = tg.viz.to_dot(loss, params=dict(model.named_parameters()))
    texts = list(labels(dot).values())
    assert ["LinearBackward", "Sequential.0", "(8, 16) float32"] == texts[-1][:3]
    assert ["TanhBackward", "Sequential.1", "(8, 16) float32"] in [t[:3] for t in texts]
    (output,) = [line for line in dot.splitlines() if "penwidth" in line]
    assert "DivBackward" in output and "() float32" in output
    bare = tg.viz.to_dot(loss, show_saved=False, show_shapes=False)
    assert (
        "saved" not in bare and "float32" not in bare and 'fillcolor="0.02' not in bare
    )
    assert sorted(v[0] for v in labels(bare, LEAF).values()) == ["input"] * 4


def test_several_outputs_and_a_node_with_two_outputs():
    class SinCos(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos().sum()

        @staticmethod
        def backward(ctx, grad_sin, grad_cos):
            (x,) = ctx.saved_tensors
            return grad_sin * x.cos() - grad_cos * x.sin()

    x = tg.tensor([0.5, 1.0, 2.0], requires_grad=True)
    s, c = SinCos.apply(x)
    dot = tg.viz.to_dot(s, c * 2.0, params={"x": x})
    (box,) = [v for v in labels(dot).values() if v[0] == "SinCosBackward"]
    assert box[1:3] == ["(3,) float32", "() float32"]  # both outputs, one box
    assert len(labels(dot)) == 2 and len(labels(dot, LEAF)) == 1
    assert sum("penwidth" in line for line in dot.splitlines()) == 2


def test_leaves_the_graph_no_longer_holds_and_leaf_outputs():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (tg.tensor([3.0, 4.0], requires_grad=True) * w).sum()  # first leaf freed
    dot = tg.viz.to_dot(y, params={"w": w})
    assert [v[0] for v in labels(dot, LEAF).values()] == ["w"]
    only = tg.viz.to_dot(w, params={"w": w})
    assert labels(only) == {} and [v[0] for v in labels(only, LEAF).values()] == ["w"]


def test_swept_nodes_keep_nothing():
    _model, loss = mlp_loss()
    loss.backward()
    dot = tg.viz.to_dot(loss)
    assert len(labels(dot)) == 6 and saved_total(dot) == 0


def test_a_long_chain_draws_without_recursion():
    x = tg.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    dot = tg.viz.to_dot(y)
    assert len(labels(dot)) == 3000 and len(EDGE.findall(dot)) == 3000


def test_large_graphs_are_summarised_by_module():
    tg.manual_seed(0)
    model = nn.Sequential(
        *[nn.Sequential(nn.Linear(4, 4), nn.Tanh()) for _ in range(3)]
    )
    loss = model(tg.randn(2, 4)).sum()
    params = dict(model.named_parameters())
    full = tg.viz.to_dot(loss, params=params)
    assert len(labels(full)) + len(labels(full, LEAF)) == 7 + 6
    by_layer = tg.viz.to_dot(loss, params=params, max_nodes=9)
    boxes = labels(by_layer)
    assert sorted(v[0] for v in boxes.values()) == [
        "(no module)",
        "Sequential.0",
        "Sequential.1",
        "Sequential.2",
    ]
    assert len(boxes) + len(labels(by_layer, LEAF)) <= 9
    assert (
        saved_total(by_layer) == saved_total(full) == tg.memory_bill(loss).total_bytes
    )
    assert ("Sequential.2", "Sequential.1") in edges(by_layer)
    coarse = tg.viz.to_dot(loss, params=params, max_nodes=3)
    assert sorted(v[0] for v in labels(coarse).values()) == [
        "(no module)",
        "Sequential",
    ]
    (leaf_group,) = labels(coarse, LEAF).values()
    assert leaf_group[0] == "6 leaves"


def test_bad_arguments():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(tg.ArgumentError, match="at least one output"):
        tg.viz.to_dot()
    with pytest.raises(TypeError, match="output 1 is a list, not a Tensor"):
        tg.viz.to_dot(x, [x])
    with pytest.raises(tg.ArgumentError, match="max_nodes must be at least 1, got 0"):
        tg.viz.to_dot(x, max_nodes=0)


@pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is not installed"
)
def test_dot_parses_the_text():
    model, loss = mlp_loss()
    for dot in (
        tg.viz.to_dot(loss, params=dict(model.named_parameters())),
        tg.viz.to_dot(loss, max_nodes=2),
    ):
        result = subprocess.run(
            ["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0 and not result.stderr, result.stderr
        assert result.stdout.count('class="node"') == len(labels(dot)) + len(
            labels(dot, LEAF)
        )


def test_render_writes_the_picture(tmp_path):
    pytest.importorskip("graphviz", reason="the graphviz package is not installed")
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    model, loss = mlp_loss()
    png = tg.viz.render(
        loss, path=tmp_path / "g.png", params=dict(model.named_parameters())
    )
    assert png == tmp_path / "g.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tg.viz.render(loss, path=str(tmp_path / "g.svg")).read_text()
    assert "<svg" in svg and "LinearBackward" in svg
    with pytest.raises(tg.ArgumentError, match=r"suffix '\.docx' is not a format"):
        tg.viz.render(loss, path=tmp_path / "g.docx")


def test_render_says_what_to_install(tmp_path, monkeypatch):
    x = tg.tensor([1.0], requires_grad=True)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'tapegrad\[viz\]'"):
        tg.viz.render(x * 2.0, path=tmp_path / "g.svg")
    monkeypatch.undo()
    pytest.importorskip("graphviz", reason="the graphviz package is not installed")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    with pytest.raises(RuntimeError, match="needs Graphviz's dot program"):
        tg.viz.render(x * 2.0, path=tmp_path / "g.svg")
    assert not (tmp_path / "g.svg").exists()


def test_the_viz_page_examples_run():
    page = Path(__file__).resolve().parent.parent / "docs" / "viz.md"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(page), module_relative=False, optionflags=flags)
    assert result.attempted >= 25 and result.failed == 0


def test_the_public_names():
    assert tg.viz.__all__ == ["render", "to_dot"] and dir(tg.viz) == [
        "render",
        "to_dot",
    ]
    assert "viz" in tg.__all__


def test_checkpointed_and_double_backward_graphs():
    tg.manual_seed(0)
    layers = [m for _ in range(4) for m in (nn.Linear(8, 8), nn.ReLU())]
    x = tg.randn(4, 8, requires_grad=True)
    out = tg.checkpoint_sequential(layers, x).sum()
    dot = tg.viz.to_dot(out, params={"x": x})
    ops = sorted(v[0] for v in labels(dot).values())
    assert ops == sorted(r.op for r in tg.memory_bill(out).rows)
    assert ops.count("CheckpointBackward") == 2
    assert saved_total(dot) == tg.memory_bill(out).total_bytes
    (g,) = tg.grad((x**3).sum(), x, create_graph=True)  # the recorded backward
    dot = tg.viz.to_dot(g.sum(), params={"x": x})
    assert sorted(v[0] for v in labels(dot).values()) == sorted(
        r.op for r in tg.memory_bill(g.sum()).rows
    )
    assert [v[0] for v in labels(dot, LEAF).values()] == ["x"]
