//! Matrix products. Every product in tapegrad goes through [`gemm`], which hands strided views
//! (transposes included) to the kernel (`crate::kernels::gemm`: faer's runtime-dispatched
//! kernels, split into panels over the thread pool): nothing is copied to transpose.

use crate::alloc;
use crate::array::{broadcast_shapes, Array, Element};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::zip_array;
use ndarray::{ArcArray, ArrayD, ArrayView2, ArrayViewMut2, Axis, Dimension, Ix2, IxDyn};

/// Products with more multiply-adds than this are computed in chunks with an interrupt check
/// ([`crate::interrupt`]) between them, so Ctrl-C stops a long product within a fraction of a
/// second. A chunk (2^28 multiply-adds, tens of milliseconds) splits the contraction and the
/// output into blocks of at least [`MIN_BLOCK`], so repacking and re-reading `out` between
/// chunks costs well under 1 %.
const INTERRUPTIBLE_MACS: usize = 1 << 28;

/// The smallest block a chunked product splits any extent into.
const MIN_BLOCK: usize = 256;

/// `out = a · b + beta · out` for 2-D views of any strides: the one entry point to the matmul
/// kernel. Empty products return at once (`beta · out`, or zeros, when only the contraction is
/// empty); very large ones run in interruptible chunks (see [`INTERRUPTIBLE_MACS`]).
pub(crate) fn gemm<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut out: ArrayViewMut2<'_, T>,
) -> Result<()> {
    let (m, n) = out.dim();
    let k = a.ncols();
    let macs = m.saturating_mul(n).saturating_mul(k);
    if macs <= INTERRUPTIBLE_MACS {
        gemm_block(a, b, beta, out);
        return Ok(());
    }
    // Contraction chunks first (each adds onto `out`), then row and column blocks so that one
    // chunk stays near INTERRUPTIBLE_MACS whatever the shape.
    let kc = (INTERRUPTIBLE_MACS / m.saturating_mul(n)).max(MIN_BLOCK).min(k);
    let mc = (INTERRUPTIBLE_MACS / kc.saturating_mul(n)).max(MIN_BLOCK).min(m);
    let nc = (INTERRUPTIBLE_MACS / kc.saturating_mul(mc)).max(MIN_BLOCK).min(n);
    for (a_rows, mut out_rows) in
        a.axis_chunks_iter(Axis(0), mc).zip(out.axis_chunks_iter_mut(Axis(0), mc))
    {
        for (b_cols, mut out_block) in
            b.axis_chunks_iter(Axis(1), nc).zip(out_rows.axis_chunks_iter_mut(Axis(1), nc))
        {
            let pieces =
                a_rows.axis_chunks_iter(Axis(1), kc).zip(b_cols.axis_chunks_iter(Axis(0), kc));
            for (i, (a_part, b_part)) in pieces.enumerate() {
                crate::interrupt::check("matmul")?;
                let beta = if i == 0 { beta } else { T::one() };
                gemm_panels(a_part, b_part, beta, out_block.view_mut());
            }
        }
    }
    Ok(())
}

/// `out = a · b + beta · out` in one go, for kernels that call it on blocks of a larger op
/// (convolutions, attention; each block is far below [`INTERRUPTIBLE_MACS`]). Empty products
/// return at once: `beta · out`, or zeros, when only the contraction is empty.
pub(crate) fn gemm_block<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut out: ArrayViewMut2<'_, T>,
) {
    let (m, n) = out.dim();
    if m == 0 || n == 0 {
        return;
    }
    if a.ncols() == 0 {
        if beta == T::zero() {
            out.fill(T::zero());
        } else {
            out.mapv_inplace(|v| beta * v);
        }
        return;
    }
    gemm_panels(a, b, beta, out);
}

/// `out = a · b + beta · out` for a non-empty product, by the kernel (`crate::kernels::gemm`:
/// tiny products by a plain loop, others by faer, large ones in one panel per thread). Every
/// element is computed by the same code whatever the split, so the result does not depend on
/// the thread count.
fn gemm_panels<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    out: ArrayViewMut2<'_, T>,
) {
    crate::kernels::gemm(a, b, beta, out)
}

