"""The graph backprop walks, drawn: Graphviz DOT text, and pictures made from it.

:func:`to_dot` needs nothing but tapegrad; :func:`render` turns the same text into an
SVG, PNG or PDF with the ``graphviz`` Python package and Graphviz's ``dot`` program
(``pip install 'tapegrad[viz]'`` and, for instance, ``apt-get install graphviz``).

Every node of the graph is one box: its op (``LinearBackward``), the ``nn`` module that
recorded it, its output's shape and dtype, and what it keeps for backward, shaded from
white to red by those bytes: the memory bill as a heat map. Leaves (parameters, inputs
that require grad) are ellipses, named from ``params``. Edges point the way the
backward sweep goes, from the outputs to the leaves::

    import tapegrad as tg
    loss = loss_fn(model(x), y)
    dot = tg.viz.to_dot(loss, params=dict(model.named_parameters()))
    tg.viz.render(loss, params=dict(model.named_parameters()), path="graph.png")
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ._errors import ArgumentError
from ._graph import GraphNode, RecordedGraph, recorded_graph
from ._native import Tensor

__all__ = ["render", "to_dot"]

_LEAF_COLOUR = "#dbe9f6"
_OUTPUT_PEN = "2.2"


def to_dot(
    *outputs: Tensor,
    params: Mapping[str, Tensor] | None = None,
    show_saved: bool = True,
    show_shapes: bool = True,
    max_nodes: int | None = None,
) -> str:
    """The graph behind ``outputs`` as Graphviz DOT text.

    Args:
        *outputs: The tensors whose graph to draw (a loss, or several outputs).
        params: Names for leaves, such as ``dict(model.named_parameters())``; leaves
            not in it are labelled ``input``.
        show_saved: Label each node with the bytes it keeps for backward (exact, as in
            :func:`tapegrad.memory_bill`) and shade it by them.
        show_shapes: Label nodes with their output's shape and dtype, leaves with theirs.
        max_nodes: Above this many boxes and ellipses, draw one box per ``nn`` module
            instead (at the deepest module level that fits) and one ellipse per group of
            leaves; ``None`` never summarises.

    Returns:
        DOT text: ``dot -Tsvg`` (or :func:`render`) draws it.

    Raises:
        ArgumentError: If no output is given or ``max_nodes`` is below 1.
        TypeError: If an output is not a Tensor.
    """
    if not outputs:
        raise ArgumentError("to_dot() needs at least one output tensor")
    if max_nodes is not None and max_nodes < 1:
        raise ArgumentError(f"max_nodes must be at least 1, got {max_nodes}")
    graph = recorded_graph(list(outputs), params)
    if max_nodes is not None and len(graph.nodes) + len(graph.leaves) > max_nodes:
        return _summary_dot(graph, max_nodes, show_saved)
    return _full_dot(graph, show_saved, show_shapes)


def render(
    *outputs: Tensor,
    path: str | Path = "graph.svg",
    params: Mapping[str, Tensor] | None = None,
    show_saved: bool = True,
    show_shapes: bool = True,
    max_nodes: int | None = None,
) -> Path:
    """Draws the graph behind ``outputs`` into ``path`` (its suffix picks the format).

    Takes the arguments of :func:`to_dot` and runs Graphviz's ``dot`` on its text.

    Args:
        *outputs: The tensors whose graph to draw.
        path: Where to write the picture: ``.svg``, ``.png``, ``.pdf`` or any other
            output format ``dot`` knows.
        params: Names for leaves, as in :func:`to_dot`.
        show_saved: As in :func:`to_dot`.
        show_shapes: As in :func:`to_dot`.
        max_nodes: As in :func:`to_dot`.

    Returns:
        The path written.

    Raises:
        ImportError: If the ``graphviz`` Python package is not installed.
        RuntimeError: If Graphviz's ``dot`` program is not installed.
        ArgumentError: If the suffix of ``path`` is not a format ``dot`` writes.
    """
    try:
        import graphviz  # type: ignore[import-untyped]
    except ImportError as error:
        raise ImportError(
            "tapegrad.viz.render needs the graphviz Python package and Graphviz's dot "
            "program: pip install 'tapegrad[viz]' and install Graphviz (apt-get install "
            "graphviz, brew install graphviz, conda install graphviz, or "
            "https://graphviz.org/download/); tapegrad.viz.to_dot needs neither"
        ) from error
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in graphviz.FORMATS:
        raise ArgumentError(
            f"render(path={str(path)!r}): the suffix {target.suffix!r} is not a format "
            "Graphviz writes; use .svg, .png or .pdf"
        )
    text = to_dot(
        *outputs,
        params=params,
        show_saved=show_saved,
        show_shapes=show_shapes,
        max_nodes=max_nodes,
    )
    try:
        picture = graphviz.pipe("dot", fmt, text.encode())
    except graphviz.ExecutableNotFound as error:
        raise RuntimeError(
            "tapegrad.viz.render needs Graphviz's dot program on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz, conda install graphviz, "
            "or https://graphviz.org/download/)"
        ) from error
    target.write_bytes(picture)
    return target


def _full_dot(graph: RecordedGraph, show_saved: bool, show_shapes: bool) -> str:
    """One box per node, one ellipse per leaf."""
    # Boxes are numbered in creation order, so the text does not depend on what else
    # the process recorded before.
    ids = {seq: f"n{rank}" for rank, seq in enumerate(graph.nodes)}
    heaviest = max((n.saved_bytes for n in graph.nodes.values()), default=0)
    outputs = set(graph.outputs)
    lines = _header()
    for node in reversed(graph.nodes.values()):  # outputs first: reads top-down
        label = [node.op]
        if node.module:
            label.append(node.module)
        if show_shapes:
            label += [_shape(shape, dtype) for shape, dtype in node.outputs]
        attrs = {}
        if show_saved:
            label.append(f"saved {node.saved_bytes:,} B")
            attrs["fillcolor"] = _heat(node.saved_bytes, heaviest)
            attrs["tooltip"] = _kept(node)
        if ("node", node.seq) in outputs:
            attrs["penwidth"] = _OUTPUT_PEN
        lines.append(_statement(ids[node.seq], label, attrs))
    for index, leaf in enumerate(graph.leaves):
        label = [leaf.name or "input"]
        if show_shapes:
            label.append(_shape(leaf.shape, leaf.dtype))
        attrs = {"shape": "ellipse", "fillcolor": _LEAF_COLOUR}
        if ("leaf", index) in outputs:
            attrs["penwidth"] = _OUTPUT_PEN
        lines.append(_statement(f"l{index}", label, attrs))
    for node in reversed(graph.nodes.values()):
        for kind, ref in node.inputs:
            target = ids[ref] if kind == "node" else f"l{ref}"
            lines.append(f"  {ids[node.seq]} -> {target};")
    return "\n".join([*lines, "}", ""])


def _summary_dot(graph: RecordedGraph, max_nodes: int, show_saved: bool) -> str:
    """One box per module (at the deepest level that fits), one ellipse per leaf group."""
    depth = max(
        (len(n.module.split(".")) for n in graph.nodes.values() if n.module), default=1
    )
    while True:
        group_of = {seq: _module_at(node, depth) for seq, node in graph.nodes.items()}
        leaf_group = _leaf_groups(graph, group_of)
        if depth == 1 or len(set(group_of.values())) + len(leaf_group) <= max_nodes:
            break
        depth -= 1
    groups: dict[str, list[GraphNode]] = {}
    for seq, node in graph.nodes.items():
        groups.setdefault(group_of[seq], []).append(node)
    saved = {name: sum(n.saved_bytes for n in nodes) for name, nodes in groups.items()}
    heaviest = max(saved.values(), default=0)
    ids = {name: f"g{i}" for i, name in enumerate(groups)}
    output_groups = {group_of[ref] for kind, ref in graph.outputs if kind == "node"}
    lines = _header()
    for name, nodes in reversed(groups.items()):
        label = [name, f"{len(nodes)} op{'s' if len(nodes) > 1 else ''}"]
        attrs = {}
        if show_saved:
            label.append(f"saved {saved[name]:,} B")
            attrs["fillcolor"] = _heat(saved[name], heaviest)
        if name in output_groups:
            attrs["penwidth"] = _OUTPUT_PEN
        lines.append(_statement(ids[name], label, attrs))
    leaf_ids: dict[str, str] = {}
    for i, (owner, members) in enumerate(leaf_group.items()):
        leaf_ids[owner] = f"l{i}"
        names = [graph.leaves[m].name or "input" for m in members]
        shown = ", ".join(names[:3]) + (
            f" +{len(names) - 3} more" if len(names) > 3 else ""
        )
        label = [f"{len(names)} lea{'ves' if len(names) > 1 else 'f'}", shown]
        attrs = {"shape": "ellipse", "fillcolor": _LEAF_COLOUR}
        lines.append(_statement(leaf_ids[owner], label, attrs))
    owner_of = {m: owner for owner, members in leaf_group.items() for m in members}
    edges: dict[tuple[str, str], int] = {}
    for seq, node in graph.nodes.items():
        source = ids[group_of[seq]]
        for kind, ref in node.inputs:
            target = ids[group_of[ref]] if kind == "node" else leaf_ids[owner_of[ref]]
            if target != source:
                edges[source, target] = edges.get((source, target), 0) + 1
    for (source, target), count in edges.items():
        weight = f' [label="{count}"]' if count > 1 else ""
        lines.append(f"  {source} -> {target}{weight};")
    return "\n".join([*lines, "}", ""])


def _module_at(node: GraphNode, depth: int) -> str:
    """The node's module cut to ``depth`` levels (``Net.block.0`` at 2: ``Net.block``)."""
    if not node.module:
        return "(no module)"
    return ".".join(node.module.split(".")[:depth])


