//! Spectral decompositions for `tg.linalg`: eigh (and eigvalsh), the thin SVD (and svdvals),
//! the reduced QR. Kernels from `faer` (see `linalg.rs` for why).
//!
//! Each decomposition is one primitive with one *packed* output: its factors flattened and
//! concatenated along a last axis (`[w | V]`, `[U | S | Vh]`, `[Q | R]`), which
//! `tapegrad.linalg` slices apart. One output keeps forward mode (single-output only in the
//! engine) and lets the VJP see every factor's cotangent at once.
//!
//! Derivations (real case):
//! - eigh: `A = V Λ Vᵀ`, `M = Vᵀ dA V`: `dλ = diag(M)`, `dV = V (F ∘ M)` with
//!   `F_ij = 1 / (λ_j - λ_i)` off the diagonal; the VJP is its adjoint
//!   `Ā = V (diag(λ̄) + F ∘ (Vᵀ V̄)) Vᵀ` (Seeger et al. 2017, "Auto-differentiating linear
//!   algebra"), symmetrised.
//! - svd: `A = U S Vᵀ`, `dP = Uᵀ dA V`: `dS = diag(dP)`, `dU = U (F ∘ (dP S + S dPᵀ)) +
//!   (I - UUᵀ) dA V S⁻¹`, `dV = V (F ∘ (S dP + dPᵀ S)) + (I - VVᵀ) dAᵀ U S⁻¹` with
//!   `F_ij = 1 / (s_j² - s_i²)`; the VJP is Townsend's (2016, "Differentiating the singular
//!   value decomposition").
//! - qr (m ≥ n): `C = Qᵀ dA R⁻¹`, `Ω = L(C) - L(C)ᵀ` (L: strictly lower part),
//!   `dR = (C - Ω) R`, `dQ = (dA - Q dR) R⁻¹`; the VJP is its adjoint
//!   `Ā = (Q̄ + Q Z) R⁻ᵀ`, `W = R̄ Rᵀ - Qᵀ Q̄`, `Z = W - L(W - Wᵀ)` (Walter & Lehmann 2018).
//!
//! Caveat (as PyTorch documents it): the eigenvector and singular-vector derivatives divide
//! by differences of eigenvalues (squared singular values), so they are infinite or NaN when
//! two are equal, and the SVD's by the singular values themselves. Gradients of the values
//! alone (`eigvalsh`, `svdvals`, losses that ignore the vectors) are well defined: when
//! the vectors' cotangents are exactly zero those terms are skipped.

use crate::array::Array;
use crate::error::{Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, VjpContext};
use crate::ops::linalg::{empty_result, from_mat, mt, per_batch, square, to_mat, wrap, Scalar};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use faer::Side;
use ndarray::{ArcArray, ArrayD, ArrayView2, IxDyn};

macro_rules! typed {
    ($x:expr, |$a:ident| $body:expr) => {
        match $x {
            Array::F32($a) => $body,
            Array::F64($a) => $body,
            other @ (Array::Bool(_)
            | Array::U8(_)
            | Array::I8(_)
            | Array::I16(_)
            | Array::I32(_)
            | Array::I64(_)) => {
                return Err(crate::error::Error::DType {
                    op: "linalg",
                    message: format!(
                        "expected a floating point matrix, got dtype {}",
                        other.dtype()
                    ),
                })
            }
        }
    };
}

/// The parts of a packed tensor `[..., Σ numel(part)]`, each reshaped to `batch + part`.
fn unpack(t: &Tensor, parts: &[&[usize]]) -> Result<Vec<Tensor>> {
    let s = t.shape();
    let (axis, batch) = (s.len() - 1, &s[..s.len() - 1]);
    let mut start = 0;
    parts
        .iter()
        .map(|p| {
            let len: usize = p.iter().product();
            let piece = t.narrow(axis, start, len)?.reshape(&[batch, p].concat());
            start += len;
            piece
        })
        .collect()
}

/// The inverse of [`unpack`]: each part (`batch + its shape`, `tails[i]` trailing dims)
/// flattened and concatenated.
fn pack(parts: &[Tensor], tails: &[usize]) -> Result<Tensor> {
    let flat: Vec<Tensor> = parts
        .iter()
        .zip(tails)
        .map(|(p, &tail)| {
            let s = p.shape();
            let batch = &s[..s.len() - tail];
            p.reshape(&[batch, &[s[s.len() - tail..].iter().product()]].concat())
        })
        .collect::<Result<_>>()?;
    Tensor::cat(&flat, -1)
}

