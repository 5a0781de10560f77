//! Nodes, edges and the rule trait: one recorded op application, where its inputs' gradients
//! go, and the [`Backward`] rule (VJP and JVP) that computes them.

use crate::array::{Array, DType};
use crate::error::{Error, Result};
use crate::graph::accounting;
use crate::graph::forward_ad::{sum_tangents, Tangents};
use crate::graph::grad_mode::is_grad_enabled;
use crate::graph::saved::{SavedAs, SavedInfo};
use crate::storage::Storage;
use crate::tensor::{Tensor, TensorImpl};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// What the engine hands a rule while it runs.
pub struct VjpContext<'a> {
    node: &'a Arc<Node>,
}

impl VjpContext<'_> {
    /// Rebuilds output `index` of the op from its saved data. When the backward records a graph
    /// (`create_graph=True`) the tensor is connected to this node, so derivatives that use the
    /// output are themselves differentiable; saving it detached avoids a reference cycle.
    pub fn result_at(&self, data: &Array, index: usize) -> Tensor {
        let tangents =
            self.node.output_tangents[index].lock().unwrap_or_else(|e| e.into_inner()).clone();
        if is_grad_enabled() {
            Tensor::rebuild(data.clone(), true, Some((self.node.clone(), index)), tangents)
        } else {
            Tensor::rebuild(data.clone(), false, None, tangents)
        }
    }

    /// [`VjpContext::result_at`] for single-output ops.
    pub fn result(&self, data: &Array) -> Tensor {
        self.result_at(data, 0)
    }

    /// Whether input `i` needs a gradient (rules may skip work for the others).
    pub fn needs_input_grad(&self, i: usize) -> bool {
        !matches!(self.node.edges.get(i), None | Some(Edge::None))
    }

    /// Shape and dtype of input `i`.
    pub fn input(&self, i: usize) -> &InputMeta {
        &self.node.inputs[i]
    }
}

/// What a JVP rule sees: the primal `inputs`, the op's `result`, and one tangent per input
/// (`None` for a zero tangent).
pub struct Jvp<'a> {
    /// The primal inputs.
    pub inputs: &'a [&'a Tensor],
    /// The op's output.
    pub result: &'a Tensor,
    /// One tangent per input, `None` where it is zero.
    pub tangents: &'a [Option<Tensor>],
}

impl Jvp<'_> {
    /// The tangent of input `i`, if it is not zero.
    pub fn tangent(&self, i: usize) -> Option<&Tensor> {
        self.tangents.get(i).and_then(Option::as_ref)
    }

    /// The JVP of an op that is linear in its one input: the op itself applied to the
    /// tangent (JAX's `deflinear`).
    pub fn linear(&self, op: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<Option<Tensor>> {
        self.tangent(0).map(op).transpose()
    }

    /// `Σ_i ∂op/∂input_i · t_i` over the inputs whose tangent is not zero, with `term(i, t_i)`
    /// giving each input's contribution.
    pub fn sum(&self, term: impl Fn(usize, &Tensor) -> Result<Tensor>) -> Result<Option<Tensor>> {
        sum_tangents(
            self.tangents.iter().enumerate().filter_map(|(i, t)| t.as_ref().map(|t| term(i, t))),
        )
    }
}

/// An op's derivative rules: the VJP (reverse mode) and the JVP (forward mode), and what it
/// saved for them.
///
/// Rules are written with [`Tensor`] ops, so a backward run with grad mode on (`create_graph`)
/// records a differentiable graph of its own. Rules never see broadcasting: the engine sums each
/// returned gradient down to its input's shape.
pub trait Backward: Send + Sync {
    /// The node's name as users see it in `grad_fn`, e.g. `MulBackward`.
    fn name(&self) -> &str;

    /// Given `grad` (∂L/∂output), returns ∂L/∂input for each input, `None` where no gradient
    /// flows (the input does not require grad, or the gradient is identically zero).
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>>;

    /// Ops with several outputs receive one gradient per output (zeros where none flowed).
    fn vjp_multi(&self, grads: &[Tensor], ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        self.vjp(&grads[0], ctx)
    }

