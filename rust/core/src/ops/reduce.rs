//! Reductions over axes: `sum` and `max`/`min` are primitives; `mean`, `logsumexp`,
//! `softmax` and `log_softmax` are composed from them.

use crate::alloc;
use crate::array::{normalize_axes, normalize_axis, Array, DType, Element, Scalar};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::{dispatch_any, map_any, map_array};
use ndarray::{ArcArray, IxDyn};

/// The shape left after reducing `axes` (sorted), with or without the reduced axes kept as 1.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdim: bool) -> Vec<usize> {
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (axes.contains(&i), keepdim) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// Reduces `axes` (sorted) with `lane_fn`: the reduced axes are brought together contiguously
/// (a copy only when they are not already), and each lane is reduced by one call. Lanes are
/// reduced in a fixed order, so results do not depend on the thread count.
fn reduce_lanes<T: Element>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    axes: &[usize],
    keepdim: bool,
    lane_fn: impl Fn(&[T]) -> T,
) -> Result<ArcArray<T, IxDyn>> {
    let shape = a.shape();
    let kept: Vec<usize> = (0..shape.len()).filter(|i| !axes.contains(i)).collect();
    let order: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let lanes: usize = kept.iter().map(|&i| shape[i]).product();
    let lane_len: usize = axes.iter().map(|&i| shape[i]).product();
    let moved = a.view().permuted_axes(IxDyn(&order));
    let copied;
    let flat = match moved.as_slice() {
        Some(flat) => flat,
        None => {
            copied = alloc::try_collect(op, moved.len(), moved.iter().copied())?;
            &copied[..]
        }
    };
    let out: Vec<T> = if lane_len == 0 {
        alloc::try_filled(op, lanes, lane_fn(&[]))?
    } else {
        alloc::try_collect(op, lanes, flat.chunks_exact(lane_len).map(&lane_fn))?
    };
    let out_shape = reduced_shape(shape, axes, keepdim);
    Ok(alloc::array_from_vec(op, &out_shape, out)?.into_shared())
}

/// Sums `axes` (sorted) accurately: each lane is summed pairwise with an `f64` accumulator.
/// Float32 sums of a million terms stay accurate to float32 precision (a running float32 sum
/// drifts by 1e-3), and the order of additions is fixed.
fn sum_axes<T: Element>(
    a: &ArcArray<T, IxDyn>,
    axes: &[usize],
    keepdim: bool,
) -> Result<ArcArray<T, IxDyn>> {
    // Leading axes of a row-major array (a bias gradient, unbroadcasting a batch): add whole
    // rows instead of copying the array into lanes (a transposing copy).
    let leading = axes.iter().enumerate().all(|(i, &ax)| i == ax);
    if let (true, Some(flat)) = (leading && !axes.is_empty(), a.as_slice()) {
        let cols: usize = a.shape()[axes.len()..].iter().product();
        if cols > 1 {
            let sums =
                alloc::try_collect("sum", cols, pairwise_rows(flat, cols)?.into_iter().map(T::of))?;
            let out_shape = reduced_shape(a.shape(), axes, keepdim);
            return Ok(alloc::array_from_vec("sum", &out_shape, sums)?.into_shared());
        }
    }
    reduce_lanes("sum", a, axes, keepdim, |lane| T::of(pairwise_sum(lane)))
}

/// Column sums of a row-major `(rows, cols)` block in `f64`: pairwise over the rows (halves
/// summed separately, then added), with up to eight rows added in turn at the leaves, so
/// each column is summed as accurately as [`pairwise_sum`] sums a lane.
fn pairwise_rows<T: Element>(flat: &[T], cols: usize) -> Result<Vec<f64>> {
    let rows = flat.len() / cols;
    if rows <= 8 {
        let mut acc = alloc::try_filled("sum", cols, 0.0f64)?;
        for row in flat.chunks_exact(cols) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v.to_f64().unwrap_or(f64::NAN);
            }
        }
        return Ok(acc);
    }
    let half = rows / 2;
    let mut left = pairwise_rows(&flat[..half * cols], cols)?;
    let right = pairwise_rows(&flat[half * cols..], cols)?;
    for (l, r) in left.iter_mut().zip(right) {
        *l += r;
    }
    Ok(left)
}

