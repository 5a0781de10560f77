//! Matrix products: `out = a · b + beta · out` over 2-D views of any strides.
//!
//! Three tiers. Products of at most 16³ multiply-adds run [`small_gemm`], a row-accumulating
//! loop (packing costs more than the arithmetic there). Larger ones run faer's sequential
//! product (`faer::linalg::matmul`, `Par::Seq`), which dispatches at run time to AVX-512,
//! AVX2+FMA or NEON kernels and packs transposed operands itself; measured against
//! matrixmultiply (no AVX-512 kernels) and the `gemm` crate in `docs/performance.md`. From
//! [`PARALLEL_MIN_MACS`] the longer side of `out` is split into one panel per thread on
//! tapegrad's own pool, each panel computed by the same sequential call.
//!
//! Determinism: faer's sequential product sums each output element over `k` in an order that
//! depends on `k` and the kernel, not on how many columns or rows the call covers, so a panel
//! gets the bits the whole product would; the tests check this for 1 to 4 panels on shapes
//! with ragged edges, narrow panels and long `k`.

use crate::array::Element;
use crate::parallel;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};
use std::any::TypeId;

/// Products with fewer multiply-adds than this run on the calling thread. A worker that has
/// gone to sleep between two ops takes about 100 µs to wake on the 2-core benchmark VM, so a
/// split pays only when each half takes longer than that (measured on the training steps).
pub const PARALLEL_MIN_MACS: usize = 1 << 23;

/// Products with at most this many multiply-adds (16³) are computed by [`small_gemm`].
pub const SMALL_MAX_MACS: usize = 4096;

/// `out = a · b + beta · out` for tiny products: each row of `out` accumulates
/// `a[i, p] · b[p, :]` over `p` in turn (contiguous rows of `b` when it is row-major, so the
/// inner loop vectorises), then adds `beta · out`.
fn small_gemm<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut out: ArrayViewMut2<'_, T>,
) {
    let mut acc = vec![T::zero(); b.ncols()];
    for (a_row, mut out_row) in a.rows().into_iter().zip(out.rows_mut()) {
        acc.iter_mut().for_each(|v| *v = T::zero());
        for (&x, b_row) in a_row.iter().zip(b.rows()) {
            match b_row.as_slice() {
                Some(b_row) => acc.iter_mut().zip(b_row).for_each(|(v, &y)| *v = *v + x * y),
                None => acc.iter_mut().zip(b_row).for_each(|(v, &y)| *v = *v + x * y),
            }
        }
        for (o, &v) in out_row.iter_mut().zip(&acc) {
            *o = if beta == T::zero() { v } else { v + beta * *o };
        }
    }
}

/// faer's sequential product for one concrete float type `E` (`f32` or `f64`), `T` being `E`.
fn faer_gemm<T: Element, E: faer::traits::ComplexField + Copy + 'static>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut out: ArrayViewMut2<'_, T>,
) {
    assert_eq!(TypeId::of::<T>(), TypeId::of::<E>(), "faer_gemm called with T != E");
    let ((m, k), n) = (a.dim(), b.ncols());
    let accum = if beta == T::zero() {
        faer::Accum::Replace
    } else {
        if beta != T::one() {
            out.mapv_inplace(|v| v * beta);
        }
        faer::Accum::Add
    };
    let (sa, sb) = (a.strides(), b.strides());
    let (so0, so1) = (out.strides()[0], out.strides()[1]);
    // SAFETY: `T` and `E` are the same type (checked above through `TypeId`; `T: 'static`), so
    // the pointer casts are identities. Each pointer, with the dimensions and element strides
    // of its ndarray view, addresses exactly that view's elements, which are initialised and
    // live in one allocation for the borrow's lifetime. `out` is a mutable view, which ndarray
    // guarantees has no two elements at one address, and while it is borrowed mutably no
    // other reference to its elements exists, so `a` and `b` (shared views, which may repeat
    // elements through zero strides: faer only reads them) do not alias it.
    let (lhs, rhs, dst) = unsafe {
        (
            faer::MatRef::<E>::from_raw_parts(a.as_ptr().cast::<E>(), m, k, sa[0], sa[1]),
            faer::MatRef::<E>::from_raw_parts(b.as_ptr().cast::<E>(), k, n, sb[0], sb[1]),
            faer::MatMut::<E>::from_raw_parts_mut(out.as_mut_ptr().cast::<E>(), m, n, so0, so1),
        )
    };
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, E::one_impl(), faer::Par::Seq);
}

