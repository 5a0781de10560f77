//! Anomaly mode (PyTorch's `detect_anomaly`): while it is on, every recorded node keeps where
//! it was created, and the sweep fails on the first rule that returns a NaN, naming the node
//! and showing that place. Off by default, and then it costs one relaxed atomic load per node.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

static ENABLED: AtomicBool = AtomicBool::new(false);
static CHECK_NAN: AtomicBool = AtomicBool::new(true);

/// Describes where an op is being recorded (the binding supplies one that formats the Python
/// stack).
pub type ContextProvider = Arc<dyn Fn() -> Option<String> + Send + Sync>;

static PROVIDER: RwLock<Option<ContextProvider>> = RwLock::new(None);

/// Turns anomaly mode on or off for the process; `check_nan` makes the sweep check every
/// rule's gradients for NaN.
pub fn set_anomaly_enabled(enabled: bool, check_nan: bool) {
    CHECK_NAN.store(check_nan, Ordering::Relaxed);
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Whether anomaly mode is on.
pub fn is_anomaly_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether the sweep checks gradients for NaN.
pub fn is_anomaly_check_nan_enabled() -> bool {
    is_anomaly_enabled() && CHECK_NAN.load(Ordering::Relaxed)
}

/// Sets the function that describes where an op is recorded.
pub fn set_context_provider(provider: Option<ContextProvider>) {
    *PROVIDER.write().unwrap_or_else(|e| e.into_inner()) = provider;
}

/// Where the op being recorded comes from, when anomaly mode is on.
pub(crate) fn creation_context() -> Option<Arc<str>> {
    if !is_anomaly_enabled() {
        return None;
    }
    let provider = PROVIDER.read().unwrap_or_else(|e| e.into_inner()).clone()?;
    provider().map(Arc::from)
}
