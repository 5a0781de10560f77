//! [`Tensor`]: a cheap handle to data plus its place in the autograd graph.
//!
//! The data lives in a [`Storage`] that views share (see `storage.rs`); in-place ops and the
//! history they rebase are in `ops/inplace.rs`.
//!
//! (Over 500 lines because the handle's state, its hooks and its graph accessors belong to
//! the one type.)

use crate::array::{Array, DType};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{Edge, GradHook, Jvp, Node, PostAccumulateHook, SavedInfo, Tangents};
use crate::storage::{Layout, Storage, Strides};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// The producing node and which of its outputs a tensor is.
pub(crate) type History = Option<(Arc<Node>, usize)>;

/// Re-applies a view op to a base (rebuilding a view's history after its base changed).
pub type Replay = Arc<dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync>;

/// What a view was made from: its base (the tensor that owns the storage; never a view)
/// and how to make it again from the base.
pub(crate) struct ViewOrigin {
    pub(crate) base: Tensor,
    pub(crate) replay: Replay,
    /// The base's history generation this view's history was made from.
    pub(crate) generation: AtomicU64,
    /// How the base read its storage when the view was made: `replay` is only valid while
    /// the base reads it the same way (an in-place view op on the base, `t_`, changes it).
    pub(crate) base_layout: Layout,
}

/// Where a tensor's elements are: a storage and how to read it.
pub(crate) struct Data {
    pub(crate) storage: Arc<Storage>,
    pub(crate) layout: Layout,
}

/// The shared state behind a [`Tensor`] handle.
pub struct TensorImpl {
    data: RwLock<Data>,
    requires_grad: AtomicBool,
    history: RwLock<History>,
    /// Counts the times an in-place op replaced `history` (views of this tensor compare it).
    generation: AtomicU64,
    /// Replaced only by an in-place view op (`t_`, `unsqueeze_`...; see `ops/view_inplace.rs`).
    view: RwLock<Option<Arc<ViewOrigin>>>,
    grad: Mutex<Option<Tensor>>,
    tangents: Mutex<Tangents>,
    /// Hooks of a leaf (a non-leaf's hooks live on its node).
    hooks: Mutex<Vec<(u64, GradHook)>>,
    /// Hooks called after a backward accumulated into this leaf's `.grad`.
    post_accumulate_hooks: Mutex<Vec<(u64, PostAccumulateHook)>>,
}

/// An n-dimensional float array that can take part in reverse-mode differentiation.
///
/// Cloning is cheap (a reference count). Leaves are created by users; non-leaves are outputs of
/// recorded ops and know the [`Node`] that made them (`grad_fn`).
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<TensorImpl>);

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tensor")
            .field("shape", &self.shape())
            .field("dtype", &self.dtype())
            .field("requires_grad", &self.requires_grad())
            .field("grad_fn", &self.grad_fn_name())
            .finish()
    }
}

impl Tensor {
    fn new(data: Array, requires_grad: bool, grad_fn: Option<(Arc<Node>, usize)>) -> Tensor {
        Tensor::on_storage(Storage::new(data), Layout::Natural, requires_grad, grad_fn)
    }

    pub(crate) fn on_storage(
        storage: Arc<Storage>,
        layout: Layout,
        requires_grad: bool,
        grad_fn: History,
    ) -> Tensor {
        Tensor(Arc::new(TensorImpl {
            data: RwLock::new(Data { storage, layout }),
            requires_grad: AtomicBool::new(requires_grad),
            history: RwLock::new(grad_fn),
            generation: AtomicU64::new(0),
            view: RwLock::new(None),
            grad: Mutex::new(None),
            tangents: Mutex::new(Vec::new()),
            hooks: Mutex::new(Vec::new()),
            post_accumulate_hooks: Mutex::new(Vec::new()),
        }))
    }

    /// A leaf tensor that does not require grad.
    pub fn from_array(data: Array) -> Tensor {
        Tensor::new(data, false, None)
    }

