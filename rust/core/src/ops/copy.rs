//! `clone`: a differentiable copy.
//!
//! A primitive rather than a composite (`x * 1` would copy too, but record a `MulBackward`
//! saving its inputs): it saves nothing, and its node says what happened.

use crate::error::Result;
use crate::graph::{record, Backward, Jvp, SavedInfo, VjpContext};
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;

/// The node of [`Tensor::copy`]: the identity.
pub(crate) struct CloneBackward;

impl Primitive for CloneBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "CloneBackward",
        family: "copy",
        api: &["clone"],
        saves: Saves::Nothing,
        derivative: "identity",
        batch: BatchRule::Elementwise,
    };
}

impl Backward for CloneBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    // d(copy x)/dx = I
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.clone())])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| Ok(t.clone()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

impl Tensor {
    /// A copy with its own storage (PyTorch's `clone`), recorded as the identity.
    pub fn copy(&self) -> Result<Tensor> {
        let data = self.array().try_contiguous("clone")?;
        record(&[self], data, || Box::new(CloneBackward))
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{assert_close, grad_of_sum, leaf, values};

    #[test]
    fn copy_keeps_values_and_passes_the_gradient_through() {
        let x = leaf(&[3], &[1.0, -2.0, 0.5], true);
        assert_eq!(values(&x.copy().unwrap()), vec![1.0, -2.0, 0.5]);
        // d(sum copy x)/dx = 1
        assert_close(&grad_of_sum(&x, |t| t.copy()), &[1.0; 3], 0.0);
    }
}
