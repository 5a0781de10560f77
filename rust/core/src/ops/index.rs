//! Indexing: basic slicing (`x[1:3, ::2]`, `x[None]`, `x[..., 0]`), integer-array indexing on
//! one axis, and `cat`/`stack`.
//!
//! The primitives come in adjoint pairs, each the other's VJP: `Slice` ↔ `SliceScatter`
//! (take a window / write a window into zeros) and `IndexSelect` ↔ `IndexAdd`
//! (gather rows / scatter-add rows into zeros). `Diagonal` (a strided window) has the
//! in-place module's window write as its adjoint.
//!
//! Integer-array and mask indexing (advanced indexing) is in `gather.rs`.
//!
//! (Over 500 lines: Python's index expressions and their adjoint pairs are one family.)

use crate::array::{checked_numel, normalize_axis, Array, DType, Element, Scalar};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedInfo, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::storage::Strides;
use crate::tensor::Tensor;
use crate::{dispatch, map_any, with_scalar_type};
use ndarray::{ArrayD, Axis, IxDyn, SliceInfo, SliceInfoElem};
use std::sync::Arc;

/// One component of an index expression, as Python spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IndexItem {
    /// An integer: selects one position and removes the axis.
    Int(i64),
    /// `start:stop:step` with Python's defaults and negative-index rules.
    Slice {
        /// First position (default: the start in the direction of `step`).
        start: Option<i64>,
        /// One past the last position (default: the end in the direction of `step`).
        stop: Option<i64>,
        /// Stride; may be negative, never 0.
        step: i64,
    },
    /// `None`: inserts an axis of size 1.
    NewAxis,
    /// `...`: as many full slices as needed.
    Ellipsis,
    /// An integer array (flattened, with its shape): gathers along the axis.
    Array {
        /// The indices, row-major.
        indices: Vec<i64>,
        /// The shape of the index array (it replaces the indexed axis).
        shape: Vec<usize>,
    },
    /// A bool mask (flattened, with its shape): covers as many axes as it has, selecting the
    /// positions where it is true (as one integer array per covered axis would).
    Mask {
        /// The mask, row-major.
        values: Vec<bool>,
        /// Its shape (it must equal the shape of the axes it covers).
        shape: Vec<usize>,
    },
}

type Window = Arc<SliceInfo<Vec<SliceInfoElem>, IxDyn, IxDyn>>;

/// Resolves a Python slice against an axis of extent `n`: the ndarray slice that takes the same
/// elements in the same order, and how many there are.
fn resolve_slice(
    start: Option<i64>,
    stop: Option<i64>,
    step: i64,
    n: usize,
) -> Result<(SliceInfoElem, usize)> {
    if step == 0 {
        return Err(Error::value("index", "slice step cannot be zero"));
    }
    // i128 so that extreme steps and bounds (i64::MIN) cannot overflow.
    let (n, step) = (n as i128, step as i128);
    let wrap = |v: i64| if v < 0 { v as i128 + n } else { v as i128 };
    let (first, count) = if step > 0 {
        let s = start.map_or(0, wrap).clamp(0, n);
        let e = stop.map_or(n, wrap).clamp(0, n);
        (s, if e > s { (e - s + step - 1) / step } else { 0 })
    } else {
        let s = start.map_or(n - 1, wrap).clamp(-1, n - 1);
        let e = stop.map_or(-1, wrap).clamp(-1, n - 1);
        (s, if s > e { (s - e - step - 1) / -step } else { 0 })
    };
    if count == 0 {
        return Ok((SliceInfoElem::Slice { start: 0, end: Some(0), step: 1 }, 0));
    }
    let last = first + (count - 1) * step;
    // ndarray walks [lo, hi) backwards for a negative step, starting at hi - 1. A step longer
    // than the axis takes one element; clamp it so it fits an isize.
    let (lo, hi) = if step > 0 { (first, last + 1) } else { (last, first + 1) };
    let step = step.clamp(-n.max(1), n.max(1));
    Ok((
        SliceInfoElem::Slice { start: lo as isize, end: Some(hi as isize), step: step as isize },
        count as usize,
    ))
}

