//! Convolutions (`conv1d`, `conv2d`) as one bilinear primitive family.
//!
//! With `T(x, w, g) = ⟨g, conv(x, w)⟩` (a trilinear form), the three maps
//!
//! ```text
//! conv(x, w)        = ∂T/∂g      the forward, (N, C, H, W) ⊛ (O, C/groups, kh, kw)
//! input_grad(g, w)  = ∂T/∂x      the VJP to the input  (a transposed convolution)
//! weight_grad(x, g) = ∂T/∂w      the VJP to the weight (a correlation of x with g)
//! ```
//!
//! are each bilinear, and each one's VJP and JVP is again one of the three: this is what
//! makes double backward (`create_graph=True`) and forward mode exact without a fourth
//! kernel. All three run as im2col + [`gemm`]: per sample and group, the receptive fields
//! are unrolled into a `(C/groups · kh · kw, OH · OW)` matrix and multiplied by the weight.
//!
//! Why a primitive: composed from slices, a `kh × kw` convolution records `kh · kw` slices,
//! products and sums per call and saves each slice; here it is one node that saves `x` and
//! `w` and runs one matrix product per sample and group.

use crate::array::Element;
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use crate::ops::matmul::gemm_block;
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use crate::zip_array;
use ndarray::{ArcArray, ArrayD, ArrayView2, ArrayViewMut2, IxDyn};

/// The geometry of a 2-D convolution (a 1-D one has height 1): stride, padding before and
/// after each spatial axis, dilation and groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvParams {
    /// Step between receptive fields, (height, width).
    pub stride: [usize; 2],
    /// Zeros added (before, after) each spatial axis, (height, width).
    pub padding: [(usize, usize); 2],
    /// Spacing between kernel taps, (height, width).
    pub dilation: [usize; 2],
    /// Channel groups: input and output channels split into `groups` independent blocks.
    pub groups: usize,
}

/// Which of the three bilinear maps a node computes (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConvKind {
    /// `conv(x, w)`.
    Forward,
    /// `input_grad(g, w)`: shape of `x`.
    InputGrad,
    /// `weight_grad(x, g)`: shape of `w`.
    WeightGrad,
}

/// Every size a kernel needs, derived once from the shapes of `x` and `w`.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    p: ConvParams,
}

impl Geometry {
    /// Channels per group in the input and in the output.
    fn cg(&self) -> usize {
        self.c / self.p.groups
    }
    fn og(&self) -> usize {
        self.o / self.p.groups
    }
    /// Rows of the unrolled matrix: one per (channel, kernel tap) of a group.
    fn k(&self) -> usize {
        self.cg() * self.kh * self.kw
    }
    fn out_shape(&self) -> [usize; 4] {
        [self.n, self.o, self.oh, self.ow]
    }
    fn x_shape(&self) -> [usize; 4] {
        [self.n, self.c, self.h, self.w]
    }
    fn w_shape(&self) -> [usize; 4] {
        [self.o, self.cg(), self.kh, self.kw]
    }

    /// The geometry of `conv(x, w)` for `x` `(N, C, H, W)` and `w` `(O, C/groups, kh, kw)`,
    /// with every mismatch reported by shape.
    fn new(op: &'static str, x: &[usize], w: &[usize], p: ConvParams) -> Result<Geometry> {
        let (&[n, c, h, wd], &[o, cg, kh, kw]) = (x, w) else {
            return Err(Error::shape(
                op,
                format!(
                    "expected a 4-D input and weight, got {} and {}",
                    fmt_shape(x),
                    fmt_shape(w)
                ),
            ));
        };
        let groups = p.groups;
        if groups == 0 || p.stride.contains(&0) || p.dilation.contains(&0) {
            return Err(Error::value(
                op,
                format!(
                    "groups, stride and dilation must be positive, got groups={groups}, \
                     stride={:?}, dilation={:?}",
                    p.stride, p.dilation
                ),
            ));
        }
        if c % groups != 0 || o % groups != 0 || cg * groups != c {
            return Err(Error::shape(
                op,
                format!(
                    "input {} and weight {} do not fit groups={groups}: the input's channels \
                     ({c}) must equal weight.shape[1] · groups ({cg} · {groups}) and the \
                     output channels ({o}) must be divisible by groups",
                    fmt_shape(x),
                    fmt_shape(w)
                ),
            ));
        }
        let out_len = |len: usize, pad: (usize, usize), k: usize, d: usize, s: usize| {
            let span = d * (k.max(1) - 1) + 1;
            let padded = len + pad.0 + pad.1;
            (k > 0 && padded >= span).then(|| (padded - span) / s + 1)
        };
        let oh = out_len(h, p.padding[0], kh, p.dilation[0], p.stride[0]);
        let ow = out_len(wd, p.padding[1], kw, p.dilation[1], p.stride[1]);
        let (Some(oh), Some(ow)) = (oh, ow) else {
            return Err(Error::shape(
                op,
                format!(
                    "the kernel {} (dilation {:?}) is larger than the padded input {} \
                     (padding {:?})",
                    fmt_shape(&[kh, kw]),
                    p.dilation,
                    fmt_shape(x),
                    p.padding
                ),
            ));
        };
        Ok(Geometry { n, c, h, w: wd, o, kh, kw, oh, ow, p })
    }

