//! The gamma family: `lgamma` and `digamma` (stanzas in [`for_each_unary`](crate::for_each_unary)),
//! `polygamma(n, x)` (its own primitive: the order `n` is a parameter), and the scalar
//! functions they evaluate.
//!
//! Each is the next one's derivative: `lgamma' = digamma = ψ`, `ψ' = ψ⁽¹⁾`, `ψ⁽ⁿ⁾' = ψ⁽ⁿ⁺¹⁾`,
//! so gradients of any order are exact. `ψ⁽ⁿ⁾(x) = (−1)ⁿ⁺¹ n! ζ(n+1, x)` for `n ≥ 1`, with
//! the Hurwitz zeta function `ζ(s, q) = Σₖ (q + k)⁻ˢ` summed directly until `q + k ≥ 9` and
//! finished with the Euler–Maclaurin tail (as Cephes' `zeta` does).

use crate::array::Element;
use crate::error::{Error, Result};
use crate::graph::{record, Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use crate::map_array;
use crate::ops::binary::map_elements;
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::parallel::Cost;
use crate::tensor::Tensor;
use num_traits::ToPrimitive;

/// `ψ(x) = d ln Γ(x)/dx`: −∞ at 0 (PyTorch's value), NaN at the negative integers.
pub(crate) fn digamma_of(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY; // PyTorch's value at ±0
    }
    if x < 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        // Reflection: ψ(1 − x) − ψ(x) = π cot(πx).
        let pi = std::f64::consts::PI;
        return digamma_of(1.0 - x) - pi / (pi * x).tan();
    }
    // Recurrence ψ(x) = ψ(x + 1) − 1/x up to x ≥ 10, then the asymptotic series
    // ψ(x) ~ ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ).
    let mut shift = 0.0;
    let mut y = x;
    while y < 10.0 {
        shift -= 1.0 / y;
        y += 1.0;
    }
    let z = 1.0 / (y * y);
    // B₂/2, B₄/4, ..., B₁₄/14
    const C: [f64; 7] = [
        1.0 / 12.0,
        -1.0 / 120.0,
        1.0 / 252.0,
        -1.0 / 240.0,
        1.0 / 132.0,
        -691.0 / 32760.0,
        1.0 / 12.0,
    ];
    let series = C.iter().rev().fold(0.0, |acc, c| acc * z + c) * z;
    shift + y.ln() - 0.5 / y - series
}

/// The Hurwitz zeta function `ζ(s, q) = Σ_{k≥0} (q + k)^(−s)` for `s > 1`; `+∞` at the poles
/// `q = 0, −1, −2, ...`.
pub(crate) fn hurwitz_zeta(s: f64, q: f64) -> f64 {
    if q.is_nan() || s.is_nan() {
        return f64::NAN;
    }
    if q <= 0.0 && q == q.floor() {
        return f64::INFINITY;
    }
    if q == f64::INFINITY {
        return 0.0;
    }
    // Direct sum until the terms are small and q + k ≥ 9.
    let mut total = q.powf(-s);
    let mut a = q;
    let mut i = 0;
    while i < 9 || a <= 9.0 {
        i += 1;
        a += 1.0;
        let term = a.powf(-s);
        total += term;
        if (term / total).abs() < f64::EPSILON {
            return total;
        }
    }
    // Euler–Maclaurin: ∫_a^∞ t^(−s) dt − a^(−s)/2 + Σ B₂ⱼ/(2j)! s(s+1)…(s+2j−2) a^(−s−2j+1).
    // The first term above the sum counted a^(−s) fully; the integral's correction halves it.
    const B2J_OVER_FACT: [f64; 12] = [
        1.0 / 12.0,
        -1.0 / 720.0,
        1.0 / 30_240.0,
        -1.0 / 1_209_600.0,
        1.0 / 47_900_160.0,
        -691.0 / 1_307_674_368_000.0,
        1.0 / 74_724_249_600.0,
        -3617.0 / 10_670_622_842_880_000.0,
        43_867.0 / 5_109_094_217_170_944_000.0,
        -174_611.0 / 802_857_662_698_291_200_000.0,
        77_683.0 / 14_101_100_039_391_805_440_000.0,
        -236_364_091.0 / 1_693_824_136_731_743_669_452_800_000.0,
    ];
    let w = a;
    total += w.powf(1.0 - s) / (s - 1.0) - 0.5 * w.powf(-s);
    let mut rising = s; // s(s+1)…(s+2j−2)
    let mut power = w.powf(-s - 1.0); // w^(−s−2j+1)
    for (j, b) in B2J_OVER_FACT.iter().enumerate() {
        let term = b * rising * power;
        total += term;
        if (term / total).abs() < f64::EPSILON {
            break;
        }
        let k = 2.0 * j as f64;
        rising *= (s + k + 1.0) * (s + k + 2.0);
        power /= w * w;
    }
    total
}

