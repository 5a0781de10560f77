//! Shape ops: `reshape`, `permute` and `expand` are primitives (all views when the layout
//! allows); `transpose`, `squeeze`, `unsqueeze` and `flatten` are composed from them.

use crate::array::{checked_numel, normalize_axis};
use crate::error::{fmt_shape, Error, Result};
use crate::graph::{record, Backward, Jvp, SavedInfo, VjpContext};
use crate::map_any;
use crate::ops::registry::{BatchRule, Primitive, PrimitiveInfo, Saves};
use crate::tensor::Tensor;
use ndarray::IxDyn;
use std::sync::Arc;

/// `reshape`: the gradient is reshaped back.
pub(crate) struct ReshapeBackward {
    input_shape: Vec<usize>,
}

impl Primitive for ReshapeBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "ReshapeBackward",
        family: "shape",
        api: &["reshape", "view", "flatten", "unsqueeze", "squeeze"],
        saves: Saves::Metadata,
        derivative: "grad reshaped to the input's shape",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for ReshapeBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.reshape(&self.input_shape)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.reshape(&j.result.shape()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// `permute`: the gradient is permuted back by the inverse permutation.
pub(crate) struct PermuteBackward {
    inverse: Vec<usize>,
}

impl Primitive for PermuteBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "PermuteBackward",
        family: "shape",
        api: &["permute", "transpose", "T"],
        saves: Saves::Metadata,
        derivative: "grad permuted by the inverse permutation",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for PermuteBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.permute_axes(&self.inverse)?)])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        // The forward permutation is the inverse of the inverse.
        j.linear(|t| t.permute_axes(&inverse_permutation(&self.inverse)))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// `expand`/`broadcast_to`: the engine sums the gradient back over the broadcast axes, as for
/// every edge, so the VJP is the identity.
pub(crate) struct ExpandBackward;

impl Primitive for ExpandBackward {
    const INFO: PrimitiveInfo = PrimitiveInfo {
        node: "ExpandBackward",
        family: "shape",
        api: &["expand", "broadcast_to"],
        saves: Saves::Nothing,
        derivative: "grad summed over the broadcast axes (by the engine)",
        batch: BatchRule::ShiftAxes,
    };
}

impl Backward for ExpandBackward {
    fn name(&self) -> &str {
        Self::INFO.node
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.clone())])
    }
    fn jvp(&self, j: &Jvp<'_>) -> Result<Option<Tensor>> {
        j.linear(|t| t.expand(&j.result.shape()))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        Vec::new()
    }
}

/// The permutation that undoes `axes`.
fn inverse_permutation(axes: &[usize]) -> Vec<usize> {
    let mut inverse = vec![0; axes.len()];
    for (i, &a) in axes.iter().enumerate() {
        inverse[a] = i;
    }
    inverse
}

