//! PyTorch's type promotion: which dtype an op on several operands computes in.
//!
//! Tensors of one or more dimensions decide the dtype; a 0-d tensor or a Python number only
//! counts when it belongs to a higher category (bool < integer < floating) than every
//! dimensioned operand, exactly as `torch.result_type` does: `int64 tensor + 2.5` is
//! `float32` (the default dtype), `uint8 tensor + 1000` stays `uint8`, `int32 tensor +
//! float64 0-d tensor` is `float64`.

use crate::array::{default_float_dtype, Category, DType};

/// One operand as promotion sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A tensor with at least one dimension.
    Tensor(DType),
    /// A 0-d tensor (not a Python number).
    ZeroDim(DType),
    /// A Python number: `Bool` for a bool, `I64` for an int, a floating dtype for a float
    /// (which counts as the default dtype).
    Number(DType),
}

impl Operand {
    /// A tensor operand, placed by its number of dimensions.
    pub fn tensor(dtype: DType, ndim: usize) -> Operand {
        if ndim == 0 {
            Operand::ZeroDim(dtype)
        } else {
            Operand::Tensor(dtype)
        }
    }
}

/// `promote_types` over several dtypes, `None` for none.
fn promote_all(dtypes: impl Iterator<Item = DType>) -> Option<DType> {
    dtypes.reduce(DType::promote)
}

/// Combines a higher-priority result with a lower-priority one: the lower counts only when
/// its category is higher (PyTorch's `combine_categories`).
fn combine(higher: Option<DType>, lower: Option<DType>) -> Option<DType> {
    match (higher, lower) {
        (None, lower) => lower,
        (Some(h), None) => Some(h),
        (Some(h), Some(l)) if l.category() > h.category() => {
            // bool with an integer promotes as usual; integer with a float takes the float
            // (the wider of the two when both were floats is not reachable here).
            Some(if h.category() == Category::Bool || l.is_floating_point() {
                h.promote(l)
            } else {
                h
            })
        }
        (Some(h), Some(_)) => Some(h),
    }
}

/// The dtype `torch.result_type` gives for these operands (`None` for an empty list).
pub fn result_type(operands: &[Operand]) -> Option<DType> {
    let default = default_float_dtype();
    let dim = promote_all(operands.iter().filter_map(|o| match o {
        Operand::Tensor(d) => Some(*d),
        _ => None,
    }));
    let zero = promote_all(operands.iter().filter_map(|o| match o {
        Operand::ZeroDim(d) => Some(*d),
        _ => None,
    }));
    let number = promote_all(operands.iter().filter_map(|o| match o {
        Operand::Number(d) if d.is_floating_point() => Some(default),
        Operand::Number(d) => Some(*d),
        _ => None,
    }));
    combine(dim, combine(zero, number))
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    /// PyTorch's `promote_types` table (c10's `_promoteTypesLookup`) for our 8 dtypes.
    const TABLE: [[DType; 8]; 8] = [
        //  b1  u1   i1   i2   i4   i8   f4   f8
        [Bool, U8, I8, I16, I32, I64, F32, F64],
        [U8, U8, I16, I16, I32, I64, F32, F64],
        [I8, I16, I8, I16, I32, I64, F32, F64],
        [I16, I16, I16, I16, I32, I64, F32, F64],
        [I32, I32, I32, I32, I32, I64, F32, F64],
        [I64, I64, I64, I64, I64, I64, F32, F64],
        [F32, F32, F32, F32, F32, F32, F32, F64],
        [F64, F64, F64, F64, F64, F64, F64, F64],
    ];

    #[test]
    fn promote_types_matches_pytorch_table() {
        for (i, a) in DType::ALL.iter().enumerate() {
            for (j, b) in DType::ALL.iter().enumerate() {
                assert_eq!(a.promote(*b), TABLE[i][j], "{a} with {b}");
            }
        }
    }

    #[test]
    fn numbers_and_zero_dim_tensors_only_raise_the_category() {
        let t = |d| Operand::Tensor(d);
        let n = |d| Operand::Number(d);
        let z = |d| Operand::ZeroDim(d);
        assert_eq!(result_type(&[t(I64), n(F64)]), Some(F32)); // int64 + 2.5
        assert_eq!(result_type(&[t(U8), n(I64)]), Some(U8)); // uint8 + 1000
        assert_eq!(result_type(&[t(Bool), n(I64)]), Some(I64)); // bool + 1
        assert_eq!(result_type(&[t(Bool), n(Bool)]), Some(Bool));
        assert_eq!(result_type(&[t(F32), t(I64)]), Some(F32));
        assert_eq!(result_type(&[t(U8), t(I8)]), Some(I16));
        assert_eq!(result_type(&[t(I32), z(F64)]), Some(F64));
        assert_eq!(result_type(&[t(F32), z(F64)]), Some(F32));
        assert_eq!(result_type(&[t(I8), z(I64)]), Some(I8));
        assert_eq!(result_type(&[z(I8), z(I64)]), Some(I64));
        assert_eq!(result_type(&[z(I32), n(F64)]), Some(F32));
        assert_eq!(result_type(&[z(U8), n(I64)]), Some(U8));
        assert_eq!(result_type(&[n(I64), n(F64)]), Some(F32));
        assert_eq!(result_type(&[n(Bool), n(I64)]), Some(I64));
        assert_eq!(result_type(&[t(Bool), z(U8), n(F64)]), Some(F32));
    }

    #[test]
    fn can_cast_refuses_lower_categories() {
        assert!(I64.can_cast(F32));
        assert!(F64.can_cast(F32));
        assert!(I64.can_cast(U8));
        assert!(Bool.can_cast(I8));
        assert!(!F32.can_cast(I64));
        assert!(!I32.can_cast(Bool));
        assert!(!F32.can_cast(Bool));
    }
}
