//! The one thread pool behind every parallel kernel.
//!
//! Matrix products and large elementwise ops split their *output* into independent parts
//! and run the parts on this pool; each part is computed by the same sequential code whatever
//! the thread count, so results are bit-identical with 1, 2 or more threads. The pool is
//! entered once per heavy call (waking a sleeping worker took about 100 µs on the 2-core
//! benchmark VM), and calls below a measured size run on the calling thread instead.
//!
//! The thread count comes from `TAPEGRAD_NUM_THREADS`, else `RAYON_NUM_THREADS`, else the
//! number of cores; [`set_num_threads`] changes it at run time (as `torch.set_num_threads`).

use crate::error::{Error, Result};
use rayon::ThreadPool;
use std::sync::{Arc, PoisonError, RwLock};

/// The pool, built on first use; `None` until then or after a change of thread count.
static POOL: RwLock<Option<Arc<ThreadPool>>> = RwLock::new(None);
/// The configured thread count (0: not yet read from the environment).
static THREADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Threads the parallel kernels use.
pub fn num_threads() -> usize {
    use std::sync::atomic::Ordering;
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let from_env = ["TAPEGRAD_NUM_THREADS", "RAYON_NUM_THREADS"]
                .iter()
                .find_map(|name| std::env::var(name).ok()?.trim().parse::<usize>().ok())
                .filter(|&n| n > 0);
            let n = from_env.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            // Another thread may have raced us here: keep whichever value landed first.
            match THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => n,
                Err(existing) => existing,
            }
        }
        n => n,
    }
}

/// Sets the number of threads for every later parallel kernel (at least 1). Kernels already
/// running finish on the old pool, whose threads then exit.
pub fn set_num_threads(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::value("set_num_threads", "the thread count must be at least 1, got 0"));
    }
    THREADS.store(n, std::sync::atomic::Ordering::Relaxed);
    *POOL.write().unwrap_or_else(PoisonError::into_inner) = None;
    Ok(())
}

/// The pool for the current thread count, built if needed.
fn pool() -> Result<Arc<ThreadPool>> {
    if let Some(pool) = POOL.read().unwrap_or_else(PoisonError::into_inner).as_ref() {
        return Ok(pool.clone());
    }
    let mut slot = POOL.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(pool) = slot.as_ref() {
        return Ok(pool.clone());
    }
    // The calling thread works too (see `for_each`): the pool has the other threads.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(num_threads().saturating_sub(1).max(1))
        .thread_name(|i| format!("tapegrad-{i}"))
        .build()
        .map_err(|e| Error::Graph(format!("could not start the thread pool: {e}")))?;
    Ok(slot.insert(Arc::new(pool)).clone())
}

/// Runs `work` on every item: the calling thread takes the first item itself and hands the
/// others to the pool's workers, so a call that finds the workers asleep overlaps their
/// wake-up (about 100 µs on the 2-core benchmark VM) with its own share of the work. On the
/// calling thread alone when there is one item or one thread (or when the pool cannot be
/// started).
pub(crate) fn for_each<I: Send>(items: Vec<I>, work: impl Fn(I) + Sync + Send) {
    if items.len() > 1 && num_threads() > 1 {
        if let Ok(pool) = pool() {
            let mut items = items.into_iter();
            if let Some(first) = items.next() {
                let work = &work;
                pool.in_place_scope(|scope| {
                    for item in items {
                        scope.spawn(move |_| work(item));
                    }
                    work(first);
                });
            }
            return;
        }
    }
    items.into_iter().for_each(work);
}

/// How many parts to split `len` units of work into: one per thread, each at least `min`
/// units (so a small job stays on one thread).
pub(crate) fn parts(len: usize, min: usize) -> usize {
    (len / min.max(1)).clamp(1, num_threads())
}

/// How much work one element of an elementwise op is: it decides when splitting pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cost {
    /// A few instructions per element (add, mul, relu, comparisons). These are memory-bound:
    /// on the 2-core benchmark machine a second thread made them slower at every size from
    /// 2^16 to 2^22 elements (it adds a wake-up and a zero-filled output, and the two cores
    /// share the memory bandwidth), so they always run on the calling thread.
    Light,
    /// A polynomial or a libm call per element (exp, log, tanh, pow): compute-bound, split
    /// from [`HEAVY_MIN`] elements (1.5× on 2 threads at 2^18 elements of `exp`).
    Heavy,
}