/// The product on the calling thread: [`small_gemm`] or faer.
fn sequential<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut out: ArrayViewMut2<'_, T>,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        // An empty sum: out = beta · out (and exactly 0 for beta = 0, as NaN · 0 is not).
        return out.mapv_inplace(|v| if beta == T::zero() { T::zero() } else { beta * v });
    }
    if m.saturating_mul(n).saturating_mul(k) <= SMALL_MAX_MACS {
        return small_gemm(a, b, beta, out);
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        faer_gemm::<T, f32>(a, b, beta, out)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        faer_gemm::<T, f64>(a, b, beta, out)
    } else {
        ndarray::linalg::general_mat_mul(T::one(), &a, &b, beta, &mut out)
    }
}

/// The product split into `parts` panels along the longer side of `out` (multiples of 16
/// wide), run on the pool. Every element's value is the same whatever `parts` is.
fn in_panels<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    mut out: ArrayViewMut2<'_, T>,
    parts: usize,
) {
    let (m, n) = out.dim();
    if parts <= 1 {
        return sequential(a, b, beta, out);
    }
    if n >= m {
        let width = n.div_ceil(parts).next_multiple_of(16);
        let panels: Vec<_> = out
            .axis_chunks_iter_mut(Axis(1), width)
            .zip(b.axis_chunks_iter(Axis(1), width))
            .collect();
        parallel::for_each(panels, |(out, b)| sequential(a, b, beta, out));
    } else {
        let height = m.div_ceil(parts).next_multiple_of(16);
        let panels: Vec<_> = out
            .axis_chunks_iter_mut(Axis(0), height)
            .zip(a.axis_chunks_iter(Axis(0), height))
            .collect();
        parallel::for_each(panels, |(out, a)| sequential(a, b, beta, out));
    }
}