    /// For each output position along one axis and each tap: the input index it reads, or
    /// `None` in the padding.
    fn taps(&self, axis: usize) -> Vec<Option<usize>> {
        let (len, k, out) =
            if axis == 0 { (self.h, self.kh, self.oh) } else { (self.w, self.kw, self.ow) };
        let (s, d, before) = (self.p.stride[axis], self.p.dilation[axis], self.p.padding[axis].0);
        let mut taps = Vec::with_capacity(k * out);
        for t in 0..k {
            for i in 0..out {
                let at = (i * s + t * d).checked_sub(before);
                taps.push(at.filter(|&a| a < len));
            }
        }
        taps
    }
}

/// Unrolls one group of one sample (`x`: `(C/groups, H, W)`, contiguous) into `cols`:
/// `(C/groups · kh · kw, OH · OW)`, zeros in the padding.
fn im2col<T: Element>(
    x: &[T],
    geo: &Geometry,
    rows: &[Option<usize>],
    columns: &[Option<usize>],
    cols: &mut [T],
) {
    let (oh, ow) = (geo.oh, geo.ow);
    // One row of `cols` per tap (channel, ti, tj), in that order.
    for ((ch, ti, tj), row) in taps(geo).zip(cols.chunks_exact_mut(oh * ow)) {
        let plane = &x[ch * geo.h * geo.w..(ch + 1) * geo.h * geo.w];
        for (i, line) in row.chunks_exact_mut(ow).enumerate() {
            match rows[ti * oh + i] {
                None => line.iter_mut().for_each(|v| *v = T::zero()),
                Some(r) => {
                    let src = &plane[r * geo.w..(r + 1) * geo.w];
                    for (v, c) in line.iter_mut().zip(&columns[tj * ow..(tj + 1) * ow]) {
                        *v = c.map_or(T::zero(), |c| src[c]);
                    }
                }
            }
        }
    }
}

/// The taps `(channel, ti, tj)` of one group, in the order of `cols`' rows.
fn taps(geo: &Geometry) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
    (0..geo.cg())
        .flat_map(move |ch| (0..geo.kh).flat_map(move |ti| (0..geo.kw).map(move |tj| (ch, ti, tj))))
}

/// The adjoint of [`im2col`]: adds each entry of `cols` back onto the input position it
/// was read from (`x`: `(C/groups, H, W)`, accumulated into).
fn col2im<T: Element>(
    cols: &[T],
    geo: &Geometry,
    rows: &[Option<usize>],
    columns: &[Option<usize>],
    x: &mut [T],
) {
    let (oh, ow) = (geo.oh, geo.ow);
    for ((ch, ti, tj), row) in taps(geo).zip(cols.chunks_exact(oh * ow)) {
        let plane = &mut x[ch * geo.h * geo.w..(ch + 1) * geo.h * geo.w];
        for (i, line) in row.chunks_exact(ow).enumerate() {
            if let Some(r) = rows[ti * oh + i] {
                let dst = &mut plane[r * geo.w..(r + 1) * geo.w];
                for (&v, c) in line.iter().zip(&columns[tj * ow..(tj + 1) * ow]) {
                    if let Some(c) = c {
                        dst[*c] = dst[*c] + v;
                    }
                }
            }
        }
    }
}

/// A contiguous copy of `a` (a no-op for arrays already in standard layout).
fn standard<T: Element>(a: &ArcArray<T, IxDyn>) -> ArcArray<T, IxDyn> {
    if a.is_standard_layout() {
        a.clone()
    } else {
        a.as_standard_layout().into_owned().into_shared()
    }
}

