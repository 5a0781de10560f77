//! Core errors become instances of the exception classes in `tapegrad/_errors.py`
//! (`ShapeError` is both a `TapegradError` and a `ValueError`, and so on).

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use tapegrad_core::{Error, ErrorKind};

/// Anything a binding can fail with: a core error or an error raised by Python itself.
pub enum Failure {
    /// From the core.
    Core(Error),
    /// From Python (argument conversion, NumPy).
    Py(PyErr),
}

/// The result type of every binding.
pub type Res<T> = Result<T, Failure>;

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Py(e)
    }
}

fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Shape => "ShapeError",
        ErrorKind::Index => "AxisError",
        ErrorKind::DType => "DTypeError",
        ErrorKind::Graph => "GraphError",
        ErrorKind::Value => "ArgumentError",
        ErrorKind::ZeroDivision => "IntegerDivisionError",
        ErrorKind::Memory => "OutOfMemoryError",
        ErrorKind::Internal => "InternalError",
    }
}

/// Builds the Python exception for a core error.
pub fn core_to_py(py: Python<'_>, e: &Error) -> PyErr {
    if let Error::Interrupted { op } = e {
        return crate::interrupt::take_pending(op);
    }
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let class = MODULE
        .get_or_try_init(py, || py.import("tapegrad._errors").map(Bound::unbind))
        .and_then(|m| m.bind(py).getattr(class_name(e.kind())))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match class {
        Ok(class) => PyErr::from_type(class, e.to_string()),
        Err(_) => PyValueError::new_err(e.to_string()),
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Py(e) => e,
            // An exception raised by user code inside backward comes back unchanged.
            Failure::Core(Error::External(ext)) => match ext.payload.downcast_ref::<PyErr>() {
                Some(original) => Python::attach(|py| original.clone_ref(py)),
                None => Python::attach(|py| core_to_py(py, &Error::External(ext))),
            },
            Failure::Core(e) => Python::attach(|py| core_to_py(py, &e)),
        }
    }
}

/// A panic caught at the binding's edge (`#[catch_panics]`): a tapegrad bug, reported as
/// `InternalError` naming the binding function and the panic's message.
pub fn panicked(function: &'static str, payload: Box<dyn std::any::Any + Send>) -> Failure {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    Failure::Core(Error::internal(function, format!("a panic was caught: {message}")))
}

/// A Python exception of one of tapegrad's classes with a message built here.
pub fn raise(kind: ErrorKind, op: &'static str, message: impl Into<String>) -> Failure {
    let message = message.into();
    Failure::Core(match kind {
        ErrorKind::Shape => Error::shape(op, message),
        ErrorKind::Index => Error::Index { op, message },
        ErrorKind::DType => Error::DType { op, message },
        ErrorKind::Graph => Error::Graph(message),
        ErrorKind::Value => Error::value(op, message),
        ErrorKind::ZeroDivision => Error::ZeroDivision { op },
        ErrorKind::Memory | ErrorKind::Internal => Error::internal(op, message),
    })
}

/// Carries a Python exception through the core (from a hook or a custom function's backward).
pub fn external(err: PyErr) -> Error {
    let message = err.to_string();
    Error::External(tapegrad_core::error::ExternalError {
        message,
        payload: std::sync::Arc::new(err),
    })
}
