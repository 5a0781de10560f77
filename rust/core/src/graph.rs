//! The recorded graph: nodes, their edges to inputs, saved tensors, grad mode and forward mode.
//!
//! Each differentiable op that runs with grad mode on and an input that requires grad records one
//! [`Node`]: the op's [`Backward`] rule (holding only what its VJP needs), one [`Edge`] per input,
//! and the inputs' shapes. The engine ([`crate::engine`]) sweeps these nodes in reverse.
//!
//! The same rule object also carries the op's JVP: inside a dual level (forward mode), an op
//! whose inputs carry tangents computes its output's tangent right away, in the forward sweep.
//!
//! Nothing in the graph holds a leaf strongly, so a gradient built with `create_graph=True`
//! (whose graph refers back to the leaf) does not keep its own leaf alive: no reference cycles.

use crate::array::{Array, DType};
use crate::error::{fmt_shape, Error, Result};
use crate::tensor::{Tensor, TensorImpl};
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
    static DUAL_LEVELS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
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

/// Whether ops propagate tangents on this thread (inside a dual level).
pub fn is_forward_ad_enabled() -> bool {
    DUAL_LEVELS.with(|l| !l.borrow().is_empty())
}

static NEXT_DUAL_LEVEL: AtomicU64 = AtomicU64::new(1);

/// Opens a forward-mode level on this thread and returns its id. Levels nest (`jvp` of
/// `jvp`): each carries its own tangents, and ids are never reused, so a tangent left on a
/// tensor by a closed level is never mistaken for a live one.
pub fn enter_dual_level() -> u64 {
    let id = NEXT_DUAL_LEVEL.fetch_add(1, Ordering::Relaxed);
    DUAL_LEVELS.with(|l| l.borrow_mut().push(id));
    id
}

/// Closes the innermost level, which must be `id`.
pub fn exit_dual_level(id: u64) -> Result<()> {
    DUAL_LEVELS.with(|l| {
        let mut levels = l.borrow_mut();
        if levels.last() != Some(&id) {
            return Err(Error::Graph(format!(
                "dual level {id} is not the innermost open level ({:?}): exit levels in reverse \
                 order of entering them",
                levels.last()
            )));
        }
        levels.pop();
        Ok(())
    })
}

/// The innermost open level, if any.
pub fn current_dual_level() -> Option<u64> {
    DUAL_LEVELS.with(|l| l.borrow().last().copied())
}

/// Whether results computed now may be differentiated: a graph is being recorded, or a
/// forward-mode level is open. A rule may use a fused, non-differentiable kernel in its VJP
/// only when this is false.
pub fn derivatives_tracked() -> bool {
    is_grad_enabled() || current_dual_level().is_some()
}

/// Replaces the open levels (to suspend forward mode) and returns the previous ones.
pub fn swap_dual_levels(levels: Vec<u64>) -> Vec<u64> {
    DUAL_LEVELS.with(|l| std::mem::replace(&mut *l.borrow_mut(), levels))
}

/// Keeps only the `keep` outermost levels open while a JVP rule computes: the tangent at
/// level `keep` is built from ops that propagate the outer levels' tangents, never its own.
struct OuterLevelsOnly(Vec<u64>);

impl OuterLevelsOnly {
    fn new(keep: usize) -> Self {
        let all = DUAL_LEVELS.with(|l| l.borrow().clone());
        DUAL_LEVELS.with(|l| l.borrow_mut().truncate(keep));
        OuterLevelsOnly(all)
    }
}

impl Drop for OuterLevelsOnly {
    fn drop(&mut self) {
        DUAL_LEVELS.with(|l| *l.borrow_mut() = std::mem::take(&mut self.0));
    }
}

/// The sum of a JVP's contributions, one per input with a tangent (`None` when there are
/// none: a zero tangent).
pub fn sum_tangents(parts: impl IntoIterator<Item = Result<Tensor>>) -> Result<Option<Tensor>> {
    let mut total: Option<Tensor> = None;
    for part in parts {
        let part = part?;
        total = Some(match total {
            None => part,
            Some(sum) => sum.add(&part)?,
        });
    }
    Ok(total)
}

