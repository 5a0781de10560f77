//! `tapegrad._native`: the PyO3 binding over `tapegrad-core`.
//!
//! This crate converts and dispatches only; all maths lives in the core. Each binding is a
//! one-liner that converts its arguments, calls the core (releasing the GIL for heavy calls) and
//! maps core errors onto the Python exception hierarchy defined in `tapegrad/_errors.py`.

mod autograd;
mod convert;
mod errors;
mod functions;
mod memory;
mod optim;
mod registry;
mod tensor;
mod tensor_extra;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::PyGradFn>()?;
    m.add_class::<convert::PyDType>()?;
    m.add("float32", convert::PyDType(tapegrad_core::DType::F32))?;
    m.add("float64", convert::PyDType(tapegrad_core::DType::F64))?;
    m.add_class::<autograd::PyHookHandle>()?;
    functions::register(m)?;
    autograd::register(m)?;
    memory::register(m)?;
    optim::register(m)?;
    registry::register(m)?;
    Ok(())
}
