//! Elementwise functions of two tensors (with NumPy broadcasting), one stanza each, then
//! comparisons, `where`, `clamp` and dtype casts.
//!
//! A stanza in [`for_each_binary`] states the function's name and node, its cost class, its
//! value, its derivative, one VJP per input (`grad` is ∂L/∂out, `a` and `b` the inputs), and
//! which inputs the VJPs read given which inputs need a gradient. The JVP is derived (each
//! input's Jacobian is diagonal, so its tangent goes through that input's VJP) and it batches
//! elementwise. Rules compute gradients at the broadcast output shape; the engine sums them
//! back to each input's shape, so no rule here deals with broadcasting.
//!
//! (Over 500 lines: the stanzas, the broadcasting loops they share, and the comparisons,
//! `where`, `clamp` and casts that the stanzas' derivatives use, kept in one family.)

use crate::alloc;
use crate::array::{broadcast_shapes, checked_numel, Array, DType, Element, Scalar};
use crate::error::{Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::parallel::{self, Cost};
use crate::promotion::{result_type, Operand};
use crate::tensor::Tensor;
use crate::{map_any, map_array, with_scalar_type, zip_array};
use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

/// Calls `$callback!` with the stanza of every binary primitive (the binding uses it to make
/// the Python methods).
#[macro_export]
macro_rules! for_each_binary {
    ($callback:ident) => {
        $callback! {
            /// `a + b`
            Add add "AddBackward" {
                cost: Light, saves: Nothing,
                value: |p, q| p + q,
                derivative: "∂/∂a = 1, ∂/∂b = 1",
                vjp_a: |grad, _a, _b| Ok(grad.clone()),
                vjp_b: |grad, _a, _b| Ok(grad.clone()),
                keeps: |_needs_a, _needs_b| [false, false],
            }
            /// `a - b` (a primitive rather than `a + (-b)`: one pass, one temporary)
            Sub sub "SubBackward" {
                cost: Light, saves: Nothing,
                value: |p, q| p - q,
                derivative: "∂/∂a = 1, ∂/∂b = -1",
                vjp_a: |grad, _a, _b| Ok(grad.clone()),
                vjp_b: |grad, _a, _b| grad.neg(),
                keeps: |_needs_a, _needs_b| [false, false],
            }
            /// `a * b`
            Mul mul "MulBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| p * q,
                derivative: "∂/∂a = b, ∂/∂b = a",
                vjp_a: |grad, _a, b| grad.mul(b()?),
                vjp_b: |grad, a, _b| grad.mul(a()?),
                keeps: |needs_a, needs_b| [needs_b, needs_a],
            }
            /// `a / b` (a primitive for the same reason as `sub`)
            Div div "DivBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| p / q,
                derivative: "∂/∂a = 1/b, ∂/∂b = -a/b²",
                vjp_a: |grad, _a, b| grad.div(b()?),
                vjp_b: |grad, a, b| grad.mul(a()?)?.div(&b()?.mul(b()?)?)?.neg(),
                keeps: |_needs_a, needs_b| [needs_b, true],
            }
            /// `a ** b`
            Pow pow "PowBackward" {
                cost: Heavy, saves: Inputs,
                value: |p, q| p.powf(q),
                derivative: "∂/∂a = b a^(b-1) (0 where b = 0), ∂/∂b = a^b ln a (0 where a = 0 ≤ b, −∞ where a = 0 > b)",
                vjp_a: |grad, a, b| grad.mul(&pow_base_derivative(a()?, b()?)?),
                vjp_b: |grad, a, b| grad.mul(&pow_exponent_derivative(a()?, b()?)?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// Elementwise maximum (NaN wins); ties split the gradient evenly.
            Maximum maximum "MaximumBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| if p.is_nan() || q.is_nan() { Element::of(f64::NAN) } else { p.max(q) },
                derivative: "1 to the larger input, 1/2 each on ties",
                vjp_a: |grad, a, b| grad.mul(&winner_share(a()?, b()?, true)?),
                vjp_b: |grad, a, b| grad.mul(&winner_share(b()?, a()?, true)?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// Elementwise minimum (NaN wins); ties split the gradient evenly.
            Minimum minimum "MinimumBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| if p.is_nan() || q.is_nan() { Element::of(f64::NAN) } else { p.min(q) },
                derivative: "1 to the smaller input, 1/2 each on ties",
                vjp_a: |grad, a, b| grad.mul(&winner_share(a()?, b()?, false)?),
                vjp_b: |grad, a, b| grad.mul(&winner_share(b()?, a()?, false)?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// `atan2(a, b)`: the angle of the point `(b, a)`, in (-π, π].
            Atan2 atan2 "Atan2Backward" {
                cost: Heavy, saves: Inputs,
                value: |p, q| p.atan2(q),
                derivative: "∂/∂a = b/(a² + b²), ∂/∂b = -a/(a² + b²)",
                vjp_a: |grad, a, b| grad.mul(b()?)?.div(&squared_radius(a()?, b()?)?),
                vjp_b: |grad, a, b| grad.mul(a()?)?.div(&squared_radius(a()?, b()?)?)?.neg(),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// `√(a² + b²)` without overflow.
            Hypot hypot "HypotBackward" {
                cost: Heavy, saves: Inputs,
                value: |p, q| p.hypot(q),
                derivative: "∂/∂a = a/result, ∂/∂b = b/result",
                vjp_a: |grad, a, b| grad.mul(a()?)?.div(&a()?.hypot(b()?)?),
                vjp_b: |grad, a, b| grad.mul(b()?)?.div(&a()?.hypot(b()?)?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// `|a|` with the sign of `b`.
            Copysign copysign "CopysignBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| p.abs() * if q.is_sign_negative() { -q.one_like() } else { q.one_like() },
                derivative: "∂/∂a = sign(a) sign(result) (0 at a = 0), ∂/∂b = 0",
                vjp_a: |grad, a, b| grad.mul(&a()?.sign()?.mul(&a()?.copysign(b()?)?.sign()?)?),
                vjp_b: |grad, _a, _b| grad.zeros_like(),
                keeps: |needs_a, _needs_b| [needs_a, needs_a],
            }
            /// C's `fmod`: `a - trunc(a/b) b`, with the sign of `a`.
            Fmod fmod "FmodBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| p % q,
                derivative: "∂/∂a = 1, ∂/∂b = -trunc(a/b)",
                vjp_a: |grad, _a, _b| Ok(grad.clone()),
                vjp_b: |grad, a, b| grad.mul(&a()?.div(b()?)?.trunc()?.neg()?),
                keeps: |_needs_a, needs_b| [needs_b, needs_b],
            }
            /// Python's `%`: `a - floor(a/b) b`, with the sign of `b`.
            Remainder remainder "RemainderBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| python_remainder(p, q),
                derivative: "∂/∂a = 1, ∂/∂b = -floor(a/b)",
                vjp_a: |grad, _a, _b| Ok(grad.clone()),
                vjp_b: |grad, a, b| grad.mul(&a()?.div(b()?)?.floor()?.neg()?),
                keeps: |_needs_a, needs_b| [needs_b, needs_b],
            }
            /// `ln(e^a + e^b)` without overflow.
            Logaddexp logaddexp "LogaddexpBackward" {
                cost: Heavy, saves: Inputs,
                value: |p, q| logaddexp_of(p, q),
                derivative: "∂/∂a = σ(a - b), ∂/∂b = σ(b - a)",
                vjp_a: |grad, a, b| grad.mul(&a()?.sub(b()?)?.sigmoid()?),
                vjp_b: |grad, a, b| grad.mul(&b()?.sub(a()?)?.sigmoid()?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// `log2(2^a + 2^b)` without overflow.
            Logaddexp2 logaddexp2 "Logaddexp2Backward" {
                cost: Heavy, saves: Inputs,
                value: |p, q| logaddexp2_of(p, q),
                derivative: "∂/∂a = σ((a - b) ln 2), ∂/∂b = σ((b - a) ln 2)",
                vjp_a: |grad, a, b| grad.mul(&a()?.sub(b()?)?.mul_scalar(std::f64::consts::LN_2)?.sigmoid()?),
                vjp_b: |grad, a, b| grad.mul(&b()?.sub(a()?)?.mul_scalar(std::f64::consts::LN_2)?.sigmoid()?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// `a · ln b`, 0 where `a = 0` (unless `b` is NaN).
            Xlogy xlogy "XlogyBackward" {
                cost: Heavy, saves: Inputs,
                value: |p, q| if p == p.zero_like() && !q.is_nan() { p.zero_like() } else { p * q.ln() },
                derivative: "∂/∂a = ln b (0 where a = 0), ∂/∂b = a/b",
                vjp_a: |grad, a, b| grad.mul(&a()?.ne(&a()?.zeros_like()?)?.xlogy(b()?)?),
                vjp_b: |grad, a, b| grad.mul(a()?)?.div(b()?),
                keeps: |_needs_a, _needs_b| [true, true],
            }
            /// Step function: 0 where `a < 0`, `b` where `a = 0`, 1 where `a > 0`.
            Heaviside heaviside "HeavisideBackward" {
                cost: Light, saves: Inputs,
                value: |p, q| heaviside_of(p, q),
                derivative: "∂/∂a = 0, ∂/∂b = 1 where a = 0 else 0",
                vjp_a: |grad, _a, _b| grad.zeros_like(),
                vjp_b: |grad, a, _b| grad.mul(&a()?.eq(&a()?.zeros_like()?)?),
                keeps: |_needs_a, needs_b| [needs_b, false],
            }
        }
    };
}

/// Turns the stanzas into the [`Binary`] enum, its properties and its `Tensor` methods.
macro_rules! define_binary {
    ($(
        $(#[$doc:meta])*
        $variant:ident $method:ident $node:literal {
            cost: $cost:ident, saves: $saves:ident,
            value: |$p:ident, $q:ident| $value:expr,
            derivative: $derivative:literal,
            vjp_a: |$ga:ident, $aa:ident, $ba:ident| $vjp_a:expr,
            vjp_b: |$gb:ident, $ab:ident, $bb:ident| $vjp_b:expr,
            keeps: |$na:ident, $nb:ident| $keeps:expr,
        }
    )*) => {
        /// The differentiable elementwise functions of two arguments.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Binary {
            $($(#[$doc])* $variant,)*
        }

        impl Binary {
            /// Every variant, in stanza order.
            pub const ALL: &'static [Binary] = &[$(Binary::$variant),*];

            /// The entry of the derivative index.
            pub fn info(self) -> PrimitiveInfo {
                match self {
                    $(Binary::$variant => PrimitiveInfo {
                        node: $node,
                        family: "binary",
                        api: &[stringify!($method)],
                        saves: Saves::$saves,
                        derivative: $derivative,
                        batch: BatchRule::Elementwise,
                    },)*
                }
            }

            /// The op's name in messages.
            pub fn op_name(self) -> &'static str {
                match self {
                    $(Binary::$variant => stringify!($method),)*
                }
            }

            fn cost(self) -> Cost {
                match self {
                    $(Binary::$variant => Cost::$cost,)*
                }
            }

            /// Which inputs the VJPs read, given which inputs need a gradient.
            fn keeps(self, needs: [bool; 2]) -> [bool; 2] {
                match self {
                    $(Binary::$variant => {
                        let ($na, $nb) = (needs[0], needs[1]);
                        $keeps
                    })*
                }
            }

            /// `∂L/∂a` and `∂L/∂b` at the broadcast shape, for the inputs in `needs`; `a` and
            /// `b` are read only where [`Binary::keeps`] said so.
            fn vjp(
                self,
                grad: &Tensor,
                a: Option<&Tensor>,
                b: Option<&Tensor>,
                needs: [bool; 2],
            ) -> Result<[Option<Tensor>; 2]> {
                // `keeps` names the operands each rule reads, and the node saves exactly
                // those: a rule reading one it did not keep is a bug in this table.
                let missing = || Error::internal("binary vjp", "an operand `keeps` names");
                let x = || a.ok_or_else(missing);
                let y = || b.ok_or_else(missing);
                match self {
                    $(Binary::$variant => {
                        let grad_a = needs[0].then(|| {
                            let ($ga, $aa, $ba) = (grad, x, y);
                            $vjp_a
                        });
                        let grad_b = needs[1].then(|| {
                            let ($gb, $ab, $bb) = (grad, x, y);
                            $vjp_b
                        });
                        Ok([grad_a.transpose()?, grad_b.transpose()?])
                    })*
                }
            }

            /// Applies the function over the broadcast of two arrays of one dtype: one
            /// monomorphic loop per function.
            fn forward(self, a: &Array, b: &Array) -> Result<Array> {
                let name = self.op_name();
                Ok(match self {
                    $(Binary::$variant => zip_array!(name, a, b, x, y =>
                        zip_broadcast(name, x, y, self.cost(), |$p, $q| $value)?),)*
                })
            }
        }

        impl Tensor {
            $(
                $(#[$doc])*
                pub fn $method(&self, other: &Tensor) -> Result<Tensor> {
                    self.binary(other, Binary::$variant)
                }
            )*
        }
    };
}

for_each_binary!(define_binary);

/// `b · a^(b-1)`, taken as 0 where `b = 0` (`0 · 0^-1` would be NaN), as PyTorch.
fn pow_base_derivative(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let slope = b.mul(&a.pow(&b.sub_scalar(1.0)?)?)?;
    slope.zeros_like()?.where_cond(&b.eq(&b.zeros_like()?)?, &slope)
}

/// `a^b · ln a`, as PyTorch: taken as 0 where `a = 0` and `b ≥ 0` (the limit), and left as
/// `∞ · (−∞) = −∞` where `a = 0` and `b < 0`. The masked elements take `ln 1` rather than
/// `ln 0`, so a `create_graph` derivative of this expression stays finite there too.
fn pow_exponent_derivative(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (at_zero, exponent_ge_0) = (a.eq(&a.zeros_like()?)?, b.ge(&b.zeros_like()?)?);
    // Both masks as the operands' float dtype: their product is the logical and.
    let limit_zero = at_zero.to_dtype(a.dtype())?.mul(&exponent_ge_0.to_dtype(a.dtype())?)?;
    let safe_log_a = a.ones_like()?.where_cond(&limit_zero, a)?.log()?;
    a.pow(b)?.mul(&safe_log_a)
}

/// `a² + b²`, the denominator of atan2's derivatives.
fn squared_radius(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    a.mul(a)?.add(&b.mul(b)?)
}

/// Small helpers that give a closure a constant of its element type.
trait Constants: Element {
    fn zero_like(self) -> Self {
        Self::zero()
    }
    fn one_like(self) -> Self {
        Self::one()
    }
}
impl<T: Element> Constants for T {}

/// `a - floor(a/b) b` (Python's `%`): the result takes the sign of `b`.
#[inline(always)]
fn python_remainder<T: Element>(a: T, b: T) -> T {
    let r = a % b;
    if r != T::zero() && (r < T::zero()) != (b < T::zero()) {
        r + b
    } else {
        r
    }
}

/// `ln(e^a + e^b) = max + ln(1 + e^(min - max))`; infinite maxima pass through.
#[inline(always)]
fn logaddexp_of<T: Element>(a: T, b: T) -> T {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if hi.is_infinite() || hi.is_nan() || lo.is_nan() {
        return if a.is_nan() || b.is_nan() { T::nan() } else { hi };
    }
    hi + (lo - hi).exp().ln_1p()
}

/// `log2(2^a + 2^b) = max + log2(1 + 2^(min - max))`.
#[inline(always)]
fn logaddexp2_of<T: Element>(a: T, b: T) -> T {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if hi.is_infinite() || hi.is_nan() || lo.is_nan() {
        return if a.is_nan() || b.is_nan() { T::nan() } else { hi };
    }
    hi + (lo - hi).exp2().ln_1p() / T::of(std::f64::consts::LN_2)
}

/// 0 below zero, `at_zero` at zero, 1 above (NaN stays NaN).
#[inline(always)]
fn heaviside_of<T: Element>(a: T, at_zero: T) -> T {
    if a.is_nan() {
        a
    } else if a == T::zero() {
        at_zero
    } else if a > T::zero() {
        T::one()
    } else {
        T::zero()
    }
}

/// The share of the gradient `mine` gets against `theirs`: 1 where it wins (larger for
/// `max`, smaller for `min`), 1/2 on ties (the symmetric subgradient), 0 elsewhere.
fn winner_share(mine: &Tensor, theirs: &Tensor, max: bool) -> Result<Tensor> {
    let wins = if max { mine.gt(theirs)? } else { mine.lt(theirs)? };
    let ties = mine.eq(theirs)?.to_dtype(mine.dtype())?.mul_scalar(0.5)?;
    wins.to_dtype(mine.dtype())?.add(&ties)
}

/// `f` over every element of `a`: a slice loop (split over the pool when large) for
/// contiguous data, a row-major walk otherwise; the output is reserved fallibly.
pub(crate) fn map_elements<T: Element>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    cost: Cost,
    f: impl Fn(T) -> T + Sync + Send,
) -> Result<ArrayD<T>> {
    match a.as_slice() {
        Some(x) => alloc::array_from_vec(op, a.shape(), parallel::map_slice(op, x, cost, f)?),
        None => alloc::try_map(op, a, |&v| f(v)),
    }
}

/// Applies `f` elementwise over the NumPy broadcast of `a` and `b`.
pub(crate) fn zip_broadcast<T: Element>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    cost: Cost,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Result<ArrayD<T>> {
    // Fast paths (plain slice loops the compiler vectorises, split over the pool when large;
    // Zip over IxDyn is several times slower): equal contiguous shapes, and a one-element
    // operand such as a Python scalar.
    if a.shape() == b.shape() {
        if let (Some(x), Some(y)) = (a.as_slice(), b.as_slice()) {
            let values = parallel::zip_slices(op, x, y, cost, f)?;
            return alloc::array_from_vec(op, a.shape(), values);
        }
    }
    let out_shape = broadcast_shapes(op, a.shape(), b.shape())?;
    checked_numel(op, &out_shape)?;
    if b.len() == 1 && out_shape == a.shape() {
        if let Some(&q) = b.iter().next() {
            return map_elements(op, a, cost, |p| f(p, q));
        }
    }
    if a.len() == 1 && out_shape == b.shape() {
        if let Some(&p) = a.iter().next() {
            return map_elements(op, b, cost, |q| f(p, q));
        }
    }
    let shape = IxDyn(&out_shape);
    let (Some(av), Some(bv)) = (a.broadcast(shape.clone()), b.broadcast(shape)) else {
        return Err(Error::internal(op, "operands broadcast to the shape broadcast_shapes gave"));
    };
    // Both views have the output's shape: their row-major walks pair up element by element.
    let len = av.len();
    let values = alloc::try_collect(op, len, av.iter().zip(bv.iter()).map(|(&x, &y)| f(x, y)))?;
    alloc::array_from_vec(op, &out_shape, values)
}

/// The node a binary primitive records: the inputs its stanza's `keeps` asked for.
struct BinaryBackward {
    op: Binary,
    a: Option<SavedTensor>,
    b: Option<SavedTensor>,
}

impl Backward for BinaryBackward {
    fn name(&self) -> &str {
        self.op.info().node
    }

    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let a = self.a.as_ref().map(|s| s.get(self.name())).transpose()?;
        let b = self.b.as_ref().map(|s| s.get(self.name())).transpose()?;
        let needs = [ctx.needs_input_grad(0), ctx.needs_input_grad(1)];
        Ok(self.op.vjp(grad, a.as_ref(), b.as_ref(), needs)?.into())
    }

    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // Each input's Jacobian is diagonal: its tangent goes through that input's VJP rule.
        let (a, b) = (Some(j.inputs[0]), Some(j.inputs[1]));
        j.sum(|i, t| {
            let [ga, gb] = self.op.vjp(t, a, b, [i == 0, i == 1])?;
            (if i == 0 { ga } else { gb })
                .ok_or_else(|| Error::internal("binary jvp", "the tangent's input was requested"))
        })
    }

    fn saved(&self) -> Vec<SavedInfo> {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::info).collect()
    }

    fn saved_bytes(&self) -> usize {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::nbytes).sum()
    }
}

/// The elementwise comparisons; their results are constant 0/1 masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Compare {
    #[inline(always)]
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Compare::Lt => a < b,
            Compare::Le => a <= b,
            Compare::Gt => a > b,
            Compare::Ge => a >= b,
            Compare::Eq => a == b,
            Compare::Ne => a != b,
        }
    }
}

/// Casts both operands to the dtype `torch.result_type` gives them (a 0-d operand only
/// raises the category).
pub(crate) fn promote(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let operands = [Operand::tensor(a.dtype(), a.ndim()), Operand::tensor(b.dtype(), b.ndim())];
    let dtype = result_type(&operands)
        .ok_or_else(|| Error::internal("promote", "two operands have a result type"))?;
    Ok((a.to_dtype(dtype)?, b.to_dtype(dtype)?))
}

impl Tensor {
    /// Applies an elementwise binary op with broadcasting and dtype promotion.
    pub fn binary(&self, other: &Tensor, op: Binary) -> Result<Tensor> {
        crate::ops::integer::check_operands(op, self, other)?;
        let (a, b) = promote(self, other)?;
        if !a.dtype().is_floating_point() {
            // Integer and bool operands: PyTorch's integer semantics, no node recorded.
            return crate::ops::integer::binary(op, [self, other], [&a, &b]);
        }
        let out = op.forward(&a.array(), &b.array())?;
        record(&[&a, &b], out, || {
            let keeps = op.keeps([a.requires_grad(), b.requires_grad()]);
            Box::new(BinaryBackward {
                op,
                a: keeps[0].then(|| SavedTensor::new(&a, SavedAs::Input(0))),
                b: keeps[1].then(|| SavedTensor::new(&b, SavedAs::Input(1))),
            })
        })
    }

    /// A 0-d constant of this tensor's dtype (how Python scalars enter ops).
    /// A bool or integer tensor gives the default float dtype (a float number raises the
    /// category, as in PyTorch).
    pub fn scalar_like(&self, value: f64) -> Tensor {
        let dtype = self.dtype();
        let dtype = if dtype.is_floating_point() { dtype } else { crate::default_float_dtype() };
        Tensor::scalar(value, dtype)
    }
    /// `self + value`
    pub fn add_scalar(&self, value: f64) -> Result<Tensor> {
        self.add(&self.scalar_like(value))
    }
    /// `self - value`
    pub fn sub_scalar(&self, value: f64) -> Result<Tensor> {
        self.sub(&self.scalar_like(value))
    }
    /// `value - self`
    pub fn rsub_scalar(&self, value: f64) -> Result<Tensor> {
        self.scalar_like(value).sub(self)
    }
    /// `self * value`
    pub fn mul_scalar(&self, value: f64) -> Result<Tensor> {
        self.mul(&self.scalar_like(value))
    }
    /// `self / value`
    pub fn div_scalar(&self, value: f64) -> Result<Tensor> {
        self.div(&self.scalar_like(value))
    }

    /// Zeros with this tensor's shape and dtype (a constant); the allocation may fail.
    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::full(&self.shape(), 0.0, self.dtype())
    }
    /// Ones with this tensor's shape and dtype (a constant); the allocation may fail.
    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::full(&self.shape(), 1.0, self.dtype())
    }

    /// Elementwise comparison in the promoted dtype (any dtype): a bool tensor, which
    /// carries no gradient.
    pub fn compare(&self, other: &Tensor, op: Compare) -> Result<Tensor> {
        let (a, b) = promote(self, other)?;
        let shape = broadcast_shapes("compare", &a.shape(), &b.shape())?;
        let (a, b) = (a.array(), b.array());
        fn run<T: Scalar>(op: Compare, a: &Array, b: &Array, shape: &[usize]) -> Result<Array> {
            let bug = |what: &str| Error::internal("compare", what.to_string());
            let x = T::unwrap_ref(a).ok_or_else(|| bug("operands promoted to one dtype"))?;
            let y = T::unwrap_ref(b).ok_or_else(|| bug("operands promoted to one dtype"))?;
            let x = x.broadcast(IxDyn(shape)).ok_or_else(|| bug("operands broadcast"))?;
            let y = y.broadcast(IxDyn(shape)).ok_or_else(|| bug("operands broadcast"))?;
            macro_rules! each {
                ($($f:ident),*) => {
                    match op {
                        $(Compare::$f => Zip::from(&x).and(&y)
                            .map_collect(|&p, &q| Compare::$f.holds(p, q)),)*
                    }
                };
            }
            Ok(Array::Bool(each!(Lt, Le, Gt, Ge, Eq, Ne).into_shared()))
        }
        Ok(Tensor::from_array(with_scalar_type!(a.dtype(), T => run::<T>(op, &a, &b, &shape))?))
    }
    /// `self < other` as a mask.
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Lt)
    }
    /// `self <= other` as a mask.
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Le)
    }
    /// `self > other` as a mask.
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Gt)
    }
    /// `self >= other` as a mask.
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Ge)
    }
    /// `self == other` as a mask.
    pub fn eq(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Eq)
    }
    /// `self != other` as a mask.
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Ne)
    }

    /// Picks `self` where `cond` is nonzero and `other` elsewhere, broadcasting all three
    /// (PyTorch's `torch.where(cond, self, other)`).
    pub fn where_cond(&self, cond: &Tensor, other: &Tensor) -> Result<Tensor> {
        let (a, b) = promote(self, other)?;
        // The condition is kept as bool (one byte per element), whatever it came as.
        let cond_bool = cond.array().cast(DType::Bool);
        let bug = |what: &str| Error::internal("where", what.to_string());
        let Array::Bool(c) = &cond_bool else { return Err(bug("the condition cast to bool")) };
        let shape = broadcast_shapes("where", &a.shape(), &b.shape())?;
        let shape = broadcast_shapes("where", c.shape(), &shape)?;
        let cv = c.broadcast(IxDyn(&shape)).ok_or_else(|| bug("operands broadcast"))?;
        let other_array = b.array();
        let out = map_any!(&a.array(), x => {
            let y = Scalar::unwrap_ref(&other_array)
                .ok_or_else(|| bug("operands promoted to one dtype"))?;
            let xv = x.broadcast(IxDyn(&shape)).ok_or_else(|| bug("operands broadcast"))?;
            let yv = y.broadcast(IxDyn(&shape)).ok_or_else(|| bug("operands broadcast"))?;
            Zip::from(&cv).and(&xv).and(&yv).map_collect(|&m, &p, &q| if m { p } else { q })
        });
        let mask = Tensor::from_array(cond_bool);
        record(&[&a, &b], out, || Box::new(WhereBackward { condition: mask }))
    }

    /// Clamps into `[min, max]` (at least one bound; either may be absent); the gradient
    /// passes where `min <= x <= max`, bounds included (as PyTorch).
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        if min.is_none() && max.is_none() {
            return Err(Error::value("clamp", "at least one of min and max must be given"));
        }
        if min.is_some_and(f64::is_nan) || max.is_some_and(f64::is_nan) {
            return Err(Error::value("clamp", "bounds must not be NaN"));
        }
        let (lo, hi) = (min.unwrap_or(f64::NEG_INFINITY), max.unwrap_or(f64::INFINITY));
        // min(max(x, lo), hi): with lo > hi everything becomes hi, as in NumPy and PyTorch.
        let out = map_array!("clamp"; &self.array(), a => a.mapv(|v| {
            let v = if v < Element::of(lo) { Element::of(lo) } else { v };
            if v > Element::of(hi) { Element::of(hi) } else { v }
        }));
        record(&[self], out, || {
            Box::new(ClampBackward { x: SavedTensor::new(self, SavedAs::Input(0)), lo, hi })
        })
    }

    /// Converts to `dtype`, recording the cast (its VJP casts back).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        let from = self.dtype();
        if from == dtype {
            return Ok(self.clone());
        }
        if !from.is_floating_point() {
            // An integer or bool input is a constant: nothing flows back to it.
            return Ok(Tensor::from_array(self.array().cast(dtype)));
        }
        record(&[self], self.array().cast(dtype), || Box::new(ToCopyBackward { from }))
    }
}

