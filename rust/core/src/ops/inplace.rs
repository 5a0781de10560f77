//! In-place operations: writing a tensor's storage, and rebasing its history so that
//! gradients stay right (PyTorch's semantics).
//!
//! Every in-place op is one mechanism, [`Tensor::update`]: the new value is computed out of
//! place from a snapshot of the current one (so the recorded node sees the old value and its
//! old history), checked (shape, dtype, writable window) before anything is written, then
//! stored into the tensor's storage, whose version goes up by one. When a graph is being
//! recorded the tensor's history becomes the new value's node (`x.exp_()` makes `x` the output
//! of an `ExpBackward`); for a view, the base's history becomes a [`CopySlicesBackward`] that
//! writes the view's new value into the old base, and every view of the base rebuilds its
//! history from the base's on next use (see `Tensor::refresh_view_history`).

use crate::array::DType;
use crate::error::{fmt_shape, Error, Result};
use crate::graph::record::record_always;
use crate::graph::{record, Backward, Jvp, SavedInfo, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::storage::{Layout, Storage, Strides};
use crate::tensor::Tensor;
use std::sync::Arc;

/// `out = base` with the elements of `window` replaced by `values` (PyTorch's
/// `CopySlicesBackward`): the history an in-place op on a view gives the view's base.
pub(crate) struct CopySlicesBackward {
    window: Strides,
}

impl Primitive for CopySlicesBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "CopySlicesBackward",
        family: "inplace",
        api: &["__setitem__"],
        saves: Saves::Metadata,
        derivative:
            "∂/∂base = grad with the window zeroed, ∂/∂values = grad read through the window",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for CopySlicesBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let base = if ctx.needs_input_grad(0) {
            let zeros = Tensor::zeros(&self.window.shape, grad.dtype())?;
            Some(grad.window_written(&self.window, &zeros)?)
        } else {
            None
        };
        let values =
            if ctx.needs_input_grad(1) { Some(grad.window_read(&self.window)?) } else { None };
        Ok(vec![base, values])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        if j.tangent(0).is_none() && j.tangent(1).is_none() {
            return Ok(None);
        }
        let dtype = j.result.dtype();
        let base = match j.tangent(0) {
            Some(t) => t.clone(),
            None => Tensor::zeros(&j.result.shape(), dtype)?,
        };
        let values = match j.tangent(1) {
            Some(t) => t.expand(&self.window.shape)?,
            None => Tensor::zeros(&self.window.shape, dtype)?,
        };
        Ok(Some(base.window_written(&self.window, &values)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// The elements of a tensor that `window` reads (as a new tensor): the VJP of
/// [`CopySlicesBackward`] with respect to the values.
pub(crate) struct WindowReadBackward {
    window: Strides,
    input_shape: Vec<usize>,
}

impl Primitive for WindowReadBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "AsStridedBackward",
        family: "inplace",
        api: &["as_strided"],
        saves: Saves::Metadata,
        derivative: "∂/∂x = zeros with grad written through the window (windows that never \
                     reach one element twice)",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for WindowReadBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let zeros = Tensor::zeros(&self.input_shape, grad.dtype())?;
        Ok(vec![Some(zeros.window_written(&self.window, grad)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.window_read(&self.window))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// The history an in-place op gives a tensor whose new value does not depend on anything
/// that requires grad (`zero_`, `fill_`, `copy_` from a constant): the tensor stays in the
/// graph, and no gradient reaches what it was before.
pub(crate) struct OverwriteBackward;

impl Primitive for OverwriteBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "FillBackward",
        family: "inplace",
        api: &["zero_", "fill_", "copy_"],
        saves: Saves::Nothing,
        derivative: "∂/∂x = 0 (the old value is overwritten)",
        batch: BatchRule::Elementwise,
    };
}

impl Backward for OverwriteBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, _: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![None])
    }
    fn jvp(&self, _: &Jvp<'_>) -> Result<Option<Tensor>> {
        Ok(None)
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

impl Tensor {
    /// The elements `window` reads from this tensor's elements in standard order.
    pub(crate) fn window_read(&self, window: &Strides) -> Result<Tensor> {
        let input_shape = self.shape();
        check_window("as_strided", window, &input_shape)?;
        let storage = Storage::new(self.array().to_contiguous());
        let out = storage.read(&Layout::Strided(window.clone()));
        let window = window.clone();
        record(&[self], out, || Box::new(WindowReadBackward { window, input_shape }))
    }

    /// A copy of this tensor with the elements of `window` replaced by `values` (broadcast to
    /// the window's shape).
    pub(crate) fn window_written(&self, window: &Strides, values: &Tensor) -> Result<Tensor> {
        check_window("copy_", window, &self.shape())?;
        let values = values.expand(&window.shape)?.to_dtype(self.dtype())?;
        let storage = Storage::new(self.array().to_contiguous());
        storage.store(&Layout::Strided(window.clone()), &values.array())?;
        let out = storage.read(&Layout::Natural);
        let window = window.clone();
        record(&[self, &values], out, || Box::new(CopySlicesBackward { window }))
    }

    /// A handle on the current value with the current history, but storage of its own, so
    /// that the node an in-place op records keeps the value from before the write.
    fn snapshot(&self) -> Tensor {
        let t =
            Tensor::rebuild(self.array(), self.requires_grad(), self.history(), self.tangents());
        if self.is_leaf() && self.requires_grad() {
            // Gradients for a leaf that requires grad must reach the leaf itself (this only
            // happens with grad mode off, where nothing is recorded).
            return self.clone();
        }
        t
    }

    /// PyTorch's checks before any in-place op on a tensor that is (a view of) a leaf
    /// requiring grad: allowed only with grad mode off.
    pub(crate) fn check_inplace(&self, op: &str) -> Result<()> {
        if !crate::graph::is_grad_enabled() {
            return Ok(());
        }
        if let Some(origin) = self.view_origin() {
            if origin.base.is_leaf() && origin.base.requires_grad() {
                return Err(Error::Graph(format!(
                    "{op}: a view of a leaf Variable that requires grad is being used in an \
                     in-place operation."
                )));
            }
        } else if self.is_leaf() && self.requires_grad() {
            return Err(Error::Graph(format!(
                "{op}: a leaf Variable that requires grad is being used in an in-place \
                 operation."
            )));
        }
        Ok(())
    }

    /// Fits an in-place op's out-of-place result to this tensor: broadcast to its shape (never
    /// beyond) and cast to its dtype (never to a lower category), as PyTorch requires.
    fn fit_inplace(&self, op: &str, new: Tensor) -> Result<Tensor> {
        let shape = self.shape();
        let new = if new.shape() == shape {
            new
        } else {
            let joint = crate::array::broadcast_shapes("in-place", &new.shape(), &shape);
            if joint.as_ref().map(Vec::as_slice).ok() != Some(shape.as_slice()) {
                return Err(Error::shape(
                    "in-place",
                    format!(
                        "{op}: output with shape {} doesn't match the broadcast shape {}",
                        fmt_shape(&shape),
                        fmt_shape(&joint.unwrap_or_else(|_| new.shape()))
                    ),
                ));
            }
            new.expand(&shape)?
        };
        let dtype = self.dtype();
        if new.dtype() == dtype {
            return Ok(new);
        }
        if !can_store(new.dtype(), dtype) {
            return Err(Error::DType {
                op: "in-place",
                message: format!(
                    "{op}: result type {} can't be cast to the desired output type {}",
                    new.dtype(),
                    dtype
                ),
            });
        }
        new.to_dtype(dtype)
    }

    /// Replaces this tensor's value, in place, by `f(current)`: the in-place form of the op
    /// `f` applies (see the module docs). Nothing is written if any check fails.
    pub fn update(&self, op: &str, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<()> {
        self.check_inplace(op)?;
        let current = self.snapshot();
        let new = f(&current)?;
        let new = self.fit_inplace(op, new)?;
        let tracked = (crate::graph::is_grad_enabled()
            && (new.requires_grad() || self.requires_grad()))
            || !new.tangents().is_empty()
            || !self.tangents().is_empty();
        let (storage, layout) = self.data();
        if !tracked {
            drop(current);
            return storage.store(&layout, &new.array());
        }
        if let Some(origin) = self.view_origin() {
            let base = origin.base.clone();
            drop(current);
            return write_view(&base, &storage, &layout, &new);
        }
        // A fresh node for the new value: one the user also holds (`copy_(src)` returning
        // `src`) must keep its own output record.
        let new = if new.is_leaf() || Arc::strong_count(&new.0) > 1 || new.same_as(&current) {
            if new.requires_grad() {
                record_always(&[&new], new.array(), || Box::new(crate::ops::copy::CloneBackward))?
            } else {
                record_always(&[&current], new.array(), || Box::new(OverwriteBackward))?
            }
        } else {
            new
        };
        drop(current);
        storage.store(&layout, &new.array())?;
        self.take_history_of(&new, &storage);
        Ok(())
    }

    /// This tensor becomes `new` for autograd: its node, its tangents.
    fn take_history_of(&self, new: &Tensor, storage: &Arc<Storage>) {
        let history = new.history();
        if let Some((node, i)) = &history {
            node.set_output_version(*i, storage);
        }
        let requires = new.requires_grad();
        self.set_history(history, requires, new.tangents());
    }

    /// `copy_`: writes `src` (broadcast to this tensor's shape, cast to its dtype) into it.
    pub fn copy_from(&self, src: &Tensor) -> Result<()> {
        if self.arith_in_place(Arith::Copy, src, 1.0)? {
            return Ok(());
        }
        self.update("copy_", |_| Ok(src.clone()))
    }

    /// `fill_`: sets every element to `value`.
    pub fn fill_with(&self, value: crate::array::ScalarValue) -> Result<()> {
        let dtype = self.dtype();
        let value = Tensor::from_array(crate::array::Array::scalar_value(value, dtype));
        if self.arith_in_place(Arith::Copy, &value, 1.0)? {
            return Ok(());
        }
        self.update("fill_", |_| Ok(value))
    }
}

/// The in-place arithmetic with a direct kernel (no allocation) when nothing is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// `self += alpha * other`
    Add,
    /// `self -= alpha * other`
    Sub,
    /// `self *= other`
    Mul,
    /// `self /= other`
    Div,
    /// `self = other` (broadcast; `copy_`)
    Copy,
}

impl Tensor {
    /// `self op= other` written straight into the storage, when no graph or tangent is
    /// involved and the dtypes agree (floats): no allocation, no copy. Returns false (doing
    /// nothing) when the general [`Tensor::update`] must run instead (which also reports
    /// any error).
    pub fn arith_in_place(&self, op: Arith, other: &Tensor, alpha: f64) -> Result<bool> {
        let tracked = (crate::graph::is_grad_enabled()
            && (self.requires_grad() || other.requires_grad()))
            || !self.tangents().is_empty()
            || !other.tangents().is_empty();
        let dtype = self.dtype();
        if tracked || other.dtype() != dtype || !dtype.is_floating_point() {
            return Ok(false);
        }
        let shape = self.shape();
        match crate::array::broadcast_shapes("in-place", &other.shape(), &shape) {
            Ok(joint) if joint == shape => {}
            _ => return Ok(false),
        }
        let (storage, layout) = self.data();
        if let Layout::Strided(s) = &layout {
            if s.overlaps() {
                return Ok(false);
            }
        }
        // Read before taking the write lock: `other` may view the same storage (`x += x.T`),
        // and then the write copies the buffer first, so `other` keeps the old values.
        let values = other.array();
        let mut buffer = storage.write();
        match (&mut *buffer, &values) {
            (crate::array::Array::F32(b), crate::array::Array::F32(v)) => {
                apply(b, &layout, v, op, alpha as f32)
            }
            (crate::array::Array::F64(b), crate::array::Array::F64(v)) => {
                apply(b, &layout, v, op, alpha)
            }
            _ => {
                return Err(Error::internal(
                    "arith_in_place",
                    "both dtypes checked to be one float",
                ))
            }
        }
        Ok(true)
    }
}

/// Runs the in-place kernel over the window of a unique buffer.
fn apply<T: crate::array::Element>(
    buffer: &mut ndarray::ArcArray<T, ndarray::IxDyn>,
    layout: &Layout,
    values: &ndarray::ArcArray<T, ndarray::IxDyn>,
    op: Arith,
    alpha: T,
) {
    // One loop per op (the op chosen once, outside it), so that each loop vectorises.
    let one = T::one();
    match op {
        Arith::Add if alpha == one => run(buffer, layout, values, |a, v| *a = *a + v),
        Arith::Sub if alpha == one => run(buffer, layout, values, |a, v| *a = *a - v),
        Arith::Add => run(buffer, layout, values, |a, v| *a = *a + alpha * v),
        Arith::Sub => run(buffer, layout, values, |a, v| *a = *a - alpha * v),
        Arith::Mul => run(buffer, layout, values, |a, v| *a = *a * v),
        Arith::Div => run(buffer, layout, values, |a, v| *a = *a / v),
        Arith::Copy => run(buffer, layout, values, |a, v| *a = v),
    }
}

/// `kernel(element, value)` over the window `layout` of `buffer`, `values` broadcast to it.
fn run<T: crate::array::Element>(
    buffer: &mut ndarray::ArcArray<T, ndarray::IxDyn>,
    layout: &Layout,
    values: &ndarray::ArcArray<T, ndarray::IxDyn>,
    kernel: impl Fn(&mut T, T),
) {
    use ndarray::ShapeBuilder;
    let each = |a: &mut T, v: &T| kernel(a, *v);
    match layout {
        Layout::Natural => {
            // Same shape, both one block: a plain loop over two slices.
            if let (Some(a), Some(v)) = (buffer.as_slice_mut(), values.as_slice()) {
                if a.len() == v.len() {
                    a.iter_mut().zip(v).for_each(|(a, v)| kernel(a, *v));
                    return;
                }
            }
            if values.len() == 1 && values.ndim() == 0 {
                let v = values.iter().copied().next().unwrap_or_else(T::zero);
                buffer.iter_mut().for_each(|a| kernel(a, v));
                return;
            }
            buffer.zip_mut_with(values, each)
        }
        Layout::Strided(s) if s.numel() == 0 => {}
        Layout::Strided(s) => {
            // Infallible: a strided view's buffer is kept in standard order and its window
            // was checked to fit and not to overlap (`arith_in_place` refuses overlaps).
            let slice =
                buffer.as_slice_mut().expect("a strided view's buffer is in standard order");
            let mut view = ndarray::ArrayViewMut::from_shape(
                ndarray::IxDyn(&s.shape).strides(ndarray::IxDyn(&s.strides)),
                &mut slice[s.offset..],
            )
            .expect("a non-overlapping window inside the buffer");
            if values.len() == 1 && values.ndim() == 0 {
                let v = values.iter().copied().next().unwrap_or_else(T::zero);
                view.iter_mut().for_each(|a| kernel(a, v));
            } else {
                view.zip_mut_with(values, each);
            }
        }
    }
}

/// What PyTorch shows of a tensor's place in its storage: strides, offset, contiguity, and
/// views made from explicit strides.
impl Tensor {
    /// Steps in elements along each axis (PyTorch's `stride()`).
    pub fn stride(&self) -> Vec<usize> {
        match self.data().1 {
            Layout::Strided(s) => s.strides,
            Layout::Natural => {
                let a = self.array();
                crate::dispatch_any!(&a, x => x.strides().iter().map(|&s| s.max(0) as usize).collect())
            }
        }
    }

    /// Position of the first element in the storage (PyTorch's `storage_offset()`).
    pub fn storage_offset(&self) -> usize {
        match self.data().1 {
            Layout::Strided(s) => s.offset,
            Layout::Natural => 0,
        }
    }

    /// Whether the elements are one row-major block of the storage.
    pub fn is_contiguous(&self) -> bool {
        match self.data().1 {
            Layout::Strided(s) => s.is_contiguous(),
            Layout::Natural => {
                let a = self.array();
                crate::dispatch_any!(&a, x => x.is_standard_layout())
            }
        }
    }

    /// Address of the first element (PyTorch's `data_ptr()`): equal before and after an
    /// in-place op that wrote into the buffer, different when the buffer was replaced.
    pub fn data_ptr(&self) -> usize {
        let (storage, _) = self.data();
        storage.address() + self.storage_offset() * self.dtype().itemsize()
    }

    /// Bytes of the storage this tensor views (PyTorch's `untyped_storage().nbytes()`).
    pub fn storage_nbytes(&self) -> usize {
        self.data().0.nbytes()
    }

    /// Whether two tensors view the same storage.
    pub fn shares_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.data().0, &other.data().0)
    }

    /// Points this tensor at `other`'s storage and layout (PyTorch's `.data = other`): the
    /// values, shape and dtype become `other`'s; the history stays.
    pub fn set_data_from(&self, other: &Tensor) -> Result<()> {
        if self.requires_grad() && !other.dtype().is_floating_point() {
            return Err(Error::DType {
                op: "data",
                message: format!("a tensor that requires grad cannot hold {} data", other.dtype()),
            });
        }
        let (storage, layout) = other.data();
        self.set_data(storage, layout);
        Ok(())
    }

    /// A view with the given shape, strides and storage offset (PyTorch's `as_strided`); the
    /// window must lie within this tensor's elements when they are one block.
    pub fn as_strided(
        &self,
        size: &[usize],
        stride: &[usize],
        offset: Option<usize>,
    ) -> Result<Tensor> {
        if size.len() != stride.len() {
            return Err(Error::shape(
                "as_strided",
                format!(
                    "mismatch in length of strides and shape: {} and {}",
                    stride.len(),
                    size.len()
                ),
            ));
        }
        let own = self.strides();
        if own.strides != crate::storage::contiguous_strides(&own.shape) {
            return Err(Error::value(
                "as_strided",
                "as_strided of a non-contiguous tensor: call contiguous() first",
            ));
        }
        let absolute = offset.unwrap_or(own.offset);
        let window = Strides { offset: absolute, shape: size.to_vec(), strides: stride.to_vec() };
        let fits = window.checked_extent().is_some_and(|end| end <= own.offset + own.numel());
        if absolute < own.offset || !fits {
            return Err(Error::shape(
                "as_strided",
                format!(
                    "setStorage: sizes {}, strides {:?} and storage offset {absolute} reach \
                     outside the tensor's {} elements (from offset {})",
                    fmt_shape(size),
                    stride,
                    own.numel(),
                    own.offset
                ),
            ));
        }
        let mut relative = window.clone();
        relative.offset -= own.offset;
        let out = self.window_read(&relative)?;
        let (size, stride) = (size.to_vec(), stride.to_vec());
        let replay: crate::tensor::Replay =
            Arc::new(move |b: &Tensor| b.as_strided(&size, &stride, Some(absolute)));
        Ok(out.become_view(self, window, replay))
    }
}

