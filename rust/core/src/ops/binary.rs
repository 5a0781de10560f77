//! Elementwise functions of two tensors (with NumPy broadcasting), comparisons, `where`,
//! `clamp` and dtype casts.
//!
//! Rules compute gradients at the broadcast output shape; the engine sums them back to each
//! input's shape, so no rule here deals with broadcasting.

use crate::array::{broadcast_shapes, Array, DType, Element};
use crate::error::{Error, Result};
use crate::graph::{record, sum_tangents, Backward, SavedInfo, SavedTensor, VjpContext};
use crate::parallel::{self, Cost};
use crate::tensor::Tensor;
use crate::{map_array, zip_array};
use ndarray::{ArcArray, ArrayD, IxDyn, Zip};

/// The differentiable elementwise functions of two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// `a + b`
    Add,
    /// `a - b` (a primitive rather than `a + (-b)`: one pass, one temporary)
    Sub,
    /// `a * b`
    Mul,
    /// `a / b` (a primitive for the same reason as `Sub`)
    Div,
    /// `a ** b`
    Pow,
    /// elementwise maximum; ties split the gradient evenly
    Maximum,
    /// elementwise minimum; ties split the gradient evenly
    Minimum,
}

impl Binary {
    /// Work per element, for the parallel split.
    fn cost(self) -> Cost {
        if self == Binary::Pow {
            Cost::Heavy
        } else {
            Cost::Light
        }
    }

    /// The op's name in messages.
    pub fn op_name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Pow => "pow",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
        }
    }

    fn backward_name(self) -> &'static str {
        match self {
            Binary::Add => "AddBackward",
            Binary::Sub => "SubBackward",
            Binary::Mul => "MulBackward",
            Binary::Div => "DivBackward",
            Binary::Pow => "PowBackward",
            Binary::Maximum => "MaximumBackward",
            Binary::Minimum => "MinimumBackward",
        }
    }

    #[inline(always)]
    fn apply<T: Element>(self, a: T, b: T) -> T {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Pow => a.powf(b),
            // NaN wins, as in NumPy and PyTorch.
            Binary::Maximum if a.is_nan() || b.is_nan() => T::nan(),
            Binary::Maximum => a.max(b),
            Binary::Minimum if a.is_nan() || b.is_nan() => T::nan(),
            Binary::Minimum => a.min(b),
        }
    }

    /// Which inputs the VJP reads, given which inputs need a gradient.
    fn saves(self, needs: [bool; 2]) -> [bool; 2] {
        match self {
            Binary::Add | Binary::Sub => [false, false],
            Binary::Mul => [needs[1], needs[0]],
            Binary::Div => [needs[1], true],
            Binary::Pow | Binary::Maximum | Binary::Minimum => [true, true],
        }
    }

    /// `[∂L/∂a, ∂L/∂b]` at the broadcast shape, for the inputs in `needs`.
    fn vjp(
        self,
        grad: &Tensor,
        a: Option<&Tensor>,
        b: Option<&Tensor>,
        needs: [bool; 2],
    ) -> Result<[Option<Tensor>; 2]> {
        let (a, b) = (a.cloned(), b.cloned());
        let when = |need: bool, f: &dyn Fn() -> Result<Tensor>| need.then(f).transpose();
        let (x, y) = (|| a.clone().expect("saved"), || b.clone().expect("saved"));
        Ok(match self {
            // d(a+b)/da = 1, d(a+b)/db = 1
            Binary::Add => {
                [when(needs[0], &|| Ok(grad.clone()))?, when(needs[1], &|| Ok(grad.clone()))?]
            }
            // d(a-b)/da = 1, d(a-b)/db = -1
            Binary::Sub => [when(needs[0], &|| Ok(grad.clone()))?, when(needs[1], &|| grad.neg())?],
            // d(ab)/da = b, d(ab)/db = a
            Binary::Mul => {
                [when(needs[0], &|| grad.mul(&y()))?, when(needs[1], &|| grad.mul(&x()))?]
            }
            // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
            Binary::Div => [
                when(needs[0], &|| grad.div(&y()))?,
                when(needs[1], &|| grad.mul(&x())?.div(&y().mul(&y())?)?.neg())?,
            ],
            // d(a^b)/da = b a^(b-1), taken as 0 where b = 0 (0 · 0^-1 would be NaN);
            // d(a^b)/db = a^b ln a, taken as 0 where a = 0 (both as PyTorch)
            Binary::Pow => [
                when(needs[0], &|| {
                    let (a, b) = (x(), y());
                    let slope = b.mul(&a.pow(&b.sub_scalar(1.0)?)?)?;
                    let constant = b.eq_(&b.zeros_like())?;
                    grad.mul(&slope.zeros_like().where_(&constant, &slope)?)
                })?,
                when(needs[1], &|| {
                    let a = x();
                    let zero = a.eq_(&a.zeros_like())?;
                    let safe_log_a = a.ones_like().where_(&zero, &a)?.log()?;
                    grad.mul(&a.pow(&y())?.mul(&safe_log_a)?)
                })?,
            ],
            // 1 where a wins, 1/2 on ties: the symmetric subgradient.
            Binary::Maximum | Binary::Minimum => {
                let wins = if self == Binary::Maximum { x().gt(&y())? } else { x().lt(&y())? };
                let half_ties = x().eq_(&y())?.mul_scalar(0.5)?;
                let share_a = wins.add(&half_ties)?;
                [
                    when(needs[0], &|| grad.mul(&share_a))?,
                    when(needs[1], &|| grad.mul(&share_a.rsub_scalar(1.0)?))?,
                ]
            }
        })
    }
}

