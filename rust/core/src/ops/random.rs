//! Constant-producing constructors: random tensors (one seedable generator per process, like
//! `torch.manual_seed`), ranges and identity matrices.

use crate::alloc;
use crate::array::{checked_numel, Array, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::{Mutex, OnceLock};

fn generator() -> &'static Mutex<ChaCha8Rng> {
    static RNG: OnceLock<Mutex<ChaCha8Rng>> = OnceLock::new();
    RNG.get_or_init(|| Mutex::new(ChaCha8Rng::seed_from_u64(0x7a9e_67ad)))
}

/// Reseeds the generator behind [`Tensor::rand`] and [`Tensor::randn`].
pub fn manual_seed(seed: u64) {
    *generator().lock().unwrap_or_else(|e| e.into_inner()) = ChaCha8Rng::seed_from_u64(seed);
}

fn random(
    shape: &[usize],
    dtype: DType,
    sample: impl Fn(&mut ChaCha8Rng) -> f64,
) -> Result<Tensor> {
    if !dtype.is_floating_point() {
        return Err(crate::array::not_floating("rand", dtype));
    }
    let n = checked_numel("random", shape)?;
    let mut rng = generator().lock().unwrap_or_else(|e| e.into_inner());
    // Sampled straight into the result's dtype: no float64 buffer twice its size first.
    let array = match dtype {
        DType::F32 => {
            let values = alloc::try_collect("random", n, (0..n).map(|_| sample(&mut rng) as f32))?;
            Array::F32(alloc::array_from_vec("random", shape, values)?.into_shared())
        }
        _ => {
            let values = alloc::try_collect("random", n, (0..n).map(|_| sample(&mut rng)))?;
            Array::from_f64_vec(shape, values, dtype)?
        }
    };
    Ok(Tensor::from_array(array))
}

impl Tensor {
    /// Uniform samples from `[0, 1)`.
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        random(shape, dtype, |r| r.random::<f64>())
    }

    /// Standard normal samples.
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        random(shape, dtype, |r| r.sample(StandardNormal))
    }

    /// `start, start + step, ...` up to but excluding `end`.
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !end.is_finite() {
            return Err(Error::value(
                "arange",
                format!("needs finite start, end and a nonzero step, got ({start}, {end}, {step})"),
            ));
        }
        let count = ((end - start) / step).ceil().max(0.0);
        if count > crate::array::MAX_NUMEL as f64 {
            return Err(Error::value(
                "arange",
                format!("({start}, {end}, {step}) has too many elements"),
            ));
        }
        let count = count as usize;
        let values =
            alloc::try_collect("arange", count, (0..count).map(|i| start + i as f64 * step))?;
        Ok(Tensor::from_array(Array::from_f64_vec(&[values.len()], values, dtype)?))
    }

    /// An `n × m` matrix with ones on the diagonal.
    pub fn eye(n: usize, m: usize, dtype: DType) -> Result<Tensor> {
        let total = checked_numel("eye", &[n, m])?;
        let mut values = alloc::try_filled("eye", total, 0.0)?;
        for i in 0..n.min(m) {
            values[i * m + i] = 1.0;
        }
        Ok(Tensor::from_array(Array::from_f64_vec(&[n, m], values, dtype)?))
    }
}

/// A snapshot of the generator, to replay the same random numbers (checkpointing recomputes
/// `Dropout` with the masks of the first run).
#[derive(Clone, Debug)]
pub struct RngState(ChaCha8Rng);

/// The generator's current state.
pub fn rng_state() -> RngState {
    RngState(generator().lock().unwrap_or_else(|e| e.into_inner()).clone())
}

/// Restores a state taken by [`rng_state`].
pub fn set_rng_state(state: &RngState) {
    *generator().lock().unwrap_or_else(|e| e.into_inner()) = state.0.clone();
}
