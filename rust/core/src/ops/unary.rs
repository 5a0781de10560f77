//! Elementwise functions of one tensor, one stanza each.
//!
//! A stanza in [`for_each_unary`] is everything about one function: its variant and Python
//! name, its node, what its VJP reads (`saves`: nothing, the input `x` or the `result`), its
//! cost class for the parallel split, its value, its derivative and the VJP computing it as a
//! Tensor expression (so that it is itself differentiable). The rest is derived: an
//! elementwise function has a diagonal Jacobian, its own transpose, so the JVP is the VJP rule
//! applied to the tangent; it batches elementwise under `vmap`. The binding generates the
//! Python methods from the same list, so a new stanza is a new `Tensor` method everywhere.

use crate::array::{Array, Element};
use crate::error::Result;
use crate::graph::{
    derivatives_tracked, record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext,
};
use crate::map_array;
use crate::ops::binary::{map_elements, zip_broadcast};
use crate::ops::registry::{BatchRule, PrimitiveInfo, Saves};
use crate::ops::special::digamma_of;
use crate::parallel::Cost;
use crate::tensor::Tensor;
use crate::zip_array;

/// Calls `$callback!` with the stanza of every unary primitive (the binding uses it to make
/// the Python methods).
#[macro_export]
macro_rules! for_each_unary {
    ($callback:ident) => {
        $callback! {
            /// `-x`
            Neg neg "NegBackward" {
                saves: Nothing, cost: Light,
                value: |x| -x,
                derivative: "d(-x)/dx = -1",
                vjp: |grad, _x| grad.neg(),
            }
            /// `e^x`
            Exp exp "ExpBackward" {
                saves: Result, cost: Heavy,
                value: |x| x.fast_exp(),
                derivative: "d(e^x)/dx = e^x = result",
                vjp: |grad, result| grad.mul(result),
            }
            /// Natural logarithm.
            Log log "LogBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.ln(),
                derivative: "d(ln x)/dx = 1/x",
                vjp: |grad, x| grad.div(x),
            }
            /// `ln(1 + x)`, accurate for tiny `x`.
            Log1p log1p "Log1pBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.ln_1p(),
                derivative: "d ln(1+x)/dx = 1/(1+x)",
                vjp: |grad, x| grad.div(&x.add_scalar(1.0)?),
            }
            /// The error function `erf(x) = 2/√π ∫₀^x e^(−t²) dt`.
            Erf erf "ErfBackward" {
                saves: Input, cost: Heavy,
                value: |x| Element::erf(x),
                derivative: "d erf(x)/dx = 2/√π e^(−x²)",
                vjp: |grad, x| grad.mul(&erf_derivative(x)?),
            }
            /// Square root.
            Sqrt sqrt "SqrtBackward" {
                saves: Result, cost: Heavy,
                value: |x| x.sqrt(),
                derivative: "d √x/dx = 1/(2 result)",
                vjp: |grad, result| grad.div(&result.mul_scalar(2.0)?),
            }
            /// Sine.
            Sin sin "SinBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.sin(),
                derivative: "d sin x/dx = cos x",
                vjp: |grad, x| grad.mul(&x.cos()?),
            }
            /// Cosine.
            Cos cos "CosBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.cos(),
                derivative: "d cos x/dx = -sin x",
                vjp: |grad, x| grad.mul(&x.sin()?.neg()?),
            }
            /// Hyperbolic tangent.
            Tanh tanh "TanhBackward" {
                saves: Result, cost: Heavy,
                value: |x| x.tanh(),
                derivative: "d tanh x/dx = 1 - result²",
                vjp: |grad, result| grad.mul(&result.mul(result)?.rsub_scalar(1.0)?),
            }
            /// Logistic sigmoid `1 / (1 + e^-x)`.
            Sigmoid sigmoid "SigmoidBackward" {
                saves: Result, cost: Heavy,
                value: |x| sigmoid_of(x),
                derivative: "d σ(x)/dx = result (1 - result)",
                vjp: |grad, result| grad.mul(&result.mul(&result.rsub_scalar(1.0)?)?),
            }
            /// `max(x, 0)`; subgradient 0 at 0 (as PyTorch).
            Relu relu "ReluBackward" {
                saves: Input, cost: Light,
                value: |x| relu_of(x),
                derivative: "d relu(x)/dx = 1 where x > 0, else 0",
                vjp: |grad, x| if derivatives_tracked() {
                    grad.mul(&x.gt(&x.zeros_like()?)?)
                } else {
                    relu_backward(grad, x) // the same values in one fused pass
                },
            }
            /// `|x|`; subgradient 0 at 0 (as PyTorch).
            Abs abs "AbsBackward" {
                saves: Input, cost: Light,
                value: |x| x.abs(),
                derivative: "d|x|/dx = sign x (0 at 0)",
                vjp: |grad, x| grad.mul(&x.sign()?),
            }
            /// Largest integer not above `x`; zero derivative (as PyTorch).
            Floor floor "FloorBackward" {
                saves: Nothing, cost: Light,
                value: |x| x.floor(),
                derivative: "d floor(x)/dx = 0",
                vjp: |grad, _x| grad.zeros_like(),
            }
            /// Smallest integer not below `x`; zero derivative.
            Ceil ceil "CeilBackward" {
                saves: Nothing, cost: Light,
                value: |x| x.ceil(),
                derivative: "d ceil(x)/dx = 0",
                vjp: |grad, _x| grad.zeros_like(),
            }
            /// Nearest integer, halves to even (as PyTorch); zero derivative.
            Round round "RoundBackward" {
                saves: Nothing, cost: Light,
                value: |x| round_half_even(x),
                derivative: "d round(x)/dx = 0",
                vjp: |grad, _x| grad.zeros_like(),
            }
            /// Integer part, rounding toward zero; zero derivative.
            Trunc trunc "TruncBackward" {
                saves: Nothing, cost: Light,
                value: |x| x.trunc(),
                derivative: "d trunc(x)/dx = 0",
                vjp: |grad, _x| grad.zeros_like(),
            }
            /// Fractional part `x - trunc(x)` (keeps the sign of `x`).
            Frac frac "FracBackward" {
                saves: Nothing, cost: Light,
                value: |x| x.fract(),
                derivative: "d frac(x)/dx = 1",
                vjp: |grad, _x| Ok(grad.clone()),
            }
            /// Sign: -1, 0 or 1 (NaN stays NaN); zero derivative.
            Sign sign "SignBackward" {
                saves: Nothing, cost: Light,
                value: |x| sign_of(x),
                derivative: "d sign(x)/dx = 0",
                vjp: |grad, _x| grad.zeros_like(),
            }
            /// `1 / x`
            Reciprocal reciprocal "ReciprocalBackward" {
                saves: Result, cost: Light,
                value: |x| x.recip(),
                derivative: "d(1/x)/dx = -result²",
                vjp: |grad, result| grad.mul(&result.mul(result)?.neg()?),
            }
            /// `1 / √x`
            Rsqrt rsqrt "RsqrtBackward" {
                saves: Result, cost: Heavy,
                value: |x| x.sqrt().recip(),
                derivative: "d x^(-1/2)/dx = -result³/2",
                vjp: |grad, result| grad.mul(&result.mul(result)?.mul(result)?.mul_scalar(-0.5)?),
            }
            /// `x²`
            Square square "SquareBackward" {
                saves: Input, cost: Light,
                value: |x| x * x,
                derivative: "d x²/dx = 2x",
                vjp: |grad, x| grad.mul(&x.mul_scalar(2.0)?),
            }
            /// `2^x`
            Exp2 exp2 "Exp2Backward" {
                saves: Result, cost: Heavy,
                value: |x| x.exp2(),
                derivative: "d 2^x/dx = ln 2 · result",
                vjp: |grad, result| grad.mul(&result.mul_scalar(std::f64::consts::LN_2)?),
            }
            /// `e^x - 1`, accurate for tiny `x`.
            Expm1 expm1 "Expm1Backward" {
                saves: Result, cost: Heavy,
                value: |x| x.exp_m1(),
                derivative: "d(e^x - 1)/dx = result + 1",
                vjp: |grad, result| grad.mul(&result.add_scalar(1.0)?),
            }
            /// Base-2 logarithm.
            Log2 log2 "Log2Backward" {
                saves: Input, cost: Heavy,
                value: |x| x.log2(),
                derivative: "d log2(x)/dx = 1/(x ln 2)",
                vjp: |grad, x| grad.div(&x.mul_scalar(std::f64::consts::LN_2)?),
            }
            /// Base-10 logarithm.
            Log10 log10 "Log10Backward" {
                saves: Input, cost: Heavy,
                value: |x| x.log10(),
                derivative: "d log10(x)/dx = 1/(x ln 10)",
                vjp: |grad, x| grad.div(&x.mul_scalar(std::f64::consts::LN_10)?),
            }
            /// Tangent.
            Tan tan "TanBackward" {
                saves: Result, cost: Heavy,
                value: |x| x.tan(),
                derivative: "d tan x/dx = 1 + result²",
                vjp: |grad, result| grad.mul(&result.mul(result)?.add_scalar(1.0)?),
            }
            /// Arcsine.
            Asin asin "AsinBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.asin(),
                derivative: "d asin x/dx = 1/√(1 - x²)",
                vjp: |grad, x| grad.div(&x.mul(x)?.rsub_scalar(1.0)?.sqrt()?),
            }
            /// Arccosine.
            Acos acos "AcosBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.acos(),
                derivative: "d acos x/dx = -1/√(1 - x²)",
                vjp: |grad, x| grad.div(&x.mul(x)?.rsub_scalar(1.0)?.sqrt()?)?.neg(),
            }
            /// Arctangent.
            Atan atan "AtanBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.atan(),
                derivative: "d atan x/dx = 1/(1 + x²)",
                vjp: |grad, x| grad.div(&x.mul(x)?.add_scalar(1.0)?),
            }
            /// Hyperbolic sine.
            Sinh sinh "SinhBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.sinh(),
                derivative: "d sinh x/dx = cosh x",
                vjp: |grad, x| grad.mul(&x.cosh()?),
            }
            /// Hyperbolic cosine.
            Cosh cosh "CoshBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.cosh(),
                derivative: "d cosh x/dx = sinh x",
                vjp: |grad, x| grad.mul(&x.sinh()?),
            }
            /// Inverse hyperbolic sine.
            Asinh asinh "AsinhBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.asinh(),
                derivative: "d asinh x/dx = 1/√(x² + 1)",
                vjp: |grad, x| grad.div(&x.mul(x)?.add_scalar(1.0)?.sqrt()?),
            }
            /// Inverse hyperbolic cosine.
            Acosh acosh "AcoshBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.acosh(),
                derivative: "d acosh x/dx = 1/√(x² - 1)",
                vjp: |grad, x| grad.div(&x.mul(x)?.sub_scalar(1.0)?.sqrt()?),
            }
            /// Inverse hyperbolic tangent.
            Atanh atanh "AtanhBackward" {
                saves: Input, cost: Heavy,
                value: |x| x.atanh(),
                derivative: "d atanh x/dx = 1/(1 - x²)",
                vjp: |grad, x| grad.div(&x.mul(x)?.rsub_scalar(1.0)?),
            }
            /// The complementary error function `1 - erf(x)`, accurate where erf is near 1.
            Erfc erfc "ErfcBackward" {
                saves: Input, cost: Heavy,
                value: |x| via_f64(x, libm::erfc),
                derivative: "d erfc(x)/dx = -2/√π e^(−x²)",
                vjp: |grad, x| grad.mul(&erf_derivative(x)?.neg()?),
            }
            /// The inverse of the error function on (-1, 1).
            Erfinv erfinv "ErfinvBackward" {
                saves: Result, cost: Heavy,
                value: |x| via_f64(x, erfinv_of),
                derivative: "d erfinv(x)/dx = √π/2 e^(result²)",
                vjp: |grad, result| grad.mul(
                    &result.mul(result)?.exp()?.mul_scalar(std::f64::consts::PI.sqrt() / 2.0)?,
                ),
            }
            /// Normalised sinc `sin(πx)/(πx)`, 1 at 0.
            Sinc sinc "SincBackward" {
                saves: Input, cost: Heavy,
                value: |x| sinc_of(x),
                derivative: "d sinc(x)/dx = (cos(πx) - sinc(x))/x, 0 at 0",
                vjp: |grad, x| grad.mul(&sinc_derivative(x)?),
            }
            /// `ln |Γ(x)|`.
            Lgamma lgamma "LgammaBackward" {
                saves: Input, cost: Heavy,
                value: |x| via_f64(x, libm::lgamma),
                derivative: "d ln|Γ(x)|/dx = ψ(x) (digamma)",
                vjp: |grad, x| grad.mul(&x.digamma()?),
            }
            /// The digamma function `ψ(x) = Γ'(x)/Γ(x)`; −∞ at 0, NaN at negative integers.
            Digamma digamma "DigammaBackward" {
                saves: Input, cost: Heavy,
                value: |x| via_f64(x, digamma_of),
                derivative: "d ψ(x)/dx = ψ⁽¹⁾(x) (polygamma(1, x))",
                vjp: |grad, x| grad.mul(&x.polygamma(1)?),
            }
            /// Log-odds `ln(x / (1 - x))`.
            Logit logit "LogitBackward" {
                saves: Input, cost: Heavy,
                value: |x| logit_of(x),
                derivative: "d logit(x)/dx = 1/(x (1 - x))",
                vjp: |grad, x| grad.div(&x.mul(&x.rsub_scalar(1.0)?)?),
            }
        }
    };
}

