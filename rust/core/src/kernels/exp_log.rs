//! `exp`, `log`, `tanh` and `sigmoid` over slices, vectorised at the dispatched [`Level`].
//!
//! The element functions ([`element`]) are branch-free straight-line code (range reduction, a
//! polynomial, an exponent built from bits, special values chosen by selects), so a loop over
//! them compiles to SIMD at every level. No fused multiply-add is used: all levels round alike
//! and give bit-identical results.
//!
//! Accuracy (checked by the tests below on dense sweeps of the whole range and on random bit
//! patterns; f32 against the platform's f64 functions rounded to f32, f64 against the
//! platform's f64 functions, glibc's, themselves within 1 ulp): `exp` and `log` within 2 ulp,
//! `tanh` within 3 ulp, `sigmoid` within 3 ulp (f32 against `1 / (1 + e^-x)` in f64; f64
//! against the same formula with the platform `exp`, whose own error it inherits). Subnormal
//! results are compared absolutely (2 units of the smallest subnormal). Special values are the
//! platform's: NaN → NaN, ±inf, ±0 (`tanh(-0) = -0`), overflow to inf and underflow to 0.

use super::dispatch::{self, Level};

/// The element functions behind the slice kernels: usable one value at a time, and the
/// scalar reference the slice kernels are tested against.
pub mod element {
    pub use crate::math::{exp_f32, exp_f64};

    /// `ln x` for `f32`. `x = 2^k · m` with `m` in [√½, √2) (a bit trick moves the split
    /// point of the mantissa from 1 to √½, so no branch), `f = m - 1`, `s = f / (2 + f)`, and
    /// `ln(1 + f) = f - f²/2 + s (f²/2 + R(s²))` with `R(z) = Σ 2zᵏ/(2k+1)` (the series of
    /// `2 atanh s`, which converges fast because |s| < 0.172), as in fdlibm's `log`.
    #[inline(always)]
    pub fn log_f32(x: f32) -> f32 {
        // Subnormals are scaled by 2^23 into the normal range first.
        let subnormal = x < f32::MIN_POSITIVE;
        let scaled = if subnormal { x * 8_388_608.0 } else { x };
        let bias = if subnormal { -23i32 } else { 0 };
        // Adding the bits of 1 minus those of √½ carries into the exponent field exactly when
        // the mantissa is at least √½: the exponent field then holds k + 127, and the low bits
        // plus √½'s bits rebuild m in [√½, √2).
        const SQRT_HALF_BITS: i32 = 0x3f35_04f3;
        let bits = (scaled.to_bits() as i32).wrapping_add(0x3f80_0000 - SQRT_HALF_BITS);
        let k = (bits >> 23) - 127 + bias;
        let m = f32::from_bits(((bits & 0x007f_ffff) + SQRT_HALF_BITS) as u32);
        let f = m - 1.0;
        let s = f / (2.0 + f);
        let z = s * s;
        let r = z * (2.0 / 3.0 + z * (2.0 / 5.0 + z * (2.0 / 7.0 + z * (2.0 / 9.0))));
        let half_f2 = 0.5 * f * f;
        let kf = k as f32;
        // ln 2 split so that k · LN2_HI is exact for |k| < 2^15.
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        let y = kf * LN2_HI - ((half_f2 - (s * (half_f2 + r) + kf * LN2_LO)) - f);
        let y = if x == f32::INFINITY { x } else { y };
        let y = if x == 0.0 { f32::NEG_INFINITY } else { y };
        // Negative inputs and NaN (every comparison with NaN is false).
        if x >= 0.0 {
            y
        } else {
            f32::NAN
        }
    }

