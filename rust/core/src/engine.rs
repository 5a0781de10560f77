//! The backward sweep.
//!
//! Backprop is dynamic programming over the recorded graph: each node's gradient ∂L/∂output is
//! computed once, from all its consumers, and then reused by every input upstream. The sweep
//! therefore (1) counts, for each node reachable from the roots, how many consumers will send it
//! a gradient, and (2) runs a ready-queue: a node runs its VJP once all its consumers have
//! reported. No recursion anywhere, so a million-op chain is fine.

use crate::error::{fmt_shape, Error, Result};
use crate::graph::{Edge, GradHook, GradModeGuard, Node};
use crate::tensor::{Tensor, TensorImpl};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};

type NodeId = *const Node;

/// What to do with the gradients that reach the leaves.
enum Sink<'a> {
    /// `backward()`: accumulate into `.grad` of every leaf (and retained non-leaves).
    AccumulateIntoGrad,
    /// `grad()`: return the gradients of these tensors, touching no `.grad`.
    Capture(&'a [Tensor]),
    /// Like `Capture`, but the sweep stops at the inputs: nothing upstream of them runs.
    CaptureWithin(&'a [Tensor]),
}

/// The gradients of `roots` with respect to `inputs`, sweeping only the part of the graph
/// between them (nothing upstream of an input runs or is freed). Checkpointing uses it to
/// backpropagate through a recomputed segment. Unused inputs give `None`.
pub fn grad_within(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    inputs: &[Tensor],
    create_graph: bool,
) -> Result<Vec<Option<Tensor>>> {
    // With create_graph the re-run segment stays part of the gradient's graph: keep it.
    sweep(roots, grads, create_graph, create_graph, Sink::CaptureWithin(inputs))
}

/// Accumulates the gradient of `roots` (weighted by `grads`) into the `.grad` of every leaf that
/// requires grad, like `torch.autograd.backward`.
pub fn backward(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    retain_graph: bool,
    create_graph: bool,
) -> Result<()> {
    sweep(roots, grads, retain_graph, create_graph, Sink::AccumulateIntoGrad)?;
    Ok(())
}

/// Returns the gradients of `roots` (weighted by `grads`) with respect to `inputs`, like
/// `torch.autograd.grad`. An input that the roots do not depend on yields `None` when
/// `allow_unused`, and an error otherwise.
pub fn grad(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    inputs: &[Tensor],
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> Result<Vec<Option<Tensor>>> {
    for (i, t) in inputs.iter().enumerate() {
        if !t.requires_grad() {
            return Err(Error::Graph(format!(
                "input {i} of grad() does not require grad; set requires_grad=True on it"
            )));
        }
    }
    let found = sweep(roots, grads, retain_graph, create_graph, Sink::Capture(inputs))?;
    if !allow_unused {
        if let Some(i) = found.iter().position(Option::is_none) {
            return Err(Error::Graph(format!(
                "input {i} of grad() (shape {}) was not used in the graph of the outputs; pass \
                 allow_unused=True to get None for it",
                fmt_shape(&inputs[i].shape())
            )));
        }
    }
    Ok(found)
}

/// Checks the roots and their seed gradients; a missing seed is only allowed for scalars.
fn seed_gradients(roots: &[Tensor], grads: &[Option<Tensor>]) -> Result<Vec<Tensor>> {
    if roots.len() != grads.len() {
        return Err(Error::Graph(format!(
            "got {} outputs but {} gradients for them",
            roots.len(),
            grads.len()
        )));
    }
    roots
        .iter()
        .zip(grads)
        .enumerate()
        .map(|(i, (root, grad))| {
            if !root.requires_grad() {
                return Err(Error::Graph(format!(
                    "element {i} of the outputs does not require grad and has no grad_fn: nothing \
                     to differentiate (did you forget requires_grad=True, or run under no_grad?)"
                )));
            }
            match grad {
                None if root.numel() == 1 => Ok(Tensor::full(&root.shape(), 1.0, root.dtype())?),
                None => Err(Error::Graph(format!(
                    "grad can be implicitly created only for scalar outputs, but output {i} has \
                     shape {}; pass gradient= with that shape",
                    fmt_shape(&root.shape())
                ))),
                Some(g) if g.shape() != root.shape() => Err(Error::shape(
                    "backward",
                    format!(
                        "gradient of shape {} does not match output {i} of shape {}",
                        fmt_shape(&g.shape()),
                        fmt_shape(&root.shape())
                    ),
                )),
                Some(g) => g.to_dtype(root.dtype()),
            }
        })
        .collect()
}

/// Adds `g` into the slot, creating it on first use.
fn accumulate<K: std::hash::Hash + Eq>(
    buffers: &mut HashMap<K, Tensor>,
    key: K,
    g: Tensor,
) -> Result<()> {
    match buffers.remove(&key) {
        None => buffers.insert(key, g),
        Some(old) => buffers.insert(key, old.add(&g)?),
    };
    Ok(())
}

/// Brings a rule's gradient for input `i` of `node` to the input's shape (summing over the
/// broadcast axes) and dtype, or explains why it cannot.
fn fit_to_input(node: &Node, i: usize, g: Tensor) -> Result<Tensor> {
    let meta = &node.inputs[i];
    let g = if g.shape() == meta.shape { g } else { g.sum_to_shape(&meta.shape)? };
    if g.shape() != meta.shape {
        return Err(Error::Graph(format!(
            "{} returned a gradient of shape {} for input {i}, whose shape is {}",
            node.name(),
            fmt_shape(&g.shape()),
            fmt_shape(&meta.shape)
        )));
    }
    g.to_dtype(meta.dtype)
}

/// Runs hooks in order, each seeing the previous one's result.
fn run_hooks(hooks: &[GradHook], mut grad: Tensor) -> Result<Tensor> {
    for hook in hooks {
        if let Some(replacement) = hook(&grad)? {
            if replacement.shape() != grad.shape() {
                return Err(Error::shape(
                    "hook",
                    format!(
                        "a hook returned a gradient of shape {} for a gradient of shape {}",
                        fmt_shape(&replacement.shape()),
                        fmt_shape(&grad.shape())
                    ),
                ));
            }
            grad = replacement;
        }
    }
    Ok(grad)
}

type Slot = (NodeId, usize);

/// The nodes whose VJP must run for the wanted gradients: those with an input edge to a
/// target leaf, or to a node that has a target output or itself runs. (A node that does
/// not run has no such node below it, so skipping it starves nothing that is wanted.)
/// Iterative post-order over the discovered graph: no recursion, whatever its depth.
fn nodes_to_run(
    nodes: &HashMap<NodeId, (Arc<Node>, usize)>,
    node_targets: &HashMap<Slot, usize>,
    leaf_targets: &HashSet<*const TensorImpl>,
    stops_here: impl Fn(&Arc<Node>) -> bool,
) -> HashSet<NodeId> {
    let mut runs = HashSet::new();
    // Whether a node's outputs lead to something wanted (it runs or is a target).
    let mut leads: HashMap<NodeId, bool> = HashMap::new();
    for (start, _) in nodes.values() {
        let mut stack = vec![(start.clone(), false)];
        while let Some((node, expanded)) = stack.pop() {
            let id = Arc::as_ptr(&node);
            if leads.contains_key(&id) {
                continue;
            }
            let follow = !stops_here(&node);
            if !expanded {
                stack.push((node.clone(), true));
                let children = node.edges.iter().filter_map(|e| match e {
                    Edge::Node(child, _) if follow => Some(child),
                    _ => None,
                });
                stack.extend(children.map(|c| (c.clone(), false)));
                continue;
            }
            let run = follow
                && node.edges.iter().any(|edge| match edge {
                    Edge::Leaf(leaf) => leaf_targets.contains(&leaf.as_ptr()),
                    Edge::Node(child, _) => leads.get(&Arc::as_ptr(child)) == Some(&true),
                    Edge::None => false,
                });
            if run {
                runs.insert(id);
            }
            let target = (0..node.num_outputs()).any(|k| node_targets.contains_key(&(id, k)));
            leads.insert(id, run || target);
        }
    }
    runs
}

fn sweep(
    roots: &[Tensor],
    grads: &[Option<Tensor>],
    retain_graph: bool,
    create_graph: bool,
    sink: Sink<'_>,
) -> Result<Vec<Option<Tensor>>> {
    let seeds = seed_gradients(roots, grads)?;
    // The backward records a graph only when asked to (create_graph); otherwise it is free.
    let _mode = GradModeGuard::new(create_graph);

    // What the caller wants back, keyed by node output (non-leaf inputs) or by leaf.
    let (targets, bounded) = match &sink {
        Sink::Capture(inputs) => (*inputs, false),
        Sink::CaptureWithin(inputs) => (*inputs, true),
        Sink::AccumulateIntoGrad => (&[][..], false),
    };
    let mut found = vec![None; targets.len()];
    let node_targets: HashMap<Slot, usize> = targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.grad_fn_with_index().map(|(n, k)| ((Arc::as_ptr(&n), k), i)))
        .collect();
    // In a bounded sweep, a target's node is where the sweep ends.
    let stops_here = |node: &Arc<Node>| {
        bounded
            && (0..node.num_outputs()).any(|k| node_targets.contains_key(&(Arc::as_ptr(node), k)))
    };

    // (1) Discover the nodes reachable from the roots and count each one's consumers.
    let mut nodes: HashMap<NodeId, (Arc<Node>, usize)> = HashMap::new();
    let mut stack: Vec<Arc<Node>> = Vec::new();
    for root in roots {
        if let Some(node) = root.grad_fn() {
            if let Entry::Vacant(slot) = nodes.entry(Arc::as_ptr(node)) {
                slot.insert((node.clone(), 0));
                stack.push(node.clone());
            }
        }
    }
    while let Some(node) = stack.pop() {
        if stops_here(&node) {
            continue;
        }
        for edge in &node.edges {
            if let Edge::Node(child, _) = edge {
                let entry = nodes.entry(Arc::as_ptr(child)).or_insert_with(|| {
                    stack.push(child.clone());
                    (child.clone(), 0)
                });
                entry.1 += 1;
            }
        }
    }

    // Asked for particular gradients, run only the nodes that lead to one of them.
    let runs = match sink {
        Sink::AccumulateIntoGrad => None,
        Sink::Capture(_) | Sink::CaptureWithin(_) => {
            let leaf_targets: HashSet<*const TensorImpl> =
                targets.iter().filter(|t| t.is_leaf()).map(Tensor::id).collect();
            Some(nodes_to_run(&nodes, &node_targets, &leaf_targets, stops_here))
        }
    };

    // (2) Seed the roots' gradients, then sweep in reverse topological order.
    let mut node_grads: HashMap<Slot, Tensor> = HashMap::new();
    let mut leaf_grads: HashMap<*const TensorImpl, Tensor> = HashMap::new();
    let mut leaves: HashMap<*const TensorImpl, Weak<TensorImpl>> = HashMap::new();
    for (root, seed) in roots.iter().zip(seeds) {
        match root.grad_fn_with_index() {
            Some((node, k)) => accumulate(&mut node_grads, (Arc::as_ptr(&node), k), seed)?,
            None => {
                leaves.insert(root.id(), Arc::downgrade(&root.0));
                accumulate(&mut leaf_grads, root.id(), seed)?;
            }
        }
    }
    let mut ready: Vec<Arc<Node>> = Vec::new();
    for root in roots {
        if let Some(node) = root.grad_fn() {
            let id = Arc::as_ptr(node);
            if nodes[&id].1 == 0 && !ready.iter().any(|n| Arc::as_ptr(n) == id) {
                ready.push(node.clone());
            }
        }
    }

    while let Some(node) = ready.pop() {
        let id = Arc::as_ptr(&node);
        let mut outputs: Vec<Option<Tensor>> =
            (0..node.num_outputs()).map(|k| node_grads.remove(&(id, k))).collect();
        if outputs.iter().any(Option::is_some) {
            for (k, slot) in outputs.iter_mut().enumerate() {
                let Some(grad) = slot.take() else { continue };
                let hooks: Vec<GradHook> = node.hooks.lock().unwrap_or_else(|e| e.into_inner())[k]
                    .iter()
                    .map(|(_, h)| h.clone())
                    .collect();
                let grad = run_hooks(&hooks, grad)?;
                if let Some(&i) = node_targets.get(&(id, k)) {
                    found[i] = Some(grad.clone());
                }
                if matches!(sink, Sink::AccumulateIntoGrad) {
                    let retained =
                        node.retained.lock().unwrap_or_else(|e| e.into_inner())[k].clone();
                    if let Some(t) = retained.and_then(|w| w.upgrade()) {
                        Tensor(t).accumulate_grad(grad.clone())?;
                    }
                }
                *slot = Some(grad);
            }
            if stops_here(&node) || runs.as_ref().is_some_and(|r| !r.contains(&id)) {
                continue; // nothing the caller asked for lies upstream
            }
            // Outputs that received no gradient get zeros (only multi-output ops have any).
            let grads = outputs
                .into_iter()
                .zip(&node.outputs)
                .map(|(g, meta)| g.map_or_else(|| Tensor::zeros(&meta.shape, meta.dtype), Ok))
                .collect::<Result<Vec<_>>>()?;
            let input_grads = node.run_vjp(&grads)?;
            if input_grads.len() != node.edges.len() {
                return Err(Error::Graph(format!(
                    "{} returned {} gradients for {} inputs",
                    node.name(),
                    input_grads.len(),
                    node.edges.len()
                )));
            }
            for (i, (edge, g)) in node.edges.iter().zip(input_grads).enumerate() {
                let Some(g) = g else { continue };
                match edge {
                    Edge::None => {}
                    Edge::Leaf(leaf) => {
                        let g = fit_to_input(&node, i, g)?;
                        leaves.entry(leaf.as_ptr()).or_insert_with(|| leaf.clone());
                        accumulate(&mut leaf_grads, leaf.as_ptr(), g)?;
                    }
                    Edge::Node(child, k) => {
                        let g = fit_to_input(&node, i, g)?;
                        accumulate(&mut node_grads, (Arc::as_ptr(child), *k), g)?;
                    }
                }
            }
        }
        if stops_here(&node) {
            continue; // its upstream was never discovered: the sweep ends here
        }
        if !retain_graph {
            node.release();
        }
        for edge in &node.edges {
            if let Edge::Node(child, _) = edge {
                let entry = nodes.get_mut(&Arc::as_ptr(child)).expect("discovered above");
                entry.1 -= 1;
                if entry.1 == 0 {
                    ready.push(entry.0.clone());
                }
            }
        }
    }

    // Leaves: run their hooks, then accumulate into `.grad` or hand back.
    let mut leaf_results: HashMap<*const TensorImpl, Tensor> = HashMap::new();
    for (id, g) in leaf_grads {
        // A leaf that no longer exists cannot be asked for its gradient.
        let Some(leaf) = leaves[&id].upgrade().map(Tensor) else { continue };
        let g = run_hooks(&leaf.leaf_hooks(), g)?;
        match sink {
            Sink::AccumulateIntoGrad => leaf.accumulate_grad(g)?,
            Sink::Capture(_) | Sink::CaptureWithin(_) => {
                leaf_results.insert(id, g);
            }
        }
    }
    for (i, t) in targets.iter().enumerate() {
        if t.is_leaf() {
            found[i] = leaf_results.remove(&t.id());
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, leaf, values};

    #[test]
    fn a_million_op_chain_backprops_and_drops_without_recursion() {
        // y = x · 1.000001^n, built from n multiplications: dy/dx = 1.000001^n.
        let n = 1_000_000;
        let x = leaf(&[], &[1.0], true);
        let mut y = x.clone();
        for _ in 0..n {
            y = y.mul_scalar(1.000001).unwrap();
        }
        backward(&[y.clone()], &[None], false, false).unwrap();
        assert_close(&values(&x.grad().unwrap()), &[1.000001f64.powi(n)], 1e-9);
        drop(y); // frees a million nodes iteratively
    }

    #[test]
    fn gradients_accumulate_and_a_freed_graph_refuses_a_second_backward() {
        let x = leaf(&[2], &[1.0, 2.0], true);
        let y = x.mul(&x).unwrap().sum(None, false).unwrap();
        backward(&[y.clone()], &[None], true, false).unwrap();
        backward(&[y.clone()], &[None], false, false).unwrap();
        assert_close(&values(&x.grad().unwrap()), &[4.0, 8.0], 0.0);
        let err = backward(&[y], &[None], false, false).unwrap_err().to_string();
        assert!(err.contains("retain_graph=True"), "{err}");
    }

    #[test]
    fn create_graph_makes_gradients_differentiable() {
        // f = x³: f' = 3x², f'' = 6x
        let x = leaf(&[1], &[2.0], true);
        let f = x.mul(&x).unwrap().mul(&x).unwrap().sum(None, false).unwrap();
        let df = grad(&[f], &[None], &[x.clone()], true, true, false).unwrap()[0].clone().unwrap();
        assert_close(&values(&df), &[12.0], 0.0);
        assert!(df.requires_grad());
        let d2f =
            grad(&[df.sum(None, false).unwrap()], &[None], &[x], false, false, false).unwrap();
        assert_close(&values(d2f[0].as_ref().unwrap()), &[12.0], 0.0);
    }

    #[test]
    fn retained_non_leaf_gradients_and_unused_inputs() {
        let x = leaf(&[2], &[1.0, 2.0], true);
        let h = x.exp().unwrap();
        h.retain_grad().unwrap();
        let y = h.mul_scalar(3.0).unwrap().sum(None, false).unwrap();
        backward(&[y.clone()], &[None], true, false).unwrap();
        assert_close(&values(&h.grad().unwrap()), &[3.0, 3.0], 0.0);
        let unused = leaf(&[1], &[0.0], true);
        let err = grad(&[y.clone()], &[None], &[unused.clone()], true, false, false).unwrap_err();
        assert!(err.to_string().contains("allow_unused=True"), "{err}");
        assert!(grad(&[y], &[None], &[unused], true, false, true).unwrap()[0].is_none());
    }

    #[test]
    fn non_scalar_roots_need_a_gradient_of_their_shape() {
        let x = leaf(&[2], &[1.0, 2.0], true);
        let y = x.mul_scalar(2.0).unwrap();
        let err = backward(&[y.clone()], &[None], true, false).unwrap_err().to_string();
        assert!(err.contains("scalar outputs") && err.contains("(2,)"), "{err}");
        let wrong = leaf(&[3], &[1.0; 3], false);
        let err = backward(&[y.clone()], &[Some(wrong)], true, false).unwrap_err().to_string();
        assert!(err.contains("(3,)") && err.contains("(2,)"), "{err}");
        let plain = leaf(&[1], &[1.0], false);
        assert!(backward(&[plain], &[None], false, false).is_err());
    }
}
