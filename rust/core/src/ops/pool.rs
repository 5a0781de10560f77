//! Max pooling as a gather at the argmax of each window, and its adjoint, a scatter.
//!
//! The forward finds, in each window of each `(H, W)` plane, the one index PyTorch picks
//! (the first maximum in row-major order, or the last NaN), and gathers there:
//!
//! ```text
//! y[p, o] = x[p, idx[p, o]]               (gather: MaxPoolBackward)
//! x̄[p, h] = Σ_{o : idx[p, o] = h} ȳ[p, o]    (scatter: its VJP)
//! ```
//!
//! Both maps are linear with the indices fixed, and each is the other's adjoint, so the
//! VJP of the scatter is the gather again: double backward and forward mode need no other
//! rule. A tie sends the whole gradient to the one index returned (PyTorch's rule).
//!
//! Why a primitive: composed from `kh · kw` strided slices, a `stack` and a `max`, a pool
//! records and saves every slice, and `max`'s tie rule splits the gradient; here it is one
//! pass that saves one index per output.

use crate::array::Element;
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::{map_array, DType};
use ndarray::{ArcArray, ArrayD, IxDyn};
use std::sync::Arc;

/// The window geometry of a 2-D max pool (a 1-D one has height 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolParams {
    /// Window size, (height, width).
    pub kernel: [usize; 2],
    /// Step between windows, (height, width).
    pub stride: [usize; 2],
    /// Implicit `-inf` padding on both sides, (height, width).
    pub padding: [usize; 2],
    /// Spacing between window taps, (height, width).
    pub dilation: [usize; 2],
    /// Round the output size up (a last, partial window) instead of down.
    pub ceil_mode: bool,
}

/// Output length along one axis, PyTorch's `pooling_output_shape`.
fn out_len(len: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Option<usize> {
    let span = d * (k - 1) + 1;
    let padded = len + 2 * p;
    if padded < span {
        return None;
    }
    let steps = padded - span;
    let mut out = if ceil { steps.div_ceil(s) } else { steps / s } + 1;
    // The last window must start inside the input or its left padding.
    if ceil && (out - 1) * s >= len + p {
        out -= 1;
    }
    Some(out)
}

/// For each output position along one axis: the input indices its window reads.
fn windows(len: usize, out: usize, k: usize, s: usize, p: usize, d: usize) -> Vec<Vec<usize>> {
    (0..out)
        .map(|o| {
            (0..k).filter_map(|t| (o * s + t * d).checked_sub(p).filter(|&i| i < len)).collect()
        })
        .collect()
}

/// The (height, width) of a pooled `(N, C, H, W)`/`(C, H, W)` input (`(1, L)` for a 1-D
/// pool over `(N, C, L)`/`(C, L)`), or a shape error naming `op`.
fn spatial_dims(op: &'static str, shape: &[usize], one_d: bool) -> Result<(usize, usize)> {
    let spatial = if one_d { 1 } else { 2 };
    if shape.len() != spatial + 1 && shape.len() != spatial + 2 {
        return Err(Error::shape(
            op,
            format!(
                "expected a {}-D or {}-D input, got shape {}",
                spatial + 1,
                spatial + 2,
                fmt_shape(shape)
            ),
        ));
    }
    let n = shape.len();
    Ok(if one_d { (1, shape[n - 1]) } else { (shape[n - 2], shape[n - 1]) })
}

/// The max of every window of every plane of `x` (`(P, H, W)`, contiguous) and its index in
/// the plane, PyTorch's choice: the first maximum, or the last NaN.
fn max_pool_kernel<T: Element>(
    x: &ArcArray<T, IxDyn>,
    rows: &[Vec<usize>],
    cols: &[Vec<usize>],
    planes: usize,
    (h, w): (usize, usize),
) -> Result<(ArrayD<T>, Vec<usize>)> {
    let x = x.as_standard_layout();
    // Infallible: an array in standard layout is one slice (made so just above).
    let x = x.as_slice().expect("standard layout");
    let (oh, ow) = (rows.len(), cols.len());
    let mut out = Vec::with_capacity(planes * oh * ow);
    let mut idx = Vec::with_capacity(planes * oh * ow);
    for plane in x.chunks_exact(h * w).take(planes) {
        for r in rows {
            for c in cols {
                let mut best = T::neg_infinity();
                let mut at = r.first().copied().unwrap_or(0) * w + c.first().copied().unwrap_or(0);
                for &i in r {
                    for &j in c {
                        let v = plane[i * w + j];
                        if v > best || v.is_nan() {
                            best = v;
                            at = i * w + j;
                        }
                    }
                }
                out.push(best);
                idx.push(at);
            }
        }
    }
    let shape = IxDyn(&[planes, oh, ow]);
    let out = ArrayD::from_shape_vec(shape, out)
        .map_err(|_| Error::internal("max_pool", "one value per plane and window"))?;
    Ok((out, idx))
}

/// Which way a [`MaxPoolBackward`] node moves values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    /// `y[p, o] = x[p, idx[p, o]]`: `(P, H·W)` to `(P, O)`.
    Gather,
    /// `x[p, idx[p, o]] += y[p, o]`: `(P, O)` to `(P, H·W)`.
    Scatter,
}