/// Batched product of `a` (`[..., m, k]`) and `b` (`[..., k, n]`) with broadcast batch axes.
fn batched<T: Element>(
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    batch: &[usize],
) -> Result<ArrayD<T>> {
    let (m, k) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
    let n = b.shape()[b.ndim() - 1];
    if batch.is_empty() {
        // The common case, kept free of broadcasting machinery (per-op overhead matters for
        // small products).
        let mut out = alloc::try_full("matmul", &[m, n], T::zero())?;
        gemm(two_d(a.view())?, two_d(b.view())?, T::zero(), two_d(out.view_mut())?)?;
        return Ok(out);
    }
    let shape_of = |rows, cols| [batch, &[rows, cols]].concat();
    let out_shape = shape_of(m, n);
    let mut out = alloc::try_full("matmul", &out_shape, T::zero())?;
    if out.is_empty() {
        return Ok(out); // no product to compute, however many (empty) rows the batch has
    }
    let unbroadcast = || Error::internal("matmul", "the batch shapes broadcast");
    let a = a.broadcast(IxDyn(&shape_of(m, k))).ok_or_else(unbroadcast)?;
    let b = b.broadcast(IxDyn(&shape_of(k, n))).ok_or_else(unbroadcast)?;
    for idx in ndarray::indices(IxDyn(batch)) {
        let (mut av, mut bv, mut ov) = (a.view(), b.view(), out.view_mut());
        for &i in idx.slice() {
            av = av.index_axis_move(Axis(0), i);
            bv = bv.index_axis_move(Axis(0), i);
            ov = ov.index_axis_move(Axis(0), i);
        }
        gemm(two_d(av)?, two_d(bv)?, T::zero(), two_d(ov)?)?;
    }
    Ok(out)
}

/// `a @ b` for operands of at least two dimensions (batch axes broadcast).
pub(crate) struct MmBackward {
    a: Option<SavedTensor>,
    b: Option<SavedTensor>,
}

impl Primitive for MmBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "MmBackward",
        family: "matmul",
        api: &["matmul", "__matmul__"],
        saves: Saves::Inputs,
        derivative: "∂/∂a = grad · bᵀ, ∂/∂b = aᵀ · grad (batch axes summed by the engine)",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for MmBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let grad_a = self
            .b
            .as_ref()
            .map(|b| grad.matmul_nd(&b.get(self.name())?.transpose(-1, -2)?))
            .transpose()?;
        let grad_b = self
            .a
            .as_ref()
            .map(|a| a.get(self.name())?.transpose(-1, -2)?.matmul_nd(grad))
            .transpose()?;
        Ok(vec![grad_a, grad_b])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // d(AB) = dA·B + A·dB
        j.sum(|i, t| if i == 0 { t.matmul_nd(j.inputs[1]) } else { j.inputs[0].matmul_nd(t) })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::info).collect()
    }
    fn saved_bytes(&self) -> usize {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::nbytes).sum()
    }
}