/// Turns the stanzas into the [`Unary`] enum, its properties and its `Tensor` methods.
macro_rules! define_unary {
    ($(
        $(#[$doc:meta])*
        $variant:ident $method:ident $node:literal {
            saves: $saves:ident, cost: $cost:ident,
            value: |$x:ident| $value:expr,
            derivative: $derivative:literal,
            vjp: |$grad:ident, $s:ident| $vjp:expr,
        }
    )*) => {
        /// The differentiable elementwise functions of one argument.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Unary {
            $($(#[$doc])* $variant,)*
        }

        impl Unary {
            /// Every variant, in stanza order.
            pub const ALL: &'static [Unary] = &[$(Unary::$variant),*];

            /// The entry of the derivative index.
            pub fn info(self) -> PrimitiveInfo {
                match self {
                    $(Unary::$variant => PrimitiveInfo {
                        node: $node,
                        family: "unary",
                        api: &[stringify!($method)],
                        saves: Saves::$saves,
                        derivative: $derivative,
                        batch: BatchRule::Elementwise,
                    },)*
                }
            }

            /// Work per element, for the parallel split.
            fn cost(self) -> Cost {
                match self {
                    $(Unary::$variant => Cost::$cost,)*
                }
            }

            /// `∂L/∂x` given `grad` = ∂L/∂out and the saved `x` or `result`.
            fn vjp(self, grad: &Tensor, saved: &Tensor) -> Result<Tensor> {
                match self {
                    $(Unary::$variant => {
                        let ($grad, $s) = (grad, saved);
                        $vjp
                    })*
                }
            }

            /// Applies the function elementwise to an array: one monomorphic loop per
            /// function (the variant is a constant inside each closure), so that the match is
            /// not re-run per element and the loops vectorise.
            pub fn forward(self, input: &Array) -> Result<Array> {
                let name = self.info().api[0];
                // The vectorised kernels with run-time dispatch, where a function has one.
                if let Some(out) = crate::kernels::wiring::unary_forward(self, input) {
                    return out;
                }
                Ok(match self {
                    $(Unary::$variant => map_array!(name; input, a => map_elements(name, a, self.cost(), |$x| $value)?),)*
                })
            }
        }

        impl Tensor {
            $(
                $(#[$doc])*
                pub fn $method(&self) -> Result<Tensor> {
                    self.unary(Unary::$variant)
                }
            )*
        }
    };
}

for_each_unary!(define_unary);

/// The node a unary primitive records: what its stanza says it saves.
struct UnaryBackward {
    op: Unary,
    saved: Option<SavedTensor>,
    result: Option<Array>,
}

impl Backward for UnaryBackward {
    fn name(&self) -> &str {
        self.op.info().node
    }

    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let saved = match (&self.saved, &self.result) {
            (Some(saved), _) => saved.get(self.name())?,
            (None, Some(result)) => ctx.result(result),
            (None, None) => grad.clone(), // Saves::Nothing: the rule does not read it
        };
        Ok(vec![Some(self.op.vjp(grad, &saved)?)])
    }

    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // A diagonal Jacobian is its own transpose: the JVP is the VJP rule on the tangent.
        let saved = if self.op.info().saves == Saves::Result { j.result } else { j.inputs[0] };
        j.linear(|t| self.op.vjp(t, saved))
    }

    fn saved(&self) -> Vec<SavedInfo> {
        let input = self.saved.as_ref().map(SavedTensor::info);
        let result = self.result.as_ref().map(|r| SavedInfo::of(SavedAs::Result, r));
        input.into_iter().chain(result).collect()
    }

    fn saved_bytes(&self) -> usize {
        self.saved.as_ref().map_or(0, SavedTensor::nbytes)
            + self.result.as_ref().map_or(0, Array::nbytes)
    }
}

impl Tensor {
    /// Applies an elementwise function, recording it for backward.
    pub fn unary(&self, op: Unary) -> Result<Tensor> {
        if !self.dtype().is_floating_point() {
            // Integer and bool inputs: exact, promoted to float, or refused (see integer.rs).
            return crate::ops::integer::unary(op, self);
        }
        let out = op.forward(&self.array())?;
        let saves = op.info().saves;
        record(&[self], out.clone(), || {
            Box::new(UnaryBackward {
                op,
                saved: (saves == Saves::Input).then(|| SavedTensor::new(self, SavedAs::Input(0))),
                result: (saves == Saves::Result).then_some(out),
            })
        })
    }
}

/// `1 / (1 + e^-x)`, in two branches that keep `exp` from overflowing for large `|x|`.
#[inline(always)]
fn sigmoid_of<T: Element>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).fast_exp())
    } else {
        x.fast_exp() / (T::one() + x.fast_exp())
    }
}