/// `out = a · b + beta · out` for 2-D views of any strides (transposes are strides, never
/// copies): the one matrix-product kernel. Panics if the shapes do not chain.
pub fn gemm<T: Element>(
    a: ArrayView2<'_, T>,
    b: ArrayView2<'_, T>,
    beta: T,
    out: ArrayViewMut2<'_, T>,
) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(
        k == k2 && out.dim() == (m, n),
        "gemm: shapes {:?} · {:?} -> {:?}",
        a.dim(),
        b.dim(),
        out.dim()
    );
    let macs = m.saturating_mul(n).saturating_mul(k);
    let parts = if macs < PARALLEL_MIN_MACS { 1 } else { parallel::parts(m.max(n), 32) };
    in_panels(a, b, beta, out, parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder};

    fn filled<T: Element>(shape: (usize, usize), seed: usize) -> Array2<T> {
        Array2::from_shape_fn(shape, |(i, j)| {
            T::of((((i * 7919 + j * 104_729 + seed) % 2003) as f64) / 1001.0 - 1.0)
        })
    }

    /// A naive triple loop in f64 (the reference).
    fn naive(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        Array2::from_shape_fn((m, n), |(i, j)| (0..k).map(|p| a[[i, p]] * b[[p, j]]).sum())
    }

    fn check_layouts<T: Element>(m: usize, k: usize, n: usize, tol: f64) {
        let (a, b) = (filled::<T>((m, k), 1), filled::<T>((k, n), 2));
        let (a64, b64) = (a.mapv(|v| v.to_f64().unwrap()), b.mapv(|v| v.to_f64().unwrap()));
        let want = naive(&a64, &b64);
        // Row-major, transposed (column-major) and both, as the three layer products see them.
        let a_t = a.t().as_standard_layout().into_owned();
        let b_t = b.t().as_standard_layout().into_owned();
        let operands = [(a.view(), b.view()), (a_t.t(), b.view()), (a.view(), b_t.t())];
        for (av, bv) in operands {
            for beta in [0.0, 1.0, 0.5] {
                let init = filled::<T>((m, n), 3);
                let mut out = init.clone();
                gemm(av, bv, T::of(beta), out.view_mut());
                for ((i, j), &got) in out.indexed_iter() {
                    let want = want[[i, j]] + beta * init[[i, j]].to_f64().unwrap();
                    let err = (got.to_f64().unwrap() - want).abs();
                    assert!(err <= tol * (1.0 + want.abs()), "({m},{k},{n}) β={beta} at ({i},{j})");
                }
            }
        }
    }

    #[test]
    fn products_match_a_naive_loop_in_every_layout_and_beta() {
        for (m, k, n) in
            [(1, 1, 1), (3, 5, 2), (16, 16, 16), (17, 33, 9), (64, 100, 70), (5, 300, 1)]
        {
            check_layouts::<f32>(m, k, n, 1e-4);
            check_layouts::<f64>(m, k, n, 1e-12);
        }
    }

    #[test]
    fn empty_dimensions_give_beta_times_out() {
        let (a, b) = (Array2::<f64>::zeros((3, 0)), Array2::<f64>::zeros((0, 4)));
        let mut out = Array2::from_elem((3, 4), f64::NAN);
        gemm(a.view(), b.view(), 0.0, out.view_mut());
        assert!(out.iter().all(|&v| v == 0.0));
        let mut out = Array2::from_elem((3, 4), 2.0);
        gemm(a.view(), b.view(), 0.5, out.view_mut());
        assert!(out.iter().all(|&v| v == 1.0));
        let mut none = Array2::<f32>::zeros((0, 4));
        gemm(
            Array2::<f32>::zeros((0, 5)).view(),
            Array2::zeros((5, 4)).view(),
            0.0,
            none.view_mut(),
        );
    }

    fn panels_agree<T: Element + Bits>(m: usize, k: usize, n: usize) {
        let (a, b) = (filled::<T>((m, k), 4), filled::<T>((k, n), 5));
        // A column-major copy of b: the dY·Wᵀ layout.
        let b_f = {
            let mut f = Array2::<T>::zeros((k, n).f());
            f.assign(&b);
            f
        };
        for bv in [b.view(), b_f.view()] {
            let mut whole = Array2::<T>::zeros((m, n));
            in_panels(a.view(), bv, T::zero(), whole.view_mut(), 1);
            for parts in 2..=4 {
                let mut split = Array2::<T>::zeros((m, n));
                in_panels(a.view(), bv, T::zero(), split.view_mut(), parts);
                let same =
                    whole.iter().zip(&split).all(|(p, q)| p.to_bits_u64() == q.to_bits_u64());
                assert!(same, "({m},{k},{n}) in {parts} panels differs from the whole product");
            }
        }
    }

    trait Bits {
        fn to_bits_u64(&self) -> u64;
    }
    impl Bits for f32 {
        fn to_bits_u64(&self) -> u64 {
            self.to_bits() as u64
        }
    }
    impl Bits for f64 {
        fn to_bits_u64(&self) -> u64 {
            self.to_bits()
        }
    }

    /// Results must not depend on the thread count: a panel gets the whole product's bits.
    #[test]
    fn panels_give_the_whole_products_bits() {
        // Ragged edges, a narrow last panel, a long k with a tiny output, an MLP shape.
        for (m, k, n) in
            [(40, 3000, 50), (130, 257, 515), (64, 784, 256), (300, 70, 33), (17, 1100, 600)]
        {
            panels_agree::<f32>(m, k, n);
            panels_agree::<f64>(m, k, n);
        }
    }
}
