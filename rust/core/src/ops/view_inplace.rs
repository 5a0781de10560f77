//! In-place view ops: `unsqueeze_`, `squeeze_`, `t_`, `transpose_`, `swapdims_`, `as_strided_`
//! change which elements of its storage a tensor reads, not the elements; `resize_` also
//! grows the storage when the new shape needs more elements than it holds.
//!
//! One mechanism, [`Tensor::restride`]: the out-of-place view op makes a view of the tensor
//! (recording its node, `TransposeBackward` and so on, when a graph is recorded), then the
//! tensor takes the view's layout, its history and its place among its base's views, so the
//! same Python object now has the new shape and strides and `grad_fn` is the view op's node,
//! as in PyTorch. The storage's version goes up by one (PyTorch counts a metadata change as a
//! modification), so a node that saved the tensor refuses backward. The history generation
//! does not move: views made earlier read the same elements as before and their histories
//! stay right.

use crate::error::{fmt_shape, Error, Result};
use crate::storage::{Layout, Storage, Strides};
use crate::tensor::Tensor;

impl Tensor {
    /// Makes this tensor the view `f` makes of it (see the module docs): PyTorch's in-place
    /// view ops. A leaf that requires grad (or a view of one) refuses while grad mode is on.
    pub fn restride(&self, op: &str, f: impl FnOnce(&Tensor) -> Result<Tensor>) -> Result<()> {
        self.check_inplace(op)?;
        let view = f(self)?;
        let (storage, _) = self.data();
        if !self.shares_storage(&view) {
            return Err(Error::value(
                "in-place",
                format!("{op}: the result is not a view of the tensor's storage"),
            ));
        }
        let tracked = view.requires_grad() || !view.tangents().is_empty();
        self.become_view_of_self(&view, tracked);
        storage.bump();
        Ok(())
    }

    /// PyTorch's `resize_`: the tensor reads the first `shape`-many elements of its storage
    /// from its offset, in standard order; a storage with too few elements grows (the old
    /// elements kept, the new ones zero). Refused for a tensor that requires grad and for
    /// memory shared with another library (its size is fixed).
    pub fn resize(&self, shape: &[usize]) -> Result<()> {
        if self.requires_grad() {
            return Err(Error::Graph("cannot resize variables that require grad".into()));
        }
        let numel = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let offset = self.storage_offset();
        let Some(end) = numel.and_then(|n| n.checked_add(offset)) else {
            return Err(Error::shape(
                "resize_",
                format!("resize_: the shape {} has too many elements", fmt_shape(shape)),
            ));
        };
        let (storage, _) = self.data();
        let whole = storage.strided_whole();
        let capacity = whole.numel();
        let window = Strides { offset, ..Strides::contiguous(shape) };
        if end <= capacity {
            // Natural when the window is the whole buffer in its own shape: what an op's
            // output gets, so nothing is copied on the next read.
            let layout = if offset == 0 && whole.shape == shape {
                Layout::Natural
            } else {
                Layout::Strided(window)
            };
            self.set_data(storage.clone(), layout);
            storage.bump();
            return Ok(());
        }
        if storage.is_shared_now() {
            return Err(Error::value(
                "resize_",
                format!(
                    "Trying to resize storage that is not resizable: it is shared with another \
                     library and holds {capacity} elements, {end} are needed"
                ),
            ));
        }
        // A new, larger storage: the old elements in order, then zeros.
        let old = Tensor::on_storage(storage.clone(), Layout::Natural, false, None)
            .reshape(&[capacity])?;
        let zeros = Tensor::zeros(&[end - capacity], self.dtype())?;
        let grown = {
            let _off = crate::graph::GradModeGuard::new(false);
            Tensor::cat(&[old, zeros], 0)?.array().to_contiguous()
        };
        let grown = Storage::new(grown);
        grown.set_version(storage.version() + 1);
        self.set_data(grown, Layout::Strided(window));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::testutil::{leaf, values};
    use crate::{engine, Tensor};

    #[test]
    fn transpose_in_place_keeps_the_storage_and_records_the_view_op() {
        let x = leaf(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], true);
        let y = x.mul(&Tensor::scalar(2.0, x.dtype())).unwrap();
        let version = y.version();
        y.restride("t_", |t| t.transpose(0, 1)).unwrap();
        assert_eq!(y.shape(), vec![3, 2]);
        assert_eq!(y.stride(), vec![1, 3]);
        assert_eq!(y.version(), version + 1);
        assert!(y.base().is_none(), "a base stays a base");
        let weights = leaf(&[3, 2], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], false);
        let loss = y.mul(&weights).unwrap().sum(None, false).unwrap();
        let g = engine::grad(&[loss], &[None], &[x.clone()], false, false, false).unwrap();
        // d(loss)/dx[i, j] = 2 · weights[j, i]
        assert_eq!(values(g[0].as_ref().unwrap()), vec![2.0, 6.0, 10.0, 4.0, 8.0, 12.0]);
    }

    #[test]
    fn a_leaf_that_requires_grad_refuses_with_grad_on() {
        let x = leaf(&[2], &[1.0, 2.0], true);
        let err = x.restride("unsqueeze_", |t| t.unsqueeze(0)).unwrap_err().to_string();
        assert!(err.contains("a leaf Variable that requires grad"), "{err}");
        let _off = crate::graph::GradModeGuard::new(false);
        x.restride("unsqueeze_", |t| t.unsqueeze(0)).unwrap();
        assert_eq!(x.shape(), vec![1, 2]);
        assert!(x.is_leaf());
    }

    #[test]
    fn resize_reads_the_storage_and_grows_it() {
        let x = leaf(&[6], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], false);
        x.resize(&[2, 2]).unwrap();
        assert_eq!(values(&x), vec![0.0, 1.0, 2.0, 3.0]);
        x.resize(&[3, 2]).unwrap(); // the storage still holds the last two
        assert_eq!(values(&x), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        x.resize(&[3, 3]).unwrap();
        assert_eq!(values(&x), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, 0.0, 0.0]);
        assert_eq!(x.storage_nbytes(), 9 * 8);
    }
}
