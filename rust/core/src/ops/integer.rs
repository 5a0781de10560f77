//! Integer and bool arithmetic: what the elementwise primitives do when their operands
//! promote to a bool or integer dtype, with PyTorch's semantics.
//!
//! `Tensor::binary` and `Tensor::unary` hand non-floating operands here. Every primitive
//! states one rule in an exhaustive `match` (a new primitive does not compile until it says
//! what integers do):
//! - **exact**: computed in the integer dtype; overflow wraps (two's complement), as PyTorch;
//! - **float**: a float function (`/`, `exp`, `atan2`...) computes in the default float dtype
//!   (`torch.exp(torch.tensor([1]))` is float32);
//! - **refused**: PyTorch has no kernel for the dtype (`hypot` of integers, `abs` of bools): a
//!   `DTypeError` naming the op and the dtype.
//!
//! Integer and bool results never record a node: only floating tensors carry gradients. The
//! bitwise ops, shifts and rounding divisions (`//`, `div(rounding_mode=)`) live here too.
//!
//! Exact kernels widen each element to `i64`, compute with wrapping `i64` arithmetic and
//! truncate back: the low bits of a wrapped `i64` sum, product or power are those of the
//! narrower type's wrapped result, so one kernel per op serves the five integer dtypes.

use crate::array::{broadcast_shapes, default_float_dtype, Array, DType, Scalar, ScalarValue};
use crate::error::{Error, Result};
use crate::ops::binary::Binary;
use crate::ops::unary::Unary;
use crate::tensor::Tensor;
use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

/// What an elementwise primitive does with operands of an integer or bool dtype.
enum Rule<K> {
    /// Computed exactly in that dtype by the kernel `K`.
    Exact(K),
    /// Computed in the default float dtype (a float function of integers).
    Float,
    /// Not defined for integers or bools (as in PyTorch).
    Refuse,
}

/// The integer kernels of two operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IntBinary {
    Add,
    Sub,
    Mul,
    Pow,
    Maximum,
    Minimum,
    Fmod,
    Remainder,
    Heaviside,
    FloorDivide,
    TruncDivide,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    LeftShift,
    RightShift,
}

/// The integer kernels of one operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IntUnary {
    Neg,
    Abs,
    Sign,
    Square,
    Relu,
    /// `floor`, `ceil`, `round`, `trunc`: an integer is already integral.
    Integral,
}

fn binary_rule(op: Binary) -> Rule<IntBinary> {
    match op {
        Binary::Add => Rule::Exact(IntBinary::Add),
        Binary::Sub => Rule::Exact(IntBinary::Sub),
        Binary::Mul => Rule::Exact(IntBinary::Mul),
        Binary::Div => Rule::Float,
        Binary::Pow => Rule::Exact(IntBinary::Pow),
        Binary::Maximum => Rule::Exact(IntBinary::Maximum),
        Binary::Minimum => Rule::Exact(IntBinary::Minimum),
        Binary::Atan2 => Rule::Float,
        Binary::Hypot => Rule::Refuse,
        Binary::Copysign => Rule::Float,
        Binary::Fmod => Rule::Exact(IntBinary::Fmod),
        Binary::Remainder => Rule::Exact(IntBinary::Remainder),
        Binary::Logaddexp => Rule::Refuse,
        Binary::Logaddexp2 => Rule::Refuse,
        Binary::Xlogy => Rule::Float,
        Binary::Heaviside => Rule::Exact(IntBinary::Heaviside),
    }
}

fn unary_rule(op: Unary) -> Rule<IntUnary> {
    use Unary::*;
    match op {
        Neg => Rule::Exact(IntUnary::Neg),
        Abs => Rule::Exact(IntUnary::Abs),
        Sign => Rule::Exact(IntUnary::Sign),
        Square => Rule::Exact(IntUnary::Square),
        Relu => Rule::Exact(IntUnary::Relu),
        Floor | Ceil | Round | Trunc => Rule::Exact(IntUnary::Integral),
        Frac => Rule::Refuse,
        Exp | Log | Log1p | Erf | Sqrt | Sin | Cos | Tanh | Sigmoid | Reciprocal | Rsqrt | Exp2
        | Expm1 | Log2 | Log10 | Tan | Asin | Acos | Atan | Sinh | Cosh | Asinh | Acosh | Atanh
        | Erfc | Erfinv | Sinc | Logit | Lgamma | Digamma => Rule::Float,
    }
}