/// Pairwise summation over blocks of 128 (NumPy's scheme), accumulated in `f64`.
fn pairwise_sum<T: Element>(values: &[T]) -> f64 {
    const BLOCK: usize = 128;
    if values.len() <= BLOCK {
        let mut acc = [0.0f64; 8];
        let mut chunks = values.chunks_exact(8);
        for chunk in &mut chunks {
            for (a, &v) in acc.iter_mut().zip(chunk) {
                *a += v.to_f64().unwrap_or(f64::NAN);
            }
        }
        let rest: f64 = chunks.remainder().iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).sum();
        let pairs = [acc[0] + acc[1], acc[2] + acc[3], acc[4] + acc[5], acc[6] + acc[7]];
        return (pairs[0] + pairs[1]) + (pairs[2] + pairs[3]) + rest;
    }
    let half = (values.len() / 2).next_multiple_of(8).min(values.len());
    pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
}

/// Whether the reduction picks the largest or the smallest element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extreme {
    /// `max` / `amax`
    Max,
    /// `min` / `amin`
    Min,
}

impl Extreme {
    fn better<T: Element>(self, x: T, acc: T) -> bool {
        // NaN propagates: once the accumulator is NaN it stays NaN.
        !acc.is_nan() && (x.is_nan() || if self == Extreme::Max { x > acc } else { x < acc })
    }
}

/// `sum(x, axes)`: every summed element gets the gradient of its sum.
pub(crate) struct SumBackward {
    input_shape: Vec<usize>,
    keepdim_shape: Vec<usize>,
    axes: Vec<i64>,
}

impl Primitive for SumBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "SumBackward",
        family: "reduce",
        api: &["sum"],
        saves: Saves::Metadata,
        derivative: "d sum(x)/dx_i = 1: grad spread over the reduced axes",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for SumBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.reshape(&self.keepdim_shape)?.expand(&self.input_shape)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.sum(Some(&self.axes), true)?.reshape(&j.result.shape()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// What `amax` and `amin` keep: the input, the result (with the reduced axes kept as size 1)
/// and the axes. The gradient goes to the elements equal to the result, split evenly between
/// ties (PyTorch's rule for `amax`/`amin`).
struct ExtremeSaved {
    x: SavedTensor,
    result_keepdim: Array,
    axes: Vec<usize>,
    keepdim_shape: Vec<usize>,
}

impl ExtremeSaved {
    /// 1/k at each of the k elements equal to the result, 0 elsewhere (a constant).
    fn share(&self, x: &Tensor) -> Result<Tensor> {
        let winners =
            x.eq(&Tensor::from_array(self.result_keepdim.clone()))?.to_dtype(x.dtype())?;
        winners.div(&winners.sum(Some(&self.axes_i64()), true)?)
    }

    fn axes_i64(&self) -> Vec<i64> {
        self.axes.iter().map(|&a| a as i64).collect()
    }

    fn vjp(&self, name: &str, grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let share = self.share(&self.x.get(name)?)?;
        Ok(vec![Some(grad.reshape(&self.keepdim_shape)?.mul(&share)?)])
    }

    /// The tangent of the winners (their mean, on ties).
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| {
            let picked = t.mul(&self.share(j.inputs[0])?)?.sum(Some(&self.axes_i64()), true)?;
            picked.reshape(&j.result.shape())
        })
    }

    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.x.info(), SavedInfo::of(SavedAs::Result, &self.result_keepdim)]
    }
}

/// Defines the node of `amax` or `amin` over [`ExtremeSaved`].
macro_rules! extreme_node {
    ($node:ident, $api:literal, $derivative:literal) => {
        #[doc = concat!("`", $api, "(x, axes)`: see [`ExtremeSaved`].")]
        pub(crate) struct $node(ExtremeSaved);

        impl Primitive for $node {
            const INFO: PrimitiveInfo = PrimitiveInfo {
                node: stringify!($node),
                family: "reduce",
                api: &[$api, concat!("a", $api)],
                saves: Saves::InputsAndBuffers,
                derivative: $derivative,
                batch: BatchRule::ShiftAxes,
            };
        }

        impl Backward for $node {
            fn name(&self) -> &str {
                Self::INFO.node
            }
            fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
                self.0.vjp(self.name(), grad)
            }
            fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
                self.0.jvp(j)
            }
            fn saved(&self) -> Vec<SavedInfo> {
                self.0.saved()
            }
        }
    };
}

extreme_node!(AmaxBackward, "max", "1/k to each of the k elements equal to the maximum");
extreme_node!(AminBackward, "min", "1/k to each of the k elements equal to the minimum");

