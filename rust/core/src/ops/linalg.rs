//! Differentiable linear algebra (`tg.linalg`): solve, inv, det, slogdet, cholesky,
//! solve_triangular, batched over leading dimensions, float32 and float64.
//!
//! The factorizations come from the `faer` crate: a maintained, pure-Rust, SIMD-tuned
//! equivalent of LAPACK, so wheels need no system BLAS/LAPACK and no decomposition is
//! hand-written here (numerically careful pivoting, blocking and scaling are faer's job).
//!
//! Every VJP and JVP is written with [`Tensor`] ops (matmul, transpose, the linalg ops
//! themselves), so a backward with `create_graph=True` is differentiable again. The
//! derivations:
//! - inv, det, slogdet, solve: Giles, "An extended collection of matrix derivative results
//!   for forward and reverse mode algorithmic differentiation" (2008), §2.2-2.3.
//! - cholesky: Murray, "Differentiation of the Cholesky decomposition" (2016), with
//!   `Φ(X)` = the lower triangle of `X` with its diagonal halved.
//! - solve_triangular: the solve rule with the input's gradient restricted to the triangle
//!   the op reads.
//!
//! (Over 500 lines: each decomposition's forward kernel over faer and its VJP/JVP
//! derivation stay side by side, one screen each; the spectral ones are in
//! `linalg_spectral.rs`.)

use crate::array::{broadcast_shapes, Array, DType, Element};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Par, Side};
use ndarray::{ArcArray, Array2, ArrayD, ArrayView2, Axis, Dimension, Ix2, IxDyn};

/// The element types faer factorizes: tapegrad's floats.
pub(crate) trait Scalar: Element + faer::traits::RealField {}
impl Scalar for f32 {}
impl Scalar for f64 {}

pub(crate) fn to_mat<T: Scalar>(v: &ArrayView2<'_, T>) -> Mat<T> {
    Mat::from_fn(v.nrows(), v.ncols(), |i, j| v[(i, j)])
}

pub(crate) fn from_mat<T: Scalar>(m: MatRef<'_, T>) -> ArrayD<T> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]).into_dyn()
}

/// `(Batch element 3): ` for batched inputs, as PyTorch prefixes its linalg errors.
pub(crate) fn batch_prefix(batched: bool, index: usize) -> String {
    if batched {
        format!("(Batch element {index}): ")
    } else {
        String::new()
    }
}

/// Checks that `t` is a batch of square matrices and returns `n`.
pub(crate) fn square(op: &'static str, t: &Tensor) -> Result<usize> {
    let s = t.shape();
    if s.len() < 2 {
        return Err(Error::shape(
            op,
            format!(
                "The input tensor A must have at least 2 dimensions, got shape {}",
                fmt_shape(&s)
            ),
        ));
    }
    let (m, n) = (s[s.len() - 2], s[s.len() - 1]);
    if m != n {
        return Err(Error::shape(
            op,
            format!(
                "A must be batches of square matrices, but they are {m} by {n} matrices (shape {})",
                fmt_shape(&s)
            ),
        ));
    }
    Ok(n)
}

/// The last of the outputs a [`per_batch`] kernel returned (each kernel states how many).
pub(crate) fn last_output<T>(outputs: &mut Vec<T>) -> Result<T> {
    outputs.pop().ok_or_else(|| Error::internal("linalg", "a kernel returns its outputs"))
}