/// Writes `new` into the window `layout` of the base's storage, recording a
/// [`CopySlicesBackward`] as the base's new history.
fn write_view(base: &Tensor, storage: &Arc<Storage>, layout: &Layout, new: &Tensor) -> Result<()> {
    let Layout::Strided(window) = layout else {
        return Err(Error::internal("write_view", "a view reads a strided window"));
    };
    let window = relative_to_base(base, window)?;
    let base_current = base.snapshot();
    let base_new = base_current.window_written(&window, new)?;
    drop(base_current);
    storage.store(layout, &new.array())?;
    base.take_history_of(&base_new, storage);
    Ok(())
}

/// The window in the coordinates of the base's elements in standard order.
pub(crate) fn relative_to_base(base: &Tensor, window: &Strides) -> Result<Strides> {
    match base.data().1 {
        Layout::Natural => Ok(window.clone()),
        Layout::Strided(b) if b.strides == crate::storage::contiguous_strides(&b.shape) => {
            let mut w = window.clone();
            w.offset -= b.offset;
            Ok(w)
        }
        Layout::Strided(_) => Err(Error::value(
            "in-place",
            "writing through a view of a non-contiguous tensor while recording gradients is not \
             supported; clone() the tensor first",
        )),
    }
}

/// Whether a window fits an array of `shape` in standard order.
fn check_window(op: &'static str, window: &Strides, shape: &[usize]) -> Result<()> {
    let numel: usize = shape.iter().product();
    let fits = window.checked_extent().is_some_and(|end| end <= numel);
    if window.shape.len() != window.strides.len() || !fits {
        return Err(Error::shape(
            op,
            format!(
                "a window of shape {} reaching element {} does not fit a tensor of shape {}",
                fmt_shape(&window.shape),
                window.extent(),
                fmt_shape(shape)
            ),
        ));
    }
    Ok(())
}

