//! The backward sweep, in phases.
//!
//! Backprop is dynamic programming over the recorded graph: each node's gradient ∂L/∂output is
//! computed once, from all its consumers, and then reused by every input upstream. [`sweep`]
//! runs the phases in order, each a function of its own:
//!
//! 1. [`discover`]: the nodes reachable from the roots, each with the number of consumers that
//!    will send it a gradient, and the leaves they feed, each with its number of feeders;
//! 2. [`prune`]: asked for particular gradients, only the nodes leading to them run;
//! 3. [`seed_gradients`]: the roots' gradients;
//! 4. the ready queue: a node runs once all its consumers have reported, newest first (by
//!    sequence number, as PyTorch orders it), so every run takes the same order;
//! 5. [`Sweep::run_node`]: output hooks, retained gradients, the VJP, and each input's gradient
//!    fitted to the input's shape and dtype ([`fit_to_input`]);
//! 6. [`Sweep::finish_leaf`]: once every node feeding a leaf has run, its gradient is complete:
//!    its hooks run, it is accumulated into `.grad` (PyTorch's `AccumulateGrad`), and its
//!    post-accumulate hooks fire: the "gradient ready" event data-parallel training uses.
//!
//! No recursion anywhere, so a million-op chain is fine. (The file is over 500 lines because
//! the phases and the sweep's state belong together; each function is a screen or less.)

use crate::error::{fmt_shape, Error, Result};
use crate::graph::anomaly;
use crate::graph::{Edge, GradHook, GradModeGuard, Node};
use crate::tensor::{Tensor, TensorImpl};
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Weak};

type NodeId = *const Node;
type LeafId = *const TensorImpl;
/// Output `.1` of node `.0`.
type Slot = (NodeId, usize);

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

