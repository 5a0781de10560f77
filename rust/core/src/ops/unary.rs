//! Elementwise functions of one tensor: forward and VJP side by side.
//!
//! Each [`Unary`] variant states its value, whether its derivative is cheaper from the input
//! (`x`) or from the output (`result`), and its VJP as a one-line Tensor expression. The match
//! in [`Unary::vjp`] is exhaustive: a new function without a derivative does not compile.

use crate::array::{Array, Element};
use crate::error::Result;
use crate::graph::{derivatives_tracked, record, Backward, SavedInfo, SavedTensor, VjpContext};
use crate::map_array;
use crate::ops::binary::{map_elements, zip_broadcast};
use crate::parallel::Cost;
use crate::tensor::Tensor;
use crate::zip_array;

/// The differentiable elementwise functions of one argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unary {
    /// `-x`
    Neg,
    /// `e^x`
    Exp,
    /// natural logarithm
    Log,
    /// `ln(1 + x)`, accurate for tiny `x`
    Log1p,
    /// the error function
    Erf,
    /// square root
    Sqrt,
    /// sine
    Sin,
    /// cosine
    Cos,
    /// hyperbolic tangent
    Tanh,
    /// logistic sigmoid `1 / (1 + e^-x)`
    Sigmoid,
    /// `max(x, 0)`; subgradient 0 at 0 (as PyTorch)
    Relu,
    /// `|x|`; subgradient 0 at 0 (as PyTorch)
    Abs,
}

/// What a rule keeps for its VJP (dfdx's `DF_USES_FX`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Saves {
    Nothing,
    Input,
    Result,
}

impl Unary {
    /// Name of the node this op records.
    pub fn backward_name(self) -> &'static str {
        match self {
            Unary::Neg => "NegBackward",
            Unary::Exp => "ExpBackward",
            Unary::Log => "LogBackward",
            Unary::Log1p => "Log1pBackward",
            Unary::Erf => "ErfBackward",
            Unary::Sqrt => "SqrtBackward",
            Unary::Sin => "SinBackward",
            Unary::Cos => "CosBackward",
            Unary::Tanh => "TanhBackward",
            Unary::Sigmoid => "SigmoidBackward",
            Unary::Relu => "ReluBackward",
            Unary::Abs => "AbsBackward",
        }
    }

    #[inline(always)]
    fn apply<T: Element>(self, x: T) -> T {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.fast_exp(),
            Unary::Log => x.ln(),
            Unary::Log1p => x.ln_1p(),
            Unary::Erf => x.erf(),
            Unary::Sqrt => x.sqrt(),
            Unary::Sin => x.sin(),
            Unary::Cos => x.cos(),
            Unary::Tanh => x.tanh(),
            // Two branches keep exp from overflowing for large |x|.
            Unary::Sigmoid if x >= T::zero() => T::one() / (T::one() + (-x).fast_exp()),
            Unary::Sigmoid => x.fast_exp() / (T::one() + x.fast_exp()),
            Unary::Relu if x > T::zero() => x,
            Unary::Relu => T::zero() * x, // keeps NaN a NaN
            Unary::Abs => x.abs(),
        }
    }

    /// Work per element, for the parallel split.
    fn cost(self) -> Cost {
        match self {
            Unary::Neg | Unary::Relu | Unary::Abs => Cost::Light,
            _ => Cost::Heavy,
        }
    }

    fn saves(self) -> Saves {
        match self {
            Unary::Neg => Saves::Nothing,
            Unary::Exp | Unary::Sqrt | Unary::Tanh | Unary::Sigmoid => Saves::Result,
            Unary::Log | Unary::Log1p | Unary::Erf => Saves::Input,
            Unary::Sin | Unary::Cos | Unary::Relu | Unary::Abs => Saves::Input,
        }
    }

    /// ∂L/∂x given `grad` = ∂L/∂out; `x` is the input or the result, as [`Saves`] says.
    fn vjp(self, grad: &Tensor, x: &Tensor) -> Result<Tensor> {
        match self {
            Unary::Neg => grad.neg(),                                  // d(-x)/dx = -1
            Unary::Exp => grad.mul(x),                                 // d(e^x)/dx = result
            Unary::Log => grad.div(x),                                 // d(ln x)/dx = 1/x
            Unary::Log1p => grad.div(&x.add_scalar(1.0)?),             // 1/(1 + x)
            Unary::Erf => grad.mul(&erf_derivative(x)?),               // 2/√π e^(−x²)
            Unary::Sqrt => grad.div(&x.mul_scalar(2.0)?),              // 1/(2 result)
            Unary::Sin => grad.mul(&x.cos()?),                         // cos x
            Unary::Cos => grad.mul(&x.sin()?.neg()?),                  // -sin x
            Unary::Tanh => grad.mul(&x.mul(x)?.rsub_scalar(1.0)?),     // 1 - result²
            Unary::Sigmoid => grad.mul(&x.mul(&x.rsub_scalar(1.0)?)?), // result (1 - result)
            Unary::Relu if !derivatives_tracked() => relu_backward(grad, x), // one fused pass
            Unary::Relu => grad.mul(&x.gt(&x.zeros_like())?),          // 1 where x > 0
            Unary::Abs => grad.mul(&x.sign()?),                        // sign x (0 at 0)
        }
    }

    /// Applies the function elementwise to an array.
    pub fn forward(self, x: &Array) -> Array {
        if let Some(out) = crate::kernels::wiring::unary_forward(self, x) {
            return out;
        }
        // One monomorphic loop per function (the variant is a constant inside each closure),
        // so the match is not re-run per element and the loops vectorise.
        macro_rules! each {
            ($($f:ident),*) => {
                match self {
                    $(Unary::$f => map_array!(x, a => map_elements(a, self.cost(), |v| Unary::$f.apply(v))),)*
                }
            };
        }
        each!(Neg, Exp, Log, Log1p, Erf, Sqrt, Sin, Cos, Tanh, Sigmoid, Relu, Abs)
    }
}