impl Tensor {
    /// Matrix product with NumPy semantics: 1-D operands are promoted to a row (left) or a
    /// column (right) and the added axis removed; batch axes broadcast.
    pub fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        let (da, db) = (self.ndim(), other.ndim());
        if da == 0 || db == 0 {
            return Err(Error::shape(
                "matmul",
                format!(
                    "both operands need at least one dimension, got shapes {} and {}",
                    fmt_shape(&self.shape()),
                    fmt_shape(&other.shape())
                ),
            ));
        }
        let a = if da == 1 { self.unsqueeze(0)? } else { self.clone() };
        let b = if db == 1 { other.unsqueeze(1)? } else { other.clone() };
        let out = a.matmul_nd(&b).map_err(|e| match e {
            // Report the shapes the user passed, not the promoted ones.
            Error::MatmulShape { k_lhs, k_rhs, .. } => Error::MatmulShape {
                lhs: fmt_shape(&self.shape()),
                rhs: fmt_shape(&other.shape()),
                k_lhs,
                k_rhs,
            },
            other => other,
        })?;
        match (da, db) {
            (1, 1) => out.reshape(&[]),
            (1, _) => out.squeeze(Some(&[-2])),
            (_, 1) => out.squeeze(Some(&[-1])),
            _ => Ok(out),
        }
    }

    /// The primitive: both operands at least 2-D.
    fn matmul_nd(&self, other: &Tensor) -> Result<Tensor> {
        let dtype = self.dtype().promote(other.dtype());
        let (a, b) = (self.to_dtype(dtype)?, other.to_dtype(dtype)?);
        let (sa, sb) = (a.shape(), b.shape());
        let (k_lhs, k_rhs) = (sa[sa.len() - 1], sb[sb.len() - 2]);
        if k_lhs != k_rhs {
            return Err(Error::MatmulShape {
                lhs: fmt_shape(&sa),
                rhs: fmt_shape(&sb),
                k_lhs,
                k_rhs,
            });
        }
        let batch = broadcast_shapes("matmul", &sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
        if !dtype.is_floating_point() {
            let out = crate::ops::integer::matmul(&a.array(), &b.array(), &batch)?;
            return Ok(Tensor::from_array(out)); // integers carry no gradient
        }
        let out = zip_array!("matmul", &a.array(), &b.array(), x, y => batched(x, y, &batch)?);
        record(&[&a, &b], out, || {
            Box::new(MmBackward {
                a: b.requires_grad().then(|| SavedTensor::new(&a, SavedAs::Input(0))),
                b: a.requires_grad().then(|| SavedTensor::new(&b, SavedAs::Input(1))),
            })
        })
    }
}

/// `x · Wᵀ + b`, the affine map of `nn.Linear`, as one primitive. Why a primitive: composed
/// as `x @ W.T + b`, W's gradient arrives as a transposed view that the optimiser must copy
/// (a memory-bound pass as long as a matmul), and the step records three nodes instead of one.
/// Here W's gradient is computed as `gradᵀ · x`, already in W's layout.
pub(crate) struct LinearBackward {
    x: Option<SavedTensor>,
    w: Option<SavedTensor>,
    has_bias: bool,
}

impl LinearBackward {
    /// `t` with every leading axis merged: `(..., k)` to `(n, k)` (also when `k` is 0).
    fn rows(t: &Tensor) -> Result<Tensor> {
        let shape = t.shape();
        let k = *shape.last().ok_or_else(|| Error::internal("linear", "saved inputs are 1-D+"))?;
        t.reshape(&[leading_rows(&shape)?, k])
    }
}

impl Primitive for LinearBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinearBackward",
        family: "matmul",
        api: &["_linear"],
        saves: Saves::Inputs,
        derivative: "∂/∂x = grad · W, ∂/∂W = gradᵀ · x (rows merged), ∂/∂b = Σ_rows grad",
        batch: BatchRule::MergeRows,
    };
}

impl Backward for LinearBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        // d/dx = grad · W;  d/dW = gradᵀ · x (rows merged);  d/db = Σ_rows grad
        let g2 = Self::rows(grad)?;
        let grad_x = match &self.w {
            Some(w) if ctx.needs_input_grad(0) => {
                let gx = g2.matmul_nd(&w.get(self.name())?)?;
                Some(gx.reshape(&ctx.input(0).shape)?)
            }
            _ => None,
        };
        let grad_w = match &self.x {
            Some(x) if ctx.needs_input_grad(1) => {
                Some(g2.transpose(0, 1)?.matmul_nd(&Self::rows(&x.get(self.name())?)?)?)
            }
            _ => None,
        };
        let mut out = vec![grad_x, grad_w];
        if self.has_bias {
            out.push(ctx.needs_input_grad(2).then(|| g2.sum(Some(&[0]), false)).transpose()?);
        }
        Ok(out)
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // d(x·Wᵀ + b) = dx·Wᵀ + x·dWᵀ + db
        let (x, w) = (j.inputs[0], j.inputs[1]);
        j.sum(|i, t| match i {
            0 => t.linear(w, None),
            1 => x.linear(t, None),
            _bias => Ok(t.clone()),
        })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        [&self.x, &self.w].into_iter().flatten().map(SavedTensor::info).collect()
    }
    fn saved_bytes(&self) -> usize {
        [&self.x, &self.w].into_iter().flatten().map(SavedTensor::nbytes).sum()
    }
}