/// Whether every element is exactly zero (a cotangent that did not flow).
fn is_zero(t: &Tensor) -> bool {
    t.array().to_f64_vec().iter().all(|&v| v == 0.0)
}

fn eye_like(n: usize, t: &Tensor) -> Result<Tensor> {
    Tensor::eye(n, n, t.dtype())
}

/// `g[..., k]` as the diagonal matrices `[..., k, k]`.
fn diag_embed(g: &Tensor) -> Result<Tensor> {
    let k = g.shape()[g.ndim() - 1];
    g.unsqueeze(-2)?.mul(&eye_like(k, g)?)
}

/// The diagonals `[..., k]` of `m[..., k, k]`.
fn diagonal(m: &Tensor) -> Result<Tensor> {
    let k = m.shape()[m.ndim() - 1];
    m.mul(&eye_like(k, m)?)?.sum(Some(&[-1]), false)
}

/// `F_ij = 1 / (e_j - e_i)` off the diagonal, 0 on it.
fn inverse_gaps(e: &Tensor) -> Result<Tensor> {
    let k = e.shape()[e.ndim() - 1];
    let eye = eye_like(k, e)?;
    let gaps = e.unsqueeze(-2)?.sub(&e.unsqueeze(-1)?)?.add(&eye)?;
    eye.rsub_scalar(1.0)?.div(&gaps)
}

fn sym(t: &Tensor) -> Result<Tensor> {
    t.add(&mt(t)?)?.mul_scalar(0.5)
}

/// Strictly lower triangle.
fn strict_lower(t: &Tensor) -> Result<Tensor> {
    let n = t.shape()[t.ndim() - 1];
    t.mul(&crate::ops::linalg::tri_mask(n, false, 0.0, t.dtype())?)
}

fn check_float_finite(op: &'static str, i: usize, batched: bool, ok: bool) -> Result<()> {
    if ok {
        return Ok(());
    }
    Err(Error::Value {
        op,
        message: format!(
            "{}The algorithm failed to converge (the input may contain NaN or infinity).",
            crate::ops::linalg::batch_prefix(batched, i)
        ),
    })
}

// ---------------------------------------------------------------------------------------
// eigh

/// `[w | V]` with `A = V diag(w) Vᵀ` (`linalg.eigh`, A's lower triangle read).
pub(crate) struct LinalgEighBackward {
    packed: Array,
    n: usize,
}

impl Primitive for LinalgEighBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgEighBackward",
        family: "linalg_spectral",
        api: &["_linalg_eigh"],
        saves: Saves::Result,
        derivative:
            "Seeger et al. 2017: ∂/∂A = sym(V (diag(w̄) + F ∘ Vᵀ V̄) Vᵀ), F_ij = 1/(w_j - w_i)",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgEighBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let n = self.n;
        let [w, v]: [Tensor; 2] = unpack(&ctx.result(&self.packed), &[&[n], &[n, n]])?
            .try_into()
            .map_err(|_| unpacked("linalg.eigh"))?;
        let [gw, gv]: [Tensor; 2] =
            unpack(grad, &[&[n], &[n, n]])?.try_into().map_err(|_| unpacked("linalg.eigh"))?;
        let mut inner = diag_embed(&gw)?;
        if !is_zero(&gv) {
            inner = inner.add(&inverse_gaps(&w)?.mul(&mt(&v)?.matmul(&gv)?)?)?;
        }
        Ok(vec![Some(sym(&v.matmul(&inner)?.matmul(&mt(&v)?)?)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        let n = self.n;
        let [w, v]: [Tensor; 2] =
            unpack(j.result, &[&[n], &[n, n]])?.try_into().map_err(|_| unpacked("linalg.eigh"))?;
        j.linear(|da| {
            let m = mt(&v)?.matmul(&sym(da)?)?.matmul(&v)?;
            let dv = v.matmul(&inverse_gaps(&w)?.mul(&m)?)?;
            pack(&[diagonal(&m)?, dv], &[1, 2])
        })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Result, &self.packed)]
    }
}