/// `max(x, 0)`, keeping NaN a NaN; −∞ gives 0 (as PyTorch; `0 · x` would give NaN there).
#[inline(always)]
fn relu_of<T: Element>(x: T) -> T {
    if x > T::zero() || x.is_nan() {
        x
    } else {
        T::zero()
    }
}

/// -1, 0 or 1 (NaN stays NaN).
fn sign_of<T: Element>(v: T) -> T {
    if v > T::zero() {
        T::one()
    } else if v < T::zero() {
        -T::one()
    } else {
        v * T::zero()
    }
}

/// Rounds to the nearest integer, halves to the even neighbour (IEEE, NumPy, PyTorch).
#[inline(always)]
fn round_half_even<T: Element>(x: T) -> T {
    let r = x.round(); // halves away from zero
    if (x - x.trunc()).abs() == T::of(0.5) {
        (x / T::of(2.0)).round() * T::of(2.0)
    } else {
        r
    }
}

/// Evaluates an `f64` function for either float type (float32 rounds once at the end).
#[inline(always)]
fn via_f64<T: Element>(x: T, f: fn(f64) -> f64) -> T {
    T::of(f(x.to_f64().unwrap_or(f64::NAN)))
}

/// `ln(x / (1 - x))`.
#[inline(always)]
fn logit_of<T: Element>(x: T) -> T {
    (x / (T::one() - x)).ln()
}

