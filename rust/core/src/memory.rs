//! The memory bill: what a graph holds for backward, node by node, and the boundary of a
//! recorded segment (what checkpointing must treat as its inputs).

use crate::array::Array;
use crate::graph::{Edge, Node};
use crate::tensor::Tensor;
use std::collections::HashSet;
use std::sync::Arc;

/// Every node reachable from `roots`, each once, in the order a depth-first walk meets them
/// (roots first). Iterative: deep graphs are fine.
pub fn graph_nodes(roots: &[Tensor]) -> Vec<Arc<Node>> {
    let mut seen: HashSet<*const Node> = HashSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<Arc<Node>> = roots.iter().filter_map(|t| t.grad_fn()).collect();
    while let Some(node) = stack.pop() {
        if !seen.insert(Arc::as_ptr(&node)) {
            continue;
        }
        for edge in node.edges() {
            if let Edge::Node(child, _) = edge {
                if !seen.contains(&Arc::as_ptr(child)) {
                    stack.push(child.clone());
                }
            }
        }
        order.push(node);
    }
    order
}

/// The tensors a segment recorded since node number `since` depends on from outside: leaves
/// that require grad and outputs of earlier nodes, each once, skipping those in `exclude`.
/// Earlier nodes' outputs come back as handles at their place in the graph whose data is a
/// zero-stride stand-in (no memory): only their gradient matters to the caller.
pub fn external_inputs(outputs: &[Tensor], since: u64, exclude: &[Tensor]) -> Vec<Tensor> {
    let key = |t: &Tensor| match t.grad_fn_with_index() {
        Some((n, k)) => (Arc::as_ptr(&n) as usize, k),
        None => (t.id() as usize, usize::MAX),
    };
    let mut seen: HashSet<(usize, usize)> = exclude.iter().map(key).collect();
    let mut found = Vec::new();
    let mut visit = |t: Tensor, found: &mut Vec<Tensor>| {
        if seen.insert(key(&t)) {
            found.push(t);
        }
    };
    let mut walked: HashSet<*const Node> = HashSet::new();
    let mut stack: Vec<Arc<Node>> = Vec::new();
    for out in outputs {
        match out.grad_fn() {
            Some(node) if node.seq() >= since => stack.push(node.clone()),
            Some(_) => visit(out.clone(), &mut found),
            None if out.requires_grad() => visit(out.clone(), &mut found),
            None => {}
        }
    }
    while let Some(node) = stack.pop() {
        if !walked.insert(Arc::as_ptr(&node)) {
            continue;
        }
        for edge in node.edges() {
            match edge {
                Edge::None => {}
                Edge::Leaf(leaf) => {
                    if let Some(leaf) = leaf.upgrade() {
                        visit(Tensor(leaf), &mut found);
                    }
                }
                Edge::Node(child, _) if child.seq() >= since => stack.push(child.clone()),
                Edge::Node(child, k) => {
                    let meta = &child.outputs()[*k];
                    // Infallible: one zero broadcast with stride 0 to a shape a live tensor
                    // had allocates nothing; a Result would ripple into the binding.
                    let stand_in = Array::zeros(&[], meta.dtype)
                        .and_then(|z| z.broadcast_to(&meta.shape))
                        .expect("a scalar broadcasts to any shape");
                    visit(
                        Tensor::rebuild(stand_in, true, Some((child.clone(), *k)), Vec::new()),
                        &mut found,
                    );
                }
            }
        }
    }
    found
}
