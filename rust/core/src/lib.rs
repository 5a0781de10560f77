//! # tapegrad-core
//!
//! Reverse-mode automatic differentiation over `ndarray`: the tensors, the primitive ops with
//! their vector–Jacobian products, and the backward sweep behind the `tapegrad` Python package.
//! Pure Rust: no Python anywhere in this crate.
//!
//! Backprop gets every partial derivative of a scalar loss for about the cost of one extra
//! forward pass: each op records a node holding only what its VJP needs, and
//! [`engine::backward`] sweeps those nodes once in reverse topological order, reusing each
//! intermediate gradient for everything upstream.
//!
//! ```
//! use tapegrad_core::{DType, Tensor, engine};
//!
//! # fn main() -> tapegrad_core::Result<()> {
//! // f(x) = sum(x * x), so df/dx = 2x
//! let x = Tensor::arange(0.0, 3.0, 1.0, DType::F64)?;
//! x.set_requires_grad(true)?;
//! let y = x.mul(&x)?.sum(None, false)?;
//! engine::backward(&[y], &[None], false, false)?;
//! assert_eq!(x.grad().unwrap().array().to_f64_vec(), vec![0.0, 2.0, 4.0]);
//! # Ok(())
//! # }
//! ```

pub mod alloc;
pub mod array;
pub mod engine;
pub mod error;
// Memory shared with NumPy/DLPack: raw pointers behind a copying API (issue 12), each block
// with a `// SAFETY:` comment.
#[allow(unsafe_code)]
pub mod foreign;
pub mod graph;
pub mod interrupt;
// The workspace denies `unsafe`; the kernels module alone may use it (target-feature calls,
// raw views for the GEMM crates), each block with a `// SAFETY:` comment (issue 16).
#[allow(unsafe_code)]
pub mod kernels;
pub mod math;
pub mod memory;
pub mod ops;
pub mod optim;
pub mod parallel;
pub mod promotion;
pub mod storage;
pub mod tensor;
#[cfg(test)]
mod testutil;

pub use array::{
    default_float_dtype, set_default_float_dtype, Array, Category, DType, Element, IntElement,
    Scalar, ScalarValue,
};
pub use error::{Error, ErrorKind, Result};
pub use graph::{
    current_dual_level, enter_dual_level, exit_dual_level, is_forward_ad_enabled, is_grad_enabled,
    next_node_seq, peak_saved_bytes, pop_label, push_label, record_multi, reset_peak_saved_bytes,
    saved_bytes, set_grad_enabled, swap_dual_levels, Backward, GradHook, GradModeGuard, Jvp, Node,
    PostAccumulateHook, SavedAs, SavedInfo, SavedTensor, VjpContext,
};
pub use ops::conv::ConvParams;
pub use ops::index::IndexItem;
pub use ops::loss::CrossEntropyTarget;
pub use ops::pool::PoolParams;
pub use ops::random::{
    default_generator, manual_seed, rng_state, set_rng_state, Generator, RngState, SharedGenerator,
};
pub use ops::registry::{primitives, BatchRule, PrimitiveInfo};
pub use promotion::{result_type, Operand};
pub use tensor::Tensor;
