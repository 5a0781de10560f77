//! Constant-producing constructors: random tensors, ranges and identity matrices; and the
//! [`Generator`] every random function draws from (a process-wide default one, seedable as
//! `torch.manual_seed`, or one the caller owns, as `torch.Generator`).

use crate::alloc;
use crate::array::{checked_numel, Array, DType};
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The seed of the default generator until `manual_seed` or `seed` changes it.
pub const DEFAULT_SEED: u64 = 0x7a9e_67ad;

/// A seedable stream of random numbers (ChaCha8): PyTorch's `torch.Generator`.
#[derive(Clone, Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    initial_seed: u64,
}

/// A generator shared between the tensors' random functions and its Python handle.
pub type SharedGenerator = Arc<Mutex<Generator>>;

/// Bytes of [`Generator::get_state`]: key (32), stream (8), word position (16), seed (8).
pub const STATE_BYTES: usize = 64;

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Generator { rng: ChaCha8Rng::seed_from_u64(seed), initial_seed: seed }
    }

    /// Restarts the stream from `seed`.
    pub fn manual_seed(&mut self, seed: u64) {
        *self = Generator::new(seed);
    }

    /// Reseeds from a non-deterministic seed (the hasher keys std draws from the OS, mixed
    /// with the clock) and returns that seed.
    pub fn seed(&mut self) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        hasher.write_u128(nanos);
        // PyTorch's seeds fit in 63 bits once it hands them back to Python as ints.
        let seed = hasher.finish() >> 1;
        self.manual_seed(seed);
        seed
    }

    /// The seed the stream started from.
    pub fn initial_seed(&self) -> u64 {
        self.initial_seed
    }

    /// The full state as bytes (restore it with [`Generator::set_state`]).
    pub fn get_state(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(STATE_BYTES);
        bytes.extend_from_slice(&self.rng.get_seed());
        bytes.extend_from_slice(&self.rng.get_stream().to_le_bytes());
        bytes.extend_from_slice(&self.rng.get_word_pos().to_le_bytes());
        bytes.extend_from_slice(&self.initial_seed.to_le_bytes());
        bytes
    }

    /// Restores a state from [`Generator::get_state`].
    pub fn set_state(&mut self, bytes: &[u8]) -> Result<()> {
        if bytes.len() != STATE_BYTES {
            return Err(Error::value(
                "set_state",
                format!("expected a generator state of {STATE_BYTES} bytes, got {}", bytes.len()),
            ));
        }
        // The fields' sizes add up to STATE_BYTES, the length checked above.
        fn field<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N]> {
            let part = bytes.get(at..at + N).and_then(|part| part.try_into().ok());
            part.ok_or_else(|| Error::internal("set_state", "the state's fields fit its length"))
        }
        let mut rng = ChaCha8Rng::from_seed(field::<32>(bytes, 0)?);
        rng.set_stream(u64::from_le_bytes(field(bytes, 32)?));
        rng.set_word_pos(u128::from_le_bytes(field(bytes, 40)?));
        let initial_seed = u64::from_le_bytes(field(bytes, 56)?);
        *self = Generator { rng, initial_seed };
        Ok(())
    }

    /// The random stream itself.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

/// The process-wide generator behind every random function called without `generator=`.
pub fn default_generator() -> &'static SharedGenerator {
    static DEFAULT: OnceLock<SharedGenerator> = OnceLock::new();
    DEFAULT.get_or_init(|| Arc::new(Mutex::new(Generator::new(DEFAULT_SEED))))
}

/// Locks `generator` (the default one when `None`); a panic elsewhere cannot poison it.
pub fn lock_generator(generator: Option<&SharedGenerator>) -> MutexGuard<'_, Generator> {
    generator.unwrap_or_else(|| default_generator()).lock().unwrap_or_else(|e| e.into_inner())
}

/// Reseeds the default generator.
pub fn manual_seed(seed: u64) {
    lock_generator(None).manual_seed(seed);
}

fn random(
    shape: &[usize],
    dtype: DType,
    generator: Option<&SharedGenerator>,
    sample: impl Fn(&mut ChaCha8Rng) -> f64,
) -> Result<Tensor> {
    if !dtype.is_floating_point() {
        return Err(crate::array::not_floating("rand", dtype));
    }
    let n = checked_numel("random", shape)?;
    let mut generator = lock_generator(generator);
    let rng = generator.rng();
    // Sampled straight into the result's dtype: no float64 buffer twice its size first.
    let array = match dtype {
        DType::F32 => {
            let values = alloc::try_collect("random", n, (0..n).map(|_| sample(rng) as f32))?;
            Array::F32(alloc::array_from_vec("random", shape, values)?.into_shared())
        }
        _ => {
            let values = alloc::try_collect("random", n, (0..n).map(|_| sample(rng)))?;
            Array::from_f64_vec(shape, values, dtype)?
        }
    };
    Ok(Tensor::from_array(array))
}

impl Tensor {
    /// Uniform samples from `[0, 1)`.
    pub fn rand(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::rand_with(shape, dtype, None)
    }

    /// Uniform samples from `[0, 1)` drawn from `generator` (the default one when `None`).
    pub fn rand_with(
        shape: &[usize],
        dtype: DType,
        generator: Option<&SharedGenerator>,
    ) -> Result<Tensor> {
        random(shape, dtype, generator, |r| r.random::<f64>())
    }

    /// Standard normal samples.
    pub fn randn(shape: &[usize], dtype: DType) -> Result<Tensor> {
        Tensor::randn_with(shape, dtype, None)
    }

    /// Standard normal samples drawn from `generator` (the default one when `None`).
    pub fn randn_with(
        shape: &[usize],
        dtype: DType,
        generator: Option<&SharedGenerator>,
    ) -> Result<Tensor> {
        random(shape, dtype, generator, |r| r.sample(StandardNormal))
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

/// A snapshot of the default generator, to replay the same random numbers (checkpointing
/// recomputes `Dropout` with the masks of the first run).
#[derive(Clone, Debug)]
pub struct RngState(Generator);

/// The default generator's current state.
pub fn rng_state() -> RngState {
    RngState(lock_generator(None).clone())
}

/// Restores a state taken by [`rng_state`].
pub fn set_rng_state(state: &RngState) {
    *lock_generator(None) = state.0.clone();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generator_state_round_trips_mid_stream() {
        let mut g = Generator::new(5);
        let _: u64 = g.rng().random();
        let state = g.get_state();
        let a: Vec<u32> = (0..4).map(|_| g.rng().random()).collect();
        let mut h = Generator::new(99);
        h.set_state(&state).unwrap();
        let b: Vec<u32> = (0..4).map(|_| h.rng().random()).collect();
        assert_eq!(a, b);
        assert_eq!(h.initial_seed(), 5);
        assert!(h.set_state(&state[1..]).is_err());
    }
}
