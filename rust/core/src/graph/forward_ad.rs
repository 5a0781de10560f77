//! Forward-mode levels: which dual levels are open on this thread, and the tangents a tensor
//! carries at each (the JVP side of every rule runs inside them).

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

thread_local! {
    static DUAL_LEVELS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

static NEXT_DUAL_LEVEL: AtomicU64 = AtomicU64::new(1);

/// Tangents a tensor carries, one per dual level id.
pub type Tangents = Vec<(u64, Tensor)>;

/// Whether ops propagate tangents on this thread (inside a dual level).
pub fn is_forward_ad_enabled() -> bool {
    DUAL_LEVELS.with(|l| !l.borrow().is_empty())
}

/// Opens a forward-mode level on this thread and returns its id. Levels nest (`jvp` of
/// `jvp`): each carries its own tangents, and ids are never reused, so a tangent left on a
/// tensor by a closed level is never mistaken for a live one.
pub fn enter_dual_level() -> u64 {
    let id = NEXT_DUAL_LEVEL.fetch_add(1, Ordering::Relaxed);
    DUAL_LEVELS.with(|l| l.borrow_mut().push(id));
    id
}

/// Closes the innermost level, which must be `id`.
pub fn exit_dual_level(id: u64) -> Result<()> {
    DUAL_LEVELS.with(|l| {
        let mut levels = l.borrow_mut();
        if levels.last() != Some(&id) {
            return Err(Error::Graph(format!(
                "dual level {id} is not the innermost open level ({:?}): exit levels in reverse \
                 order of entering them",
                levels.last()
            )));
        }
        levels.pop();
        Ok(())
    })
}

/// The innermost open level, if any.
pub fn current_dual_level() -> Option<u64> {
    DUAL_LEVELS.with(|l| l.borrow().last().copied())
}

/// The open levels, outermost first.
pub(crate) fn open_dual_levels() -> Vec<u64> {
    DUAL_LEVELS.with(|l| l.borrow().clone())
}

/// Replaces the open levels (to suspend forward mode) and returns the previous ones.
pub fn swap_dual_levels(levels: Vec<u64>) -> Vec<u64> {
    DUAL_LEVELS.with(|l| std::mem::replace(&mut *l.borrow_mut(), levels))
}

/// Keeps only the `keep` outermost levels open while a JVP rule computes: the tangent at
/// level `keep` is built from ops that propagate the outer levels' tangents, never its own.
pub(crate) struct OuterLevelsOnly(Vec<u64>);

impl OuterLevelsOnly {
    pub(crate) fn new(keep: usize) -> Self {
        let all = open_dual_levels();
        DUAL_LEVELS.with(|l| l.borrow_mut().truncate(keep));
        OuterLevelsOnly(all)
    }
}

impl Drop for OuterLevelsOnly {
    fn drop(&mut self) {
        DUAL_LEVELS.with(|l| *l.borrow_mut() = std::mem::take(&mut self.0));
    }
}

/// The sum of a JVP's contributions, one per input with a tangent (`None` when there are
/// none: a zero tangent).
pub fn sum_tangents(parts: impl IntoIterator<Item = Result<Tensor>>) -> Result<Option<Tensor>> {
    let mut total: Option<Tensor> = None;
    for part in parts {
        let part = part?;
        total = Some(match total {
            None => part,
            Some(sum) => sum.add(&part)?,
        });
    }
    Ok(total)
}
