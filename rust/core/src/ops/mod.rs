//! The primitive ops, one file per family: forward, VJP and the Tensor methods side by side.
//!
//! | file | primitives | composed from them |
//! |---|---|---|
//! | `unary.rs` | neg exp log log1p erf sqrt sin cos tanh sigmoid relu abs | |
//! | `binary.rs` | add sub mul div pow maximum minimum where clamp cast | comparisons (constant masks), scalar forms |
//! | `reduce.rs` | sum max min | mean logsumexp softmax log_softmax sum_to_shape |
//! | `shape.rs` | reshape permute expand | transpose unsqueeze squeeze flatten |
//! | `index.rs` | slice slice_scatter index_select index_add cat | narrow stack, `x[...]` |
//! | `matmul.rs` | matmul (batched, broadcast), linear | 1-D forms |
//! | `loss.rs` | softmax cross-entropy (rows of `(N, C)` logits) | |
//! | `random.rs` | (constants) rand randn arange eye | |

pub mod binary;
pub mod copy;
pub mod index;
pub mod loss;
pub mod matmul;
pub mod random;
pub mod reduce;
pub mod registry;
pub mod shape;
pub mod unary;
