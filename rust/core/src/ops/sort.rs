//! Sorting and selection along one axis: `sort`, `topk`, `kthvalue`, `median`, `mode`,
//! `cummax`/`cummin` and `max(dim)`/`min(dim)`.
//!
//! Each op is an index kernel (no gradient: it only decides *which* elements) followed by
//! one differentiable primitive, [`TakeAlongAxisBackward`]'s gather, so every value gradient
//! flows through the returned indices, as in PyTorch. The gather and its adjoint, a
//! scatter-add into zeros ([`PutAlongAxisBackward`]), are each other's VJP, so gradients of
//! gradients work too.
//!
//! Order: NaN sorts as the largest value and `-0.0 == 0.0` (PyTorch's order). Sorts are
//! always stable (equal keys keep their index order, ascending or descending).
//!
//! (Over 500 lines: the sort keys and radix sort, one index kernel per selection, the
//! gather pair they share, and their tests are one family.)

use crate::array::{normalize_axis, Array, DType, Element, Scalar};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, VjpContext};
use crate::ops::reduce::Extreme;
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::{dispatch, dispatch_any, map_any};
use ndarray::{ArcArray, ArrayD, ArrayViewD, IxDyn};
use std::borrow::Cow;

/// PyTorch has no bool kernel for the order statistics (`topk`, `kthvalue`, `median`).
fn refuse_bool(op: &'static str, t: &Tensor) -> Result<()> {
    if t.dtype() == DType::Bool {
        return Err(Error::DType { op, message: "not implemented for dtype bool".into() });
    }
    Ok(())
}

/// `take_along_axis(x, indices, axis)`: `out[.., j, ..] = x[.., indices[.., j, ..], ..]`.
pub(crate) struct TakeAlongAxisBackward {
    axis: usize,
    size: usize,
    indices: Array,
}

impl Primitive for TakeAlongAxisBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "TakeAlongAxisBackward",
        family: "sort",
        api: &["sort", "topk", "kthvalue", "median", "nanmedian", "mode", "cummax", "cummin"],
        saves: Saves::Metadata,
        derivative: "grad scatter-added back at the selected indices (repeats add up)",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for TakeAlongAxisBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.put_along_axis(&self.indices, self.axis, self.size)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.take_along_axis_checked(&self.indices, self.axis))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Buffer("indices"), &self.indices)]
    }
}

/// Zeros with `grad` added at `indices` along an axis: the adjoint of the gather above.
pub(crate) struct PutAlongAxisBackward {
    axis: usize,
    indices: Array,
}

impl Primitive for PutAlongAxisBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "PutAlongAxisBackward",
        family: "sort",
        api: &[],
        saves: Saves::Metadata,
        derivative: "grad gathered at the indices",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for PutAlongAxisBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.take_along_axis_checked(&self.indices, self.axis)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.put_along_axis(&self.indices, self.axis, j.result.shape()[self.axis]))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Buffer("indices"), &self.indices)]
    }
}

/// The elements of `a` with `axis` moved last, in row-major order: one contiguous lane per
/// position of the other axes (borrowed, not copied, when `a` already has that layout).
fn axis_last<'a, T: Clone>(a: ArrayViewD<'a, T>, axis: usize) -> Cow<'a, [T]> {
    let mut order: Vec<usize> = (0..a.ndim()).filter(|&i| i != axis).collect();
    order.push(axis);
    let moved = a.permuted_axes(IxDyn(&order));
    match moved.to_slice() {
        Some(flat) => Cow::Borrowed(flat),
        None => Cow::Owned(moved.iter().cloned().collect()),
    }
}

/// The inverse of [`axis_last`]: lanes of length `shape[axis]` back into `shape`.
fn axis_back<T: Clone>(data: Vec<T>, shape: &[usize], axis: usize) -> Result<ArcArray<T, IxDyn>> {
    let mut moved: Vec<usize> = (0..shape.len()).filter(|&i| i != axis).map(|i| shape[i]).collect();
    moved.push(shape[axis]);
    let lanes = ArrayD::from_shape_vec(IxDyn(&moved), data)
        .map_err(|_| Error::internal("axis_back", "one value per element of the lanes' shape"))?;
    let last = shape.len() - 1;
    let back: Vec<usize> = (0..shape.len())
        .map(|k| match k.cmp(&axis) {
            std::cmp::Ordering::Less => k,
            std::cmp::Ordering::Equal => last,
            std::cmp::Ordering::Greater => k - 1,
        })
        .collect();
    Ok(lanes.permuted_axes(IxDyn(&back)).as_standard_layout().into_owned().into_shared())
}