fn eigh_kernel<T: Scalar>(batch: &[usize], a: ArcArray<T, IxDyn>, n: usize) -> Result<ArrayD<T>> {
    let batched = !batch.is_empty();
    let mut out = per_batch(batch, &[a], |i, m: &[ArrayView2<'_, T>]| {
        let evd = to_mat(&m[0]).self_adjoint_eigen(Side::Lower);
        check_float_finite("linalg.eigh", i, batched, evd.is_ok())?;
        let Ok(evd) = evd else {
            return Err(Error::internal("linalg.eigh", "a finite matrix decomposes"));
        };
        let s = evd.S().column_vector();
        let mut flat: Vec<T> = (0..n).map(|k| s[k]).collect();
        flat.extend(from_mat(evd.U()).iter().copied());
        Ok(vec![ArrayD::from_shape_vec(IxDyn(&[n + n * n]), flat)
            .map_err(|e| Error::internal("linalg", e.to_string()))?])
    })?;
    out.pop().ok_or_else(|| Error::internal("linalg", "one output per call"))
}

/// `unpack` gave a different number of parts than it was asked for: a bug.
fn unpacked(op: &'static str) -> Error {
    Error::internal(op, "unpack gives one tensor per part")
}

// ---------------------------------------------------------------------------------------
// svd

/// `[U | S | Vh]`, the thin SVD `A = U diag(S) Vh` (`linalg.svd(full_matrices=False)`).
pub(crate) struct LinalgSvdBackward {
    packed: Array,
    m: usize,
    n: usize,
}

impl LinalgSvdBackward {
    fn parts(&self, t: &Tensor) -> Result<[Tensor; 3]> {
        let (m, n, k) = (self.m, self.n, self.m.min(self.n));
        unpack(t, &[&[m, k], &[k], &[k, n]])?.try_into().map_err(|_| unpacked("linalg.svd"))
    }
}

impl Primitive for LinalgSvdBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgSvdBackward",
        family: "linalg_spectral",
        api: &["_linalg_svd"],
        saves: Saves::Result,
        derivative: "Townsend 2016: U[(J S + S K + diag(S̄))]Vᵀ + (I-UUᵀ)ŪS⁻¹Vᵀ + US⁻¹V̄ᵀ(I-VVᵀ), \
                     J = F∘(UᵀŪ-ŪᵀU), K = F∘(VᵀV̄-V̄ᵀV), F_ij = 1/(s_j²-s_i²)",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgSvdBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let [u, s, vh] = self.parts(&ctx.result(&self.packed))?;
        let [gu, gs, gvh] = self.parts(grad)?;
        let mut inner = diag_embed(&gs)?;
        let mut grad_a_extra: Option<Tensor> = None;
        let (u_flows, v_flows) = (!is_zero(&gu), !is_zero(&gvh));
        if u_flows || v_flows {
            let f = inverse_gaps(&s.mul(&s)?)?;
            let s_col = s.unsqueeze(-2)?; // scales columns: X · diag(s)
            let s_row = s.unsqueeze(-1)?; // scales rows: diag(s) · X
            if u_flows {
                let utgu = mt(&u)?.matmul(&gu)?;
                let j = f.mul(&utgu.sub(&mt(&utgu)?)?)?;
                inner = inner.add(&j.mul(&s_col)?)?;
                // (I - UUᵀ) Ū S⁻¹ Vᵀ
                let proj = gu.sub(&u.matmul(&utgu)?)?;
                let term = proj.div(&s_col)?.matmul(&vh)?;
                grad_a_extra = Some(term);
            }
            if v_flows {
                let gv = mt(&gvh)?;
                let vtgv = vh.matmul(&gv)?;
                let k = f.mul(&vtgv.sub(&mt(&vtgv)?)?)?;
                inner = inner.add(&s_row.mul(&k)?)?;
                // U S⁻¹ V̄ᵀ (I - VVᵀ), with V̄ᵀ = gvh
                let proj = gvh.sub(&gvh.matmul(&mt(&vh)?)?.matmul(&vh)?)?;
                let term = u.matmul(&proj.div(&s_row)?)?;
                grad_a_extra = Some(match grad_a_extra {
                    Some(t) => t.add(&term)?,
                    None => term,
                });
            }
        }
        let mut grad_a = u.matmul(&inner)?.matmul(&vh)?;
        if let Some(extra) = grad_a_extra {
            grad_a = grad_a.add(&extra)?;
        }
        Ok(vec![Some(grad_a)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        let [u, s, vh] = self.parts(j.result)?;
        let v = mt(&vh)?;
        j.linear(|da| {
            let dp = mt(&u)?.matmul(da)?.matmul(&v)?;
            let f = inverse_gaps(&s.mul(&s)?)?;
            let (s_col, s_row) = (s.unsqueeze(-2)?, s.unsqueeze(-1)?);
            let ds = diagonal(&dp)?;
            let dpt = mt(&dp)?;
            let omega_u = f.mul(&dp.mul(&s_col)?.add(&s_row.mul(&dpt)?)?)?;
            let omega_v = f.mul(&s_row.mul(&dp)?.add(&dpt.mul(&s_col)?)?)?;
            let da_v = da.matmul(&v)?;
            let du = u
                .matmul(&omega_u)?
                .add(&da_v.sub(&u.matmul(&mt(&u)?.matmul(&da_v)?)?)?.div(&s_col)?)?;
            let dat_u = mt(da)?.matmul(&u)?;
            let dv = v
                .matmul(&omega_v)?
                .add(&dat_u.sub(&v.matmul(&vh.matmul(&dat_u)?)?)?.div(&s_col)?)?;
            pack(&[du, ds, mt(&dv)?], &[2, 1, 2])
        })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Result, &self.packed)]
    }
}

