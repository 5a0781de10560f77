//! Zero-copy bridges to NumPy and DLPack: the one module of the binding where `unsafe` is
//! allowed (raw NumPy array construction, the DLPack C structs and capsules), each block with
//! a `// SAFETY:` comment.
//!
//! Both directions go through the core's [`ForeignBuffer`]: exporting a tensor turns its
//! storage's buffer into one (`Tensor::share_memory`) and hands out its address with an owner
//! that keeps it alive (a [`PySharedMemory`] as the NumPy array's `base`, or the DLPack
//! manager context); importing wraps the other library's memory in one whose owner is a
//! Python reference to the array or to the capsule's manager ([`DLPackOwner`]).

use crate::errors::{raise, Res};
use crate::tensor::PyTensor;
use numpy::npyffi::NPY_ARRAY_WRITEABLE;
use numpy::{Element, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyTuple};
use std::ffi::{c_void, CStr};
use std::sync::Arc;
use tapegrad_core::foreign::ForeignBuffer;
use tapegrad_core::storage::Strides;
use tapegrad_core::{DType, ErrorKind, Tensor};

/// The `base` of a NumPy array that views a tensor's memory: it keeps the memory alive.
#[pyclass(name = "_SharedMemory", module = "tapegrad._native", frozen)]
pub struct PySharedMemory(#[allow(dead_code)] Arc<ForeignBuffer>);

/// A Python object kept alive by a foreign buffer (the NumPy array or DLPack owner whose
/// memory a tensor reads). `Py` is `Send + Sync`; dropped without the GIL, PyO3 defers the
/// decref to the next time the GIL is held.
struct PyOwner(#[allow(dead_code)] Py<PyAny>);

fn numpy_dtype(dtype: DType, py: Python<'_>) -> Bound<'_, numpy::PyArrayDescr> {
    match dtype {
        DType::Bool => bool::get_dtype(py),
        DType::U8 => u8::get_dtype(py),
        DType::I8 => i8::get_dtype(py),
        DType::I16 => i16::get_dtype(py),
        DType::I32 => i32::get_dtype(py),
        DType::I64 => i64::get_dtype(py),
        DType::F32 => f32::get_dtype(py),
        DType::F64 => f64::get_dtype(py),
    }
}

/// `t.numpy()` and `np.asarray(t)`: a NumPy array viewing the tensor's memory.
pub fn tensor_to_numpy<'py>(
    py: Python<'py>,
    t: &Tensor,
    op: &'static str,
) -> Res<Bound<'py, PyAny>> {
    let (buffer, window) = t.share_memory(op)?;
    let dtype = buffer.dtype();
    let itemsize = dtype.itemsize();
    let fits = window
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(itemsize, |acc, &d| acc.checked_mul(d))
        .is_some_and(|bytes| isize::try_from(bytes).is_ok());
    let strides: Option<Vec<isize>> = window
        .strides
        .iter()
        .map(|&s| s.checked_mul(itemsize).and_then(|b| isize::try_from(b).ok()))
        .collect();
    let (Some(strides), true) = (strides, fits) else {
        return Err(raise(
            ErrorKind::Value,
            op,
            format!(
                "a tensor of shape {:?} and dtype {dtype} is too large for NumPy",
                window.shape
            ),
        ));
    };
    let offset = if window.numel() == 0 { 0 } else { window.offset * itemsize };
    let address = buffer.address() + offset;
    let mut dims: Vec<numpy::npyffi::npy_intp> = window.shape.iter().map(|&d| d as _).collect();
    let mut strides: Vec<numpy::npyffi::npy_intp> = strides.into_iter().map(|s| s as _).collect();
    let base = Bound::new(py, PySharedMemory(buffer))?;
    let api = &numpy::npyffi::PY_ARRAY_API;
    // SAFETY: `address` is inside the shared buffer (the window was checked against it when the
    // tensor was made, and an empty window uses the buffer's own address), aligned for the
    // dtype, and every element the dims/strides reach is inside it; the buffer stays alive
    // while the array lives because the array's base (set right below, which steals the
    // reference) holds an `Arc` to it. `PyArray_NewFromDescr` steals the descriptor reference
    // given by `into_dtype_ptr`.
    unsafe {
        let array = api.PyArray_NewFromDescr(
            py,
            numpy::npyffi::get_type_object(py, numpy::npyffi::NpyTypes::PyArray_Type),
            numpy_dtype(dtype, py).into_dtype_ptr(),
            dims.len() as i32,
            dims.as_mut_ptr(),
            strides.as_mut_ptr(),
            address as *mut c_void,
            NPY_ARRAY_WRITEABLE,
            std::ptr::null_mut(),
        );
        if array.is_null() {
            return Err(PyErr::fetch(py).into());
        }
        let array = Bound::from_owned_ptr(py, array);
        if api.PyArray_SetBaseObject(py, array.as_ptr().cast(), base.into_ptr()) < 0 {
            return Err(PyErr::fetch(py).into());
        }
        Ok(array)
    }
}

fn tapegrad_dtype(descr: &Bound<'_, numpy::PyArrayDescr>) -> Option<DType> {
    let py = descr.py();
    DType::ALL.into_iter().find(|&d| descr.is_equiv_to(&numpy_dtype(d, py)))
}

/// Element strides of a byte-strided array, when each is a non-negative multiple of the item
/// size.
fn element_strides(byte_strides: &[isize], itemsize: usize) -> Option<Vec<usize>> {
    byte_strides
        .iter()
        .map(|&b| usize::try_from(b).ok().filter(|b| b % itemsize == 0).map(|b| b / itemsize))
        .collect()
}

/// `tg.from_numpy(a)`: a leaf tensor reading and writing `a`'s memory. The Python wrapper
/// explains refusals in PyTorch's words; the checks that memory safety rests on are here.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (array, requires_grad=false))]
pub fn _share_numpy(array: &Bound<'_, PyAny>, requires_grad: bool) -> Res<PyTensor> {
    const OP: &str = "from_numpy";
    let a = array.cast::<PyUntypedArray>().map_err(PyErr::from)?;
    let Some(dtype) = tapegrad_dtype(&a.dtype()) else {
        return Err(raise(
            ErrorKind::DType,
            OP,
            format!("NumPy dtype {} is not supported", a.dtype()),
        ));
    };
    let itemsize = dtype.itemsize();
    let raw = a.as_array_ptr();
    // SAFETY: `raw` is the live `PyArrayObject` of `a` (borrowed for this call, GIL held).
    let (data, flags) = unsafe { ((*raw).fields.data as usize, (*raw).fields.flags) };
    if flags & NPY_ARRAY_WRITEABLE == 0 {
        return Err(raise(ErrorKind::Value, OP, "the NumPy array is not writeable"));
    }
    if data % itemsize != 0 {
        return Err(raise(ErrorKind::Value, OP, "the NumPy array is not aligned"));
    }
    let Some(strides) = element_strides(a.strides(), itemsize) else {
        return Err(raise(ErrorKind::Value, OP, "negative or unaligned strides are not supported"));
    };
    let window = Strides { offset: 0, shape: a.shape().to_vec(), strides };
    let extent = window.checked_extent().expect("NumPy arrays fit the address space");
    let buffer_shape = if window.is_contiguous() { window.shape.clone() } else { vec![extent] };
    let owner = Box::new(PyOwner(array.clone().unbind()));
    // SAFETY: `data` is the array's first element, aligned (checked above), and NumPy keeps the
    // `extent` elements its strides reach valid, writeable (checked above) and in place while
    // the array object lives; the owner holds a reference to it. An empty array's pointer is
    // never dereferenced.
    let buffer =
        unsafe { ForeignBuffer::new(data.max(itemsize) as *mut u8, buffer_shape, dtype, owner) };
    let window = if window.is_contiguous() { Strides::contiguous(buffer.shape()) } else { window };
    let t = Tensor::from_foreign(Arc::new(buffer), window)?;
    t.set_requires_grad(requires_grad)?;
    Ok(PyTensor::new(t))
}

// ---- DLPack ---------------------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

#[repr(C)]
struct DLPackVersion {
    major: u32,
    minor: u32,
}

#[repr(C)]
struct DLManagedTensorVersioned {
    version: DLPackVersion,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensorVersioned)>,
    flags: u64,
    dl_tensor: DLTensor,
}