/// A key whose unsigned order is PyTorch's order of the values: NaN largest (all NaNs
/// equal), `-0.0 == 0.0`, integers by value.
trait SortKey: Scalar {
    fn key(self) -> u64;
}

macro_rules! unsigned_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn key(self) -> u64 {
                self as u64
            }
        }
    )*};
}
macro_rules! signed_key {
    ($($t:ty),*) => {$(
        impl SortKey for $t {
            fn key(self) -> u64 {
                (self as i64 as u64) ^ (1 << 63)
            }
        }
    )*};
}
unsigned_key!(u8);
signed_key!(i8, i16, i32, i64);

impl SortKey for bool {
    fn key(self) -> u64 {
        u64::from(self)
    }
}

impl SortKey for f32 {
    fn key(self) -> u64 {
        if self.is_nan() {
            return u64::from(u32::MAX);
        }
        let bits = if self == 0.0 { 0u32 } else { self.to_bits() };
        u64::from(if bits >> 31 == 1 { !bits } else { bits | (1 << 31) })
    }
}

impl SortKey for f64 {
    fn key(self) -> u64 {
        if self.is_nan() {
            return u64::MAX;
        }
        let bits = if self == 0.0 { 0u64 } else { self.to_bits() };
        if bits >> 63 == 1 {
            !bits
        } else {
            bits | (1 << 63)
        }
    }
}

/// `(key, index)` pairs of a lane; `descending` flips the keys, so that ordering the pairs
/// puts the largest first while equal keys stay in index order.
fn keyed<T: SortKey>(lane: &[T], descending: bool) -> Vec<(u64, u32)> {
    let flip = if descending { u64::MAX } else { 0 };
    lane.iter().enumerate().map(|(i, &v)| (v.key() ^ flip, i as u32)).collect()
}

/// Sorts pairs by key, then index. Long lanes use a stable least-significant-digit radix
/// sort on the key bytes that vary (pairs start in index order, so stability orders ties
/// by index); short ones a comparison sort.
fn sort_pairs(pairs: &mut Vec<(u64, u32)>) {
    if pairs.len() <= 256 {
        pairs.sort_unstable();
        return;
    }
    let first = pairs[0].0;
    let varying = pairs.iter().fold(0u64, |acc, p| acc | (p.0 ^ first));
    let mut scratch = vec![(0u64, 0u32); pairs.len()];
    for byte in 0..8 {
        let shift = 8 * byte;
        if (varying >> shift) & 0xff == 0 {
            continue;
        }
        let mut counts = [0usize; 257];
        for p in pairs.iter() {
            counts[((p.0 >> shift) & 0xff) as usize + 1] += 1;
        }
        for d in 0..256 {
            counts[d + 1] += counts[d];
        }
        for &p in pairs.iter() {
            let d = ((p.0 >> shift) & 0xff) as usize;
            scratch[counts[d]] = p;
            counts[d] += 1;
        }
        std::mem::swap(pairs, &mut scratch);
    }
}

/// Runs `lane_fn` on every lane of `a` along `axis`; each writes `out_len` indices (into
/// the lane). Returns the indices shaped like `a` with `axis` of length `out_len`. Lanes
/// are split over the thread pool in fixed groups, so the result is deterministic.
pub(crate) fn index_lanes<T: Scalar>(
    a: &ArcArray<T, IxDyn>,
    axis: usize,
    out_len: usize,
    lane_fn: impl Fn(&[T], &mut [i64]) + Sync + Send,
) -> Result<Array> {
    let shape = a.shape().to_vec();
    let lane_len = shape[axis];
    let mut out_shape = shape.clone();
    out_shape[axis] = out_len;
    let lanes: usize =
        shape.iter().enumerate().filter(|&(i, _)| i != axis).map(|(_, &d)| d).product();
    let mut out = vec![0i64; lanes * out_len];
    if lanes > 0 && lane_len > 0 && out_len > 0 {
        let data = axis_last(a.view(), axis);
        let parts = crate::parallel::parts(lanes * lane_len, 1 << 15);
        let per_part = lanes.div_ceil(parts);
        let items: Vec<(&[T], &mut [i64])> =
            data.chunks(per_part * lane_len).zip(out.chunks_mut(per_part * out_len)).collect();
        crate::parallel::for_each(items, |(input, output)| {
            for (lane, o) in input.chunks_exact(lane_len).zip(output.chunks_exact_mut(out_len)) {
                lane_fn(lane, o);
            }
        });
    }
    Ok(Array::I64(axis_back(out, &out_shape, axis)?))
}

