//! Scaled dot-product attention as one fused primitive.
//!
//! Per batch element (all leading axes), with queries `Q` `(L, E)`, keys `K` `(S, E)`,
//! values `V` `(S, Ev)` and an optional additive mask `M` (broadcast to `(L, S)`):
//!
//! ```text
//! scores = scale · Q Kᵀ + M      P = softmax_rows(scores)      O = P V
//! dV = Pᵀ dO    dP = dO Vᵀ    dS = P ∘ (dP − rowsum(dO ∘ O))
//! dQ = scale · dS K    dK = scale · dSᵀ Q    dM = dS
//! ```
//!
//! Why a primitive: composed, attention records five nodes and saves the `(L, S)` scores
//! and probabilities of every head. Here the forward keeps one `(L, S)` block at a time
//! and saves only the inputs, the output and one log-sum-exp per query row; the backward
//! recomputes `P` from them, one `(L, S)` block at a time (FlashAttention's trade: a second
//! `Q Kᵀ` product for an `(L, S)`-per-head memory bill of zero).
//!
//! With `create_graph=True` (or under forward mode) the VJP is written with Tensor ops
//! instead, so that it is differentiable itself.

use crate::array::{broadcast_shapes, Element};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{
    derivatives_tracked, record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext,
};
use crate::ops::matmul::gemm_block;
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::{Array, DType};
use ndarray::{ArcArray, Array2, ArrayView2, ArrayViewMut2, Axis, Dimension, Ix2, IxDyn};

/// Sizes of one call: the batch axes, their product, and `L`, `S`, `E`, `Ev`.
#[derive(Clone, Debug)]
struct Dims {
    batch: Vec<usize>,
    count: usize,
    l: usize,
    s: usize,
    e: usize,
    ev: usize,
}

/// A contiguous copy of `a` (itself when already contiguous).
fn standard<T: Element>(a: &ArcArray<T, IxDyn>) -> ArcArray<T, IxDyn> {
    if a.is_standard_layout() {
        a.clone()
    } else {
        a.as_standard_layout().into_owned().into_shared()
    }
}

const OP: &str = "scaled_dot_product_attention";

/// A broken invariant of the kernels below (their buffers are sized from the checked
/// shapes): a tapegrad bug, reported as an error.
fn bug(what: impl std::fmt::Display) -> Error {
    Error::internal(OP, what.to_string())
}

fn view2<T>(data: &[T], rows: usize, cols: usize) -> Result<ArrayView2<'_, T>> {
    ArrayView2::from_shape((rows, cols), data).map_err(bug)
}

fn view2_mut<T>(data: &mut [T], rows: usize, cols: usize) -> Result<ArrayViewMut2<'_, T>> {
    ArrayViewMut2::from_shape((rows, cols), data).map_err(bug)
}

/// The elements of a standard-layout array (see [`standard`]).
fn elements<T>(a: &ArcArray<T, IxDyn>) -> Result<&[T]> {
    a.as_slice().ok_or_else(|| bug("a standard-layout operand"))
}

/// The `(L, S)` mask of each batch element, in row-major batch order (views of the one
/// broadcast mask: nothing is copied).
fn mask_blocks<'a, T: Element>(
    mask: &'a ArcArray<T, IxDyn>,
    d: &Dims,
) -> Result<Vec<ArrayView2<'a, T>>> {
    let full: Vec<usize> = [&d.batch[..], &[d.l, d.s]].concat();
    let m = mask.broadcast(IxDyn(&full)).ok_or_else(|| bug("a mask shape checked to broadcast"))?;
    if d.batch.is_empty() {
        return Ok(vec![m.into_dimensionality::<Ix2>().map_err(bug)?]);
    }
    ndarray::indices(IxDyn(&d.batch))
        .into_iter()
        .map(|idx| {
            let mut v = m.clone();
            for &i in idx.slice() {
                v = v.index_axis_move(Axis(0), i);
            }
            v.into_dimensionality::<Ix2>().map_err(bug)
        })
        .collect()
}

/// `scores ← softmax_rows(scale · scores + mask)`, and each row's log-sum-exp. A row whose
/// scores are all `-inf` (fully masked) gives NaN, as PyTorch's.
fn softmax_rows<T: Element>(
    scores: &mut Array2<T>,
    mask: Option<&ArrayView2<'_, T>>,
    scale: T,
    lse: &mut [T],
) {
    for (i, mut row) in scores.rows_mut().into_iter().enumerate() {
        match mask {
            Some(m) => row.zip_mut_with(&m.row(i), |x, &mv| *x = *x * scale + mv),
            None => row.mapv_inplace(|x| x * scale),
        }
        let max = row.fold(T::neg_infinity(), |m, &x| if x > m || x.is_nan() { x } else { m });
        let shift = if max.is_finite() { max } else { T::zero() };
        row.mapv_inplace(|x| (x - shift).exp());
        let total = row.sum();
        row.mapv_inplace(|x| x / total);
        lse[i] = shift + total.ln();
    }
}