impl Tensor {
    /// `self · weightᵀ + bias` over the last axis (PyTorch's `F.linear`): `self` is
    /// `(..., in)`, `weight` `(out, in)`, `bias` `(out,)`.
    pub fn linear(&self, weight: &Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
        let (xs, ws) = (self.shape(), weight.shape());
        if xs.is_empty() || ws.len() != 2 || xs[xs.len() - 1] != ws[1] {
            return Err(Error::shape(
                "linear",
                format!(
                    "input {} does not fit weight {} (the input's last dimension must equal \
                     in_features = weight.shape[1])",
                    fmt_shape(&xs),
                    fmt_shape(&ws)
                ),
            ));
        }
        if let Some(b) = bias {
            if b.shape() != [ws[0]] {
                return Err(Error::shape(
                    "linear",
                    format!(
                        "bias of shape {} does not fit weight {} (expected ({},))",
                        fmt_shape(&b.shape()),
                        fmt_shape(&ws),
                        ws[0]
                    ),
                ));
            }
        }
        let dtypes = [Some(self), Some(weight), bias];
        let dtype = dtypes.iter().flatten().map(|t| t.dtype()).reduce(crate::array::DType::promote);
        let dtype = dtype.ok_or_else(|| Error::internal("linear", "at least two tensors"))?;
        if !dtype.is_floating_point() {
            // Integers (PyTorch's integer `addmm`): the exact product, then the bias.
            let product = self.matmul(&weight.transpose(0, 1)?)?;
            return bias.map_or(Ok(product.clone()), |b| product.add(b));
        }
        let x = self.to_dtype(dtype)?;
        let w = weight.to_dtype(dtype)?;
        let b = bias.map(|b| b.to_dtype(dtype)).transpose()?;
        let (n_in, n_out) = (ws[1], ws[0]);
        let rows = leading_rows(&xs)?;
        let mut out_shape = xs.clone();
        let last = out_shape.last_mut();
        *last.ok_or_else(|| Error::internal("linear", "the input was checked to be 1-D+"))? = n_out;
        let x2 = x.array().reshape(&[rows, n_in])?;
        let mismatch = || crate::array::dtype_mismatch("linear", x.dtype(), w.dtype());
        let out = match (&x2, &w.array(), b.as_ref().map(Tensor::array)) {
            (Array::F32(x2), Array::F32(w2), None) => Array::F32(affine(x2, w2, None, &out_shape)?),
            (Array::F64(x2), Array::F64(w2), None) => Array::F64(affine(x2, w2, None, &out_shape)?),
            (Array::F32(x2), Array::F32(w2), Some(Array::F32(b))) => {
                Array::F32(affine(x2, w2, Some(b), &out_shape)?)
            }
            (Array::F64(x2), Array::F64(w2), Some(Array::F64(b))) => {
                Array::F64(affine(x2, w2, Some(b), &out_shape)?)
            }
            _ => return Err(mismatch()),
        };
        let mut inputs = vec![&x, &w];
        inputs.extend(b.as_ref());
        record(&inputs, out, || {
            Box::new(LinearBackward {
                x: w.requires_grad().then(|| SavedTensor::new(&x, SavedAs::Input(0))),
                w: x.requires_grad().then(|| SavedTensor::new(&w, SavedAs::Input(1))),
                has_bias: b.is_some(),
            })
        })
    }
}

