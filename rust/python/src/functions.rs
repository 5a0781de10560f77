//! Module-level functions of `tapegrad._native`. The public wrappers with PyTorch's full
//! signatures live in `python/tapegrad`; these take already-normalised arguments.

use crate::convert::{
    array_from_numpy, parse_dtype, parse_shape, tensor_list, to_usize_shape, Operand,
};
use crate::errors::{raise, Res};
use crate::tensor::PyTensor;
use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tapegrad_core::{engine, CrossEntropyTarget, DType, ErrorKind, Tensor};

fn leaf(t: Tensor, requires_grad: bool) -> Res<PyTensor> {
    t.set_requires_grad(requires_grad)?;
    Ok(PyTensor::new(t))
}

fn shape_and_dtype(
    op: &'static str,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
) -> Res<(Vec<usize>, DType)> {
    let shape = to_usize_shape(op, &parse_shape(shape)?)?;
    Ok((shape, parse_dtype(dtype)?.unwrap_or(tapegrad_core::default_float_dtype())))
}

/// A leaf tensor from a native-order float32/float64 NumPy array (copied).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (array, requires_grad=false))]
fn _from_numpy(array: &Bound<'_, PyAny>, requires_grad: bool) -> Res<PyTensor> {
    leaf(Tensor::from_array(array_from_numpy(array)?), requires_grad)
}

/// A tensor filled with `value`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (shape, value, dtype=None, requires_grad=false))]
fn _full(
    shape: &Bound<'_, PyAny>,
    value: f64,
    dtype: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> Res<PyTensor> {
    let (shape, dtype) = shape_and_dtype("full", shape, dtype)?;
    leaf(Tensor::full(&shape, value, dtype)?, requires_grad)
}

/// Uniform samples in [0, 1).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, requires_grad=false, generator=None))]
fn _rand(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    generator: Option<PyRef<'_, crate::sampling::PyGenerator>>,
) -> Res<PyTensor> {
    let (shape, dtype) = shape_and_dtype("rand", shape, dtype)?;
    let generator = crate::sampling::handle(generator);
    leaf(py.detach(|| Tensor::rand_with(&shape, dtype, generator.as_ref()))?, requires_grad)
}

/// Standard normal samples.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, requires_grad=false, generator=None))]
fn _randn(
    py: Python<'_>,
    shape: &Bound<'_, PyAny>,
    dtype: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
    generator: Option<PyRef<'_, crate::sampling::PyGenerator>>,
) -> Res<PyTensor> {
    let (shape, dtype) = shape_and_dtype("randn", shape, dtype)?;
    let generator = crate::sampling::handle(generator);
    leaf(py.detach(|| Tensor::randn_with(&shape, dtype, generator.as_ref()))?, requires_grad)
}

/// `start, start + step, ...` below `end`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (start, end, step, dtype=None, requires_grad=false))]
fn _arange(
    start: f64,
    end: f64,
    step: f64,
    dtype: Option<&Bound<'_, PyAny>>,
    requires_grad: bool,
) -> Res<PyTensor> {
    let dtype = parse_dtype(dtype)?.unwrap_or(tapegrad_core::default_float_dtype());
    leaf(Tensor::arange(start, end, step, dtype)?, requires_grad)
}

/// Identity matrix `n × m`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (n, m, dtype=None, requires_grad=false))]
fn _eye(n: i64, m: i64, dtype: Option<&Bound<'_, PyAny>>, requires_grad: bool) -> Res<PyTensor> {
    let shape = to_usize_shape("eye", &[n, m])?;
    let dtype = parse_dtype(dtype)?.unwrap_or(tapegrad_core::default_float_dtype());
    leaf(Tensor::eye(shape[0], shape[1], dtype)?, requires_grad)
}

/// Seeds the generator behind `rand` and `randn`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn manual_seed(seed: i128) -> Res<()> {
    let seed = u64::try_from(seed.rem_euclid(1 << 64))
        .map_err(|_| raise(ErrorKind::Value, "manual_seed", "bad seed"))?;
    tapegrad_core::manual_seed(seed);
    Ok(())
}

/// Sets the number of threads of tapegrad's pool (matrix products, large elementwise ops).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn set_num_threads(n: i64) -> Res<()> {
    let n = usize::try_from(n).map_err(|_| {
        raise(
            ErrorKind::Value,
            "set_num_threads",
            format!("the thread count must be at least 1, got {n}"),
        )
    })?;
    Ok(tapegrad_core::parallel::set_num_threads(n)?)
}

/// The number of threads of tapegrad's pool.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn get_num_threads() -> usize {
    tapegrad_core::parallel::num_threads()
}

/// Whether ops record the graph on this thread.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn is_grad_enabled() -> bool {
    tapegrad_core::is_grad_enabled()
}

/// Turns recording on or off on this thread; returns the previous mode.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _set_grad_enabled(enabled: bool) -> bool {
    tapegrad_core::set_grad_enabled(enabled)
}

/// Concatenates tensors along `dim`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (tensors, dim=0))]
fn cat(tensors: &Bound<'_, PyAny>, dim: i64) -> Res<PyTensor> {
    Ok(PyTensor::new(Tensor::cat(&tensor_list(tensors, "cat")?, dim)?))
}