/// `P` of one batch element from the saved log-sum-exps: `exp(scale · Q Kᵀ + M − lse)`.
fn probabilities<T: Element>(
    q: ArrayView2<'_, T>,
    k: ArrayView2<'_, T>,
    mask: Option<&ArrayView2<'_, T>>,
    scale: T,
    lse: &[T],
    p: &mut Array2<T>,
) {
    gemm_block(q, k.reversed_axes(), T::zero(), p.view_mut());
    for (i, mut row) in p.rows_mut().into_iter().enumerate() {
        match mask {
            Some(m) => row.zip_mut_with(&m.row(i), |x, &mv| *x = (*x * scale + mv - lse[i]).exp()),
            None => row.mapv_inplace(|x| (x * scale - lse[i]).exp()),
        }
    }
}

/// The forward: `O` `(batch..., L, Ev)` and the per-row log-sum-exps.
fn forward_kernel<T: Element>(
    q: &ArcArray<T, IxDyn>,
    k: &ArcArray<T, IxDyn>,
    v: &ArcArray<T, IxDyn>,
    mask: Option<&ArcArray<T, IxDyn>>,
    d: &Dims,
    scale: f64,
) -> Result<(ArcArray<T, IxDyn>, Vec<T>)> {
    let (q, k, v) = (standard(q), standard(k), standard(v));
    let (q, k, v) = (elements(&q)?, elements(&k)?, elements(&v)?);
    let masks = mask.map(|m| mask_blocks(m, d)).transpose()?;
    let (l, s, e, ev) = (d.l, d.s, d.e, d.ev);
    let mut out = vec![T::zero(); d.count * l * ev];
    let mut lse = vec![T::zero(); d.count * l];
    let mut scores = Array2::<T>::zeros((l, s));
    for b in 0..d.count {
        let qb = view2(&q[b * l * e..(b + 1) * l * e], l, e)?;
        let kb = view2(&k[b * s * e..(b + 1) * s * e], s, e)?;
        let vb = view2(&v[b * s * ev..(b + 1) * s * ev], s, ev)?;
        gemm_block(qb, kb.reversed_axes(), T::zero(), scores.view_mut());
        let mb = masks.as_ref().map(|m| &m[b]);
        softmax_rows(&mut scores, mb, T::of(scale), &mut lse[b * l..(b + 1) * l]);
        let ob = view2_mut(&mut out[b * l * ev..(b + 1) * l * ev], l, ev)?;
        gemm_block(scores.view(), vb, T::zero(), ob);
    }
    let shape: Vec<usize> = [&d.batch[..], &[l, ev]].concat();
    let out = ndarray::ArrayD::from_shape_vec(IxDyn(&shape), out).map_err(bug)?;
    Ok((out.into_shared(), lse))
}