/// `torch.where(condition, a, b)`: the gradient goes to `a` where the condition holds and to
/// `b` elsewhere.
pub(crate) struct WhereBackward {
    condition: Tensor,
}

impl Primitive for WhereBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "WhereBackward",
        family: "binary",
        api: &["where"],
        saves: Saves::InputsAndBuffers,
        derivative: "∂/∂a = condition, ∂/∂b = 1 - condition",
        batch: BatchRule::Elementwise,
    };
}

impl Backward for WhereBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let zero = grad.scalar_like(0.0);
        Ok(vec![
            ctx.needs_input_grad(0).then(|| grad.where_cond(&self.condition, &zero)).transpose()?,
            ctx.needs_input_grad(1).then(|| zero.where_cond(&self.condition, grad)).transpose()?,
        ])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        let zero = j.result.scalar_like(0.0);
        let pick = |i: usize| j.tangent(i).cloned().unwrap_or_else(|| zero.clone());
        Ok(Some(pick(0).where_cond(&self.condition, &pick(1))?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of(SavedAs::Buffer("condition"), &self.condition.array())]
    }
}

/// `clamp(x, lo, hi)`: the gradient passes where `lo <= x <= hi`.
pub(crate) struct ClampBackward {
    x: SavedTensor,
    lo: f64,
    hi: f64,
}

