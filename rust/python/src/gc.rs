//! Garbage-collector support for tensors whose hooks hold Python objects.
//!
//! A hook closing over its own tensor (`x.register_hook(lambda g, x=x: g)`) makes a cycle
//! that runs through Rust: the Python tensor owns the core tensor, which owns the hook, which
//! owns the Python callable, which owns the Python tensor. Python's collector cannot see
//! through the Rust part, so the cycle was never freed. Here each leaf's hook callables are
//! listed by the tensor's address, `Tensor.__traverse__` shows them to the collector, and
//! `Tensor.__clear__` removes the hooks, which breaks the cycle.
//!
//! Only a leaf's hooks are listed: they live in the tensor itself and die with it (a
//! non-leaf's hooks live on its node, which can outlive the tensor). And a tensor visits its
//! hooks only while it is their sole owner (one handle to the core tensor), so that no
//! callable is ever reported as held twice.

use crate::tensor::PyTensor;
use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use tapegrad_core::Tensor;

/// A hook's Python callable, shared by the hook closure and the registry; emptied by
/// `__clear__`.
pub type Callable = Arc<Mutex<Option<Py<PyAny>>>>;

/// A leaf's hooks: hook id and callable.
type Hooks = Vec<(u64, Callable)>;

/// Each leaf's hooks by the address of its core tensor.
static HOOKS: LazyLock<Mutex<HashMap<usize, Hooks>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Owned by a hook closure: when the closure is dropped (the hook removed, or the tensor
/// freed) its registry entry goes too, before the tensor's address can be reused.
pub struct Listed {
    address: usize,
    callable: Callable,
}

impl Drop for Listed {
    fn drop(&mut self) {
        let mut hooks = HOOKS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = hooks.get_mut(&self.address) {
            list.retain(|(_, c)| !Arc::ptr_eq(c, &self.callable));
            if list.is_empty() {
                hooks.remove(&self.address);
            }
        }
    }
}

/// A new callable cell for `hook`, and the guard its closure must own when `tensor` is a leaf
/// (`None` for a non-leaf, whose hooks are not listed).
pub fn new_callable(tensor: &Tensor, hook: Py<PyAny>) -> (Callable, Option<Listed>) {
    let callable = Arc::new(Mutex::new(Some(hook)));
    let listed =
        tensor.is_leaf().then(|| Listed { address: tensor.address(), callable: callable.clone() });
    (callable, listed)
}

/// Lists a leaf's hook once it has its id (after registration).
pub fn list(tensor: &Tensor, id: u64, callable: &Callable) {
    if tensor.is_leaf() {
        HOOKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(tensor.address())
            .or_default()
            .push((id, callable.clone()));
    }
}

/// The callable in a cell, or `None` once `__clear__` has emptied it.
pub fn callable(py: Python<'_>, cell: &Callable) -> Option<Py<PyAny>> {
    cell.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|h| h.clone_ref(py))
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyTensor {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.1.visit(&visit)?;
        if self.0.handle_count() != 1 {
            return Ok(());
        }
        // Never wait here (the collector holds the interpreter): a busy lock means the
        // hooks are not visited this time, which only delays their collection.
        let Ok(hooks) = HOOKS.try_lock() else { return Ok(()) };
        for (_, cell) in hooks.get(&self.0.address()).into_iter().flatten() {
            if let Ok(callable) = cell.try_lock() {
                if let Some(callable) = callable.as_ref() {
                    visit.call(callable)?;
                }
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        self.1.clear();
        let ids: Vec<u64> = HOOKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&self.0.address())
            .map(|list| list.iter().map(|(id, _)| *id).collect())
            .unwrap_or_default();
        // Outside the registry's lock: dropping a hook drops its guard (which takes the
        // lock) and may free Python objects.
        for id in ids {
            self.0.remove_hook(id);
        }
    }
}