/// `f` over every element of `a`: a slice loop (split over the pool when large) for
/// contiguous data, `mapv` otherwise.
pub(crate) fn map_elements<T: Element>(
    a: &ArcArray<T, IxDyn>,
    cost: Cost,
    f: impl Fn(T) -> T + Sync + Send,
) -> ArrayD<T> {
    match a.as_slice() {
        Some(x) => ArrayD::from_shape_vec(a.raw_dim(), parallel::map_slice(x, cost, f))
            .expect("same shape"),
        None => a.mapv(f),
    }
}

/// Applies `f` elementwise over the NumPy broadcast of `a` and `b`.
pub(crate) fn zip_broadcast<T: Element>(
    op: &'static str,
    a: &ArcArray<T, IxDyn>,
    b: &ArcArray<T, IxDyn>,
    cost: Cost,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Result<ArrayD<T>> {
    // Fast paths (plain slice loops the compiler vectorises, split over the pool when large;
    // Zip over IxDyn is several times slower): equal contiguous shapes, and a one-element
    // operand such as a Python scalar.
    if a.shape() == b.shape() {
        if let (Some(x), Some(y)) = (a.as_slice(), b.as_slice()) {
            let values = parallel::zip_slices(x, y, cost, f);
            return Ok(ArrayD::from_shape_vec(a.raw_dim(), values).expect("same shape"));
        }
        return Ok(Zip::from(a).and(b).map_collect(|&x, &y| f(x, y)));
    }
    let out_shape = broadcast_shapes(op, a.shape(), b.shape())?;
    if b.len() == 1 && out_shape == a.shape() {
        let q = *b.iter().next().expect("one element");
        return Ok(map_elements(a, cost, |p| f(p, q)));
    }
    if a.len() == 1 && out_shape == b.shape() {
        let p = *a.iter().next().expect("one element");
        return Ok(map_elements(b, cost, |q| f(p, q)));
    }
    let shape = IxDyn(&out_shape);
    let (av, bv) = (a.broadcast(shape.clone()), b.broadcast(shape));
    let (av, bv) = (av.expect("broadcast checked"), bv.expect("broadcast checked"));
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f(x, y)))
}