impl Primitive for ClampBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "ClampBackward",
        family: "binary",
        api: &["clamp"],
        saves: Saves::Input,
        derivative: "1 where min <= x <= max (bounds included), else 0",
        batch: BatchRule::Elementwise,
    };
}

impl Backward for ClampBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = self.x.get(self.name())?;
        Ok(vec![Some(grad.mul(&self.inside(&x)?)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.mul(&self.inside(j.inputs[0])?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.x.info()]
    }
}

impl ClampBackward {
    /// 1 where `lo <= x <= hi`, else 0 (a constant).
    fn inside(&self, x: &Tensor) -> Result<Tensor> {
        let (lo, hi) = (self.lo, self.hi);
        Ok(Tensor::from_array(map_array!("clamp"; &x.array(), a => a.mapv(|v| {
            if v >= Element::of(lo) && v <= Element::of(hi) { Element::of(1.0) } else { Element::of(0.0) }
        }))))
    }
}

/// A dtype cast (PyTorch's `_to_copy`): the gradient is cast back.
pub(crate) struct ToCopyBackward {
    from: DType,
}

impl Primitive for ToCopyBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "ToCopyBackward",
        family: "binary",
        api: &["to", "float", "double"],
        saves: Saves::Metadata,
        derivative: "identity, cast back to the input's dtype",
        batch: BatchRule::Elementwise,
    };
}

