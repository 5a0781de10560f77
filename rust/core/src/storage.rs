//! Storage and layouts: the memory tensors share, and how each tensor reads it.
//!
//! A [`Storage`] owns one buffer (an [`Array`]) and a version counter. Every tensor holds an
//! `Arc<Storage>` and a [`Layout`]: [`Layout::Natural`] reads the buffer as it is (what an op's
//! output gets: zero-copy, any strides), [`Layout::Strided`] reads `(offset, shape, strides)`
//! elements of a buffer kept in standard (C) order, PyTorch's view model. Views (slices,
//! transposes, `view`, `expand`, `diagonal`...) share their base's storage, so a write through
//! one is seen by all, and they share its version counter, so a saved tensor notices any write.
//!
//! Writes never disturb anyone holding an [`Array`] read earlier: the buffer is an `ArcArray`,
//! and a write first makes it unique (copy-on-write when an earlier read or a saved tensor
//! still shares it). Sharing between tensors is therefore exactly "same `Storage`", and the
//! whole module is safe Rust.
//!
//! A storage whose memory is shared with another library (NumPy, DLPack: a tensor made by
//! `from_numpy`/`from_dlpack`, or one whose `numpy()`/`__dlpack__` was taken) holds a
//! [`ForeignBuffer`] instead: its address never changes, reads copy out of it (so an `Array`
//! handed out is still never changed by a later write) and writes copy into it in place.

use crate::array::{Array, DType};
use crate::error::{fmt_shape, Error, Result};
use crate::foreign::ForeignBuffer;
use ndarray::{ArrayView, ArrayViewMut, IxDyn, ShapeBuilder};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockWriteGuard};

/// The memory one or more tensors view, with the count of writes to it.
pub struct Storage {
    buffer: RwLock<Buffer>,
    version: AtomicU64,
    dtype: DType,
    /// The elements of recently read non-contiguous windows (a transpose read by a matrix
    /// product keeps its zero-copy strided array here). Emptied by every write, so that a
    /// cached array never makes the write copy the buffer.
    reads: Mutex<Vec<(Strides, Array)>>,
}

/// Where a storage's elements live.
enum Buffer {
    /// A tapegrad array (copy-on-write).
    Native(Array),
    /// Memory shared with another library (fixed address; reads and writes copy).
    Shared(Arc<ForeignBuffer>),
}

/// Write access to a storage's elements as an [`Array`] (see [`Storage::write`]). For shared
/// memory it holds a copy, copied back into the memory when the guard is dropped.
pub struct BufferWrite<'a> {
    guard: RwLockWriteGuard<'a, Buffer>,
    copy: Option<Array>,
}

impl Deref for BufferWrite<'_> {
    type Target = Array;
    fn deref(&self) -> &Array {
        match (&self.copy, &*self.guard) {
            (Some(copy), _) => copy,
            (None, Buffer::Native(a)) => a,
            // `Storage::write` makes the copy whenever the buffer is shared, and the guard
            // keeps it: this arm cannot be reached (and `Deref` cannot return an error).
            (None, Buffer::Shared(_)) => unreachable!("a shared buffer is written through a copy"),
        }
    }
}

impl DerefMut for BufferWrite<'_> {
    fn deref_mut(&mut self) -> &mut Array {
        match (&mut self.copy, &mut *self.guard) {
            (Some(copy), _) => copy,
            (None, Buffer::Native(a)) => a,
            // As in `deref`: the copy exists whenever the buffer is shared.
            (None, Buffer::Shared(_)) => unreachable!("a shared buffer is written through a copy"),
        }
    }
}

impl Drop for BufferWrite<'_> {
    fn drop(&mut self) {
        if let (Some(copy), Buffer::Shared(foreign)) = (&self.copy, &*self.guard) {
            // The kernels update the copy in place and keep its shape and dtype.
            if copy.shape() == foreign.shape() && copy.dtype() == foreign.dtype() {
                foreign.write(&Strides::contiguous(foreign.shape()), copy);
            }
        }
    }
}

