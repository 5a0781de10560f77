//! Autograd extension points: tensor hooks, forward-mode duals, and custom functions whose
//! rules are Python callables. Conversion only: the engine runs them as any other rule.

use crate::convert::tensor_list;
use crate::errors::{external, raise, Res};
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::Arc;
use tapegrad_core::graph::{Backward, Jvp, SavedAs, SavedInfo, SavedTensor, VjpContext};
use tapegrad_core::{Array, ErrorKind, Tensor};

/// The handle `register_hook` returns.
#[pyclass(name = "RemovableHandle", module = "tapegrad", frozen)]
pub struct PyHookHandle {
    tensor: Tensor,
    id: u64,
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyHookHandle {
    /// Unregisters the hook (harmless if already removed).
    fn remove(&self) {
        self.tensor.remove_hook(self.id);
    }
}

/// Wraps a Python callable as a gradient hook.
pub fn register_hook(tensor: &Tensor, hook: Py<PyAny>) -> Res<PyHookHandle> {
    let callable = Python::attach(|py| hook.bind(py).is_callable());
    if !callable {
        return Err(raise(ErrorKind::DType, "register_hook", "the hook must be callable"));
    }
    let (callable, listed) = crate::gc::new_callable(tensor, hook);
    let cell = callable.clone();
    let id = tensor.register_hook(Arc::new(move |grad: &Tensor| {
        let _listed = &listed; // owned by the hook: unlists it when the hook is dropped
        Python::attach(|py| {
            // Emptied by the collector breaking a cycle: the hook is gone.
            let Some(hook) = crate::gc::callable(py, &cell) else { return Ok(None) };
            let out = hook.call1(py, (PyTensor::new(grad.clone()),)).map_err(external)?;
            if out.is_none(py) {
                return Ok(None);
            }
            out.extract::<PyRef<'_, PyTensor>>(py).map(|t| Some(t.0.clone())).map_err(|_| {
                external(pyo3::exceptions::PyTypeError::new_err(
                    "a hook must return None or a Tensor",
                ))
            })
        })
    }))?;
    crate::gc::list(tensor, id, &callable);
    Ok(PyHookHandle { tensor: tensor.clone(), id })
}

/// Wraps a Python callable as a post-accumulate-grad hook: `hook(tensor)`, return ignored.
pub fn register_post_accumulate_grad_hook(tensor: &Tensor, hook: Py<PyAny>) -> Res<PyHookHandle> {
    let callable = Python::attach(|py| hook.bind(py).is_callable());
    if !callable {
        return Err(raise(
            ErrorKind::DType,
            "register_post_accumulate_grad_hook",
            "the hook must be callable",
        ));
    }
    let (callable, listed) = crate::gc::new_callable(tensor, hook);
    let cell = callable.clone();
    let id = tensor.register_post_accumulate_grad_hook(Arc::new(move |leaf: &Tensor| {
        let _listed = &listed; // owned by the hook: unlists it when the hook is dropped
        Python::attach(|py| match crate::gc::callable(py, &cell) {
            Some(hook) => {
                hook.call1(py, (PyTensor::new(leaf.clone()),)).map(drop).map_err(external)
            }
            None => Ok(()),
        })
    }))?;
    crate::gc::list(tensor, id, &callable);
    Ok(PyHookHandle { tensor: tensor.clone(), id })
}

/// Turns anomaly mode on or off. While on, each recorded node keeps the Python stack that
/// created it, and backward fails on the first rule that returns NaN (with `check_nan`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _set_anomaly_enabled(enabled: bool, check_nan: bool) {
    let provider: tapegrad_core::graph::anomaly::ContextProvider = Arc::new(|| {
        Python::attach(|py| {
            let stack = py.import("traceback").ok()?.call_method0("format_stack").ok()?;
            let lines: Vec<String> = stack.extract().ok()?;
            Some(lines.concat())
        })
    });
    tapegrad_core::graph::anomaly::set_context_provider(enabled.then_some(provider));
    tapegrad_core::graph::anomaly::set_anomaly_enabled(enabled, check_nan);
}

/// Whether anomaly mode is on.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _is_anomaly_enabled() -> bool {
    tapegrad_core::graph::anomaly::is_anomaly_enabled()
}

