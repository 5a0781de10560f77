//! Softmax cross-entropy as one primitive.
//!
//! Over the rows of `(N, C)` logits `x`, with `lse_i = log Σ_c exp(x_ic)`:
//!
//! ```text
//! loss_i = Σ_c t_ic · (lse_i − x_ic)          ∂loss_i/∂x_ic = S_i · softmax(x)_ic − t_ic,  S_i = Σ_c t_ic
//! ```
//!
//! Why a primitive: composed from `max`, `sub`, `exp`, `sum`, `log`, `mul`, `sum` it records
//! seven nodes, makes five `(N, C)` temporaries and saves three of them; here the forward is
//! one pass over each row and the VJP one more, and the rule saves only the per-row `lse`
//! beside the logits. The target `t` is a constant: one class per row with a weight (the
//! common case, stored sparsely), or a dense `(N, C)` distribution.

use crate::array::{dtype_mismatch, Array, DType, Element};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{
    derivatives_tracked, record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext,
};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use ndarray::{Array2, ArrayView2, Ix2};

/// What the logits are compared with, row by row. Both forms are constants: no gradient
/// flows into them.
#[derive(Clone, Debug)]
pub enum CrossEntropyTarget {
    /// One class per row, and the weight of that row's term (`t_ic = weights[i]` at
    /// `c = labels[i]`, 0 elsewhere). A row of weight 0 contributes exactly 0, whatever its
    /// logits (this is how `ignore_index` is expressed).
    Labels {
        /// The class of each row, in `0..C`.
        labels: Vec<usize>,
        /// The weight of each row's term.
        weights: Vec<f64>,
    },
    /// A dense `(N, C)` target (class probabilities, possibly smoothed and weighted). Terms
    /// with `t_ic = 0` contribute 0 even where `x_ic = -inf`.
    Dense(Tensor),
}

/// The target, borrowed with the logits' element type.
enum TargetData<'a, T> {
    Labels { labels: &'a [usize], weights: &'a [f64] },
    Dense(ArrayView2<'a, T>),
}

impl<T: Element> TargetData<'_, T> {
    /// `Σ_c f(c, t_ic)` over the classes of row `i` with `t_ic ≠ 0`.
    fn row_sum(&self, i: usize, mut f: impl FnMut(usize, f64) -> f64) -> f64 {
        match self {
            TargetData::Labels { weights, .. } if weights[i] == 0.0 => 0.0,
            TargetData::Labels { labels, weights } => weights[i] * f(labels[i], 1.0),
            TargetData::Dense(t) => t
                .row(i)
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != T::zero())
                .map(|(c, &v)| f(c, to_f64(v)))
                .sum(),
        }
    }

    /// `S_i = Σ_c t_ic`.
    fn total(&self, i: usize) -> f64 {
        self.row_sum(i, |_, t| t)
    }
}

/// Runs `$body` with `$x` bound to the 2-D logits view and `$t` to the [`TargetData`] of the
/// same element type.
macro_rules! with_target {
    ($x:expr, $target:expr, $xv:ident, $t:ident => $body:expr) => {{
        let x = $x;
        let target = $target;
        let dense = match target {
            CrossEntropyTarget::Dense(t) => Some(t.array()),
            CrossEntropyTarget::Labels { .. } => None,
        };
        macro_rules! arm {
            ($xa:ident, $variant:ident) => {{
                let $xv = $xa
                    .view()
                    .into_dimensionality::<Ix2>()
                    .map_err(|_| Error::internal("cross_entropy", "logits flattened to 2-D"))?;
                let $t = match (target, &dense) {
                    (CrossEntropyTarget::Labels { labels, weights }, _) => {
                        TargetData::Labels { labels, weights }
                    }
                    (_, Some(Array::$variant(ta))) => {
                        TargetData::Dense(ta.view().into_dimensionality::<Ix2>().map_err(|_| {
                            Error::internal("cross_entropy", "dense targets flattened to 2-D")
                        })?)
                    }
                    (_, other) => {
                        let found = other.as_ref().map_or(x.dtype(), Array::dtype);
                        return Err(dtype_mismatch("cross_entropy", x.dtype(), found));
                    }
                };
                $body
            }};
        }
        match &x {
            Array::F32(xa) => arm!(xa, F32),
            Array::F64(xa) => arm!(xa, F64),
            other @ Array::Bool(_) => {
                return Err(crate::array::not_floating("cross_entropy", other.dtype()))
            }
            other @ (Array::U8(_)
            | Array::I8(_)
            | Array::I16(_)
            | Array::I32(_)
            | Array::I64(_)) => {
                return Err(crate::array::not_floating("cross_entropy", other.dtype()))
            }
        }
    }};
}

