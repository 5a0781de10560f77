//! Sampling: `randint`, `randperm`, `multinomial`, `bernoulli`, `normal`, `poisson`. Every
//! function draws from one [`Generator`](crate::ops::random::Generator) (the default one
//! when `None`), so a seed reproduces every random tensor. Samples are constants: they record
//! no node.

use crate::array::{broadcast_shapes, checked_numel, Array, DType};
use crate::dispatch;
use crate::error::{fmt_shape, Error, Result};
use crate::ops::random::{lock_generator, SharedGenerator};
use crate::tensor::Tensor;
use num_traits::ToPrimitive;
use rand::Rng;
use rand_distr::{Distribution, Exp1, Poisson, StandardNormal};

/// The elements of `t` as `f64`, row-major, after checking it is floating (`op` names the
/// function in the error, as PyTorch's "not implemented for 'Long'").
fn float_values(op: &'static str, t: &Tensor) -> Result<Vec<f64>> {
    if !t.dtype().is_floating_point() {
        return Err(Error::DType {
            op,
            message: format!("expected a floating point input, got {}", t.dtype()),
        });
    }
    let array = t.array();
    Ok(dispatch!(op; &array, a => a.iter().map(|v| v.to_f64().unwrap_or(f64::NAN)).collect()))
}

/// `values` broadcast from `from` to `to` (row-major).
fn broadcast_values(values: Vec<f64>, from: &[usize], to: &[usize]) -> Result<Vec<f64>> {
    if from == to {
        return Ok(values);
    }
    let a = Array::from_f64_vec(from, values, DType::F64)?.broadcast_to(to)?;
    let Array::F64(a) = a else {
        return Err(Error::internal("broadcast_values", "a float64 array broadcasts as float64"));
    };
    Ok(a.iter().copied().collect())
}

impl Tensor {
    /// Integers drawn uniformly from `[low, high)`, as `dtype`.
    pub fn randint(
        low: i64,
        high: i64,
        shape: &[usize],
        dtype: DType,
        generator: Option<&SharedGenerator>,
    ) -> Result<Tensor> {
        if low >= high {
            return Err(Error::value(
                "randint",
                format!("expects 'low' to be less than 'high', but got low={low} >= high={high}"),
            ));
        }
        let n = checked_numel("randint", shape)?;
        let mut generator = lock_generator(generator);
        let rng = generator.rng();
        let values: Vec<i64> = (0..n).map(|_| rng.random_range(low..high)).collect();
        Ok(Tensor::from_array(Array::from_i64_vec(shape, values, dtype)?))
    }

    /// A random permutation of `0..n` (Fisher-Yates), as `dtype`.
    pub fn randperm(n: usize, dtype: DType, generator: Option<&SharedGenerator>) -> Result<Tensor> {
        checked_numel("randperm", &[n])?;
        let mut values: Vec<i64> = (0..n as i64).collect();
        let mut generator = lock_generator(generator);
        let rng = generator.rng();
        for i in (1..n).rev() {
            values.swap(i, rng.random_range(0..=i));
        }
        Ok(Tensor::from_array(Array::from_i64_vec(&[n], values, dtype)?))
    }

