//! The slice kernels against the platform's functions: accuracy over the whole range, special
//! values, every tail length, every dispatch level.

use super::element::*;
use super::{
    exp_f32_at, exp_f64_at, log_f32_at, log_f64_at, sigmoid_f32_at, sigmoid_f64_at, tanh_f32_at,
    tanh_f64_at, Level,
};
use rand::{Rng, SeedableRng};

/// Distance in units in the last place, across zero and through the subnormals (where one
/// unit is the smallest subnormal): the floats' order as integers.
pub(crate) fn ulps32(a: f32, b: f32) -> u64 {
    let key = |v: f32| {
        let bits = v.to_bits() as i64;
        if bits & 0x8000_0000 != 0 {
            -(bits & 0x7fff_ffff)
        } else {
            bits
        }
    };
    (key(a) - key(b)).unsigned_abs()
}

pub(crate) fn ulps64(a: f64, b: f64) -> u64 {
    let key = |v: f64| {
        let bits = v.to_bits() as i128;
        if bits & (1 << 63) != 0 {
            -(bits & 0x7fff_ffff_ffff_ffff)
        } else {
            bits
        }
    };
    (key(a) - key(b)).unsigned_abs() as u64
}

/// Same special value (NaN with NaN, equal bits otherwise: ±0 and ±inf must match).
fn same32(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
fn same64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn ref_sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

type F32Case = (&'static str, fn(f32) -> f32, fn(f64) -> f64, u64);
type F64Case = (&'static str, fn(f64) -> f64, fn(f64) -> f64, u64);

const F32_CASES: [F32Case; 4] = [
    ("exp", exp_f32, f64::exp, 2),
    ("log", log_f32, f64::ln, 2),
    ("tanh", tanh_f32, f64::tanh, 3),
    ("sigmoid", sigmoid_f32, ref_sigmoid, 3),
];
const F64_CASES: [F64Case; 4] = [
    ("exp", exp_f64, f64::exp, 2),
    ("log", log_f64, f64::ln, 2),
    ("tanh", tanh_f64, f64::tanh, 3),
    ("sigmoid", sigmoid_f64, ref_sigmoid, 3),
];

/// Inputs covering the whole range: random bit patterns (every exponent equally likely),
/// a dense sweep of the interesting interval, and the edges.
fn inputs_f32(lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(16);
    let mut xs: Vec<f32> = (0..400_000).map(|_| f32::from_bits(rng.random::<u32>())).collect();
    let n = 400_000;
    xs.extend((0..=n).map(|i| lo + (hi - lo) * i as f32 / n as f32));
    xs.extend(edges_f32());
    xs
}

fn inputs_f64(lo: f64, hi: f64) -> Vec<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(64);
    let mut xs: Vec<f64> = (0..400_000).map(|_| f64::from_bits(rng.random::<u64>())).collect();
    let n = 400_000;
    xs.extend((0..=n).map(|i| lo + (hi - lo) * i as f64 / n as f64));
    xs.extend(edges_f64());
    xs
}

fn edges_f32() -> Vec<f32> {
    let mut v = vec![
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        0.0,
        -0.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        1.0,
        -1.0,
        88.72,
        88.73,
        -87.3,
        -103.9,
        -104.0,
        -110.0,
        9.0,
        10.0,
        10.5,
        -10.5,
        1e-30,
        -1e-30,
        0.5,
        std::f32::consts::FRAC_1_SQRT_2,
        std::f32::consts::SQRT_2,
    ];
    // Subnormals, positive and negative.
    v.extend(
        [1u32, 2, 3, 0x40_0000, 0x7f_ffff]
            .iter()
            .flat_map(|&b| [f32::from_bits(b), -f32::from_bits(b)]),
    );
    v
}

fn edges_f64() -> Vec<f64> {
    let mut v = vec![
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        1.0,
        -1.0,
        709.78,
        709.79,
        -708.4,
        -745.1,
        -745.2,
        -746.0,
        -800.0,
        19.0,
        20.0,
        20.5,
        -20.5,
        1e-300,
        -1e-300,
        0.5,
        std::f64::consts::FRAC_1_SQRT_2,
        std::f64::consts::SQRT_2,
    ];
    v.extend(
        [1u64, 2, 3, 1 << 51, (1 << 52) - 1]
            .iter()
            .flat_map(|&b| [f64::from_bits(b), -f64::from_bits(b)]),
    );
    v
}

#[test]
fn f32_functions_are_within_their_ulp_bound_of_f64_everywhere_with_the_same_special_values() {
    for (name, f, reference, bound) in F32_CASES {
        let (lo, hi) = match name {
            "log" => (0.0, 10.0),
            "tanh" => (-10.0, 10.0),
            _ => (-110.0, 90.0),
        };
        let mut worst = (0, 0.0);
        for x in inputs_f32(lo, hi) {
            let (got, want) = (f(x), reference(x as f64) as f32);
            if !want.is_finite() || want == 0.0 || !got.is_finite() || got == 0.0 {
                assert!(same32(got, want), "{name}({x:e}) = {got:e}, want {want:e}");
            } else if ulps32(got, want) > worst.0 {
                worst = (ulps32(got, want), x);
            }
        }
        eprintln!("{name} f32 worst {} ulp at {:e}", worst.0, worst.1);
        assert!(worst.0 <= bound, "{name} f32: {} ulp at x = {:e}", worst.0, worst.1);
    }
}

#[test]
fn f64_functions_are_within_their_ulp_bound_of_the_platform_with_the_same_special_values() {
    for (name, f, reference, bound) in F64_CASES {
        let (lo, hi) = match name {
            "log" => (0.0, 10.0),
            "tanh" => (-20.0, 20.0),
            _ => (-750.0, 710.0),
        };
        let mut worst = (0, 0.0);
        for x in inputs_f64(lo, hi) {
            let (got, want) = (f(x), reference(x));
            if !want.is_finite() || want == 0.0 || !got.is_finite() || got == 0.0 {
                assert!(same64(got, want), "{name}({x:e}) = {got:e}, want {want:e}");
            } else if ulps64(got, want) > worst.0 {
                worst = (ulps64(got, want), x);
            }
        }
        eprintln!("{name} f64 worst {} ulp at {:e}", worst.0, worst.1);
        assert!(worst.0 <= bound, "{name} f64: {} ulp at x = {:e}", worst.0, worst.1);
    }
}

#[test]
fn the_special_values_are_the_platforms() {
    for x in edges_f32() {
        let cases: [(f32, f32); 3] =
            [(exp_f32(x), x.exp()), (log_f32(x), x.ln()), (tanh_f32(x), x.tanh())];
        for (got, want) in cases {
            assert!(
                same32(got, want) || (want.is_finite() && want != 0.0),
                "x = {x:e}: {got:e} vs {want:e}"
            );
        }
    }
    for x in edges_f64() {
        let cases: [(f64, f64); 3] =
            [(exp_f64(x), x.exp()), (log_f64(x), x.ln()), (tanh_f64(x), x.tanh())];
        for (got, want) in cases {
            assert!(
                same64(got, want) || (want.is_finite() && want != 0.0),
                "x = {x:e}: {got:e} vs {want:e}"
            );
        }
    }
    assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(sigmoid_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(sigmoid_f64(f64::INFINITY), 1.0);
    assert!(sigmoid_f32(f32::NAN).is_nan() && sigmoid_f64(f64::NAN).is_nan());
    assert_eq!(log_f64(-0.0), f64::NEG_INFINITY);
    assert!(log_f32(-f32::from_bits(1)).is_nan());
}

/// A slice kernel at a given level, and its element function.
type SliceF32 = (fn(Level, &[f32], &mut [f32]), fn(f32) -> f32);
type SliceF64 = (fn(Level, &[f64], &mut [f64]), fn(f64) -> f64);
const SLICES_F32: [SliceF32; 4] = [
    (exp_f32_at, exp_f32),
    (log_f32_at, log_f32),
    (tanh_f32_at, tanh_f32),
    (sigmoid_f32_at, sigmoid_f32),
];
const SLICES_F64: [SliceF64; 4] = [
    (exp_f64_at, exp_f64),
    (log_f64_at, log_f64),
    (tanh_f64_at, tanh_f64),
    (sigmoid_f64_at, sigmoid_f64),
];

/// Every level (the scalar fallback included) gives the element function's bits, on every
/// tail length 0..=64 at several alignments and on a long slice of edge and random values.
#[test]
fn every_level_and_every_tail_matches_the_element_functions_bit_for_bit() {
    let xs32: Vec<f32> = inputs_f32(-120.0, 120.0).into_iter().step_by(7).collect();
    let xs64: Vec<f64> = inputs_f64(-800.0, 800.0).into_iter().step_by(7).collect();
    for level in Level::available() {
        for (kernel, f) in SLICES_F32 {
            for offset in 0..4 {
                for len in (0..=64).chain([1000, xs32.len() - offset]) {
                    let x = &xs32[offset..offset + len];
                    let mut out = vec![0.0; len];
                    kernel(level, x, &mut out);
                    for (&v, &o) in x.iter().zip(&out) {
                        assert!(same32(o, f(v)), "{level:?} len {len}: f({v:e}) = {o:e}");
                    }
                }
            }
        }
        for (kernel, f) in SLICES_F64 {
            for offset in 0..4 {
                for len in (0..=64).chain([1000, xs64.len() - offset]) {
                    let x = &xs64[offset..offset + len];
                    let mut out = vec![0.0; len];
                    kernel(level, x, &mut out);
                    for (&v, &o) in x.iter().zip(&out) {
                        assert!(same64(o, f(v)), "{level:?} len {len}: f({v:e}) = {o:e}");
                    }
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "lengths differ")]
fn a_short_output_is_refused() {
    super::exp_f32(&[1.0, 2.0], &mut [0.0]);
}