fn to_f64<T: Element>(v: T) -> f64 {
    v.to_f64().unwrap_or(f64::NAN)
}

/// Per-row `lse_i` of the logits, in `f64`. A row whose maximum is infinite is not shifted
/// (as `logsumexp`), so `+inf` gives `lse = +inf` and an all-`-inf` row `lse = -inf`.
fn log_sum_exp<T: Element>(x: ArrayView2<'_, T>) -> Vec<f64> {
    let x = x.as_standard_layout();
    if x.ncols() == 0 {
        return vec![f64::NEG_INFINITY; x.nrows()];
    }
    // Infallible: an array in standard layout is one slice (made so above).
    let flat = x.as_slice().expect("standard layout");
    flat.chunks_exact(x.ncols())
        .map(|row| {
            let max = row.iter().fold(T::neg_infinity(), |m, &v| {
                if m.is_nan() || v.is_nan() || v > m {
                    v
                } else {
                    m
                }
            });
            let shift = if max.is_finite() { max } else { T::zero() };
            to_f64(shift) + sum_exp(row, shift).ln()
        })
        .collect()
}

/// `Σ exp(v − shift)` over a row in `f64`, eight lanes at a time so that the `exp`s
/// vectorise (a single running sum would serialise them).
fn sum_exp<T: Element>(row: &[T], shift: T) -> f64 {
    let mut lanes = [0.0f64; 8];
    let mut chunks = row.chunks_exact(8);
    for chunk in &mut chunks {
        let mut e = [T::zero(); 8];
        for (e, &v) in e.iter_mut().zip(chunk) {
            *e = (v - shift).fast_exp();
        }
        for (lane, e) in lanes.iter_mut().zip(e) {
            *lane += to_f64(e);
        }
    }
    let rest: f64 = chunks.remainder().iter().map(|&v| to_f64((v - shift).fast_exp())).sum();
    lanes.iter().sum::<f64>() + rest
}

/// `loss_i = Σ_c t_ic (lse_i − x_ic)`.
fn forward<T: Element>(x: ArrayView2<'_, T>, lse: &[f64], target: &TargetData<T>) -> Vec<T> {
    (0..x.nrows())
        .map(|i| T::of(target.row_sum(i, |c, t| t * (lse[i] - to_f64(x[[i, c]])))))
        .collect()
}

/// `∂L/∂x_ic = g_i (S_i · exp(x_ic − lse_i) − t_ic)`: one pass, no temporaries.
fn vjp_kernel<T: Element>(
    x: ArrayView2<'_, T>,
    lse: &[f64],
    target: &TargetData<T>,
    grad: &[f64],
) -> Array2<T> {
    let x = x.as_standard_layout();
    let mut out = Array2::<T>::zeros(x.dim());
    let classes = x.ncols().max(1);
    // Infallible: `zeros` and `as_standard_layout` both give arrays that are one slice.
    let out_rows = out.as_slice_mut().expect("standard layout").chunks_exact_mut(classes);
    let x_rows = x.as_slice().expect("standard layout").chunks_exact(classes);
    for (i, (out_row, x_row)) in out_rows.zip(x_rows).enumerate() {
        let g = T::of(grad[i]);
        let scale = T::of(grad[i] * target.total(i));
        let shift = T::of(lse[i]);
        if scale != T::zero() {
            for (o, &v) in out_row.iter_mut().zip(x_row) {
                *o = scale * (v - shift).fast_exp();
            }
        }
        match target {
            TargetData::Labels { labels, weights } => {
                out_row[labels[i]] = out_row[labels[i]] - g * T::of(weights[i]);
            }
            TargetData::Dense(t) => {
                for (o, &tv) in out_row.iter_mut().zip(t.row(i)) {
                    *o = *o - g * tv;
                }
            }
        }
    }
    out
}