/// Runs `f` on matrix `i` of every input (each broadcast to `batch` + its own two trailing
/// dimensions) and stacks each of `f`'s outputs over the batch.
pub(crate) fn per_batch<T: Scalar>(
    batch: &[usize],
    inputs: &[ArcArray<T, IxDyn>],
    f: impl Fn(usize, &[ArrayView2<'_, T>]) -> Result<Vec<ArrayD<T>>>,
) -> Result<Vec<ArrayD<T>>> {
    let views = inputs
        .iter()
        .map(|a| {
            let tail = &a.shape()[a.ndim() - 2..];
            let shape = [batch, tail].concat();
            a.broadcast(IxDyn(&shape)).ok_or_else(|| {
                Error::internal("linalg", format!("{:?} broadcasts to {shape:?}", a.shape()))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut pieces: Vec<Vec<ArrayD<T>>> = Vec::new();
    for (flat, idx) in ndarray::indices(IxDyn(batch)).into_iter().enumerate() {
        let mats = views
            .iter()
            .map(|v| {
                let mut v = v.view();
                for &i in idx.slice() {
                    v = v.index_axis_move(Axis(0), i);
                }
                v.into_dimensionality::<Ix2>().map_err(|e| {
                    Error::internal("linalg", format!("a matrix per batch index: {e}"))
                })
            })
            .collect::<Result<Vec<ArrayView2<'_, T>>>>()?;
        pieces.push(f(flat, &mats)?);
    }
    if pieces.is_empty() {
        // An empty batch: the outputs' trailing shapes come from a call on an empty matrix
        // would be ill-defined, so the callers handle zero-size batches themselves.
        return Err(Error::shape("linalg", "empty batch".to_string()));
    }
    let n_out = pieces[0].len();
    (0..n_out)
        .map(|k| {
            let tail = pieces[0][k].shape().to_vec();
            let data: Vec<T> = pieces.iter().flat_map(|p| p[k].iter().copied()).collect();
            ArrayD::from_shape_vec(IxDyn(&[batch, &tail].concat()), data)
                .map_err(|e| Error::shape("linalg", e.to_string()))
        })
        .collect()
}

/// Runs `$body` with `$a` (and `$b`) bound to the typed arrays of one dtype.
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

pub(crate) fn wrap<T: Scalar>(a: ArrayD<T>) -> Array {
    T::wrap(a.into_shared())
}

/// LU with partial pivoting; an exactly zero pivot is PyTorch's singular-matrix error.
fn lu_checked<T: Scalar>(
    op: &'static str,
    a: &ArrayView2<'_, T>,
    prefix: &str,
) -> Result<faer::linalg::solvers::PartialPivLu<T>> {
    let lu = to_mat(a).partial_piv_lu();
    let u = lu.U();
    for i in 0..u.nrows().min(u.ncols()) {
        if u[(i, i)] == T::zero() {
            return Err(Error::Value {
                op,
                message: format!(
                    "{prefix}The diagonal element {} is zero, the inversion could not be \
                     completed because the input matrix is singular.",
                    i + 1
                ),
            });
        }
    }
    Ok(lu)
}

/// `(sign, log|det|, det)` of one matrix from its LU factors (sign 0, log -inf if singular).
fn lu_det<T: Scalar>(a: &ArrayView2<'_, T>) -> (T, T, T) {
    let n = a.nrows();
    if n == 0 {
        return (T::one(), T::zero(), T::one());
    }
    let lu = to_mat(a).partial_piv_lu();
    let perm = lu.P().arrays().0;
    // The permutation's parity: n minus its number of cycles.
    let mut seen = vec![false; n];
    let mut cycles = 0;
    for start in 0..n {
        if !seen[start] {
            cycles += 1;
            let mut i = start;
            while !seen[i] {
                seen[i] = true;
                i = perm[i];
            }
        }
    }
    let mut sign = if (n - cycles) % 2 == 0 { T::one() } else { -T::one() };
    let (mut logabs, mut det) = (T::zero(), sign);
    let u = lu.U();
    for i in 0..n {
        let d = u[(i, i)];
        det *= d;
        if d == T::zero() {
            return (T::zero(), T::neg_infinity(), T::zero());
        }
        if d < T::zero() {
            sign = -sign;
        }
        logabs += num_traits::Float::ln(num_traits::Float::abs(d));
    }
    (sign, logabs, det)
}

/// A constant `n × n` mask: `value` on the kept triangle (strictly or not), `diag` on the
/// diagonal.
pub(crate) fn tri_mask(n: usize, upper: bool, diag: f64, dtype: DType) -> Result<Tensor> {
    let mut values = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let keep = if upper { j > i } else { j < i };
            values[i * n + j] = if i == j {
                diag
            } else if keep {
                1.0
            } else {
                0.0
            };
        }
    }
    Ok(Tensor::from_array(Array::from_f64_vec(&[n, n], values, dtype)?))
}

pub(crate) fn mt(t: &Tensor) -> Result<Tensor> {
    t.transpose(-1, -2)
}

/// `Σ_i M[..., i, i]`.
fn trace(m: &Tensor) -> Result<Tensor> {
    let n = m.shape()[m.ndim() - 1];
    m.mul(&Tensor::eye(n, n, m.dtype())?)?.sum(Some(&[-2, -1]), false)
}

/// `t[..., None, None]`.
fn as_matrix_scale(t: &Tensor) -> Result<Tensor> {
    t.unsqueeze(-1)?.unsqueeze(-1)
}

// ---------------------------------------------------------------------------------------
// solve

/// `X = A⁻¹ B` (`linalg.solve`, B of shape `[..., n, k]`).
pub(crate) struct LinalgSolveBackward {
    a: SavedTensor,
    x: Array,
}

impl Primitive for LinalgSolveBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgSolveBackward",
        family: "linalg",
        api: &["_linalg_solve"],
        saves: Saves::InputsAndBuffers,
        derivative: "Giles 2008: ∂/∂B = A⁻ᵀ·grad, ∂/∂A = -(A⁻ᵀ·grad)·Xᵀ",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgSolveBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let a = self.a.get(self.name())?;
        let grad_b = mt(&a)?.linalg_solve(grad)?;
        let grad_a = if ctx.needs_input_grad(0) {
            Some(grad_b.matmul(&mt(&ctx.result(&self.x))?)?.neg()?)
        } else {
            None
        };
        Ok(vec![grad_a, Some(grad_b)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // dX = A⁻¹ (dB - dA X)
        let rhs = match (j.tangent(0), j.tangent(1)) {
            (None, None) => return Ok(None),
            (Some(da), None) => da.matmul(j.result)?.neg()?,
            (None, Some(db)) => db.clone(),
            (Some(da), Some(db)) => db.sub(&da.matmul(j.result)?)?,
        };
        Ok(Some(j.inputs[0].linalg_solve(&rhs)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.a.info(), SavedInfo::of(SavedAs::Result, &self.x)]
    }
}

fn solve_kernel<T: Scalar>(
    op: &'static str,
    batch: &[usize],
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
) -> Result<ArrayD<T>> {
    let batched = !batch.is_empty();
    let mut out = per_batch(batch, &[a.clone(), b.clone()], |i, m| {
        let lu = lu_checked(op, &m[0], &batch_prefix(batched, i))?;
        Ok(vec![from_mat(lu.solve(to_mat(&m[1]).as_ref()).as_ref())])
    })?;
    last_output(&mut out)
}

// ---------------------------------------------------------------------------------------
// inv

/// `A⁻¹` (`linalg.inv`).
pub(crate) struct LinalgInvBackward {
    x: Array,
}

impl Primitive for LinalgInvBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgInvBackward",
        family: "linalg",
        api: &["_linalg_inv"],
        saves: Saves::Result,
        derivative: "Giles 2008: ∂/∂A = -A⁻ᵀ·grad·A⁻ᵀ",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgInvBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let xt = mt(&ctx.result(&self.x))?;
        Ok(vec![Some(xt.matmul(grad)?.matmul(&xt)?.neg()?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // dX = -X dA X
        j.linear(|da| j.result.matmul(da)?.matmul(j.result)?.neg())
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Result, &self.x)]
    }
}

// ---------------------------------------------------------------------------------------
// det, slogdet

/// `det(A)` (`linalg.det`), from the LU factors.
pub(crate) struct LinalgDetBackward {
    a: SavedTensor,
    det: Array,
}

impl Primitive for LinalgDetBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgDetBackward",
        family: "linalg",
        api: &["_linalg_det"],
        saves: Saves::InputsAndBuffers,
        derivative: "Giles 2008: ∂/∂A = grad·det(A)·A⁻ᵀ (A must be invertible)",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgDetBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let a = self.a.get(self.name())?;
        let scale = as_matrix_scale(&grad.mul(&ctx.result(&self.det))?)?;
        Ok(vec![Some(scale.mul(&mt(&a.linalg_inv_named("linalg.det")?)?)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // d det = det · tr(A⁻¹ dA)
        j.linear(|da| j.result.mul(&trace(&j.inputs[0].linalg_solve(da)?)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.a.info(), SavedInfo::of(SavedAs::Result, &self.det)]
    }
}

/// `log|det(A)|`, the differentiable half of `linalg.slogdet` (the sign is a constant).
pub(crate) struct LinalgSlogdetBackward {
    a: SavedTensor,
}

impl Primitive for LinalgSlogdetBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgSlogdetBackward",
        family: "linalg",
        api: &["_linalg_slogdet"],
        saves: Saves::Input,
        derivative: "Giles 2008: ∂log|det A|/∂A = grad·A⁻ᵀ (the sign has no gradient)",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgSlogdetBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let a = self.a.get(self.name())?;
        let inv_t = mt(&a.linalg_inv_named("linalg.slogdet")?)?;
        Ok(vec![Some(as_matrix_scale(grad)?.mul(&inv_t)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // d log|det A| = tr(A⁻¹ dA)
        j.linear(|da| trace(&j.inputs[0].linalg_solve(da)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.a.info()]
    }
}

// ---------------------------------------------------------------------------------------
// cholesky

/// `L` with `L Lᵀ = A` (`linalg.cholesky`; A's lower triangle is read).
pub(crate) struct LinalgCholeskyBackward {
    l: Array,
}

impl Primitive for LinalgCholeskyBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgCholeskyBackward",
        family: "linalg",
        api: &["_linalg_cholesky"],
        saves: Saves::Result,
        derivative: "Murray 2016: S = L⁻ᵀ·Φ(Lᵀ·grad)·L⁻¹, ∂/∂A = (S + Sᵀ)/2",
        batch: BatchRule::LeadingBatch,
    };
}

impl Backward for LinalgCholeskyBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let l = ctx.result(&self.l);
        let n = l.shape()[l.ndim() - 1];
        let phi = tri_mask(n, false, 0.5, l.dtype())?;
        let p = mt(&l)?.matmul(grad)?.mul(&phi)?;
        // S = L⁻ᵀ P L⁻¹: two triangular solves with Lᵀ (upper).
        let lt = mt(&l)?;
        let y = lt.linalg_solve_triangular(&p, true, true, false)?;
        let s = mt(&lt.linalg_solve_triangular(&mt(&y)?, true, true, false)?)?;
        Ok(vec![Some(s.add(&mt(&s)?)?.mul_scalar(0.5)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // dL = L Φ(L⁻¹ dA L⁻ᵀ), dA symmetrised as the VJP is.
        let l = j.result;
        let n = l.shape()[l.ndim() - 1];
        j.linear(|da| {
            let da = da.add(&mt(da)?)?.mul_scalar(0.5)?;
            let y = l.linalg_solve_triangular(&da, false, true, false)?;
            let z = mt(&l.linalg_solve_triangular(&mt(&y)?, false, true, false)?)?;
            l.matmul(&z.mul(&tri_mask(n, false, 0.5, l.dtype())?)?)
        })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Result, &self.l)]
    }
}

// ---------------------------------------------------------------------------------------
// solve_triangular

/// `X = A⁻¹ B` for triangular `A` (left side; the right side is composed by transposes).
pub(crate) struct LinalgSolveTriangularBackward {
    a: SavedTensor,
    x: Array,
    upper: bool,
    unit: bool,
}

impl Primitive for LinalgSolveTriangularBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "LinalgSolveTriangularBackward",
        family: "linalg",
        api: &["_linalg_solve_triangular"],
        saves: Saves::InputsAndBuffers,
        derivative: "∂/∂B = A⁻ᵀ·grad, ∂/∂A = tri(-(A⁻ᵀ·grad)·Xᵀ) on the triangle read",
        batch: BatchRule::LeadingBatch,
    };
}

impl LinalgSolveTriangularBackward {
    /// The part of a full-matrix gradient on the entries of `A` the op reads.
    fn restrict(&self, g: &Tensor) -> Result<Tensor> {
        let n = g.shape()[g.ndim() - 1];
        g.mul(&tri_mask(n, self.upper, if self.unit { 0.0 } else { 1.0 }, g.dtype())?)
    }
}

impl Backward for LinalgSolveTriangularBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let a = self.a.get(self.name())?;
        let grad_b = mt(&a)?.linalg_solve_triangular(grad, !self.upper, true, self.unit)?;
        let grad_a = if ctx.needs_input_grad(0) {
            let g = grad_b.matmul(&mt(&ctx.result(&self.x))?)?.neg()?;
            Some(self.restrict(&g)?)
        } else {
            None
        };
        Ok(vec![grad_a, Some(grad_b)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // dX = A⁻¹ (dB - tri(dA) X)
        let rhs = match (j.tangent(0), j.tangent(1)) {
            (None, None) => return Ok(None),
            (Some(da), None) => self.restrict(da)?.matmul(j.result)?.neg()?,
            (None, Some(db)) => db.clone(),
            (Some(da), Some(db)) => db.sub(&self.restrict(da)?.matmul(j.result)?)?,
        };
        Ok(Some(j.inputs[0].linalg_solve_triangular(&rhs, self.upper, true, self.unit)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.a.info(), SavedInfo::of(SavedAs::Result, &self.x)]
    }
}

fn triangular_kernel<T: Scalar>(
    batch: &[usize],
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    upper: bool,
    unit: bool,
) -> Result<ArrayD<T>> {
    use faer::linalg::triangular_solve as ts;
    let mut out = per_batch(batch, &[a.clone(), b.clone()], |_, m| {
        let a = to_mat(&m[0]);
        let mut x = to_mat(&m[1]);
        match (upper, unit) {
            (false, false) => ts::solve_lower_triangular_in_place(a.as_ref(), x.as_mut(), Par::Seq),
            (false, true) => {
                ts::solve_unit_lower_triangular_in_place(a.as_ref(), x.as_mut(), Par::Seq)
            }
            (true, false) => ts::solve_upper_triangular_in_place(a.as_ref(), x.as_mut(), Par::Seq),
            (true, true) => {
                ts::solve_unit_upper_triangular_in_place(a.as_ref(), x.as_mut(), Par::Seq)
            }
        }
        Ok(vec![from_mat(x.as_ref())])
    })?;
    last_output(&mut out)
}

// ---------------------------------------------------------------------------------------
// Tensor methods

/// The two operands of a solve with their batch dimensions broadcast.
fn solve_operands(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
) -> Result<(Tensor, Tensor, Vec<usize>)> {
    let n = square(op, a)?;
    let dtype = a.dtype().promote(b.dtype());
    let (a, b) = (a.to_dtype(dtype)?, b.to_dtype(dtype)?);
    let (sa, sb) = (a.shape(), b.shape());
    if sb.len() < 2 || sb[sb.len() - 2] != n {
        return Err(Error::shape(
            op,
            format!(
                "Incompatible shapes of A and B for the equation AX = B ({} and {})",
                fmt_shape(&sa),
                fmt_shape(&sb)
            ),
        ));
    }
    let batch = broadcast_shapes(op, &sa[..sa.len() - 2], &sb[..sb.len() - 2])?;
    Ok((a, b, batch))
}

/// An empty batch or empty matrices: the result of the given trailing shape, zeros.
pub(crate) fn empty_result(batch: &[usize], tail: &[usize], dtype: DType) -> Result<Option<Array>> {
    let shape = [batch, tail].concat();
    if shape.contains(&0) {
        Ok(Some(Array::full(&shape, 0.0, dtype)?))
    } else {
        Ok(None)
    }
}

impl Tensor {
    /// `X` with `A X = B` (`torch.linalg.solve` for `B` of shape `[..., n, k]`; batch
    /// dimensions broadcast). A singular `A` is an error.
    pub fn linalg_solve(&self, b: &Tensor) -> Result<Tensor> {
        const OP: &str = "linalg.solve";
        let (a, b, batch) = solve_operands(OP, self, b)?;
        let sb = b.shape();
        let tail = &sb[sb.len() - 2..];
        let out = match empty_result(&batch, tail, a.dtype())? {
            Some(out) => out,
            None => match (a.array(), b.array()) {
                (Array::F32(x), Array::F32(y)) => wrap(solve_kernel(OP, &batch, &x, &y)?),
                (Array::F64(x), Array::F64(y)) => wrap(solve_kernel(OP, &batch, &x, &y)?),
                _ => return Err(crate::array::dtype_mismatch(OP, a.dtype(), b.dtype())),
            },
        };
        let x = out.clone();
        record(&[&a, &b], out, || {
            Box::new(LinalgSolveBackward { a: SavedTensor::new(&a, SavedAs::Input(0)), x })
        })
    }

    /// `A⁻¹` (`torch.linalg.inv`). A singular `A` is an error.
    pub fn linalg_inv(&self) -> Result<Tensor> {
        self.linalg_inv_named("linalg.inv")
    }

    fn linalg_inv_named(&self, op: &'static str) -> Result<Tensor> {
        let n = square(op, self)?;
        let s = self.shape();
        let batch = &s[..s.len() - 2];
        let out = match empty_result(batch, &[n, n], self.dtype())? {
            Some(out) => out,
            None => typed!(self.array(), |x| {
                let eye = ArrayD::from_shape_fn(IxDyn(&[n, n]), |i| {
                    if i[0] == i[1] {
                        num_traits::One::one()
                    } else {
                        num_traits::Zero::zero()
                    }
                })
                .into_shared();
                wrap(solve_kernel(op, batch, &x, &eye)?)
            }),
        };
        let x = out.clone();
        record(&[self], out, || Box::new(LinalgInvBackward { x }))
    }

    /// `det(A)` (`torch.linalg.det`), batched.
    pub fn linalg_det(&self) -> Result<Tensor> {
        const OP: &str = "linalg.det";
        let n = square(OP, self)?;
        let s = self.shape();
        let batch = &s[..s.len() - 2];
        let out = if n == 0 || batch.contains(&0) {
            Array::full(batch, if n == 0 { 1.0 } else { 0.0 }, self.dtype())?
        } else {
            typed!(self.array(), |x| {
                let mut v = per_batch(batch, &[x], |_, m| {
                    Ok(vec![ArrayD::from_elem(IxDyn(&[]), lu_det(&m[0]).2)])
                })?;
                wrap(last_output(&mut v)?)
            })
        };
        let det = out.clone();
        record(&[self], out, || {
            Box::new(LinalgDetBackward { a: SavedTensor::new(self, SavedAs::Input(0)), det })
        })
    }

    /// `(sign, log|det A|)` (`torch.linalg.slogdet`); the sign is 0 and the log `-inf` for a
    /// singular matrix. Only the second is differentiable.
    pub fn linalg_slogdet(&self) -> Result<(Tensor, Tensor)> {
        const OP: &str = "linalg.slogdet";
        let n = square(OP, self)?;
        let s = self.shape();
        let batch = &s[..s.len() - 2];
        let (sign, logabs) = if n == 0 || batch.contains(&0) {
            let one = if n == 0 { 1.0 } else { 0.0 };
            (Array::full(batch, one, self.dtype())?, Array::full(batch, 0.0, self.dtype())?)
        } else {
            typed!(self.array(), |x| {
                let mut v = per_batch(batch, &[x], |_, m| {
                    let (sign, logabs, _) = lu_det(&m[0]);
                    Ok(vec![
                        ArrayD::from_elem(IxDyn(&[]), sign),
                        ArrayD::from_elem(IxDyn(&[]), logabs),
                    ])
                })?;
                let logabs = wrap(last_output(&mut v)?);
                (wrap(last_output(&mut v)?), logabs)
            })
        };
        let logabs = record(&[self], logabs, || {
            Box::new(LinalgSlogdetBackward { a: SavedTensor::new(self, SavedAs::Input(0)) })
        })?;
        Ok((Tensor::from_array(sign), logabs))
    }

    /// The lower Cholesky factor `L` of a symmetric positive-definite `A`
    /// (`torch.linalg.cholesky`; only A's lower triangle is read). `upper` returns `Lᵀ`.
    pub fn linalg_cholesky(&self, upper: bool) -> Result<Tensor> {
        const OP: &str = "linalg.cholesky";
        let n = square(OP, self)?;
        let s = self.shape();
        let batch = &s[..s.len() - 2];
        let batched = !batch.is_empty();
        let out = match empty_result(batch, &[n, n], self.dtype())? {
            Some(out) => out,
            None => typed!(self.array(), |x| {
                let mut v = per_batch(batch, &[x], |i, m| {
                    let llt = to_mat(&m[0]).llt(Side::Lower).map_err(|e| {
                        let faer::linalg::cholesky::llt::factor::LltError::NonPositivePivot {
                            index,
                        } = e;
                        Error::Value {
                            op: OP,
                            message: format!(
                                "{}The factorization could not be completed because the input \
                                 is not positive-definite (the leading minor of order {} is \
                                 not positive-definite).",
                                batch_prefix(batched, i),
                                index + 1
                            ),
                        }
                    })?;
                    let l = llt.L();
                    let l = Array2::from_shape_fn((n, n), |(r, c)| {
                        if c <= r {
                            l[(r, c)]
                        } else {
                            num_traits::Zero::zero()
                        }
                    });
                    Ok(vec![l.into_dyn()])
                })?;
                wrap(last_output(&mut v)?)
            }),
        };
        let l = out.clone();
        let l = record(&[self], out, || Box::new(LinalgCholeskyBackward { l }))?;
        if upper {
            mt(&l)
        } else {
            Ok(l)
        }
    }

    /// `X` with `A X = B` (`left`) or `X A = B`, for triangular `A`
    /// (`torch.linalg.solve_triangular`); only the `upper` or lower triangle of `A` is read,
    /// and with `unitriangular` its diagonal is taken to be ones.
    pub fn linalg_solve_triangular(
        &self,
        b: &Tensor,
        upper: bool,
        left: bool,
        unitriangular: bool,
    ) -> Result<Tensor> {
        const OP: &str = "linalg.solve_triangular";
        if !left {
            // X A = B  ⇔  Aᵀ Xᵀ = Bᵀ, and Aᵀ's triangle is the other one.
            square(OP, self)?;
            if b.ndim() < 2 {
                return Err(Error::shape(
                    OP,
                    format!(
                        "B must have at least 2 dimensions, got shape {}",
                        fmt_shape(&b.shape())
                    ),
                ));
            }
            return mt(&mt(self)?.linalg_solve_triangular(&mt(b)?, !upper, true, unitriangular)?);
        }
        let (a, b, batch) = solve_operands(OP, self, b)?;
        let sb = b.shape();
        let tail = &sb[sb.len() - 2..];
        let out = match empty_result(&batch, tail, a.dtype())? {
            Some(out) => out,
            None => match (a.array(), b.array()) {
                (Array::F32(x), Array::F32(y)) => {
                    wrap(triangular_kernel(&batch, &x, &y, upper, unitriangular)?)
                }
                (Array::F64(x), Array::F64(y)) => {
                    wrap(triangular_kernel(&batch, &x, &y, upper, unitriangular)?)
                }
                _ => return Err(crate::array::dtype_mismatch(OP, a.dtype(), b.dtype())),
            },
        };
        let x = out.clone();
        record(&[&a, &b], out, || {
            Box::new(LinalgSolveTriangularBackward {
                a: SavedTensor::new(&a, SavedAs::Input(0)),
                x,
                upper,
                unit: unitriangular,
            })
        })
    }
}

/// This family's index entries, in the docs' order.
pub(crate) const PRIMITIVES: [PrimitiveInfo; 6] = [
    <LinalgSolveBackward as Primitive>::INFO,
    <LinalgInvBackward as Primitive>::INFO,
    <LinalgDetBackward as Primitive>::INFO,
    <LinalgSlogdetBackward as Primitive>::INFO,
    <LinalgCholeskyBackward as Primitive>::INFO,
    <LinalgSolveTriangularBackward as Primitive>::INFO,
];