/// PyTorch's rule for in-place results: the result may be stored into any dtype of the same
/// or a higher category (an integer result into a float tensor, not a float into an integer).
fn can_store(from: DType, to: DType) -> bool {
    from.category() <= to.category()
}

#[cfg(test)]
mod tests {
    use crate::testutil::{leaf, values};
    use crate::{engine, Tensor};

    fn grad(x: &Tensor, y: &Tensor) -> Vec<f64> {
        let g = engine::grad(
            &[y.sum(None, false).unwrap()],
            &[None],
            &[x.clone()],
            false,
            false,
            false,
        )
        .unwrap();
        values(g[0].as_ref().unwrap())
    }

    #[test]
    fn in_place_op_rebases_history_and_keeps_the_gradient_right() {
        let x = leaf(&[3], &[1.0, 2.0, 3.0], true);
        let y = x.mul(&x).unwrap(); // y = x²
        y.update("mul_", |cur| cur.mul(&x)).unwrap(); // y = x³
        assert_eq!(values(&y), vec![1.0, 8.0, 27.0]);
        assert_eq!(y.grad_fn_name().as_deref(), Some("MulBackward"));
        assert_eq!(y.version(), 1);
        assert_eq!(grad(&x, &y), vec![3.0, 12.0, 27.0]);
    }