/// Zeros of `shape`, plus each lane of `a` (along `axis`, `out_len` long) added at its
/// `index_lanes` positions (repeats add up).
fn scatter_add_lanes<T: Element>(
    a: &ArcArray<T, IxDyn>,
    index_lanes: &[i64],
    axis: usize,
    out_len: usize,
    shape: &[usize],
) -> Result<ArcArray<T, IxDyn>> {
    let size = shape[axis];
    let data = axis_last(a.view(), axis);
    let lanes: usize =
        shape.iter().enumerate().filter(|&(i, _)| i != axis).map(|(_, &d)| d).product();
    let mut sums = vec![T::of(0.0); lanes * size];
    if out_len > 0 && size > 0 {
        let rows = sums.chunks_exact_mut(size).zip(index_lanes.chunks_exact(out_len));
        for ((lane, picks), values) in rows.zip(data.chunks_exact(out_len)) {
            for (&i, &v) in picks.iter().zip(values) {
                lane[i as usize] = lane[i as usize] + v;
            }
        }
    }
    axis_back(sums, shape, axis)
}

/// Runs `$body` with `$a` bound to the typed array and its element type implementing
/// [`SortKey`] (every dtype).
macro_rules! with_keys {
    ($arr:expr, $a:ident => $body:expr) => {
        dispatch_any!($arr, $a => $body)
    };
}

#[allow(clippy::eq_op)] // NaN is the one value not equal to itself
fn is_nan<T: Scalar>(v: T) -> bool {
    v != v
}

/// Which position of a lane's ascending order a selection takes.
#[derive(Clone, Copy)]
enum Pick {
    /// The `k`-th smallest (0-based).
    Kth(usize),
    /// The lower median; the first NaN if there is one.
    Median,
    /// The lower median of the non-NaN values; the first NaN if all are NaN.
    NanMedian,
}

fn pick_lane<T: SortKey>(lane: &[T], pick: Pick) -> i64 {
    let nans = lane.iter().filter(|v| is_nan(**v)).count();
    let position = match pick {
        Pick::Kth(k) => k,
        Pick::Median if nans > 0 => {
            return lane.iter().position(|v| is_nan(*v)).unwrap_or(0) as i64
        }
        Pick::Median => (lane.len() - 1) / 2,
        Pick::NanMedian if nans == lane.len() => 0,
        Pick::NanMedian => (lane.len() - nans - 1) / 2,
    };
    let mut pairs = keyed(lane, false);
    let (_, nth, _) = pairs.select_nth_unstable(position);
    i64::from(nth.1)
}

/// The most frequent value's last index; ties between values go to the smallest value, and
/// NaNs never equal each other (PyTorch's `mode`).
fn mode_lane<T: SortKey>(lane: &[T]) -> i64 {
    let mut pairs = keyed(lane, false);
    sort_pairs(&mut pairs);
    let (mut best, mut best_count) = (pairs[0].1, 0);
    let mut start = 0;
    for i in 1..=pairs.len() {
        let run_ends = i == pairs.len()
            || pairs[i].0 != pairs[start].0
            || is_nan(lane[pairs[start].1 as usize]);
        if run_ends {
            if i - start > best_count {
                best_count = i - start;
                best = pairs[i - 1].1;
            }
            start = i;
        }
    }
    i64::from(best)
}

/// Running extreme: the index of the latest element that is at least as large (small) as
/// every one before it, or of the latest NaN once one has appeared (PyTorch's `cummax`).
fn cum_lane<T: Scalar>(lane: &[T], out: &mut [i64], which: Extreme) {
    let mut best = 0usize;
    for (i, &v) in lane.iter().enumerate() {
        let b = lane[best];
        let takes = is_nan(v)
            || (!is_nan(b)
                && match which {
                    Extreme::Max => v >= b,
                    Extreme::Min => v <= b,
                });
        if takes {
            best = i;
        }
        out[i] = best as i64;
    }
}

