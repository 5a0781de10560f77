//! Fused, in-place optimiser steps: one pass over a parameter and its state instead of a
//! dozen elementwise ops and their temporaries. The arithmetic is written in the same order
//! as the reference (PyTorch's formulas), so results match to the last bit in float64.

use crate::array::{Array, DType, Element};
use crate::error::{fmt_shape, Error, Result};
use crate::parallel;
use crate::tensor::Tensor;
use ndarray::{ArcArray, IxDyn};
use std::sync::Arc;

/// Hyper-parameters of an SGD step (`torch.optim.SGD`).
#[derive(Clone, Copy, Debug)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0: plain SGD).
    pub momentum: f64,
    /// Dampening of the momentum.
    pub dampening: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
}

/// Hyper-parameters of an Adam or AdamW step (`torch.optim.Adam`, `AdamW`).
#[derive(Clone, Copy, Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay: L2 on the gradient (Adam) or decoupled (AdamW).
    pub weight_decay: f64,
    /// AdamW's decoupled weight decay.
    pub decoupled: bool,
    /// Ascend instead of descend.
    pub maximize: bool,
    /// The step number, from 1.
    pub step: u64,
}

/// Checks that the state tensors fit the parameter, then runs `kernel` on contiguous
/// mutable slices of them (copy-on-write if a buffer is shared) and a contiguous view of the
/// gradient, bumping every mutated tensor's version.
fn with_slices(
    op: &'static str,
    param: &Tensor,
    grad: &Tensor,
    state: &[&Tensor],
    kernel: &mut dyn FnMut(&mut [&mut Array], &Array) -> Result<()>,
) -> Result<()> {
    let shape = param.shape();
    for (what, t) in std::iter::once(("gradient", grad)).chain(state.iter().map(|t| ("state", *t)))
    {
        if t.shape() != shape || t.dtype() != param.dtype() {
            return Err(Error::shape(
                op,
                format!(
                    "the parameter is {} {} but its {what} is {} {}",
                    fmt_shape(&shape),
                    param.dtype(),
                    fmt_shape(&t.shape()),
                    t.dtype()
                ),
            ));
        }
    }
    let mut all: Vec<&Tensor> = vec![param];
    all.extend_from_slice(state);
    if crate::graph::is_grad_enabled() && all.iter().any(|t| t.requires_grad()) {
        return Err(Error::Graph(format!(
            "{op}: a tensor that requires grad can only be updated in place inside no_grad()"
        )));
    }
    for (i, a) in all.iter().enumerate() {
        if all[..i].iter().any(|b| a.same_as(b)) || a.same_as(grad) {
            return Err(Error::value(
                op,
                "the parameter, its gradient and its state must be distinct tensors",
            ));
        }
    }
    let grad = grad.array().to_contiguous();
    // Distinct storages (checked here), so holding all their write locks cannot deadlock.
    let storages = all.iter().map(|t| t.whole_storage(op)).collect::<Result<Vec<_>>>()?;
    for (i, a) in storages.iter().enumerate() {
        if storages[..i].iter().any(|b| Arc::ptr_eq(a, b)) {
            return Err(Error::value(
                op,
                "the parameter and its state must not share storage (one is a view of another)",
            ));
        }
    }
    let mut guards: Vec<_> = storages.iter().map(|s| s.write()).collect();
    let mut arrays: Vec<&mut Array> = guards.iter_mut().map(|g| &mut **g).collect();
    kernel(&mut arrays, &grad)
}

fn slice_mut<T: Element>(a: &mut ArcArray<T, IxDyn>) -> &mut [T] {
    if !a.is_standard_layout() {
        *a = a.as_standard_layout().into_owned().into_shared();
    }
    // Infallible: a standard-layout array is one slice (made so just above).
    a.as_slice_mut().expect("standard layout after the copy above")
}

macro_rules! typed {
    ($arrays:expr, $grad:expr, $T:ty, $variant:ident, |$p:ident, $rest:ident, $g:ident| $body:block) => {{
        // `with_slices` checked the dtypes and made the gradient contiguous; a broken
        // invariant is reported as a tapegrad bug.
        let bug = |what: &str| Error::internal("optimizer step", what.to_string());
        let Array::$variant(g) = $grad else {
            return Err(bug("the gradient has the parameter's dtype"));
        };
        let $g: &[$T] = g.as_slice().ok_or_else(|| bug("a contiguous gradient"))?;
        let mut slices: Vec<&mut [$T]> = $arrays
            .iter_mut()
            .map(|a| match &mut **a {
                Array::$variant(x) => Ok(slice_mut(x)),
                _ => Err(bug("the state has the parameter's dtype")),
            })
            .collect::<Result<_>>()?;
        let Some(($p, $rest)) = slices.split_first_mut() else {
            return Err(bug("the parameter comes first"));
        };
        $body
    }};
}