/// PyTorch's message for an op without a kernel for this dtype.
fn not_implemented(op: &'static str, dtype: DType) -> Error {
    Error::DType { op, message: format!("not implemented for dtype {dtype}") }
}

/// The error of a bitwise op given a floating operand.
fn not_integral(op: &'static str, dtype: DType) -> Error {
    Error::DType {
        op,
        message: format!("expected an integer or bool tensor, got dtype {dtype} (not implemented for floating point tensors)"),
    }
}

/// Refusals PyTorch makes before promotion: subtraction with a bool operand (the `-` of two
/// masks is ambiguous), and `heaviside` of two dtypes.
pub(crate) fn check_operands(op: Binary, a: &Tensor, b: &Tensor) -> Result<()> {
    let (x, y) = (a.dtype(), b.dtype());
    match op {
        Binary::Sub if x == DType::Bool && y == DType::Bool => Err(Error::DType {
            op: "sub",
            message: "Subtraction, the `-` operator, with two bool tensors is not supported. \
                      Use the `^` or `logical_xor()` operator instead."
                .into(),
        }),
        Binary::Sub if x == DType::Bool || y == DType::Bool => Err(Error::DType {
            op: "sub",
            message: "Subtraction, the `-` operator, with a bool tensor is not supported. If \
                      you are trying to invert a mask, use the `~` or `logical_not()` operator \
                      instead."
                .into(),
        }),
        Binary::Heaviside if x != y => Err(Error::DType {
            op: "heaviside",
            message: format!(
                "heaviside is not yet implemented for tensors with different dtypes ({x} and {y})"
            ),
        }),
        _ => Ok(()),
    }
}

/// A binary primitive whose operands promote to an integer or bool dtype: the exact kernel
/// runs on the `promoted` operands; a float function casts the `original` ones (a 0-d int64
/// holding 300 next to a uint8 tensor divides as 300, not as its uint8 wrap 44, as PyTorch).
pub(crate) fn binary(op: Binary, original: [&Tensor; 2], promoted: [&Tensor; 2]) -> Result<Tensor> {
    let name = op.op_name();
    let [a, b] = promoted;
    match binary_rule(op) {
        Rule::Exact(kernel) => apply(kernel, name, a, b),
        Rule::Float => {
            let float = default_float_dtype();
            original[0].to_dtype(float)?.binary(&original[1].to_dtype(float)?, op)
        }
        Rule::Refuse => Err(not_implemented(name, a.dtype())),
    }
}

/// A unary primitive on an integer or bool tensor.
pub(crate) fn unary(op: Unary, x: &Tensor) -> Result<Tensor> {
    let name = op.info().api[0];
    let dtype = x.dtype();
    let kernel = match unary_rule(op) {
        Rule::Exact(kernel) => kernel,
        Rule::Float => return x.to_dtype(default_float_dtype())?.unary(op),
        Rule::Refuse => return Err(not_implemented(name, dtype)),
    };
    if dtype == DType::Bool {
        return match kernel {
            IntUnary::Neg => Err(Error::DType {
                op: "neg",
                message: "Negation, the `-` operator, on a bool tensor is not supported. If you \
                          are trying to invert a mask, use the `~` or `logical_not()` operator \
                          instead."
                    .into(),
            }),
            IntUnary::Sign => Ok(Tensor::from_array(x.array().to_contiguous())),
            // `square` is `pow(x, 2)`, and a bool with an int promotes to int64.
            IntUnary::Square => x.to_dtype(DType::I64)?.square(),
            IntUnary::Abs | IntUnary::Integral => Err(not_implemented(name, dtype)),
            IntUnary::Relu => Err(Error::DType {
                op: "relu",
                message: "not implemented for dtype bool (Boolean inputs are not supported)".into(),
            }),
        };
    }
    let f: fn(i64) -> i64 = match kernel {
        IntUnary::Neg => i64::wrapping_neg,
        IntUnary::Abs => i64::wrapping_abs,
        IntUnary::Sign => i64::signum,
        IntUnary::Square => |v| v.wrapping_mul(v),
        IntUnary::Relu => |v| v.max(0),
        IntUnary::Integral => |v| v,
    };
    let out = with_int_type(name, &x.array(), move |a: &ArcArray<i64, IxDyn>| a.mapv(f))?;
    Ok(Tensor::from_array(out))
}