/// A broken invariant of the kernel (its buffers are sized from the checked geometry): a
/// tapegrad bug, reported as an error.
fn bug(what: impl std::fmt::Display) -> Error {
    Error::internal("conv", what.to_string())
}

fn view2<T>(data: &[T], rows: usize, cols: usize) -> Result<ArrayView2<'_, T>> {
    ArrayView2::from_shape((rows, cols), data).map_err(bug)
}

fn view2_mut<T>(data: &mut [T], rows: usize, cols: usize) -> Result<ArrayViewMut2<'_, T>> {
    ArrayViewMut2::from_shape((rows, cols), data).map_err(bug)
}

/// One of the three maps on contiguous data (`a`, `b` as in [`ConvKind`]'s order).
fn kernel<T: Element>(
    kind: ConvKind,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    geo: &Geometry,
) -> Result<ArrayD<T>> {
    let (a, b) = (standard(a), standard(b));
    let standard_slice = || bug("a standard-layout operand");
    let (a, b) =
        (a.as_slice().ok_or_else(standard_slice)?, b.as_slice().ok_or_else(standard_slice)?);
    let (rows, columns) = (geo.taps(0), geo.taps(1));
    let (k, og, cg, spatial) = (geo.k(), geo.og(), geo.cg(), geo.oh * geo.ow);
    let x_sample = geo.c * geo.h * geo.w;
    let x_group = cg * geo.h * geo.w;
    let out_sample = geo.o * spatial;
    let w_group = og * k;
    let mut cols = vec![T::zero(); k * spatial];
    let shape = match kind {
        ConvKind::Forward => geo.out_shape(),
        ConvKind::InputGrad => geo.x_shape(),
        ConvKind::WeightGrad => geo.w_shape(),
    };
    let mut out = ArrayD::<T>::zeros(IxDyn(&shape));
    let result = out.as_slice_mut().ok_or_else(|| bug("a standard-layout output"))?;
    for n in 0..geo.n {
        for g in 0..geo.p.groups {
            let x_at = n * x_sample + g * x_group;
            let y_at = n * out_sample + g * og * spatial;
            let w_at = g * w_group;
            match kind {
                ConvKind::Forward => {
                    // y[n, g] (og, OH·OW) = w[g] (og, k) · cols (k, OH·OW)
                    im2col(&a[x_at..x_at + x_group], geo, &rows, &columns, &mut cols);
                    let w = view2(&b[w_at..w_at + w_group], og, k)?;
                    let y = view2_mut(&mut result[y_at..y_at + og * spatial], og, spatial)?;
                    gemm_block(w, view2(&cols, k, spatial)?, T::zero(), y);
                }
                ConvKind::InputGrad => {
                    // cols (k, OH·OW) = w[g]ᵀ (k, og) · g[n, g] (og, OH·OW), folded back.
                    let w = view2(&b[w_at..w_at + w_group], og, k)?.reversed_axes();
                    let grad = view2(&a[y_at..y_at + og * spatial], og, spatial)?;
                    gemm_block(w, grad, T::zero(), view2_mut(&mut cols, k, spatial)?);
                    col2im(&cols, geo, &rows, &columns, &mut result[x_at..x_at + x_group]);
                }
                ConvKind::WeightGrad => {
                    // dw[g] (og, k) += g[n, g] (og, OH·OW) · colsᵀ (OH·OW, k)
                    im2col(&a[x_at..x_at + x_group], geo, &rows, &columns, &mut cols);
                    let grad = view2(&b[y_at..y_at + og * spatial], og, spatial)?;
                    let dw = view2_mut(&mut result[w_at..w_at + w_group], og, k)?;
                    gemm_block(grad, view2(&cols, k, spatial)?.reversed_axes(), T::one(), dw);
                }
            }
        }
    }
    Ok(out)
}

/// One of the three bilinear convolution maps (see the module docs). Inputs: `(x, w)` for
/// the forward, `(g, w)` for the input gradient, `(x, g)` for the weight gradient.
pub(crate) struct ConvolutionBackward {
    kind: ConvKind,
    geo: Geometry,
    a: Option<SavedTensor>,
    b: Option<SavedTensor>,
}

impl Primitive for ConvolutionBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "ConvolutionBackward",
        family: "conv",
        api: &["_conv", "_conv_transpose"],
        saves: Saves::Inputs,
        derivative: "∂/∂x = conv_transpose(grad, w), ∂/∂w = correlate(x, grad); each map's \
                     derivative is one of the three (bilinear), so double backward is exact",
        batch: BatchRule::LeadingBatch,
    };
}

