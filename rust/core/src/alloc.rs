//! Fallible allocation: every large buffer the core makes (new tensors, op outputs, copies)
//! is reserved here, so that a request the system cannot satisfy becomes
//! [`Error::OutOfMemory`] naming the op and the bytes (`MemoryError` in Python, as NumPy
//! raises) instead of the allocator aborting the process.
//!
//! The rule is one place, one way: reserve with [`Vec::try_reserve_exact`], fill the vector,
//! then build the `ndarray` from it. ndarray's own constructors (`zeros`, `from_elem`,
//! `mapv`, `map_collect`) allocate infallibly and must not be used for a buffer whose size
//! comes from the user.

use crate::array::checked_numel;
use crate::error::{Error, Result};
use ndarray::{ArrayD, IxDyn};

/// The error for a buffer of `len` elements of `T` that could not be allocated.
fn out_of_memory<T>(op: &'static str, len: usize) -> Error {
    let bytes = len.saturating_mul(std::mem::size_of::<T>());
    Error::OutOfMemory { op, bytes }
}

/// An empty vector with room for exactly `len` elements, or [`Error::OutOfMemory`].
pub fn try_with_capacity<T>(op: &'static str, len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| out_of_memory::<T>(op, len))?;
    Ok(v)
}

/// A vector of `len` copies of `value`, or [`Error::OutOfMemory`].
pub fn try_filled<T: Clone>(op: &'static str, len: usize, value: T) -> Result<Vec<T>> {
    let mut v = try_with_capacity(op, len)?;
    v.resize(len, value);
    Ok(v)
}

/// The items of `items` (which yields `len` of them) collected into a vector reserved
/// up front, or [`Error::OutOfMemory`].
pub fn try_collect<T>(
    op: &'static str,
    len: usize,
    items: impl IntoIterator<Item = T>,
) -> Result<Vec<T>> {
    let mut v = try_with_capacity(op, len)?;
    v.extend(items);
    Ok(v)
}

/// Row-major `values` as an array of `shape` (whose element count they match).
pub fn array_from_vec<T>(op: &'static str, shape: &[usize], values: Vec<T>) -> Result<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(shape), values)
        .map_err(|e| Error::internal(op, format!("a buffer does not fill shape {shape:?}: {e}")))
}

/// An array of `shape` filled with `value`: the shape is checked ([`checked_numel`]) and the
/// buffer reserved before anything is written.
pub fn try_full<T: Clone>(op: &'static str, shape: &[usize], value: T) -> Result<ArrayD<T>> {
    let len = checked_numel(op, shape)?;
    array_from_vec(op, shape, try_filled(op, len, value)?)
}

/// `f` over every element of `a` (in row-major order) into a new array of its shape.
pub fn try_map<'a, A: 'a, B>(
    op: &'static str,
    a: impl Into<ndarray::ArrayViewD<'a, A>>,
    f: impl FnMut(&A) -> B,
) -> Result<ArrayD<B>> {
    let a = a.into();
    let shape = a.shape().to_vec();
    array_from_vec(op, &shape, try_collect(op, a.len(), a.iter().map(f))?)
}

/// `a` broadcast to `shape` (NumPy's rules: `a`'s shape padded with leading 1s, each 1
/// repeated to the target size) as a new array. The trailing dimensions `a` already has
/// in full are copied as one contiguous run per position of the leading ones, so repeating
/// a matrix over a batch costs a `memcpy` per copy, not an index computation per element.
pub fn try_broadcast<T: Clone>(
    op: &'static str,
    a: ndarray::ArrayViewD<'_, T>,
    shape: &[usize],
) -> Result<ArrayD<T>> {
    let len = checked_numel(op, shape)?;
    let own = a.as_standard_layout();
    let Some(source) = own.as_slice() else {
        return Err(Error::internal(op, "a standard-layout array without a slice"));
    };
    let lead = shape.len() - own.ndim();
    let sizes: Vec<usize> =
        (0..shape.len()).map(|i| if i < lead { 1 } else { own.shape()[i - lead] }).collect();
    // Dimensions from `kept` on match the target: one run of `run` elements.
    let mut kept = shape.len();
    while kept > 0 && sizes[kept - 1] == shape[kept - 1] {
        kept -= 1;
    }
    let run: usize = sizes[kept..].iter().product();
    // Source strides of the leading dimensions (0 where a size-1 dimension repeats).
    let mut strides = vec![0; kept];
    let mut step = run;
    for i in (0..kept).rev() {
        strides[i] = if sizes[i] == 1 { 0 } else { step };
        step *= sizes[i];
    }
    let mut out = try_with_capacity(op, len)?;
    if len > 0 {
        let mut index = vec![0usize; kept];
        loop {
            let start: usize = index.iter().zip(&strides).map(|(i, s)| i * s).sum();
            out.extend_from_slice(&source[start..start + run]);
            // The next position of the leading dimensions, last fastest.
            let mut d = kept;
            while d > 0 {
                index[d - 1] += 1;
                if index[d - 1] < shape[d - 1] {
                    break;
                }
                index[d - 1] = 0;
                d -= 1;
            }
            if d == 0 {
                break;
            }
        }
    }
    array_from_vec(op, shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_request_is_an_error_naming_the_op_and_the_bytes() {
        let err = try_filled::<f64>("zeros", usize::MAX / 16, 0.0).unwrap_err();
        assert!(matches!(err, Error::OutOfMemory { op: "zeros", .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("zeros: could not allocate"), "{message}");
        assert!(message.contains(&format!("{}", (usize::MAX / 16) * 8)), "{message}");
        assert_eq!(err.kind(), crate::ErrorKind::Memory);
    }

    #[test]
    fn a_broadcast_copy_repeats_the_source_as_numpy_does() {
        let a = ndarray::Array::from_shape_vec(IxDyn(&[2, 1, 3]), (0..6).collect()).unwrap();
        let b = try_broadcast("expand", a.view(), &[2, 2, 4, 3]).unwrap();
        assert_eq!(b, a.broadcast(IxDyn(&[2, 2, 4, 3])).unwrap());
        let column = ndarray::Array::from_shape_vec(IxDyn(&[3, 1]), vec![1, 2, 3]).unwrap();
        let c = try_broadcast("expand", column.t().into_dyn(), &[2, 1, 3]).unwrap();
        assert_eq!(c, column.t().broadcast(IxDyn(&[2, 1, 3])).unwrap());
        let scalar = ndarray::arr0(7).into_dyn();
        assert_eq!(try_broadcast("expand", scalar.view(), &[0, 2]).unwrap().len(), 0);
        assert!(try_broadcast("expand", scalar.view(), &[2, 2]).unwrap().iter().all(|&v| v == 7));
    }

    #[test]
    fn arrays_are_built_from_the_reserved_buffer() {
        let a = try_full("full", &[2, 3], 1.5f32).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert!(a.iter().all(|&v| v == 1.5));
        let b = try_map("neg", &a, |v| -v).unwrap();
        assert!(b.iter().all(|&v| v == -1.5));
        let empty = try_full("full", &[0, 1 << 40], 0u8).unwrap();
        assert_eq!(empty.len(), 0);
    }
}
