//! The recorded graph: nodes, their edges to inputs, saved tensors, and grad mode.
//!
//! Each differentiable op that runs with grad mode on and an input that requires grad records one
//! [`Node`]: the op's [`Backward`] rule (holding only what its VJP needs), one [`Edge`] per input,
//! and the inputs' shapes. The engine ([`crate::engine`]) sweeps these nodes in reverse.

use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorImpl};
use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex, Weak};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops record the graph on this thread (PyTorch's `torch.is_grad_enabled()`).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Turns recording on or off for this thread; returns the previous mode.
pub fn set_grad_enabled(enabled: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(enabled))
}

/// Restores the previous grad mode when dropped.
pub struct GradModeGuard(bool);

impl GradModeGuard {
    /// Sets grad mode to `enabled` until the guard is dropped.
    pub fn new(enabled: bool) -> Self {
        GradModeGuard(set_grad_enabled(enabled))
    }
}

impl Drop for GradModeGuard {
    fn drop(&mut self) {
        set_grad_enabled(self.0);
    }
}

/// A tensor kept for a VJP, with the version it had when saved (in-place changes are caught).
pub struct SavedTensor {
    tensor: Tensor,
    version: u64,
    why: &'static str,
}

impl SavedTensor {
    /// Saves `tensor`, recording why the rule needs it (shown by the memory bill).
    pub fn new(tensor: &Tensor, why: &'static str) -> Self {
        SavedTensor { tensor: tensor.clone(), version: tensor.version(), why }
    }

    /// The saved tensor, or an error if it was modified in place since it was saved.
    pub fn get(&self, op: &str) -> Result<&Tensor> {
        if self.tensor.version() != self.version {
            return Err(Error::Graph(format!(
                "{op}: a tensor saved for backward ({}, shape {:?}) was modified in place after it \
                 was saved (version {} is now {})",
                self.why,
                self.tensor.shape(),
                self.version,
                self.tensor.version()
            )));
        }
        Ok(&self.tensor)
    }

    /// Why the rule needs this tensor.
    pub fn why(&self) -> &'static str {
        self.why
    }

    /// The bytes this saved tensor holds.
    pub fn nbytes(&self) -> usize {
        self.tensor.nbytes()
    }
}

/// What the engine hands a rule while it runs.
pub struct VjpContext<'a> {
    node: &'a Arc<Node>,
}

impl VjpContext<'_> {
    /// Rebuilds the op's output from its saved data. When the backward records a graph
    /// (`create_graph=True`) the tensor is connected to this node, so derivatives that use the
    /// output are themselves differentiable; saving it detached avoids a reference cycle.
    pub fn result(&self, data: &Array) -> Tensor {
        if is_grad_enabled() {
            Tensor::from_node_output(data.clone(), self.node.clone())
        } else {
            Tensor::from_array(data.clone())
        }
    }

    /// Whether input `i` needs a gradient (rules may skip work for the others).
    pub fn needs_input_grad(&self, i: usize) -> bool {
        !matches!(self.node.edges.get(i), None | Some(Edge::None))
    }
}

/// An op's derivative rule: the VJP and what it saved for it.
///
/// Rules are written with [`Tensor`] ops, so a backward run with grad mode on (`create_graph`)
/// records a differentiable graph of its own. Rules never see broadcasting: the engine sums each
/// returned gradient down to its input's shape.
pub trait Backward: Send + Sync {
    /// The node's name as users see it in `grad_fn`, e.g. `MulBackward`.
    fn name(&self) -> &'static str;

    /// Given `grad` (∂L/∂output), returns ∂L/∂input for each input, `None` where no gradient
    /// flows (the input does not require grad, or the gradient is identically zero).
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>>;

    /// The tensors kept for the VJP and why, for memory accounting.
    fn saved(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }
}