    /// A handle with the given data and place in the graph (used to re-materialise saved
    /// tensors and node outputs).
    pub(crate) fn rebuild(
        data: Array,
        requires_grad: bool,
        grad_fn: Option<(Arc<Node>, usize)>,
        tangents: Tangents,
    ) -> Tensor {
        let t = Tensor::new(data, requires_grad || grad_fn.is_some(), grad_fn);
        *t.0.tangents.lock().unwrap_or_else(|e| e.into_inner()) = tangents;
        t
    }

    /// The tangent carried at the innermost open dual level (forward mode), if any.
    pub fn tangent(&self) -> Option<Tensor> {
        crate::graph::current_dual_level().and_then(|level| self.tangent_at(level))
    }

    /// The tangent carried at dual level `level`.
    pub fn tangent_at(&self, level: u64) -> Option<Tensor> {
        let tangents = self.0.tangents.lock().unwrap_or_else(|e| e.into_inner());
        tangents.iter().find(|(l, _)| *l == level).map(|(_, t)| t.clone())
    }

    /// All tangents, with their levels.
    pub(crate) fn tangents(&self) -> Tangents {
        self.0.tangents.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_tangent(&self, level: u64, tangent: Tensor) {
        let mut tangents = self.0.tangents.lock().unwrap_or_else(|e| e.into_inner());
        tangents.retain(|(l, _)| *l != level);
        tangents.push((level, tangent));
    }

    /// Checks a rule's tangent for this output, broadcasting it to the output's shape (a
    /// built-in rule may return a tangent of an input's shape, as its VJP does).
    pub(crate) fn fit_tangent(&self, tangent: Option<Tensor>, op: &str) -> Result<Option<Tensor>> {
        let Some(tangent) = tangent else { return Ok(None) };
        let shape = self.shape();
        let tangent = if tangent.shape() == shape {
            tangent
        } else {
            tangent.expand(&shape).map_err(|_| {
                Error::Graph(format!(
                    "{op}: its JVP returned a tangent of shape {} for an output of shape {}",
                    fmt_shape(&tangent.shape()),
                    fmt_shape(&shape)
                ))
            })?
        };
        if tangent.dtype() != self.dtype() {
            return Err(Error::Graph(format!(
                "{op}: its JVP returned a {} tangent for a {} output",
                tangent.dtype(),
                self.dtype()
            )));
        }
        Ok(Some(tangent))
    }

    /// A tensor equal to `primal` that carries `tangent` through the ops applied to it (forward
    /// mode, inside a dual level). Gradients still flow back to `primal`.
    pub fn make_dual(primal: &Tensor, tangent: &Tensor) -> Result<Tensor> {
        let Some(level) = crate::graph::current_dual_level() else {
            return Err(Error::Graph(
                "make_dual needs forward mode: call it inside a dual level (tapegrad.func.jvp)"
                    .into(),
            ));
        };
        if primal.tangent_at(level).is_some() {
            return Err(Error::Graph(
                "make_dual: the primal already carries a tangent at this dual level".into(),
            ));
        }
        if tangent.shape() != primal.shape() {
            return Err(Error::shape(
                "jvp",
                format!(
                    "tangent of shape {} does not match its primal of shape {}",
                    fmt_shape(&tangent.shape()),
                    fmt_shape(&primal.shape())
                ),
            ));
        }
        if tangent.dtype() != primal.dtype() {
            return Err(Error::DType {
                op: "jvp",
                message: format!(
                    "tangent of dtype {} does not match its primal of dtype {}",
                    tangent.dtype(),
                    primal.dtype()
                ),
            });
        }
        // Recorded as an op so that gradients, and outer levels' tangents, reach the primal.
        let alias = crate::graph::record(&[primal], primal.array(), || Box::new(AliasBackward))?;
        alias.set_tangent(level, tangent.clone());
        Ok(alias)
    }

    /// A tensor equal to this one that always requires grad, recorded as an identity op:
    /// differentiating with respect to it sees only the uses that go through it. Function
    /// transforms use it to keep their variable apart from the same tensor captured by a
    /// closure (`grad(lambda y: x * y)(x)` is `x`, not `2x`). Gradients and tangents pass
    /// through to this tensor.
    pub fn alias(&self) -> Result<Tensor> {
        crate::graph::record_always(&[self], self.array(), || Box::new(AliasBackward))
    }

    /// Registers a function of this tensor's gradient, called during backward before the
    /// gradient is used; it may return a replacement. Returns an id for [`Tensor::remove_hook`].
    pub fn register_hook(&self, hook: GradHook) -> Result<u64> {
        if !self.requires_grad() {
            return Err(Error::Graph(
                "cannot register a hook on a tensor that does not require grad".into(),
            ));
        }
        let id = next_hook_id();
        match &self.history() {
            None => self.0.hooks.lock().unwrap_or_else(|e| e.into_inner()).push((id, hook)),
            Some((node, i)) => {
                node.hooks.lock().unwrap_or_else(|e| e.into_inner())[*i].push((id, hook))
            }
        }
        Ok(id)
    }

    /// Registers `hook(self)`, called during backward right after a gradient has been
    /// accumulated into this leaf's `.grad` (PyTorch's `register_post_accumulate_grad_hook`).
    /// Leaves are accumulated, and their hooks called, in a deterministic order within the
    /// sweep. Returns an id for [`Tensor::remove_hook`].
    pub fn register_post_accumulate_grad_hook(&self, hook: PostAccumulateHook) -> Result<u64> {
        if !self.is_leaf() {
            return Err(Error::Graph(
                "post accumulate grad hooks cannot be registered on non-leaf tensors".into(),
            ));
        }
        if !self.requires_grad() {
            return Err(Error::Graph(
                "cannot register a hook on a tensor that does not require grad".into(),
            ));
        }
        let id = next_hook_id();
        lock(&self.0.post_accumulate_hooks).push((id, hook));
        Ok(id)
    }

    /// Removes a hook of either kind; returns whether it was registered.
    pub fn remove_hook(&self, id: u64) -> bool {
        fn remove<H>(hooks: &mut Vec<(u64, H)>, id: u64) -> bool {
            let before = hooks.len();
            hooks.retain(|(h, _)| *h != id);
            hooks.len() != before
        }
        let removed = match &self.history() {
            None => remove(&mut lock(&self.0.hooks), id),
            Some((node, i)) => remove(&mut lock(&node.hooks)[*i], id),
        };
        removed || remove(&mut lock(&self.0.post_accumulate_hooks), id)
    }

    /// The post-accumulate-grad hooks of a leaf, in registration order.
    pub(crate) fn post_accumulate_hooks(&self) -> Vec<PostAccumulateHook> {
        lock(&self.0.post_accumulate_hooks).iter().map(|(_, h)| h.clone()).collect()
    }

    /// The hooks of a leaf, in registration order.
    pub(crate) fn leaf_hooks(&self) -> Vec<GradHook> {
        self.0
            .hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(_, h)| h.clone())
            .collect()
    }

