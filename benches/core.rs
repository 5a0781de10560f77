//! Criterion benchmarks of `tapegrad-core`, with no Python in the way: matmul (the three
//! products of a linear layer), elementwise ops, reductions, and an MLP's forward + backward.
//!
//! ```sh
//! TAPEGRAD_NUM_THREADS=2 cargo bench -p tapegrad-core --bench core           # everything
//! cargo bench -p tapegrad-core --bench core -- --quick matmul/f32           # a quick subset
//! ```
//!
//! Benchmark ids are `group/what/shape`, with the shapes `benches/compare.py` uses, so a
//! number here can be set next to the Python suite's (the difference is the binding's cost).
//! Throughput is reported as elements per second where an "element" is one floating-point
//! operation (matmul, the MLP) or as bytes per second (elementwise, reductions).

// criterion_group! generates an undocumented `pub fn`.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tapegrad_core::kernels::{exp_log, Level};
use tapegrad_core::{engine, Array, DType, Tensor};

const SQUARES: [usize; 4] = [128, 256, 512, 1024];
/// (batch, in, out) of the layers in `mlp_step`: Y = X·W with X (m×k), W (k×n).
const MLP_SHAPES: [(usize, usize, usize); 3] =
    [(64, 784, 256), (256, 784, 1024), (128, 1024, 1024)];

fn randn(shape: &[usize], dtype: DType) -> Tensor {
    Tensor::randn(shape, dtype).expect("randn")
}

/// The short name of a dtype in benchmark ids (`f32`, `i64`, ...).
fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f32",
        DType::F64 => "f64",
        DType::Bool => "bool",
        DType::U8 => "u8",
        DType::I8 => "i8",
        DType::I16 => "i16",
        DType::I32 => "i32",
        DType::I64 => "i64",
    }
}

/// X·W, Xᵀ·dY and dY·Wᵀ: the forward and the two gradient products, transposes as views.
fn matmul(c: &mut Criterion) {
    let mut group = c.benchmark_group("matmul");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    let shapes = SQUARES.iter().map(|&n| (format!("{n}x{n}x{n}"), (n, n, n)));
    let shapes: Vec<_> = shapes
        .chain(MLP_SHAPES.iter().map(|&(m, k, n)| (format!("{m}x{k}x{n}"), (m, k, n))))
        .collect();
    for dtype in [DType::F32, DType::F64] {
        for (name, (m, k, n)) in &shapes {
            let (x, w, dy) =
                (randn(&[*m, *k], dtype), randn(&[*k, *n], dtype), randn(&[*m, *n], dtype));
            group.throughput(Throughput::Elements((2 * m * k * n) as u64));
            let dt = dtype_name(dtype);
            group.bench_function(BenchmarkId::new(format!("{dt}/x_w"), name), |b| {
                b.iter(|| black_box(x.matmul(&w).unwrap()))
            });
            // The backward products only in float32: float64 adds little information.
            if dtype == DType::F32 {
                group.bench_function(BenchmarkId::new(format!("{dt}/xt_dy"), name), |b| {
                    b.iter(|| black_box(x.transpose(0, 1).unwrap().matmul(&dy).unwrap()))
                });
                group.bench_function(BenchmarkId::new(format!("{dt}/dy_wt"), name), |b| {
                    b.iter(|| black_box(dy.matmul(&w.transpose(0, 1).unwrap()).unwrap()))
                });
            }
        }
    }
    group.finish();
}