struct BinaryBackward {
    op: Binary,
    a: Option<SavedTensor>,
    b: Option<SavedTensor>,
}

impl Backward for BinaryBackward {
    fn name(&self) -> &str {
        self.op.backward_name()
    }

    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let a = self.a.as_ref().map(|s| s.get(self.name())).transpose()?;
        let b = self.b.as_ref().map(|s| s.get(self.name())).transpose()?;
        let needs = [ctx.needs_input_grad(0), ctx.needs_input_grad(1)];
        Ok(self.op.vjp(grad, a.as_ref(), b.as_ref(), needs)?.into())
    }

    fn jvp(
        &self,
        inputs: &[&Tensor],
        _: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Result<Option<Tensor>> {
        // Elementwise again: each input's Jacobian is diagonal, so its tangent goes through
        // that input's VJP rule; the two contributions add.
        sum_tangents(tangents.iter().enumerate().filter_map(|(i, t)| {
            let t = t.as_ref()?;
            let needs = [i == 0, i == 1];
            Some(
                self.op
                    .vjp(t, Some(inputs[0]), Some(inputs[1]), needs)
                    .map(|[ga, gb]| if i == 0 { ga } else { gb }.expect("requested above")),
            )
        }))
    }

    fn saved(&self) -> Vec<SavedInfo> {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::info).collect()
    }

    fn saved_bytes(&self) -> usize {
        [&self.a, &self.b].into_iter().flatten().map(SavedTensor::nbytes).sum()
    }
}

/// The elementwise comparisons; their results are constant 0/1 masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Compare {
    #[inline(always)]
    fn holds<T: Element>(self, a: T, b: T) -> bool {
        match self {
            Compare::Lt => a < b,
            Compare::Le => a <= b,
            Compare::Gt => a > b,
            Compare::Ge => a >= b,
            Compare::Eq => a == b,
            Compare::Ne => a != b,
        }
    }
}

/// Casts both operands to their promoted dtype.
fn promote(a: &Tensor, b: &Tensor) -> Result<(Tensor, Tensor)> {
    let dtype = a.dtype().promote(b.dtype());
    Ok((a.to_dtype(dtype)?, b.to_dtype(dtype)?))
}

impl Tensor {
    /// Applies an elementwise binary op with broadcasting and dtype promotion.
    pub fn binary(&self, other: &Tensor, op: Binary) -> Result<Tensor> {
        let (a, b) = promote(self, other)?;
        let name = op.op_name();
        // One monomorphic loop per op: the match runs once, not per element.
        macro_rules! each {
            ($($f:ident),*) => {
                match op {
                    $(Binary::$f => zip_array!(name, &a.array(), &b.array(), x, y =>
                        zip_broadcast(name, x, y, op.cost(), |p, q| Binary::$f.apply(p, q))?),)*
                }
            };
        }
        let out = each!(Add, Sub, Mul, Div, Pow, Maximum, Minimum);
        record(&[&a, &b], out, || {
            let saves = op.saves([a.requires_grad(), b.requires_grad()]);
            Box::new(BinaryBackward {
                op,
                a: saves[0].then(|| SavedTensor::new(&a, "input 0")),
                b: saves[1].then(|| SavedTensor::new(&b, "input 1")),
            })
        })
    }

