//! Memory shared with other libraries (NumPy arrays, DLPack capsules): the one module of the
//! core, with `kernels`, where `unsafe` is allowed.
//!
//! A [`ForeignBuffer`] is `len` elements of one dtype at a fixed address, kept alive by an
//! owner the core knows nothing about (`Box<dyn Any + Send + Sync>`: the binding's handle on a
//! NumPy array or DLPack capsule, or the tapegrad buffer a NumPy array was given). Code outside
//! tapegrad may read and write that memory at any time, so the core never lends a reference
//! into it: [`ForeignBuffer::read`] copies a window out into a fresh [`Array`] (what kernels
//! get), and [`ForeignBuffer::write`] copies values into a window. Nothing the core keeps
//! (shapes, strides, the address, the owner) lives in the shared memory, so a foreign write
//! can change element values and nothing else.
//!
//! The rules the rest of the core keeps, and the `// SAFETY:` comments below rely on:
//! - the address, length, dtype and owner of a buffer never change after construction, and
//!   the buffer is dropped (releasing the owner) only when no `Arc` to it remains;
//! - every window passed to `read`/`write` is checked here to lie inside the buffer, and a
//!   written window must not overlap itself.
//!
//! Concurrent writes (tapegrad and NumPy, or two Python threads) may race on element values,
//! as in PyTorch; they cannot move or free the memory or change any shape. Bool elements are
//! read as bytes and compared with 0, so a foreign byte other than 0 or 1 is a `true`, never an
//! invalid `bool`.

use crate::array::{Array, DType};
use crate::storage::Strides;
use ndarray::{ArcArray, ArrayView, ArrayViewMut, IxDyn, ShapeBuilder};
use std::any::Any;
use std::ptr::NonNull;

/// `len` elements of `dtype` at a fixed address, kept alive by `owner`.
pub struct ForeignBuffer {
    address: NonNull<u8>,
    len: usize,
    dtype: DType,
    shape: Vec<usize>,
    /// Made by [`from_array`](Self::from_array): the owner is a tapegrad array.
    native: bool,
    _owner: Box<dyn Any + Send + Sync>,
}

// SAFETY: the buffer is a pointer plus an owner that is itself `Send + Sync`; the memory is
// only ever touched through `read` and `write`, which copy elements (plain data, no
// references or drop glue) and are the same from any thread. Races between threads are races
// on element values, which the module documentation accepts (as PyTorch does).
unsafe impl Send for ForeignBuffer {}
// SAFETY: as for `Send`: `&ForeignBuffer` gives no access to the memory other than the copying
// `read` and `write`.
unsafe impl Sync for ForeignBuffer {}

impl std::fmt::Debug for ForeignBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForeignBuffer")
            .field("address", &self.address)
            .field("shape", &self.shape)
            .field("dtype", &self.dtype)
            .finish()
    }
}

/// `values` (one per element of `shape`, in row-major order) as a standard-layout array. The
/// copy out of a window is built element by element, never with ndarray's memory-order fast
/// path, which would keep a permuted or empty window's strides.
fn standard<T: Clone>(shape: &[usize], values: Vec<T>) -> ndarray::ArcArray<T, IxDyn> {
    // Infallible: callers pass the elements of a view of `shape`, one per position, and
    // returning a Result would ripple through `ForeignBuffer::read`'s callers.
    ndarray::ArrayD::from_shape_vec(IxDyn(shape), values)
        .expect("a window's iterator yields one value per element of its shape")
        .into_shared()
}

impl ForeignBuffer {
    /// Memory that someone else allocated, seen as a standard-order array of `shape`.
    ///
    /// # Safety
    /// `address` must be non-null, aligned for `dtype`, and valid for reads and writes of
    /// `shape.iter().product()` elements for as long as `owner` is alive; the memory must not
    /// be freed or reallocated while `owner` lives (other code may still read and write the
    /// elements).
    pub unsafe fn new(
        address: *mut u8,
        shape: Vec<usize>,
        dtype: DType,
        owner: Box<dyn Any + Send + Sync>,
    ) -> ForeignBuffer {
        let len = shape.iter().product();
        // A caller contract of this unsafe constructor (see `# Safety`), not an input check:
        // the binding passes a non-null pointer even for empty arrays.
        let address = NonNull::new(address).expect("a foreign buffer's address is not null");
        assert_eq!(address.as_ptr() as usize % dtype.itemsize(), 0, "aligned foreign buffer");
        ForeignBuffer { address, len, dtype, shape, native: false, _owner: owner }
    }