/// Runs an integer kernel of two operands after PyTorch's promotion; no node is recorded.
fn binary_op(kernel: IntBinary, name: &'static str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    for t in [a, b] {
        if t.dtype().is_floating_point() {
            return Err(not_integral(name, t.dtype()));
        }
    }
    let (a, b) = crate::ops::binary::promote(a, b)?;
    apply(kernel, name, &a, &b)
}

/// The exact kernel on two operands of one integer or bool dtype.
fn apply(kernel: IntBinary, name: &'static str, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (x, y) = (a.array(), b.array());
    let out = match (&x, &y) {
        (Array::Bool(p), Array::Bool(q)) => Array::Bool(bool_kernel(kernel, name, p, q)?),
        _ => int_kernel(kernel, name, &x, &y)?,
    };
    Ok(Tensor::from_array(out))
}

/// The bool forms: `+` is `or`, `*` is `and` (PyTorch), maximum/minimum likewise.
fn bool_kernel(
    kernel: IntBinary,
    name: &'static str,
    p: &ArcArray<bool, IxDyn>,
    q: &ArcArray<bool, IxDyn>,
) -> Result<ArcArray<bool, IxDyn>> {
    let f: fn(bool, bool) -> bool = match kernel {
        IntBinary::Add | IntBinary::Maximum | IntBinary::BitwiseOr => |p, q| p | q,
        IntBinary::Mul | IntBinary::Minimum | IntBinary::BitwiseAnd => |p, q| p & q,
        IntBinary::BitwiseXor => |p, q| p ^ q,
        IntBinary::Heaviside => |p, q| p || q,
        IntBinary::Sub
        | IntBinary::Pow
        | IntBinary::Fmod
        | IntBinary::Remainder
        | IntBinary::FloorDivide
        | IntBinary::TruncDivide
        | IntBinary::LeftShift
        | IntBinary::RightShift => return Err(not_implemented(name, DType::Bool)),
    };
    Ok(zip_values(name, p, q, f)?.into_shared())
}

/// The integer forms, over the widened values.
fn int_kernel(kernel: IntBinary, name: &'static str, x: &Array, y: &Array) -> Result<Array> {
    let bits = 8 * x.dtype().itemsize() as i64;
    // Right shifts past the width fill with the sign bit (PyTorch shifts by the width minus
    // the sign bit, so an unsigned byte becomes 0 and a negative value -1).
    let max_right = bits - i64::from(x.dtype().is_signed());
    if matches!(
        kernel,
        IntBinary::Fmod | IntBinary::Remainder | IntBinary::FloorDivide | IntBinary::TruncDivide
    ) && has_zero(y)
        && broadcast_numel(name, x, y)? > 0
    {
        return Err(Error::ZeroDivision { op: name });
    }
    macro_rules! run {
        ($f:expr) => {
            zip_ints(name, x, y, $f)
        };
    }
    match kernel {
        IntBinary::Add => run!(|p: i64, q: i64| p.wrapping_add(q)),
        IntBinary::Sub => run!(|p: i64, q: i64| p.wrapping_sub(q)),
        IntBinary::Mul => run!(|p: i64, q: i64| p.wrapping_mul(q)),
        IntBinary::Pow => run!(int_pow),
        IntBinary::Maximum => run!(|p: i64, q: i64| p.max(q)),
        IntBinary::Minimum => run!(|p: i64, q: i64| p.min(q)),
        IntBinary::Fmod => run!(|p: i64, q: i64| p.wrapping_rem(q)),
        IntBinary::Remainder => run!(|p: i64, q: i64| {
            let r = p.wrapping_rem(q);
            if r != 0 && (r < 0) != (q < 0) {
                r + q
            } else {
                r
            }
        }),
        IntBinary::Heaviside => run!(|p: i64, q: i64| match p {
            0 => q,
            p if p > 0 => 1,
            _ => 0,
        }),
        IntBinary::FloorDivide => run!(|p: i64, q: i64| {
            let d = p.wrapping_div(q);
            if p.wrapping_rem(q) != 0 && (p < 0) != (q < 0) {
                d - 1
            } else {
                d
            }
        }),
        IntBinary::TruncDivide => run!(|p: i64, q: i64| p.wrapping_div(q)),
        IntBinary::BitwiseAnd => run!(|p: i64, q: i64| p & q),
        IntBinary::BitwiseOr => run!(|p: i64, q: i64| p | q),
        IntBinary::BitwiseXor => run!(|p: i64, q: i64| p ^ q),
        IntBinary::LeftShift => {
            run!(move |p: i64, q: i64| if (0..bits).contains(&q) {
                p.wrapping_shl(q as u32)
            } else {
                0
            })
        }
        IntBinary::RightShift => run!(move |p: i64, q: i64| {
            p >> if (0..max_right).contains(&q) { q } else { max_right }
        }),
    }
}