    /// `num_samples` category indices per row of the weights `self` (1-D or 2-D, not
    /// necessarily normalised), int64. With replacement, each draw inverts the cumulative
    /// weights; without, the categories with the `num_samples` smallest keys `E/w`
    /// (`E ~ Exp(1)`) are taken, in key order, which draws them one by one in proportion to
    /// the weights left (categories of weight 0 come last, after every positive one).
    pub fn multinomial(
        &self,
        num_samples: usize,
        replacement: bool,
        generator: Option<&SharedGenerator>,
    ) -> Result<Tensor> {
        let op = "multinomial";
        let shape = self.shape();
        if shape.is_empty() || shape.len() > 2 {
            return Err(Error::shape(
                op,
                format!("prob_dist must be 1 or 2 dim, got shape {}", fmt_shape(&shape)),
            ));
        }
        let weights = float_values(op, self)?;
        let categories = shape[shape.len() - 1];
        if num_samples == 0 {
            return Err(Error::value(op, "cannot sample n_sample <= 0 samples"));
        }
        if !replacement && num_samples > categories {
            return Err(Error::value(
                op,
                format!(
                    "cannot sample n_sample > prob_dist.size(-1) samples without replacement \
                     ({num_samples} > {categories})"
                ),
            ));
        }
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return Err(Error::value(
                op,
                "probability tensor contains either `inf`, `nan` or element < 0",
            ));
        }
        let rows = if shape.len() == 2 { shape[0] } else { 1 };
        let mut out = Vec::with_capacity(rows * num_samples);
        let mut generator = lock_generator(generator);
        let rng = generator.rng();
        for (r, row) in weights.chunks(categories.max(1)).take(rows).enumerate() {
            let total: f64 = row.iter().sum();
            if categories == 0 || total <= 0.0 {
                return Err(Error::value(
                    op,
                    format!(
                        "invalid multinomial distribution (sum of probabilities <= 0) in row {r}"
                    ),
                ));
            }
            if replacement {
                let mut cumulative = Vec::with_capacity(categories);
                let mut acc = 0.0;
                for &w in row {
                    acc += w;
                    cumulative.push(acc);
                }
                for _ in 0..num_samples {
                    let u = rng.random::<f64>() * total;
                    // The first category whose cumulative weight exceeds u (never one of
                    // weight 0, which does not raise the cumulative sum).
                    let k = cumulative.partition_point(|&c| c <= u).min(categories - 1);
                    let k = (0..=k).rev().find(|&j| row[j] > 0.0).unwrap_or(k);
                    out.push(k as i64);
                }
            } else {
                let mut keys: Vec<(f64, usize)> = row
                    .iter()
                    .enumerate()
                    .map(|(j, &w)| {
                        let e: f64 = rng.sample(Exp1);
                        (if w > 0.0 { e / w } else { f64::INFINITY }, j)
                    })
                    .collect();
                let by_key =
                    |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
                if num_samples < categories {
                    keys.select_nth_unstable_by(num_samples - 1, by_key);
                    keys.truncate(num_samples);
                }
                keys.sort_unstable_by(by_key);
                out.extend(keys.iter().map(|&(_, j)| j as i64));
            }
        }
        let out_shape: Vec<usize> =
            if shape.len() == 2 { vec![rows, num_samples] } else { vec![num_samples] };
        Ok(Tensor::from_array(Array::from_i64_vec(&out_shape, out, DType::I64)?))
    }

    /// 1 with probability `p` (elementwise `self`, or the scalar `p` when given), else 0,
    /// in `self`'s dtype.
    pub fn bernoulli(&self, p: Option<f64>, generator: Option<&SharedGenerator>) -> Result<Tensor> {
        let op = "bernoulli";
        let probs = match p {
            Some(p) => {
                float_values(op, self)?;
                vec![p; self.numel()]
            }
            None => float_values(op, self)?,
        };
        if let Some(bad) = probs.iter().find(|p| !(0.0..=1.0).contains(*p)) {
            return Err(Error::value(op, format!("expected 0 <= p <= 1, got p = {bad}")));
        }
        let mut generator = lock_generator(generator);
        let rng = generator.rng();
        let values: Vec<f64> =
            probs.iter().map(|&p| if rng.random::<f64>() < p { 1.0 } else { 0.0 }).collect();
        Ok(Tensor::from_array(Array::from_f64_vec(&self.shape(), values, self.dtype())?))
    }

    /// Normal samples with elementwise `mean` and `std` (broadcast together), in their
    /// promoted floating dtype.
    pub fn normal(
        mean: &Tensor,
        std: &Tensor,
        generator: Option<&SharedGenerator>,
    ) -> Result<Tensor> {
        let op = "normal";
        let shape = broadcast_shapes(op, &mean.shape(), &std.shape())?;
        let operands = [
            crate::promotion::Operand::tensor(mean.dtype(), mean.ndim()),
            crate::promotion::Operand::tensor(std.dtype(), std.ndim()),
        ];
        let dtype = crate::promotion::result_type(&operands)
            .ok_or_else(|| Error::internal(op, "the operands are two tensors"))?;
        let means = broadcast_values(float_values(op, mean)?, &mean.shape(), &shape)?;
        let stds = broadcast_values(float_values(op, std)?, &std.shape(), &shape)?;
        if let Some(bad) = stds.iter().find(|s| s.is_nan() || **s < 0.0) {
            return Err(Error::value(op, format!("expects all elements of std >= 0.0, got {bad}")));
        }
        let mut generator = lock_generator(generator);
        let rng = generator.rng();
        let values: Vec<f64> = means
            .iter()
            .zip(&stds)
            .map(|(&m, &s)| m + s * rng.sample::<f64, _>(StandardNormal))
            .collect();
        Ok(Tensor::from_array(Array::from_f64_vec(&shape, values, dtype)?))
    }

    /// Poisson samples with the elementwise rates `self`, in `self`'s dtype.
    pub fn poisson(&self, generator: Option<&SharedGenerator>) -> Result<Tensor> {
        let op = "poisson";
        let rates = float_values(op, self)?;
        let mut generator = lock_generator(generator);
        let rng = generator.rng();
        let values = rates
            .iter()
            .map(|&rate| {
                if rate == 0.0 {
                    return Ok(0.0);
                }
                let dist = Poisson::new(rate).map_err(|_| {
                    Error::value(
                        op,
                        format!("invalid Poisson rate {rate}, expected a finite non-negative rate"),
                    )
                })?;
                Ok(dist.sample(rng))
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(Tensor::from_array(Array::from_f64_vec(&self.shape(), values, self.dtype())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::random::Generator;
    use std::sync::{Arc, Mutex};

    fn ints(t: &Tensor) -> Vec<i64> {
        let Array::I64(a) = t.array() else { panic!("int64 expected") };
        a.iter().copied().collect()
    }

    #[test]
    fn sampling_without_replacement_never_repeats_and_puts_zero_weights_last() {
        let g: SharedGenerator = Arc::new(Mutex::new(Generator::new(1)));
        let w = Tensor::from_array(
            Array::from_f64_vec(&[4], vec![1.0, 0.0, 2.0, 3.0], DType::F32).unwrap(),
        );
        for _ in 0..20 {
            let s = ints(&w.multinomial(4, false, Some(&g)).unwrap());
            assert_eq!(s[3], 1);
            let mut sorted = s.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, vec![0, 1, 2, 3]);
        }
        assert!(w.multinomial(5, false, Some(&g)).is_err());
        let s = ints(&w.multinomial(100, true, Some(&g)).unwrap());
        assert!(!s.contains(&1));
    }

    #[test]
    fn randperm_is_a_permutation_and_randint_stays_in_range() {
        let p = ints(&Tensor::randperm(50, DType::I64, None).unwrap());
        let mut sorted = p.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        let r = ints(&Tensor::randint(-3, 2, &[200], DType::I64, None).unwrap());
        assert!(r.iter().all(|v| (-3..2).contains(v)));
        assert!(Tensor::randint(2, 2, &[1], DType::I64, None).is_err());
    }
}