impl Tensor {
    /// Reshapes to `shape` (a view when contiguous). Element counts must match.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let input_shape = self.shape();
        if input_shape == shape {
            return Ok(self.clone());
        }
        let out = self.array().reshape(shape)?;
        let out = record(&[self], out, || Box::new(ReshapeBackward { input_shape }))?;
        // A view when the strides allow it (PyTorch's rule), a copy otherwise.
        match self.strides().view(shape) {
            Some(strides) => {
                let shape = shape.to_vec();
                Ok(out.become_view(self, strides, Arc::new(move |b: &Tensor| b.reshape(&shape))))
            }
            None => Ok(out),
        }
    }

    /// `view`: [`Tensor::reshape`] that refuses to copy (PyTorch's error when the strides do
    /// not allow the shape).
    pub fn view_shape(&self, shape: &[i64]) -> Result<Tensor> {
        let out = self.reshape_infer(shape)?;
        if out.base().is_none() && out.numel() > 0 && !out.same_as(self) {
            return Err(Error::shape(
                "view",
                format!(
                    "view size is not compatible with input tensor's size and stride (at least \
                     one dimension spans across two contiguous subspaces): shape {} to {shape:?}. \
                     Use .reshape(...) instead.",
                    fmt_shape(&self.shape())
                ),
            ));
        }
        Ok(out)
    }

    /// Reshapes with at most one `-1` inferred from the element count (PyTorch's `reshape`).
    pub fn reshape_infer(&self, shape: &[i64]) -> Result<Tensor> {
        let numel = self.numel();
        let mut inferred = None;
        let mut known = 1usize;
        for (i, &d) in shape.iter().enumerate() {
            match d {
                -1 if inferred.is_some() => {
                    return Err(Error::shape("reshape", "only one dimension can be inferred (-1)"))
                }
                -1 => inferred = Some(i),
                d if d < 0 => {
                    return Err(Error::value("reshape", format!("invalid shape dimension {d}")))
                }
                d => {
                    known = known.checked_mul(d as usize).ok_or_else(|| {
                        Error::value("reshape", format!("shape {shape:?} is too large"))
                    })?
                }
            }
        }
        let mut dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
        if let Some(i) = inferred {
            if known == 0 || numel % known != 0 {
                return Err(Error::shape(
                    "reshape",
                    format!(
                        "shape {shape:?} is invalid for a tensor of shape {} ({numel} elements)",
                        fmt_shape(&self.shape())
                    ),
                ));
            }
            dims[i] = numel / known;
        }
        if dims == self.shape() {
            return self.identity_view(); // a new handle, as every view the user asks for
        }
        self.reshape(&dims)
    }

    /// A new tensor handle on the same data, recorded as a same-shape reshape: what the user
    /// gets from an identity view (`x.T` of a 1-D tensor, `x[()]`, `x.transpose(0, 0)`,
    /// `x.reshape(x.shape)`), so that it has its own `grad` and `requires_grad` (PyTorch
    /// returns a new view there too). Internal callers keep the cheaper `self.clone()`.
    pub fn identity_view(&self) -> Result<Tensor> {
        let input_shape = self.shape();
        let out = record(&[self], self.array(), || Box::new(ReshapeBackward { input_shape }))?;
        Ok(out.become_view(self, self.strides(), Arc::new(|b: &Tensor| b.identity_view())))
    }

    /// Reorders axes: output axis `i` is input axis `perm[i]` (a view, no copy).
    pub fn permute(&self, perm: &[i64]) -> Result<Tensor> {
        let ndim = self.ndim();
        if perm.len() != ndim {
            return Err(Error::shape(
                "permute",
                format!(
                    "got {} dimensions {perm:?} for a tensor of shape {}",
                    perm.len(),
                    fmt_shape(&self.shape())
                ),
            ));
        }
        let mut axes = Vec::with_capacity(ndim);
        for &p in perm {
            let a = normalize_axis("permute", p, ndim)?;
            if axes.contains(&a) {
                return Err(Error::Index {
                    op: "permute",
                    message: format!("dimension {p} repeats in {perm:?}"),
                });
            }
            axes.push(a);
        }
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return self.identity_view();
        }
        self.permute_axes(&axes)
    }

    /// `permute` with axes already checked.
    fn permute_axes(&self, axes: &[usize]) -> Result<Tensor> {
        if axes.iter().enumerate().all(|(i, &a)| i == a) {
            return Ok(self.clone());
        }
        let out = map_any!(&self.array(), a => a.clone().permuted_axes(IxDyn(axes)));
        let inverse = inverse_permutation(axes);
        let out = record(&[self], out, || Box::new(PermuteBackward { inverse }))?;
        let (strides, axes) = (self.strides().permute(axes), axes.to_vec());
        Ok(out.become_view(self, strides, Arc::new(move |b: &Tensor| b.permute_axes(&axes))))
    }

    /// Swaps two axes.
    pub fn transpose(&self, dim0: i64, dim1: i64) -> Result<Tensor> {
        let ndim = self.ndim();
        let (a, b) =
            (normalize_axis("transpose", dim0, ndim)?, normalize_axis("transpose", dim1, ndim)?);
        if ndim == 0 || a == b {
            return self.identity_view();
        }
        let mut axes: Vec<usize> = (0..ndim).collect();
        axes.swap(a, b);
        self.permute_axes(&axes)
    }

    /// Broadcasts to `shape` (a view: no data is copied). `-1` keeps a dimension.
    pub fn expand(&self, shape: &[usize]) -> Result<Tensor> {
        let own = self.shape();
        if own == shape {
            return Ok(self.clone());
        }
        checked_numel("expand", shape)?;
        let out = self.array().broadcast_to(shape)?;
        let out = record(&[self], out, || Box::new(ExpandBackward))?;
        let (strides, shape) = (self.strides().expand(shape), shape.to_vec());
        Ok(out.become_view(self, strides, Arc::new(move |b: &Tensor| b.expand(&shape))))
    }

    /// `expand` with PyTorch's `-1` meaning "keep this dimension".
    pub fn expand_infer(&self, shape: &[i64]) -> Result<Tensor> {
        let own = self.shape();
        if shape.len() < own.len() {
            return Err(Error::shape(
                "expand",
                format!(
                    "cannot expand a tensor of shape {} to {shape:?}: {} sizes given for {} dimensions",
                    fmt_shape(&own),
                    shape.len(),
                    own.len()
                ),
            ));
        }
        let lead = shape.len() - own.len();
        let mut dims = Vec::with_capacity(shape.len());
        for (i, &d) in shape.iter().enumerate() {
            dims.push(match d {
                -1 if i >= lead => own[i - lead],
                d if d < 0 => {
                    return Err(Error::value("expand", format!("invalid size {d} in {shape:?}")))
                }
                d => d as usize,
            });
        }
        self.expand(&dims)
    }

    /// Inserts an axis of size 1 at `dim` (`-1` appends).
    pub fn unsqueeze(&self, dim: i64) -> Result<Tensor> {
        let mut shape = self.shape();
        let at = normalize_axis("unsqueeze", dim, shape.len() + 1)?;
        shape.insert(at, 1);
        self.reshape(&shape)
    }

    /// Removes axes of size 1: all of them, or the given ones (left alone when not size 1).
    pub fn squeeze(&self, dims: Option<&[i64]>) -> Result<Tensor> {
        let shape = self.shape();
        let drop = crate::array::normalize_axes("squeeze", dims, shape.len())?;
        let kept: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter(|&(i, &d)| !(d == 1 && drop.contains(&i)))
            .map(|(_, &d)| d)
            .collect();
        self.reshape(&kept)
    }

    /// Merges axes `start..=end` into one.
    pub fn flatten(&self, start: i64, end: i64) -> Result<Tensor> {
        let shape = self.shape();
        if shape.is_empty() {
            return self.reshape(&[1]);
        }
        let (s, e) = (
            normalize_axis("flatten", start, shape.len())?,
            normalize_axis("flatten", end, shape.len())?,
        );
        if s > e {
            return Err(Error::Index {
                op: "flatten",
                message: format!("start_dim {start} comes after end_dim {end}"),
            });
        }
        let mut out: Vec<usize> = shape[..s].to_vec();
        out.push(shape[s..=e].iter().product());
        out.extend_from_slice(&shape[e + 1..]);
        self.reshape(&out)
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{assert_close, leaf, values};
    use crate::{engine, Tensor};

    #[test]
    fn shape_ops_route_gradients_back_to_their_positions() {
        // y = sum(w ⊙ permute(reshape(x))): dy/dx is w carried back through both ops.
        let x = leaf(&[6], &[0.0; 6], true);
        let w = leaf(&[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], false);
        let y = x.reshape(&[2, 3]).unwrap().permute(&[1, 0]).unwrap().mul(&w).unwrap();
        let g = engine::grad(
            &[y.sum(None, false).unwrap()],
            &[None],
            &[x.clone()],
            false,
            false,
            false,
        )
        .unwrap();
        // x.reshape(2,3)[i][j] = x[3i+j] meets w[j][i]
        assert_close(&values(g[0].as_ref().unwrap()), &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0], 0.0);
    }

    #[test]
    fn expand_sums_the_gradient_over_copies() {
        let x = leaf(&[3, 1], &[1.0, 2.0, 3.0], true);
        let y = x.expand(&[2, 3, 4]).unwrap().sum(None, false).unwrap();
        let g = engine::grad(&[y], &[None], &[x.clone()], false, false, false).unwrap();
        assert_close(&values(g[0].as_ref().unwrap()), &[8.0; 3], 0.0);
    }

    #[test]
    fn reshape_checks_the_element_count() {
        let x = Tensor::zeros(&[2, 3], crate::DType::F32).unwrap();
        let err = x.reshape(&[4, 2]).unwrap_err().to_string();
        assert!(err.contains("(2, 3)") && err.contains("(4, 2)"), "{err}");
        assert_eq!(x.reshape_infer(&[-1, 2]).unwrap().shape(), vec![3, 2]);
    }
}