/// A gather at the pooling indices or its adjoint scatter (see the module docs). Both
/// operate on `(planes, ...)` tensors flattened to `(P, H·W)` and `(P, O)`.
pub(crate) struct MaxPoolBackward {
    direction: Direction,
    idx: Arc<Vec<usize>>,
    plane_len: usize,
    out_len: usize,
    out_shape: Vec<usize>,
}

impl MaxPoolBackward {
    fn flip(&self, direction: Direction, out_shape: Vec<usize>) -> MaxPoolBackward {
        MaxPoolBackward {
            direction,
            idx: self.idx.clone(),
            plane_len: self.plane_len,
            out_len: self.out_len,
            out_shape,
        }
    }

    /// Applies this node's map to `t` and records it.
    fn apply(self, t: &Tensor) -> Result<Tensor> {
        let (plane_len, out_len, idx) = (self.plane_len, self.out_len, self.idx.clone());
        let shape = IxDyn(&self.out_shape);
        let out = map_array!(&t.array(), a => {
            let a = a.as_standard_layout();
            // Infallible: `a` was just put in standard layout and `zeros` builds one, so
            // both are single slices.
            let a = a.as_slice().expect("standard layout");
            let mut out = ArrayD::zeros(shape.clone());
            let o = out.as_slice_mut().expect("standard layout");
            let planes = idx.len() / out_len.max(1);
            for p in 0..planes {
                for k in 0..out_len {
                    let at = p * plane_len + idx[p * out_len + k];
                    match self.direction {
                        Direction::Gather => o[p * out_len + k] = a[at],
                        Direction::Scatter => o[at] += a[p * out_len + k],
                    }
                }
            }
            out
        });
        record(&[t], out, || Box::new(self))
    }
}

impl Primitive for MaxPoolBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "MaxPoolBackward",
        family: "pool",
        api: &["_max_pool", "_adaptive_max_pool", "_max_unpool"],
        saves: Saves::Metadata,
        derivative: "∂y[o]/∂x[h] = 1 at h = argmax of window o (PyTorch's one index on ties), \
                     0 elsewhere; the scatter and the gather are each other's VJP",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for MaxPoolBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let input_shape = ctx.input(0).shape.clone();
        let adjoint = match self.direction {
            Direction::Gather => Direction::Scatter,
            Direction::Scatter => Direction::Gather,
        };
        Ok(vec![Some(self.flip(adjoint, input_shape).apply(grad)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // Linear in its input: the tangent goes the same way.
        j.linear(|t| self.flip(self.direction, self.out_shape.clone()).apply(t))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo {
            why: SavedAs::Buffer("argmax indices"),
            shape: vec![self.idx.len()],
            dtype: DType::I64,
            bytes: self.idx.len() * std::mem::size_of::<usize>(),
        }]
    }
}