    /// A 0-d tensor.
    pub fn scalar(value: f64, dtype: DType) -> Tensor {
        Tensor::from_array(Array::scalar(value, dtype))
    }

    /// A tensor of `value` with the given shape.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Result<Tensor> {
        Ok(Tensor::from_array(Array::full(shape, value, dtype)?))
    }

    /// A tensor of zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::full(shape, 0.0, dtype)
    }

    /// The elements (a cheap clone of the shared buffer, or of a contiguous window of it; a
    /// copy for other windows, remembered by the storage until its next write).
    pub fn array(&self) -> Array {
        let data = self.0.data.read().unwrap_or_else(|e| e.into_inner());
        data.storage.read(&data.layout)
    }

    /// The storage and layout (for in-place writes and views).
    pub(crate) fn data(&self) -> (Arc<Storage>, Layout) {
        let data = self.0.data.read().unwrap_or_else(|e| e.into_inner());
        (data.storage.clone(), data.layout.clone())
    }

    /// Points this tensor at other data (`.data = other`, `set_`).
    pub(crate) fn set_data(&self, storage: Arc<Storage>, layout: Layout) {
        *self.0.data.write().unwrap_or_else(|e| e.into_inner()) = Data { storage, layout };
    }

    /// The window this tensor reads, as strides (a natural layout is first put in standard
    /// order, so that views can index it).
    pub fn strides(&self) -> Strides {
        let (storage, layout) = self.data();
        match layout {
            Layout::Natural => storage.strided_whole(),
            Layout::Strided(s) => s,
        }
    }

    /// The extent of each axis.
    pub fn shape(&self) -> Vec<usize> {
        let data = self.0.data.read().unwrap_or_else(|e| e.into_inner());
        match &data.layout {
            Layout::Natural => data.storage.buffer_shape(),
            Layout::Strided(s) => s.shape.clone(),
        }
    }

    /// The extent of axis `dim` (negative counts from the end); a 0-d tensor answers 1 for
    /// axis 0 or -1, as PyTorch.
    pub fn size(&self, dim: i64) -> Result<usize> {
        let shape = self.shape();
        let axis = crate::array::normalize_axis("size", dim, shape.len())?;
        Ok(shape.get(axis).copied().unwrap_or(1))
    }

    /// The data for export to NumPy, refused while the tensor requires grad (PyTorch's rule:
    /// the caller must `detach()` first, so that it does not expect gradients through it).
    pub fn data_for_export(&self) -> Result<Array> {
        if self.requires_grad() {
            return Err(Error::Graph(
                "can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()"
                    .into(),
            ));
        }
        Ok(self.array())
    }

    /// The memory of this tensor's storage, shared from now on with another library (NumPy's
    /// `numpy()`, `__dlpack__`), and the window of it this tensor reads (in elements). Refused
    /// while the tensor requires grad, as `numpy()` is. Writes through the tensor (or any view
    /// of its storage) land in that memory, and writes to the memory are seen by the tensor.
    pub fn share_memory(
        &self,
        op: &'static str,
    ) -> Result<(Arc<crate::foreign::ForeignBuffer>, Strides)> {
        if self.requires_grad() {
            return Err(Error::Graph(format!(
                "can't call {op}() on a tensor that requires grad; use tensor.detach().{op}()"
            )));
        }
        let (storage, layout) = self.data();
        let buffer = storage.share();
        let window = match layout {
            Layout::Natural => Strides::contiguous(buffer.shape()),
            Layout::Strided(s) => s,
        };
        Ok((buffer, window))
    }

    /// A leaf tensor reading `window` of memory shared with another library (`from_numpy`,
    /// `from_dlpack`): writes through either side are seen by the other.
    pub fn from_foreign(
        buffer: Arc<crate::foreign::ForeignBuffer>,
        window: Strides,
    ) -> Result<Tensor> {
        if !buffer.contains(&window) {
            return Err(Error::value(
                "from_numpy",
                format!(
                    "a window of shape {} lies outside the shared memory",
                    fmt_shape(&window.shape)
                ),
            ));
        }
        let layout = if window == Strides::contiguous(buffer.shape()) {
            Layout::Natural
        } else {
            Layout::Strided(window)
        };
        Ok(Tensor::on_storage(Storage::foreign(buffer), layout, false, None))
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// Bytes the elements occupy.
    pub fn nbytes(&self) -> usize {
        self.numel() * self.dtype().itemsize()
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).storage.dtype()
    }

    /// Whether gradients flow to this tensor.
    pub fn requires_grad(&self) -> bool {
        self.refresh_view_history();
        self.0.requires_grad.load(Ordering::Relaxed)
    }

    /// The producing node, brought up to date for a view whose base an in-place op changed.
    pub(crate) fn history(&self) -> History {
        self.refresh_view_history();
        self.0.history.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What this view was made from, if it is one.
    pub(crate) fn view_origin(&self) -> Option<Arc<ViewOrigin>> {
        self.0.view.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Makes this tensor read what `view` (a view of it just made by a view op) reads, and
    /// take its place among the base's views; with `tracked`, also its history. The history
    /// generation does not move: the elements did not change, so the views made earlier keep
    /// histories that are still right (see `ops/view_inplace.rs`).
    pub(crate) fn become_view_of_self(&self, view: &Tensor, tracked: bool) {
        let (storage, layout) = view.data();
        let origin = view.view_origin().filter(|o| !o.base.same_as(self));
        if tracked {
            let history = view.history();
            *self.0.history.write().unwrap_or_else(|e| e.into_inner()) = history;
            self.0.requires_grad.store(view.requires_grad(), Ordering::Relaxed);
            *lock(&self.0.tangents) = view.tangents();
        }
        self.set_data(storage, layout);
        if let Some(origin) = &origin {
            // the view's history is the one just taken: current for the base's generation
            origin.generation.store(origin.base.generation(), Ordering::Release);
        }
        *self.0.view.write().unwrap_or_else(|e| e.into_inner()) = origin;
    }

    /// The base whose storage this view shares (PyTorch's `_base`), for views.
    pub fn base(&self) -> Option<Tensor> {
        self.view_origin().map(|v| v.base.clone())
    }

    /// Times an in-place op replaced this tensor's history.
    pub(crate) fn generation(&self) -> u64 {
        self.0.generation.load(Ordering::Acquire)
    }

    /// Replaces the history (an in-place op: the tensor is now the output `index` of `node`,
    /// or a leaf), with its tangents.
    pub(crate) fn set_history(&self, history: History, requires_grad: bool, tangents: Tangents) {
        *self.0.history.write().unwrap_or_else(|e| e.into_inner()) = history;
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
        *lock(&self.0.tangents) = tangents;
        self.0.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Makes `self` (the freshly recorded output of a view op on `input`) a view of
    /// `input`'s storage through `window`, remembering how to make it again from the base.
    pub(crate) fn become_view(self, input: &Tensor, window: Strides, replay: Replay) -> Tensor {
        let (storage, _) = input.data();
        // The op computed the view's elements already (usually without copying, as a strided
        // array sharing the buffer): keep them as the read cache of a non-contiguous window.
        if !window.is_contiguous() {
            storage.remember_read(&window, self.array());
        }
        self.set_data(storage, Layout::Strided(window));
        let (base, replay) = match input.view_origin() {
            Some(origin) => {
                let (outer, inner) = (replay, origin.replay.clone());
                let composed: Replay = Arc::new(move |b: &Tensor| outer(&inner(b)?));
                (origin.base.clone(), composed)
            }
            None => (input.clone(), replay),
        };
        let generation = AtomicU64::new(base.generation());
        let base_layout = base.data().1;
        let origin = Arc::new(ViewOrigin { base, replay, generation, base_layout });
        *self.0.view.write().unwrap_or_else(|e| e.into_inner()) = Some(origin);
        self
    }

    /// A view's history is its base's with the view op on top: when an in-place op has
    /// replaced the base's history since, the view op is recorded again on the base.
    fn refresh_view_history(&self) {
        let Some(origin) = self.view_origin() else { return };
        let now = origin.base.generation();
        if origin.generation.load(Ordering::Acquire) == now {
            return;
        }
        origin.generation.store(now, Ordering::Release);
        let _grad = crate::graph::GradModeGuard::new(true);
        // Replay the view op, or, when the base was restrided in place since the view was
        // made, read this view's window of the base (the op's arguments no longer fit it).
        let fresh = if origin.base.data().1 == origin.base_layout {
            (origin.replay)(&origin.base)
        } else {
            crate::ops::inplace::relative_to_base(&origin.base, &self.strides())
                .and_then(|window| origin.base.window_read(&window))
        };
        if let Ok(fresh) = fresh {
            let history = fresh.0.history.read().unwrap_or_else(|e| e.into_inner()).clone();
            let requires = fresh.0.requires_grad.load(Ordering::Relaxed);
            *self.0.history.write().unwrap_or_else(|e| e.into_inner()) = history;
            self.0.requires_grad.store(requires, Ordering::Relaxed);
        }
    }

    /// Sets `requires_grad` on a leaf (PyTorch's `requires_grad_()`).
    pub fn set_requires_grad(&self, requires_grad: bool) -> Result<()> {
        if !self.is_leaf() {
            return Err(Error::Graph(
                "you can only change requires_grad flags of leaf tensors; use detach() to get a \
                 leaf that does not require grad"
                    .into(),
            ));
        }
        if requires_grad && !self.dtype().is_floating_point() {
            return Err(Error::DType {
                op: "requires_grad_",
                message: format!(
                    "only Tensors of floating point dtype can require gradients (got {})",
                    self.dtype()
                ),
            });
        }
        self.0.requires_grad.store(requires_grad, Ordering::Relaxed);
        Ok(())
    }

    /// True for tensors made by users, or by ops that recorded nothing.
    pub fn is_leaf(&self) -> bool {
        self.history().is_none()
    }

    /// The node that produced this tensor.
    pub fn grad_fn(&self) -> Option<Arc<Node>> {
        self.history().map(|(n, _)| n)
    }

    /// The producing node and which of its outputs this tensor is.
    pub fn grad_fn_with_index(&self) -> Option<(Arc<Node>, usize)> {
        self.history()
    }

    /// The name of the producing node, e.g. `Some("MulBackward")`.
    pub fn grad_fn_name(&self) -> Option<String> {
        self.history().map(|(n, _)| n.name().to_string())
    }

    /// The accumulated gradient, if any.
    pub fn grad(&self) -> Option<Tensor> {
        self.0.grad.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the gradient; its shape and dtype must match this tensor's.
    pub fn set_grad(&self, grad: Option<Tensor>) -> Result<()> {
        if let Some(g) = &grad {
            if g.shape() != self.shape() {
                return Err(Error::shape(
                    "grad",
                    format!(
                        "assigned grad has shape {} but the tensor has shape {}",
                        fmt_shape(&g.shape()),
                        fmt_shape(&self.shape())
                    ),
                ));
            }
            if g.dtype() != self.dtype() {
                return Err(Error::DType {
                    op: "grad",
                    message: format!(
                        "assigned grad has dtype {} but the tensor has dtype {}",
                        g.dtype(),
                        self.dtype()
                    ),
                });
            }
        }
        *self.0.grad.lock().unwrap_or_else(|e| e.into_inner()) = grad;
        Ok(())
    }

    /// Adds `g` to the stored gradient (or stores it when there is none).
    ///
    /// As PyTorch's `AccumulateGrad`, the first gradient is stored as it is only when nothing
    /// else holds it and it is laid out as a fresh tensor; otherwise `.grad` gets a copy. So two
    /// leaves never share one `.grad` (`(a + b).sum()` hands both the same tensor: an in-place
    /// update of `a.grad` must not change `b.grad`), and a broadcast gradient (stride 0, as
    /// `x.sum()` gives) becomes a tensor of its own that in-place updates can write.
    pub(crate) fn accumulate_grad(&self, g: Tensor) -> Result<()> {
        let mut slot = self.0.grad.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(match slot.take() {
            None if g.is_sole_owner() && g.is_contiguous() => g,
            None => g.copy()?,
            Some(old) => old.add(&g)?,
        });
        Ok(())
    }

    /// Whether no other tensor handle, view or buffer holds this tensor or its storage.
    fn is_sole_owner(&self) -> bool {
        let (storage, _) = self.data();
        // Two references to the storage: this tensor's and the clone just taken.
        Arc::strong_count(&self.0) == 1 && Arc::strong_count(&storage) == 2
    }

    /// Asks a non-leaf to keep its gradient in `.grad` during backward (no-op on leaves).
    pub fn retain_grad(&self) -> Result<()> {
        match &self.history() {
            None if !self.requires_grad() => Err(Error::Graph(
                "can't retain_grad on a tensor that has requires_grad=False".into(),
            )),
            None => Ok(()),
            Some((node, i)) => {
                node.retained.lock().unwrap_or_else(|e| e.into_inner())[*i] =
                    Some(Arc::downgrade(&self.0));
                Ok(())
            }
        }
    }

    /// Whether `.grad` is filled in for this non-leaf during backward.
    pub fn retains_grad(&self) -> bool {
        self.history().as_ref().is_some_and(|(n, i)| {
            n.retained.lock().unwrap_or_else(|e| e.into_inner())[*i]
                .as_ref()
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(&self.0)))
        })
    }

    /// A new leaf sharing this tensor's storage (writes through either are seen by both),
    /// cut from the graph.
    pub fn detach(&self) -> Tensor {
        let (storage, layout) = self.data();
        Tensor::on_storage(storage, layout, false, None)
    }

    /// Counts in-place modifications of the storage (saved tensors check it).
    pub fn version(&self) -> u64 {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).storage.version()
    }

    /// Counts a write made outside the core (by another library through memory this tensor
    /// shares, such as an MPI collective), so that a saved tensor it changed makes backward
    /// raise (PyTorch's `torch.autograd.graph.increment_version`).
    pub fn increment_version(&self) {
        self.0.data.read().unwrap_or_else(|e| e.into_inner()).storage.bump();
    }

    /// Replaces the data in place, as an optimiser step does: shape and dtype must match, and it
    /// is refused on a leaf that requires grad while grad mode is on (that would corrupt the graph).
    pub fn assign(&self, data: Array) -> Result<()> {
        if self.requires_grad() && crate::graph::is_grad_enabled() {
            return Err(Error::Graph(
                "a leaf tensor that requires grad can only be modified in place inside no_grad()"
                    .into(),
            ));
        }
        if data.shape() != self.shape().as_slice() || data.dtype() != self.dtype() {
            return Err(Error::shape(
                "assign",
                format!(
                    "new data {} {} does not match the tensor's {} {}",
                    fmt_shape(data.shape()),
                    data.dtype(),
                    fmt_shape(&self.shape()),
                    self.dtype()
                ),
            ));
        }
        let (storage, layout) = self.data();
        storage.store(&layout, &data)
    }

    /// The storage of a tensor that reads all of it, for an in-place update by the optimiser
    /// kernels (which take the storage's write lock, bumping its version).
    pub(crate) fn whole_storage(&self, op: &'static str) -> Result<Arc<Storage>> {
        let (storage, layout) = self.data();
        match layout {
            Layout::Natural => Ok(storage),
            Layout::Strided(s)
                if s.is_contiguous()
                    && s.offset == 0
                    && s.numel() == storage.buffer_shape().iter().product::<usize>() =>
            {
                Ok(storage)
            }
            Layout::Strided(_) => Err(Error::value(
                op,
                "the tensor is a strided view of another tensor's storage; update a contiguous \
                 tensor (call .contiguous() and assign it)",
            )),
        }
    }

    /// Where this tensor's gradient goes when it is an op's input.
    pub(crate) fn edge(&self) -> Edge {
        match (&self.history(), self.requires_grad()) {
            (Some((node, i)), _) => Edge::Node(node.clone(), *i),
            (None, true) => Edge::Leaf(Arc::downgrade(&self.0)),
            (None, false) => Edge::None,
        }
    }

    /// Identity of the shared state (two handles to one tensor compare equal).
    pub fn same_as(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A pointer identifying the tensor.
    pub(crate) fn id(&self) -> *const TensorImpl {
        Arc::as_ptr(&self.0)
    }

    /// How many handles share this tensor's state (the binding's garbage-collector support
    /// shows Python what a tensor's hooks hold only while one handle owns them).
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// The address of the shared state: stable, and unique among live tensors.
    pub fn address(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }
}

/// The identity, recorded so that a dual tensor's gradients reach its primal.
struct AliasBackward;

impl crate::graph::Backward for AliasBackward {
    fn name(&self) -> &str {
        "AliasBackward"
    }
    fn vjp(&self, grad: &Tensor, _: &crate::graph::VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.clone())])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        Ok(j.tangent(0).cloned())
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// A fresh id for a hook (ids are unique across tensors and kinds).
fn next_hook_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Locks a mutex, ignoring poisoning (a panic elsewhere leaves the data consistent here).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