impl Tensor {
    /// Sum over `axes` (all when `None`), keeping them as size 1 when `keepdim`.
    /// The sum of no elements is 0.
    pub fn sum(&self, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        let axes = normalize_axes("sum", axes, shape.len())?;
        if !self.dtype().is_floating_point() {
            // Integers and bools sum in int64 (wrapping on overflow), as in PyTorch.
            let Array::I64(a) = self.array().cast(DType::I64) else {
                return Err(Error::internal("sum", "a cast to int64 gives int64"));
            };
            let mut out = a.to_owned();
            for &axis in axes.iter().rev() {
                out = out.fold_axis(ndarray::Axis(axis), 0i64, |acc, &v| acc.wrapping_add(v));
                if keepdim {
                    out.insert_axis_inplace(ndarray::Axis(axis));
                }
            }
            return Ok(Tensor::from_array(Array::I64(out.into_shared())));
        }
        let out = map_array!("sum"; &self.array(), a => sum_axes(a, &axes, keepdim)?);
        let keepdim_shape = reduced_shape(&shape, &axes, true);
        let axes = axes.iter().map(|&a| a as i64).collect();
        record(&[self], out, || Box::new(SumBackward { input_shape: shape, keepdim_shape, axes }))
    }

    /// Mean over `axes` (all when `None`): `sum / count`.
    pub fn mean(&self, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        if !self.dtype().is_floating_point() {
            return Err(Error::DType {
                op: "mean",
                message: format!(
                    "could not infer output dtype: input dtype must be floating point, got {}",
                    self.dtype()
                ),
            });
        }
        let count: usize =
            normalize_axes("mean", axes, shape.len())?.iter().map(|&a| shape[a]).product();
        self.sum(axes, keepdim)?.div_scalar(count as f64)
    }

    /// Largest (or smallest) element over `axes`; ties share the gradient evenly.
    pub fn extreme(&self, which: Extreme, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        let op = if which == Extreme::Max { "max" } else { "min" };
        let shape = self.shape();
        let axes = normalize_axes(op, axes, shape.len())?;
        if let Some(&empty) = axes.iter().find(|&&a| shape[a] == 0) {
            return Err(Error::shape(
                op,
                format!(
                    "cannot reduce over dimension {empty} of size 0 (tensor of shape {}): the \
                     {op} of no elements is undefined",
                    fmt_shape(&shape)
                ),
            ));
        }
        if !self.dtype().is_floating_point() {
            return self.extreme_exact(which, &axes, keepdim);
        }
        let result_keepdim = map_array!(&self.array(), a => {
            let start = if which == Extreme::Max { Element::of(f64::NEG_INFINITY) } else { Element::of(f64::INFINITY) };
            reduce_lanes(op, a, &axes, true, |lane| {
                lane.iter().fold(start, |acc, &x| if which.better(x, acc) { x } else { acc })
            })?
        });
        let out = result_keepdim.reshape(&reduced_shape(&shape, &axes, keepdim))?;
        let keepdim_shape = reduced_shape(&shape, &axes, true);
        // Built only when a node is recorded.
        let saved = move || ExtremeSaved {
            x: SavedTensor::new(self, SavedAs::Input(0)),
            result_keepdim,
            axes,
            keepdim_shape,
        };
        match which {
            Extreme::Max => record(&[self], out, || Box::new(AmaxBackward(saved()))),
            Extreme::Min => record(&[self], out, || Box::new(AminBackward(saved()))),
        }
    }

    /// [`Tensor::extreme`] of integers and bools (`max` of bools is `any`), in their own
    /// dtype; no gradient. `axes` are normalised and none is empty.
    fn extreme_exact(&self, which: Extreme, axes: &[usize], keepdim: bool) -> Result<Tensor> {
        let shape = self.shape();
        let mut descending = axes.to_vec();
        descending.sort_unstable_by(|a, b| b.cmp(a));
        let out = map_any!(&self.array(), a => {
            let mut r = a.to_owned();
            for &axis in &descending {
                r = r.map_axis(ndarray::Axis(axis), |lane| {
                    lane.iter().skip(1).fold(lane[0], |acc, &x| {
                        if beats(which, x, acc) { x } else { acc }
                    })
                });
            }
            r
        });
        Ok(Tensor::from_array(out.reshape(&reduced_shape(&shape, axes, keepdim))?))
    }

    /// Largest element over `axes` (PyTorch's `amax`).
    pub fn max(&self, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        self.extreme(Extreme::Max, axes, keepdim)
    }