/// `sin(πx)/(πx)`, 1 at 0.
#[inline(always)]
fn sinc_of<T: Element>(x: T) -> T {
    if x == T::zero() {
        T::one()
    } else {
        let px = x * T::of(std::f64::consts::PI);
        px.sin() / px
    }
}

/// `erfinv(y)`: Giles' single-precision approximation ("Approximating the erfinv function",
/// 2010) polished by two Newton steps on `erf(x) = y`, which bring it to f64 accuracy.
fn erfinv_of(y: f64) -> f64 {
    if y.is_nan() || !(-1.0..=1.0).contains(&y) {
        return f64::NAN;
    }
    if y == 1.0 || y == -1.0 {
        return y * f64::INFINITY;
    }
    let w = -((1.0 - y) * (1.0 + y)).ln();
    let mut x = if w < 5.0 {
        let w = w - 2.5;
        let mut p = 2.810_226_36e-08;
        for c in [
            3.432_739_39e-07,
            -3.523_387_7e-06,
            -4.391_506_54e-06,
            0.000_218_580_87,
            -0.001_253_725_03,
            -0.004_177_681_64,
            0.246_640_727,
            1.501_409_41,
        ] {
            p = c + p * w;
        }
        p * y
    } else {
        let w = w.sqrt() - 3.0;
        let mut p = -0.000_200_214_257;
        for c in [
            0.000_100_950_558,
            0.001_349_343_22,
            -0.003_673_428_44,
            0.005_739_507_73,
            -0.007_622_461_3,
            0.009_438_870_47,
            1.001_674_06,
            2.832_976_82,
        ] {
            p = c + p * w;
        }
        p * y
    };
    for _ in 0..2 {
        // Newton on erf(x) - y, with erf'(x) = 2/√π e^(-x²)
        let slope = std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp();
        x -= (libm::erf(x) - y) / slope;
    }
    x
}