/// The fused backward: `dQ`, `dK`, `dV` and, when `mask_grad` (and there is a mask), `dM`
/// (full, unbroadcast; a mask that needs no gradient costs no `(B, L, S)` buffer).
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn backward_kernel<T: Element>(
    q: &ArcArray<T, IxDyn>,
    k: &ArcArray<T, IxDyn>,
    v: &ArcArray<T, IxDyn>,
    mask: Option<&ArcArray<T, IxDyn>>,
    out: &ArcArray<T, IxDyn>,
    lse: &[T],
    grad: &ArcArray<T, IxDyn>,
    d: &Dims,
    scale: f64,
    mask_grad: bool,
) -> Result<[Option<ArcArray<T, IxDyn>>; 4]> {
    let (q, k, v) = (standard(q), standard(k), standard(v));
    let (out, grad) = (standard(out), standard(grad));
    let (qs, ks, vs) = (elements(&q)?, elements(&k)?, elements(&v)?);
    let (os, gs) = (elements(&out)?, elements(&grad)?);
    let masks = mask.map(|m| mask_blocks(m, d)).transpose()?;
    let (l, s, e, ev) = (d.l, d.s, d.e, d.ev);
    let (mut dq, mut dk) = (vec![T::zero(); qs.len()], vec![T::zero(); ks.len()]);
    let mut dv = vec![T::zero(); vs.len()];
    let mut dm = masks.as_ref().filter(|_| mask_grad).map(|_| vec![T::zero(); d.count * l * s]);
    let mut p = Array2::<T>::zeros((l, s));
    let mut ds = Array2::<T>::zeros((l, s));
    let scale_t = T::of(scale);
    for b in 0..d.count {
        let qb = view2(&qs[b * l * e..(b + 1) * l * e], l, e)?;
        let kb = view2(&ks[b * s * e..(b + 1) * s * e], s, e)?;
        let vb = view2(&vs[b * s * ev..(b + 1) * s * ev], s, ev)?;
        let ob = view2(&os[b * l * ev..(b + 1) * l * ev], l, ev)?;
        let gb = view2(&gs[b * l * ev..(b + 1) * l * ev], l, ev)?;
        let mb = masks.as_ref().map(|m| &m[b]);
        probabilities(qb, kb, mb, scale_t, &lse[b * l..(b + 1) * l], &mut p);
        // dV = Pᵀ dO;  dP = dO Vᵀ
        gemm_block(
            p.view().reversed_axes(),
            gb,
            T::zero(),
            view2_mut(&mut dv[b * s * ev..(b + 1) * s * ev], s, ev)?,
        );
        gemm_block(gb, vb.reversed_axes(), T::zero(), ds.view_mut());
        // dS = P ∘ (dP − D),  D_i = Σ_c dO_ic O_ic
        for (i, (mut ds_row, p_row)) in ds.rows_mut().into_iter().zip(p.rows()).enumerate() {
            let di = gb.row(i).iter().zip(ob.row(i)).fold(T::zero(), |acc, (&g, &o)| acc + g * o);
            ds_row.zip_mut_with(&p_row, |x, &pv| *x = pv * (*x - di));
        }
        if let Some(dm) = dm.as_mut() {
            dm[b * l * s..(b + 1) * l * s].iter_mut().zip(ds.iter()).for_each(|(m, &x)| *m = x);
        }
        ds.mapv_inplace(|x| x * scale_t);
        // dQ = scale · dS K;  dK = scale · dSᵀ Q
        gemm_block(ds.view(), kb, T::zero(), view2_mut(&mut dq[b * l * e..(b + 1) * l * e], l, e)?);
        gemm_block(
            ds.view().reversed_axes(),
            qb,
            T::zero(),
            view2_mut(&mut dk[b * s * e..(b + 1) * s * e], s, e)?,
        );
    }
    let wrap = |data: Vec<T>, shape: &[usize]| {
        Ok(ndarray::ArrayD::from_shape_vec(IxDyn(shape), data).map_err(bug)?.into_shared())
    };
    let full_mask: Vec<usize> = [&d.batch[..], &[l, s]].concat();
    Ok([
        Some(wrap(dq, q.shape())?),
        Some(wrap(dk, k.shape())?),
        Some(wrap(dv, v.shape())?),
        dm.map(|dm| wrap(dm, &full_mask)).transpose()?,
    ])
}

/// Fused scaled dot-product attention (see the module docs). Inputs: `q`, `k`, `v` and
/// optionally an additive mask.
pub(crate) struct AttentionBackward {
    q: SavedTensor,
    k: SavedTensor,
    v: SavedTensor,
    mask: Option<SavedTensor>,
    out: Array,
    lse: Array,
    dims: Dims,
    scale: f64,
}

impl Primitive for AttentionBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "AttentionBackward",
        family: "attention",
        api: &["_scaled_dot_product_attention"],
        saves: Saves::InputsAndBuffers,
        derivative: "dV = Pᵀ·grad, dS = P ∘ (grad·Vᵀ − rowsum(grad ∘ O)), dQ = scale·dS·K, \
                     dK = scale·dSᵀ·Q, d(mask) = dS (P recomputed from the row log-sum-exps)",
        batch: BatchRule::LeadingBatch,
    };
}

/// `softmax(scale · q kᵀ + mask)` with Tensor ops (differentiable).
fn probabilities_tensor(
    q: &Tensor,
    k: &Tensor,
    mask: Option<&Tensor>,
    scale: f64,
) -> Result<Tensor> {
    let mut scores = q.matmul(&k.transpose(-1, -2)?)?.mul_scalar(scale)?;
    if let Some(m) = mask {
        scores = scores.add(m)?;
    }
    scores.softmax(-1)
}