/// Softmax cross-entropy over rows (see the module docs).
pub(crate) struct CrossEntropyBackward {
    x: SavedTensor,
    lse: Vec<f64>,
    target: CrossEntropyTarget,
}

impl CrossEntropyBackward {
    /// The target as a dense `(N, C)` tensor of `like`'s dtype.
    fn dense_target(&self, like: &Tensor) -> Result<Tensor> {
        let shape = like.shape();
        match &self.target {
            CrossEntropyTarget::Dense(t) => t.to_dtype(like.dtype()),
            CrossEntropyTarget::Labels { labels, weights } => {
                let mut dense = Array2::<f64>::zeros((shape[0], shape[1]));
                for (i, (&c, &w)) in labels.iter().zip(weights).enumerate() {
                    dense[[i, c]] = w;
                }
                Tensor::from_array(Array::F64(dense.into_dyn().into_shared()))
                    .to_dtype(like.dtype())
            }
        }
    }

    /// `S · softmax(x) − t` as a differentiable expression of `x` (for `create_graph` and
    /// forward mode, where the derivative itself must be differentiable).
    fn local_derivative(&self, x: &Tensor) -> Result<Tensor> {
        let t = self.dense_target(x)?;
        let total = t.sum(Some(&[1]), true)?;
        x.softmax(1)?.mul(&total)?.sub(&t)
    }
}

impl Primitive for CrossEntropyBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "CrossEntropyBackward",
        family: "loss",
        api: &["_cross_entropy"],
        saves: Saves::InputsAndBuffers,
        derivative: "∂loss_i/∂x_ic = S_i · softmax(x)_ic − t_ic",
        batch: BatchRule::MergeRows,
    };
}

impl Backward for CrossEntropyBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = self.x.get(self.name())?;
        if derivatives_tracked() {
            // create_graph or forward-over-reverse: the gradient must be differentiable.
            let local = self.local_derivative(&x)?;
            return Ok(vec![Some(grad.unsqueeze(1)?.mul(&local)?)]);
        }
        let grad = grad.array().to_f64_vec();
        let out = with_target!(x.array(), &self.target, xv, t => {
            Element::wrap(vjp_kernel(xv, &self.lse, &t, &grad).into_dyn().into_shared())
        });
        Ok(vec![Some(Tensor::from_array(out))])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // d loss_i = Σ_c (S_i softmax(x)_ic − t_ic) dx_ic
        j.linear(|dx| self.local_derivative(j.inputs[0])?.mul(dx)?.sum(Some(&[1]), false))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        let n = self.lse.len();
        let mut saved = vec![
            self.x.info(),
            SavedInfo {
                why: SavedAs::Buffer("logsumexp"),
                shape: vec![n],
                dtype: DType::F64,
                bytes: n * 8,
            },
        ];
        match &self.target {
            CrossEntropyTarget::Dense(t) => {
                saved.push(SavedInfo::of(SavedAs::Buffer("target"), &t.array()))
            }
            CrossEntropyTarget::Labels { .. } => saved.push(SavedInfo {
                why: SavedAs::Buffer("labels and weights"),
                shape: vec![n],
                dtype: DType::F64,
                bytes: n * (8 + std::mem::size_of::<usize>()),
            }),
        }
        saved
    }
}