/// `d sinc(x)/dx = (cos(πx) - sinc(x))/x`, and at 0 its first-order Taylor form
/// `-π²x/3` (0 there, with the right second derivative), so that it stays
/// differentiable through 0.
fn sinc_derivative(x: &Tensor) -> Result<Tensor> {
    use std::f64::consts::PI;
    let at_zero = x.eq(&x.zeros_like()?)?;
    let safe_x = x.ones_like()?.where_cond(&at_zero, x)?; // 1 where x = 0: no 0/0
    let slope = safe_x.mul_scalar(PI)?.cos()?.sub(&safe_x.sinc()?)?.div(&safe_x)?;
    x.mul_scalar(-PI * PI / 3.0)?.where_cond(&at_zero, &slope)
}

/// `d erf(x)/dx = 2/√π · e^(−x²)`, as a differentiable expression of `x`.
fn erf_derivative(x: &Tensor) -> Result<Tensor> {
    x.mul(x)?.neg()?.exp()?.mul_scalar(std::f64::consts::FRAC_2_SQRT_PI)
}

/// `grad · (x > 0)` in one pass with no temporaries: the same values as the composed form
/// (which a `create_graph` backward uses, to stay differentiable).
fn relu_backward(grad: &Tensor, x: &Tensor) -> Result<Tensor> {
    let out = zip_array!("relu", &grad.array(), &x.array(), g, v => {
        zip_broadcast("relu", g, v, Cost::Light, relu_mask)?
    });
    Ok(Tensor::from_array(out))
}