/// Runs map `kind` on `a` and `b` (dtypes promoted) and records it.
fn apply(kind: ConvKind, a: &Tensor, b: &Tensor, geo: Geometry) -> Result<Tensor> {
    let dtype = a.dtype().promote(b.dtype());
    let (a, b) = (a.to_dtype(dtype)?, b.to_dtype(dtype)?);
    let out = zip_array!("conv", &a.array(), &b.array(), x, y => kernel(kind, x, y, &geo)?);
    record(&[&a, &b], out, || {
        Box::new(ConvolutionBackward {
            kind,
            geo,
            a: b.requires_grad().then(|| SavedTensor::new(&a, SavedAs::Input(0))),
            b: a.requires_grad().then(|| SavedTensor::new(&b, SavedAs::Input(1))),
        })
    })
}

impl Backward for ConvolutionBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        use ConvKind::*;
        let geo = self.geo;
        let get = |s: &Option<SavedTensor>| s.as_ref().map(|s| s.get(self.name())).transpose();
        let (a, b) = (get(&self.a)?, get(&self.b)?);
        // For T(x, w, g) = ⟨g, conv(x, w)⟩, each map is ∂T/∂(one argument); its VJP to
        // another argument is T's derivative with the cotangent in the map's slot.
        let (grad_a, grad_b) = match self.kind {
            // y = conv(x, w): x̄ = input_grad(ȳ, w), w̄ = weight_grad(x, ȳ)
            Forward => (
                b.filter(|_| ctx.needs_input_grad(0)).map(|w| apply(InputGrad, grad, &w, geo)),
                a.filter(|_| ctx.needs_input_grad(1)).map(|x| apply(WeightGrad, &x, grad, geo)),
            ),
            // z = input_grad(g, w): ḡ = conv(z̄, w), w̄ = weight_grad(z̄, g)
            InputGrad => (
                b.filter(|_| ctx.needs_input_grad(0)).map(|w| apply(Forward, grad, &w, geo)),
                a.filter(|_| ctx.needs_input_grad(1)).map(|g| apply(WeightGrad, grad, &g, geo)),
            ),
            // z = weight_grad(x, g): x̄ = input_grad(g, z̄), ḡ = conv(x, z̄)
            WeightGrad => (
                b.filter(|_| ctx.needs_input_grad(0)).map(|g| apply(InputGrad, &g, grad, geo)),
                a.filter(|_| ctx.needs_input_grad(1)).map(|x| apply(Forward, &x, grad, geo)),
            ),
        };
        Ok(vec![grad_a.transpose()?, grad_b.transpose()?])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // Bilinear: d f(a, b) = f(da, b) + f(a, db)
        let (a, b) = (j.inputs[0], j.inputs[1]);
        j.sum(|i, t| {
            if i == 0 {
                apply(self.kind, t, b, self.geo)
            } else {
                apply(self.kind, a, t, self.geo)
            }
        })
    }
    fn saved(&self) -> Vec<SavedInfo> {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::info).collect()
    }
    fn saved_bytes(&self) -> usize {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::nbytes).sum()
    }
}

impl Tensor {
    /// PyTorch's `conv1d`/`conv2d`: `self` is `(N, C, L)` or `(N, C, H, W)` (or the same
    /// without the batch axis), `weight` `(O, C/groups, k)` or `(O, C/groups, kh, kw)`,
    /// `bias` `(O,)`. For 1-D inputs only the width entries of `params` are used.
    pub fn conv(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: ConvParams,
    ) -> Result<Tensor> {
        let (xs, ws) = (self.shape(), weight.shape());
        let spatial = ws.len().saturating_sub(2);
        let op = if spatial == 1 { "conv1d" } else { "conv2d" };
        if !(1..=2).contains(&spatial) || !(xs.len() == spatial + 1 || xs.len() == spatial + 2) {
            return Err(Error::shape(
                op,
                format!(
                    "expected a {}-D or {}-D input for a {}-D weight, got input {} and weight {}",
                    spatial + 1,
                    spatial + 2,
                    ws.len(),
                    fmt_shape(&xs),
                    fmt_shape(&ws)
                ),
            ));
        }
        let unbatched = xs.len() == spatial + 1;
        let mut x = if unbatched { self.unsqueeze(0)? } else { self.clone() };
        let mut w = weight.clone();
        if spatial == 1 {
            x = x.unsqueeze(2)?;
            w = w.unsqueeze(2)?;
        }
        if let Some(b) = bias {
            if b.shape() != [ws[0]] {
                return Err(Error::shape(
                    op,
                    format!(
                        "bias of shape {} does not fit weight {} (expected ({},))",
                        fmt_shape(&b.shape()),
                        fmt_shape(&ws),
                        ws[0]
                    ),
                ));
            }
        }
        let geo = Geometry::new(op, &x.shape(), &w.shape(), params).map_err(|e| match e {
            Error::Shape { op, message } => Error::Shape {
                op,
                message: format!("{message} (input {}, weight {})", fmt_shape(&xs), fmt_shape(&ws)),
            },
            other => other,
        })?;
        let mut y = apply(ConvKind::Forward, &x, &w, geo)?;
        if let Some(b) = bias {
            y = y.add(&b.reshape(&[ws[0], 1, 1])?)?;
        }
        if spatial == 1 {
            y = y.squeeze(Some(&[2]))?;
        }
        if unbatched {
            y = y.squeeze(Some(&[0]))?;
        }
        Ok(y)
    }
}