/// add, exp, relu and relu's backward (through the engine), float32, 2^10 to 2^22 elements.
fn elementwise(c: &mut Criterion) {
    let mut group = c.benchmark_group("elementwise");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    for power in [10, 16, 20, 22] {
        let len = 1usize << power;
        let name = format!("2^{power}");
        let (x, y, dy) =
            (randn(&[len], DType::F32), randn(&[len], DType::F32), randn(&[len], DType::F32));
        // Bytes an ideal kernel moves: two reads and a write, or one read and a write.
        group.throughput(Throughput::Bytes((3 * 4 * len) as u64));
        group.bench_function(BenchmarkId::new("add", &name), |b| {
            b.iter(|| black_box(x.add(&y).unwrap()))
        });
        group.throughput(Throughput::Bytes((2 * 4 * len) as u64));
        group.bench_function(BenchmarkId::new("exp", &name), |b| {
            b.iter(|| black_box(x.exp().unwrap()))
        });
        group.bench_function(BenchmarkId::new("relu", &name), |b| {
            b.iter(|| black_box(x.relu().unwrap()))
        });
        let leaf = x.detach();
        leaf.set_requires_grad(true).unwrap();
        let out = leaf.relu().unwrap();
        group.throughput(Throughput::Bytes((3 * 4 * len) as u64));
        group.bench_function(BenchmarkId::new("relu_backward", &name), |b| {
            b.iter(|| {
                let grads = engine::grad(
                    &[out.clone()],
                    &[Some(dy.clone())],
                    &[leaf.clone()],
                    true,
                    false,
                    false,
                );
                black_box(grads.unwrap())
            })
        });
    }
    group.finish();
}

/// Sums over all, over rows and over columns; log_softmax over the class axis.
fn reductions(c: &mut Criterion) {
    let mut group = c.benchmark_group("reduce");
    group.warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    let x = randn(&[1024, 1024], DType::F32);
    group.throughput(Throughput::Bytes((4 * 1024 * 1024) as u64));
    group.bench_function(BenchmarkId::new("sum_all", "1024x1024"), |b| {
        b.iter(|| black_box(x.sum(None, false).unwrap()))
    });
    group.bench_function(BenchmarkId::new("sum_axis0", "1024x1024"), |b| {
        b.iter(|| black_box(x.sum(Some(&[0]), false).unwrap()))
    });
    group.bench_function(BenchmarkId::new("sum_axis1", "1024x1024"), |b| {
        b.iter(|| black_box(x.sum(Some(&[1]), false).unwrap()))
    });
    for (batch, classes) in [(64, 10), (256, 10), (256, 1000)] {
        let logits = randn(&[batch, classes], DType::F32);
        group.throughput(Throughput::Bytes((4 * batch * classes) as u64));
        group.bench_function(BenchmarkId::new("log_softmax", format!("{batch}x{classes}")), |b| {
            b.iter(|| black_box(logits.log_softmax(1).unwrap()))
        });
    }
    group.finish();
}

/// An MLP classifier as `benches/cases/_mlp.py` writes it with tapegrad: h @ W.T + b, ReLU,
/// mean cross-entropy by log_softmax and a one-hot product.
struct Mlp {
    params: Vec<Tensor>,
    x: Tensor,
    onehot: Tensor,
    batch: usize,
}

impl Mlp {
    fn new(sizes: &[usize], batch: usize) -> Mlp {
        let mut params = Vec::new();
        for pair in sizes.windows(2) {
            let scale = 1.0 / (pair[0] as f64).sqrt();
            for shape in [vec![pair[1], pair[0]], vec![pair[1]]] {
                let p = randn(&shape, DType::F32).mul_scalar(scale).unwrap();
                p.set_requires_grad(true).unwrap();
                params.push(p);
            }
        }
        let classes = sizes[sizes.len() - 1];
        let onehot = (0..batch * classes).map(|i| {
            if i % classes == (i / classes) % classes {
                1.0
            } else {
                0.0
            }
        });
        let onehot = Array::from_f64_vec(&[batch, classes], onehot.collect(), DType::F32).unwrap();
        Mlp {
            params,
            x: randn(&[batch, sizes[0]], DType::F32),
            onehot: Tensor::from_array(onehot),
            batch,
        }
    }

    fn loss(&self) -> Tensor {
        let layers = self.params.len() / 2;
        let mut h = self.x.clone();
        for i in 0..layers {
            let (w, b) = (&self.params[2 * i], &self.params[2 * i + 1]);
            h = h.matmul(&w.transpose(0, 1).unwrap()).unwrap().add(b).unwrap();
            if i + 1 < layers {
                h = h.relu().unwrap();
            }
        }
        let picked = h.log_softmax(1).unwrap().mul(&self.onehot).unwrap();
        picked.sum(None, false).unwrap().mul_scalar(-1.0 / self.batch as f64).unwrap()
    }