    /// The result's tangent `J · t` (`None` for zero), given the primal inputs, the op's
    /// `result` and a tangent per input (see [`Jvp`]).
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>>;

    /// The tensors kept for the rules and why, for memory accounting (empty for rules that
    /// keep nothing: stated, never defaulted).
    fn saved(&self) -> Vec<SavedInfo>;

    /// The bytes [`saved`](Backward::saved) lists, summed. The engine reads it once per
    /// recorded op; rules on the hot path override it so that recording does not build the
    /// list (debug builds check that the two agree).
    fn saved_bytes(&self) -> usize {
        self.saved().iter().map(|s| s.bytes).sum()
    }
}

/// Where an input's gradient goes.
pub enum Edge {
    /// The input does not require grad.
    None,
    /// A leaf that requires grad: its gradient is accumulated into `.grad` (if it still exists).
    Leaf(Weak<TensorImpl>),
    /// Output `.1` of the node that produced the input.
    Node(Arc<Node>, usize),
}

/// Shape and dtype of one input or output, for unbroadcasting and checking gradients.
#[derive(Clone, Debug)]
pub struct InputMeta {
    /// The shape.
    pub shape: Vec<usize>,
    /// The dtype.
    pub dtype: DType,
}

/// A function of the incoming gradient, called during backward; it may return a replacement.
pub type GradHook = Arc<dyn Fn(&Tensor) -> Result<Option<Tensor>> + Send + Sync>;

/// A function called with a leaf right after a backward accumulated into its `.grad`
/// (PyTorch's post-accumulate-grad hook: the "gradient ready" event of data-parallel training).
pub type PostAccumulateHook = Arc<dyn Fn(&Tensor) -> Result<()> + Send + Sync>;

/// One recorded op application.
pub struct Node {
    pub(crate) name: String,
    pub(crate) seq: u64,
    pub(crate) label: Option<Arc<str>>,
    /// Where the op was recorded, captured only in anomaly mode.
    pub(crate) context: Option<Arc<str>>,
    /// Bytes this node holds for backward, as counted in [`saved_bytes`] (0 once released).
    pub(crate) accounted: AtomicUsize,
    /// The rule, shared so that it can run without holding the lock (a rule may call back into
    /// user code, which may read this node).
    pub(crate) rule: Mutex<Option<Arc<dyn Backward>>>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) inputs: Vec<InputMeta>,
    pub(crate) outputs: Vec<InputMeta>,
    /// Tangents of the outputs when they were computed in a dual level.
    pub(crate) output_tangents: Vec<Mutex<Tangents>>,
    /// Per output: a non-leaf that asked for `retain_grad()`.
    pub(crate) retained: Mutex<Vec<Option<Weak<TensorImpl>>>>,
    /// Per output: hooks registered on the output tensor, with their ids.
    pub(crate) hooks: Mutex<Vec<Vec<(u64, GradHook)>>>,
    /// Per output: its storage and the version the rule's saved result matches (an in-place
    /// op on the output afterwards makes a rule that saved it refuse to run).
    pub(crate) output_versions: Mutex<Vec<Option<OutputVersion>>>,
}

/// An output's storage and the version of it that a saved result matches.
pub(crate) type OutputVersion = (Weak<Storage>, u64);

impl Node {
    /// The rule's name, e.g. `MulBackward` (kept after the rule's buffers are freed).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of outputs.
    pub fn num_outputs(&self) -> usize {
        self.outputs.len()
    }

    /// Creation order: nodes recorded later have larger numbers.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The label (nn module) active when the node was recorded.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Shape and dtype of each output.
    pub fn outputs(&self) -> &[InputMeta] {
        &self.outputs
    }

    /// The nodes and leaves this node's inputs come from.
    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    fn unaccount(&self) {
        accounting::unaccount(self.accounted.swap(0, Ordering::Relaxed));
    }

    /// Where the op was recorded (a stack trace), when anomaly mode was on.
    pub fn creation_context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The rule, or an error if its saved tensors were freed by an earlier backward.
    pub(crate) fn rule(&self) -> Result<Arc<dyn Backward>> {
        let rule = self.rule.lock().unwrap_or_else(|e| e.into_inner()).clone();
        rule.ok_or_else(|| {
            Error::Graph(format!(
                "trying to backward through the graph a second time ({} has already freed its \
                 saved tensors); specify retain_graph=True on the first backward() call if you \
                 need to backward twice",
                self.name
            ))
        })
    }