impl Tensor {
    /// PyTorch's `conv_transpose1d`/`conv_transpose2d`: the adjoint of [`Tensor::conv`]
    /// in `x`, run by the same node as conv's input gradient (`input_grad(x, w)`), so its
    /// derivatives are the other two maps. `self` is `(N, C_in, H, W)` (or `(N, C_in, L)`,
    /// or either without the batch axis), `weight` `(C_in, C_out/groups, kh, kw)` (or
    /// `(C_in, C_out/groups, k)`), `bias` `(C_out,)`. The output has
    /// `(H − 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1` rows (columns
    /// likewise); only `padding[a].0` is used. For 1-D inputs only the width entries count.
    pub fn conv_transpose(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        params: ConvParams,
        output_padding: [usize; 2],
    ) -> Result<Tensor> {
        let (xs, ws) = (self.shape(), weight.shape());
        let spatial = ws.len().saturating_sub(2);
        let op = if spatial == 1 { "conv_transpose1d" } else { "conv_transpose2d" };
        if !(1..=2).contains(&spatial) || !(xs.len() == spatial + 1 || xs.len() == spatial + 2) {
            return Err(Error::shape(
                op,
                format!(
                    "expected a {}-D or {}-D input for a {}-D weight, got input {} and weight {}",
                    spatial + 1,
                    spatial + 2,
                    ws.len(),
                    fmt_shape(&xs),
                    fmt_shape(&ws)
                ),
            ));
        }
        let unbatched = xs.len() == spatial + 1;
        let mut x = if unbatched { self.unsqueeze(0)? } else { self.clone() };
        let mut w = weight.clone();
        if spatial == 1 {
            x = x.unsqueeze(2)?;
            w = w.unsqueeze(2)?;
        }
        let (&[n, c_in, h, wd], &[w_in, cg_out, kh, kw]) = (&x.shape()[..], &w.shape()[..]) else {
            return Err(Error::internal(op, "4-d operands after the rank checks above"));
        };
        let ConvParams { stride, padding, dilation, groups } = params;
        if groups == 0 || stride.contains(&0) || dilation.contains(&0) {
            return Err(Error::value(
                op,
                format!(
                    "groups, stride and dilation must be positive, got groups={groups}, \
                     stride={stride:?}, dilation={dilation:?}"
                ),
            ));
        }
        if c_in != w_in || c_in % groups != 0 {
            return Err(Error::shape(
                op,
                format!(
                    "input {} and weight {} do not fit groups={groups}: the input's channels \
                     ({c_in}) must equal weight.shape[0] ({w_in}) and be divisible by groups",
                    fmt_shape(&xs),
                    fmt_shape(&ws)
                ),
            ));
        }
        if (0..2).any(|a| output_padding[a] >= stride[a] && output_padding[a] >= dilation[a]) {
            return Err(Error::value(
                op,
                format!(
                    "output_padding {output_padding:?} must be smaller than either stride \
                     {stride:?} or dilation {dilation:?}"
                ),
            ));
        }
        let c_out = cg_out * groups;
        if let Some(b) = bias {
            if b.shape() != [c_out] {
                return Err(Error::shape(
                    op,
                    format!(
                        "bias of shape {} does not fit weight {} and groups={groups} \
                         (expected ({c_out},))",
                        fmt_shape(&b.shape()),
                        fmt_shape(&ws)
                    ),
                ));
            }
        }
        // The conv whose input gradient this is reads an input of the output's size.
        let len = |a: usize, input: usize, k: usize| -> i64 {
            (input as i64 - 1) * stride[a] as i64 - 2 * padding[a].0 as i64
                + (dilation[a] * (k.max(1) - 1)) as i64
                + output_padding[a] as i64
                + 1
        };
        let (oh, ow) = (len(0, h, kh), len(1, wd, kw));
        if h == 0 || wd == 0 || kh == 0 || kw == 0 || oh <= 0 || ow <= 0 {
            return Err(Error::shape(
                op,
                format!(
                    "input {} with weight {}, stride {stride:?}, padding {:?}, dilation \
                     {dilation:?} and output_padding {output_padding:?} gives an empty output",
                    fmt_shape(&xs),
                    fmt_shape(&ws),
                    [padding[0].0, padding[1].0]
                ),
            ));
        }
        let (oh, ow) = (oh as usize, ow as usize);
        let geo = Geometry { n, c: c_out, h: oh, w: ow, o: c_in, kh, kw, oh: h, ow: wd, p: params };
        let mut y = apply(ConvKind::InputGrad, &x, &w, geo)?;
        if let Some(b) = bias {
            y = y.add(&b.reshape(&[c_out, 1, 1])?)?;
        }
        if spatial == 1 {
            y = y.squeeze(Some(&[2]))?;
        }
        if unbatched {
            y = y.squeeze(Some(&[0]))?;
        }
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::testutil::{assert_close, leaf, values};

    fn params(stride: usize, pad: usize, dilation: usize, groups: usize) -> ConvParams {
        ConvParams {
            stride: [stride; 2],
            padding: [(pad, pad); 2],
            dilation: [dilation; 2],
            groups,
        }
    }

    #[test]
    fn a_3x3_box_filter_sums_each_neighbourhood_and_its_gradient_counts_uses() {
        // x = 1..9 on a 3×3 grid, padding 1: the centre output is the sum 45; each input
        // is used by as many outputs as it has neighbours (incl. itself) inside the grid.
        let x = leaf(&[1, 1, 3, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], true);
        let w = leaf(&[1, 1, 3, 3], &[1.0; 9], true);
        let y = x.conv(&w, None, params(1, 1, 1, 1)).unwrap();
        assert_eq!(y.shape(), vec![1, 1, 3, 3]);
        assert_close(&values(&y), &[12.0, 21.0, 16.0, 27.0, 45.0, 33.0, 24.0, 39.0, 28.0], 0.0);
        let g = engine::grad(&[y.sum(None, false).unwrap()], &[None], &[x], false, false, false)
            .unwrap();
        assert_close(
            &values(g[0].as_ref().unwrap()),
            &[4.0, 6.0, 4.0, 6.0, 9.0, 6.0, 4.0, 6.0, 4.0],
            0.0,
        );
    }

    #[test]
    fn a_transposed_convolution_scatters_each_input_through_the_kernel() {
        // 1-D, stride 2, kernel [1, 10]: x = [1, 2] gives [1, 10, 2, 20] (+1 output_padding
        // adds a zero), and the input gradient of the sum reads the kernel sum, 11.
        let x = leaf(&[1, 1, 2], &[1.0, 2.0], true);
        let w = leaf(&[1, 1, 2], &[1.0, 10.0], false);
        let p = ConvParams { stride: [1, 2], ..params(1, 0, 1, 1) };
        let y = x.conv_transpose(&w, None, p, [0, 1]).unwrap();
        assert_eq!(y.shape(), vec![1, 1, 5]);
        assert_close(&values(&y), &[1.0, 10.0, 2.0, 20.0, 0.0], 0.0);
        let g = engine::grad(&[y.sum(None, false).unwrap()], &[None], &[x], false, false, false)
            .unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[11.0, 11.0], 0.0);
    }

    #[test]
    fn groups_that_do_not_divide_the_channels_are_refused_with_both_shapes() {
        let x = leaf(&[1, 3, 4, 4], &[0.0; 48], false);
        let w = leaf(&[2, 1, 3, 3], &[0.0; 18], false);
        let err = x.conv(&w, None, params(1, 0, 1, 2)).unwrap_err().to_string();
        assert!(err.contains("(1, 3, 4, 4)") && err.contains("(2, 1, 3, 3)"), "{err}");
    }
}