/// `g · (v > 0)`: `g` where `v > 0`, else `g · 0` (so a NaN or infinite `g` gives NaN, as the
/// product does; a NaN or −∞ `v` with a finite `g` gives 0, as the composed form).
#[inline(always)]
fn relu_mask<T: Element>(g: T, v: T) -> T {
    if v > T::zero() {
        g
    } else {
        g * T::zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, grad_of_sum, leaf};

    #[test]
    fn derivatives_match_hand_derived_formulas() {
        let xs = [-1.5, -0.3, 0.0, 0.7, 2.0];
        let x = leaf(&[5], &xs, true);
        let pos = leaf(&[3], &[0.5, 1.0, 4.0], true);
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        // d(-x)/dx = -1
        assert_close(&grad_of_sum(&x, Tensor::neg), &[-1.0; 5], 1e-15);
        // d e^x/dx = e^x
        assert_close(&grad_of_sum(&x, Tensor::exp), &xs.map(f64::exp), 1e-15);
        // d ln x/dx = 1/x
        assert_close(&grad_of_sum(&pos, Tensor::log), &[2.0, 1.0, 0.25], 1e-15);
        // d sqrt x/dx = 1/(2 sqrt x)
        assert_close(
            &grad_of_sum(&pos, Tensor::sqrt),
            &[1.0 / (2.0 * 0.5f64.sqrt()), 0.5, 0.25],
            1e-15,
        );
        // d sin/dx = cos, d cos/dx = -sin
        assert_close(&grad_of_sum(&x, Tensor::sin), &xs.map(f64::cos), 1e-15);
        assert_close(&grad_of_sum(&x, Tensor::cos), &xs.map(|v| -v.sin()), 1e-15);
        // d tanh/dx = 1 - tanh²
        assert_close(&grad_of_sum(&x, Tensor::tanh), &xs.map(|v| 1.0 - v.tanh().powi(2)), 1e-15);
        // d σ/dx = σ (1 - σ)
        assert_close(
            &grad_of_sum(&x, Tensor::sigmoid),
            &xs.map(|v| sig(v) * (1.0 - sig(v))),
            1e-15,
        );
        // relu' and abs' are 0 at 0 (subgradient convention)
        assert_close(&grad_of_sum(&x, Tensor::relu), &[0.0, 0.0, 0.0, 1.0, 1.0], 0.0);
        assert_close(&grad_of_sum(&x, Tensor::abs), &[-1.0, -1.0, 0.0, 1.0, 1.0], 0.0);
    }

    #[test]
    fn sigmoid_does_not_overflow() {
        let x = leaf(&[2], &[-1000.0, 1000.0], false);
        assert_eq!(crate::testutil::values(&x.sigmoid().unwrap()), vec![0.0, 1.0]);
    }
}