    /// `self + other`
    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Add)
    }
    /// `self - other`
    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Sub)
    }
    /// `self * other`
    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Mul)
    }
    /// `self / other`
    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Div)
    }
    /// `self ** other`
    pub fn pow(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Pow)
    }
    /// Elementwise maximum.
    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Maximum)
    }
    /// Elementwise minimum.
    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(other, Binary::Minimum)
    }

    /// A 0-d constant of this tensor's dtype (how Python scalars enter ops).
    pub fn scalar_like(&self, value: f64) -> Tensor {
        Tensor::scalar(value, self.dtype())
    }
    /// `self + value`
    pub fn add_scalar(&self, value: f64) -> Result<Tensor> {
        self.add(&self.scalar_like(value))
    }
    /// `self - value`
    pub fn sub_scalar(&self, value: f64) -> Result<Tensor> {
        self.sub(&self.scalar_like(value))
    }
    /// `value - self`
    pub fn rsub_scalar(&self, value: f64) -> Result<Tensor> {
        self.scalar_like(value).sub(self)
    }
    /// `self * value`
    pub fn mul_scalar(&self, value: f64) -> Result<Tensor> {
        self.mul(&self.scalar_like(value))
    }
    /// `self / value`
    pub fn div_scalar(&self, value: f64) -> Result<Tensor> {
        self.div(&self.scalar_like(value))
    }
    /// `self ** value`
    pub fn pow_scalar(&self, value: f64) -> Result<Tensor> {
        self.pow(&self.scalar_like(value))
    }

    /// Zeros with this tensor's shape and dtype (a constant).
    pub fn zeros_like(&self) -> Tensor {
        Tensor::full(&self.shape(), 0.0, self.dtype()).expect("shape of an existing tensor")
    }
    /// Ones with this tensor's shape and dtype (a constant).
    pub fn ones_like(&self) -> Tensor {
        Tensor::full(&self.shape(), 1.0, self.dtype()).expect("shape of an existing tensor")
    }

    /// Elementwise comparison: a constant float mask (1 where it holds) in the promoted dtype.
    pub fn compare(&self, other: &Tensor, op: Compare) -> Result<Tensor> {
        let (a, b) = promote(self, other)?;
        macro_rules! each {
            ($($f:ident),*) => {
                match op {
                    $(Compare::$f => zip_array!("compare", &a.array(), &b.array(), x, y =>
                        zip_broadcast("compare", x, y, Cost::Light, |p, q| {
                            if Compare::$f.holds(p, q) { Element::of(1.0) } else { Element::of(0.0) }
                        })?),)*
                }
            };
        }
        Ok(Tensor::from_array(each!(Lt, Le, Gt, Ge, Eq, Ne)))
    }
    /// `self < other` as a mask.
    pub fn lt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Lt)
    }
    /// `self <= other` as a mask.
    pub fn le(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Le)
    }
    /// `self > other` as a mask.
    pub fn gt(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Gt)
    }
    /// `self >= other` as a mask.
    pub fn ge(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Ge)
    }
    /// `self == other` as a mask.
    pub fn eq_(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Eq)
    }
    /// `self != other` as a mask.
    pub fn ne(&self, other: &Tensor) -> Result<Tensor> {
        self.compare(other, Compare::Ne)
    }

    /// Picks `self` where `cond` is nonzero and `other` elsewhere, broadcasting all three.
    pub fn where_(&self, cond: &Tensor, other: &Tensor) -> Result<Tensor> {
        let (a, b) = promote(self, other)?;
        let cond_f64 = cond.array().cast(DType::F64);
        let Array::F64(c) = &cond_f64 else { unreachable!("cast to f64") };
        let shape = broadcast_shapes("where", &a.shape(), &b.shape())?;
        let shape = broadcast_shapes("where", c.shape(), &shape)?;
        let cv = c.broadcast(IxDyn(&shape)).expect("broadcast checked");
        let out = zip_array!("where", &a.array(), &b.array(), x, y => {
            let xv = x.broadcast(IxDyn(&shape)).expect("broadcast checked");
            let yv = y.broadcast(IxDyn(&shape)).expect("broadcast checked");
            Zip::from(&cv).and(&xv).and(&yv).map_collect(|&m, &p, &q| if m != 0.0 { p } else { q })
        });
        let mask = Tensor::from_array(cond_f64);
        record(&[&a, &b], out, || Box::new(WhereBackward { cond: mask }))
    }

    /// Clamps into `[min, max]` (either bound optional); the gradient passes where
    /// `min <= x <= max`, bounds included (as PyTorch).
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        if min.is_some_and(f64::is_nan) || max.is_some_and(f64::is_nan) {
            return Err(Error::value("clamp", "bounds must not be NaN"));
        }
        let (lo, hi) = (min.unwrap_or(f64::NEG_INFINITY), max.unwrap_or(f64::INFINITY));
        // min(max(x, lo), hi): with lo > hi everything becomes hi, as in NumPy and PyTorch.
        let out = map_array!(&self.array(), a => a.mapv(|v| {
            let v = if v < Element::of(lo) { Element::of(lo) } else { v };
            if v > Element::of(hi) { Element::of(hi) } else { v }
        }));
        record(&[self], out, || {
            Box::new(ClampBackward { x: SavedTensor::new(self, "input"), lo, hi })
        })
    }

    /// Converts to `dtype`, recording the cast (its VJP casts back).
    pub fn to_dtype(&self, dtype: DType) -> Result<Tensor> {
        let from = self.dtype();
        if from == dtype {
            return Ok(self.clone());
        }
        record(&[self], self.array().cast(dtype), || Box::new(CastBackward { from }))
    }
}