/// Tangents a tensor carries, one per dual level id.
pub type Tangents = Vec<(u64, Tensor)>;

/// One tensor a rule keeps for backward, as the memory bill lists it.
#[derive(Clone, Debug)]
pub struct SavedInfo {
    /// Why the rule needs it: `input 0`, `output`, ...
    pub why: &'static str,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its dtype.
    pub dtype: DType,
    /// The bytes its elements occupy.
    pub bytes: usize,
}

impl SavedInfo {
    /// Describes saved data.
    pub fn of(why: &'static str, data: &Array) -> Self {
        SavedInfo { why, shape: data.shape().to_vec(), dtype: data.dtype(), bytes: data.nbytes() }
    }
}

static SAVED_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_SAVED_BYTES: AtomicUsize = AtomicUsize::new(0);
static NODE_SEQ: AtomicU64 = AtomicU64::new(0);

/// Bytes held for backward right now, across all live graphs (a tensor saved by two rules
/// counts twice).
pub fn saved_bytes() -> usize {
    SAVED_BYTES.load(Ordering::Relaxed)
}

/// The largest [`saved_bytes`] seen since the last [`reset_peak_saved_bytes`].
pub fn peak_saved_bytes() -> usize {
    PEAK_SAVED_BYTES.load(Ordering::Relaxed)
}

/// Restarts peak tracking from the current [`saved_bytes`].
pub fn reset_peak_saved_bytes() {
    PEAK_SAVED_BYTES.store(saved_bytes(), Ordering::Relaxed);
}

/// The sequence number the next recorded node will get (nodes are numbered in creation order).
pub fn next_node_seq() -> u64 {
    NODE_SEQ.load(Ordering::Relaxed)
}

thread_local! {
    static LABELS: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
}

/// Labels the nodes recorded on this thread until the matching [`pop_label`] (nn modules push
/// their name, so the memory bill can total by module).
pub fn push_label(label: &str) {
    LABELS.with(|l| l.borrow_mut().push(Arc::from(label)));
}

/// Ends the innermost [`push_label`].
pub fn pop_label() {
    LABELS.with(|l| l.borrow_mut().pop());
}

/// A tensor kept for a rule, with the version it had when saved (in-place changes are caught).
///
/// It holds the data and the tensor's place in the graph, but the tensor itself only weakly:
/// a leaf whose gradient graph saved it must not be kept alive by that gradient.
pub struct SavedTensor {
    data: Array,
    version: u64,
    why: &'static str,
    source: Weak<TensorImpl>,
    requires_grad: bool,
    grad_fn: Option<(Arc<Node>, usize)>,
    tangents: Tangents,
}

impl SavedTensor {
    /// Saves `tensor`, recording why the rule needs it (shown by the memory bill).
    pub fn new(tensor: &Tensor, why: &'static str) -> Self {
        SavedTensor {
            data: tensor.array(),
            version: tensor.version(),
            why,
            source: Arc::downgrade(&tensor.0),
            requires_grad: tensor.requires_grad(),
            grad_fn: tensor.grad_fn_with_index(),
            tangents: tensor.tangents(),
        }
    }

    /// The saved tensor, or an error if it was modified in place since it was saved.
    pub fn get(&self, op: &str) -> Result<Tensor> {
        let Some(alive) = self.source.upgrade().map(Tensor) else {
            // Nobody can modify, or read the gradient of, a tensor that is gone: rebuild it.
            return Ok(Tensor::rebuild(
                self.data.clone(),
                self.requires_grad,
                self.grad_fn.clone(),
                self.tangents.clone(),
            ));
        };
        if alive.version() != self.version {
            return Err(Error::Graph(format!(
                "{op}: a tensor saved for backward ({}, shape {}) was modified in place after it \
                 was saved (version {} is now {})",
                self.why,
                fmt_shape(self.data.shape()),
                self.version,
                alive.version()
            )));
        }
        Ok(alive)
    }