const KDL_CPU: i32 = 1;
const FLAG_READ_ONLY: u64 = 1;
const LEGACY: &CStr = c"dltensor";
const VERSIONED: &CStr = c"dltensor_versioned";
const USED_LEGACY: &CStr = c"used_dltensor";
const USED_VERSIONED: &CStr = c"used_dltensor_versioned";

fn dl_dtype(dtype: DType) -> DLDataType {
    let (code, bits) = match dtype {
        DType::Bool => (6, 8),
        DType::U8 => (1, 8),
        DType::I8 => (0, 8),
        DType::I16 => (0, 16),
        DType::I32 => (0, 32),
        DType::I64 => (0, 64),
        DType::F32 => (2, 32),
        DType::F64 => (2, 64),
    };
    DLDataType { code, bits, lanes: 1 }
}

/// What an exported capsule's manager context owns: the memory and the shape/stride arrays
/// the `DLTensor` points to.
struct Export {
    _buffer: Arc<ForeignBuffer>,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

unsafe extern "C" fn delete_legacy(managed: *mut DLManagedTensor) {
    // SAFETY: `managed` and its context were made by `Box::into_raw` in `tensor_to_dlpack`, and
    // DLPack calls the deleter once (the capsule destructor only when no consumer took it).
    unsafe {
        let managed = Box::from_raw(managed);
        drop(Box::from_raw(managed.manager_ctx.cast::<Export>()));
    }
}

unsafe extern "C" fn delete_versioned(managed: *mut DLManagedTensorVersioned) {
    // SAFETY: as in `delete_legacy`.
    unsafe {
        let managed = Box::from_raw(managed);
        drop(Box::from_raw(managed.manager_ctx.cast::<Export>()));
    }
}

/// Deletes a capsule's tensor when no consumer renamed (took) it.
unsafe extern "C" fn capsule_destructor(capsule: *mut ffi::PyObject) {
    // SAFETY: called by Python with the GIL held, on a capsule we made; the name tells whether a
    // consumer took ownership (renamed it) and which struct the pointer is. The error state is
    // saved around the calls, as a destructor must not disturb it.
    unsafe {
        let (mut kind, mut value, mut trace) =
            (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        ffi::PyErr_Fetch(&mut kind, &mut value, &mut trace);
        if ffi::PyCapsule_IsValid(capsule, LEGACY.as_ptr()) == 1 {
            let p = ffi::PyCapsule_GetPointer(capsule, LEGACY.as_ptr()).cast::<DLManagedTensor>();
            if let Some(deleter) = (*p).deleter {
                deleter(p);
            }
        } else if ffi::PyCapsule_IsValid(capsule, VERSIONED.as_ptr()) == 1 {
            let p = ffi::PyCapsule_GetPointer(capsule, VERSIONED.as_ptr())
                .cast::<DLManagedTensorVersioned>();
            if let Some(deleter) = (*p).deleter {
                deleter(p);
            }
        }
        ffi::PyErr_Restore(kind, value, trace);
    }
}

/// `t.__dlpack__()`: a capsule viewing the tensor's memory (versioned when the consumer asks
/// for DLPack 1.x).
pub fn tensor_to_dlpack<'py>(
    py: Python<'py>,
    t: &Tensor,
    versioned: bool,
) -> Res<Bound<'py, PyAny>> {
    let (buffer, window) = t.share_memory("__dlpack__")?;
    let dtype = buffer.dtype();
    let to_i64 = |v: &[usize]| v.iter().map(|&d| i64::try_from(d)).collect::<Result<Vec<_>, _>>();
    let (Ok(shape), Ok(strides)) = (to_i64(&window.shape), to_i64(&window.strides)) else {
        return Err(raise(ErrorKind::Value, "__dlpack__", "shape or strides beyond int64"));
    };
    let offset = if window.numel() == 0 { 0 } else { window.offset * dtype.itemsize() };
    let mut export = Box::new(Export { _buffer: buffer.clone(), shape, strides });
    let dl_tensor = DLTensor {
        data: buffer.address() as *mut c_void,
        device: DLDevice { device_type: KDL_CPU, device_id: 0 },
        ndim: export.shape.len() as i32,
        dtype: dl_dtype(dtype),
        shape: export.shape.as_mut_ptr(),
        strides: export.strides.as_mut_ptr(),
        byte_offset: offset as u64,
    };
    // The shape/stride vectors live in the heap block of `export`, which is not moved again.
    let manager_ctx = Box::into_raw(export).cast::<c_void>();
    let (pointer, name) = if versioned {
        let managed = Box::new(DLManagedTensorVersioned {
            version: DLPackVersion { major: 1, minor: 0 },
            manager_ctx,
            deleter: Some(delete_versioned),
            flags: 0,
            dl_tensor,
        });
        (Box::into_raw(managed).cast::<c_void>(), VERSIONED)
    } else {
        let managed =
            Box::new(DLManagedTensor { dl_tensor, manager_ctx, deleter: Some(delete_legacy) });
        (Box::into_raw(managed).cast::<c_void>(), LEGACY)
    };
    // SAFETY: `pointer` is a live managed tensor of the kind `name` says, owned by the capsule
    // until a consumer renames it; `capsule_destructor` deletes it otherwise. On failure the
    // capsule was not made, so the tensor is deleted here.
    unsafe {
        let capsule = ffi::PyCapsule_New(pointer, name.as_ptr(), Some(capsule_destructor));
        if capsule.is_null() {
            if versioned {
                delete_versioned(pointer.cast());
            } else {
                delete_legacy(pointer.cast());
            }
            return Err(PyErr::fetch(py).into());
        }
        Ok(Bound::from_owned_ptr(py, capsule))
    }
}