impl Tensor {
    /// `out[.., j, ..] = self[.., indices[.., j, ..], ..]` along `axis` (NumPy's
    /// `take_along_axis`): `indices` is int64 with `self`'s shape except along `axis`.
    pub fn take_along_axis(&self, indices: &Tensor, axis: i64) -> Result<Tensor> {
        let op = "take_along_axis";
        if self.ndim() == 0 {
            let (x, i) = (self.reshape(&[1])?, indices.reshape(&[indices.numel()])?);
            return x.take_along_axis(&i, axis)?.reshape(&indices.shape());
        }
        let shape = self.shape();
        let axis = normalize_axis(op, axis, shape.len())?;
        let index_shape = indices.shape();
        if indices.dtype() != DType::I64 {
            return Err(Error::DType {
                op,
                message: format!("expected int64 indices, got {}", indices.dtype()),
            });
        }
        let agrees = index_shape.len() == shape.len()
            && (0..shape.len()).all(|i| i == axis || index_shape[i] == shape[i]);
        if !agrees {
            return Err(Error::shape(
                op,
                format!(
                    "indices of shape {} do not match input of shape {} outside dimension {axis}",
                    fmt_shape(&index_shape),
                    fmt_shape(&shape)
                ),
            ));
        }
        let array = indices.array();
        let Array::I64(ix) = &array else {
            return Err(Error::internal(op, "indices checked to be int64"));
        };
        if let Some(&bad) = ix.iter().find(|&&i| i < 0 || i as usize >= shape[axis]) {
            return Err(Error::IndexOutOfRange { op, index: bad, axis, size: shape[axis] });
        }
        self.take_along_axis_checked(&array, axis)
    }

    /// [`Tensor::take_along_axis`] with indices known to be int64 and in range.
    fn take_along_axis_checked(&self, indices: &Array, axis: usize) -> Result<Tensor> {
        let Array::I64(ix) = indices else {
            return Err(Error::internal("take_along_axis", "indices are int64"));
        };
        let size = self.shape()[axis];
        let index_lanes = axis_last(ix.view(), axis);
        let out_len = ix.shape()[axis];
        let out = map_any!(&self.array(), a => {
            let data = axis_last(a.view(), axis);
            let mut values = Vec::with_capacity(index_lanes.len());
            if out_len > 0 {
                for (lane, picks) in data.chunks(size.max(1)).zip(index_lanes.chunks_exact(out_len)) {
                    values.extend(picks.iter().map(|&i| lane[i as usize]));
                }
            }
            axis_back(values, ix.shape(), axis)?
        });
        let indices = indices.clone();
        record(&[self], out, || Box::new(TakeAlongAxisBackward { axis, size, indices }))
    }

    /// Zeros with `size` positions along `axis`, plus `self` added at `indices`.
    fn put_along_axis(&self, indices: &Array, axis: usize, size: usize) -> Result<Tensor> {
        let Array::I64(ix) = indices else {
            return Err(Error::internal("put_along_axis", "indices are int64"));
        };
        let mut shape = self.shape();
        let out_len = shape[axis];
        shape[axis] = size;
        let index_lanes = axis_last(ix.view(), axis);
        let out = dispatch!("put_along_axis"; &self.array(), a => {
            Element::wrap(scatter_add_lanes(a, &index_lanes, axis, out_len, &shape)?)
        });
        let indices = indices.clone();
        record(&[self], out, || Box::new(PutAlongAxisBackward { axis, indices }))
    }

    /// Runs an index kernel along `axis` (a 0-d tensor counts as one element along axis 0)
    /// and gathers the values it picks: `(values, indices)`, both shaped like the indices.
    fn select_along(
        &self,
        op: &'static str,
        axis: i64,
        out_len: impl Fn(usize) -> Result<usize>,
        kernel: impl Fn(&Array, usize, usize) -> Result<Array>,
    ) -> Result<(Tensor, Tensor)> {
        let scalar = self.ndim() == 0;
        let x = if scalar { self.reshape(&[1])? } else { self.clone() };
        let axis = normalize_axis(op, axis, self.ndim())?;
        let len = out_len(x.shape()[axis])?;
        let indices = kernel(&x.array(), axis, len)?;
        let values = x.take_along_axis_checked(&indices, axis)?;
        let indices = Tensor::from_array(indices);
        if scalar {
            return Ok((values.reshape(&[])?, indices.reshape(&[])?));
        }
        Ok((values, indices))
    }

