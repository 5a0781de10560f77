//! `tapegrad.Generator` and the sampling functions that are not `Tensor` methods
//! (`randint`, `randperm`, `normal`, `poisson`). Conversion only: the streams and the
//! samplers live in the core (`ops/random.rs`, `ops/sampling.rs`).

use crate::convert::{parse_dtype, parse_shape, to_usize_shape};
use crate::errors::{raise, Res};
use crate::tensor::{compute, PyTensor};
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};
use tapegrad_core::ops::random::{lock_generator, DEFAULT_SEED};
use tapegrad_core::{Array, DType, ErrorKind, Generator, SharedGenerator, Tensor};

/// A stream of random numbers that random functions draw from when passed as
/// `generator=` (PyTorch's `torch.Generator`).
#[pyclass(name = "Generator", module = "tapegrad", frozen)]
pub struct PyGenerator(pub SharedGenerator);

/// A seed as PyTorch takes it: any int, wrapped into 64 bits.
fn wrap_seed(seed: i128) -> u64 {
    seed.rem_euclid(1 << 64) as u64
}

#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pymethods]
impl PyGenerator {
    #[new]
    #[pyo3(signature = (device="cpu"))]
    fn new(device: &str) -> Res<Self> {
        if device != "cpu" {
            return Err(raise(
                ErrorKind::Value,
                "Generator",
                format!("tapegrad runs on the CPU only, got device {device:?}"),
            ));
        }
        Ok(PyGenerator(Arc::new(Mutex::new(Generator::new(DEFAULT_SEED)))))
    }
    /// Restarts the stream from `seed`; returns the generator.
    fn manual_seed(slf: PyRef<'_, Self>, seed: i128) -> PyRef<'_, Self> {
        lock_generator(Some(&slf.0)).manual_seed(wrap_seed(seed));
        slf
    }
    /// Reseeds from a non-deterministic seed and returns it.
    fn seed(&self) -> u64 {
        lock_generator(Some(&self.0)).seed()
    }
    /// The seed the stream started from.
    fn initial_seed(&self) -> u64 {
        lock_generator(Some(&self.0)).initial_seed()
    }
    /// The state as a uint8 tensor (restore it with `set_state`).
    fn get_state(&self) -> Res<PyTensor> {
        let bytes = lock_generator(Some(&self.0)).get_state();
        let values = bytes.into_iter().map(i64::from).collect::<Vec<_>>();
        Ok(PyTensor::new(Tensor::from_array(Array::from_i64_vec(
            &[values.len()],
            values,
            DType::U8,
        )?)))
    }
    /// Restores a state from `get_state`; returns the generator.
    fn set_state<'py>(
        slf: PyRef<'py, Self>,
        new_state: PyRef<'_, PyTensor>,
    ) -> Res<PyRef<'py, Self>> {
        let state = &new_state.0;
        if state.dtype() != DType::U8 {
            return Err(raise(
                ErrorKind::DType,
                "set_state",
                format!("expected a uint8 state tensor, got {}", state.dtype()),
            ));
        }
        let Array::I64(values) = state.array().cast(DType::I64) else { unreachable!("int64") };
        let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        lock_generator(Some(&slf.0)).set_state(&bytes)?;
        Ok(slf)
    }
    /// Always `"cpu"`.
    #[getter]
    fn device(&self) -> &'static str {
        "cpu"
    }
}

/// The shared handle of an optional `generator=` argument.
pub fn handle(generator: Option<PyRef<'_, PyGenerator>>) -> Option<SharedGenerator> {
    generator.map(|g| g.0.clone())
}

/// The generator random functions use when given none.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _default_generator() -> PyGenerator {
    PyGenerator(tapegrad_core::default_generator().clone())
}

/// Integers drawn uniformly from `[low, high)`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (low, high, shape, dtype=None, generator=None))]
fn _randint(
    py: Python<'_>,
    low: i64,
    high: i64,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    generator: Option<PyRef<'_, PyGenerator>>,
) -> Res<PyTensor> {
    let shape = to_usize_shape("randint", &parse_shape(shape)?)?;
    let dtype = parse_dtype(dtype)?.unwrap_or(DType::I64);
    let g = handle(generator);
    let n = shape.iter().product();
    Ok(PyTensor::new(compute(py, n, || Tensor::randint(low, high, &shape, dtype, g.as_ref()))?))
}

/// A random permutation of `0..n`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (n, dtype=None, generator=None))]
fn _randperm(
    py: Python<'_>,
    n: i64,
    dtype: Option<&Bound<'_, PyAny>>,
    generator: Option<PyRef<'_, PyGenerator>>,
) -> Res<PyTensor> {
    let n = usize::try_from(n).map_err(|_| {
        raise(ErrorKind::Value, "randperm", format!("n must be non-negative, got {n}"))
    })?;
    let dtype = parse_dtype(dtype)?.unwrap_or(DType::I64);
    let g = handle(generator);
    Ok(PyTensor::new(compute(py, n, || Tensor::randperm(n, dtype, g.as_ref()))?))
}

/// Normal samples with elementwise `mean` and `std` (broadcast together).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (mean, std, generator=None))]
fn _normal(
    py: Python<'_>,
    mean: PyRef<'_, PyTensor>,
    std: PyRef<'_, PyTensor>,
    generator: Option<PyRef<'_, PyGenerator>>,
) -> Res<PyTensor> {
    let (m, s, g) = (&mean.0, &std.0, handle(generator));
    Ok(PyTensor::new(compute(py, m.numel().max(s.numel()), || Tensor::normal(m, s, g.as_ref()))?))
}

/// Poisson samples with the elementwise rates `input`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, generator=None))]
fn _poisson(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    generator: Option<PyRef<'_, PyGenerator>>,
) -> Res<PyTensor> {
    let (t, g) = (&input.0, handle(generator));
    Ok(PyTensor::new(compute(py, t.numel(), || t.poisson(g.as_ref()))?))
}

/// Adds the generator class and the sampling functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyGenerator>()?;
    m.add_function(wrap_pyfunction!(_default_generator, m)?)?;
    m.add_function(wrap_pyfunction!(_randint, m)?)?;
    m.add_function(wrap_pyfunction!(_randperm, m)?)?;
    m.add_function(wrap_pyfunction!(_normal, m)?)?;
    m.add_function(wrap_pyfunction!(_poisson, m)?)?;
    Ok(())
}
