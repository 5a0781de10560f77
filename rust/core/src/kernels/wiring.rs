//! The few entry points the ops call: whole arrays in, whole arrays out, split over the
//! thread pool when large. Kept apart from the kernels so that the ops can be reorganised
//! without touching them.

use super::exp_log;
use crate::array::Array;
use crate::error::Result;
use crate::ops::unary::Unary;
use crate::parallel;
use ndarray::{ArcArray, IxDyn};

/// `out = f(x)` over a contiguous slice, split into chunks over the pool from
/// [`parallel::HEAVY_MIN`] elements (each element's value does not depend on the split).
fn map_split<T: Copy + Default + Send + Sync>(
    op: &'static str,
    x: &[T],
    f: fn(&[T], &mut [T]),
) -> Result<Vec<T>> {
    let mut out = crate::alloc::try_filled(op, x.len(), T::default())?;
    let parts = parallel::parts(x.len(), parallel::HEAVY_MIN);
    if parts == 1 {
        f(x, &mut out);
    } else {
        let chunk = x.len().div_ceil(parts);
        let jobs: Vec<_> = out.chunks_mut(chunk).zip(x.chunks(chunk)).collect();
        parallel::for_each(jobs, |(out, x)| f(x, out));
    }
    Ok(out)
}

/// `f` over every element of `a`; a strided `a` is copied to row-major order first, so that
/// every layout gets the same values.
fn map_array<T: Copy + Default + Send + Sync>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    f: fn(&[T], &mut [T]),
) -> Result<ArcArray<T, IxDyn>> {
    let values = match a.as_slice() {
        Some(x) => map_split(op, x, f)?,
        None => {
            let copy = crate::alloc::try_collect(op, a.len(), a.iter().copied())?;
            map_split(op, &copy, f)?
        }
    };
    Ok(crate::alloc::array_from_vec(op, a.shape(), values)?.into_shared())
}

/// `op` applied to `x` by a vectorised kernel, or `None` when `op` has none (the caller's
/// generic loop handles those).
pub(crate) fn unary_forward(op: Unary, x: &Array) -> Option<Result<Array>> {
    let name = op.info().api[0];
    type Kernels = (fn(&[f32], &mut [f32]), fn(&[f64], &mut [f64]));
    let (f32_kernel, f64_kernel): Kernels = match op {
        Unary::Exp => (exp_log::exp_f32, exp_log::exp_f64),
        Unary::Log => (exp_log::log_f32, exp_log::log_f64),
        Unary::Tanh => (exp_log::tanh_f32, exp_log::tanh_f64),
        Unary::Sigmoid => (exp_log::sigmoid_f32, exp_log::sigmoid_f64),
        _ => return None,
    };
    match x {
        Array::F32(a) => Some(map_array(name, a, f32_kernel).map(Array::F32)),
        Array::F64(a) => Some(map_array(name, a, f64_kernel).map(Array::F64)),
        // Not floating: the caller's dispatch reports the dtype error.
        Array::Bool(_)
        | Array::U8(_)
        | Array::I8(_)
        | Array::I16(_)
        | Array::I32(_)
        | Array::I64(_) => None,
    }
}