/// `p^q` with wrapping multiplication (square and multiply). A negative exponent gives
/// `1/p` truncated: 1 for `p = 1`, ±1 for `p = -1`, else 0 (PyTorch; its Python-number form
/// raises in the binding).
fn int_pow(p: i64, q: i64) -> i64 {
    if q < 0 {
        return match p {
            1 => 1,
            -1 => {
                if q % 2 == 0 {
                    1
                } else {
                    -1
                }
            }
            _ => 0,
        };
    }
    let (mut base, mut exp, mut acc) = (p, q as u64, 1i64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc.wrapping_mul(base);
        }
        base = base.wrapping_mul(base);
        exp >>= 1;
    }
    acc
}

/// Whether any element of an integer array is 0.
fn has_zero(a: &Array) -> bool {
    crate::dispatch_any!(a, v => v.iter().any(|&e| e.widen_i64() == 0))
}

/// Elements of the broadcast of two arrays.
fn broadcast_numel(name: &'static str, x: &Array, y: &Array) -> Result<usize> {
    Ok(broadcast_shapes(name, x.shape(), y.shape())?.iter().product())
}

/// Runs `body` on the typed array of an integer dtype and wraps the result in that dtype.
fn with_int_type<F>(name: &'static str, a: &Array, body: F) -> Result<Array>
where
    F: IntArrayFn,
{
    Ok(match a {
        Array::U8(x) => Array::U8(body.call(x).into_shared()),
        Array::I8(x) => Array::I8(body.call(x).into_shared()),
        Array::I16(x) => Array::I16(body.call(x).into_shared()),
        Array::I32(x) => Array::I32(body.call(x).into_shared()),
        Array::I64(x) => Array::I64(body.call(x).into_shared()),
        other @ (Array::Bool(_) | Array::F32(_) | Array::F64(_)) => {
            return Err(not_implemented(name, other.dtype()))
        }
    })
}

/// A kernel generic over the integer element type (a closure cannot be generic).
trait IntArrayFn {
    fn call<T: Scalar>(&self, a: &ArcArray<T, IxDyn>) -> ArrayD<T>;
}

impl<G: Fn(&ArcArray<i64, IxDyn>) -> ArrayD<i64>> IntArrayFn for G {
    fn call<T: Scalar>(&self, a: &ArcArray<T, IxDyn>) -> ArrayD<T> {
        // Widen to i64, run, truncate back (see the module comment).
        let wide = a.mapv(|v| v.widen_i64()).into_shared();
        self(&wide).mapv(T::cast_i64)
    }
}

/// `f` over the broadcast of two arrays of one integer dtype, on widened values.
fn zip_ints(
    name: &'static str,
    x: &Array,
    y: &Array,
    f: impl Fn(i64, i64) -> i64 + Copy,
) -> Result<Array> {
    fn typed<T: Scalar>(
        name: &'static str,
        x: &ArcArray<T, IxDyn>,
        y: &Array,
        f: impl Fn(i64, i64) -> i64 + Copy,
    ) -> Result<Array> {
        let y = T::unwrap_ref(y)
            .ok_or_else(|| Error::internal(name, "both operands promoted to one dtype"))?;
        let out = zip_values(name, x, y, |p, q| T::cast_i64(f(p.widen_i64(), q.widen_i64())))?;
        Ok(T::wrap_any(out.into_shared()))
    }
    match x {
        Array::U8(a) => typed(name, a, y, f),
        Array::I8(a) => typed(name, a, y, f),
        Array::I16(a) => typed(name, a, y, f),
        Array::I32(a) => typed(name, a, y, f),
        Array::I64(a) => typed(name, a, y, f),
        other @ (Array::Bool(_) | Array::F32(_) | Array::F64(_)) => {
            Err(not_implemented(name, other.dtype()))
        }
    }
}

/// `f` over the NumPy broadcast of `a` and `b` (a slice loop when both are contiguous and
/// of one shape).
fn zip_values<T: Scalar, U: Scalar>(
    name: &'static str,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    f: impl Fn(T, T) -> U,
) -> Result<ArrayD<U>> {
    if a.shape() == b.shape() {
        if let (Some(x), Some(y)) = (a.as_slice(), b.as_slice()) {
            let values = x.iter().zip(y).map(|(&p, &q)| f(p, q)).collect();
            return ArrayD::from_shape_vec(a.raw_dim(), values)
                .map_err(|_| Error::internal(name, "one value per element of the shared shape"));
        }
    }
    let shape = IxDyn(&broadcast_shapes(name, a.shape(), b.shape())?);
    let (av, bv) = (a.broadcast(shape.clone()), b.broadcast(shape));
    let (Some(av), Some(bv)) = (av, bv) else {
        return Err(Error::internal(name, "both operands broadcast to their common shape"));
    };
    Ok(Zip::from(&av).and(&bv).map_collect(|&p, &q| f(p, q)))
}

/// The matrix product of integer operands (`torch.mm` of `int64` tensors): each output
/// element is the wrapping `i64` sum of products, truncated to the dtype (so it equals the
/// dtype's own wrapping arithmetic, as PyTorch's integer kernels). `a` is `(..., m, k)`, `b`
/// `(..., k, n)`, both of one integer dtype; their batch axes broadcast to `batch`. Bool has
/// no product kernel, as in PyTorch.
pub(crate) fn matmul(a: &Array, b: &Array, batch: &[usize]) -> Result<Array> {
    if a.dtype() == DType::Bool {
        return Err(not_implemented("matmul", DType::Bool));
    }
    let widen = |x: &Array| crate::dispatch_any!(x, v => v.mapv(|e| e.widen_i64()));
    let (wa, wb) = (widen(a), widen(b));
    let (m, k, n) =
        (wa.shape()[wa.ndim() - 2], wa.shape()[wa.ndim() - 1], wb.shape()[wb.ndim() - 1]);
    let full = |rows: usize, cols: usize| [batch, &[rows, cols]].concat();
    let broadcast = |w: &ArrayD<i64>, rows: usize, cols: usize| -> Result<Vec<i64>> {
        let view = w
            .broadcast(IxDyn(&full(rows, cols)))
            .ok_or_else(|| Error::internal("matmul", "batch axes checked to broadcast"))?;
        Ok(view.iter().copied().collect())
    };
    let (left, right) = (broadcast(&wa, m, k)?, broadcast(&wb, k, n)?);
    let count: usize = batch.iter().product();
    let mut out = vec![0i64; count * m * n];
    for (c, block) in out.chunks_mut((m * n).max(1)).enumerate().take(count) {
        let (l, r) = (&left[c * m * k..(c + 1) * m * k], &right[c * k * n..(c + 1) * k * n]);
        for i in 0..m {
            let row = &mut block[i * n..(i + 1) * n];
            for p in 0..k {
                let factor = l[i * k + p];
                for (acc, &q) in row.iter_mut().zip(&r[p * n..(p + 1) * n]) {
                    *acc = acc.wrapping_add(factor.wrapping_mul(q));
                }
            }
        }
    }
    let wide = ArrayD::from_shape_vec(IxDyn(&full(m, n)), out)
        .map_err(|_| Error::internal("matmul", "the output has batch * m * n elements"))?;
    Ok(crate::with_scalar_type!(a.dtype(), T => T::wrap_any(wide.mapv(T::cast_i64).into_shared())))
}

/// Zeros of `numel` elements with `source[k]` added at `positions[k]` for integer and bool
/// sources (`index_add`, `scatter_add` and `put(accumulate=True)` of integers): wrapping
/// sums in the dtype, and `or` for bools, as PyTorch.
pub(crate) fn add_at(source: &Array, positions: &[usize], numel: usize) -> Vec<i64> {
    let mut sums = vec![0i64; numel];
    crate::dispatch_any!(source, v => {
        for (&p, e) in positions.iter().zip(v.iter()) {
            sums[p] = sums[p].wrapping_add(e.widen_i64());
        }
    });
    sums
}

/// `torch.div`'s `rounding_mode`.
fn rounding_mode(mode: Option<&str>) -> Result<Option<IntBinary>> {
    match mode {
        None => Ok(None),
        Some("trunc") => Ok(Some(IntBinary::TruncDivide)),
        Some("floor") => Ok(Some(IntBinary::FloorDivide)),
        Some(other) => Err(Error::value(
            "div",
            format!(
                "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found \
                 '{other}'"
            ),
        )),
    }
}

impl Tensor {
    /// `self & other` (integer and bool tensors; PyTorch refuses floats).
    pub fn bitwise_and(&self, other: &Tensor) -> Result<Tensor> {
        binary_op(IntBinary::BitwiseAnd, "bitwise_and", self, other)
    }
    /// `self | other`
    pub fn bitwise_or(&self, other: &Tensor) -> Result<Tensor> {
        binary_op(IntBinary::BitwiseOr, "bitwise_or", self, other)
    }
    /// `self ^ other`
    pub fn bitwise_xor(&self, other: &Tensor) -> Result<Tensor> {
        binary_op(IntBinary::BitwiseXor, "bitwise_xor", self, other)
    }
    /// `self << other`: 0 for a shift outside `0..bits` (PyTorch).
    pub fn bitwise_left_shift(&self, other: &Tensor) -> Result<Tensor> {
        binary_op(IntBinary::LeftShift, "bitwise_left_shift", self, other)
    }
    /// `self >> other` (arithmetic): a shift outside the width fills with the sign bit.
    pub fn bitwise_right_shift(&self, other: &Tensor) -> Result<Tensor> {
        binary_op(IntBinary::RightShift, "bitwise_right_shift", self, other)
    }
    /// `~self`: the bitwise complement of integers, logical not of bools.
    pub fn bitwise_not(&self) -> Result<Tensor> {
        let out = match &self.array() {
            Array::Bool(a) => Array::Bool(a.mapv(|v| !v).into_shared()),
            Array::F32(_) | Array::F64(_) => return Err(not_integral("bitwise_not", self.dtype())),
            ints => with_int_type("bitwise_not", ints, |a: &ArcArray<i64, IxDyn>| a.mapv(|v| !v))?,
        };
        Ok(Tensor::from_array(out))
    }

    /// `self // other` (`torch.floor_divide`): `floor(self / other)` for floats, the floor
    /// of the exact quotient for integers (division by zero raises, as in PyTorch).
    pub fn floor_divide(&self, other: &Tensor) -> Result<Tensor> {
        self.div_mode(other, Some("floor"))
    }

    /// `torch.div(self, other, rounding_mode=)`: true division (`None`, integers give the
    /// default float dtype), `"trunc"` or `"floor"` (integers stay integers).
    pub fn div_mode(&self, other: &Tensor, rounding_mode_name: Option<&str>) -> Result<Tensor> {
        let Some(kernel) = rounding_mode(rounding_mode_name)? else { return self.div(other) };
        let (a, b) = crate::ops::binary::promote(self, other)?;
        if a.dtype().is_floating_point() {
            let quotient = a.div(&b)?;
            return match kernel {
                IntBinary::FloorDivide => quotient.floor(),
                _ => quotient.trunc(),
            };
        }
        let name = if kernel == IntBinary::FloorDivide { "floor_divide" } else { "div" };
        apply(kernel, name, &a, &b)
    }

    /// `sum(dim, keepdim, dtype=)`: the input cast to `dtype` first (PyTorch), so that
    /// `x.sum(dtype=tg.float64)` of a float32 `x` keeps the graph through the cast.
    pub fn sum_dtype(
        &self,
        axes: Option<&[i64]>,
        keepdim: bool,
        dtype: Option<DType>,
    ) -> Result<Tensor> {
        let Some(dtype) = dtype else { return self.sum(axes, keepdim) };
        // An integer sum accumulates in int64; its wrap into a narrower `dtype` is what
        // accumulating in that dtype gives (PyTorch's `sum(dtype=torch.int8)`).
        self.to_dtype(dtype)?.sum(axes, keepdim)?.to_dtype(dtype)
    }

    /// `mean(dim, keepdim, dtype=)`: the input cast to `dtype` first; without `dtype` an
    /// integer input raises (PyTorch cannot infer the output dtype either).
    pub fn mean_dtype(
        &self,
        axes: Option<&[i64]>,
        keepdim: bool,
        dtype: Option<DType>,
    ) -> Result<Tensor> {
        self.to_dtype(dtype.unwrap_or(self.dtype()))?.mean(axes, keepdim)
    }

    /// `clamp` with bounds that take part in promotion as PyTorch's Python numbers do: an
    /// integer tensor clamped by a float bound becomes float; integer bounds must fit the
    /// integer dtype.
    pub fn clamp_values(
        &self,
        min: Option<ScalarValue>,
        max: Option<ScalarValue>,
    ) -> Result<Tensor> {
        use crate::promotion::{result_type, Operand};
        let number = |v: ScalarValue| {
            Operand::Number(match v {
                ScalarValue::Bool(_) => DType::Bool,
                ScalarValue::Int(_) => DType::I64,
                ScalarValue::Float(_) => DType::F64,
            })
        };
        if min.is_none() && max.is_none() {
            return self.clamp(None, None); // the error naming both bounds
        }
        let mut operands = vec![Operand::tensor(self.dtype(), self.ndim())];
        operands.extend(min.into_iter().chain(max).map(number));
        let dtype = result_type(&operands)
            .ok_or_else(|| Error::internal("clamp", "the operands include the tensor"))?;
        if dtype.is_floating_point() {
            return self
                .to_dtype(dtype)?
                .clamp(min.map(ScalarValue::to_f64), max.map(ScalarValue::to_f64));
        }
        if dtype == DType::Bool {
            return Err(not_implemented("clamp", dtype));
        }
        let (lo_limit, hi_limit) = int_range(dtype);
        let bound = |v: Option<ScalarValue>, which: &str, default: i64| -> Result<i64> {
            let Some(v) = v else { return Ok(default) };
            let i = match v {
                ScalarValue::Bool(b) => i64::from(b),
                ScalarValue::Int(i) => i,
                ScalarValue::Float(_) => {
                    return Err(Error::internal("clamp", "a float bound promotes to float"));
                }
            };
            if i < lo_limit || i > hi_limit {
                return Err(Error::value(
                    "clamp",
                    format!(
                        "Clamp {which} value {i} is outside the representable range of {dtype}"
                    ),
                ));
            }
            Ok(i)
        };
        let lo = bound(min, "min", i64::MIN)?;
        let hi = bound(max, "max", i64::MAX)?;
        let x = self.to_dtype(dtype)?;
        // min(max(x, lo), hi): with lo > hi everything becomes hi, as in PyTorch.
        let out = with_int_type("clamp", &x.array(), move |a: &ArcArray<i64, IxDyn>| {
            a.mapv(|v| v.max(lo).min(hi))
        })?;
        Ok(Tensor::from_array(out))
    }
}

/// The smallest and largest value of a dtype (as `i64`; floats span all of it).
fn int_range(dtype: DType) -> (i64, i64) {
    match dtype {
        DType::Bool => (0, 1),
        DType::U8 => (0, i64::from(u8::MAX)),
        DType::I8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
        DType::I16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        DType::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        DType::I64 | DType::F32 | DType::F64 => (i64::MIN, i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[i64], dtype: DType) -> Tensor {
        Tensor::from_array(Array::from_i64_vec(&[values.len()], values.to_vec(), dtype).unwrap())
    }

    fn as_i64(t: &Tensor) -> Vec<i64> {
        t.array()
            .to_values()
            .iter()
            .map(|v| match v {
                ScalarValue::Int(i) => *i,
                ScalarValue::Bool(b) => i64::from(*b),
                ScalarValue::Float(f) => panic!("float {f}"),
            })
            .collect()
    }

    #[test]
    fn arithmetic_wraps_like_two_complement() {
        // int8: 100 * 3 = 300 = 44 (mod 256); uint8: 5 - 6 = 255
        let a = ints(&[100], DType::I8);
        assert_eq!(as_i64(&a.mul(&ints(&[3], DType::I8)).unwrap()), [44]);
        let u = ints(&[5], DType::U8);
        assert_eq!(as_i64(&u.sub(&ints(&[6], DType::U8)).unwrap()), [255]);
        // i64::MIN // -1 wraps to i64::MIN, its remainder is 0
        let m = ints(&[i64::MIN], DType::I64);
        assert_eq!(as_i64(&m.floor_divide(&ints(&[-1], DType::I64)).unwrap()), [i64::MIN]);
        assert_eq!(as_i64(&m.remainder(&ints(&[-1], DType::I64)).unwrap()), [0]);
    }

    #[test]
    fn integer_products_are_exact_and_wrap_in_the_dtype() {
        // [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]], in int64 and uint8
        for dtype in [DType::I64, DType::U8] {
            let a = ints(&[1, 2, 3, 4], dtype).reshape(&[2, 2]).unwrap();
            let b = ints(&[5, 6, 7, 8], dtype).reshape(&[2, 2]).unwrap();
            let c = a.matmul(&b).unwrap();
            assert_eq!((c.dtype(), c.shape()), (dtype, vec![2, 2]));
            assert_eq!(as_i64(&c.reshape(&[4]).unwrap()), [19, 22, 43, 50]);
        }
        // int8: 100·2 + 100·1 = 300 wraps to 44; a batch of 3 broadcasts against one matrix
        let a = ints(&[100, 100, 1, 0, -1, 1], DType::I8).reshape(&[3, 1, 2]).unwrap();
        let b = ints(&[2, 1], DType::I8).reshape(&[2, 1]).unwrap();
        assert_eq!(as_i64(&a.matmul(&b).unwrap().reshape(&[3]).unwrap()), [44, 2, -1]);
        // the empty contraction gives zeros; bool has no product, as in PyTorch
        let empty = ints(&[], DType::I32).reshape(&[1, 0]).unwrap();
        let e = ints(&[], DType::I32).reshape(&[0, 2]).unwrap();
        assert_eq!(as_i64(&empty.matmul(&e).unwrap().reshape(&[2]).unwrap()), [0, 0]);
        let t = ints(&[1, 0], DType::Bool).reshape(&[1, 2]).unwrap();
        let err = t.matmul(&t.reshape(&[2, 1]).unwrap()).unwrap_err();
        assert!(err.to_string().contains("bool"), "{err}");
    }

    #[test]
    fn integer_adds_at_positions_wrap_and_bools_or() {
        let src = ints(&[200, 100, 7], DType::U8);
        let out = src.put_add(&std::sync::Arc::new(vec![0, 0, 2]), &[3]).unwrap();
        assert_eq!((out.dtype(), as_i64(&out)), (DType::U8, vec![44, 0, 7]));
        let flags = ints(&[1, 1, 0], DType::Bool);
        let out = flags.put_add(&std::sync::Arc::new(vec![1, 1, 0]), &[2]).unwrap();
        assert_eq!((out.dtype(), as_i64(&out)), (DType::Bool, vec![0, 1]));
    }

    #[test]
    fn divisions_round_as_python_and_c() {
        let a = ints(&[7, -7, 7, -7], DType::I64);
        let b = ints(&[2, 2, -2, -2], DType::I64);
        assert_eq!(as_i64(&a.floor_divide(&b).unwrap()), [3, -4, -4, 3]);
        assert_eq!(as_i64(&a.div_mode(&b, Some("trunc")).unwrap()), [3, -3, -3, 3]);
        assert_eq!(as_i64(&a.remainder(&b).unwrap()), [1, 1, -1, -1]);
        assert_eq!(as_i64(&a.fmod(&b).unwrap()), [1, -1, 1, -1]);
        let e = a.floor_divide(&ints(&[0], DType::I64)).unwrap_err();
        assert!(matches!(e, Error::ZeroDivision { op: "floor_divide" }), "{e}");
        assert_eq!(a.div(&b).unwrap().dtype(), default_float_dtype());
    }

    #[test]
    fn powers_and_shifts_follow_pytorch() {
        assert_eq!(int_pow(3, 4), 81);
        assert_eq!(int_pow(2, 64), 0); // wraps
        assert_eq!(
            [int_pow(5, -1), int_pow(1, -3), int_pow(-1, -3), int_pow(-1, -2)],
            [0, 1, -1, 1]
        );
        let a = ints(&[5, -7], DType::I64);
        let s = ints(&[64, 70], DType::I64);
        assert_eq!(as_i64(&a.bitwise_left_shift(&s).unwrap()), [0, 0]);
        assert_eq!(as_i64(&a.bitwise_right_shift(&s).unwrap()), [0, -1]);
        let u = ints(&[200], DType::U8);
        assert_eq!(as_i64(&u.bitwise_right_shift(&ints(&[9], DType::U8)).unwrap()), [0]);
        assert_eq!(as_i64(&a.bitwise_not().unwrap()), [-6, 6]);
    }

    #[test]
    fn bools_add_as_or_and_refuse_subtraction() {
        let t = Tensor::from_array(Array::from_bool_vec(&[2], vec![true, false]).unwrap());
        assert_eq!(as_i64(&t.add(&t).unwrap()), [1, 0]);
        assert_eq!(t.add(&t).unwrap().dtype(), DType::Bool);
        assert!(t.sub(&t).unwrap_err().to_string().contains("two bool tensors"));
        assert!(t.neg().unwrap_err().to_string().contains("Negation"));
        assert_eq!(t.exp().unwrap().dtype(), default_float_dtype());
    }
}