    #[test]
    fn a_saved_tensor_written_in_place_refuses_backward() {
        let x = leaf(&[2], &[1.0, 2.0], true);
        let y = x.mul(&x).unwrap();
        let z = y.mul(&y).unwrap(); // saves y
        y.update("add_", |cur| cur.add(&Tensor::scalar(1.0, y.dtype()))).unwrap();
        let err = engine::backward(&[z.sum(None, false).unwrap()], &[None], false, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("modified by an inplace operation"), "{err}");
        assert!(err.contains("is at version 1; expected version 0"), "{err}");
    }

    #[test]
    fn a_write_through_a_view_reaches_the_base_and_its_gradient() {
        let x = leaf(&[3], &[1.0, 2.0, 3.0], true);
        let y = x.mul(&Tensor::scalar(1.0, x.dtype())).unwrap();
        let v = y.narrow(0, 0, 1).unwrap();
        v.fill_with(crate::array::ScalarValue::Float(0.0)).unwrap();
        assert_eq!(values(&y), vec![0.0, 2.0, 3.0]);
        assert_eq!(y.grad_fn_name().as_deref(), Some("CopySlicesBackward"));
        assert_eq!(grad(&x, &y), vec![0.0, 1.0, 1.0]);
    }

    #[test]
    fn a_leaf_that_requires_grad_refuses_in_place_ops_with_grad_on() {
        let x = leaf(&[2], &[1.0, 2.0], true);
        let err = x.fill_with(crate::array::ScalarValue::Float(0.0)).unwrap_err().to_string();
        assert!(err.contains("a leaf Variable that requires grad"), "{err}");
        let _off = crate::graph::GradModeGuard::new(false);
        x.fill_with(crate::array::ScalarValue::Float(0.0)).unwrap();
        assert_eq!(values(&x), vec![0.0, 0.0]);
        assert!(x.is_leaf());
    }
}
