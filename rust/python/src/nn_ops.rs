//! Neural-network primitives of `tapegrad._native` (convolution): conversion only. The public
//! wrappers with PyTorch's signatures (`"same"` padding, int-or-tuple arguments) live in
//! `python/tapegrad/nn/functional.py`; these take normalised arguments.

use crate::errors::Res;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use tapegrad_core::{ConvParams, PoolParams};

/// `conv1d`/`conv2d`: stride, dilation as (height, width), padding as
/// ((before, after), (before, after)); a 1-D convolution uses only the width entries.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, weight, bias, stride, padding, dilation, groups))]
#[allow(clippy::too_many_arguments)]
fn _conv(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    weight: PyRef<'_, PyTensor>,
    bias: Option<PyRef<'_, PyTensor>>,
    stride: [usize; 2],
    padding: [(usize, usize); 2],
    dilation: [usize; 2],
    groups: usize,
) -> Res<PyTensor> {
    let (x, w, b) = (input.0.clone(), weight.0.clone(), bias.map(|b| b.0.clone()));
    let params = ConvParams { stride, padding, dilation, groups };
    Ok(PyTensor::new(py.detach(|| x.conv(&w, b.as_ref(), params))?))
}

/// `max_pool1d`/`max_pool2d`: the pooled values and, per output, the flat index of its
/// maximum in its plane as an int64 tensor of the output's shape. A 1-D pool uses only the
/// width entries.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (input, kernel, stride, padding, dilation, ceil_mode, one_d))]
#[allow(clippy::too_many_arguments)]
fn _max_pool(
    py: Python<'_>,
    input: PyRef<'_, PyTensor>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
    one_d: bool,
) -> Res<(PyTensor, PyTensor)> {
    let x = input.0.clone();
    let params = PoolParams { kernel, stride, padding, dilation, ceil_mode };
    let (y, idx) = py.detach(|| x.max_pool(params, one_d))?;
    let idx = crate::nn_extra::index_tensor(&y.shape(), idx)?;
    Ok((PyTensor::new(y), idx))
}

/// Fused `softmax(scale · q kᵀ + mask) v`; `mask` is additive (the Python wrapper turns
/// boolean masks and `is_causal` into one).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (query, key, value, mask, scale))]
fn _scaled_dot_product_attention(
    py: Python<'_>,
    query: PyRef<'_, PyTensor>,
    key: PyRef<'_, PyTensor>,
    value: PyRef<'_, PyTensor>,
    mask: Option<PyRef<'_, PyTensor>>,
    scale: f64,
) -> Res<PyTensor> {
    let (q, k, v) = (query.0.clone(), key.0.clone(), value.0.clone());
    let m = mask.map(|m| m.0.clone());
    Ok(PyTensor::new(py.detach(|| q.scaled_dot_product_attention(&k, &v, m.as_ref(), scale))?))
}

/// Adds the functions of this file to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_conv, m)?)?;
    m.add_function(wrap_pyfunction!(_max_pool, m)?)?;
    m.add_function(wrap_pyfunction!(_scaled_dot_product_attention, m)?)?;
    Ok(())
}