struct UnaryBackward {
    op: Unary,
    saved: Option<SavedTensor>,
    result: Option<Array>,
}

impl Backward for UnaryBackward {
    fn name(&self) -> &str {
        self.op.backward_name()
    }

    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = match (&self.saved, &self.result) {
            (Some(saved), _) => saved.get(self.name())?,
            (None, Some(result)) => ctx.result(result),
            (None, None) => grad.clone(), // Saves::Nothing: the rule does not read it
        };
        Ok(vec![Some(self.op.vjp(grad, &x)?)])
    }

    fn jvp(
        &self,
        inputs: &[&Tensor],
        result: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Result<Option<Tensor>> {
        // An elementwise function has a diagonal Jacobian, which is its own transpose: the JVP
        // is the VJP rule applied to the tangent.
        let Some(t) = &tangents[0] else { return Ok(None) };
        let x = if self.op.saves() == Saves::Result { result } else { inputs[0] };
        Ok(Some(self.op.vjp(t, x)?))
    }

    fn saved(&self) -> Vec<SavedInfo> {
        let mut out = Vec::new();
        if let Some(s) = &self.saved {
            out.push(s.info());
        }
        if let Some(r) = &self.result {
            out.push(SavedInfo::of("output", r));
        }
        out
    }

    fn saved_bytes(&self) -> usize {
        self.saved.as_ref().map_or(0, SavedTensor::nbytes)
            + self.result.as_ref().map_or(0, Array::nbytes)
    }
}

impl Tensor {
    /// Applies an elementwise function, recording it for backward.
    pub fn unary(&self, op: Unary) -> Result<Tensor> {
        let out = op.forward(&self.array());
        let saves = op.saves();
        record(&[self], out.clone(), || {
            Box::new(UnaryBackward {
                op,
                saved: (saves == Saves::Input).then(|| SavedTensor::new(self, "input")),
                result: (saves == Saves::Result).then_some(out),
            })
        })
    }

    /// `-self`
    pub fn neg(&self) -> Result<Tensor> {
        self.unary(Unary::Neg)
    }
    /// `e^self`
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(Unary::Exp)
    }
    /// Natural logarithm.
    pub fn log(&self) -> Result<Tensor> {
        self.unary(Unary::Log)
    }
    /// `ln(1 + self)`, accurate for tiny `self`.
    pub fn log1p(&self) -> Result<Tensor> {
        self.unary(Unary::Log1p)
    }
    /// The error function `erf(self) = 2/√π ∫₀^self e^(−t²) dt`.
    pub fn erf(&self) -> Result<Tensor> {
        self.unary(Unary::Erf)
    }
    /// Square root.
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(Unary::Sqrt)
    }
    /// Sine.
    pub fn sin(&self) -> Result<Tensor> {
        self.unary(Unary::Sin)
    }
    /// Cosine.
    pub fn cos(&self) -> Result<Tensor> {
        self.unary(Unary::Cos)
    }
    /// Hyperbolic tangent.
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(Unary::Tanh)
    }
    /// Logistic sigmoid.
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(Unary::Sigmoid)
    }
    /// `max(self, 0)`.
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(Unary::Relu)
    }
    /// `|self|`.
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(Unary::Abs)
    }

    /// Sign (-1, 0 or 1) as a constant: it has zero derivative almost everywhere.
    pub fn sign(&self) -> Result<Tensor> {
        let out = map_array!(&self.array(), a => a.mapv(sign_of));
        Ok(Tensor::from_array(out))
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
/// product does).
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