fn svd_kernel<T: Scalar>(
    batch: &[usize],
    a: ArcArray<T, IxDyn>,
    (m, n): (usize, usize),
) -> Result<ArrayD<T>> {
    let k = m.min(n);
    let batched = !batch.is_empty();
    let mut out = per_batch(batch, &[a], |i, mats: &[ArrayView2<'_, T>]| {
        let svd = to_mat(&mats[0]).thin_svd();
        check_float_finite("linalg.svd", i, batched, svd.is_ok())?;
        let Ok(svd) = svd else {
            return Err(Error::internal("linalg.svd", "a finite matrix decomposes"));
        };
        let s = svd.S().column_vector();
        let mut flat: Vec<T> = from_mat(svd.U()).iter().copied().collect();
        flat.extend((0..k).map(|j| s[j]));
        let v = svd.V();
        flat.extend((0..k).flat_map(|r| (0..n).map(move |c| v[(c, r)])));
        Ok(vec![ArrayD::from_shape_vec(IxDyn(&[m * k + k + k * n]), flat)
            .map_err(|e| Error::internal("linalg", e.to_string()))?])
    })?;
    out.pop().ok_or_else(|| Error::internal("linalg", "one output per call"))
}

// ---------------------------------------------------------------------------------------
// qr

/// `[Q | R]`, the reduced QR `A = Q R` (`linalg.qr(mode="reduced")`).
pub(crate) struct LinalgQrBackward {
    packed: Array,
    m: usize,
    n: usize,
}

impl LinalgQrBackward {
    fn parts(&self, t: &Tensor) -> Result<[Tensor; 2]> {
        let (m, n, k) = (self.m, self.n, self.m.min(self.n));
        unpack(t, &[&[m, k], &[k, n]])?.try_into().map_err(|_| unpacked("linalg.qr"))
    }
    fn wide(&self) -> Result<()> {
        if self.m < self.n {
            return Err(Error::Value {
                op: "linalg.qr",
                message: format!(
                    "The derivative of linalg.qr is not implemented for inputs with more \
                     columns than rows (got {} by {} matrices)",
                    self.m, self.n
                ),
            });
        }
        Ok(())
    }
}

impl Primitive for LinalgQrBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgQrBackward",
        family: "linalg_spectral",
        api: &["_linalg_qr"],
        saves: Saves::Result,
        derivative: "Walter & Lehmann 2018 (m ≥ n): (Q̄ + Q Z) R⁻ᵀ, W = R̄Rᵀ - QᵀQ̄, \
                     Z = W - L(W - Wᵀ), L = strictly lower part",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgQrBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        self.wide()?;
        let [q, r] = self.parts(&ctx.result(&self.packed))?;
        let [gq, gr] = self.parts(grad)?;
        let w = gr.matmul(&mt(&r)?)?.sub(&mt(&q)?.matmul(&gq)?)?;
        let z = w.sub(&strict_lower(&w.sub(&mt(&w)?)?)?)?;
        let lhs = gq.add(&q.matmul(&z)?)?;
        // X R⁻ᵀ: solve Y Rᵀ = X, Rᵀ lower triangular.
        Ok(vec![Some(mt(&r)?.linalg_solve_triangular(&lhs, false, false, false)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        self.wide()?;
        let [q, r] = self.parts(j.result)?;
        j.linear(|da| {
            // dA R⁻¹: solve Y R = dA.
            let da_rinv = r.linalg_solve_triangular(da, true, false, false)?;
            let c = mt(&q)?.matmul(&da_rinv)?;
            let lc = strict_lower(&c)?;
            let omega = lc.sub(&mt(&lc)?)?;
            let c_minus = c.sub(&omega)?;
            let dr = c_minus.matmul(&r)?;
            let dq = da_rinv.sub(&q.matmul(&c_minus)?)?;
            pack(&[dq, dr], &[2, 2])
        })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Result, &self.packed)]
    }
}