/// `ψ⁽ⁿ⁾(x)`, the n-th derivative of the digamma function.
pub(crate) fn polygamma_of(n: u32, x: f64) -> f64 {
    if n == 0 {
        return digamma_of(x);
    }
    let factorial: f64 = (1..=n).map(f64::from).product();
    let sign = if n % 2 == 1 { 1.0 } else { -1.0 };
    sign * factorial * hurwitz_zeta(f64::from(n) + 1.0, x)
}

/// `ψ⁽ⁿ⁾(x)` for `n ≥ 1`, whose derivative is `ψ⁽ⁿ⁺¹⁾(x)`.
pub(crate) struct PolygammaBackward {
    n: u32,
    x: SavedTensor,
}

impl Primitive for PolygammaBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "PolygammaBackward",
        family: "special",
        api: &["polygamma"],
        saves: Saves::Input,
        derivative: "d ψ⁽ⁿ⁾(x)/dx = ψ⁽ⁿ⁺¹⁾(x)",
        batch: BatchRule::Elementwise,
    };
}

impl Backward for PolygammaBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = self.x.get(self.name())?;
        Ok(vec![Some(grad.mul(&x.polygamma(self.n + 1)?)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.mul(&j.inputs[0].polygamma(self.n + 1)?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.x.info()]
    }
}

impl Tensor {
    /// `ψ⁽ⁿ⁾(x)`, the n-th derivative of [`digamma`](Tensor::digamma) (`n = 0` is digamma
    /// itself). Integer inputs are promoted to the default float dtype, as PyTorch does.
    pub fn polygamma(&self, n: u32) -> Result<Tensor> {
        if n == 0 {
            return self.digamma();
        }
        if !self.dtype().is_floating_point() {
            return self.to_dtype(crate::array::default_float_dtype())?.polygamma(n);
        }
        let out = map_array!("polygamma"; &self.array(), a => map_elements("polygamma", a, Cost::Heavy, |v| {
            Element::of(polygamma_of(n, v.to_f64().unwrap_or(f64::NAN)))
        })?);
        record(&[self], out, || {
            Box::new(PolygammaBackward { n, x: SavedTensor::new(self, SavedAs::Input(0)) })
        })
    }
}

/// The error for a negative polygamma order (the binding takes a signed int).
pub fn negative_order(n: i64) -> Error {
    Error::Value {
        op: "polygamma",
        message: format!("polygamma(n, x) does not support negative n, got n = {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) {
        assert!((a - b).abs() <= rel * b.abs().max(1e-300), "{a} vs {b}");
    }

    #[test]
    fn digamma_matches_known_values() {
        let euler = 0.577_215_664_901_532_9;
        close(digamma_of(1.0), -euler, 1e-15);
        close(digamma_of(0.5), -euler - 2.0 * std::f64::consts::LN_2, 1e-15);
        close(digamma_of(10.0), 2.251_752_589_066_721, 1e-15);
        close(digamma_of(-0.5), 0.036_489_973_978_576_52, 1e-13);
        assert!(digamma_of(-2.0).is_nan());
        assert_eq!(digamma_of(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn polygamma_matches_zeta_values() {
        let pi2 = std::f64::consts::PI.powi(2);
        close(polygamma_of(1, 1.0), pi2 / 6.0, 1e-14); // ζ(2)
        close(polygamma_of(1, 0.5), pi2 / 2.0, 1e-14);
        close(polygamma_of(2, 1.0), -2.0 * 1.202_056_903_159_594_3, 1e-14); // −2 ζ(3)
        close(polygamma_of(3, 1.0), 6.0 * pi2 * pi2 / 90.0, 1e-14); // 3! ζ(4)
                                                                    // recurrence ψ⁽¹⁾(x + 1) = ψ⁽¹⁾(x) − 1/x², also for negative x
        for x in [-2.5, -0.3, 0.2, 3.7, 25.0] {
            close(polygamma_of(1, x + 1.0), polygamma_of(1, x) - 1.0 / (x * x), 1e-12);
        }
    }

    #[test]
    fn derivatives_chain_up_the_family() {
        // central differences of ψ⁽ⁿ⁾ against ψ⁽ⁿ⁺¹⁾
        let h = 1e-5;
        for n in 0..3 {
            for x in [0.7, 2.3, 11.0, -1.4] {
                let fd = (polygamma_of(n, x + h) - polygamma_of(n, x - h)) / (2.0 * h);
                close(fd, polygamma_of(n + 1, x), 1e-6);
            }
        }
        let fd = (libm::lgamma(3.3 + h) - libm::lgamma(3.3 - h)) / (2.0 * h);
        close(fd, digamma_of(3.3), 1e-8);
    }
}
