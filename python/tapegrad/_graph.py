"""The recorded graph as plain Python data: nodes, leaves and the edges between them.

The native module exposes no node ids or edges, so this rebuilds them from two functions
that exist for other purposes:

- ``_external_inputs(outputs, since, exclude)`` (checkpointing) walks the nodes numbered
  ``since`` or later and returns what they consume from outside: leaves, and handles on
  earlier nodes' outputs. Nodes are numbered in creation order, so a node's inputs always
  have smaller numbers; walking a single node from its own number returns exactly its
  inputs. Its ``exclude`` list compares tensors by identity (the node and output index, or
  the leaf itself), which is how leaves are told apart and matched to ``params``.
- ``_graph_rows(outputs)`` (the memory bill) lists what each node saved, in the order of a
  depth-first walk. Given every node as a root, in decreasing creation order, that walk
  meets them in increasing creation order, one per node: the rows line up with the nodes.

A node's number is found by search: ``_external_inputs([h], s, [h])`` is empty for every
``s`` above it (``h`` itself is the boundary and is excluded) and holds ``h``'s inputs below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import _native
from ._errors import GraphError
from ._native import Tensor

__all__ = ["GraphLeaf", "GraphNode", "RecordedGraph", "recorded_graph"]


@dataclass
class GraphNode:
    """One recorded op (a ``grad_fn``): what it is, what it consumed, what it saved."""

    seq: int
    """The node's creation number (unique in the process)."""
    op: str
    module: str | None = None
    outputs: list[tuple[tuple[int, ...], str]] = field(default_factory=list)
    """``(shape, dtype)`` of each of its outputs the graph uses (most ops have one)."""
    inputs: list[tuple[str, int]] = field(default_factory=list)
    """``("node", seq)`` or ``("leaf", index into RecordedGraph.leaves)``, in order."""
    saved: tuple[tuple[str, tuple[int, ...], str, int], ...] = ()
    """``(why, shape, dtype, bytes)`` per tensor kept for backward (the memory bill)."""

    @property
    def saved_bytes(self) -> int:
        """Bytes this node keeps for backward."""
        return sum(item[3] for item in self.saved)


@dataclass
class GraphLeaf:
    """A tensor the graph starts from: a parameter or an input that requires grad."""

    name: str | None
    shape: tuple[int, ...]
    dtype: str
    requires_grad: bool


@dataclass
class RecordedGraph:
    """Nodes (by creation number: inputs before their consumers), leaves, outputs."""

    nodes: dict[int, GraphNode]
    leaves: list[GraphLeaf]
    outputs: list[tuple[str, int]]
    """``("node", seq)`` or ``("leaf", index)`` per output given, in order."""

    @property
    def saved_bytes(self) -> int:
        """Bytes the whole graph keeps for backward (the memory bill's total)."""
        return sum(node.saved_bytes for node in self.nodes.values())


def recorded_graph(
    outputs: Sequence[Tensor], params: Mapping[str, Tensor] | None = None
) -> RecordedGraph:
    """Rebuilds the graph behind ``outputs``; leaves found in ``params`` get its names.

    Leaves that were freed since the graph was recorded (the graph only holds them weakly)
    are not part of it.
    """
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"output {i} is a {type(out).__name__}, not a Tensor")
    walk = _Walk([(n, t) for n, t in (params or {}).items() if isinstance(t, Tensor)])
    roots = [walk.visit(out, _native._next_node_seq()) for out in outputs]
    while walk.pending:  # iterative: a million-node chain must not recurse
        node = walk.nodes[walk.pending.pop()]
        for tensor in _native._external_inputs([walk.handles[node.seq]], node.seq, []):
            node.inputs.append(walk.visit(tensor, node.seq))
    walk.attach_saved()
    return RecordedGraph(dict(sorted(walk.nodes.items())), walk.leaves, roots)