/// `x2 · w2ᵀ (+ b)` reshaped to `shape`: the bias is broadcast into the output first and the
/// product accumulated onto it (`gemm` with β = 1), so no temporary is made for the sum.
fn affine<T: Element>(
    x2: &ArcArray<T, IxDyn>,
    w2: &ArcArray<T, IxDyn>,
    bias: Option<ArcArray<T, IxDyn>>,
    shape: &[usize],
) -> Result<ArcArray<T, IxDyn>> {
    let x2 = two_d(x2.view())?;
    let wt = two_d(w2.view())?.reversed_axes();
    let mut out = alloc::try_full("linear", &[x2.nrows(), wt.ncols()], T::zero())?;
    let beta = match &bias {
        Some(b) => {
            out.assign(b);
            T::one()
        }
        None => T::zero(),
    };
    gemm(x2, wt, beta, two_d(out.view_mut())?)?;
    out.into_shape_with_order(IxDyn(shape))
        .map(ArrayD::into_shared)
        .map_err(|e| Error::internal("linear", format!("the product fills shape {shape:?}: {e}")))
}

/// A view known to be 2-D as an `Ix2` view (an internal error otherwise).
fn two_d<S: ndarray::RawData, D: ndarray::Dimension>(
    a: ndarray::ArrayBase<S, D>,
) -> Result<ndarray::ArrayBase<S, Ix2>> {
    let ndim = a.ndim();
    a.into_dimensionality::<Ix2>()
        .map_err(|_| Error::internal("matmul", format!("a 2-D operand, got {ndim} dimensions")))
}

/// The number of rows `(..., k)` has once its leading axes are merged: their product, which
/// (unlike `numel / k`) is right when `k` is 0.
fn leading_rows(shape: &[usize]) -> Result<usize> {
    let leading = &shape[..shape.len().saturating_sub(1)];
    leading.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(|| {
        Error::shape("linear", format!("shape {} has too many rows", fmt_shape(shape)))
    })
}

#[cfg(test)]
mod tests {
    use crate::engine;
    use crate::testutil::{assert_close, leaf, values};

    #[test]
    fn matmul_gradients_are_grad_b_transposed_and_a_transposed_grad() {
        // A (2×3), B (3×2); with L = sum(AB): dL/dA = 1·Bᵀ (row sums of B), dL/dB = Aᵀ·1.
        let a = leaf(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true);
        let b = leaf(&[3, 2], &[1.0, -1.0, 2.0, 0.5, 0.0, 3.0], true);
        let y = a.matmul(&b).unwrap();
        assert_close(&values(&y), &[5.0, 9.0, 14.0, 16.5], 1e-15);
        let g = engine::grad(
            &[y.sum(None, false).unwrap()],
            &[None],
            &[a.clone(), b.clone()],
            false,
            false,
            false,
        )
        .unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[0.0, 2.5, 3.0, 0.0, 2.5, 3.0], 1e-15);
        assert_close(&values(g[1].as_ref().unwrap()), &[5.0, 5.0, 7.0, 7.0, 9.0, 9.0], 1e-15);
    }

    #[test]
    fn batched_matmul_broadcasts_and_sums_the_batch_gradient() {
        let a = leaf(&[2, 1, 2], &[1.0, 2.0, 3.0, 4.0], true);
        let b = leaf(&[2, 1], &[1.0, 1.0], true);
        let y = a.matmul(&b).unwrap();
        assert_eq!(y.shape(), vec![2, 1, 1]);
        let g = engine::grad(
            &[y.sum(None, false).unwrap()],
            &[None],
            &[b.clone()],
            false,
            false,
            false,
        )
        .unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[4.0, 6.0], 0.0);
        // 1-D @ 1-D is a dot product with a 0-d result.
        let v = leaf(&[2], &[3.0, 4.0], false);
        assert_eq!(v.matmul(&v).unwrap().shape(), Vec::<usize>::new());
        let err = a.matmul(&leaf(&[3], &[0.0; 3], false)).unwrap_err().to_string();
        assert!(err.contains("(2, 1, 2)") && err.contains("(3,)"), "{err}");
    }
}