    /// A selection that keeps one element per lane (`kthvalue`, `median`, `mode`): checks
    /// the lane is not empty and drops the axis unless `keepdim`.
    fn reduce_along(
        &self,
        op: &'static str,
        axis: i64,
        keepdim: bool,
        typed: impl Fn(&Array, usize) -> Result<Array>,
    ) -> Result<(Tensor, Tensor)> {
        let (values, indices) = self.select_along(
            op,
            axis,
            |n| {
                if n == 0 {
                    Err(Error::Index {
                        op,
                        message: format!(
                            "expected reduction dim {axis} to have non-zero size (shape {})",
                            fmt_shape(&self.shape())
                        ),
                    })
                } else {
                    Ok(1)
                }
            },
            |a, ax, _| typed(a, ax),
        )?;
        if keepdim || self.ndim() == 0 {
            return Ok((values, indices));
        }
        let axis = normalize_axis(op, axis, self.ndim())? as i64;
        Ok((values.squeeze(Some(&[axis]))?, indices.squeeze(Some(&[axis]))?))
    }

    /// Sorts along `axis` (stable; NaN largest): `(values, indices)`.
    pub fn sort(&self, axis: i64, descending: bool) -> Result<(Tensor, Tensor)> {
        self.select_along("sort", axis, Ok, |a, ax, n| {
            with_keys!(a, a => index_lanes(a, ax, n, |lane, out| {
                let mut pairs = keyed(lane, descending);
                sort_pairs(&mut pairs);
                for (o, p) in out.iter_mut().zip(&pairs) {
                    *o = i64::from(p.1);
                }
            }))
        })
    }

    /// The `k` largest (or smallest) elements along `axis`, in order, with their indices;
    /// ties go to the lower index.
    pub fn topk(&self, k: usize, axis: i64, largest: bool) -> Result<(Tensor, Tensor)> {
        refuse_bool("topk", self)?;
        let out_len = |n: usize| {
            if k > n {
                Err(Error::Index {
                    op: "topk",
                    message: format!(
                        "selected index k={k} out of range for dimension {axis} of size {n}"
                    ),
                })
            } else {
                Ok(k)
            }
        };
        self.select_along("topk", axis, out_len, |a, ax, k| {
            with_keys!(a, a => index_lanes(a, ax, k, |lane, out| {
                let mut pairs = keyed(lane, largest);
                if k < pairs.len() {
                    pairs.select_nth_unstable(k - 1);
                    pairs.truncate(k);
                }
                pairs.sort_unstable();
                for (o, p) in out.iter_mut().zip(&pairs) {
                    *o = i64::from(p.1);
                }
            }))
        })
    }

    fn pick(
        &self,
        op: &'static str,
        axis: i64,
        keepdim: bool,
        pick: Pick,
    ) -> Result<(Tensor, Tensor)> {
        self.reduce_along(op, axis, keepdim, |a, ax| {
            with_keys!(a, a => index_lanes(a, ax, 1, |lane, out| out[0] = pick_lane(lane, pick)))
        })
    }

    /// The `k`-th smallest element along `axis` (1-based `k`, as PyTorch).
    pub fn kthvalue(&self, k: usize, axis: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
        refuse_bool("kthvalue", self)?;
        let n = if self.ndim() == 0 {
            1
        } else {
            self.shape()[normalize_axis("kthvalue", axis, self.ndim())?]
        };
        if k == 0 || k > n {
            return Err(Error::Index {
                op: "kthvalue",
                message: format!(
                    "selected number k={k} out of range for dimension {axis} of size {n}"
                ),
            });
        }
        self.pick("kthvalue", axis, keepdim, Pick::Kth(k - 1))
    }

    /// The lower median along `axis` (NaN if the lane has one; with `ignore_nan`, the
    /// median of the other values, PyTorch's `nanmedian`).
    pub fn median(&self, axis: i64, keepdim: bool, ignore_nan: bool) -> Result<(Tensor, Tensor)> {
        let (op, pick) =
            if ignore_nan { ("nanmedian", Pick::NanMedian) } else { ("median", Pick::Median) };
        refuse_bool(op, self)?;
        self.pick(op, axis, keepdim, pick)
    }