/// How many non-contiguous windows a storage remembers the elements of.
const CACHED_READS: usize = 4;

/// How a tensor reads its storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The whole buffer, as it is.
    Natural,
    /// Elements `offset + Σ index[i] * strides[i]` of the buffer in standard order.
    Strided(Strides),
}

/// A strided window on a standard-order buffer (in elements, as PyTorch's `stride()`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strides {
    /// Position of element `[0, 0, ...]`.
    pub offset: usize,
    /// Extent of each axis.
    pub shape: Vec<usize>,
    /// Step in elements along each axis (0 for an expanded axis).
    pub strides: Vec<usize>,
}

/// Standard (row-major) strides of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; shape.len()];
    let mut step = 1usize;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = step;
        step = step.saturating_mul(d.max(1));
    }
    strides
}

impl Strides {
    /// The whole of a buffer of `shape`.
    pub fn contiguous(shape: &[usize]) -> Strides {
        Strides { offset: 0, shape: shape.to_vec(), strides: contiguous_strides(shape) }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the elements are one row-major block (PyTorch's `is_contiguous`: axes of
    /// size 1 may have any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1usize;
        for (&d, &s) in self.shape.iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return d == 0 || self.numel() == 0;
            }
            expected = expected.saturating_mul(d);
        }
        true
    }

    /// Whether two different indices can reach one element (a write would be ambiguous).
    pub fn overlaps(&self) -> bool {
        let mut axes: Vec<(usize, usize)> = self
            .shape
            .iter()
            .zip(&self.strides)
            .filter(|(&d, _)| d > 1)
            .map(|(&d, &s)| (s, d))
            .collect();
        if self.numel() == 0 {
            return false;
        }
        axes.sort_unstable();
        let mut reach = 0usize; // the largest offset reachable by the smaller-stride axes
        for (s, d) in axes {
            if s <= reach || s == 0 {
                return true;
            }
            reach += s * (d - 1);
        }
        false
    }

    /// `shape[dim]` positions `start, start + step, ...` (`len` of them) along `dim`.
    pub fn slice(&self, dim: usize, start: usize, len: usize, step: usize) -> Strides {
        let mut out = self.clone();
        if len > 0 {
            out.offset += start * self.strides[dim];
        }
        out.shape[dim] = len;
        out.strides[dim] = self.strides[dim] * step;
        out
    }

    /// Position `index` of `dim`, which disappears.
    pub fn select(&self, dim: usize, index: usize) -> Strides {
        let mut out = self.clone();
        out.offset += index * self.strides[dim];
        out.shape.remove(dim);
        out.strides.remove(dim);
        out
    }

    /// A new axis of size 1 at `dim`.
    pub fn unsqueeze(&self, dim: usize) -> Strides {
        let mut out = self.clone();
        let stride = if dim < self.shape.len() { self.strides[dim] * self.shape[dim] } else { 1 };
        out.shape.insert(dim, 1);
        out.strides.insert(dim, stride);
        out
    }

    /// Output axis `i` is axis `axes[i]`.
    pub fn permute(&self, axes: &[usize]) -> Strides {
        Strides {
            offset: self.offset,
            shape: axes.iter().map(|&a| self.shape[a]).collect(),
            strides: axes.iter().map(|&a| self.strides[a]).collect(),
        }
    }

    /// Broadcast to `shape` (numpy's rule: new leading axes, and size-1 axes stretched, get
    /// stride 0). The caller has checked that the shapes broadcast.
    pub fn expand(&self, shape: &[usize]) -> Strides {
        let lead = shape.len() - self.shape.len();
        let strides = shape
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if i < lead {
                    0
                } else {
                    let (own, s) = (self.shape[i - lead], self.strides[i - lead]);
                    if own == d {
                        s
                    } else {
                        0
                    }
                }
            })
            .collect();
        Strides { offset: self.offset, shape: shape.to_vec(), strides }
    }

    /// The same elements with `shape`, when the strides allow it without a copy (PyTorch's
    /// `computeStride`): each group of old axes merged or split must be one block.
    pub fn view(&self, shape: &[usize]) -> Option<Strides> {
        let numel = self.numel();
        if numel == 0 || self.shape.is_empty() || shape.is_empty() {
            return Some(Strides {
                offset: self.offset,
                shape: shape.to_vec(),
                strides: contiguous_strides(shape),
            });
        }
        let mut new_strides = vec![0usize; shape.len()];
        let mut view_d = shape.len() as isize - 1;
        let &last_stride = self.strides.last()?; // not empty: checked above
        let mut chunk_base_stride = last_stride;
        let mut tensor_numel = 1usize;
        let mut view_numel = 1usize;
        for tensor_d in (0..self.shape.len()).rev() {
            tensor_numel *= self.shape[tensor_d];
            let boundary = tensor_d == 0
                || (self.shape[tensor_d - 1] != 1
                    && self.strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
            if boundary {
                while view_d >= 0 && (view_numel < tensor_numel || shape[view_d as usize] == 1) {
                    new_strides[view_d as usize] = view_numel * chunk_base_stride;
                    view_numel *= shape[view_d as usize];
                    view_d -= 1;
                }
                if view_numel != tensor_numel {
                    return None;
                }
                if tensor_d > 0 {
                    chunk_base_stride = self.strides[tensor_d - 1];
                    tensor_numel = 1;
                    view_numel = 1;
                }
            }
        }
        if view_d != -1 {
            return None;
        }
        Some(Strides { offset: self.offset, shape: shape.to_vec(), strides: new_strides })
    }

    /// The diagonal `offset` of axes `d1`, `d2` (removed; the diagonal becomes the last axis).
    pub fn diagonal(&self, offset: i64, d1: usize, d2: usize) -> Strides {
        let (n1, n2) = (self.shape[d1], self.shape[d2]);
        let o = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
        // An offset beyond the matrix leaves an empty diagonal (PyTorch's rule); the start is
        // only computed for a non-empty one, where `o` is within an axis and cannot overflow.
        let (len, start_axis) = if offset >= 0 {
            (n1.min(n2.saturating_sub(o)), d2)
        } else {
            (n1.saturating_sub(o).min(n2), d1)
        };
        let start = if len > 0 { o * self.strides[start_axis] } else { 0 };
        let mut shape = Vec::with_capacity(self.shape.len() - 1);
        let mut strides = Vec::with_capacity(self.shape.len() - 1);
        for i in 0..self.shape.len() {
            if i != d1 && i != d2 {
                shape.push(self.shape[i]);
                strides.push(self.strides[i]);
            }
        }
        shape.push(len);
        strides.push(self.strides[d1] + self.strides[d2]);
        Strides { offset: self.offset + start, shape, strides }
    }

    /// Windows of `size` every `step` along `dim` (a new last axis of length `size`).
    pub fn unfold(&self, dim: usize, size: usize, step: usize) -> Strides {
        let mut out = self.clone();
        let n = self.shape[dim];
        out.shape[dim] = if n >= size { (n - size) / step + 1 } else { 0 };
        out.strides[dim] = self.strides[dim] * step;
        out.shape.push(size);
        out.strides.push(self.strides[dim]);
        out
    }

    /// [`Strides::extent`], or None when it does not fit a `usize` (huge shapes or strides).
    pub fn checked_extent(&self) -> Option<usize> {
        let mut numel: usize = 1;
        for &d in &self.shape {
            numel = numel.checked_mul(d)?;
        }
        if numel == 0 {
            return Some(0);
        }
        let mut end = self.offset;
        for (&d, &s) in self.shape.iter().zip(&self.strides) {
            end = end.checked_add((d - 1).checked_mul(s)?)?;
        }
        end.checked_add(1)
    }

    /// One past the largest buffer position read (0 for an empty window).
    pub fn extent(&self) -> usize {
        if self.numel() == 0 {
            return 0;
        }
        self.offset
            + self.shape.iter().zip(&self.strides).map(|(&d, &s)| (d - 1) * s).sum::<usize>()
            + 1
    }
}