def _leaf_groups(
    graph: RecordedGraph, group_of: dict[int, str]
) -> dict[str, list[int]]:
    """Leaves grouped by the module group of the first node that consumes them."""
    groups: dict[str, list[int]] = {}
    placed: set[int] = set()
    for seq, node in graph.nodes.items():
        for kind, ref in node.inputs:
            if kind == "leaf" and ref not in placed:
                placed.add(ref)
                groups.setdefault(group_of[seq], []).append(ref)
    for kind, ref in graph.outputs:  # an output that is itself a leaf
        if kind == "leaf" and ref not in placed:
            placed.add(ref)
            groups.setdefault("(outputs)", []).append(ref)
    return groups


def __dir__() -> list[str]:
    return sorted(__all__)


def _header() -> list[str]:
    return [
        "digraph tapegrad {",
        '  graph [fontname="Helvetica", ranksep=0.3, nodesep=0.25];',
        (
            '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", '
            'fontname="Helvetica", fontsize=10, margin="0.12,0.04"];'
        ),
        '  edge [arrowsize=0.6, color="#555555"];',
    ]


def _statement(name: str, label: list[str], attrs: dict[str, str]) -> str:
    fields = [f'label="{_quote(chr(10).join(label))}"']
    fields += [f'{key}="{_quote(value)}"' for key, value in attrs.items()]
    return f"  {name} [{', '.join(fields)}];"


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _shape(shape: tuple[int, ...], dtype: str) -> str:
    return f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''}) {dtype}"


def _kept(node: GraphNode) -> str:
    if not node.saved:
        return "keeps nothing for backward"
    return "\n".join(
        f"{why} {_shape(shape, dtype)}: {size:,} B"
        for why, shape, dtype, size in node.saved
    )


def _heat(saved: int, heaviest: int) -> str:
    """White for nothing kept, deepening to red for the heaviest node (HSV colour)."""
    share = saved / heaviest if heaviest else 0.0
    return f"0.02 {0.8 * share:.3f} 1.000"