/// Stacks equal-shaped tensors along a new dimension `dim`.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (tensors, dim=0))]
fn stack(tensors: &Bound<'_, PyAny>, dim: i64) -> Res<PyTensor> {
    Ok(PyTensor::new(Tensor::stack(&tensor_list(tensors, "stack")?, dim)?))
}

/// `input` where `condition` is nonzero, `other` elsewhere (scalars take the tensor's dtype).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(name = "_where")]
fn where_(condition: PyRef<'_, PyTensor>, input: Operand<'_>, other: Operand<'_>) -> Res<PyTensor> {
    let like = match (&input, &other) {
        (Operand::Tensor(t), _) | (_, Operand::Tensor(t)) => t.0.clone(),
        _ => condition.0.clone(),
    };
    Ok(PyTensor::new(input.to_tensor(&like).where_cond(&condition.0, &other.to_tensor(&like))?))
}

/// `input · weightᵀ + bias` as one recorded op (`nn.functional.linear`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, weight, bias=None))]
fn _linear(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    bias: Option<PyRef<'_, PyTensor>>,
) -> Res<PyTensor> {
    let (x, w, b) = (input.0.clone(), weight.0.clone(), bias.map(|b| b.0.clone()));
    Ok(PyTensor::new(py.detach(|| x.linear(&w, b.as_ref()))?))
}

/// Softmax cross-entropy of `(N, C)` logits, one loss per row. The target is either `labels`
/// (int64, one class per row) with per-row `weights` (float64), or a dense `target` tensor;
/// `nn.functional.cross_entropy` builds them and applies the reduction.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, labels=None, weights=None, target=None))]
fn _cross_entropy(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    labels: Option<PyReadonlyArray1<'_, i64>>,
    weights: Option<PyReadonlyArray1<'_, f64>>,
    target: Option<PyRef<'_, PyTensor>>,
) -> Res<PyTensor> {
    const OP: &str = "cross_entropy";
    let target = match (labels, weights, target) {
        (Some(labels), Some(weights), None) => {
            let labels = labels
                .as_array()
                .iter()
                .map(|&c| {
                    usize::try_from(c)
                        .map_err(|_| raise(ErrorKind::Index, OP, format!("label {c} is negative")))
                })
                .collect::<Res<Vec<usize>>>()?;
            CrossEntropyTarget::Labels { labels, weights: weights.as_array().to_vec() }
        }
        (None, None, Some(t)) => CrossEntropyTarget::Dense(t.0.clone()),
        _ => {
            return Err(raise(
                ErrorKind::Value,
                OP,
                "pass either labels and weights, or a dense target",
            ))
        }
    };
    let x = input.0.clone();
    Ok(PyTensor::new(py.detach(|| x.cross_entropy(&target))?))
}

/// The gradients of `outputs` with respect to `inputs` (`torch.autograd.grad`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused))]
fn _grad<'py>(
    py: Python<'py>,
    outputs: &Bound<'py, PyAny>,
    inputs: &Bound<'py, PyAny>,
    grad_outputs: Option<&Bound<'py, PyAny>>,
    retain_graph: bool,
    create_graph: bool,
    allow_unused: bool,
) -> Res<Bound<'py, PyTuple>> {
    let outputs = tensor_list(outputs, "grad")?;
    let inputs = tensor_list(inputs, "grad")?;
    let seeds: Vec<Option<Tensor>> = match grad_outputs {
        None => vec![None; outputs.len()],
        Some(g) => g
            .try_iter()?
            .map(|item| {
                let item = item?;
                if item.is_none() {
                    return Ok(None);
                }
                Ok(Some(item.extract::<PyRef<'_, PyTensor>>()?.0.clone()))
            })
            .collect::<PyResult<_>>()?,
    };
    let grads = py.detach(|| {
        engine::grad(&outputs, &seeds, &inputs, retain_graph, create_graph, allow_unused)
    })?;
    Ok(PyTuple::new(py, grads.into_iter().map(|g| g.map(PyTensor::new)))?)
}

/// Panics, inside the GIL-free section as the ops do (tests of `#[catch_panics]` only: the
/// panic must come back as `InternalError`, not `PanicException`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, message: String) -> Res<()> {
    py.detach(|| -> Result<(), tapegrad_core::Error> { panic!("{message}") })?;
    Ok(())
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    m.add_function(wrap_pyfunction!(_from_numpy, m)?)?;
    m.add_function(wrap_pyfunction!(_full, m)?)?;
    m.add_function(wrap_pyfunction!(_rand, m)?)?;
    m.add_function(wrap_pyfunction!(_randn, m)?)?;
    m.add_function(wrap_pyfunction!(_arange, m)?)?;
    m.add_function(wrap_pyfunction!(_eye, m)?)?;
    m.add_function(wrap_pyfunction!(manual_seed, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(is_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(_set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(cat, m)?)?;
    m.add_function(wrap_pyfunction!(stack, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(_grad, m)?)?;
    m.add_function(wrap_pyfunction!(_linear, m)?)?;
    m.add_function(wrap_pyfunction!(_cross_entropy, m)?)?;
    Ok(())
}