impl Tensor {
    /// PyTorch's `max_pool2d` over `(N, C, H, W)` or `(C, H, W)` input (and `max_pool1d`
    /// when `one_d`, over `(N, C, L)` or `(C, L)`, using only the width entries of
    /// `params`). Returns the pooled values and, per output, the flat index of its maximum
    /// in its `(H, W)` plane (`(L,)` for 1-D), as PyTorch's `return_indices`.
    pub fn max_pool(&self, params: PoolParams, one_d: bool) -> Result<(Tensor, Vec<usize>)> {
        let op = if one_d { "max_pool1d" } else { "max_pool2d" };
        let shape = self.shape();
        let (h, w) = spatial_dims(op, &shape, one_d)?;
        let PoolParams { kernel: k, stride: s, padding: p, dilation: d, ceil_mode } = params;
        if k.contains(&0) || s.contains(&0) || d.contains(&0) {
            return Err(Error::value(
                op,
                format!(
                    "kernel_size, stride and dilation must be positive, got {k:?}, {s:?}, \
                     {d:?}"
                ),
            ));
        }
        if (0..2).any(|a| 2 * p[a] > k[a]) {
            return Err(Error::value(
                op,
                format!("padding {p:?} must be at most half of the kernel size {k:?}"),
            ));
        }
        let oh = out_len(h, k[0], s[0], p[0], d[0], ceil_mode);
        let ow = out_len(w, k[1], s[1], p[1], d[1], ceil_mode);
        let (Some(oh), Some(ow)) = (oh, ow) else {
            return Err(Error::shape(
                op,
                format!(
                    "the window {k:?} (dilation {d:?}, padding {p:?}) is larger than the \
                     input {}",
                    fmt_shape(&shape)
                ),
            ));
        };
        if oh == 0 || ow == 0 || (0..2).any(|a| [h, w][a] == 0) {
            return Err(Error::shape(
                op,
                format!("the input {} has an empty spatial dimension", fmt_shape(&shape)),
            ));
        }
        let rows = windows(h, oh, k[0], s[0], p[0], d[0]);
        let cols = windows(w, ow, k[1], s[1], p[1], d[1]);
        self.max_over_windows(&rows, &cols, (h, w), one_d)
    }

    /// The max of each window (`rows` × `cols`, input indices per output position) of each
    /// `(h, w)` plane of `self`, and its flat index in the plane; records the gather.
    fn max_over_windows(
        &self,
        rows: &[Vec<usize>],
        cols: &[Vec<usize>],
        (h, w): (usize, usize),
        one_d: bool,
    ) -> Result<(Tensor, Vec<usize>)> {
        let shape = self.shape();
        let spatial = if one_d { 1 } else { 2 };
        let (oh, ow) = (rows.len(), cols.len());
        let planes = shape[..shape.len() - spatial].iter().product::<usize>();
        let mut out_shape = shape[..shape.len() - spatial].to_vec();
        out_shape.extend(if one_d { vec![ow] } else { vec![oh, ow] });
        let indices: Vec<usize>;
        let out = map_array!(&self.array(), a => {
            let (y, idx) = max_pool_kernel(a, rows, cols, planes, (h, w))?;
            indices = idx;
            y.into_shape_with_order(IxDyn(&out_shape))
                .map_err(|_| Error::internal("max_pool", "the planes fold back to the batch shape"))?
        });
        let idx = Arc::new(indices);
        let result = record(&[self], out, || {
            Box::new(MaxPoolBackward {
                direction: Direction::Gather,
                idx: idx.clone(),
                plane_len: h * w,
                out_len: oh * ow,
                out_shape: out_shape.clone(),
            })
        })?;
        Ok((result, idx.to_vec()))
    }

    /// PyTorch's `adaptive_max_pool2d` (`adaptive_max_pool1d` when `one_d`, using only the
    /// width of `output_size`): output `i` of an axis of length `len` reads the window
    /// `[⌊i·len/out⌋, ⌈(i+1)·len/out⌉)`. Returns the values and the indices, as
    /// [`Tensor::max_pool`].
    pub fn adaptive_max_pool(
        &self,
        output_size: [usize; 2],
        one_d: bool,
    ) -> Result<(Tensor, Vec<usize>)> {
        let op = if one_d { "adaptive_max_pool1d" } else { "adaptive_max_pool2d" };
        let (h, w) = spatial_dims(op, &self.shape(), one_d)?;
        let [oh, ow] = if one_d { [1, output_size[1]] } else { output_size };
        if oh == 0 || ow == 0 || h == 0 || w == 0 {
            return Err(Error::shape(
                op,
                format!(
                    "input {} and output_size {:?} must have no empty spatial dimension",
                    fmt_shape(&self.shape()),
                    if one_d { &output_size[1..] } else { &output_size[..] }
                ),
            ));
        }
        let adaptive = |len: usize, out: usize| -> Vec<Vec<usize>> {
            (0..out).map(|i| ((i * len) / out..((i + 1) * len).div_ceil(out)).collect()).collect()
        };
        self.max_over_windows(&adaptive(h, oh), &adaptive(w, ow), (h, w), one_d)
    }