    /// Runs the rule's VJP (outside the lock: it may run user code).
    pub(crate) fn run_vjp(self: &Arc<Self>, grads: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let rule = self.rule()?;
        self.check_saved_results(rule.as_ref())?;
        rule.vjp_multi(grads, &VjpContext { node: self })
    }

    /// Records where output `index` lives now (after an op made it, or an in-place op wrote
    /// it and made this node its history).
    pub(crate) fn set_output_version(&self, index: usize, storage: &Arc<Storage>) {
        self.output_versions.lock().unwrap_or_else(|e| e.into_inner())[index] =
            Some((Arc::downgrade(storage), storage.version()));
    }

    /// Refuses to run a rule that saved its result when an in-place op has since written
    /// that output (PyTorch's error, with both versions).
    fn check_saved_results(&self, rule: &dyn Backward) -> Result<()> {
        let versions = self.output_versions.lock().unwrap_or_else(|e| e.into_inner());
        for (index, entry) in versions.iter().enumerate() {
            let Some((storage, saved)) = entry else { continue };
            let Some(storage) = storage.upgrade() else { continue };
            let now = storage.version();
            if now != *saved && rule.saved().iter().any(|s| s.why == SavedAs::Result) {
                return Err(modified_in_place(
                    &self.outputs[index],
                    Some((self.name(), index)),
                    now,
                    *saved,
                    self.name(),
                ));
            }
        }
        Ok(())
    }

    /// Frees the saved tensors (after a backward without `retain_graph`).
    pub(crate) fn release(&self) {
        let freed = self.rule.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.unaccount();
        drop(freed);
    }

    /// What this node holds for backward, with the reasons (empty once released).
    pub fn saved(&self) -> Vec<SavedInfo> {
        let rule = self.rule.lock().unwrap_or_else(|e| e.into_inner()).clone();
        rule.map_or(Vec::new(), |r| r.saved())
    }
}

/// What a dropped node owned that may own further nodes.
type NodeParts = (Vec<Edge>, Option<Arc<dyn Backward>>, Vec<Mutex<Tangents>>);

// Dropping a long chain of nodes recursively would overflow the stack (each node owns the next
// through its edges and saved tensors). The outermost drop on a thread instead parks the parts it
// owns in a queue and drains it in a loop, so nested drops only ever go a constant depth.
thread_local! {
    static DROPPING: Cell<bool> = const { Cell::new(false) };
    static PARKED: RefCell<Vec<NodeParts>> = const { RefCell::new(Vec::new()) };
}

impl Drop for Node {
    fn drop(&mut self) {
        self.unaccount();
        let parts = (
            std::mem::take(&mut self.edges),
            self.rule.get_mut().unwrap_or_else(|e| e.into_inner()).take(),
            std::mem::take(&mut self.output_tangents),
        );
        let nested = DROPPING.try_with(|d| d.replace(true)).unwrap_or(false);
        if nested {
            // An outer drop on this thread is draining the queue; hand it our parts.
            // (If the thread is being torn down the queue is gone; then drop in place.)
            let mut parts = Some(parts);
            let _ = PARKED.try_with(|q| q.borrow_mut().extend(parts.take()));
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

/// PyTorch's error for a saved tensor written in place since it was saved.
pub(crate) fn modified_in_place(
    meta: &InputMeta,
    output_of: Option<(&str, usize)>,
    now: u64,
    expected: u64,
    needed_by: &str,
) -> Error {
    let of =
        output_of.map_or(String::new(), |(name, i)| format!(", which is output {i} of {name},"));
    Error::Graph(format!(
        "one of the variables needed for gradient computation has been modified by an inplace \
         operation: [{} {}]{of} is at version {now}; expected version {expected} instead \
         (needed by {needed_by}). Hint: {needed_by} computes its gradient from the value before \
         the change; clone() the tensor before modifying it, or modify it after backward",
        meta.dtype,
        crate::error::fmt_shape(&meta.shape),
    ))
}