    /// Smallest element over `axes` (PyTorch's `amin`).
    pub fn min(&self, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        self.extreme(Extreme::Min, axes, keepdim)
    }

    /// The index of the largest (`Extreme::Max`, PyTorch's `argmax`) or smallest element
    /// along `axis` (of the flattened tensor when `None`), as int64: the first one on ties,
    /// the first NaN if there is one. Indices carry no gradient.
    pub fn arg_extreme(&self, which: Extreme, axis: Option<i64>, keepdim: bool) -> Result<Tensor> {
        let op = if which == Extreme::Max { "argmax" } else { "argmin" };
        let (data, axis, keepdim) = match axis {
            None => (self.array().reshape(&[self.numel()])?, 0, false),
            Some(axis) => (self.array(), normalize_axis(op, axis, self.ndim())?, keepdim),
        };
        if data.ndim() == 0 {
            return Ok(Tensor::from_array(Array::scalar_value(
                crate::ScalarValue::Int(0),
                DType::I64,
            )));
        }
        if data.shape()[axis] == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "cannot take {op} over dimension {axis} of size 0 (shape {})",
                    fmt_shape(data.shape())
                ),
            ));
        }
        let max = which == Extreme::Max;
        let out = dispatch_any!(&data, a => crate::ops::sort::index_lanes(a, axis, 1, |lane, o| {
            o[0] = arg_of_lane(lane, max);
        })?);
        if keepdim {
            return Ok(Tensor::from_array(out));
        }
        let mut shape = data.shape().to_vec();
        shape.remove(axis);
        Ok(Tensor::from_array(out.reshape(&shape)?))
    }

    /// `x - max(x)` over `axes` (the max held constant, and 0 where it is infinite), and
    /// that shift: the start of every stable softmax-family op.
    fn shift_by_max(&self, axes: Option<&[i64]>) -> Result<(Tensor, Tensor)> {
        let shift = self.detach().max(axes, true)?;
        let finite = shift.abs()?.lt(&shift.scalar_like(f64::INFINITY))?;
        let shift = shift.where_cond(&finite, &shift.zeros_like()?)?;
        Ok((self.sub(&shift)?, shift))
    }

    /// `log(sum(exp(x)))` over `axes`, computed stably as `m + log(sum(exp(x - m)))`.
    pub fn logsumexp(&self, axes: Option<&[i64]>, keepdim: bool) -> Result<Tensor> {
        if !self.dtype().is_floating_point() {
            // Integers and bools give the default float dtype, as PyTorch's.
            return self.to_dtype(crate::array::default_float_dtype())?.logsumexp(axes, keepdim);
        }
        let (shifted, shift) = self.shift_by_max(axes)?;
        let summed = shifted.exp()?.sum(axes, true)?.log()?.add(&shift)?;
        if keepdim {
            return Ok(summed);
        }
        let shape = self.shape();
        let axes = normalize_axes("logsumexp", axes, shape.len())?;
        summed.reshape(&reduced_shape(&shape, &axes, false))
    }

    /// `(x - m) - log(sum(exp(x - m)))` along `axis`: exact where `x - lse` would round.
    pub fn log_softmax(&self, axis: i64) -> Result<Tensor> {
        self.require_floating("log_softmax")?;
        let (shifted, _) = self.shift_by_max(Some(&[axis]))?;
        shifted.sub(&shifted.exp()?.sum(Some(&[axis]), true)?.log()?)
    }

    /// `exp(x - m) / sum(exp(x - m))` along `axis`.
    pub fn softmax(&self, axis: i64) -> Result<Tensor> {
        self.require_floating("softmax")?;
        let (shifted, _) = self.shift_by_max(Some(&[axis]))?;
        let e = shifted.exp()?;
        e.div(&e.sum(Some(&[axis]), true)?)
    }

    /// PyTorch has no integer softmax (pass `dtype=` to compute in floats).
    fn require_floating(&self, op: &'static str) -> Result<()> {
        if self.dtype().is_floating_point() {
            return Ok(());
        }
        Err(crate::array::not_floating(op, self.dtype()))
    }

    /// Sums a gradient down to `shape` (the reverse of broadcasting to it).
    pub fn sum_to_shape(&self, shape: &[usize]) -> Result<Tensor> {
        let own = self.shape();
        let lead = own.len().checked_sub(shape.len());
        let compatible = lead.is_some_and(|lead| {
            shape.iter().enumerate().all(|(i, &d)| d == own[i + lead] || d == 1)
        });
        let Some(lead) = lead.filter(|_| compatible) else {
            return Err(Error::shape(
                "sum_to_shape",
                format!("cannot sum shape {} down to shape {}", fmt_shape(&own), fmt_shape(shape)),
            ));
        };
        let axes: Vec<i64> = (0..own.len())
            .filter(|&i| i < lead || (shape[i - lead] == 1 && own[i] != 1))
            .map(|i| i as i64)
            .collect();
        if axes.is_empty() {
            return self.reshape(shape);
        }
        self.sum(Some(&axes), true)?.reshape(shape)
    }
}