/// Parameters with at least this many elements are updated in parallel chunks. The update is
/// memory-bound, but in place (no output to allocate), and the calling thread works while
/// the pool wakes.
const PARALLEL_MIN: usize = 1 << 18;

/// Runs `kernel` over matching chunks of the parameter, its state and its gradient, split over
/// the pool for large parameters. Each element's update depends on that element alone, so the
/// result is the same whatever the split.
fn chunked<T: Element>(
    p: &mut [T],
    rest: &mut [&mut [T]],
    g: &[T],
    kernel: impl Fn(&mut [T], &mut [&mut [T]], &[T]) + Sync + Send,
) {
    let parts = parallel::parts(p.len(), PARALLEL_MIN);
    if parts == 1 {
        return kernel(p, rest, g);
    }
    let chunk = p.len().div_ceil(parts);
    let mut rest_chunks: Vec<_> = rest.iter_mut().map(|r| r.chunks_mut(chunk)).collect();
    let jobs: Vec<_> = p
        .chunks_mut(chunk)
        .zip(g.chunks(chunk))
        .map(|(pc, gc)| {
            let rc: Vec<&mut [T]> = rest_chunks
                .iter_mut()
                // Infallible: `with_slices` checked that each state has the parameter's
                // shape, so each splits into as many chunks as the parameter.
                .map(|it| it.next().expect("state fits the parameter"))
                .collect();
            (pc, rc, gc)
        })
        .collect();
    parallel::for_each(jobs, |(pc, mut rc, gc)| kernel(pc, &mut rc, gc));
}

/// One SGD step on `param` in place; `buffer` is the momentum buffer (when momentum is on),
/// `first` says it holds nothing yet (it then becomes the gradient, as in PyTorch).
pub fn sgd_step(
    param: &Tensor,
    grad: &Tensor,
    buffer: Option<&Tensor>,
    first: bool,
    h: Sgd,
) -> Result<()> {
    let state: Vec<&Tensor> = buffer.into_iter().collect();
    // Read before the kernel holds the write locks (std's RwLock is not re-entrant).
    let dtype = param.dtype();
    with_slices("sgd", param, grad, &state, &mut |arrays, g| {
        fn run<T: Element>(p: &mut [T], rest: &mut [&mut [T]], g: &[T], first: bool, h: Sgd) {
            chunked(p, rest, g, |p, rest, g| run_chunk(p, rest, g, first, h));
        }
        fn run_chunk<T: Element>(p: &mut [T], rest: &mut [&mut [T]], g: &[T], first: bool, h: Sgd) {
            let (lr, wd, mom, damp) =
                (T::of(h.lr), T::of(h.weight_decay), T::of(h.momentum), T::of(1.0 - h.dampening));
            for i in 0..p.len() {
                let mut d = if h.maximize { -g[i] } else { g[i] };
                if h.weight_decay != 0.0 {
                    d = d + wd * p[i];
                }
                if let Some(buf) = rest.first_mut() {
                    buf[i] = if first { d } else { buf[i] * mom + damp * d };
                    d = if h.nesterov { d + mom * buf[i] } else { buf[i] };
                }
                p[i] = p[i] - lr * d;
            }
        }
        match dtype {
            DType::F32 => typed!(arrays, g, f32, F32, |p, rest, gs| { run(p, rest, gs, first, h) }),
            DType::F64 => typed!(arrays, g, f64, F64, |p, rest, gs| { run(p, rest, gs, first, h) }),
            other @ DType::Bool => return Err(crate::array::not_floating("sgd", other)),
            other @ (DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64) => {
                return Err(crate::array::not_floating("sgd", other))
            }
        }
        Ok(())
    })
}