struct WhereBackward {
    cond: Tensor,
}

impl Backward for WhereBackward {
    fn name(&self) -> &str {
        "WhereBackward"
    }
    fn vjp(&self, grad: &Tensor, ctx: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        // d/da = cond, d/db = 1 - cond
        let zero = grad.scalar_like(0.0);
        Ok(vec![
            ctx.needs_input_grad(0).then(|| grad.where_(&self.cond, &zero)).transpose()?,
            ctx.needs_input_grad(1).then(|| zero.where_(&self.cond, grad)).transpose()?,
        ])
    }
    fn jvp(
        &self,
        _: &[&Tensor],
        result: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Result<Option<Tensor>> {
        let zero = result.scalar_like(0.0);
        let pick = |t: &Option<Tensor>| t.clone().unwrap_or_else(|| zero.clone());
        Ok(Some(pick(&tangents[0]).where_(&self.cond, &pick(&tangents[1]))?))
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![SavedInfo::of("condition", &self.cond.array())]
    }
}

struct ClampBackward {
    x: SavedTensor,
    lo: f64,
    hi: f64,
}

impl Backward for ClampBackward {
    fn name(&self) -> &str {
        "ClampBackward"
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        // d clamp(x)/dx = 1 where lo <= x <= hi, else 0
        let x = self.x.get("ClampBackward")?;
        Ok(vec![Some(grad.mul(&self.inside(&x))?)])
    }
    fn jvp(
        &self,
        inputs: &[&Tensor],
        _: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Result<Option<Tensor>> {
        tangents[0].as_ref().map(|t| t.mul(&self.inside(inputs[0]))).transpose()
    }
    fn saved(&self) -> Vec<SavedInfo> {
        vec![self.x.info()]
    }
}

impl ClampBackward {
    /// 1 where `lo <= x <= hi`, else 0 (a constant).
    fn inside(&self, x: &Tensor) -> Tensor {
        let (lo, hi) = (self.lo, self.hi);
        Tensor::from_array(map_array!(&x.array(), a => a.mapv(|v| {
            if v >= Element::of(lo) && v <= Element::of(hi) { Element::of(1.0) } else { Element::of(0.0) }
        })))
    }
}

struct CastBackward {
    from: DType,
}

impl Backward for CastBackward {
    fn name(&self) -> &str {
        "ToCopyBackward"
    }
    fn vjp(&self, grad: &Tensor, _: &VjpContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(grad.to_dtype(self.from)?)])
    }
    fn jvp(
        &self,
        _: &[&Tensor],
        result: &Tensor,
        tangents: &[Option<Tensor>],
    ) -> Result<Option<Tensor>> {
        tangents[0].as_ref().map(|t| t.to_dtype(result.dtype())).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine;
    use crate::testutil::{assert_close, leaf, values};

    fn grads(
        a: &Tensor,
        b: &Tensor,
        f: impl Fn(&Tensor, &Tensor) -> Result<Tensor>,
    ) -> (Vec<f64>, Vec<f64>) {
        let y = f(a, b).unwrap().sum(None, false).unwrap();
        let g = engine::grad(&[y], &[None], &[a.clone(), b.clone()], false, false, false).unwrap();
        (values(g[0].as_ref().unwrap()), values(g[1].as_ref().unwrap()))
    }

    #[test]
    fn product_quotient_and_power_rules() {
        let a = leaf(&[2], &[2.0, 3.0], true);
        let b = leaf(&[2], &[5.0, 0.5], true);
        // d(ab)/da = b, d(ab)/db = a
        let (ga, gb) = grads(&a, &b, Tensor::mul);
        assert_close(&ga, &[5.0, 0.5], 0.0);
        assert_close(&gb, &[2.0, 3.0], 0.0);
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        let (ga, gb) = grads(&a, &b, Tensor::div);
        assert_close(&ga, &[0.2, 2.0], 1e-15);
        assert_close(&gb, &[-2.0 / 25.0, -12.0], 1e-15);
        // d(a^b)/da = b a^(b-1), d(a^b)/db = a^b ln a
        let (ga, gb) = grads(&a, &b, Tensor::pow);
        assert_close(&ga, &[5.0 * 16.0, 0.5 / 3f64.sqrt()], 1e-14);
        assert_close(&gb, &[32.0 * 2f64.ln(), 3f64.sqrt() * 3f64.ln()], 1e-14);
    }

    #[test]
    fn broadcast_gradients_are_summed_back_by_the_engine() {
        // a: (2, 1), b: (3,) -> out (2, 3); d sum(a + b)/da = 3 each, /db = 2 each
        let a = leaf(&[2, 1], &[1.0, 2.0], true);
        let b = leaf(&[3], &[1.0, 2.0, 3.0], true);
        let (ga, gb) = grads(&a, &b, Tensor::add);
        assert_close(&ga, &[3.0, 3.0], 0.0);
        assert_close(&gb, &[2.0, 2.0, 2.0], 0.0);
    }

    #[test]
    fn maximum_splits_ties_and_clamp_includes_bounds() {
        let a = leaf(&[3], &[1.0, 2.0, 3.0], true);
        let b = leaf(&[3], &[2.0, 2.0, 2.0], true);
        let (ga, gb) = grads(&a, &b, Tensor::maximum);
        assert_close(&ga, &[0.0, 0.5, 1.0], 0.0);
        assert_close(&gb, &[1.0, 0.5, 0.0], 0.0);
        let g = crate::testutil::grad_of_sum(&a, |x| x.clamp(Some(2.0), Some(3.0)));
        assert_close(&g, &[0.0, 1.0, 1.0], 0.0);
    }

    #[test]
    fn mixed_dtypes_promote_and_gradients_keep_the_input_dtype() {
        let a = Tensor::full(&[2], 1.5, DType::F32).unwrap();
        a.set_requires_grad(true).unwrap();
        let b = leaf(&[2], &[2.0, 4.0], false);
        let y = a.mul(&b).unwrap();
        assert_eq!(y.dtype(), DType::F64);
        engine::backward(&[y.sum(None, false).unwrap()], &[None], false, false).unwrap();
        let g = a.grad().unwrap();
        assert_eq!(g.dtype(), DType::F32);
        assert_close(&values(&g), &[2.0, 4.0], 0.0);
    }

    #[test]
    fn broadcast_mismatch_names_both_shapes() {
        let a = leaf(&[2, 3], &[0.0; 6], false);
        let b = leaf(&[4], &[0.0; 4], false);
        let e = a.add(&b).unwrap_err().to_string();
        assert!(e.contains("(2, 3)") && e.contains("(4,)"), "{e}");
    }
}
