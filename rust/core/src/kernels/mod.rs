//! The hot kernels, as functions over slices and 2-D views, dispatched at run time to the
//! widest vector unit the CPU has (see [`dispatch`]).
//!
//! This is the one module of the core where `unsafe` is allowed (the crate denies it
//! elsewhere): each block carries a `// SAFETY:` comment, and every kernel is tested against a
//! scalar reference, at every dispatch level, on random and edge inputs and on every tail
//! length from 0 to 64. Most of the unsafety is encapsulated by `pulp` (runtime-checked target
//! features).

pub mod dispatch;
pub mod exp_log;
pub mod gemm;

pub use dispatch::{level, Level};
pub use gemm::gemm;
pub(crate) mod wiring;
