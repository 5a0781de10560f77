//! Memory accounting and labels: the bytes held for backward (now and at peak), node sequence
//! numbers, and the module labels nodes are recorded under (the memory bill's totals).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

static SAVED_BYTES: AtomicUsize = AtomicUsize::new(0);
static PEAK_SAVED_BYTES: AtomicUsize = AtomicUsize::new(0);
static NODE_SEQ: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static LABELS: RefCell<Vec<Arc<str>>> = const { RefCell::new(Vec::new()) };
}

/// Bytes held for backward right now, across all live graphs (a tensor saved by two rules
/// counts twice).
pub fn saved_bytes() -> usize {
    SAVED_BYTES.load(Ordering::Relaxed)
}

/// The largest [`saved_bytes`] seen since the last [`reset_peak_saved_bytes`].
pub fn peak_saved_bytes() -> usize {
    PEAK_SAVED_BYTES.load(Ordering::Relaxed)
}

/// Restarts peak tracking from the current [`saved_bytes`].
pub fn reset_peak_saved_bytes() {
    PEAK_SAVED_BYTES.store(saved_bytes(), Ordering::Relaxed);
}

/// Counts `bytes` as held for backward (a node was recorded).
pub(crate) fn account(bytes: usize) {
    let now = SAVED_BYTES.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK_SAVED_BYTES.fetch_max(now, Ordering::Relaxed);
}

/// Stops counting `bytes` (a node released its saved tensors or was dropped).
pub(crate) fn unaccount(bytes: usize) {
    SAVED_BYTES.fetch_sub(bytes, Ordering::Relaxed);
}

/// The sequence number the next recorded node will get (nodes are numbered in creation order).
pub fn next_node_seq() -> u64 {
    NODE_SEQ.load(Ordering::Relaxed)
}

/// Takes the next sequence number.
pub(crate) fn take_node_seq() -> u64 {
    NODE_SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Labels the nodes recorded on this thread until the matching [`pop_label`] (nn modules push
/// their name, so the memory bill can total by module).
pub fn push_label(label: &str) {
    LABELS.with(|l| l.borrow_mut().push(Arc::from(label)));
}

/// Ends the innermost [`push_label`].
pub fn pop_label() {
    LABELS.with(|l| l.borrow_mut().pop());
}

/// The innermost label, if any.
pub(crate) fn current_label() -> Option<Arc<str>> {
    LABELS.with(|l| l.borrow().last().cloned())
}