    fn forward_backward(&self) {
        let loss = self.loss();
        engine::backward(&[loss], &[None], false, false).unwrap();
        for p in &self.params {
            p.set_grad(None).unwrap();
        }
    }

    /// Multiply-adds of the forward pass, times 2: the backward does about twice that.
    fn forward_flops(&self) -> u64 {
        let weights: usize = self.params.iter().step_by(2).map(Tensor::numel).sum();
        (2 * self.batch * weights) as u64
    }
}

fn mlp(c: &mut Criterion) {
    let mut group = c.benchmark_group("mlp");
    group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(3));
    let configs: [(&str, &[usize], usize); 4] = [
        ("4-64-64-2_b64", &[4, 64, 64, 2], 64),
        ("512-256_b32", &[512, 256], 32),
        ("784-256-256-10_b64", &[784, 256, 256, 10], 64),
        ("784-1024-1024-10_b256", &[784, 1024, 1024, 10], 256),
    ];
    for (name, sizes, batch) in configs {
        let model = Mlp::new(sizes, batch);
        group.throughput(Throughput::Elements(model.forward_flops()));
        group.bench_function(BenchmarkId::new("forward", name), |b| {
            b.iter(|| black_box(model.loss()))
        });
        group.bench_function(BenchmarkId::new("forward_backward", name), |b| {
            b.iter(|| model.forward_backward())
        });
    }
    group.finish();
}

/// The vectorised transcendental kernels over slices on one thread, at every dispatch level
/// this CPU has (`scalar` is the fallback `TAPEGRAD_KERNELS=scalar` forces).
fn kernels(c: &mut Criterion) {
    type F32Kernel = fn(Level, &[f32], &mut [f32]);
    type F64Kernel = fn(Level, &[f64], &mut [f64]);
    let f32_kernels: [(&str, F32Kernel); 4] = [
        ("exp", exp_log::exp_f32_at),
        ("log", exp_log::log_f32_at),
        ("tanh", exp_log::tanh_f32_at),
        ("sigmoid", exp_log::sigmoid_f32_at),
    ];
    let f64_kernels: [(&str, F64Kernel); 4] = [
        ("exp", exp_log::exp_f64_at),
        ("log", exp_log::log_f64_at),
        ("tanh", exp_log::tanh_f64_at),
        ("sigmoid", exp_log::sigmoid_f64_at),
    ];
    let mut group = c.benchmark_group("kernels");
    group.warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_millis(600));
    for power in [12, 16, 20] {
        let len = 1usize << power;
        // Positive values in (0, 8): in every function's ordinary range (and log's domain).
        let x32: Vec<f32> =
            (0..len).map(|i| 8.0 * ((i * 7919 % len) as f32 + 0.5) / len as f32).collect();
        let x64: Vec<f64> = x32.iter().map(|&v| v as f64).collect();
        let (mut out32, mut out64) = (vec![0.0f32; len], vec![0.0f64; len]);
        for level in Level::available() {
            group.throughput(Throughput::Bytes((2 * 4 * len) as u64));
            for (name, kernel) in f32_kernels {
                let id =
                    BenchmarkId::new(format!("{name}/f32/{}", level.name()), format!("2^{power}"));
                group.bench_function(id, |b| b.iter(|| kernel(level, black_box(&x32), &mut out32)));
            }
            group.throughput(Throughput::Bytes((2 * 8 * len) as u64));
            for (name, kernel) in f64_kernels {
                let id =
                    BenchmarkId::new(format!("{name}/f64/{}", level.name()), format!("2^{power}"));
                group.bench_function(id, |b| b.iter(|| kernel(level, black_box(&x64), &mut out64)));
            }
        }
    }
    group.finish();
}

criterion_group!(benches, matmul, elementwise, reductions, mlp, kernels);
criterion_main!(benches);