/// The strided window an index expression reads from `input` (None for a negative step).
fn window_strides(
    input: &Strides,
    elems: &[SliceInfoElem],
    out_shape: &[usize],
) -> Option<Strides> {
    let mut cur = input.clone();
    let mut at = 0; // the output axis the next element acts on
    for elem in elems {
        match *elem {
            SliceInfoElem::Slice { start, step, .. } => {
                if step < 0 {
                    return None;
                }
                cur = cur.slice(at, start.max(0) as usize, out_shape[at], step as usize);
                at += 1;
            }
            SliceInfoElem::Index(i) => cur = cur.select(at, i as usize),
            SliceInfoElem::NewAxis => {
                cur = cur.unsqueeze(at);
                at += 1;
            }
        }
    }
    Some(cur)
}

fn window(elems: Vec<SliceInfoElem>) -> Result<Window> {
    SliceInfo::try_from(elems)
        .map(Arc::new)
        .map_err(|e| Error::Index { op: "index", message: e.to_string() })
}

/// Declares a rule's [`Primitive`] entry: every rule here keeps only shapes and indices, and
/// batches by shifting its axis.
macro_rules! metadata_rule {
    ($node:ident, api: $api:expr, derivative: $derivative:literal) => {
        impl Primitive for $node {
            const INFO: PrimitiveInfo = PrimitiveInfo {
                node: stringify!($node),
                family: "index",
                api: $api,
                saves: Saves::Metadata,
                derivative: $derivative,
                batch: BatchRule::ShiftAxes,
            };
        }
    };
}

/// `x[window]` (basic slicing): a view of the window.
pub(crate) struct SliceBackward {
    input_shape: Vec<usize>,
    window: Window,
}

metadata_rule!(SliceBackward, api: &["__getitem__"], derivative: "grad written into zeros at the window");

impl Backward for SliceBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.slice_scatter(&self.input_shape, &self.window)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.slice_window(&self.window))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// Zeros with `x` written into a window: the adjoint of [`SliceBackward`]'s op.
pub(crate) struct SliceScatterBackward {
    window: Window,
}

metadata_rule!(SliceScatterBackward, api: &[], derivative: "grad's window");

impl Backward for SliceScatterBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.slice_window(&self.window)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.slice_scatter(&j.result.shape(), &self.window))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// A diagonal of two axes (`diagonal`, `diag` of a matrix): a view of the input's storage.
pub(crate) struct DiagonalBackward {
    input_shape: Vec<usize>,
    offset: i64,
    dim1: usize,
    dim2: usize,
}

metadata_rule!(DiagonalBackward, api: &["diagonal"], derivative: "grad written into zeros on the diagonal");

impl Backward for DiagonalBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        // d(result)/d(input) places each element back where it was read: zeros elsewhere.
        let window =
            Strides::contiguous(&self.input_shape).diagonal(self.offset, self.dim1, self.dim2);
        let zeros = Tensor::zeros(&self.input_shape, grad.dtype())?;
        Ok(vec![Some(zeros.window_written(&window, grad)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.diagonal(self.offset, self.dim1 as i64, self.dim2 as i64))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// Gathering positions along an axis (`index_select`, integer-array indexing).
pub(crate) struct IndexSelectBackward {
    axis: usize,
    size: usize,
    indices: Arc<Vec<usize>>,
}

metadata_rule!(IndexSelectBackward, api: &["__getitem__"], derivative: "each gathered row's grad added back at its index (repeats add up)");

impl Backward for IndexSelectBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.index_add(self.axis, &self.indices, self.size)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.index_select_checked(self.axis, &self.indices))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// Scatter-adding rows into zeros: the adjoint of [`IndexSelectBackward`]'s op.
pub(crate) struct IndexAddBackward {
    axis: usize,
    indices: Arc<Vec<usize>>,
}

metadata_rule!(IndexAddBackward, api: &[], derivative: "grad's rows gathered at the indices");

impl Backward for IndexAddBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.index_select_checked(self.axis, &self.indices)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.index_add(self.axis, &self.indices, j.result.shape()[self.axis]))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// `cat`: each input gets back its own stretch of the concatenation axis.
pub(crate) struct CatBackward {
    axis: usize,
    sizes: Vec<usize>,
}

metadata_rule!(CatBackward, api: &["cat", "stack"], derivative: "each input's stretch of grad along the axis");

