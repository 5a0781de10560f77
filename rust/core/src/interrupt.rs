//! Interrupt checks: long-running work asks a process-wide callback whether to stop, so that
//! Ctrl-C reaches a Python user within a fraction of a second instead of when the op ends.
//! The backward sweep asks between nodes and large matrix products between chunks; a `true`
//! answer ends the op with [`Error::Interrupted`] before it changes any tensor the caller
//! holds. The binding installs a callback that runs Python's signal handlers; with none
//! installed (pure Rust use) a check is one relaxed atomic load.

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// Answers whether the current op should stop.
pub type InterruptCheck = Arc<dyn Fn() -> bool + Send + Sync>;

static INSTALLED: AtomicBool = AtomicBool::new(false);
static CHECK: RwLock<Option<InterruptCheck>> = RwLock::new(None);
/// Nanoseconds since [`epoch`] at the last call of the callback.
static LAST_CALL: AtomicU64 = AtomicU64::new(0);

/// The callback runs at most once per this interval, however often the core checks: cheap
/// enough for a sweep over many tiny nodes, frequent enough for a 0.2 s response.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Installs (or with `None` removes) the process-wide interrupt check.
pub fn set_interrupt_check(check: Option<InterruptCheck>) {
    let mut slot = CHECK.write().unwrap_or_else(|e| e.into_inner());
    INSTALLED.store(check.is_some(), Ordering::Release);
    *slot = check;
}

/// Fails with [`Error::Interrupted`] naming `op` when the installed check asks to stop.
pub fn check(op: &'static str) -> Result<()> {
    if !INSTALLED.load(Ordering::Acquire) {
        return Ok(());
    }
    let now = u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX);
    let last = LAST_CALL.load(Ordering::Relaxed);
    if now.saturating_sub(last) < MIN_INTERVAL.as_nanos() as u64 && last != 0 {
        return Ok(());
    }
    LAST_CALL.store(now.max(1), Ordering::Relaxed);
    let callback = CHECK.read().unwrap_or_else(|e| e.into_inner()).clone();
    match callback {
        Some(callback) if callback() => Err(Error::Interrupted { op }),
        _ => Ok(()),
    }
}