/// What to do with the gradients that reach the leaves.
enum Sink<'a> {
    /// `backward()`: accumulate into `.grad` of every leaf (and retained non-leaves).
    AccumulateIntoGrad,
    /// `grad()`: return the gradients of these tensors, touching no `.grad`.
    Capture(&'a [Tensor]),
    /// Like `Capture`, but the sweep stops at the inputs: nothing upstream of them runs.
    CaptureWithin(&'a [Tensor]),
}

/// Runs the phases (see the module docs) and returns the captured gradients, one per target.
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
    let mut sweep = Sweep::new(sink, retain_graph);
    let (nodes, leaves) = discover(roots, |n| sweep.stops_at(n));
    sweep.runs =
        sweep.capturing().then(|| prune(&nodes, &sweep.node_targets, &sweep.leaf_targets()));
    sweep.nodes = nodes;
    sweep.leaves = leaves;
    for (root, seed) in roots.iter().zip(seeds) {
        match root.grad_fn_with_index() {
            Some((node, k)) => accumulate(&mut sweep.node_grads, (Arc::as_ptr(&node), k), seed)?,
            None => sweep.leaf_gradient(root.id(), Arc::downgrade(&root.0), seed)?,
        }
    }
    // A root leaf that no node feeds is complete already.
    for root in roots.iter().filter(|r| r.is_leaf()) {
        if sweep.leaves.get(&root.id()).is_some_and(|l| l.feeders == 0) {
            sweep.finish_leaf(root.id())?;
        }
    }
    let mut ready = BinaryHeap::new();
    let mut queued = HashSet::new();
    for node in roots.iter().filter_map(Tensor::grad_fn) {
        if sweep.nodes[&Arc::as_ptr(&node)].1 == 0 && queued.insert(Arc::as_ptr(&node)) {
            ready.push(Newest(node.clone()));
        }
    }
    while let Some(Newest(node)) = ready.pop() {
        ready.extend(sweep.run_node(&node)?.into_iter().map(Newest));
    }
    sweep.into_found()
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

/// The discovered nodes, each with its number of consumers still to report.
type Nodes = HashMap<NodeId, (Arc<Node>, usize)>;

/// A leaf the sweep delivers to: its gradient so far and how many nodes still feed it.
struct LeafState {
    tensor: Weak<TensorImpl>,
    feeders: usize,
    grad: Option<Tensor>,
}

/// Phase 1: every node reachable from the roots (not beyond a node where the sweep stops),
/// with its number of consumers, and every leaf they feed, with its number of feeders.
fn discover(
    roots: &[Tensor],
    stops_at: impl Fn(&Arc<Node>) -> bool,
) -> (Nodes, HashMap<LeafId, LeafState>) {
    let mut nodes: Nodes = HashMap::new();
    let mut leaves: HashMap<LeafId, LeafState> = HashMap::new();
    let mut stack: Vec<Arc<Node>> = Vec::new();
    for node in roots.iter().filter_map(Tensor::grad_fn) {
        if let Entry::Vacant(slot) = nodes.entry(Arc::as_ptr(&node)) {
            slot.insert((node.clone(), 0));
            stack.push(node.clone());
        }
    }
    while let Some(node) = stack.pop() {
        if stops_at(&node) {
            continue;
        }
        for edge in &node.edges {
            match edge {
                Edge::Node(child, _) => {
                    let entry = nodes.entry(Arc::as_ptr(child)).or_insert_with(|| {
                        stack.push(child.clone());
                        (child.clone(), 0)
                    });
                    entry.1 += 1;
                }
                Edge::Leaf(leaf) => {
                    let state = leaves.entry(leaf.as_ptr()).or_insert_with(|| LeafState {
                        tensor: leaf.clone(),
                        feeders: 0,
                        grad: None,
                    });
                    state.feeders += 1;
                }
                Edge::None => {}
            }
        }
    }
    (nodes, leaves)
}

/// Phase 2: the nodes whose VJP must run for the wanted gradients: those with an input edge
/// to a target leaf, or to a node that has a target output or itself runs. (A node that does
/// not run has no such node below it, so skipping it starves nothing that is wanted.)
/// Iterative post-order over the discovered graph: no recursion, whatever its depth.
fn prune(
    nodes: &Nodes,
    node_targets: &HashMap<Slot, usize>,
    leaf_targets: &HashSet<LeafId>,
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
            // Undiscovered children lie beyond a node where a bounded sweep stops.
            let children = || {
                node.edges.iter().filter_map(|e| match e {
                    Edge::Node(child, _) if nodes.contains_key(&Arc::as_ptr(child)) => Some(child),
                    _ => None,
                })
            };
            if !expanded {
                stack.push((node.clone(), true));
                stack.extend(children().map(|c| (c.clone(), false)));
                continue;
            }
            let run = node.edges.iter().any(|edge| match edge {
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

/// A node in the ready queue: the newest (largest sequence number) runs first.
struct Newest(Arc<Node>);

impl PartialEq for Newest {
    fn eq(&self, other: &Self) -> bool {
        self.0.seq() == other.0.seq()
    }
}
impl Eq for Newest {}
impl PartialOrd for Newest {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Newest {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.seq().cmp(&other.0.seq())
    }
}

/// The state of one sweep between phases.
struct Sweep<'a> {
    sink: Sink<'a>,
    retain_graph: bool,
    /// Targets that are node outputs: slot → position among the targets.
    node_targets: HashMap<Slot, usize>,
    nodes: Nodes,
    leaves: HashMap<LeafId, LeafState>,
    /// Gradients received so far by node outputs.
    node_grads: HashMap<Slot, Tensor>,
    /// The nodes allowed to run their VJP (`None`: all of them).
    runs: Option<HashSet<NodeId>>,
    /// Captured gradients, one per target (node targets; leaves are filled in at the end).
    found: Vec<Option<Tensor>>,
    /// Captured gradients of leaves.
    leaf_results: HashMap<LeafId, Tensor>,
}

impl<'a> Sweep<'a> {
    fn new(sink: Sink<'a>, retain_graph: bool) -> Self {
        let targets = Self::targets_of(&sink);
        let node_targets = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.grad_fn_with_index().map(|(n, k)| ((Arc::as_ptr(&n), k), i)))
            .collect();
        Sweep {
            found: vec![None; targets.len()],
            sink,
            retain_graph,
            node_targets,
            nodes: HashMap::new(),
            leaves: HashMap::new(),
            node_grads: HashMap::new(),
            runs: None,
            leaf_results: HashMap::new(),
        }
    }

    fn targets_of<'s>(sink: &'s Sink<'a>) -> &'a [Tensor] {
        match sink {
            Sink::Capture(inputs) | Sink::CaptureWithin(inputs) => inputs,
            Sink::AccumulateIntoGrad => &[],
        }
    }

    fn capturing(&self) -> bool {
        !matches!(self.sink, Sink::AccumulateIntoGrad)
    }

    fn leaf_targets(&self) -> HashSet<LeafId> {
        Self::targets_of(&self.sink).iter().filter(|t| t.is_leaf()).map(Tensor::id).collect()
    }

    /// In a bounded sweep, a target's node is where the sweep ends.
    fn stops_at(&self, node: &Arc<Node>) -> bool {
        matches!(self.sink, Sink::CaptureWithin(_))
            && (0..node.num_outputs())
                .any(|k| self.node_targets.contains_key(&(Arc::as_ptr(node), k)))
    }

    /// Adds `g` to a leaf's gradient so far.
    fn leaf_gradient(&mut self, id: LeafId, tensor: Weak<TensorImpl>, g: Tensor) -> Result<()> {
        let state = self.leaves.entry(id).or_insert(LeafState { tensor, feeders: 0, grad: None });
        state.grad = Some(match state.grad.take() {
            None => g,
            Some(old) => old.add(&g)?,
        });
        Ok(())
    }

    /// Phase 5: runs one node whose consumers have all reported, and returns the nodes that
    /// became ready.
    fn run_node(&mut self, node: &Arc<Node>) -> Result<Vec<Arc<Node>>> {
        // Between nodes, before this one touches anything: Ctrl-C stops the sweep here.
        crate::interrupt::check("backward")?;
        let id = Arc::as_ptr(node);
        let outputs: Vec<Option<Tensor>> =
            (0..node.num_outputs()).map(|k| self.node_grads.remove(&(id, k))).collect();
        if outputs.iter().any(Option::is_some) {
            let outputs = self.visit_outputs(node, outputs)?;
            let wanted = self.runs.as_ref().is_none_or(|r| r.contains(&id));
            if wanted && !self.stops_at(node) {
                self.run_vjp(node, outputs)?;
            }
        }
        if self.stops_at(node) {
            return Ok(Vec::new()); // its upstream was never discovered: the sweep ends here
        }
        if !self.retain_graph {
            node.release();
        }
        let mut ready = Vec::new();
        for edge in &node.edges {
            match edge {
                Edge::Node(child, _) => {
                    let entry = self.nodes.get_mut(&Arc::as_ptr(child)).ok_or_else(|| {
                        Error::internal("backward", "every child node was discovered")
                    })?;
                    entry.1 -= 1;
                    if entry.1 == 0 {
                        ready.push(entry.0.clone());
                    }
                }
                Edge::Leaf(leaf) => {
                    let state = self
                        .leaves
                        .get_mut(&leaf.as_ptr())
                        .ok_or_else(|| Error::internal("backward", "every leaf was discovered"))?;
                    state.feeders -= 1;
                    if state.feeders == 0 {
                        self.finish_leaf(leaf.as_ptr())?;
                    }
                }
                Edge::None => {}
            }
        }
        Ok(ready)
    }

    /// Runs each output's hooks, captures targets and fills retained gradients; returns the
    /// (possibly replaced) gradients.
    fn visit_outputs(
        &mut self,
        node: &Arc<Node>,
        outputs: Vec<Option<Tensor>>,
    ) -> Result<Vec<Option<Tensor>>> {
        let id = Arc::as_ptr(node);
        let mut visited = Vec::with_capacity(outputs.len());
        for (k, grad) in outputs.into_iter().enumerate() {
            let Some(grad) = grad else {
                visited.push(None);
                continue;
            };
            let hooks: Vec<GradHook> = node.hooks.lock().unwrap_or_else(|e| e.into_inner())[k]
                .iter()
                .map(|(_, h)| h.clone())
                .collect();
            let grad = run_hooks(&hooks, grad)?;
            if let Some(&i) = self.node_targets.get(&(id, k)) {
                self.found[i] = Some(grad.clone());
            }
            if !self.capturing() {
                let retained = node.retained.lock().unwrap_or_else(|e| e.into_inner())[k].clone();
                if let Some(t) = retained.and_then(|w| w.upgrade()) {
                    Tensor(t).accumulate_grad(grad.clone())?;
                }
            }
            visited.push(Some(grad));
        }
        Ok(visited)
    }

    /// Runs the node's VJP and delivers each input's gradient to its node output or leaf.
    fn run_vjp(&mut self, node: &Arc<Node>, outputs: Vec<Option<Tensor>>) -> Result<()> {
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
            if anomaly::is_anomaly_check_nan_enabled() {
                check_finite(node, i, &g)?;
            }
            match edge {
                Edge::None => {}
                Edge::Leaf(leaf) => {
                    let g = fit_to_input(node, i, g)?;
                    self.leaf_gradient(leaf.as_ptr(), leaf.clone(), g)?;
                }
                Edge::Node(child, k) => {
                    let g = fit_to_input(node, i, g)?;
                    accumulate(&mut self.node_grads, (Arc::as_ptr(child), *k), g)?;
                }
            }
        }
        Ok(())
    }

    /// Phase 6: a leaf's gradient is complete: run its hooks, then accumulate it into `.grad`
    /// and fire its post-accumulate hooks (or capture it, for `grad()`).
    fn finish_leaf(&mut self, id: LeafId) -> Result<()> {
        let Some(state) = self.leaves.get_mut(&id) else { return Ok(()) };
        let Some(g) = state.grad.take() else { return Ok(()) };
        // A leaf that no longer exists cannot be asked for its gradient.
        let Some(leaf) = state.tensor.upgrade().map(Tensor) else { return Ok(()) };
        let g = run_hooks(&leaf.leaf_hooks(), g)?;
        if self.capturing() {
            self.leaf_results.insert(id, g);
            return Ok(());
        }
        leaf.accumulate_grad(g)?;
        for hook in leaf.post_accumulate_hooks() {
            hook(&leaf)?;
        }
        Ok(())
    }

    /// The captured gradients, one per target.
    fn into_found(mut self) -> Result<Vec<Option<Tensor>>> {
        for (i, t) in Self::targets_of(&self.sink).iter().enumerate() {
            if t.is_leaf() {
                self.found[i] = self.leaf_results.remove(&t.id());
            }
        }
        Ok(self.found)
    }
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

/// Anomaly mode: fails on a NaN (PyTorch's message) or an infinity (the addition: an
/// infinite gradient is where most NaNs start) in the gradient a rule returned for input `i`,
/// naming the node and where it was created.
fn check_finite(node: &Node, i: usize, g: &Tensor) -> Result<()> {
    let values = g.array().to_f64_vec();
    let what = if values.iter().any(|v| v.is_nan()) {
        "nan"
    } else if values.iter().any(|v| v.is_infinite()) {
        "inf"
    } else {
        return Ok(());
    };
    let mut message =
        format!("Function '{}' returned {what} values in its {i}th output.", node.name());
    if let Some(context) = node.creation_context() {
        message.push_str(&format!("\nThe node was created by this call (forward):\n{context}"));
    }
    Err(Error::Graph(message))
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