impl Backward for CatBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let mut offset = 0;
        let mut out = Vec::with_capacity(self.sizes.len());
        for (i, &n) in self.sizes.iter().enumerate() {
            out.push(
                ctx.needs_input_grad(i).then(|| grad.narrow(self.axis, offset, n)).transpose()?,
            );
            offset += n;
        }
        Ok(out)
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        let parts = (0..j.inputs.len())
            .map(|i| j.tangent(i).cloned().map_or_else(|| j.inputs[i].zeros_like(), Ok))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(Tensor::cat(&parts, self.axis as i64)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

impl Tensor {
    /// Applies a Python-style index expression.
    pub fn index(&self, items: &[IndexItem]) -> Result<Tensor> {
        let shape = self.shape();
        let consumes = |it: &IndexItem| !matches!(it, IndexItem::NewAxis | IndexItem::Ellipsis);
        let used = items.iter().filter(|it| consumes(it)).count();
        let ellipses = items.iter().filter(|it| matches!(it, IndexItem::Ellipsis)).count();
        if ellipses > 1 {
            return Err(Error::Index {
                op: "index",
                message: "an index can only have a single ellipsis ('...')".into(),
            });
        }
        if used > shape.len() {
            return Err(Error::Index {
                op: "index",
                message: format!(
                    "too many indices for a tensor of shape {}: {used} were indexed",
                    fmt_shape(&shape)
                ),
            });
        }
        if items.iter().any(|it| matches!(it, IndexItem::Array { .. } | IndexItem::Mask { .. })) {
            return self.advanced_index(items);
        }
        let mut elems = Vec::with_capacity(items.len() + shape.len());
        let mut axis = 0usize;
        let full = || SliceInfoElem::Slice { start: 0, end: None, step: 1 };
        for item in items {
            match item {
                IndexItem::Ellipsis => {
                    for _ in 0..shape.len() - used {
                        elems.push(full());
                        axis += 1;
                    }
                }
                IndexItem::NewAxis => {
                    elems.push(SliceInfoElem::NewAxis);
                }
                IndexItem::Int(i) => {
                    elems
                        .push(SliceInfoElem::Index(checked_index(*i, axis, shape[axis])? as isize));
                    axis += 1;
                }
                IndexItem::Slice { start, stop, step } => {
                    elems.push(resolve_slice(*start, *stop, *step, shape[axis])?.0);
                    axis += 1;
                }
                IndexItem::Array { .. } | IndexItem::Mask { .. } => {
                    return Err(Error::internal("index", "advanced indices take advanced_index"));
                }
            }
        }
        for _ in axis..shape.len() {
            elems.push(full());
        }
        let plain = elems.iter().all(|e| *e == full()) && elems.len() == shape.len();
        if plain {
            self.identity_view()
        } else {
            self.slice_window(&window(elems)?)
        }
    }

    /// Takes a window (a view; the VJP writes the gradient back into zeros).
    fn slice_window(&self, window: &Window) -> Result<Tensor> {
        let input_shape = self.shape();
        let out = map_any!(&self.array(), a => a.clone().slice_move(window.as_ref()));
        let rule_window = window.clone();
        let out =
            record(&[self], out, || Box::new(SliceBackward { input_shape, window: rule_window }))?;
        // A view of this tensor's storage, unless a step is negative (PyTorch has none; NumPy's
        // reversed slices are copies here).
        let Some(strides) = window_strides(&self.strides(), window.as_ref().as_ref(), &out.shape())
        else {
            return Ok(out);
        };
        let replay = window.clone();
        Ok(out.become_view(self, strides, Arc::new(move |b: &Tensor| b.slice_window(&replay))))
    }

    /// Zeros of `shape` with this tensor written into `window`.
    fn slice_scatter(&self, shape: &[usize], window: &Window) -> Result<Tensor> {
        let out = dispatch!("slice_scatter"; &self.array(), a => {
            let mut z = ArrayD::zeros(IxDyn(shape));
            z.slice_mut(window.as_ref()).assign(a);
            Element::wrap(z.into_shared())
        });
        let window = window.clone();
        record(&[self], out, || Box::new(SliceScatterBackward { window }))
    }

    /// `length` positions of `axis` from `start` (PyTorch's `narrow`).
    pub fn narrow(&self, axis: usize, start: usize, length: usize) -> Result<Tensor> {
        let shape = self.shape();
        if axis >= shape.len() || start + length > shape[axis] {
            return Err(Error::Index {
                op: "narrow",
                message: format!(
                    "positions {start}..{} of dimension {axis} are outside shape {}",
                    start + length,
                    fmt_shape(&shape)
                ),
            });
        }
        let elems = (0..shape.len())
            .map(|i| {
                if i == axis {
                    SliceInfoElem::Slice {
                        start: start as isize,
                        end: Some((start + length) as isize),
                        step: 1,
                    }
                } else {
                    SliceInfoElem::Slice { start: 0, end: None, step: 1 }
                }
            })
            .collect();
        self.slice_window(&window(elems)?)
    }

    /// The windows of `size` elements every `step` along `dim`, as a new last axis
    /// (PyTorch's `unfold`): a view of this tensor's storage. The value is gathered with
    /// `index_select`, so overlapping windows (`step < size`) add up their gradients.
    pub fn unfold(&self, dim: i64, size: i64, step: i64) -> Result<Tensor> {
        let shape = self.shape();
        let axis = normalize_axis("unfold", dim, shape.len())?;
        if size < 0 {
            return Err(Error::value("unfold", format!("size is {size} but must be >= 0")));
        }
        if step <= 0 {
            return Err(Error::value("unfold", format!("step is {step} but must be > 0")));
        }
        let (size_u, step_u) = (size as usize, step as usize);
        let n = shape.get(axis).copied().unwrap_or(1);
        if size_u > n {
            return Err(Error::shape(
                "unfold",
                format!("maximum size for tensor at dimension {axis} is {n} but size is {size}"),
            ));
        }
        if shape.is_empty() {
            // A 0-d tensor unfolds as one element: `unfold(0, 1, step)` has shape (1,).
            return self.reshape(&[1])?.unfold(0, size, step)?.reshape(&[size_u]);
        }
        let count = (n - size_u) / step_u + 1;
        let total = count.checked_mul(size_u).ok_or_else(|| {
            Error::shape("unfold", format!("{count} windows of size {size} are too many"))
        })?;
        let positions = crate::alloc::try_collect(
            "unfold",
            total,
            (0..count).flat_map(|w| (0..size_u).map(move |k| (w * step_u + k) as i64)),
        )?;
        // (.., count·size, ..) -> (.., count, size, ..) -> size moved last, then a copy of its
        // own so that the result can become a view of this tensor's storage.
        let mut grouped = shape.clone();
        grouped[axis] = count;
        grouped.insert(axis + 1, size_u);
        let mut perm: Vec<i64> =
            (0..grouped.len() as i64).filter(|&d| d != axis as i64 + 1).collect();
        perm.push(axis as i64 + 1);
        let out = self
            .index_select(axis as i64, &positions)?
            .reshape(&grouped)?
            .permute(&perm)?
            .copy()?;
        let window = self.strides().unfold(axis, size_u, step_u);
        Ok(out.become_view(self, window, Arc::new(move |b: &Tensor| b.unfold(dim, size, step))))
    }

    /// The `offset` diagonal of axes `dim1`, `dim2`, which are removed; the diagonal becomes the
    /// last axis (PyTorch's `diagonal`). A view: it reads the input's storage with the stride
    /// `stride[dim1] + stride[dim2]`. An offset beyond the matrix gives an empty diagonal.
    pub fn diagonal(&self, offset: i64, dim1: i64, dim2: i64) -> Result<Tensor> {
        let input_shape = self.shape();
        if input_shape.len() < 2 {
            return Err(Error::shape(
                "diagonal",
                format!("input must be >= 2-d, got shape {}", fmt_shape(&input_shape)),
            ));
        }
        let d1 = normalize_axis("diagonal", dim1, input_shape.len())?;
        let d2 = normalize_axis("diagonal", dim2, input_shape.len())?;
        if d1 == d2 {
            return Err(Error::value(
                "diagonal",
                format!("diagonal dimensions cannot be identical {dim1}, {dim2}"),
            ));
        }
        let window = self.strides().diagonal(offset, d1, d2);
        let (storage, _) = self.data();
        let out = storage.read(&crate::storage::Layout::Strided(window.clone()));
        let out = record(&[self], out, || {
            Box::new(DiagonalBackward { input_shape, offset, dim1: d1, dim2: d2 })
        })?;
        let replay = Arc::new(move |b: &Tensor| b.diagonal(offset, dim1, dim2));
        Ok(out.become_view(self, window, replay))
    }

    /// Gathers positions along `axis` (negative indices count from the end).
    pub fn index_select(&self, axis: i64, indices: &[i64]) -> Result<Tensor> {
        let shape = self.shape();
        let axis = normalize_axis("index_select", axis, shape.len())?;
        let resolved = indices
            .iter()
            .map(|&i| checked_index(i, axis, shape[axis]))
            .collect::<Result<Vec<_>>>()?;
        self.index_select_checked(axis, &Arc::new(resolved))
    }

    fn index_select_checked(&self, axis: usize, indices: &Arc<Vec<usize>>) -> Result<Tensor> {
        let size = self.shape()[axis];
        let out = map_any!(&self.array(), a => a.select(Axis(axis), indices));
        let indices = indices.clone();
        record(&[self], out, || Box::new(IndexSelectBackward { axis, size, indices }))
    }

    /// Zeros with `size` positions on `axis`, plus row `j` of `self` added at `indices[j]`.
    fn index_add(&self, axis: usize, indices: &Arc<Vec<usize>>, size: usize) -> Result<Tensor> {
        let mut shape = self.shape();
        shape[axis] = size;
        let out = dispatch!("index_add"; &self.array(), a => {
            let mut z = ArrayD::zeros(IxDyn(&shape));
            for (j, &i) in indices.iter().enumerate() {
                let mut row = z.index_axis_mut(Axis(axis), i);
                row += &a.index_axis(Axis(axis), j);
            }
            Element::wrap(z.into_shared())
        });
        let indices = indices.clone();
        record(&[self], out, || Box::new(IndexAddBackward { axis, indices }))
    }

    /// Concatenates along `axis`; shapes must agree elsewhere, dtypes are promoted.
    pub fn cat(tensors: &[Tensor], axis: i64) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::value("cat", "expected a non-empty list of tensors"))?;
        let ndim = first.ndim();
        if ndim == 0 {
            return Err(Error::shape("cat", "zero-dimensional tensors cannot be concatenated"));
        }
        let axis = normalize_axis("cat", axis, ndim)?;
        // `first` exists (checked above), so the fold has a start.
        let dtype = tensors.iter().map(Tensor::dtype).fold(first.dtype(), DType::promote);
        let reference = first.shape();
        for (i, t) in tensors.iter().enumerate() {
            let s = t.shape();
            let fits = s.len() == ndim
                && s.iter().zip(&reference).enumerate().all(|(d, (a, b))| d == axis || a == b);
            if !fits {
                return Err(Error::shape(
                    "cat",
                    format!(
                        "tensor {i} has shape {} but tensor 0 has shape {}: all dimensions except \
                         {axis} must match",
                        fmt_shape(&s),
                        fmt_shape(&reference)
                    ),
                ));
            }
        }
        let tensors = tensors.iter().map(|t| t.to_dtype(dtype)).collect::<Result<Vec<_>>>()?;
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[axis]).collect();
        let mut total_shape = reference.clone();
        total_shape[axis] = sizes.iter().sum();
        checked_numel("cat", &total_shape)?;
        let arrays: Vec<Array> = tensors.iter().map(Tensor::array).collect();
        let out = concat(&arrays, axis)?;
        let refs: Vec<&Tensor> = tensors.iter().collect();
        record(&refs, out, || Box::new(CatBackward { axis, sizes }))
    }

    /// Stacks equal-shaped tensors along a new axis.
    pub fn stack(tensors: &[Tensor], axis: i64) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| Error::value("stack", "expected a non-empty list of tensors"))?;
        let shape = first.shape();
        if let Some((i, t)) = tensors.iter().enumerate().find(|(_, t)| t.shape() != shape) {
            return Err(Error::shape(
                "stack",
                format!(
                    "stack expects tensors of equal shape, but tensor 0 has shape {} and tensor \
                     {i} has shape {}",
                    fmt_shape(&shape),
                    fmt_shape(&t.shape())
                ),
            ));
        }
        let at = normalize_axis("stack", axis, shape.len() + 1)? as i64;
        let expanded = tensors.iter().map(|t| t.unsqueeze(at)).collect::<Result<Vec<_>>>()?;
        Tensor::cat(&expanded, at)
    }
}