impl Backward for ToCopyBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.to_dtype(self.from)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.to_dtype(j.result.dtype()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::testutil::{assert_close, leaf, values};

    fn grads(
        a: &Tensor,
        b: &Tensor,
        f: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
    ) -> (Vec<f64>, Vec<f64>) {
        let y = f(a, b).unwrap().sum(None, false).unwrap();
        let g = engine::grad(&[y], &[None], &[a.clone(), b.clone()], false, false, false).unwrap();
        (values(g[0].as_ref().unwrap()), values(g[1].as_ref().unwrap()))
    }

    #[test]
    fn product_quotient_and_power_rules() {
        let a = leaf(&[2], &[2.0, 3.0], true);
        let b = leaf(&[2], &[5.0, 0.5], true);
        // d(ab)/da = b, d(ab)/db = a
        let (ga, gb) = grads(&a, &b, Tensor::mul);
        assert_close(&ga, &[5.0, 0.5], 0.0);
        assert_close(&gb, &[2.0, 3.0], 0.0);
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        let (ga, gb) = grads(&a, &b, Tensor::div);
        assert_close(&ga, &[0.2, 2.0], 1e-15);
        assert_close(&gb, &[-2.0 / 25.0, -12.0], 1e-15);
        // d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a
        let (ga, gb) = grads(&a, &b, Tensor::pow);
        assert_close(&ga, &[5.0 * 16.0, 0.5 / 3f64.sqrt()], 1e-14);
        assert_close(&gb, &[32.0 * 2f64.ln(), 3f64.sqrt() * 3f64.ln()], 1e-14);
    }

    #[test]
    fn broadcast_gradients_are_summed_back_by_the_engine() {
        // a: (2, 1), b: (3,) -> out (2, 3); d sum(a + b)/da = 3 each, /db = 2 each
        let a = leaf(&[2, 1], &[1.0, 2.0], true);
        let b = leaf(&[3], &[1.0, 2.0, 3.0], true);
        let (ga, gb) = grads(&a, &b, Tensor::add);
        assert_close(&ga, &[3.0, 3.0], 0.0);
        assert_close(&gb, &[2.0, 2.0, 2.0], 0.0);
    }

    #[test]
    fn maximum_splits_ties_and_clamp_includes_bounds() {
        let a = leaf(&[3], &[1.0, 2.0, 3.0], true);
        let b = leaf(&[3], &[2.0, 2.0, 2.0], true);
        let (ga, gb) = grads(&a, &b, Tensor::maximum);
        assert_close(&ga, &[0.0, 0.5, 1.0], 0.0);
        assert_close(&gb, &[1.0, 0.5, 0.0], 0.0);
        let g = crate::testutil::grad_of_sum(&a, |x| x.clamp(Some(2.0), Some(3.0)));
        assert_close(&g, &[0.0, 1.0, 1.0], 0.0);
    }

    #[test]
    fn mixed_dtypes_promote_and_gradients_keep_the_input_dtype() {
        let a = Tensor::full(&[2], 1.5, DType::F32).unwrap();
        a.set_requires_grad(true).unwrap();
        let b = leaf(&[2], &[2.0, 4.0], false);
        let y = a.mul(&b).unwrap();
        assert_eq!(y.dtype(), DType::F64);
        engine::backward(&[y.sum(None, false).unwrap()], &[None], false, false).unwrap();
        let g = a.grad().unwrap();
        assert_eq!(g.dtype(), DType::F32);
        assert_close(&values(&g), &[2.0, 4.0], 0.0);
    }

    #[test]
    fn broadcast_mismatch_names_both_shapes() {
        let a = leaf(&[2, 3], &[0.0; 6], false);
        let b = leaf(&[4], &[0.0; 4], false);
        let e = a.add(&b).unwrap_err().to_string();
        assert!(e.contains("(2, 3)") && e.contains("(4,)"), "{e}");
    }
}