/// Whether anomaly mode checks gradients for NaN.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _is_anomaly_check_nan_enabled() -> bool {
    tapegrad_core::graph::anomaly::is_anomaly_check_nan_enabled()
}

/// What a custom function saved: its inputs (as the engine saves tensors) or its outputs
/// (as data, rebuilt from the node when backward runs, so the node does not own itself).
enum Saved {
    Tensor(SavedTensor),
    Output(usize, Array),
    None,
}

/// A `tapegrad.Function` subclass's rules, called back into Python.
struct PyFunctionRule {
    name: String,
    /// `(ctx, grads) -> tuple of gradients, one per tensor input`, checked in Python.
    backward: Py<PyAny>,
    /// `(ctx, tangents) -> tangent of the output` (None when the class has no `jvp`).
    jvp: Py<PyAny>,
    ctx: Py<PyAny>,
    saved: Vec<Saved>,
    /// The tensors saved in forward, as they were, for `jvp` (which runs before any backward).
    saved_in_forward: Py<PyAny>,
}

impl PyFunctionRule {
    fn unpack_saved(&self, ctx: &VjpContext<'_>) -> tapegrad_core::Result<Vec<Option<PyTensor>>> {
        self.saved
            .iter()
            .map(|s| match s {
                Saved::Tensor(t) => t.get(&self.name).map(|t| Some(PyTensor::new(t))),
                Saved::Output(k, data) => Ok(Some(PyTensor::new(ctx.result_at(data, *k)))),
                Saved::None => Ok(None),
            })
            .collect()
    }
}

impl Backward for PyFunctionRule {
    fn name(&self) -> &str {
        &self.name
    }

    fn vjp(
        &self,
        grad: &Tensor,
        ctx: &VjpContext<'_>,
    ) -> tapegrad_core::Result<Vec<Option<Tensor>>> {
        self.vjp_multi(std::slice::from_ref(grad), ctx)
    }

    fn vjp_multi(
        &self,
        grads: &[Tensor],
        ctx: &VjpContext<'_>,
    ) -> tapegrad_core::Result<Vec<Option<Tensor>>> {
        let saved = self.unpack_saved(ctx)?;
        Python::attach(|py| {
            let grads: Vec<PyTensor> = grads.iter().cloned().map(PyTensor::new).collect();
            let out = self
                .backward
                .call1(
                    py,
                    (
                        self.ctx.clone_ref(py),
                        PyTuple::new(py, grads).map_err(external)?,
                        PyTuple::new(py, saved).map_err(external)?,
                    ),
                )
                .map_err(external)?;
            let items: Vec<Option<PyRef<'_, PyTensor>>> = out.extract(py).map_err(external)?;
            Ok(items.into_iter().map(|g| g.map(|t| t.0.clone())).collect())
        })
    }

    fn jvp(&self, j: &Jvp<'_>) -> tapegrad_core::Result<Option<Tensor>> {
        let tangents = j.tangents;
        Python::attach(|py| {
            if self.jvp.is_none(py) {
                return Err(external(crate::errors::core_to_py(
                    py,
                    &tapegrad_core::Error::Graph(format!(
                        "{} has no jvp(ctx, *tangents) staticmethod: forward mode needs one",
                        self.name
                    )),
                )));
            }
            let tangents: Vec<Option<PyTensor>> =
                tangents.iter().map(|t| t.clone().map(PyTensor::new)).collect();
            let out = self
                .jvp
                .call1(
                    py,
                    (
                        self.ctx.clone_ref(py),
                        PyTuple::new(py, tangents).map_err(external)?,
                        self.saved_in_forward.clone_ref(py),
                    ),
                )
                .map_err(external)?;
            if out.is_none(py) {
                return Ok(None);
            }
            // Its shape is checked by the Python layer (`tapegrad.autograd.Function`), its
            // dtype by the core, as every rule's tangent is.
            let Ok(tangent) = out.extract::<PyRef<'_, PyTensor>>(py) else {
                let got = out.bind(py).get_type().name().map(|n| n.to_string()).unwrap_or_default();
                let message = format!("{} returned {got} from jvp; expected a Tensor", self.name);
                let error = tapegrad_core::Error::DType { op: "jvp", message };
                return Err(external(crate::errors::core_to_py(py, &error)));
            };
            Ok(Some(tangent.0.clone()))
        })
    }

    fn saved(&self) -> Vec<SavedInfo> {
        self.saved
            .iter()
            .filter_map(|s| match s {
                Saved::Tensor(t) => Some(t.info()),
                Saved::Output(_, data) => Some(SavedInfo::of(SavedAs::Result, data)),
                Saved::None => None,
            })
            .collect()
    }
}