/// Heavy elementwise ops over at least this many elements are split over the pool.
pub const HEAVY_MIN: usize = 1 << 16;

impl Cost {
    /// How many parts an op of this cost over `len` elements is split into.
    fn parts(self, len: usize) -> usize {
        match self {
            Cost::Light => 1,
            Cost::Heavy => parts(len, HEAVY_MIN),
        }
    }
}

/// A new vector of `len` values filled in `parts` chunks over the pool: `fill(start, chunk)`
/// writes the values at `start..start + chunk.len()`.
fn fill_in_parts<U: Copy + num_traits::Zero + Send>(
    op: &'static str,
    len: usize,
    parts: usize,
    fill: impl Fn(usize, &mut [U]) + Sync + Send,
) -> Result<Vec<U>> {
    let mut out = crate::alloc::try_filled(op, len, U::zero())?;
    let chunk = len.div_ceil(parts);
    let jobs: Vec<_> = out.chunks_mut(chunk).enumerate().collect();
    for_each(jobs, |(i, part)| fill(i * chunk, part));
    Ok(out)
}

/// `f` over every element of `x`, in parallel for large slices of heavy ops. Each element's
/// value does not depend on the split. The output is reserved fallibly (`op` names it).
pub(crate) fn map_slice<T, U>(
    op: &'static str,
    x: &[T],
    cost: Cost,
    f: impl Fn(T) -> U + Sync + Send,
) -> Result<Vec<U>>
where
    T: Copy + Sync,
    U: Copy + num_traits::Zero + Send,
{
    match cost.parts(x.len()) {
        1 => crate::alloc::try_collect(op, x.len(), x.iter().map(|&v| f(v))),
        parts => fill_in_parts(op, x.len(), parts, |start, out| {
            for (o, &v) in out.iter_mut().zip(&x[start..]) {
                *o = f(v);
            }
        }),
    }
}

/// `f` over pairs of elements of two slices of the same length, in parallel for large slices
/// of heavy ops. The output is reserved fallibly (`op` names it).
pub(crate) fn zip_slices<T, U>(
    op: &'static str,
    x: &[T],
    y: &[T],
    cost: Cost,
    f: impl Fn(T, T) -> U + Sync + Send,
) -> Result<Vec<U>>
where
    T: Copy + Sync,
    U: Copy + num_traits::Zero + Send,
{
    debug_assert_eq!(x.len(), y.len());
    match cost.parts(x.len()) {
        1 => crate::alloc::try_collect(op, x.len(), x.iter().zip(y).map(|(&p, &q)| f(p, q))),
        parts => fill_in_parts(op, x.len(), parts, |start, out| {
            for (o, (&p, &q)) in out.iter_mut().zip(x[start..].iter().zip(&y[start..])) {
                *o = f(p, q);
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    // One test: the thread count is global, and tests run concurrently.
    #[test]
    fn every_item_runs_once_whatever_the_thread_count_and_small_jobs_stay_whole() {
        for threads in [1, 2, 3] {
            set_num_threads(threads).unwrap();
            let hits: Vec<AtomicUsize> = (0..10).map(|_| AtomicUsize::new(0)).collect();
            for_each((0..10).collect(), |i: usize| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
            assert_eq!(num_threads(), threads);
            assert_eq!(parts(10, 100), 1);
            assert_eq!(parts(1000, 100), threads);
            let x: Vec<f64> = (0..HEAVY_MIN * 3 + 5).map(|i| i as f64).collect();
            let doubled = map_slice("mul", &x, Cost::Heavy, |v| 2.0 * v).unwrap();
            let sums = zip_slices("add", &x, &doubled, Cost::Heavy, |p, q| p + q).unwrap();
            assert!(sums.iter().enumerate().all(|(i, &v)| v == 3.0 * i as f64));
        }
        let err = set_num_threads(0).unwrap_err().to_string();
        assert!(err.contains("at least 1, got 0"), "{err}");
    }
}