impl Backward for AttentionBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (q, k, v) =
            (self.q.get(self.name())?, self.k.get(self.name())?, self.v.get(self.name())?);
        let mask = self.mask.as_ref().map(|m| m.get(self.name())).transpose()?;
        let needs = |i| ctx.needs_input_grad(i);
        if derivatives_tracked() {
            // The same formulas with Tensor ops, so that they are differentiable.
            let p = probabilities_tensor(&q, &k, mask.as_ref(), self.scale)?;
            let dv = p.transpose(-1, -2)?.matmul(grad)?;
            let dp = grad.matmul(&v.transpose(-1, -2)?)?;
            let ds = p.mul(&dp.sub(&dp.mul(&p)?.sum(Some(&[-1]), true)?)?)?;
            let dq = ds.matmul(&k)?.mul_scalar(self.scale)?;
            let dk = ds.transpose(-1, -2)?.matmul(&q)?.mul_scalar(self.scale)?;
            let mut grads = vec![Some(dq), Some(dk), Some(dv)];
            if mask.is_some() {
                grads.push(Some(ds));
            }
            return Ok(grads
                .into_iter()
                .enumerate()
                .map(|(i, g)| g.filter(|_| needs(i)))
                .collect());
        }
        let grad = grad.to_dtype(q.dtype())?;
        let (qa, ka, va, ga) = (q.array(), k.array(), v.array(), grad.array());
        macro_rules! run {
            ($variant:ident) => {{
                let (
                    Array::$variant(qa),
                    Array::$variant(ka),
                    Array::$variant(va),
                    Array::$variant(oa),
                    Array::$variant(la),
                    Array::$variant(gra),
                ) = (&qa, &ka, &va, &self.out, &self.lse, &ga)
                else {
                    return Err(crate::array::dtype_mismatch(
                        "scaled_dot_product_attention",
                        q.dtype(),
                        grad.dtype(),
                    ));
                };
                let ma = match mask.as_ref().map(Tensor::array) {
                    Some(Array::$variant(m)) => Some(m),
                    _ => None,
                };
                let lse = la.as_slice().ok_or_else(|| bug("a contiguous log-sum-exp"))?;
                let grads = backward_kernel(
                    qa,
                    ka,
                    va,
                    ma.as_ref(),
                    oa,
                    lse,
                    gra,
                    &self.dims,
                    self.scale,
                    needs(3),
                )?;
                grads.map(|g| g.map(Array::$variant))
            }};
        }
        let grads = match q.dtype() {
            DType::F32 => run!(F32),
            DType::F64 => run!(F64),
            // The forward cast every operand to a floating dtype.
            other
            @ (DType::Bool | DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64) => {
                return Err(crate::error::Error::DType {
                    op: "scaled_dot_product_attention",
                    message: format!("expected floating point operands, got {other}"),
                })
            }
        };
        let count = if self.mask.is_some() { 4 } else { 3 };
        Ok(grads
            .into_iter()
            .take(count)
            .enumerate()
            .map(|(i, g)| g.filter(|_| needs(i)).map(Tensor::from_array))
            .collect())
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // dS = scale (dQ Kᵀ + Q dKᵀ) + dM;  dP = P ∘ (dS − rowsum(P ∘ dS));  dO = dP V + P dV
        let (q, k, v) = (j.inputs[0], j.inputs[1], j.inputs[2]);
        let mask = j.inputs.get(3).copied();
        let p = probabilities_tensor(q, k, mask, self.scale)?;
        let mut ds_parts = Vec::new();
        if let Some(t) = j.tangent(0) {
            ds_parts.push(t.matmul(&k.transpose(-1, -2)?)?.mul_scalar(self.scale));
        }
        if let Some(t) = j.tangent(1) {
            ds_parts.push(q.matmul(&t.transpose(-1, -2)?)?.mul_scalar(self.scale));
        }
        if let Some(t) = j.tangent(3) {
            ds_parts.push(Ok(t.clone()));
        }
        let ds = crate::graph::sum_tangents(ds_parts)?;
        let mut parts = Vec::new();
        if let Some(ds) = ds {
            let dp = p.mul(&ds.sub(&p.mul(&ds)?.sum(Some(&[-1]), true)?)?)?;
            parts.push(dp.matmul(v));
        }
        if let Some(dv) = j.tangent(2) {
            parts.push(p.matmul(dv));
        }
        crate::graph::sum_tangents(parts)
    }
    fn saved(&self) -> Vec<SavedInfo> {
        let mut saved: Vec<SavedInfo> =
            [Some(&self.q), Some(&self.k), Some(&self.v), self.mask.as_ref()]
                .into_iter()
                .flatten()
                .map(SavedTensor::info)
                .collect();
        saved.push(SavedInfo::of(SavedAs::Result, &self.out));
        saved.push(SavedInfo::of(SavedAs::Buffer("row logsumexp"), &self.lse));
        saved
    }
}

