//! The recorded graph, one module per concern.
//!
//! Each differentiable op that runs with grad mode on and an input that requires grad records one
//! [`Node`]: the op's [`Backward`] rule (holding only what its VJP needs), one [`Edge`] per input,
//! and the inputs' shapes. The engine ([`crate::engine`]) sweeps these nodes in reverse. The same
//! rule carries the op's JVP: inside a dual level (forward mode), an op whose inputs carry
//! tangents computes its output's tangent right away.
//!
//! | module | owns |
//! |---|---|
//! | [`grad_mode`] | whether ops record (`no_grad`) |
//! | [`forward_ad`] | the open dual levels and tangents |
//! | [`accounting`] | saved bytes (now, peak), node numbers, module labels |
//! | [`saved`] | saved tensors, their versions, and why they were saved |
//! | [`node`] | nodes, edges and the rule trait ([`Backward`], [`Jvp`]) |
//! | [`record`] | making a node and tangents for an op application |
//! | [`anomaly`] | anomaly mode (creation stacks, NaN checks) |
//!
//! Nothing in the graph holds a leaf strongly, so a gradient built with `create_graph=True`
//! (whose graph refers back to the leaf) does not keep its own leaf alive: no reference cycles.

pub mod accounting;
pub mod anomaly;
pub mod forward_ad;
pub mod grad_mode;
pub mod node;
pub mod record;
pub mod saved;

pub use accounting::{
    next_node_seq, peak_saved_bytes, pop_label, push_label, reset_peak_saved_bytes, saved_bytes,
};
pub use forward_ad::{
    current_dual_level, enter_dual_level, exit_dual_level, is_forward_ad_enabled, sum_tangents,
    swap_dual_levels, Tangents,
};
pub use grad_mode::{derivatives_tracked, is_grad_enabled, set_grad_enabled, GradModeGuard};
pub use node::{Backward, Edge, GradHook, InputMeta, Jvp, Node, PostAccumulateHook, VjpContext};
pub(crate) use record::record_always;
pub use record::{record, record_multi};
pub use saved::{SavedAs, SavedInfo, SavedTensor};