/// The first index of the extreme of `lane` (the first NaN, if any, as PyTorch).
fn arg_of_lane<T: Scalar>(lane: &[T], max: bool) -> i64 {
    let mut best = 0;
    let mut best_value = lane[0];
    for (i, &v) in lane.iter().enumerate() {
        #[allow(clippy::eq_op)] // NaN is the one value not equal to itself
        if v != v {
            return i as i64;
        }
        if (max && v > best_value) || (!max && v < best_value) {
            best = i;
            best_value = v;
        }
    }
    best as i64
}

/// Whether `x` is a strictly better extreme than `acc` (ties keep the first).
fn beats<T: PartialOrd>(which: Extreme, x: T, acc: T) -> bool {
    if which == Extreme::Max {
        x > acc
    } else {
        x < acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, grad_of_sum, leaf, values};

    #[test]
    fn sum_and_mean_spread_the_gradient() {
        let x = leaf(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true);
        assert_close(&values(&x.sum(Some(&[1]), false).unwrap()), &[6.0, 15.0], 0.0);
        assert_eq!(x.sum(Some(&[0]), true).unwrap().shape(), vec![1, 3]);
        // d mean/dx_i = 1/n
        assert_close(&grad_of_sum(&x, |t| t.mean(Some(&[0, 1]), false)), &[1.0 / 6.0; 6], 1e-15);
    }

    #[test]
    fn max_gives_the_gradient_to_the_winner_and_splits_ties() {
        let x = leaf(&[2, 3], &[1.0, 5.0, 5.0, 7.0, 0.0, -1.0], true);
        assert_close(&values(&x.max(Some(&[1]), false).unwrap()), &[5.0, 7.0], 0.0);
        let g = grad_of_sum(&x, |t| t.max(Some(&[-1]), false));
        assert_close(&g, &[0.0, 0.5, 0.5, 1.0, 0.0, 0.0], 0.0);
        let g = grad_of_sum(&x, |t| t.min(None, false));
        assert_close(&g, &[0.0, 0.0, 0.0, 0.0, 0.0, 1.0], 0.0);
    }

    #[test]
    fn empty_reductions() {
        let x = Tensor::zeros(&[0, 3], crate::DType::F64).unwrap();
        x.set_requires_grad(true).unwrap();
        // The sum of no elements is 0, and its gradient has the input's (empty) shape.
        assert_close(&values(&x.sum(None, false).unwrap()), &[0.0], 0.0);
        let g = grad_of_sum(&x, |t| t.sum(Some(&[0]), false));
        assert!(g.is_empty());
        let err = x.max(None, false).unwrap_err().to_string();
        assert!(err.contains("size 0"), "{err}");
    }

    #[test]
    fn logsumexp_is_stable_and_its_gradient_is_softmax() {
        let x = leaf(&[3], &[1000.0, 1000.0, 1000.0 + 3f64.ln()], true);
        let lse = x.logsumexp(None, false).unwrap();
        assert_close(&values(&lse), &[1000.0 + 5f64.ln()], 1e-15);
        // d lse/dx = softmax(x) = [1, 1, 3] / 5
        assert_close(&grad_of_sum(&x, |t| t.logsumexp(None, false)), &[0.2, 0.2, 0.6], 1e-12);
    }

    #[test]
    fn sum_to_shape_reverses_broadcasting() {
        let g = leaf(&[2, 2, 3], &[1.0; 12], false);
        let s = g.sum_to_shape(&[4, 1]).unwrap_err();
        assert!(s.to_string().contains("(4, 1)"));
        assert_close(&values(&g.sum_to_shape(&[2, 1]).unwrap()), &[6.0, 6.0], 0.0);
        assert_close(&values(&g.sum_to_shape(&[1, 3]).unwrap()), &[4.0; 3], 0.0);
    }
}