impl Storage {
    /// A storage holding `buffer`.
    pub fn new(buffer: Array) -> Arc<Storage> {
        Arc::new(Storage {
            dtype: buffer.dtype(),
            buffer: RwLock::new(Buffer::Native(buffer)),
            version: AtomicU64::new(0),
            reads: Mutex::new(Vec::new()),
        })
    }

    /// A storage over memory shared with another library.
    pub fn foreign(buffer: Arc<ForeignBuffer>) -> Arc<Storage> {
        Arc::new(Storage {
            dtype: buffer.dtype(),
            buffer: RwLock::new(Buffer::Shared(buffer)),
            version: AtomicU64::new(0),
            reads: Mutex::new(Vec::new()),
        })
    }

    /// The memory of this storage, to share with another library: the first call turns the
    /// buffer into a [`ForeignBuffer`] (no copy when no earlier read shares the `ArcArray`,
    /// which is then put in standard order), after which reads and writes copy (see the
    /// module documentation). Values and version are unchanged.
    pub fn share(&self) -> Arc<ForeignBuffer> {
        let mut buffer = self.buffer.write().unwrap_or_else(|e| e.into_inner());
        if let Buffer::Shared(foreign) = &*buffer {
            return foreign.clone();
        }
        let placeholder = Buffer::Native(Array::scalar(0.0, self.dtype));
        let array = match std::mem::replace(&mut *buffer, placeholder) {
            Buffer::Native(array) => array,
            Buffer::Shared(foreign) => {
                // Not reached (returned above), but putting it back is as cheap as a panic.
                *buffer = Buffer::Shared(foreign.clone());
                return foreign;
            }
        };
        let foreign = Arc::new(ForeignBuffer::from_array(array));
        *buffer = Buffer::Shared(foreign.clone());
        // Cached windows would miss writes made by the other library.
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).clear();
        foreign
    }

    /// Makes an exported buffer native again once no other library holds it: when the last
    /// NumPy array or DLPack capsule viewing a tensor's memory is gone, the storage's `Arc`
    /// is the only one left and nobody outside can see the memory, so the copy-free reads of
    /// a native buffer come back (a `t.numpy()` for a plot must not slow `t` down for good).
    /// Imported memory (owned by the other library) stays shared. Called with the write
    /// lock held (`share`, the only way to a new `Arc`, needs it too).
    fn reclaim(buffer: &mut Buffer) {
        if !matches!(&*buffer, Buffer::Shared(f) if Self::reclaimable(f)) {
            return;
        }
        let placeholder = Buffer::Native(Array::scalar(0.0, DType::Bool));
        let foreign = match std::mem::replace(buffer, placeholder) {
            Buffer::Shared(foreign) => foreign,
            native => {
                *buffer = native;
                return;
            }
        };
        *buffer = match Arc::try_unwrap(foreign) {
            Ok(foreign) => match foreign.into_native() {
                Ok(array) => Buffer::Native(array),
                Err(foreign) => Buffer::Shared(Arc::new(foreign)),
            },
            Err(foreign) => Buffer::Shared(foreign),
        };
    }

    /// An exported buffer that no NumPy array or capsule holds any more.
    fn reclaimable(foreign: &Arc<ForeignBuffer>) -> bool {
        foreign.is_native() && Arc::strong_count(foreign) == 1
    }

    /// Whether the memory is still shared with another library, once memory whose last
    /// NumPy array or DLPack capsule is gone has turned native again.
    pub fn is_shared_now(&self) -> bool {
        Self::reclaim(&mut self.buffer.write().unwrap_or_else(|e| e.into_inner()));
        self.is_shared()
    }

    /// Whether the memory is shared with another library.
    pub fn is_shared(&self) -> bool {
        matches!(&*self.buffer.read().unwrap_or_else(|e| e.into_inner()), Buffer::Shared(_))
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Writes so far.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// Counts a write.
    pub fn bump(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the count of writes at `version` (a storage that replaces a tensor's old one,
    /// as `resize_` growing it: the tensor's `_version` goes on from where it was).
    pub(crate) fn set_version(&self, version: u64) {
        self.version.store(version, Ordering::Relaxed);
    }

    /// Shape of the buffer.
    pub fn buffer_shape(&self) -> Vec<usize> {
        match &*self.buffer.read().unwrap_or_else(|e| e.into_inner()) {
            Buffer::Native(a) => a.shape().to_vec(),
            Buffer::Shared(f) => f.shape().to_vec(),
        }
    }

    /// Address of the buffer's first element (PyTorch's `data_ptr` of the storage).
    pub fn address(&self) -> usize {
        match &*self.buffer.read().unwrap_or_else(|e| e.into_inner()) {
            Buffer::Native(a) => crate::dispatch_any!(a, x => x.as_ptr() as usize),
            Buffer::Shared(f) => f.address(),
        }
    }

    /// Bytes of the buffer.
    pub fn nbytes(&self) -> usize {
        match &*self.buffer.read().unwrap_or_else(|e| e.into_inner()) {
            Buffer::Native(a) => a.nbytes(),
            Buffer::Shared(f) => f.nbytes(),
        }
    }

    /// The whole buffer as the strided window a view starts from: the buffer is put in
    /// standard order first if it is not (same values, so no version change).
    pub fn strided_whole(&self) -> Strides {
        let mut buffer = self.buffer.write().unwrap_or_else(|e| e.into_inner());
        match &mut *buffer {
            Buffer::Native(a) => {
                if !is_standard(a) {
                    *a = a.to_contiguous();
                }
                Strides::contiguous(a.shape())
            }
            Buffer::Shared(f) => Strides::contiguous(f.shape()),
        }
    }

    /// The elements `layout` reads (zero-copy for the natural layout and contiguous windows;
    /// other windows are copied once and remembered until the next write).
    pub fn read(&self, layout: &Layout) -> Array {
        let mut buffer = self.buffer.read().unwrap_or_else(|e| e.into_inner());
        if matches!(&*buffer, Buffer::Shared(f) if Self::reclaimable(f)) {
            drop(buffer);
            Self::reclaim(&mut self.buffer.write().unwrap_or_else(|e| e.into_inner()));
            buffer = self.buffer.read().unwrap_or_else(|e| e.into_inner());
        }
        let buffer = match &*buffer {
            Buffer::Native(a) => a,
            Buffer::Shared(f) => {
                return match layout {
                    Layout::Natural => f.read_all(),
                    Layout::Strided(s) => f.read(s),
                }
            }
        };
        match layout {
            Layout::Natural => buffer.clone(),
            Layout::Strided(s) if s.is_contiguous() => read_strided(buffer, s),
            Layout::Strided(s) => {
                let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((_, a)) = reads.iter().find(|(w, _)| w == s) {
                    return a.clone();
                }
                let a = read_strided(buffer, s);
                remember(&mut reads, s.clone(), a.clone());
                a
            }
        }
    }

    /// Remembers the elements of a window an op has just computed (a view op's output).
    pub fn remember_read(&self, window: &Strides, elements: Array) {
        let buffer = self.buffer.read().unwrap_or_else(|e| e.into_inner());
        if let Buffer::Shared(_) = &*buffer {
            return; // the other library may change the elements without telling
        }
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        if !reads.iter().any(|(w, _)| w == window) {
            remember(&mut reads, window.clone(), elements);
        }
    }

    /// Write access to the buffer, unique (copied first if a reader still shares it), with
    /// the version bumped: for kernels that update it in place. Shared memory is copied out
    /// and copied back when the guard is dropped (the kernels need an `ArcArray`).
    pub fn write(&self) -> BufferWrite<'_> {
        let mut buffer = self.buffer.write().unwrap_or_else(|e| e.into_inner());
        Self::reclaim(&mut buffer);
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let copy = match &mut *buffer {
            Buffer::Native(a) => {
                make_unique(a);
                None
            }
            Buffer::Shared(f) => Some(f.read_all()),
        };
        self.bump();
        BufferWrite { guard: buffer, copy }
    }

    /// Stores `values` (of the layout's shape and the storage's dtype) where `layout` reads.
    pub fn store(&self, layout: &Layout, values: &Array) -> Result<()> {
        debug_assert_eq!(values.dtype(), self.dtype);
        match layout {
            Layout::Natural => {
                let mut guard = self.buffer.write().unwrap_or_else(|e| e.into_inner());
                let shape = match &*guard {
                    Buffer::Native(a) => a.shape().to_vec(),
                    Buffer::Shared(f) => f.shape().to_vec(),
                };
                if values.shape() != shape {
                    return Err(Error::shape(
                        "copy_",
                        format!(
                            "values of shape {} for a tensor of shape {}",
                            fmt_shape(values.shape()),
                            fmt_shape(&shape)
                        ),
                    ));
                }
                self.reads.lock().unwrap_or_else(|e| e.into_inner()).clear();
                let buffer = match &mut *guard {
                    Buffer::Native(a) => a,
                    Buffer::Shared(f) => {
                        f.write(&Strides::contiguous(&shape), values);
                        self.bump();
                        return Ok(());
                    }
                };
                // The buffer is replaced by the values (no copy); it stays in standard order
                // if it was, as strided views of it may exist.
                *buffer = if is_standard(buffer) && !is_standard(values) {
                    values.to_contiguous()
                } else {
                    values.clone()
                };
                self.bump();
                Ok(())
            }
            Layout::Strided(s) => {
                check_writable(s)?;
                let mut guard = self.buffer.write().unwrap_or_else(|e| e.into_inner());
                self.reads.lock().unwrap_or_else(|e| e.into_inner()).clear();
                match &mut *guard {
                    Buffer::Native(buffer) => {
                        make_unique(buffer);
                        write_strided(buffer, s, values)?;
                    }
                    Buffer::Shared(f) => f.write(s, values),
                }
                self.bump();
                Ok(())
            }
        }
    }
}

fn remember(reads: &mut Vec<(Strides, Array)>, window: Strides, elements: Array) {
    if reads.len() == CACHED_READS {
        reads.remove(0);
    }
    reads.push((window, elements));
}

fn is_standard(a: &Array) -> bool {
    crate::dispatch_any!(a, x => x.is_standard_layout())
}

/// Copies the buffer if an earlier reader still shares it (keeping standard order).
fn make_unique(buffer: &mut Array) {
    let shared = crate::dispatch_any!(&mut *buffer, x => !x.is_unique());
    if shared {
        *buffer = crate::map_any!(&*buffer, x => x.to_owned());
    }
}

/// Refuses a write through a window where two indices reach one element (PyTorch's rule).
pub fn check_writable(s: &Strides) -> Result<()> {
    if s.overlaps() {
        return Err(Error::value(
            "in-place",
            "unsupported operation: more than one element of the written-to tensor refers to a \
             single memory location. Please clone() the tensor before performing the operation",
        ));
    }
    Ok(())
}

/// The elements of window `s` of a standard-order buffer. Infallible by construction: every
/// layout a tensor holds was checked to fit its buffer when the view was made (`as_strided`
/// checks the user's window, the other view ops derive theirs from a fitting one), and
/// buffers are kept in standard order (`strided_whole`, `store`). Reads cannot return an
/// error without making every `Tensor::array()` fallible, so these `expect`s state that
/// invariant.
fn read_strided(buffer: &Array, s: &Strides) -> Array {
    debug_assert!(is_standard(buffer) && s.extent() <= buffer.numel());
    if s.numel() == 0 {
        return crate::map_any!(buffer, _a => {
            ndarray::ArcArray::from_shape_vec(IxDyn(&s.shape), Vec::new()).expect("no elements")
        });
    }
    if s.is_contiguous() {
        let (start, n) = (s.offset, s.numel());
        return crate::map_any!(buffer, a => {
            let flat = a.clone().into_shape_with_order(IxDyn(&[a.len()])).expect("standard");
            flat.slice_move(ndarray::s![start..start + n])
                .into_shape_with_order(IxDyn(&s.shape))
                .expect("a contiguous block")
        });
    }
    crate::map_any!(buffer, a => {
        let slice = a.as_slice().expect("standard order");
        let view = ArrayView::from_shape(IxDyn(&s.shape).strides(IxDyn(&s.strides)), &slice[s.offset..])
            .expect("a window inside the buffer");
        view.to_owned()
    })
}

/// Writes `values` into the window `s` of a standard-order buffer of the same dtype. The
/// window was checked when the view was made and by [`check_writable`]; a window that still
/// does not fit is a tapegrad bug, reported before anything is written.
fn write_strided(buffer: &mut Array, s: &Strides, values: &Array) -> Result<()> {
    if s.numel() == 0 {
        return Ok(());
    }
    let bug = |what: String| Error::internal("in-place", what);
    macro_rules! arm {
        ($($v:ident),*) => {
            match (buffer, values) {
                $((Array::$v(b), Array::$v(v)) => {
                    let slice = b.as_slice_mut().ok_or_else(|| bug("a standard-order buffer".into()))?;
                    let mut view = ArrayViewMut::from_shape(
                        IxDyn(&s.shape).strides(IxDyn(&s.strides)),
                        slice.get_mut(s.offset..).unwrap_or_default(),
                    )
                    .map_err(|e| bug(format!("a non-overlapping window inside the buffer: {e}")))?;
                    view.assign(v);
                })*
                (b, v) => {
                    return Err(bug(format!(
                        "values of the storage's dtype {} (got {})",
                        b.dtype(),
                        v.dtype()
                    )))
                }
            }
        };
    }
    arm!(Bool, U8, I8, I16, I32, I64, F32, F64);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(a: &Array) -> Vec<f64> {
        a.to_f64_vec()
    }

    #[test]
    fn an_exported_buffer_turns_native_again_when_no_one_else_holds_it() {
        let array =
            Array::from_f64_vec(&[2, 3], (0..6).map(f64::from).collect(), DType::F32).unwrap();
        let storage = Storage::new(array);
        let address = storage.address();
        let exported = storage.share(); // what a NumPy array's base holds
        assert!(storage.is_shared());
        assert_eq!(
            values(&storage.read(&Layout::Natural)),
            (0..6).map(f64::from).collect::<Vec<_>>()
        );
        assert!(storage.is_shared(), "still viewed from outside: reads must stay current");
        drop(exported);
        let back = storage.read(&Layout::Natural);
        assert!(!storage.is_shared(), "the last outside holder is gone");
        assert_eq!(storage.address(), address, "the elements did not move");
        assert_eq!(values(&back), (0..6).map(f64::from).collect::<Vec<_>>());
    }

    #[test]
    fn view_follows_pytorch_compute_stride() {
        let s = Strides::contiguous(&[2, 3, 4]);
        assert_eq!(s.view(&[6, 4]).unwrap().strides, vec![4, 1]);
        assert_eq!(s.view(&[2, 12]).unwrap().strides, vec![12, 1]);
        let t = s.permute(&[0, 2, 1]); // (2, 4, 3) with strides (12, 1, 4)
        assert!(t.view(&[8, 3]).is_none());
        assert_eq!(t.view(&[2, 4, 3, 1]).unwrap().shape, vec![2, 4, 3, 1]);
        assert!(!t.is_contiguous());
    }

    #[test]
    fn overlap_is_detected_for_expanded_and_unfolded_windows() {
        let s = Strides::contiguous(&[3]);
        assert!(s.expand(&[2, 3]).overlaps());
        assert!(s.unfold(0, 2, 1).overlaps());
        assert!(!s.unfold(0, 1, 1).overlaps());
        assert!(!Strides::contiguous(&[2, 3]).permute(&[1, 0]).overlaps());
    }

    #[test]
    fn strided_writes_land_where_reads_look() {
        let storage = Storage::new(Array::from_f64_vec(&[2, 3], vec![0.0; 6], DType::F64).unwrap());
        let whole = storage.strided_whole();
        let column = whole.select(1, 1); // x[:, 1]
        let v = Array::from_f64_vec(&[2], vec![7.0, 8.0], DType::F64).unwrap();
        let shared = storage.read(&Layout::Natural); // an earlier reader keeps its values
        storage.store(&Layout::Strided(column.clone()), &v).unwrap();
        assert_eq!(values(&storage.read(&Layout::Natural)), vec![0.0, 7.0, 0.0, 0.0, 8.0, 0.0]);
        assert_eq!(values(&storage.read(&Layout::Strided(column))), vec![7.0, 8.0]);
        assert_eq!(values(&shared), vec![0.0; 6]);
        assert_eq!(storage.version(), 1);
        let diag = whole.view(&[6]).unwrap().slice(0, 0, 2, 4); // positions 0 and 4
        assert_eq!(values(&storage.read(&Layout::Strided(diag))), vec![0.0, 8.0]);
    }

    #[test]
    fn a_shared_storage_writes_in_place_and_reads_copies() {
        let six = (0..6).map(f64::from).collect::<Vec<_>>();
        let storage = Storage::new(Array::from_f64_vec(&[2, 3], six.clone(), DType::F64).unwrap());
        let earlier = storage.read(&Layout::Natural);
        let shared = storage.share();
        assert!(storage.is_shared() && Arc::ptr_eq(&shared, &storage.share()));
        // `earlier` still shared the ArcArray, so the shared memory is a copy.
        assert_ne!(shared.address(), crate::dispatch_any!(&earlier, x => x.as_ptr() as usize));
        assert_eq!(storage.address(), shared.address());
        let column = storage.strided_whole().select(1, 1);
        let v = Array::from_f64_vec(&[2], vec![7.0, 8.0], DType::F64).unwrap();
        storage.store(&Layout::Strided(column), &v).unwrap();
        {
            let mut buffer = storage.write(); // a copy, written back when dropped
            if let Array::F64(a) = &mut *buffer {
                a.mapv_inplace(|x| x + 1.0);
            }
        }
        assert_eq!(shared.read_all().to_f64_vec(), vec![1.0, 8.0, 3.0, 4.0, 9.0, 6.0]);
        assert_eq!(values(&storage.read(&Layout::Natural)), vec![1.0, 8.0, 3.0, 4.0, 9.0, 6.0]);
        assert_eq!(values(&earlier), six);
        assert_eq!(storage.version(), 2);
        let whole = Array::from_f64_vec(&[2, 3], vec![0.0; 6], DType::F64).unwrap();
        storage.store(&Layout::Natural, &whole).unwrap();
        assert_eq!(shared.read_all().to_f64_vec(), vec![0.0; 6]);
        assert_eq!(storage.address(), shared.address());
    }

    #[test]
    fn four_threads_writing_a_shared_storage_keep_its_shape() {
        let storage = Storage::new(Array::full(&[16, 16], 0.0, DType::F32).unwrap());
        let shared = storage.share();
        std::thread::scope(|s| {
            for k in 0..4 {
                let storage = &storage;
                s.spawn(move || {
                    let whole = storage.strided_whole();
                    let window = if k % 2 == 0 { whole } else { whole.permute(&[1, 0]) };
                    let v = Array::full(&[16, 16], f64::from(k), DType::F32).unwrap();
                    for _ in 0..200 {
                        storage.store(&Layout::Strided(window.clone()), &v).unwrap();
                        assert_eq!(storage.read(&Layout::Natural).shape(), &[16, 16]);
                    }
                });
            }
        });
        assert_eq!(storage.version(), 800);
        assert_eq!(storage.address(), shared.address());
    }
}
