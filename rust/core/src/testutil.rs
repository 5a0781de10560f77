//! Small helpers for the unit tests next to the maths.

use crate::{engine, Array, DType, Tensor};

/// A float64 leaf from values and a shape.
pub fn leaf(shape: &[usize], values: &[f64], requires_grad: bool) -> Tensor {
    let t = Tensor::from_array(Array::from_f64_vec(shape, values.to_vec(), DType::F64).unwrap());
    t.set_requires_grad(requires_grad).unwrap();
    t
}

/// The values of a tensor, row-major.
pub fn values(t: &Tensor) -> Vec<f64> {
    t.array().to_f64_vec()
}

/// `d sum(f(x)) / dx` by backward.
pub fn grad_of_sum(x: &Tensor, f: impl Fn(&Tensor) -> crate::Result<Tensor>) -> Vec<f64> {
    let y = f(x).unwrap().sum(None, false).unwrap();
    let g = engine::grad(&[y], &[None], &[x.clone()], false, false, false).unwrap();
    values(g[0].as_ref().unwrap())
}

/// Asserts two float vectors agree to `tol`.
pub fn assert_close(got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ: {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "element {i}: got {g}, want {w}\n{got:?}\n{want:?}"
        );
    }
}
