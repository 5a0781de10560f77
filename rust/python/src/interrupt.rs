//! Ctrl-C during long native work. The core asks a process-wide interrupt check between the
//! backward sweep's nodes and between a large product's chunks (`tapegrad_core::interrupt`);
//! the check installed here runs Python's signal handlers (`PyErr_CheckSignals`, which does
//! anything only on the main thread). The exception a handler raises (`KeyboardInterrupt` for
//! the default SIGINT handler) is kept here and raised again when the core's `Interrupted`
//! error reaches the binding, so the user sees exactly what the handler raised.

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

static PENDING: Mutex<Option<PyErr>> = Mutex::new(None);

fn check() -> bool {
    Python::attach(|py| match py.check_signals() {
        Ok(()) => false,
        Err(err) => {
            *PENDING.lock().unwrap_or_else(|e| e.into_inner()) = Some(err);
            true
        }
    })
}

/// The exception to raise for the core's `Interrupted` error: the one the signal handler
/// raised, or a plain `KeyboardInterrupt` naming the op.
pub fn take_pending(op: &str) -> PyErr {
    PENDING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .unwrap_or_else(|| PyKeyboardInterrupt::new_err(format!("{op}: interrupted")))
}

/// Installs the check (at import).
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    tapegrad_core::interrupt::set_interrupt_check(Some(Arc::new(check)));
    Ok(())
}