fn qr_kernel<T: Scalar>(
    batch: &[usize],
    a: ArcArray<T, IxDyn>,
    (m, n): (usize, usize),
) -> Result<ArrayD<T>> {
    let k = m.min(n);
    let mut out = per_batch(batch, &[a], |_, mats: &[ArrayView2<'_, T>]| {
        let qr = to_mat(&mats[0]).qr();
        let mut flat: Vec<T> = from_mat(qr.compute_thin_Q().as_ref()).iter().copied().collect();
        let r = qr.thin_R();
        flat.extend((0..k).flat_map(|i| {
            (0..n).map(move |j| if j >= i { r[(i, j)] } else { num_traits::Zero::zero() })
        }));
        Ok(vec![ArrayD::from_shape_vec(IxDyn(&[m * k + k * n]), flat)
            .map_err(|e| Error::internal("linalg", e.to_string()))?])
    })?;
    out.pop().ok_or_else(|| Error::internal("linalg", "one output per call"))
}

// ---------------------------------------------------------------------------------------
// Tensor methods

fn matrix_dims(op: &'static str, t: &Tensor) -> Result<(Vec<usize>, usize, usize)> {
    let s = t.shape();
    if s.len() < 2 {
        return Err(Error::shape(
            op,
            format!(
                "The input tensor A must have at least 2 dimensions, got shape {}",
                crate::error::fmt_shape(&s)
            ),
        ));
    }
    Ok((s[..s.len() - 2].to_vec(), s[s.len() - 2], s[s.len() - 1]))
}

impl Tensor {
    /// `[w | V]` flattened along a last axis: the eigenvalues (ascending) and eigenvectors
    /// (columns) of symmetric `A` (its lower triangle is read). `tapegrad.linalg.eigh`
    /// unpacks it.
    pub fn linalg_eigh_packed(&self) -> Result<Tensor> {
        let n = square("linalg.eigh", self)?;
        let (batch, _, _) = matrix_dims("linalg.eigh", self)?;
        let out = match empty_result(&batch, &[n + n * n], self.dtype())? {
            Some(out) => out,
            None => typed!(self.array(), |x| wrap(eigh_kernel(&batch, x, n)?)),
        };
        let packed = out.clone();
        record(&[self], out, || Box::new(LinalgEighBackward { packed, n }))
    }

    /// `[U | S | Vh]` flattened along a last axis: the thin SVD. `tapegrad.linalg.svd`
    /// unpacks it.
    pub fn linalg_svd_packed(&self) -> Result<Tensor> {
        let (batch, m, n) = matrix_dims("linalg.svd", self)?;
        let k = m.min(n);
        let out = match empty_result(&batch, &[m * k + k + k * n], self.dtype())? {
            Some(out) => out,
            None => typed!(self.array(), |x| wrap(svd_kernel(&batch, x, (m, n))?)),
        };
        let packed = out.clone();
        record(&[self], out, || Box::new(LinalgSvdBackward { packed, m, n }))
    }

    /// `[Q | R]` flattened along a last axis: the reduced QR. `tapegrad.linalg.qr` unpacks
    /// it.
    pub fn linalg_qr_packed(&self) -> Result<Tensor> {
        let (batch, m, n) = matrix_dims("linalg.qr", self)?;
        let k = m.min(n);
        let out = match empty_result(&batch, &[m * k + k * n], self.dtype())? {
            Some(out) => out,
            None => typed!(self.array(), |x| wrap(qr_kernel(&batch, x, (m, n))?)),
        };
        let packed = out.clone();
        record(&[self], out, || Box::new(LinalgQrBackward { packed, m, n }))
    }
}

/// This family's index entries.
pub(crate) const PRIMITIVES: [PrimitiveInfo; 3] = [
    <LinalgEighBackward as Primitive>::INFO,
    <LinalgSvdBackward as Primitive>::INFO,
    <LinalgQrBackward as Primitive>::INFO,
];