    /// Whether the memory is a tapegrad array (exported), not another library's (imported).
    pub fn is_native(&self) -> bool {
        self.native
    }

    /// The tapegrad array this buffer was made from by [`from_array`](Self::from_array), back
    /// as an [`Array`] (no copy: the elements never moved), or the buffer itself when its
    /// memory belongs to another library (an imported NumPy array or DLPack capsule).
    pub fn into_native(self) -> Result<Array, ForeignBuffer> {
        macro_rules! back {
            ($($v:ident: $t:ty),*) => {
                match self.dtype {
                    $(DType::$v => match self._owner.downcast::<ndarray::ArrayD<$t>>() {
                        Ok(owned) => Ok(Array::$v((*owned).into_shared())),
                        Err(owner) => Err(ForeignBuffer { _owner: owner, ..self }),
                    },)*
                }
            };
        }
        back!(Bool: bool, U8: u8, I8: i8, I16: i16, I32: i32, I64: i64, F32: f32, F64: f64)
    }

    /// Takes `array` over as the shared buffer: no copy when nothing else shares it and it is
    /// in standard order (else one copy, so that earlier readers keep their values).
    pub fn from_array(array: Array) -> ForeignBuffer {
        macro_rules! take {
            ($($v:ident),*) => {
                match array {
                    $(Array::$v(a) => {
                        let mut a: ArcArray<_, IxDyn> = a;
                        if !a.is_standard_layout() {
                            a = a.as_standard_layout().into_owned().into_shared();
                        }
                        // `into_owned` moves the elements when the array is unique, else copies.
                        let owned: ndarray::ArrayD<_> = a.into_owned();
                        let shape = owned.shape().to_vec();
                        let len = owned.len();
                        // Infallible: a Vec-backed array's pointer is never null, even empty.
                        let address = NonNull::new(owned.as_ptr() as *mut u8).expect("non-null");
                        // Moving `owned` into the box moves its header, not its elements.
                        ForeignBuffer {
                            address,
                            len,
                            dtype: DType::$v,
                            shape,
                            native: true,
                            _owner: Box::new(owned),
                        }
                    })*
                }
            };
        }
        take!(Bool, U8, I8, I16, I32, I64, F32, F64)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The standard-order shape of the whole buffer.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Address of the first element.
    pub fn address(&self) -> usize {
        self.address.as_ptr() as usize
    }

    /// Bytes of the buffer.
    pub fn nbytes(&self) -> usize {
        self.len * self.dtype.itemsize()
    }

    /// Whether `window` reads only elements of the buffer.
    pub fn contains(&self, window: &Strides) -> bool {
        window.checked_extent().is_some_and(|end| end <= self.len)
    }

    /// A copy of the elements `window` reads, in standard order.
    pub fn read(&self, window: &Strides) -> Array {
        assert!(self.contains(window), "window {window:?} outside a buffer of {}", self.len);
        let shape = IxDyn(&window.shape).strides(IxDyn(&window.strides));
        macro_rules! copy {
            ($t:ty, $variant:ident) => {{
                // SAFETY: the window lies inside the buffer (asserted above), which is valid
                // and aligned for `len` elements of this dtype while `self` (and so the owner)
                // lives; the view lives only for this copy. Other code may write the elements
                // meanwhile (a race on values, accepted; see the module documentation).
                let view = unsafe {
                    ArrayView::<$t, IxDyn>::from_shape_ptr(
                        shape,
                        (self.address.as_ptr() as *const $t).add(window.offset),
                    )
                };
                Array::$variant(standard(&window.shape, view.iter().copied().collect()))
            }};
        }
        match self.dtype {
            DType::Bool => {
                // Bytes, not `bool`s: any byte another library wrote is a valid `u8`.
                // SAFETY: as in `copy!`, for bytes.
                let view = unsafe {
                    ArrayView::<u8, IxDyn>::from_shape_ptr(
                        shape,
                        self.address.as_ptr().add(window.offset),
                    )
                };
                Array::Bool(standard(&window.shape, view.iter().map(|&b| b != 0).collect()))
            }
            DType::U8 => copy!(u8, U8),
            DType::I8 => copy!(i8, I8),
            DType::I16 => copy!(i16, I16),
            DType::I32 => copy!(i32, I32),
            DType::I64 => copy!(i64, I64),
            DType::F32 => copy!(f32, F32),
            DType::F64 => copy!(f64, F64),
        }
    }

    /// The whole buffer, copied.
    pub fn read_all(&self) -> Array {
        self.read(&Strides::contiguous(&self.shape))
    }

    /// Copies `values` (the window's shape and the buffer's dtype, any layout) into the
    /// elements `window` reads. The caller holds the storage's write lock, so no other write
    /// from tapegrad runs at the same time.
    pub fn write(&self, window: &Strides, values: &Array) {
        assert!(self.contains(window), "window {window:?} outside a buffer of {}", self.len);
        assert!(!window.overlaps(), "a written window does not overlap itself");
        assert_eq!(values.dtype(), self.dtype, "values of the buffer's dtype");
        assert_eq!(values.shape(), window.shape.as_slice(), "values of the window's shape");
        let shape = IxDyn(&window.shape).strides(IxDyn(&window.strides));
        macro_rules! arm {
            ($($t:ty => $variant:ident),*) => {
                match values {
                    $(Array::$variant(v) => {
                        // SAFETY: the window lies inside the buffer and reaches each element
                        // once (both asserted above), so the mutable view aliases no other
                        // element of itself; the memory is valid and aligned for this dtype
                        // while `self` lives, and the view lives only for this assignment.
                        // `values` is a tapegrad array, never a view of foreign memory (reads
                        // copy), so it does not overlap the window. Foreign code may touch the
                        // elements meanwhile: a race on values, accepted.
                        let mut view = unsafe {
                            ArrayViewMut::<$t, IxDyn>::from_shape_ptr(
                                shape,
                                (self.address.as_ptr() as *mut $t).add(window.offset),
                            )
                        };
                        view.assign(v);
                    })*
                }
            };
        }
        arm!(bool => Bool, u8 => U8, i8 => I8, i16 => I16, i32 => I32, i64 => I64, f32 => F32,
            f64 => F64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owner that is a plain Vec of bytes (what a foreign allocation looks like).
    fn foreign_f64(values: &[f64]) -> (ForeignBuffer, *const f64) {
        let boxed: Box<[f64]> = values.to_vec().into_boxed_slice();
        let address = boxed.as_ptr() as *mut u8;
        // SAFETY: the boxed slice is the owner: valid, aligned, never reallocated.
        let buffer =
            unsafe { ForeignBuffer::new(address, vec![values.len()], DType::F64, Box::new(boxed)) };
        (buffer, address as *const f64)
    }

    #[test]
    fn only_a_buffer_made_from_a_tapegrad_array_turns_back_into_one() {
        let (imported, _) = foreign_f64(&[1.0, 2.0]);
        assert!(imported.into_native().is_err(), "another library's memory stays foreign");
        let array = Array::from_f64_vec(&[2], vec![1.0, 2.0], DType::F64).unwrap();
        let exported = ForeignBuffer::from_array(array);
        let address = exported.address();
        let back = exported.into_native().expect("a tapegrad array");
        assert_eq!(back.to_f64_vec(), vec![1.0, 2.0]);
        assert_eq!(crate::dispatch_any!(&back, a => a.as_ptr() as usize), address);
    }

    #[test]
    fn reads_and_writes_match_a_safe_reference() {
        let reference: Vec<f64> = (0..24).map(f64::from).collect();
        let (buffer, _) = foreign_f64(&reference);
        let whole = Strides::contiguous(&[2, 3, 4]);
        let windows = [
            whole.clone(),
            whole.permute(&[2, 0, 1]),
            whole.slice(1, 1, 2, 1).select(2, 3),
            whole.view(&[24]).unwrap().slice(0, 3, 7, 3),
            whole.slice(0, 0, 0, 1),
        ];
        let safe = ndarray::Array::from_shape_vec(vec![24], reference.clone()).unwrap();
        for w in &windows {
            let got = buffer.read(w).to_f64_vec();
            let view = ArrayView::from_shape(
                IxDyn(&w.shape).strides(IxDyn(&w.strides)),
                &safe.as_slice().unwrap()[w.offset..],
            );
            let want: Vec<f64> = match view {
                Ok(v) => v.iter().copied().collect(),
                Err(_) => Vec::new(), // the empty window
            };
            assert_eq!(got, want, "window {w:?}");
        }
        // Writes through a transposed window land where a safe strided write puts them.
        let mut safe = safe;
        let w = whole.permute(&[2, 1, 0]);
        let values: Vec<f64> = (100..124).map(f64::from).collect();
        let v = Array::from_f64_vec(&w.shape, values.clone(), DType::F64).unwrap();
        buffer.write(&w, &v);
        {
            let mut view = ArrayViewMut::from_shape(
                IxDyn(&w.shape).strides(IxDyn(&w.strides)),
                safe.as_slice_mut().unwrap(),
            )
            .unwrap();
            view.assign(&ndarray::ArrayD::from_shape_vec(w.shape.clone(), values).unwrap());
        }
        assert_eq!(buffer.read_all().to_f64_vec(), safe.into_raw_vec_and_offset().0);
    }

    #[test]
    fn a_tapegrad_array_is_taken_over_without_a_copy_when_unique() {
        let a = Array::from_f64_vec(&[2, 3], (0..6).map(f64::from).collect(), DType::F64).unwrap();
        let address = crate::dispatch_any!(&a, x => x.as_ptr() as usize);
        let buffer = ForeignBuffer::from_array(a);
        assert_eq!(buffer.address(), address);
        // Shared with an earlier reader: copied, so the reader keeps its values.
        let b = Array::from_f64_vec(&[3], vec![1.0, 2.0, 3.0], DType::F64).unwrap();
        let reader = b.clone();
        let buffer = ForeignBuffer::from_array(b);
        buffer.write(
            &Strides::contiguous(&[3]),
            &Array::from_f64_vec(&[3], vec![0.0; 3], DType::F64).unwrap(),
        );
        assert_eq!(reader.to_f64_vec(), vec![1.0, 2.0, 3.0]);
        assert_eq!(buffer.read_all().to_f64_vec(), vec![0.0; 3]);
        // A transposed array is put in standard order.
        let t = Array::from_f64_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0], DType::F64).unwrap();
        let t = crate::map_any!(&t, x => x.clone().reversed_axes());
        let buffer = ForeignBuffer::from_array(t);
        assert_eq!(buffer.read_all().to_f64_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    }

    #[test]
    fn foreign_bytes_other_than_0_and_1_read_as_true() {
        let bytes: Box<[u8]> = vec![0u8, 1, 2, 255].into_boxed_slice();
        let address = bytes.as_ptr() as *mut u8;
        // SAFETY: the boxed bytes are the owner.
        let buffer = unsafe { ForeignBuffer::new(address, vec![4], DType::Bool, Box::new(bytes)) };
        match buffer.read_all() {
            Array::Bool(b) => {
                assert_eq!(b.iter().copied().collect::<Vec<_>>(), [false, true, true, true])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_owner_lives_as_long_as_the_buffer() {
        let (buffer, address) = foreign_f64(&[1.0, 2.0]);
        let buffer = std::sync::Arc::new(buffer);
        let other = buffer.clone();
        drop(buffer);
        buffer_write(&other, 5.0);
        // SAFETY: `other` keeps the owner (and so the memory) alive.
        assert_eq!(unsafe { *address }, 5.0);
    }

    fn buffer_write(b: &ForeignBuffer, v: f64) {
        b.write(
            &Strides::contiguous(&[1]),
            &Array::from_f64_vec(&[1], vec![v], DType::F64).unwrap(),
        );
    }

    #[test]
    #[should_panic(expected = "outside a buffer")]
    fn a_window_past_the_end_is_refused() {
        let (buffer, _) = foreign_f64(&[1.0, 2.0]);
        buffer.read(&Strides { offset: 1, shape: vec![2], strides: vec![1] });
    }

    #[test]
    #[should_panic(expected = "does not overlap")]
    fn an_overlapping_write_is_refused() {
        let (buffer, _) = foreign_f64(&[1.0, 2.0]);
        let v = Array::from_f64_vec(&[2], vec![0.0; 2], DType::F64).unwrap();
        buffer.write(&Strides { offset: 0, shape: vec![2], strides: vec![0] }, &v);
    }
}
