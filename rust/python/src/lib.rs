//! `tapegrad._native`: the PyO3 binding over `tapegrad-core`.
//!
//! This crate converts and dispatches only; all maths lives in the core. Each binding is a
//! one-liner that converts its arguments, calls the core (releasing the GIL for heavy calls) and
//! maps core errors onto the Python exception hierarchy defined in `tapegrad/_errors.py`.

mod autograd;
mod convert;
// Raw NumPy arrays and DLPack capsules over shared memory (issue 12): the binding's one
// module with `unsafe`, each block with a `// SAFETY:` comment.
#[allow(unsafe_code)]
mod dlpack;
mod dtypes;
mod errors;
mod functions;
mod gc;
mod inplace;
mod int_ops;
mod interrupt;
mod linalg;
mod memory;
mod nn_extra;
mod nn_ops;
mod optim;
mod registry;
mod sampling;
mod selection;
mod sorting;
mod tensor;
mod tensor_extra;
mod view_inplace;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::PyGradFn>()?;
    m.add_class::<convert::PyDType>()?;
    for dtype in tapegrad_core::DType::ALL {
        m.add(dtype.name(), convert::PyDType(dtype))?;
    }
    m.add_class::<autograd::PyHookHandle>()?;
    functions::register(m)?;
    dtypes::register(m)?;
    linalg::register(m)?;
    autograd::register(m)?;
    memory::register(m)?;
    nn_ops::register(m)?;
    nn_extra::register(m)?;
    optim::register(m)?;
    registry::register(m)?;
    selection::register(m)?;
    interrupt::register(m)?;
    sampling::register(m)?;
    dlpack::register(m)?;
    Ok(())
}
