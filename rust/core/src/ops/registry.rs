//! The derivative index: one entry per primitive, naming its node, the Python names that reach
//! it, what it saves for backward, its derivative and its batching rule.
//!
//! Every rule a primitive records implements [`Primitive`] (so [`record`](crate::graph::record)
//! refuses one that does not state these), and [`primitives`] lists them all. The binding
//! exposes the list to Python, where the type stub, the package's exports, the docs' op table
//! and the README's op list are generated from it or checked against it
//! (`tools/gen_ops.py`, `tests/test_op_index.py`).

use crate::graph::Backward;

/// How a primitive runs over a batch dimension under `vmap`: the slot each primitive's
/// batching rule fills. Every primitive states one; the vmap transform dispatches on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchRule {
    /// Elementwise (with broadcasting): move every batch dimension to the front, unsqueeze
    /// unbatched operands, call the op once.
    Elementwise,
    /// The op takes axis arguments (reductions, shape ops, indexing along an axis): move the
    /// batch dimension to the front and shift every axis argument by one.
    ShiftAxes,
    /// The op already broadcasts leading batch dimensions (matrix products): move the batch
    /// dimension to the front of each operand and call the op once.
    LeadingBatch,
    /// Row-wise over a fixed leading layout (`(N, C)` losses, `linear`'s rows): merge the
    /// batch dimension into the rows, call the op once, split the rows again.
    MergeRows,
}

impl BatchRule {
    /// The rule's name in the docs' table.
    pub fn name(self) -> &'static str {
        match self {
            BatchRule::Elementwise => "elementwise",
            BatchRule::ShiftAxes => "shift axes",
            BatchRule::LeadingBatch => "leading batch",
            BatchRule::MergeRows => "merge rows",
        }
    }
}

/// What a primitive keeps for its VJP (dfdx's `DF_USES_FX`), as the index states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saves {
    /// Nothing: the derivative is constant.
    Nothing,
    /// Its input (the derivative is cheaper from `x`).
    Input,
    /// Its result (the derivative is cheaper from the output: `exp`, `tanh`, ...).
    Result,
    /// The inputs the other inputs' gradients need (products).
    Inputs,
    /// Inputs and buffers computed by the forward (named in the rule's `saved()`).
    InputsAndBuffers,
    /// Shapes, axes and indices only.
    Metadata,
}

impl Saves {
    /// The phrase in the docs' table.
    pub fn name(self) -> &'static str {
        match self {
            Saves::Nothing => "nothing",
            Saves::Input => "input",
            Saves::Result => "result",
            Saves::Inputs => "inputs",
            Saves::InputsAndBuffers => "inputs, buffers",
            Saves::Metadata => "shapes/indices",
        }
    }
}

/// One entry of the index.
#[derive(Clone, Copy, Debug)]
pub struct PrimitiveInfo {
    /// The node's name, as `grad_fn` shows it (`ExpBackward`).
    pub node: &'static str,
    /// The file (op family) its stanza is in: `unary`, `binary`, `reduce`...
    pub family: &'static str,
    /// The Python names (Tensor methods or `tapegrad` functions) that record this node.
    pub api: &'static [&'static str],
    /// What it keeps for backward.
    pub saves: Saves,
    /// Its derivative, as the VJP computes it.
    pub derivative: &'static str,
    /// How it batches under `vmap`.
    pub batch: BatchRule,
}

/// A rule that a primitive records: its entry in the index, stated next to its VJP and JVP.
pub trait Primitive: Backward + 'static {
    /// The index entry.
    const INFO: PrimitiveInfo;
}

/// Every primitive, family by family, in the order of the docs' table.
pub fn primitives() -> Vec<PrimitiveInfo> {
    let mut all: Vec<PrimitiveInfo> =
        crate::ops::unary::Unary::ALL.iter().map(|u| u.info()).collect();
    all.extend(crate::ops::binary::Binary::ALL.iter().map(|b| b.info()));
    all.extend([
        <crate::ops::binary::WhereBackward as Primitive>::INFO,
        <crate::ops::binary::ClampBackward as Primitive>::INFO,
        <crate::ops::binary::ToCopyBackward as Primitive>::INFO,
        <crate::ops::reduce::SumBackward as Primitive>::INFO,
        <crate::ops::reduce::AmaxBackward as Primitive>::INFO,
        <crate::ops::reduce::AminBackward as Primitive>::INFO,
        <crate::ops::shape::ReshapeBackward as Primitive>::INFO,
        <crate::ops::shape::PermuteBackward as Primitive>::INFO,
        <crate::ops::shape::ExpandBackward as Primitive>::INFO,
        <crate::ops::index::SliceBackward as Primitive>::INFO,
        <crate::ops::index::SliceScatterBackward as Primitive>::INFO,
        <crate::ops::index::DiagonalBackward as Primitive>::INFO,
        <crate::ops::index::IndexSelectBackward as Primitive>::INFO,
        <crate::ops::index::IndexAddBackward as Primitive>::INFO,
        <crate::ops::index::CatBackward as Primitive>::INFO,
        <crate::ops::gather::TakeBackward as Primitive>::INFO,
        <crate::ops::gather::PutAddBackward as Primitive>::INFO,
        <crate::ops::matmul::MmBackward as Primitive>::INFO,
        <crate::ops::matmul::LinearBackward as Primitive>::INFO,
        <crate::ops::loss::CrossEntropyBackward as Primitive>::INFO,
        <crate::ops::conv::ConvolutionBackward as Primitive>::INFO,
        <crate::ops::pool::MaxPoolBackward as Primitive>::INFO,
        <crate::ops::attention::AttentionBackward as Primitive>::INFO,
        <crate::ops::copy::CloneBackward as Primitive>::INFO,
        <crate::ops::inplace::CopySlicesBackward as Primitive>::INFO,
        <crate::ops::inplace::WindowReadBackward as Primitive>::INFO,
        <crate::ops::inplace::OverwriteBackward as Primitive>::INFO,
        <crate::ops::sort::TakeAlongAxisBackward as Primitive>::INFO,
        <crate::ops::sort::PutAlongAxisBackward as Primitive>::INFO,
        <crate::ops::special::PolygammaBackward as Primitive>::INFO,
    ]);
    all.extend(crate::ops::linalg::PRIMITIVES);
    all.extend(crate::ops::linalg_spectral::PRIMITIVES);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_unique_and_end_in_backward() {
        let all = primitives();
        let mut names: Vec<&str> = all.iter().map(|p| p.node).collect();
        assert!(names.iter().all(|n| n.ends_with("Backward")), "{names:?}");
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a node name repeats");
    }
}
