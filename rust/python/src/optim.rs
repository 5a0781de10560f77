//! The fused optimiser steps: conversion only.

use crate::errors::Res;
use crate::tensor::PyTensor;
use pyo3::prelude::*;
use tapegrad_core::optim::{adam_step, sgd_step, Adam, Sgd};

/// One in-place SGD step on `param` (and its momentum `buffer`).
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (param, grad, buffer, first, lr, momentum, dampening, weight_decay, nesterov, maximize))]
fn _sgd_step(
    py: Python<'_>,
    param: PyRef<'_, PyTensor>,
    grad: PyRef<'_, PyTensor>,
    buffer: Option<PyRef<'_, PyTensor>>,
    first: bool,
    lr: f64,
    momentum: f64,
    dampening: f64,
    weight_decay: f64,
    nesterov: bool,
    maximize: bool,
) -> Res<()> {
    let h = Sgd { lr, momentum, dampening, weight_decay, nesterov, maximize };
    let (p, g, b) = (param.0.clone(), grad.0.clone(), buffer.map(|b| b.0.clone()));
    Ok(py.detach(|| sgd_step(&p, &g, b.as_ref(), first, h))?)
}

/// One in-place Adam/AdamW step on `param` and its moments.
#[tapegrad_macros::numpy_spellings]
#[tapegrad_macros::catch_panics]
#[pyfunction]
#[pyo3(signature = (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, decoupled, maximize))]
fn _adam_step(
    py: Python<'_>,
    param: PyRef<'_, PyTensor>,
    grad: PyRef<'_, PyTensor>,
    exp_avg: PyRef<'_, PyTensor>,
    exp_avg_sq: PyRef<'_, PyTensor>,
    max_exp_avg_sq: Option<PyRef<'_, PyTensor>>,
    step: u64,
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    maximize: bool,
) -> Res<()> {
    let h = Adam { lr, beta1, beta2, eps, weight_decay, decoupled, maximize, step };
    let (p, g, m, v) = (param.0.clone(), grad.0.clone(), exp_avg.0.clone(), exp_avg_sq.0.clone());
    let vmax = max_exp_avg_sq.map(|t| t.0.clone());
    Ok(py.detach(|| adam_step(&p, &g, &m, &v, vmax.as_ref(), h))?)
}

/// Adds the functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_sgd_step, m)?)?;
    m.add_function(wrap_pyfunction!(_adam_step, m)?)?;
    Ok(())
}