/// Records a custom function application: `outputs` (computed by the Python `forward` without
/// recording) become the outputs of one node whose rules call `backward`/`jvp`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (name, backward, jvp, ctx, inputs, outputs, to_save))]
fn _apply_function<'py>(
    py: Python<'py>,
    name: String,
    backward: Py<PyAny>,
    jvp: Py<PyAny>,
    ctx: Py<PyAny>,
    inputs: &Bound<'py, PyAny>,
    outputs: &Bound<'py, PyAny>,
    to_save: &Bound<'py, PyAny>,
) -> Res<Bound<'py, PyTuple>> {
    let input_tensors = tensor_list(inputs, "Function.apply")?;
    let output_objects: Vec<Bound<'py, PyAny>> = outputs.try_iter()?.collect::<PyResult<_>>()?;
    let output_tensors = tensor_list(outputs, "Function.apply")?;
    let mut saved = Vec::new();
    for item in to_save.try_iter()? {
        let item = item?;
        if item.is_none() {
            saved.push(Saved::None);
            continue;
        }
        let tensor = item.extract::<PyRef<'_, PyTensor>>().map_err(|_| {
            raise(ErrorKind::DType, "save_for_backward", "only Tensors (or None) can be saved")
        })?;
        match output_objects.iter().position(|o| o.is(&item)) {
            Some(k) => saved.push(Saved::Output(k, tensor.0.array())),
            None => saved
                .push(Saved::Tensor(SavedTensor::new(&tensor.0, SavedAs::Buffer("saved by ctx")))),
        }
    }
    let saved_in_forward = to_save.clone().unbind();
    let rule = PyFunctionRule { name, backward, jvp, ctx, saved, saved_in_forward };
    let refs: Vec<&Tensor> = input_tensors.iter().collect();
    let arrays: Vec<Array> = output_tensors.iter().map(Tensor::array).collect();
    let results = tapegrad_core::record_multi(&refs, arrays, || Box::new(rule))?;
    Ok(PyTuple::new(py, results.into_iter().map(PyTensor::new))?)
}

/// A tensor equal to `primal` that carries `tangent` (forward mode).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _make_dual(primal: PyRef<'_, PyTensor>, tangent: PyRef<'_, PyTensor>) -> Res<PyTensor> {
    Ok(PyTensor::new(Tensor::make_dual(&primal.0, &tangent.0)?))
}

/// Opens a forward-mode level on this thread; returns its id.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _enter_dual_level() -> u64 {
    tapegrad_core::enter_dual_level()
}

/// Closes the innermost forward-mode level, which must be `level`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _exit_dual_level(level: u64) -> Res<()> {
    Ok(tapegrad_core::exit_dual_level(level)?)
}

/// The innermost open forward-mode level, or None.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _current_dual_level() -> Option<u64> {
    tapegrad_core::current_dual_level()
}

/// Replaces the open forward-mode levels (to suspend them); returns the previous ones.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _swap_dual_levels(levels: Vec<u64>) -> Vec<u64> {
    tapegrad_core::swap_dual_levels(levels)
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_apply_function, m)?)?;
    m.add_function(wrap_pyfunction!(_make_dual, m)?)?;
    m.add_function(wrap_pyfunction!(_enter_dual_level, m)?)?;
    m.add_function(wrap_pyfunction!(_exit_dual_level, m)?)?;
    m.add_function(wrap_pyfunction!(_current_dual_level, m)?)?;
    m.add_function(wrap_pyfunction!(_swap_dual_levels, m)?)?;
    m.add_function(wrap_pyfunction!(_set_anomaly_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_is_anomaly_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_is_anomaly_check_nan_enabled, m)?)?;
    Ok(())
}