/// One Adam/AdamW step on `param` in place, updating the moments (and the running maximum
/// of the second moment for AMSGrad).
pub fn adam_step(
    param: &Tensor,
    grad: &Tensor,
    exp_avg: &Tensor,
    exp_avg_sq: &Tensor,
    max_exp_avg_sq: Option<&Tensor>,
    h: Adam,
) -> Result<()> {
    let mut state = vec![exp_avg, exp_avg_sq];
    state.extend(max_exp_avg_sq);
    let dtype = param.dtype();
    with_slices("adam", param, grad, &state, &mut |arrays, g| {
        fn run<T: Element>(p: &mut [T], rest: &mut [&mut [T]], g: &[T], h: Adam) {
            chunked(p, rest, g, |p, rest, g| run_chunk(p, rest, g, h));
        }
        fn run_chunk<T: Element>(p: &mut [T], rest: &mut [&mut [T]], g: &[T], h: Adam) {
            let step = h.step as i32;
            let shrink = T::of(1.0 - h.lr * h.weight_decay);
            let wd = T::of(h.weight_decay);
            let (one_minus_b1, b2, one_minus_b2) =
                (T::of(1.0 - h.beta1), T::of(h.beta2), T::of(1.0 - h.beta2));
            let step_size = T::of(h.lr / (1.0 - h.beta1.powi(step)));
            let bias2_sqrt = T::of((1.0 - h.beta2.powi(step)).sqrt());
            let eps = T::of(h.eps);
            // Infallible: `adam_step` always passes exp_avg and exp_avg_sq.
            let (m, tail) = rest.split_first_mut().expect("exp_avg");
            let (v, tail) = tail.split_first_mut().expect("exp_avg_sq");
            let mut vmax = tail.first_mut();
            for i in 0..p.len() {
                let mut d = if h.maximize { -g[i] } else { g[i] };
                if h.weight_decay != 0.0 {
                    if h.decoupled {
                        p[i] = p[i] * shrink;
                    } else {
                        d = d + wd * p[i];
                    }
                }
                // m ← m + (1 - β₁)(g - m), v ← β₂ v + (1 - β₂) g²
                m[i] = m[i] + (d - m[i]) * one_minus_b1;
                v[i] = v[i] * b2 + one_minus_b2 * d * d;
                let second = match vmax.as_mut() {
                    Some(vm) => {
                        // NaN wins, as in maximum()
                        vm[i] = if vm[i].is_nan() || v[i].is_nan() {
                            T::nan()
                        } else {
                            vm[i].max(v[i])
                        };
                        vm[i]
                    }
                    None => v[i],
                };
                let denominator = second.sqrt() / bias2_sqrt + eps;
                p[i] = p[i] - step_size * (m[i] / denominator);
            }
        }
        match dtype {
            DType::F32 => typed!(arrays, g, f32, F32, |p, rest, gs| { run(p, rest, gs, h) }),
            DType::F64 => typed!(arrays, g, f64, F64, |p, rest, gs| { run(p, rest, gs, h) }),
            other @ DType::Bool => return Err(crate::array::not_floating("adam", other)),
            other @ (DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64) => {
                return Err(crate::array::not_floating("adam", other))
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_close, leaf, values};

    #[test]
    fn sgd_with_momentum_follows_the_recurrence() {
        // b₁ = g, p₁ = p₀ - lr·b₁; b₂ = μb₁ + g, p₂ = p₁ - lr·b₂
        let p = leaf(&[2], &[1.0, -2.0], false);
        let g = leaf(&[2], &[0.5, 1.0], false);
        let b = leaf(&[2], &[0.0, 0.0], false);
        let h = Sgd {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        };
        sgd_step(&p, &g, Some(&b), true, h).unwrap();
        sgd_step(&p, &g, Some(&b), false, h).unwrap();
        assert_close(&values(&b), &[0.95, 1.9], 1e-15);
        assert_close(&values(&p), &[1.0 - 0.05 - 0.095, -2.0 - 0.1 - 0.19], 1e-15);
        assert_eq!(p.version(), 2);
    }

    #[test]
    fn adam_first_step_moves_by_lr_times_the_sign() {
        // After one step m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g).
        let p = leaf(&[2], &[1.0, 1.0], false);
        let g = leaf(&[2], &[3.0, -0.5], false);
        let (m, v) = (leaf(&[2], &[0.0; 2], false), leaf(&[2], &[0.0; 2], false));
        let h = Adam {
            lr: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            eps: 0.0,
            weight_decay: 0.0,
            decoupled: false,
            maximize: false,
            step: 1,
        };
        adam_step(&p, &g, &m, &v, None, h).unwrap();
        assert_close(&values(&p), &[0.99, 1.01], 1e-12);
    }

    #[test]
    fn misuse_is_an_error() {
        let p = leaf(&[2], &[1.0, 1.0], true);
        let g = leaf(&[3], &[0.0; 3], false);
        let h = Sgd {
            lr: 0.1,
            momentum: 0.0,
            dampening: 0.0,
            weight_decay: 0.0,
            nesterov: false,
            maximize: false,
        };
        let err = sgd_step(&p, &g, None, false, h).unwrap_err().to_string();
        assert!(err.contains("(2,)") && err.contains("(3,)"), "{err}");
        let g = leaf(&[2], &[0.0; 2], false);
        let err = sgd_step(&p, &g, None, false, h).unwrap_err().to_string();
        assert!(err.contains("no_grad"), "{err}");
        let _off = crate::GradModeGuard::new(false);
        assert!(sgd_step(&p, &g, Some(&p), true, h).is_err());
    }
}