    /// `ln x` for `f64`: the scheme of [`log_f32`] with ten terms of `R`.
    #[inline(always)]
    pub fn log_f64(x: f64) -> f64 {
        let subnormal = x < f64::MIN_POSITIVE;
        let scaled = if subnormal { x * 18_014_398_509_481_984.0 } else { x }; // 2^54
        let bias = if subnormal { -54i64 } else { 0 };
        const SQRT_HALF_BITS: i64 = 0x3fe6_a09e_667f_3bcd;
        let bits = (scaled.to_bits() as i64).wrapping_add(0x3ff0_0000_0000_0000 - SQRT_HALF_BITS);
        let k = (bits >> 52) - 1023 + bias;
        let m = f64::from_bits(((bits & 0x000f_ffff_ffff_ffff) + SQRT_HALF_BITS) as u64);
        let f = m - 1.0;
        let s = f / (2.0 + f);
        let z = s * s;
        let mut r = 2.0 / 21.0;
        for d in [19.0, 17.0, 15.0, 13.0, 11.0, 9.0, 7.0, 5.0, 3.0] {
            r = r * z + 2.0 / d;
        }
        let r = r * z;
        let half_f2 = 0.5 * f * f;
        // k as a float without a saturating `as` (which would not vectorise): |k| < 2^11.
        let kf = (k as i32) as f64;
        // fdlibm's split of ln 2: k · LN2_HI is exact for |k| < 2^20.
        const LN2_HI: f64 = 6.931_471_803_691_238e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        let y = kf * LN2_HI - ((half_f2 - (s * (half_f2 + r) + kf * LN2_LO)) - f);
        let y = if x == f64::INFINITY { x } else { y };
        let y = if x == 0.0 { f64::NEG_INFINITY } else { y };
        if x >= 0.0 {
            y
        } else {
            f64::NAN
        }
    }

    /// `e^x - 1` for `0 ≤ x ≤ 20` (all [`tanh_f32`] needs): `x = n ln2 + r`, `|r| ≤ ln2/2`,
    /// `e^x - 1 = 2^n (e^r - 1) + (2^n - 1)` with `e^r - 1` by its Taylor series to `r^8`
    /// (no constant term, so small `x` keep their relative accuracy).
    #[inline(always)]
    fn expm1_small_f32(x: f32) -> f32 {
        const ROUND: f32 = 12_582_912.0; // 1.5·2^23
        let shifted = x * std::f32::consts::LOG2_E + ROUND;
        let n = shifted - ROUND;
        let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
        let mut p = 1.0 / 40320.0;
        for c in [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5] {
            p = p * r + c;
        }
        let p = r + r * r * p;
        let n = shifted.to_bits() as i32 - ROUND.to_bits() as i32;
        let two_n = f32::from_bits(((n + 127) as u32) << 23);
        two_n * p + (two_n - 1.0)
    }

    /// `e^x - 1` for `0 ≤ x ≤ 40`: [`expm1_small_f32`]'s scheme, Taylor series to `r^14`.
    #[inline(always)]
    fn expm1_small_f64(x: f64) -> f64 {
        const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5·2^52
        let shifted = x * std::f64::consts::LOG2_E + ROUND;
        let n = shifted - ROUND;
        let r = x - n * 6.931_471_803_691_238e-1 - n * 1.908_214_929_270_587_7e-10;
        // 1/k! for k = 14 down to 2.
        let mut p = 1.147_074_559_772_972_5e-11;
        for c in [
            1.605_904_383_682_161_3e-10,
            2.087_675_698_786_81e-9,
            2.505_210_838_544_172e-8,
            2.755_731_922_398_589e-7,
            2.755_731_922_398_589e-6,
            2.480_158_730_158_73e-5,
            1.984_126_984_126_984e-4,
            1.388_888_888_888_889e-3,
            8.333_333_333_333_333e-3,
            4.166_666_666_666_666_4e-2,
            1.666_666_666_666_666_6e-1,
            0.5,
        ] {
            p = p * r + c;
        }
        let p = r + r * r * p;
        let n = shifted.to_bits() as i64 - ROUND.to_bits() as i64;
        let two_n = f64::from_bits(((n + 1023) as u64) << 52);
        two_n * p + (two_n - 1.0)
    }

