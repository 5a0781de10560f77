//! More neural-network primitives of `tapegrad._native` (transposed convolution, adaptive
//! max pooling, max unpooling): conversion only. The public wrappers with PyTorch's
//! signatures live in `python/tapegrad/nn/_functional_transpose.py` and
//! `python/tapegrad/nn/_functional_unpool.py`.

use crate::errors::Res;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use tapegrad_core::{Array, ConvParams, DType, Tensor};

/// Pooling indices as PyTorch returns them: an int64 tensor of `shape`.
pub(crate) fn index_tensor(shape: &[usize], idx: Vec<usize>) -> Res<PyTensor> {
    let idx = idx.into_iter().map(|i| i as i64).collect();
    Ok(PyTensor::new(Tensor::from_array(Array::from_i64_vec(shape, idx, DType::I64)?)))
}

/// `conv_transpose1d`/`conv_transpose2d`: stride, dilation, output padding as (height,
/// width), padding as ((p, p), (p, p)); a 1-D convolution uses only the width entries.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, weight, bias, stride, padding, output_padding, dilation, groups))]
#[allow(clippy::too_many_arguments)]
fn _conv_transpose(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    bias: Option<PyRef<'_, PyTensor>>,
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    output_padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
) -> Res<PyTensor> {
    let (x, w, b) = (input.0.clone(), weight.0.clone(), bias.map(|b| b.0.clone()));
    let params = ConvParams { stride, padding, dilation, groups };
    Ok(PyTensor::new(py.detach(|| x.conv_transpose(&w, b.as_ref(), params, output_padding))?))
}

/// `adaptive_max_pool1d`/`adaptive_max_pool2d`: the values and their int64 indices.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, output_size, one_d))]
fn _adaptive_max_pool(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    output_size: [usize; 2],
    one_d: bool,
) -> Res<(PyTensor, PyTensor)> {
    let x = input.0.clone();
    let (y, idx) = py.detach(|| x.adaptive_max_pool(output_size, one_d))?;
    let idx = index_tensor(&y.shape(), idx)?;
    Ok((PyTensor::new(y), idx))
}

/// `max_unpool1d`/`max_unpool2d` into planes of `output_size` (1-D: only the width).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, indices, output_size, one_d))]
fn _max_unpool(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    indices: PyRef<'_, PyTensor>,
    output_size: [usize; 2],
    one_d: bool,
) -> Res<PyTensor> {
    let (x, idx) = (input.0.clone(), indices.0.clone());
    Ok(PyTensor::new(py.detach(|| x.max_unpool(&idx, output_size, one_d))?))
}

/// Adds the functions of this file to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_conv_transpose, m)?)?;
    m.add_function(wrap_pyfunction!(_adaptive_max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_max_unpool, m)?)?;
    Ok(())
}