fn concat(arrays: &[Array], axis: usize) -> Result<Array> {
    // The callers cast every array to the promoted dtype first.
    fn typed<T: Scalar>(arrays: &[Array], axis: usize) -> Result<Array> {
        let views = arrays
            .iter()
            .map(|a| {
                T::unwrap_ref(a)
                    .map(|x| x.view())
                    .ok_or_else(|| crate::array::dtype_mismatch("cat", T::TAG, a.dtype()))
            })
            .collect::<Result<Vec<_>>>()?;
        // Checked and reserved here: ndarray's `concatenate` allocates infallibly.
        let Some(first) = views.first() else {
            return Err(Error::shape("cat", "expected at least one tensor"));
        };
        let mut shape = first.shape().to_vec();
        shape[axis] = views.iter().map(|v| v.shape()[axis]).sum();
        let len = crate::array::checked_numel("cat", &shape)?;
        let mut out = crate::alloc::try_with_capacity::<T>("cat", len)?;
        // Row-major order of the result: for each index before `axis`, each operand's block.
        let outer: usize = shape[..axis].iter().product();
        if len > 0 {
            let blocks = views
                .iter()
                .map(|v| v.to_shape((outer, v.len() / outer)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::internal("cat", format!("operands split into rows: {e}")))?;
            for i in 0..outer {
                for block in &blocks {
                    out.extend(block.row(i).iter().copied());
                }
            }
        }
        Ok(T::wrap_any(crate::alloc::array_from_vec("cat", &shape, out)?.into_shared()))
    }
    let dtype = arrays.first().map_or(DType::F32, Array::dtype);
    with_scalar_type!(dtype, T => typed::<T>(arrays, axis))
}

/// Checks an integer index against an axis of extent `size`, wrapping negatives.
fn checked_index(index: i64, axis: usize, size: usize) -> Result<usize> {
    let n = size as i64;
    let wrapped = if index < 0 { index + n } else { index };
    if wrapped < 0 || wrapped >= n {
        return Err(Error::IndexOutOfRange { op: "index", index, axis, size });
    }
    Ok(wrapped as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, grad_of_sum, leaf, values};

    fn slice(start: Option<i64>, stop: Option<i64>, step: i64) -> IndexItem {
        IndexItem::Slice { start, stop, step }
    }

    #[test]
    fn slices_follow_python_semantics_including_negative_steps() {
        let x = leaf(&[6], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], false);
        let take = |items: &[IndexItem]| values(&x.index(items).unwrap());
        assert_eq!(take(&[slice(Some(1), Some(4), 1)]), vec![1.0, 2.0, 3.0]);
        assert_eq!(take(&[slice(None, None, -1)]), vec![5.0, 4.0, 3.0, 2.0, 1.0, 0.0]);
        assert_eq!(take(&[slice(Some(5), Some(1), -2)]), vec![5.0, 3.0]);
        assert_eq!(take(&[slice(Some(-2), None, 1)]), vec![4.0, 5.0]);
        assert_eq!(take(&[slice(Some(10), Some(20), 1)]), Vec::<f64>::new());
        assert_eq!(take(&[IndexItem::Int(-1)]), vec![5.0]);
        assert_eq!(
            x.index(&[IndexItem::NewAxis, IndexItem::Ellipsis]).unwrap().shape(),
            vec![1, 6]
        );
    }

    #[test]
    fn slice_and_gather_gradients_land_on_the_taken_elements() {
        let x = leaf(&[5], &[0.0; 5], true);
        let g = grad_of_sum(&x, |t| t.index(&[slice(None, None, 2)]));
        assert_close(&g, &[1.0, 0.0, 1.0, 0.0, 1.0], 0.0);
        // Repeated indices accumulate.
        let pick = IndexItem::Array { indices: vec![0, 3, 3, -1], shape: vec![2, 2] };
        assert_eq!(x.index(&[pick.clone()]).unwrap().shape(), vec![2, 2]);
        let g = grad_of_sum(&x, |t| t.index(&[pick.clone()]));
        assert_close(&g, &[1.0, 0.0, 0.0, 2.0, 1.0], 0.0);
    }

    #[test]
    fn unfold_is_a_view_whose_overlapping_windows_add_their_gradients() {
        let x = leaf(&[5], &[0.0, 1.0, 2.0, 3.0, 4.0], true);
        let y = x.unfold(0, 3, 1).unwrap();
        assert_eq!(y.shape(), vec![3, 3]);
        assert_eq!(values(&y), vec![0.0, 1.0, 2.0, 1.0, 2.0, 3.0, 2.0, 3.0, 4.0]);
        assert!(y.shares_storage(&x));
        // d(sum of windows)/dx_i = the number of windows that hold x_i.
        let g = grad_of_sum(&x, |t| t.unfold(0, 3, 1));
        assert_close(&g, &[1.0, 2.0, 3.0, 2.0, 1.0], 0.0);
        assert!(x.unfold(0, 6, 1).is_err());
        assert!(x.unfold(0, 2, 0).is_err());
    }

    #[test]
    fn diagonal_is_a_view_whose_gradient_lands_on_the_diagonal() {
        // x = [[0, 1, 2], [3, 4, 5]]: offset 1 is [1, 5], offset -1 is [3], offset 3 is empty.
        let x = leaf(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], true);
        assert_eq!(values(&x.diagonal(0, 0, 1).unwrap()), vec![0.0, 4.0]);
        assert_eq!(values(&x.diagonal(1, 0, 1).unwrap()), vec![1.0, 5.0]);
        assert_eq!(values(&x.diagonal(-1, 1, 0).unwrap()), vec![1.0, 5.0]);
        assert_eq!(values(&x.diagonal(-1, 0, 1).unwrap()), vec![3.0]);
        assert_eq!(x.diagonal(3, 0, 1).unwrap().shape(), vec![0]);
        assert_eq!(x.diagonal(i64::MIN, 0, 1).unwrap().shape(), vec![0]);
        let d = x.diagonal(1, 0, 1).unwrap();
        assert!(d.shares_storage(&x));
        assert_eq!(d.stride(), vec![4]);
        assert_eq!(d.storage_offset(), 1);
        // d(sum of the diagonal)/dx = 1 on the diagonal, 0 elsewhere.
        let g = grad_of_sum(&x, |t| t.diagonal(1, 0, 1));
        assert_close(&g, &[0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 0.0);
        assert!(x.diagonal(0, 0, 0).is_err());
        assert!(x.diagonal(0, 0, 2).is_err());
        assert!(leaf(&[3], &[0.0; 3], false).diagonal(0, 0, 1).is_err());
    }

    #[test]
    fn writes_through_a_diagonal_reach_the_base() {
        let x = leaf(&[2, 2], &[1.0, 2.0, 3.0, 4.0], false);
        let version = x.version();
        let d = x.diagonal(0, 0, 1).unwrap();
        d.fill_with(crate::array::ScalarValue::Float(0.0)).unwrap();
        assert_eq!(values(&x), vec![0.0, 2.0, 3.0, 0.0]);
        assert_eq!(x.version(), version + 1);
        assert_eq!(d.version(), x.version());
    }

    #[test]
    fn cat_splits_the_gradient_back() {
        let a = leaf(&[2, 1], &[1.0, 2.0], true);
        let b = leaf(&[2, 2], &[3.0, 4.0, 5.0, 6.0], true);
        let y = Tensor::cat(&[a.clone(), b.clone()], 1).unwrap();
        assert_eq!(values(&y), vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        let w = leaf(&[3], &[1.0, 10.0, 100.0], false);
        let loss = y.mul(&w).unwrap().sum(None, false).unwrap();
        let g = crate::engine::grad(&[loss], &[None], &[a, b], false, false, false).unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[1.0, 1.0], 0.0);
        assert_close(&values(g[1].as_ref().unwrap()), &[10.0, 100.0, 10.0, 100.0], 0.0);
    }

    #[test]
    fn out_of_range_indices_are_errors() {
        let x = leaf(&[2, 3], &[0.0; 6], false);
        let err = x.index(&[IndexItem::Int(0), IndexItem::Int(3)]).unwrap_err();
        assert!(matches!(err, Error::IndexOutOfRange { index: 3, axis: 1, size: 3, .. }), "{err}");
        assert!(x.index(&[IndexItem::Int(0), IndexItem::Int(0), IndexItem::Int(0)]).is_err());
        assert!(x.index(&[slice(None, None, 0)]).is_err());
    }
}
