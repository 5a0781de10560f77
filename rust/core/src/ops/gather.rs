//! Gathers and scatters at flat positions: advanced indexing (`x[idx]`, `x[rows, cols]`,
//! `x[:, idx]`, `x[mask]`, `x[mask, 1:]`) and the selection ops built on it (`gather`,
//! `take`, `masked_select`, `scatter*`, `index_*`, `embedding`).
//!
//! Two primitives, each the other's VJP: [`TakeBackward`] (read the input at flat row-major
//! positions) and [`PutAddBackward`] (add each element into zeros at its position; repeated
//! positions add up). Every selection reduces to a list of positions, so these two rules
//! carry every gradient of the family; they exist as primitives because one pass over a
//! position list is the whole cost (a composition from `index_select` along one axis would
//! gather once per indexed axis).

use crate::array::{broadcast_shapes, checked_numel, DType, Element, Scalar};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedInfo, VjpContext};
use crate::ops::index::IndexItem;
use crate::ops::integer;
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::{dispatch, map_any};
use ndarray::{ArrayD, IxDyn};
use std::sync::Arc;

/// Flat row-major positions into a tensor's elements.
pub type Positions = Arc<Vec<usize>>;

/// `x.flatten()[positions]`, shaped `shape`.
pub(crate) struct TakeBackward {
    input_shape: Vec<usize>,
    positions: Positions,
}