    /// The median of all elements (the lower one of an even count; NaN for an empty tensor).
    pub fn median_all(&self, ignore_nan: bool) -> Result<Tensor> {
        if self.numel() == 0 {
            let dtype = self.dtype();
            if !dtype.is_floating_point() {
                return Err(Error::Index {
                    op: "median",
                    message: "median() of an empty integer tensor is undefined".into(),
                });
            }
            return Ok(Tensor::from_array(Array::from_f64_vec(&[], vec![f64::NAN], dtype)?));
        }
        Ok(self.reshape(&[self.numel()])?.median(0, false, ignore_nan)?.0)
    }

    /// The most frequent value along `axis` and its last index (ties: the smallest value).
    pub fn mode(&self, axis: i64, keepdim: bool) -> Result<(Tensor, Tensor)> {
        self.reduce_along(
            "mode",
            axis,
            keepdim,
            |a, ax| with_keys!(a, a => index_lanes(a, ax, 1, |lane, out| out[0] = mode_lane(lane))),
        )
    }

    /// The running maximum (or minimum) along `axis` and where each was reached.
    pub fn cum_extreme(&self, which: Extreme, axis: i64) -> Result<(Tensor, Tensor)> {
        let op = if which == Extreme::Max { "cummax" } else { "cummin" };
        self.select_along(op, axis, Ok, |a, ax, n| {
            dispatch_any!(a, a => index_lanes(a, ax, n, |lane, out| cum_lane(lane, out, which)))
        })
    }

    /// `max()` / `min()` of every element: as `amax`/`amin` for floating tensors (ties
    /// share the gradient); the extreme value for integer and bool ones.
    pub fn extreme_all(&self, which: Extreme) -> Result<Tensor> {
        if self.dtype().is_floating_point() {
            return self.extreme(which, None, false);
        }
        self.reshape(&[self.numel()])?.extreme_along(which, 0, false).map(|pair| pair.0)
    }

    /// `(amin, amax)` over `axis` (everything when `None`). Floating tensors reduce as
    /// `amin`/`amax` (ties share the gradient); integer and bool ones pick the first
    /// extreme (no gradient to carry).
    pub fn aminmax(&self, axis: Option<i64>, keepdim: bool) -> Result<(Tensor, Tensor)> {
        if self.dtype().is_floating_point() {
            let axes = axis.map(|a| vec![a]);
            return Ok((
                self.extreme(Extreme::Min, axes.as_deref(), keepdim)?,
                self.extreme(Extreme::Max, axes.as_deref(), keepdim)?,
            ));
        }
        let (x, axis, shape) = match axis {
            Some(axis) => (self.clone(), axis, None),
            None => {
                let kept = if keepdim { vec![1; self.ndim()] } else { Vec::new() };
                (self.reshape(&[self.numel()])?, 0, Some(kept))
            }
        };
        let keep = keepdim && shape.is_none();
        let (min, _) = x.extreme_along(Extreme::Min, axis, keep)?;
        let (max, _) = x.extreme_along(Extreme::Max, axis, keep)?;
        match shape {
            Some(shape) => Ok((min.reshape(&shape)?, max.reshape(&shape)?)),
            None => Ok((min, max)),
        }
    }