impl Tensor {
    /// Softmax cross-entropy of `(N, C)` logits against `target`, one loss per row:
    /// `loss_i = Σ_c t_ic (logsumexp(x_i) − x_ic)`. See [`CrossEntropyTarget`] for the
    /// target's forms; it is a constant (a dense target that requires grad is refused).
    pub fn cross_entropy(&self, target: &CrossEntropyTarget) -> Result<Tensor> {
        let shape = self.shape();
        let [rows, classes] = shape[..] else {
            return Err(Error::shape(
                "cross_entropy",
                format!("logits must be 2-D (N, C), got shape {}", fmt_shape(&shape)),
            ));
        };
        let target = match target {
            CrossEntropyTarget::Labels { labels, weights } => {
                if labels.len() != rows || weights.len() != rows {
                    return Err(Error::shape(
                        "cross_entropy",
                        format!(
                            "{} labels and {} weights do not fit logits of shape {} (one \
                             of each per row)",
                            labels.len(),
                            weights.len(),
                            fmt_shape(&shape)
                        ),
                    ));
                }
                if let Some(&bad) = labels.iter().find(|&&c| c >= classes) {
                    return Err(Error::Index {
                        op: "cross_entropy",
                        message: format!(
                            "label {bad} is out of range for {classes} classes (valid labels \
                             are 0..{})",
                            classes.saturating_sub(1)
                        ),
                    });
                }
                target.clone()
            }
            CrossEntropyTarget::Dense(t) => {
                if t.shape() != shape {
                    return Err(Error::shape(
                        "cross_entropy",
                        format!(
                            "target of shape {} does not fit logits of shape {}",
                            fmt_shape(&t.shape()),
                            fmt_shape(&shape)
                        ),
                    ));
                }
                if t.requires_grad() {
                    return Err(Error::value(
                        "cross_entropy",
                        "the target requires grad, but the fused cross-entropy treats it as a \
                         constant (detach it, or compose the loss from log_softmax)",
                    ));
                }
                CrossEntropyTarget::Dense(t.detach().to_dtype(self.dtype())?)
            }
        };
        let (lse, out) = with_target!(self.array(), &target, xv, t => {
            let lse = log_sum_exp(xv);
            let loss = forward(xv, &lse, &t);
            (lse, Element::wrap(ndarray::Array1::from(loss).into_dyn().into_shared()))
        });
        record(&[self], out, || {
            Box::new(CrossEntropyBackward {
                x: SavedTensor::new(self, SavedAs::Input(0)),
                lse,
                target,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::testutil::{assert_close, leaf, values};

    #[test]
    fn loss_is_lse_minus_the_label_logit_and_its_gradient_softmax_minus_one_hot() {
        // Row 0: logits (0, ln 2): softmax (1/3, 2/3); label 1 with weight 1:
        // loss = ln 3 − ln 2, gradient (1/3, −1/3). Row 1 has weight 0: it contributes 0.
        let ln2 = std::f64::consts::LN_2;
        let x = leaf(&[2, 2], &[0.0, ln2, 5.0, -5.0], true);
        let target = CrossEntropyTarget::Labels { labels: vec![1, 0], weights: vec![1.0, 0.0] };
        let loss = x.cross_entropy(&target).unwrap();
        assert_close(&values(&loss), &[3f64.ln() - ln2, 0.0], 1e-15);
        let g = engine::grad(&[loss.sum(None, false).unwrap()], &[None], &[x], false, false, false)
            .unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[1.0 / 3.0, -1.0 / 3.0, 0.0, 0.0], 1e-15);
    }

    #[test]
    fn a_dense_target_scales_the_softmax_by_its_total() {
        // t = (0.5, 1.0) on logits (0, 0): loss = 1.5 ln 2, gradient 1.5·(1/2, 1/2) − t.
        let x = leaf(&[1, 2], &[0.0, 0.0], true);
        let t = leaf(&[1, 2], &[0.5, 1.0], false);
        let loss = x.cross_entropy(&CrossEntropyTarget::Dense(t)).unwrap();
        assert_close(&values(&loss), &[1.5 * std::f64::consts::LN_2], 1e-15);
        let g = engine::grad(&[loss], &[None], &[x], false, false, false).unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[0.25, -0.25], 1e-15);
    }
}