impl Primitive for TakeBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "TakeBackward",
        family: "gather",
        api: &[
            "__getitem__",
            "gather",
            "take",
            "take_along_dim",
            "masked_select",
            "index_select",
            "scatter",
            "index_copy",
        ],
        saves: Saves::Metadata,
        derivative: "grad added into zeros at the positions read (repeats add up)",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for TakeBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.put_add(&self.positions, &self.input_shape)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.take_positions(&self.positions, &j.result.shape()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// Zeros of a shape with element `k` of the input added at `positions[k]`: the adjoint of
/// [`TakeBackward`]'s op.
pub(crate) struct PutAddBackward {
    input_shape: Vec<usize>,
    positions: Positions,
}

impl Primitive for PutAddBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "PutAddBackward",
        family: "gather",
        api: &["scatter_add", "scatter_reduce", "index_add", "bincount"],
        saves: Saves::Metadata,
        derivative: "grad read at the positions written",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for PutAddBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.take_positions(&self.positions, &self.input_shape)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.put_add(&self.positions, &j.result.shape()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

impl Tensor {
    /// The elements at flat row-major `positions`, shaped `shape` (any dtype). Positions must
    /// be below `numel` (checked) and as many as `shape` has elements.
    pub fn take_positions(&self, positions: &Positions, shape: &[usize]) -> Result<Tensor> {
        let numel = self.numel();
        check_positions("take", positions, numel)?;
        if checked_numel("take", shape)? != positions.len() {
            return Err(Error::shape(
                "take",
                format!("{} positions cannot fill shape {}", positions.len(), fmt_shape(shape)),
            ));
        }
        let out = map_any!(&self.array(), a => {
            let data = a.as_standard_layout();
            // Infallible: an array in standard layout is one slice (made so just above).
            let data = data.as_slice().expect("standard layout is contiguous");
            let picked: Vec<_> = positions.iter().map(|&p| data[p]).collect();
            ArrayD::from_shape_vec(IxDyn(shape), picked)
                .map_err(|_| Error::internal("take", "one position per element of the shape"))?
        });
        let (input_shape, positions) = (self.shape(), positions.clone());
        record(&[self], out, || Box::new(TakeBackward { input_shape, positions }))
    }

    /// Zeros of `shape` with element `k` of this tensor (row-major) added at `positions[k]`;
    /// repeated positions add up (integers wrap; bools `or`, as PyTorch's `index_add`).
    pub fn put_add(&self, positions: &Positions, shape: &[usize]) -> Result<Tensor> {
        let numel = checked_numel("put_add", shape)?;
        check_positions("put_add", positions, numel)?;
        if positions.len() != self.numel() {
            return Err(Error::shape(
                "put_add",
                format!(
                    "{} positions for a source of shape {}",
                    positions.len(),
                    fmt_shape(&self.shape())
                ),
            ));
        }
        let source = self.array();
        let out = if source.dtype().is_floating_point() {
            dispatch!("put_add"; &source, a => {
                let source = a.as_standard_layout();
                // Infallible: an array in standard layout is one slice (made so just above).
                let source = source.as_slice().expect("standard layout is contiguous");
                let sums = add_at(source, positions, numel);
                let sums = ArrayD::from_shape_vec(IxDyn(shape), sums)
                    .map_err(|_| Error::internal("put_add", "one sum per element of the shape"))?;
                Element::wrap(sums.into_shared())
            })
        } else {
            // Integers and bools: exact wrapping sums (bool: any true), no gradient.
            let sums =
                ArrayD::from_shape_vec(IxDyn(shape), integer::add_at(&source, positions, numel))
                    .map_err(|_| Error::internal("put_add", "one sum per element of the shape"))?;
            crate::with_scalar_type!(source.dtype(), T => T::wrap_any(sums.mapv(T::cast_i64).into_shared()))
        };
        let (input_shape, positions) = (self.shape(), positions.clone());
        record(&[self], out, || Box::new(PutAddBackward { input_shape, positions }))
    }

    /// `x[...]` with integer arrays and bool masks among the items (NumPy's and PyTorch's
    /// advanced indexing). Basic items (ints, slices, `None`, `...`) are applied first as a
    /// view; the index arrays, broadcast together, then pick flat positions of that view.
    /// Adjacent index arrays put their broadcast shape where they stand; separated ones
    /// (by a slice or `None`) put it first.
    pub(crate) fn advanced_index(&self, items: &[IndexItem]) -> Result<Tensor> {
        let shape = self.shape();
        if let [IndexItem::Mask { values, shape: mask_shape }] = items {
            if *mask_shape == shape && !shape.is_empty() {
                // `x[mask]` over every axis: the true elements' flat positions, directly.
                let positions: Vec<usize> =
                    values.iter().enumerate().filter(|(_, &v)| v).map(|(k, _)| k).collect();
                let count = positions.len();
                return self.take_positions(&Arc::new(positions), &[count]);
            }
        }
        let items = expand_masks(items, &shape)?;
        // The basic part, with every index array replaced by a full slice, noting for each
        // array the axis of the view it indexes and the input axis (for error messages).
        let mut basic = Vec::with_capacity(items.len());
        let mut arrays: Vec<(usize, usize, &[i64], &[usize])> = Vec::new();
        let used =
            items.iter().filter(|it| !matches!(it, IndexItem::NewAxis | IndexItem::Ellipsis));
        let used = used.count();
        let (mut axis, mut view_axis) = (0usize, 0usize);
        for item in &items {
            match item {
                IndexItem::Array { indices, shape: index_shape } => {
                    arrays.push((view_axis, axis, indices, index_shape));
                    basic.push(IndexItem::Slice { start: None, stop: None, step: 1 });
                    axis += 1;
                    view_axis += 1;
                }
                IndexItem::Int(_) => {
                    basic.push(item.clone());
                    axis += 1;
                }
                IndexItem::Slice { .. } => {
                    basic.push(item.clone());
                    axis += 1;
                    view_axis += 1;
                }
                IndexItem::NewAxis => {
                    basic.push(item.clone());
                    view_axis += 1;
                }
                IndexItem::Ellipsis => {
                    let n = shape.len().saturating_sub(used);
                    basic.push(item.clone());
                    axis += n;
                    view_axis += n;
                }
                IndexItem::Mask { .. } => {
                    return Err(Error::internal("index", "masks were expanded into arrays"));
                }
            }
        }
        let view = self.index(&basic)?;
        let view_shape = view.shape();
        let strides = row_major_strides(&view_shape);
        let mut broadcast: Vec<usize> = Vec::new();
        for (_, _, _, s) in &arrays {
            broadcast = broadcast_shapes("index", &broadcast, s).map_err(|_| {
                let shapes: Vec<String> =
                    arrays.iter().map(|a| fmt_shape(a.3).to_string()).collect();
                Error::Index {
                    op: "index",
                    message: format!(
                        "shape mismatch: indexing arrays could not be broadcast together with \
                         shapes {}",
                        shapes.join(", ")
                    ),
                }
            })?;
        }
        // Offsets of the index block: Σ_i index_i · stride(axis_i), over the broadcast shape.
        let count = checked_numel("index", &broadcast)?;
        let mut block = vec![0usize; count];
        for &(at, input_axis, indices, index_shape) in &arrays {
            let size = view_shape[at];
            let index = ndarray::ArrayViewD::from_shape(IxDyn(index_shape), indices)
                .map_err(|e| Error::value("index", e.to_string()))?;
            let index = index.broadcast(IxDyn(&broadcast)).ok_or_else(|| {
                Error::internal("index", "each index array broadcasts to the common shape")
            })?;
            for (slot, &i) in block.iter_mut().zip(index.iter()) {
                *slot += wrap_index("index", i, input_axis, size)? * strides[at];
            }
        }
        let advanced: Vec<usize> = arrays.iter().map(|a| a.0).collect();
        let adjacent = advanced.windows(2).all(|w| w[1] == w[0] + 1);
        let rest = |range: std::ops::Range<usize>| -> Vec<usize> {
            range.filter(|d| !advanced.contains(d)).collect()
        };
        let (before, after) = match (adjacent, advanced.first(), advanced.last()) {
            (true, Some(&first), Some(&last)) => (rest(0..first), rest(last + 1..view_shape.len())),
            _ => (Vec::new(), rest(0..view_shape.len())),
        };
        let before_offsets = offsets(&before, &view_shape, &strides);
        let after_offsets = offsets(&after, &view_shape, &strides);
        let total = before_offsets.len() * block.len() * after_offsets.len();
        let mut positions = Vec::with_capacity(total);
        for &b in &before_offsets {
            for &m in &block {
                positions.extend(after_offsets.iter().map(|&a| b + m + a));
            }
        }
        let mut out_shape: Vec<usize> = before.iter().map(|&d| view_shape[d]).collect();
        out_shape.extend(&broadcast);
        out_shape.extend(after.iter().map(|&d| view_shape[d]));
        view.take_positions(&Arc::new(positions), &out_shape)
    }
}

impl Tensor {
    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `axis = 1` (PyTorch's `gather`):
    /// `index` has as many dimensions as `self`, and is no larger off `axis`.
    pub fn gather(&self, axis: i64, index: &Tensor) -> Result<Tensor> {
        let shape = self.shape();
        let axis = crate::array::normalize_axis("gather", axis, shape.len().max(1))?;
        let (values, index_shape) = (index_values("gather", index)?, index.shape());
        if shape.is_empty() {
            // A 0-d tensor gathers from itself at index 0 (or -1), as PyTorch allows.
            let positions =
                values.iter().map(|&i| wrap_index("gather", i, 0, 1)).collect::<Result<_>>()?;
            return self.take_positions(&Arc::new(positions), &index_shape);
        }
        let positions = along_axis_positions("gather", &shape, axis, &index_shape, Some(&values))?;
        self.take_positions(&Arc::new(positions), &index_shape)
    }
}

/// The elements of an integer index tensor as `i64`, or a [`Error::DType`] for any other
/// dtype.
pub fn index_values(op: &'static str, index: &Tensor) -> Result<Vec<i64>> {
    check_index_dtype(op, index.dtype())?;
    if let crate::array::Array::I64(a) = index.array() {
        return Ok(a.iter().copied().collect());
    }
    match index.array().cast(DType::I64) {
        crate::array::Array::I64(a) => Ok(a.iter().copied().collect()),
        other => Err(crate::array::dtype_mismatch(op, other.dtype(), DType::I64)),
    }
}

/// Zeros with `source[k]` added at `positions[k]`.
fn add_at<T: Element>(source: &[T], positions: &[usize], numel: usize) -> Vec<T> {
    let mut sums = vec![T::zero(); numel];
    for (&p, &v) in positions.iter().zip(source) {
        sums[p] = sums[p] + v;
    }
    sums
}

/// Replaces each bool mask by one integer array per axis it covers (the coordinates of its
/// true elements, row-major), after checking its shape against the axes it covers.
fn expand_masks(items: &[IndexItem], shape: &[usize]) -> Result<Vec<IndexItem>> {
    let consumed = |it: &IndexItem| match it {
        IndexItem::NewAxis | IndexItem::Ellipsis => 0,
        IndexItem::Mask { shape, .. } => shape.len(),
        _ => 1,
    };
    let used: usize = items.iter().map(consumed).sum();
    if used > shape.len() {
        return Err(Error::Index {
            op: "index",
            message: format!(
                "too many indices for a tensor of shape {}: {used} were indexed",
                fmt_shape(shape)
            ),
        });
    }
    let mut out = Vec::with_capacity(items.len() + 2);
    let mut axis = 0;
    for item in items {
        match item {
            IndexItem::Mask { shape: mask_shape, .. } if mask_shape.is_empty() => {
                return Err(Error::Index {
                    op: "index",
                    message: "a zero-dimensional bool index is not supported; index with a \
                              mask of at least one dimension"
                        .into(),
                })
            }
            IndexItem::Mask { values, shape: mask_shape } => {
                let covered = &shape[axis..axis + mask_shape.len()];
                if covered != mask_shape.as_slice() {
                    return Err(Error::shape(
                        "index",
                        format!(
                            "the mask of shape {} does not match the shape {} of the indexed \
                             tensor at dimensions {axis}..{} (tensor shape {})",
                            fmt_shape(mask_shape),
                            fmt_shape(covered),
                            axis + mask_shape.len(),
                            fmt_shape(shape)
                        ),
                    ));
                }
                let strides = row_major_strides(mask_shape);
                let trues: Vec<usize> =
                    values.iter().enumerate().filter(|(_, &v)| v).map(|(k, _)| k).collect();
                for (d, &stride) in strides.iter().enumerate() {
                    let coords =
                        trues.iter().map(|&k| ((k / stride) % mask_shape[d]) as i64).collect();
                    out.push(IndexItem::Array { indices: coords, shape: vec![trues.len()] });
                }
                axis += mask_shape.len();
            }
            IndexItem::Ellipsis => {
                out.push(item.clone());
                axis += shape.len() - used;
            }
            other => {
                out.push(other.clone());
                axis += consumed(other);
            }
        }
    }
    Ok(out)
}

/// Element strides of a contiguous row-major array of `shape`.
pub fn row_major_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// Every offset `Σ coord_d · strides[d]` over the listed axes, row-major.
fn offsets(axes: &[usize], shape: &[usize], strides: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize];
    for &d in axes {
        out = out.iter().flat_map(|&o| (0..shape[d]).map(move |i| o + i * strides[d])).collect();
    }
    out
}

/// An index wrapped into `0..size` (negatives count from the end), or the error naming the
/// axis, the index and the size.
pub fn wrap_index(op: &'static str, index: i64, axis: usize, size: usize) -> Result<usize> {
    let n = size as i64;
    let wrapped = if index < 0 { index + n } else { index };
    if wrapped < 0 || wrapped >= n {
        return Err(Error::IndexOutOfRange { op, index, axis, size });
    }
    Ok(wrapped as usize)
}

fn check_positions(op: &'static str, positions: &[usize], numel: usize) -> Result<()> {
    match positions.iter().find(|&&p| p >= numel) {
        Some(&p) => Err(Error::Index {
            op,
            message: format!("position {p} is out of range for a tensor of {numel} elements"),
        }),
        None => Ok(()),
    }
}

/// Positions for `gather`/`scatter` along `axis`: element `e` of an index of shape
/// `index_shape` (no larger than `shape` off `axis`) points at `shape`'s element with the
/// same coordinates except `index[e]` on `axis`. With `index_values` `None`, the coordinate
/// on `axis` is `e`'s own (the source side of a scatter).
pub fn along_axis_positions(
    op: &'static str,
    shape: &[usize],
    axis: usize,
    index_shape: &[usize],
    index_values: Option<&[i64]>,
) -> Result<Vec<usize>> {
    let fits = index_shape.len() == shape.len()
        && index_shape
            .iter()
            .zip(shape)
            .enumerate()
            .all(|(d, (i, s))| i <= s || (d == axis && index_values.is_some()));
    if !fits {
        return Err(Error::shape(
            op,
            format!(
                "index of shape {} does not fit a tensor of shape {} (dimension {axis} aside, \
                 the index can be no larger, and must have as many dimensions)",
                fmt_shape(index_shape),
                fmt_shape(shape)
            ),
        ));
    }
    let strides = row_major_strides(shape);
    let axes: Vec<usize> = (0..shape.len()).filter(|&d| d != axis).collect();
    let out = offsets_within(&axes, index_shape, &strides);
    // `offsets_within` walks every axis but `axis`; interleave `axis` in row-major order.
    let inner: usize = index_shape[axis + 1..].iter().product();
    let n = index_shape[axis];
    let outer = out.len() / inner.max(1);
    let mut positions = Vec::with_capacity(out.len() * n);
    for o in 0..outer {
        for k in 0..n {
            for i in 0..inner {
                let e = (o * n + k) * inner + i;
                let coordinate = match index_values {
                    Some(values) => wrap_index(op, values[e], axis, shape[axis])?,
                    None => k,
                };
                positions.push(out[o * inner + i] + coordinate * strides[axis]);
            }
        }
    }
    Ok(positions)
}

/// Like [`offsets`], but walking the extents of `walk_shape` with `strides` of another shape.
fn offsets_within(axes: &[usize], walk_shape: &[usize], strides: &[usize]) -> Vec<usize> {
    let mut out = vec![0usize];
    for &d in axes {
        out =
            out.iter().flat_map(|&o| (0..walk_shape[d]).map(move |i| o + i * strides[d])).collect();
    }
    out
}

/// Checks that `dtype` can index (integers), or the error naming it.
pub fn check_index_dtype(op: &'static str, dtype: DType) -> Result<()> {
    match dtype {
        DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => Ok(()),
        DType::Bool | DType::F32 | DType::F64 => Err(Error::DType {
            op,
            message: format!("tensors used as indices must be integer tensors, got dtype {dtype}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, grad_of_sum, leaf, values};

    fn array(indices: &[i64], shape: &[usize]) -> IndexItem {
        IndexItem::Array { indices: indices.to_vec(), shape: shape.to_vec() }
    }
    fn all() -> IndexItem {
        IndexItem::Slice { start: None, stop: None, step: 1 }
    }

    #[test]
    fn adjacent_arrays_stay_in_place_and_separated_ones_move_first() {
        let x = leaf(&[2, 3, 4, 5], &[0.0; 120], false);
        let i = array(&[0, 1], &[2]);
        assert_eq!(x.index(&[all(), i.clone(), i.clone()]).unwrap().shape(), vec![2, 2, 5]);
        assert_eq!(x.index(&[all(), i.clone(), all(), i.clone()]).unwrap().shape(), vec![2, 2, 4]);
        assert_eq!(
            x.index(&[i.clone(), array(&[0, 1, 2], &[3, 1])]).unwrap().shape(),
            vec![3, 2, 4, 5]
        );
    }

    #[test]
    fn rows_and_cols_pick_elements_and_repeats_accumulate() {
        let x = leaf(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], true);
        let pick = [array(&[1, 0, 1], &[3]), array(&[2, 0, 2], &[3])];
        assert_eq!(values(&x.index(&pick).unwrap()), vec![5.0, 0.0, 5.0]);
        let g = grad_of_sum(&x, |t| t.index(&pick));
        assert_close(&g, &[1.0, 0.0, 0.0, 0.0, 0.0, 2.0], 0.0);
    }

    #[test]
    fn masks_select_true_positions_and_check_their_shape() {
        let x = leaf(&[2, 3], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], false);
        let mask = IndexItem::Mask { values: vec![true, false], shape: vec![2] };
        let y = x.index(&[mask, IndexItem::Slice { start: Some(1), stop: None, step: 1 }]);
        assert_eq!(values(&y.unwrap()), vec![1.0, 2.0]);
        let bad = IndexItem::Mask { values: vec![true; 3], shape: vec![3] };
        assert!(matches!(x.index(&[bad]).unwrap_err(), Error::Shape { .. }));
    }

    #[test]
    fn gather_positions_follow_the_index() {
        // x of shape (2, 3); index [[2, 0], [1, 1]] along axis 1.
        let p = along_axis_positions("gather", &[2, 3], 1, &[2, 2], Some(&[2, 0, 1, 1])).unwrap();
        assert_eq!(p, vec![2, 0, 4, 4]);
        let err = along_axis_positions("gather", &[2, 3], 1, &[1, 1], Some(&[3])).unwrap_err();
        assert!(matches!(err, Error::IndexOutOfRange { index: 3, axis: 1, size: 3, .. }));
    }
}
