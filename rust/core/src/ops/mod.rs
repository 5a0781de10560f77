//! The primitive ops, one file per family: forward, VJP and the Tensor methods side by side.
//!
//! | file | primitives | composed from them |
//! |---|---|---|
//! | `unary.rs` | neg exp log log1p erf sqrt sin cos tanh sigmoid relu abs | |
//! | `binary.rs` | add sub mul div pow maximum minimum where clamp cast | comparisons (constant masks), scalar forms |
//! | `reduce.rs` | sum max min | mean logsumexp softmax log_softmax sum_to_shape |
//! | `shape.rs` | reshape permute expand | transpose unsqueeze squeeze flatten |
//! | `index.rs` | slice slice_scatter index_select index_add cat | narrow stack, `x[...]` |
//! | `gather.rs` | take put_add (flat positions) | advanced indexing `x[idx]` `x[mask]`, gather scatter masked_select |
//! | `matmul.rs` | matmul (batched, broadcast), linear | 1-D forms |
//! | `conv.rs` | convolution (forward, input and weight gradients: one bilinear family) | conv1d conv2d conv_transpose1d conv_transpose2d, bias |
//! | `pool.rs` | max pooling (a gather at the argmax and its adjoint scatter) | max_pool1d/2d adaptive_max_pool1d/2d max_unpool1d/2d |
//! | `attention.rs` | scaled dot-product attention (fused, P recomputed in backward) | |
//! | `loss.rs` | softmax cross-entropy (rows of `(N, C)` logits) | |
//! | `linalg.rs` | linalg.solve inv det slogdet cholesky solve_triangular (faer kernels) | |
//! | `linalg_spectral.rs` | eigh, thin svd, reduced qr (packed outputs) | eigvalsh svdvals |
//! | `integer.rs` | (no nodes) the integer and bool kernels of the elementwise primitives, bitwise ops, shifts, `//` | |
//! | `random.rs` | (constants) rand randn arange eye; `Generator` | |
//! | `sort.rs` | take_along_axis put_along_axis (the gather behind every selection) | sort topk kthvalue median mode cummax cummin max(dim) |
//! | `sampling.rs` | (constants) randint randperm multinomial bernoulli normal poisson | |

pub mod attention;
pub mod binary;
pub mod conv;
pub mod copy;
pub mod gather;
pub mod index;
pub mod inplace;
pub mod integer;
pub mod linalg;
pub mod linalg_spectral;
pub mod loss;
pub mod matmul;
pub mod pool;
pub mod random;
pub mod reduce;
pub mod registry;
pub mod sampling;
pub mod shape;
pub mod sort;
pub mod special;
pub mod unary;
pub mod view_inplace;