/// Where an input's gradient goes.
pub enum Edge {
    /// The input does not require grad.
    None,
    /// A leaf that requires grad: its gradient is accumulated into `.grad`.
    Leaf(Tensor),
    /// The node that produced the input.
    Node(Arc<Node>),
}

/// Shape and dtype of one input, for unbroadcasting and checking gradients.
#[derive(Clone, Debug)]
pub struct InputMeta {
    /// The input's shape.
    pub shape: Vec<usize>,
    /// The input's dtype.
    pub dtype: DType,
}

/// One recorded op application.
pub struct Node {
    name: &'static str,
    rule: Mutex<Option<Box<dyn Backward>>>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) inputs: Vec<InputMeta>,
    /// A non-leaf output that asked for `retain_grad()`.
    pub(crate) retained: Mutex<Option<Weak<TensorImpl>>>,
}

impl Node {
    /// The rule's name, e.g. `MulBackward` (kept after the rule's buffers are freed).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs the rule, or fails if its saved tensors were freed by an earlier backward.
    pub(crate) fn run_vjp(self: &Arc<Self>, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let rule = self.rule.lock().unwrap_or_else(|e| e.into_inner());
        let rule = rule.as_ref().ok_or_else(|| {
            Error::Graph(format!(
                "trying to backward through the graph a second time ({} has already freed its \
                 saved tensors); specify retain_graph=True on the first backward() call if you \
                 need to backward twice",
                self.name
            ))
        })?;
        rule.vjp(grad, &VjpContext { node: self })
    }

    /// Frees the saved tensors (after a backward without `retain_graph`).
    pub(crate) fn release(&self) {
        let freed = self.rule.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(freed);
    }

    /// Bytes held for backward by this node, with the reasons.
    pub fn saved(&self) -> Vec<(&'static str, usize)> {
        self.rule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(Vec::new(), |r| r.saved())
    }
}

// Dropping a long chain of nodes recursively would overflow the stack (each node owns the next
// through its edges and saved tensors). The outermost drop on a thread instead parks the parts it
// owns in a queue and drains it in a loop, so nested drops only ever go a constant depth.
/// What a dropped node owned that may own further nodes.
type NodeParts = (Vec<Edge>, Option<Box<dyn Backward>>);

thread_local! {
    static DROPPING: Cell<bool> = const { Cell::new(false) };
    static PARKED: RefCell<Vec<NodeParts>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Node {
    fn drop(&mut self) {
        let parts = (
            std::mem::take(&mut self.edges),
            self.rule.get_mut().unwrap_or_else(|e| e.into_inner()).take(),
        );
        let nested = DROPPING.try_with(|d| d.replace(true)).unwrap_or(false);
        if nested {
            // An outer drop on this thread is draining the queue; hand it our parts.
            // (If the thread is being torn down the queue is gone; then drop in place.)
            let mut parts = Some(parts);
            let _ = PARKED.try_with(|q| q.borrow_mut().push(parts.take().expect("once")));
            drop(parts);
            return;
        }
        drop(parts);
        while let Some(next) = PARKED.try_with(|q| q.borrow_mut().pop()).ok().flatten() {
            drop(next);
        }
        let _ = DROPPING.try_with(|d| d.set(false));
    }
}

/// Records `output` as the result of an op on `inputs` when grad mode is on and any input
/// requires grad; `rule` is only built in that case (saving nothing otherwise).
pub fn record(
    inputs: &[&Tensor],
    output: Array,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Tensor {
    if !is_grad_enabled() || !inputs.iter().any(|t| t.requires_grad()) {
        return Tensor::from_array(output);
    }
    let rule = rule();
    let edges = inputs.iter().map(|t| t.edge()).collect();
    let metas = inputs.iter().map(|t| InputMeta { shape: t.shape(), dtype: t.dtype() }).collect();
    let node = Arc::new(Node {
        name: rule.name(),
        rule: Mutex::new(Some(rule)),
        edges,
        inputs: metas,
        retained: Mutex::new(None),
    });
    Tensor::from_node_output(output, node)
}