    /// PyTorch's `max_unpool2d` (`max_unpool1d` when `one_d`): a zero tensor of spatial
    /// size `output_size` (only its width when `one_d`) with each value of `self` written
    /// at its flat index in `indices` (same shape as `self`, integer) within its plane. It
    /// is the scatter adjoint to max pooling's gather, so its gradient is that gather.
    pub fn max_unpool(
        &self,
        indices: &Tensor,
        output_size: [usize; 2],
        one_d: bool,
    ) -> Result<Tensor> {
        let op = if one_d { "max_unpool1d" } else { "max_unpool2d" };
        let shape = self.shape();
        let (h, w) = spatial_dims(op, &shape, one_d)?;
        if indices.shape() != shape {
            return Err(Error::shape(
                op,
                format!(
                    "indices of shape {} must have the input's shape {}",
                    fmt_shape(&indices.shape()),
                    fmt_shape(&shape)
                ),
            ));
        }
        if indices.dtype().category() != crate::Category::Integer {
            return Err(Error::DType {
                op,
                message: format!("indices must be an integer tensor, got {}", indices.dtype()),
            });
        }
        let [oh, ow] = if one_d { [1, output_size[1]] } else { output_size };
        let plane_len = oh * ow;
        let idx = indices
            .array()
            .to_f64_vec()
            .into_iter()
            .map(|i| {
                (i >= 0.0 && (i as usize) < plane_len).then_some(i as usize).ok_or_else(|| {
                    Error::Index {
                        op,
                        message: format!(
                            "index {i} is out of bounds for an output plane of {plane_len} \
                             elements (output_size {:?})",
                            if one_d { &output_size[1..] } else { &output_size[..] }
                        ),
                    }
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        let spatial = if one_d { 1 } else { 2 };
        let mut out_shape = shape[..shape.len() - spatial].to_vec();
        out_shape.extend(if one_d { vec![ow] } else { vec![oh, ow] });
        let node = MaxPoolBackward {
            direction: Direction::Scatter,
            idx: Arc::new(idx),
            plane_len,
            out_len: h * w,
            out_shape,
        };
        node.apply(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::testutil::{assert_close, leaf, values};

    #[test]
    fn ties_send_the_gradient_to_the_first_maximum() {
        // One 2×2 window of equal values: PyTorch returns index 0 and sends it everything.
        let x = leaf(&[1, 1, 2, 2], &[1.0, 1.0, 1.0, 1.0], true);
        let params = PoolParams {
            kernel: [2, 2],
            stride: [2, 2],
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false,
        };
        let (y, idx) = x.max_pool(params, false).unwrap();
        assert_eq!(idx, vec![0]);
        let g = engine::grad(&[y.sum(None, false).unwrap()], &[None], &[x], false, false, false)
            .unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[1.0, 0.0, 0.0, 0.0], 0.0);
    }

    #[test]
    fn adaptive_windows_overlap_and_unpool_scatters_back() {
        // Length 5 into 3 windows: [0, 2), [1, 4), [3, 5).
        let x = leaf(&[1, 5], &[5.0, 1.0, 4.0, 2.0, 3.0], true);
        let (y, idx) = x.adaptive_max_pool([1, 3], true).unwrap();
        assert_eq!(idx, vec![0, 2, 4]);
        assert_close(&values(&y), &[5.0, 4.0, 3.0], 0.0);
        let indices = Tensor::from_array(
            crate::Array::from_i64_vec(&[1, 3], vec![0, 2, 4], DType::I64).unwrap(),
        );
        let up = y.max_unpool(&indices, [1, 5], true).unwrap();
        assert_close(&values(&up), &[5.0, 0.0, 4.0, 0.0, 3.0], 0.0);
        let bad = Tensor::from_array(
            crate::Array::from_i64_vec(&[1, 3], vec![0, 2, 5], DType::I64).unwrap(),
        );
        let err = y.max_unpool(&bad, [1, 5], true).unwrap_err().to_string();
        assert!(err.contains("index 5") && err.contains("5 elements"), "{err}");
    }

    #[test]
    fn ceil_mode_adds_a_partial_window_that_starts_inside_the_input() {
        assert_eq!(out_len(5, 2, 2, 0, 1, false), Some(2));
        assert_eq!(out_len(5, 2, 2, 0, 1, true), Some(3));
        // With padding 1 the ceil window would start in the right padding: dropped.
        assert_eq!(out_len(4, 2, 2, 1, 1, true), Some(3));
    }
}