    /// Why the rule needs this tensor.
    pub fn why(&self) -> &'static str {
        self.why
    }

    /// The bytes this saved tensor holds.
    pub fn nbytes(&self) -> usize {
        self.data.nbytes()
    }

    /// What the memory bill shows for it.
    pub fn info(&self) -> SavedInfo {
        SavedInfo::of(self.why, &self.data)
    }
}

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

    /// Given the primal `inputs`, the op's `result` and a tangent per input (`None` for zero),
    /// returns the result's tangent `J · t` (`None` for zero).
    fn jvp(
        &self,
        inputs: &[&Tensor],
        result: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Result<Option<Tensor>>;

    /// The tensors kept for the rules and why, for memory accounting.
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }

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

/// One recorded op application.
pub struct Node {
    name: String,
    seq: u64,
    label: Option<Arc<str>>,
    /// Bytes this node holds for backward, as counted in [`saved_bytes`] (0 once released).
    accounted: AtomicUsize,
    rule: Mutex<Option<Box<dyn Backward>>>,
    pub(crate) edges: Vec<Edge>,
    pub(crate) inputs: Vec<InputMeta>,
    pub(crate) outputs: Vec<InputMeta>,
    /// Tangents of the outputs when they were computed in a dual level.
    output_tangents: Vec<Mutex<Tangents>>,
    /// Per output: a non-leaf that asked for `retain_grad()`.
    pub(crate) retained: Mutex<Vec<Option<Weak<TensorImpl>>>>,
    /// Per output: hooks registered on the output tensor, with their ids.
    pub(crate) hooks: Mutex<Vec<Vec<(u64, GradHook)>>>,
}

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
        SAVED_BYTES.fetch_sub(self.accounted.swap(0, Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Runs the rule, or fails if its saved tensors were freed by an earlier backward.
    pub(crate) fn run_vjp(self: &Arc<Self>, grads: &[Tensor]) -> Result<Vec<Option<Tensor>>> {
        let rule = self.rule.lock().unwrap_or_else(|e| e.into_inner());
        let rule = rule.as_ref().ok_or_else(|| {
            Error::Graph(format!(
                "trying to backward through the graph a second time ({} has already freed its \
                 saved tensors); specify retain_graph=True on the first backward() call if you \
                 need to backward twice",
                self.name
            ))
        })?;
        rule.vjp_multi(grads, &VjpContext { node: self })
    }

    /// Frees the saved tensors (after a backward without `retain_graph`).
    pub(crate) fn release(&self) {
        let freed = self.rule.lock().unwrap_or_else(|e| e.into_inner()).take();
        self.unaccount();
        drop(freed);
    }

    /// What this node holds for backward, with the reasons (empty once released).
    pub fn saved(&self) -> Vec<SavedInfo> {
        self.rule
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(Vec::new(), |r| r.saved())
    }
}

/// What a dropped node owned that may own further nodes.
type NodeParts = (Vec<Edge>, Option<Box<dyn Backward>>, Vec<Mutex<Tangents>>);

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

/// Records `output` as the result of an op on `inputs`: a node when grad mode is on and any
/// input requires grad, and the output's tangent when in a dual level and any input carries
/// one. `rule` is only built when one of the two is needed (saving nothing otherwise).
pub fn record(
    inputs: &[&Tensor],
    output: Array,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Result<Tensor> {
    Ok(record_multi(inputs, vec![output], rule)?.pop().expect("one output"))
}

/// [`record`] for ops with several outputs (custom functions).
pub fn record_multi(
    inputs: &[&Tensor],
    outputs: Vec<Array>,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Result<Vec<Tensor>> {
    record_impl(inputs, outputs, rule, false)
}

/// [`record`] that makes a node even when no input requires grad or grad mode is off.
pub(crate) fn record_always(
    inputs: &[&Tensor],
    output: Array,
    rule: impl FnOnce() -> Box<dyn Backward>,
) -> Result<Tensor> {
    Ok(record_impl(inputs, vec![output], rule, true)?.pop().expect("one output"))
}

fn record_impl(
    inputs: &[&Tensor],
    outputs: Vec<Array>,
    rule: impl FnOnce() -> Box<dyn Backward>,
    force_graph: bool,
) -> Result<Vec<Tensor>> {
    // For each open dual level where an input carries a tangent: (position, id, tangents).
    let levels = DUAL_LEVELS.with(|l| l.borrow().clone());
    let dual: Vec<(usize, u64, Vec<Option<Tensor>>)> = levels
        .iter()
        .enumerate()
        .filter_map(|(i, &level)| {
            let tangents: Vec<Option<Tensor>> =
                inputs.iter().map(|t| t.tangent_at(level)).collect();
            tangents.iter().any(Option::is_some).then_some((i, level, tangents))
        })
        .collect();
    let build_graph = force_graph || is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
    if !build_graph && dual.is_empty() {
        return Ok(outputs.into_iter().map(Tensor::from_array).collect());
    }
    let rule = rule();
    if dual.is_empty() {
        return Ok(attach(inputs, outputs, rule));
    }
    if outputs.len() != 1 {
        return Err(Error::Graph(format!(
            "{}: forward mode supports single-output functions only",
            rule.name()
        )));
    }
    let name = rule.name().to_string();
    let (result, node, rule) = if build_graph {
        let result = attach(inputs, outputs, rule).pop().expect("one output");
        let node = result.grad_fn().expect("just attached").clone();
        (result, Some(node), None)
    } else {
        (Tensor::from_array(outputs.into_iter().next().expect("one output")), None, Some(rule))
    };
    for (position, level, tangents) in dual {
        let tangent = {
            let _outer = OuterLevelsOnly::new(position);
            match (&node, &rule) {
                (Some(node), _) => {
                    let guard = node.rule.lock().unwrap_or_else(|e| e.into_inner());
                    guard.as_ref().expect("fresh node").jvp(inputs, &result, &tangents)?
                }
                (None, Some(rule)) => rule.jvp(inputs, &result, &tangents)?,
                (None, None) => unreachable!("either a node or a rule"),
            }
        };
        let Some(tangent) = result.fit_tangent(tangent, &name)? else { continue };
        if let Some(node) = &node {
            // Kept as a value only: a tangent whose graph saved this node's output would
            // otherwise own the node that owns it.
            node.output_tangents[0]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((level, tangent.detach()));
        }
        result.set_tangent(level, tangent);
    }
    Ok(vec![result])
}

/// Makes the node for an op application and its output tensors.
fn attach(inputs: &[&Tensor], outputs: Vec<Array>, rule: Box<dyn Backward>) -> Vec<Tensor> {
    let n = outputs.len();
    let bytes = rule.saved_bytes();
    debug_assert_eq!(bytes, rule.saved().iter().map(|s| s.bytes).sum::<usize>());
    let now = SAVED_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK_SAVED_BYTES.fetch_max(now, Ordering::Relaxed);
    let node = Arc::new(Node {
        name: rule.name().to_string(),
        seq: NODE_SEQ.fetch_add(1, Ordering::Relaxed),
        label: LABELS.with(|l| l.borrow().last().cloned()),
        accounted: AtomicUsize::new(bytes),
        rule: Mutex::new(Some(rule)),
        edges: inputs.iter().map(|t| t.edge()).collect(),
        inputs: inputs.iter().map(|t| InputMeta { shape: t.shape(), dtype: t.dtype() }).collect(),
        outputs: outputs
            .iter()
            .map(|o| InputMeta { shape: o.shape().to_vec(), dtype: o.dtype() })
            .collect(),
        output_tangents: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
        retained: Mutex::new(vec![None; n]),
        hooks: Mutex::new(vec![Vec::new(); n]),
    });
    outputs
        .into_iter()
        .enumerate()
        .map(|(i, data)| Tensor::rebuild(data, true, Some((node.clone(), i)), Vec::new()))
        .collect()
}