/// Keeps an imported DLPack tensor alive; dropping it (with the GIL, by Python) calls the
/// producer's deleter.
#[pyclass(name = "_DLPackOwner", module = "tapegrad._native", frozen)]
struct DLPackOwner {
    managed: usize,
    versioned: bool,
}

impl Drop for DLPackOwner {
    fn drop(&mut self) {
        // SAFETY: `managed` is the managed tensor taken from a capsule (renamed "used_", so we
        // are its only owner) and not deleted yet; its deleter is the producer's.
        unsafe {
            if self.versioned {
                let p = self.managed as *mut DLManagedTensorVersioned;
                if let Some(deleter) = (*p).deleter {
                    deleter(p);
                }
            } else {
                let p = self.managed as *mut DLManagedTensor;
                if let Some(deleter) = (*p).deleter {
                    deleter(p);
                }
            }
        }
    }
}

fn dtype_of(dl: DLDataType) -> Option<DType> {
    DType::ALL.into_iter().find(|&d| {
        let x = dl_dtype(d);
        (x.code, x.bits, x.lanes) == (dl.code, dl.bits, dl.lanes)
    })
}

/// `tg.from_dlpack(capsule)`: a leaf tensor reading and writing the capsule's memory.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
pub fn _from_dlpack_capsule(capsule: &Bound<'_, PyAny>) -> Res<PyTensor> {
    const OP: &str = "from_dlpack";
    let py = capsule.py();
    let capsule = capsule.cast::<PyCapsule>().map_err(PyErr::from)?;
    let fail = |message: String| Err(raise(ErrorKind::Value, OP, message));
    let raw = capsule.as_ptr();
    // SAFETY: `raw` is a live capsule (GIL held). A capsule named "dltensor"/"dltensor_versioned"
    // holds a producer's managed tensor of that kind, valid until its deleter runs; we read it,
    // validate it, and only then take ownership by renaming the capsule.
    unsafe {
        let versioned = if ffi::PyCapsule_IsValid(raw, VERSIONED.as_ptr()) == 1 {
            true
        } else if ffi::PyCapsule_IsValid(raw, LEGACY.as_ptr()) == 1 {
            false
        } else {
            return fail(
                "expected an unused DLPack capsule (named 'dltensor' or \
                         'dltensor_versioned'); was it consumed already?"
                    .into(),
            );
        };
        let (managed, tensor) = if versioned {
            let p = ffi::PyCapsule_GetPointer(raw, VERSIONED.as_ptr())
                .cast::<DLManagedTensorVersioned>();
            if (*p).version.major != 1 {
                return fail(format!("DLPack version {} is not supported", (*p).version.major));
            }
            if (*p).flags & FLAG_READ_ONLY != 0 {
                return fail(
                    "the DLPack tensor is read-only; tapegrad tensors share memory \
                             for reading and writing (copy it first)"
                        .into(),
                );
            }
            (p as usize, &(*p).dl_tensor)
        } else {
            let p = ffi::PyCapsule_GetPointer(raw, LEGACY.as_ptr()).cast::<DLManagedTensor>();
            (p as usize, &(*p).dl_tensor)
        };
        if tensor.device.device_type != KDL_CPU {
            return fail(format!(
                "only CPU memory can be shared (DLPack device type {})",
                tensor.device.device_type
            ));
        }
        let Some(dtype) = dtype_of(tensor.dtype) else {
            return Err(raise(
                ErrorKind::DType,
                OP,
                format!(
                    "DLPack dtype (code {}, {} bits, {} lanes) is not supported",
                    tensor.dtype.code, tensor.dtype.bits, tensor.dtype.lanes
                ),
            ));
        };
        let ndim = usize::try_from(tensor.ndim).unwrap_or(0);
        let dims: &[i64] =
            if ndim == 0 { &[] } else { std::slice::from_raw_parts(tensor.shape, ndim) };
        let Ok(shape) = dims.iter().map(|&d| usize::try_from(d)).collect::<Result<Vec<_>, _>>()
        else {
            return fail(format!("negative DLPack shape {dims:?}"));
        };
        let strides = if tensor.strides.is_null() || ndim == 0 {
            tapegrad_core::storage::contiguous_strides(&shape)
        } else {
            let raw = std::slice::from_raw_parts(tensor.strides, ndim);
            let Ok(s) = raw.iter().map(|&s| usize::try_from(s)).collect::<Result<Vec<_>, _>>()
            else {
                return fail(format!("negative strides {raw:?} are not supported"));
            };
            s
        };
        let itemsize = dtype.itemsize();
        let address = (tensor.data as usize).wrapping_add(tensor.byte_offset as usize);
        if address % itemsize != 0 {
            return fail("the DLPack tensor's data is not aligned for its dtype".into());
        }
        let window = Strides { offset: 0, shape, strides };
        let Some(extent) = window.checked_extent() else {
            return fail("DLPack shape and strides overflow".into());
        };
        let contiguous = window.is_contiguous();
        let buffer_shape = if contiguous { window.shape.clone() } else { vec![extent] };
        // Take ownership: from now on the capsule's destructor leaves the tensor to us.
        let used = if versioned { USED_VERSIONED } else { USED_LEGACY };
        if ffi::PyCapsule_SetName(raw, used.as_ptr()) != 0 {
            return Err(PyErr::fetch(py).into());
        }
        let owner = Py::new(py, DLPackOwner { managed, versioned })?.into_any();
        // SAFETY (of `new`): the producer keeps `extent` elements at `address` valid and in
        // place until its deleter runs, which only `owner`'s drop does; alignment checked
        // above; writeable (the read-only flag was refused). An empty tensor's address is
        // never dereferenced.
        let buffer = ForeignBuffer::new(
            address.max(itemsize) as *mut u8,
            buffer_shape,
            dtype,
            Box::new(PyOwner(owner)),
        );
        let window = if contiguous { Strides::contiguous(buffer.shape()) } else { window };
        Ok(PyTensor::new(Tensor::from_foreign(Arc::new(buffer), window)?))
    }
}

/// Used by `Tensor.__dlpack__` to read `max_version`.
pub fn wants_versioned(max_version: Option<&Bound<'_, PyAny>>) -> Res<bool> {
    let Some(v) = max_version.filter(|v| !v.is_none()) else { return Ok(false) };
    let v = v.cast::<PyTuple>().map_err(PyErr::from)?;
    let major: i64 = v.get_item(0)?.extract()?;
    Ok(major >= 1)
}

/// Registers the module-level functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySharedMemory>()?;
    m.add_class::<DLPackOwner>()?;
    m.add_function(wrap_pyfunction!(_share_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(_from_dlpack_capsule, m)?)?;
    Ok(())
}