impl Tensor {
    /// Fused `softmax(scale · q kᵀ + mask) v` over the last two axes (see the module docs).
    /// `q` is `(..., L, E)`, `k` `(..., S, E)`, `v` `(..., S, Ev)` with equal batch axes;
    /// `mask` is additive and broadcasts to `(..., L, S)`. (Over 80 lines: the argument checks
    /// PyTorch makes, each with its own message, come before the one fused call.)
    pub fn scaled_dot_product_attention(
        &self,
        key: &Tensor,
        value: &Tensor,
        mask: Option<&Tensor>,
        scale: f64,
    ) -> Result<Tensor> {
        let (qs, ks, vs) = (self.shape(), key.shape(), value.shape());
        let n = qs.len();
        let bad = n < 2
            || ks.len() != n
            || vs.len() != n
            || qs[..n - 2] != ks[..n - 2]
            || qs[..n - 2] != vs[..n - 2]
            || qs[n - 1] != ks[n - 1]
            || ks[n - 2] != vs[n - 2];
        if bad {
            return Err(Error::shape(
                OP,
                format!(
                    "query {}, key {} and value {} do not fit: expected (..., L, E), \
                     (..., S, E) and (..., S, Ev) with the same batch dimensions",
                    fmt_shape(&qs),
                    fmt_shape(&ks),
                    fmt_shape(&vs)
                ),
            ));
        }
        let dims = Dims {
            batch: qs[..n - 2].to_vec(),
            count: qs[..n - 2].iter().product(),
            l: qs[n - 2],
            s: ks[n - 2],
            e: qs[n - 1],
            ev: vs[n - 1],
        };
        let full: Vec<usize> = [&dims.batch[..], &[dims.l, dims.s]].concat();
        if let Some(m) = mask {
            let ms = m.shape();
            if ms.len() > full.len()
                || broadcast_shapes(OP, &ms, &full).ok().as_deref() != Some(&full[..])
            {
                return Err(Error::shape(
                    OP,
                    format!(
                        "attn_mask of shape {} does not broadcast to the attention weights' \
                         shape {}",
                        fmt_shape(&ms),
                        fmt_shape(&full)
                    ),
                ));
            }
        }
        let dtype = [Some(self), Some(key), Some(value), mask]
            .iter()
            .flatten()
            .map(|t| t.dtype())
            .fold(self.dtype(), DType::promote);
        let (q, k, v) = (self.to_dtype(dtype)?, key.to_dtype(dtype)?, value.to_dtype(dtype)?);
        let m = mask.map(|m| m.to_dtype(dtype)).transpose()?;
        let (out, lse) = match (q.array(), k.array(), v.array(), m.as_ref().map(Tensor::array)) {
            (Array::F32(qa), Array::F32(ka), Array::F32(va), ma) => {
                let ma = match ma {
                    Some(Array::F32(a)) => Some(a),
                    _ => None,
                };
                let (o, l) = forward_kernel(&qa, &ka, &va, ma.as_ref(), &dims, scale)?;
                (Array::F32(o), Array::F32(ndarray::Array1::from(l).into_dyn().into_shared()))
            }
            (Array::F64(qa), Array::F64(ka), Array::F64(va), ma) => {
                let ma = match ma {
                    Some(Array::F64(a)) => Some(a),
                    _ => None,
                };
                let (o, l) = forward_kernel(&qa, &ka, &va, ma.as_ref(), &dims, scale)?;
                (Array::F64(o), Array::F64(ndarray::Array1::from(l).into_dyn().into_shared()))
            }
            _ => return Err(crate::array::dtype_mismatch(OP, q.dtype(), k.dtype())),
        };
        let mut inputs = vec![&q, &k, &v];
        inputs.extend(m.as_ref());
        let saved_out = out.clone();
        record(&inputs, out, || {
            Box::new(AttentionBackward {
                q: SavedTensor::new(&q, SavedAs::Input(0)),
                k: SavedTensor::new(&k, SavedAs::Input(1)),
                v: SavedTensor::new(&v, SavedAs::Input(2)),
                mask: m.as_ref().map(|m| SavedTensor::new(m, SavedAs::Input(3))),
                out: saved_out,
                lse,
                dims,
                scale,
            })
        })
    }
}