    /// `tanh x` for `f32`: `tanh |x| = e / (e + 2)` with `e = e^(2|x|) - 1`, sign restored.
    /// `|x|` is capped at 10, beyond which `tanh` rounds to ±1.
    #[inline(always)]
    pub fn tanh_f32(x: f32) -> f32 {
        let a = x.abs();
        let a = if a > 10.0 { 10.0 } else { a }; // keeps NaN
        let e = expm1_small_f32(2.0 * a);
        (e / (e + 2.0)).copysign(x)
    }

    /// `tanh x` for `f64`: [`tanh_f32`]'s scheme, `|x|` capped at 20.
    #[inline(always)]
    pub fn tanh_f64(x: f64) -> f64 {
        let a = x.abs();
        let a = if a > 20.0 { 20.0 } else { a };
        let e = expm1_small_f64(2.0 * a);
        (e / (e + 2.0)).copysign(x)
    }

    /// The logistic sigmoid `1 / (1 + e^-x)` for `f32`, as `1 / (1 + e)` for `x ≥ 0` and
    /// `e / (1 + e)` below, with `e = e^-|x|` ≤ 1, so nothing overflows.
    #[inline(always)]
    pub fn sigmoid_f32(x: f32) -> f32 {
        let e = exp_f32(-x.abs());
        let numerator = if x >= 0.0 { 1.0 } else { e };
        numerator / (1.0 + e)
    }

    /// The logistic sigmoid for `f64`: the scheme of [`sigmoid_f32`].
    #[inline(always)]
    pub fn sigmoid_f64(x: f64) -> f64 {
        let e = exp_f64(-x.abs());
        let numerator = if x >= 0.0 { 1.0 } else { e };
        numerator / (1.0 + e)
    }
}

/// One elementwise loop, handed to [`dispatch::run`] so that it is compiled for each level.
struct MapLoop<'a, T, F> {
    x: &'a [T],
    out: &'a mut [T],
    f: F,
}

impl<T: Copy, F: Fn(T) -> T> pulp::NullaryFnOnce for MapLoop<'_, T, F> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        for (o, &v) in self.out.iter_mut().zip(self.x) {
            *o = (self.f)(v);
        }
    }
}

/// `out[i] = f(x[i])` at `level`.
#[inline(always)]
pub(crate) fn map_at<T: Copy, F: Fn(T) -> T>(level: Level, x: &[T], out: &mut [T], f: F) {
    assert_eq!(x.len(), out.len(), "input and output lengths differ");
    dispatch::run(level, MapLoop { x, out, f });
}

macro_rules! slice_kernels {
    ($($name:ident, $at:ident, $t:ty, $what:literal;)*) => {$(
        #[doc = concat!("`out[i] = ", $what, "(x[i])` for `", stringify!($t), "` at the ",
            "dispatched level (see [`element`] for the accuracy). Panics if the lengths differ.")]
        pub fn $name(x: &[$t], out: &mut [$t]) {
            $at(dispatch::level(), x, out)
        }

        #[doc = concat!("[`", stringify!($name), "`] at a given level (tests, benchmarks).")]
        pub fn $at(level: Level, x: &[$t], out: &mut [$t]) {
            map_at(level, x, out, element::$name)
        }
    )*};
}

slice_kernels! {
    exp_f32, exp_f32_at, f32, "e^";
    exp_f64, exp_f64_at, f64, "e^";
    log_f32, log_f32_at, f32, "ln";
    log_f64, log_f64_at, f64, "ln";
    tanh_f32, tanh_f32_at, f32, "tanh";
    tanh_f64, tanh_f64_at, f64, "tanh";
    sigmoid_f32, sigmoid_f32_at, f32, "sigmoid";
    sigmoid_f64, sigmoid_f64_at, f64, "sigmoid";
}

#[cfg(test)]
#[path = "exp_log_tests.rs"]
mod tests;