class _Walk:
    def __init__(self, named: list[tuple[str, Tensor]]) -> None:
        self.named = named
        self.nodes: dict[int, GraphNode] = {}
        self.handles: dict[int, Tensor] = {}
        self.output_handles: dict[int, list[Tensor]] = {}
        self.pending: list[int] = []
        self.leaves: list[GraphLeaf] = []
        self.leaf_handles: list[Tensor] = []

    def visit(self, tensor: Tensor, upper: int) -> tuple[str, int]:
        """The node or leaf behind ``tensor``, registered; its node is numbered < upper."""
        grad_fn = tensor.grad_fn
        if grad_fn is None:
            return ("leaf", self._leaf(tensor))
        seq = _node_seq(tensor, upper)
        if seq not in self.nodes:
            self.nodes[seq] = GraphNode(seq, grad_fn.name())
            self.handles[seq] = tensor
            self.output_handles[seq] = []
            self.pending.append(seq)
        # A node with several outputs is met once per output used; `exclude` compares
        # (node, output index), so it tells a new output from one already seen.
        seen = self.output_handles[seq]
        if not seen or _native._external_inputs([tensor], seq + 1, seen):
            seen.append(tensor)
            self.nodes[seq].outputs.append((tuple(tensor.shape), tensor.dtype.name))
        return ("node", seq)

    def _leaf(self, tensor: Tensor) -> int:
        if tensor.requires_grad:  # identity tests go through `exclude`, which needs it
            found = _find_same(tensor, self.leaf_handles)
            if found is not None:
                return found
            match = _find_same(tensor, [t for _, t in self.named])
            name = None if match is None else self.named[match][0]
        else:
            name = next((n for n, t in self.named if t is tensor), None)
        self.leaf_handles.append(tensor)
        self.leaves.append(
            GraphLeaf(
                name, tuple(tensor.shape), tensor.dtype.name, tensor.requires_grad
            )
        )
        return len(self.leaves) - 1

    def attach_saved(self) -> None:
        """Gives each node its memory-bill row (see the module docstring for the order)."""
        by_seq = sorted(self.handles.items(), reverse=True)
        rows = _native._graph_rows([h for _, h in by_seq]) if by_seq else []
        if len(rows) != len(by_seq):
            raise GraphError(
                f"graph walk found {len(by_seq)} nodes but the memory bill {len(rows)}"
            )
        for (seq, _), row in zip(reversed(by_seq), rows):
            node = self.nodes[seq]
            if row["op"] != node.op:
                raise GraphError(
                    f"node {seq} is {node.op} but its row says {row['op']}"
                )
            node.module = row["label"]
            node.saved = tuple((w, tuple(s), d, b) for w, s, d, b in row["saved"])


def _node_seq(handle: Tensor, upper: int) -> int:
    """The creation number of ``handle``'s node, known to be below ``upper``."""

    def above(since: int) -> bool:  # is the node numbered below `since`?
        if _native._external_inputs([handle], since, [handle]):
            return False  # the node was walked: its inputs came back
        # Empty either because the node is below `since` (it came back and was excluded)
        # or because all its inputs are gone; without the exclusion, only the first
        # returns the handle itself.
        return len(_native._external_inputs([handle], since, [])) == 1

    # Inputs are usually made just before their consumer: gallop down from `upper`,
    # then bisect. Invariant: above(high) and not above(low) (no node is below 0).
    high, step, low = upper, 1, 0
    while high - step > 0:
        if not above(high - step):
            low = high - step
            break
        high -= step
        step *= 2
    while high - low > 1:
        mid = (low + high) // 2
        if above(mid):
            high = mid
        else:
            low = mid
    return low


def _find_same(leaf: Tensor, candidates: list[Tensor]) -> int | None:
    """The index of the candidate that is the same tensor as ``leaf`` (a leaf requiring
    grad), or None: ``exclude`` drops ``leaf`` exactly when it holds that tensor."""

    def among(part: list[Tensor]) -> bool:
        return not _native._external_inputs([leaf], 0, part)

    if not candidates or not among(candidates):
        return None
    low, high = 0, len(candidates)
    while high - low > 1:
        mid = (low + high) // 2
        if among(candidates[low:mid]):
            high = mid
        else:
            low = mid
    return low
