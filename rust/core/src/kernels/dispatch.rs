//! Which vector unit the kernels run on, chosen once per process at run time.
//!
//! The wheel is built for baseline x86-64 (SSE2), so a kernel compiled the ordinary way never
//! touches AVX2 or AVX-512. Each kernel here is one loop of straight-line element code; [`run`]
//! compiles that loop once per [`Level`] with the level's target features enabled (`pulp`'s
//! `vectorize`, which checks the CPU before it can be called) and LLVM turns it into 4-, 8- or
//! 16-lane code. The element code never asks for fused multiply-adds, so every level rounds
//! every operation the same way: the levels give bit-identical results, and the tests check it.
//!
//! `TAPEGRAD_KERNELS` caps the level: `scalar` (the portable build, as a CPU without AVX2 would
//! run it), `avx2`, `avx512`; unset, empty or `auto` means the widest the CPU has. An unknown
//! value is treated as `auto` (reading the environment cannot raise).

use std::sync::OnceLock;

/// A set of vector instructions a kernel can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The portable build: the target's baseline instructions only (SSE2 on x86-64, NEON on
    /// aarch64), which the compiler still uses for 128-bit vector loops.
    Scalar,
    /// x86-64-v3: AVX2 and FMA, 256-bit vectors (pulp's `V3`).
    Avx2,
    /// x86-64-v4: AVX-512 F/BW/CD/DQ/VL, 512-bit vectors (pulp's `V4`).
    Avx512,
}

impl Level {
    /// Every level, narrowest first.
    pub const ALL: [Level; 3] = [Level::Scalar, Level::Avx2, Level::Avx512];

    /// The name `TAPEGRAD_KERNELS` accepts for this level.
    pub fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run code compiled for this level.
    pub fn is_available(self) -> bool {
        match self {
            Level::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => pulp::x86::V3::is_available(),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => pulp::x86::V4::is_available(),
            #[cfg(not(target_arch = "x86_64"))]
            Level::Avx2 | Level::Avx512 => false,
        }
    }

    /// The levels this CPU can run, narrowest first (for tests and benchmarks).
    pub fn available() -> Vec<Level> {
        Level::ALL.into_iter().filter(|l| l.is_available()).collect()
    }

    /// The widest available level, capped by a `TAPEGRAD_KERNELS` value (`None`: no cap).
    fn detect(cap: Option<&str>) -> Level {
        let cap = match cap.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("scalar") => Level::Scalar,
            Some("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        Level::available().into_iter().filter(|&l| l <= cap).max().unwrap_or(Level::Scalar)
    }
}

/// The level every kernel runs at in this process: the widest the CPU has, capped by
/// `TAPEGRAD_KERNELS` (read once, at the first kernel call).
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| Level::detect(std::env::var("TAPEGRAD_KERNELS").ok().as_deref()))
}

/// Runs `op` compiled for `level`, or for the portable build if the CPU lacks that level.
/// `op` must inline all its work (a `#[inline(always)]` call) for the level's instructions to
/// reach it.
#[inline(always)]
pub(crate) fn run<Op: pulp::NullaryFnOnce>(level: Level, op: Op) -> Op::Output {
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => match pulp::x86::V4::try_new() {
            Some(simd) => simd.vectorize(op),
            None => op.call(),
        },
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => match pulp::x86::V3::try_new() {
            Some(simd) => simd.vectorize(op),
            None => op.call(),
        },
        _ => op.call(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_caps_the_level_and_unknown_values_mean_auto() {
        let best = *Level::available().last().expect("scalar is always available");
        assert_eq!(Level::detect(None), best);
        assert_eq!(Level::detect(Some("auto")), best);
        assert_eq!(Level::detect(Some("no-such-level")), best);
        assert_eq!(Level::detect(Some(" Scalar ")), Level::Scalar);
        assert!(Level::detect(Some("avx2")) <= Level::Avx2);
        assert!(Level::available().contains(&Level::Scalar));
        assert_eq!(run(Level::Avx512, || 41 + 1), 42);
    }
}