    /// `max(dim)` / `min(dim)`: the extreme along `axis` and its first index (the first NaN
    /// if there is one); the gradient goes to that one element.
    pub fn extreme_along(
        &self,
        which: Extreme,
        axis: i64,
        keepdim: bool,
    ) -> Result<(Tensor, Tensor)> {
        let op = if which == Extreme::Max { "max" } else { "min" };
        let ax = normalize_axis(op, axis, self.ndim())?;
        if self.ndim() > 0 && self.shape()[ax] == 0 {
            return Err(Error::Index {
                op,
                message: format!(
                    "expected reduction dim {axis} to have non-zero size (shape {})",
                    fmt_shape(&self.shape())
                ),
            });
        }
        let indices = self.arg_extreme(which, Some(axis), true)?;
        let (values, indices) = if self.ndim() == 0 {
            (self.clone(), indices.reshape(&[])?)
        } else {
            (self.take_along_axis_checked(&indices.array(), ax)?, indices)
        };
        if keepdim || self.ndim() == 0 {
            return Ok((values, indices));
        }
        let squeeze = [ax as i64];
        Ok((values.squeeze(Some(&squeeze))?, indices.squeeze(Some(&squeeze))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, grad_of_sum, leaf, values};

    fn ints(t: &Tensor) -> Vec<i64> {
        let Array::I64(a) = t.array() else { panic!("int64 expected") };
        a.iter().copied().collect()
    }

    #[test]
    fn sort_is_stable_puts_nan_last_and_sends_gradients_through_indices() {
        let x = leaf(&[6], &[3.0, f64::NAN, 1.0, 3.0, -0.0, 0.0], true);
        let (v, i) = x.sort(0, false).unwrap();
        assert_eq!(ints(&i), vec![4, 5, 2, 0, 3, 1]);
        assert!(values(&v)[5].is_nan());
        let (_, i) = x.sort(0, true).unwrap();
        assert_eq!(ints(&i), vec![1, 0, 3, 2, 4, 5]);
        // d sum(sort(x) * w)/dx_i = w at the position x_i was sorted to
        let x = leaf(&[2, 3], &[2.0, 1.0, 3.0, 0.0, 5.0, 4.0], true);
        let w = leaf(&[1, 3], &[1.0, 10.0, 100.0], false);
        let g = grad_of_sum(&x, |t| t.sort(-1, false)?.0.mul(&w));
        assert_close(&g, &[10.0, 1.0, 100.0, 1.0, 100.0, 10.0], 0.0);
    }

    #[test]
    fn long_lanes_take_the_radix_path_and_agree_with_a_comparison_sort() {
        let n = 1000;
        let data: Vec<f64> = (0..n).map(|i| ((i * 7919) % 613) as f64 - 300.0).collect();
        let x = leaf(&[n], &data, false);
        let (v, i) = x.sort(0, true).unwrap();
        let mut expected: Vec<(f64, usize)> = data.iter().copied().zip(0..).collect();
        expected.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap().then(a.1.cmp(&b.1)));
        assert_eq!(ints(&i), expected.iter().map(|e| e.1 as i64).collect::<Vec<_>>());
        assert_close(&values(&v), &expected.iter().map(|e| e.0).collect::<Vec<_>>(), 0.0);
    }

    #[test]
    fn selections_pick_the_documented_elements() {
        let x = leaf(&[7], &[3.0, 1.0, f64::NAN, 1.0, 3.0, f64::NAN, 0.0], false);
        let (v, i) = x.median(0, false, false).unwrap();
        assert!(values(&v)[0].is_nan() && ints(&i) == vec![2]);
        let (v, _) = x.median(0, false, true).unwrap();
        assert_close(&values(&v), &[1.0], 0.0);
        let (v, i) = x.topk(2, 0, true).unwrap();
        assert!(values(&v)[0].is_nan() && ints(&i) == vec![2, 5]);
        let (v, _) = x.kthvalue(4, 0, false).unwrap();
        assert_close(&values(&v), &[3.0], 0.0);
        let y = leaf(&[5], &[2.0, 1.0, 2.0, 1.0, 5.0], false);
        let (v, i) = y.mode(0, false).unwrap();
        assert_close(&values(&v), &[1.0], 0.0);
        assert_eq!(ints(&i), vec![3]);
        let z = leaf(&[5], &[1.0, 3.0, 3.0, f64::NAN, 2.0], false);
        let (_, i) = z.cum_extreme(Extreme::Max, 0).unwrap();
        assert_eq!(ints(&i), vec![0, 1, 2, 3, 3]);
        assert!(x.topk(8, 0, true).is_err() && x.kthvalue(0, 0, false).is_err());
    }

    #[test]
    fn max_along_a_dim_gives_the_gradient_to_the_first_winner() {
        let x = leaf(&[2, 3], &[1.0, 5.0, 5.0, 7.0, 0.0, -1.0], true);
        let (v, i) = x.extreme_along(Extreme::Max, 1, false).unwrap();
        assert_close(&values(&v), &[5.0, 7.0], 0.0);
        assert_eq!(ints(&i), vec![1, 0]);
        let g = grad_of_sum(&x, |t| Ok(t.extreme_along(Extreme::Max, 1, false)?.0));
        assert_close(&g, &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0], 0.0);
    }
}
