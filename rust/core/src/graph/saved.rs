//! Saved tensors: what a rule keeps for backward, with the version it had when saved (so an
//! in-place change is caught) and why the rule needs it (so the memory bill can say).

use crate::array::{Array, DType};
use crate::error::Result;
use crate::graph::forward_ad::Tangents;
use crate::graph::node::Node;
use crate::tensor::{Tensor, TensorImpl};
use std::fmt;
use std::sync::{Arc, Weak};

/// Why a rule keeps something, in one format for every rule: which input, the result, or a
/// named buffer the rule computed in its forward (`logsumexp`, `condition`...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SavedAs {
    /// Input `i` of the op (`input 0`).
    Input(usize),
    /// The op's output (`result`, in PyTorch's vocabulary).
    Result,
    /// Something else the forward computed for the VJP.
    Buffer(&'static str),
}

impl fmt::Display for SavedAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SavedAs::Input(i) => write!(f, "input {i}"),
            SavedAs::Result => f.write_str("result"),
            SavedAs::Buffer(name) => f.write_str(name),
        }
    }
}

/// One tensor a rule keeps for backward, as the memory bill lists it.
#[derive(Clone, Debug)]
pub struct SavedInfo {
    /// Why the rule needs it.
    pub why: SavedAs,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its dtype.
    pub dtype: DType,
    /// The bytes its elements occupy.
    pub bytes: usize,
}

impl SavedInfo {
    /// Describes saved data.
    pub fn of(why: SavedAs, data: &Array) -> Self {
        SavedInfo { why, shape: data.shape().to_vec(), dtype: data.dtype(), bytes: data.nbytes() }
    }
}

/// A tensor kept for a rule, with the version it had when saved (in-place changes are caught).
///
/// It holds the data and the tensor's place in the graph, but the tensor itself only weakly:
/// a leaf whose gradient graph saved it must not be kept alive by that gradient.
pub struct SavedTensor {
    data: Array,
    version: u64,
    why: SavedAs,
    source: Weak<TensorImpl>,
    storage: Weak<crate::storage::Storage>,
    requires_grad: bool,
    grad_fn: Option<(Arc<Node>, usize)>,
    tangents: Tangents,
}

impl SavedTensor {
    /// Saves `tensor`, recording why the rule needs it (shown by the memory bill).
    pub fn new(tensor: &Tensor, why: SavedAs) -> Self {
        SavedTensor {
            data: tensor.array(),
            version: tensor.version(),
            why,
            source: Arc::downgrade(&tensor.0),
            storage: Arc::downgrade(&tensor.data().0),
            requires_grad: tensor.requires_grad(),
            grad_fn: tensor.grad_fn_with_index(),
            tangents: tensor.tangents(),
        }
    }

    /// The saved tensor, or an error if it was modified in place since it was saved.
    pub fn get(&self, op: &str) -> Result<Tensor> {
        if let Some(storage) = self.storage.upgrade() {
            let now = storage.version();
            if now != self.version {
                let meta = crate::graph::InputMeta {
                    shape: self.data.shape().to_vec(),
                    dtype: self.data.dtype(),
                };
                let output_of = self.grad_fn.as_ref().map(|(n, i)| (n.name(), *i));
                return Err(crate::graph::node::modified_in_place(
                    &meta,
                    output_of,
                    now,
                    self.version,
                    op,
                ));
            }
        }
        match self.source.upgrade().map(Tensor) {
            Some(alive) => Ok(alive),
            // Nobody can modify, or read the gradient of, a tensor that is gone: rebuild it.
            None => Ok(Tensor::rebuild(
                self.data.clone(),
                self.requires_grad,
                self.grad_fn.clone(),
                self.tangents.clone(),
            )),
        }
    }

    /// The bytes this saved tensor holds.
    pub fn nbytes(&self) -> usize {
        self.data.nbytes()
    }

    /// What the memory bill shows for it.
    pub fn info(&self) -> SavedInfo {
        SavedInfo::of(self.why, &self.data)
    }
}
