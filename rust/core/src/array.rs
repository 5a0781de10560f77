//! Dtype-erased n-dimensional arrays: the data a [`Tensor`](crate::Tensor) holds.
//!
//! [`Array`] is an `ArcArray` of one of eight element types ([`DType`]: bool, five integers,
//! two floats): cloning shares the buffer, and views (transposes, slices, broadcasts) keep
//! their strides instead of copying. Float kernels are generic over [`Element`] and reached
//! through `dispatch!`, `map_array!` and `zip_array!` (which refuse bool and integer arrays
//! with a clear error); kernels valid on every dtype are generic over [`Scalar`] and reached
//! through `dispatch_any!`/`map_any!`.
//!
//! (Over 500 lines: the dtype table, the dtype-erased array and the category macros must
//! change together when a dtype is added; the storage layer of issue 12 will take the
//! buffers out of this file.)

use crate::error::{fmt_shape, Error, Result};
use ndarray::{ArcArray, ArrayD, IxDyn, LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive};
use std::fmt::{Debug, Display};

/// The element types a tensor can hold, in PyTorch's order of categories: bool < integer <
/// floating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// Booleans, one byte each (masks, comparison results).
    Bool,
    /// Unsigned 8-bit integers (bytes, images).
    U8,
    /// Signed 8-bit integers.
    I8,
    /// Signed 16-bit integers.
    I16,
    /// Signed 32-bit integers.
    I32,
    /// Signed 64-bit integers (the dtype of Python ints: labels, indices).
    I64,
    /// 32-bit IEEE float (the default for Python floats).
    F32,
    /// 64-bit IEEE float.
    F64,
}

/// The kind of values a dtype holds; promotion never moves to a lower category because of a
/// Python number or a 0-d tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// `bool`.
    Bool,
    /// `uint8`, `int8`, `int16`, `int32`, `int64`.
    Integer,
    /// `float32`, `float64`.
    Floating,
}

impl DType {
    /// Every dtype, bool first, in PyTorch's promotion order.
    pub const ALL: [DType; 8] = [
        DType::Bool,
        DType::U8,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::F32,
        DType::F64,
    ];

    /// PyTorch-style name: `bool`, `uint8`, ..., `int64`, `float32`, `float64`.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::U8 => "uint8",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::U8 | DType::I8 => 1,
            DType::I16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }

    /// Bool, integer or floating.
    pub fn category(self) -> Category {
        match self {
            DType::Bool => Category::Bool,
            DType::U8 | DType::I8 | DType::I16 | DType::I32 | DType::I64 => Category::Integer,
            DType::F32 | DType::F64 => Category::Floating,
        }
    }

    /// `float32` or `float64` (the dtypes that can carry gradients).
    pub fn is_floating_point(self) -> bool {
        self.category() == Category::Floating
    }

    /// Whether the dtype can hold negative values (PyTorch's `dtype.is_signed`).
    pub fn is_signed(self) -> bool {
        match self {
            DType::Bool | DType::U8 => false,
            DType::I8 | DType::I16 | DType::I32 | DType::I64 | DType::F32 | DType::F64 => true,
        }
    }

    /// The dtype two tensors are computed in (PyTorch's `promote_types`): the other one for
    /// bool, the wider integer (`int16` for `uint8` with `int8`), the float for an integer
    /// with a float, the wider float.
    pub fn promote(self, other: DType) -> DType {
        use DType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Bool, x) | (x, Bool) => x,
            (F64, _) | (_, F64) => F64,
            (F32, _) | (_, F32) => F32,
            (U8, I8) | (I8, U8) => I16,
            (U8, x) | (x, U8) => x,
            (I64, _) | (_, I64) => I64,
            (I32, _) | (_, I32) => I32,
            (I16, _) | (_, I16) => I16,
            (I8, I8) => I8,
        }
    }

    /// Whether PyTorch's `can_cast` allows `self` to `to`: never floating to integer or bool,
    /// never a non-bool to bool.
    pub fn can_cast(self, to: DType) -> bool {
        self.category() <= to.category()
    }
}

impl Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A value of any dtype, as a Python number holds it (bool, integer or float).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarValue {
    /// A bool.
    Bool(bool),
    /// An integer (any integer dtype, widened to `i64`).
    Int(i64),
    /// A float (either float dtype, widened to `f64`).
    Float(f64),
}

impl ScalarValue {
    /// The value as `f64` (rounded for integers beyond 2^53).
    pub fn to_f64(self) -> f64 {
        match self {
            ScalarValue::Bool(b) => f64::from(u8::from(b)),
            ScalarValue::Int(i) => i as f64,
            ScalarValue::Float(v) => v,
        }
    }
}

/// Any element type a tensor can hold; kernels valid for every dtype (copies, casts,
/// comparisons, indexing) are generic over it and reached through `dispatch_any!`.
pub trait Scalar: Copy + PartialEq + PartialOrd + Send + Sync + Debug + 'static {
    /// The dtype tag of this type.
    const TAG: DType;
    /// Wraps an array of this type into an [`Array`].
    fn wrap_any(a: ArcArray<Self, IxDyn>) -> Array;
    /// The typed array inside `a`, when `a` has this dtype.
    fn unwrap_ref(a: &Array) -> Option<&ArcArray<Self, IxDyn>>;
    /// Converts from `f64` as PyTorch casts: a float is rounded, an integer truncated toward
    /// zero (then wrapped into its range), a bool is `v != 0`.
    fn cast_f64(v: f64) -> Self;
    /// Converts from `i64` as PyTorch casts: wrapping for integers, `v != 0` for bool.
    fn cast_i64(v: i64) -> Self;
    /// The value as `f64`.
    fn widen_f64(self) -> f64;
    /// The value as `i64` (floats truncated toward zero).
    fn widen_i64(self) -> i64;
    /// The value as a Python-like number.
    fn value(self) -> ScalarValue;
}

macro_rules! scalar_int {
    ($($t:ty => $variant:ident),*) => {$(
        impl Scalar for $t {
            const TAG: DType = DType::$variant;
            fn wrap_any(a: ArcArray<Self, IxDyn>) -> Array {
                Array::$variant(a)
            }
            fn unwrap_ref(a: &Array) -> Option<&ArcArray<Self, IxDyn>> {
                match a {
                    Array::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn cast_f64(v: f64) -> Self {
                // Truncation toward zero, then the two's-complement wrap of an integer cast.
                (v as i64) as $t
            }
            fn cast_i64(v: i64) -> Self {
                v as $t
            }
            fn widen_f64(self) -> f64 {
                self as f64
            }
            fn widen_i64(self) -> i64 {
                self as i64
            }
            fn value(self) -> ScalarValue {
                ScalarValue::Int(self as i64)
            }
        }
        impl IntElement for $t {}
    )*};
}

macro_rules! scalar_float {
    ($($t:ty => $variant:ident),*) => {$(
        impl Scalar for $t {
            const TAG: DType = DType::$variant;
            fn wrap_any(a: ArcArray<Self, IxDyn>) -> Array {
                Array::$variant(a)
            }
            fn unwrap_ref(a: &Array) -> Option<&ArcArray<Self, IxDyn>> {
                match a {
                    Array::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn cast_f64(v: f64) -> Self {
                v as $t
            }
            fn cast_i64(v: i64) -> Self {
                v as $t
            }
            fn widen_f64(self) -> f64 {
                self as f64
            }
            fn widen_i64(self) -> i64 {
                self as i64
            }
            fn value(self) -> ScalarValue {
                ScalarValue::Float(self as f64)
            }
        }
    )*};
}

impl Scalar for bool {
    const TAG: DType = DType::Bool;
    fn wrap_any(a: ArcArray<Self, IxDyn>) -> Array {
        Array::Bool(a)
    }
    fn unwrap_ref(a: &Array) -> Option<&ArcArray<Self, IxDyn>> {
        match a {
            Array::Bool(x) => Some(x),
            _ => None,
        }
    }
    fn cast_f64(v: f64) -> Self {
        v != 0.0 // NaN is true, as in PyTorch
    }
    fn cast_i64(v: i64) -> Self {
        v != 0
    }
    fn widen_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    fn widen_i64(self) -> i64 {
        i64::from(self)
    }
    fn value(self) -> ScalarValue {
        ScalarValue::Bool(self)
    }
}

/// An integer element type (`u8`, `i8`, `i16`, `i32`, `i64`): integer kernels are generic
/// over it and reached through `dispatch_int!`.
pub trait IntElement:
    Scalar
    + num_traits::PrimInt
    + num_traits::WrappingAdd
    + num_traits::WrappingSub
    + num_traits::WrappingMul
    + Display
{
}

scalar_int!(u8 => U8, i8 => I8, i16 => I16, i32 => I32, i64 => I64);
scalar_float!(f32 => F32, f64 => F64);

/// A float type the kernels are generic over.
pub trait Element:
    Float + FromPrimitive + LinalgScalar + ScalarOperand + Send + Sync + Debug + Display + 'static
{
    /// The dtype tag of this type.
    const DTYPE: DType;
    /// Wraps an array of this type into an [`Array`].
    fn wrap(a: ArcArray<Self, IxDyn>) -> Array;
    /// Converts an `f64` constant (exact for `f64`, rounded for `f32`).
    fn of(v: f64) -> Self;
    /// `e^x` in a form whose loops vectorise (see [`crate::math`]).
    fn fast_exp(self) -> Self;
    /// The error function (the `libm` crate's port of musl's `erf`/`erff`).
    fn erf(self) -> Self;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn wrap(a: ArcArray<f32, IxDyn>) -> Array {
        Array::F32(a)
    }
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        crate::math::exp_f32(self)
    }
    fn erf(self) -> Self {
        libm::erff(self)
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn wrap(a: ArcArray<f64, IxDyn>) -> Array {
        Array::F64(a)
    }
    fn of(v: f64) -> Self {
        v
    }
    #[inline(always)]
    fn fast_exp(self) -> Self {
        crate::math::exp_f64(self)
    }
    fn erf(self) -> Self {
        libm::erf(self)
    }
}

/// A shared, possibly strided n-dimensional array of one of the [`DType`]s.
#[derive(Clone, Debug)]
pub enum Array {
    /// `bool` data.
    Bool(ArcArray<bool, IxDyn>),
    /// `uint8` data.
    U8(ArcArray<u8, IxDyn>),
    /// `int8` data.
    I8(ArcArray<i8, IxDyn>),
    /// `int16` data.
    I16(ArcArray<i16, IxDyn>),
    /// `int32` data.
    I32(ArcArray<i32, IxDyn>),
    /// `int64` data.
    I64(ArcArray<i64, IxDyn>),
    /// `float32` data.
    F32(ArcArray<f32, IxDyn>),
    /// `float64` data.
    F64(ArcArray<f64, IxDyn>),
}

/// Runs `$body` with `$a` bound to the typed array of a floating dtype; for a bool or integer
/// array it returns an [`Error::DType`] naming the op (`dispatch!(op; arr, a => ...)`, or a
/// generic name without `op;`). Each category has its own arms: a new dtype does not compile
/// until every macro says where it goes.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch {
    ($op:expr; $arr:expr, $a:ident => $body:expr) => {
        match $arr {
            $crate::array::Array::F32($a) => $body,
            $crate::array::Array::F64($a) => $body,
            other @ $crate::array::Array::Bool(_) => {
                return Err($crate::array::not_floating($op, other.dtype()).into())
            }
            other @ ($crate::array::Array::U8(_)
            | $crate::array::Array::I8(_)
            | $crate::array::Array::I16(_)
            | $crate::array::Array::I32(_)
            | $crate::array::Array::I64(_)) => {
                return Err($crate::array::not_floating($op, other.dtype()).into())
            }
        }
    };
    ($arr:expr, $a:ident => $body:expr) => {
        $crate::dispatch!("this operation"; $arr, $a => $body)
    };
}

/// Like `dispatch!`, but wraps the resulting `ArrayD`/`ArcArray` back into an [`Array`].
#[macro_export]
#[doc(hidden)]
macro_rules! map_array {
    ($op:expr; $arr:expr, $a:ident => $body:expr) => {
        match $arr {
            $crate::array::Array::F32($a) => $crate::array::Array::F32(($body).into_shared()),
            $crate::array::Array::F64($a) => $crate::array::Array::F64(($body).into_shared()),
            other @ $crate::array::Array::Bool(_) => {
                return Err($crate::array::not_floating($op, other.dtype()).into())
            }
            other @ ($crate::array::Array::U8(_)
            | $crate::array::Array::I8(_)
            | $crate::array::Array::I16(_)
            | $crate::array::Array::I32(_)
            | $crate::array::Array::I64(_)) => {
                return Err($crate::array::not_floating($op, other.dtype()).into())
            }
        }
    };
    ($arr:expr, $a:ident => $body:expr) => {
        $crate::map_array!("this operation"; $arr, $a => $body)
    };
}

/// Runs `$body` on two floating arrays of the same dtype; a dtype mismatch, or a bool or
/// integer operand, is an error naming `$op`.
#[macro_export]
#[doc(hidden)]
macro_rules! zip_array {
    ($op:expr, $x:expr, $y:expr, $a:ident, $b:ident => $body:expr) => {
        match ($x, $y) {
            ($crate::array::Array::F32($a), $crate::array::Array::F32($b)) => {
                $crate::array::Array::F32(($body).into_shared())
            }
            ($crate::array::Array::F64($a), $crate::array::Array::F64($b)) => {
                $crate::array::Array::F64(($body).into_shared())
            }
            (x, y) if x.dtype() != y.dtype() => {
                return Err($crate::array::dtype_mismatch($op, x.dtype(), y.dtype()).into())
            }
            (other @ $crate::array::Array::Bool(_), _) => {
                return Err($crate::array::not_floating($op, other.dtype()).into())
            }
            (
                other @ ($crate::array::Array::U8(_)
                | $crate::array::Array::I8(_)
                | $crate::array::Array::I16(_)
                | $crate::array::Array::I32(_)
                | $crate::array::Array::I64(_)),
                _,
            ) => return Err($crate::array::not_floating($op, other.dtype()).into()),
            ($crate::array::Array::F32(_) | $crate::array::Array::F64(_), _) => {
                return Err($crate::error::Error::internal(
                    $op,
                    "same float dtypes matched above, different dtypes refused",
                ))
            }
        }
    };
}

/// Runs `$body` with `$a` bound to the typed array, whatever the dtype (for kernels valid on
/// every dtype: copies, views, casts, comparisons, indexing). `$body` must be generic over
/// [`Scalar`].
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_any {
    ($arr:expr, $a:ident => $body:expr) => {
        match $arr {
            $crate::array::Array::Bool($a) => $body,
            $crate::array::Array::U8($a) => $body,
            $crate::array::Array::I8($a) => $body,
            $crate::array::Array::I16($a) => $body,
            $crate::array::Array::I32($a) => $body,
            $crate::array::Array::I64($a) => $body,
            $crate::array::Array::F32($a) => $body,
            $crate::array::Array::F64($a) => $body,
        }
    };
}

/// Like `dispatch_any!`, but wraps the resulting array back into an [`Array`] of the same
/// dtype.
#[macro_export]
#[doc(hidden)]
macro_rules! map_any {
    ($arr:expr, $a:ident => $body:expr) => {
        match $arr {
            $crate::array::Array::Bool($a) => $crate::array::Array::Bool(($body).into_shared()),
            $crate::array::Array::U8($a) => $crate::array::Array::U8(($body).into_shared()),
            $crate::array::Array::I8($a) => $crate::array::Array::I8(($body).into_shared()),
            $crate::array::Array::I16($a) => $crate::array::Array::I16(($body).into_shared()),
            $crate::array::Array::I32($a) => $crate::array::Array::I32(($body).into_shared()),
            $crate::array::Array::I64($a) => $crate::array::Array::I64(($body).into_shared()),
            $crate::array::Array::F32($a) => $crate::array::Array::F32(($body).into_shared()),
            $crate::array::Array::F64($a) => $crate::array::Array::F64(($body).into_shared()),
        }
    };
}

/// Runs `$body` with `$T` naming the Rust element type of `$dtype` (for building arrays of
/// a dtype known only at run time).
#[macro_export]
#[doc(hidden)]
macro_rules! with_scalar_type {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::array::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::array::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::array::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::array::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::array::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::array::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::array::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::array::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// The error for a floating-only kernel given a bool or integer array.
pub fn not_floating(op: &'static str, dtype: DType) -> Error {
    Error::DType {
        op,
        message: format!(
            "expected a floating point tensor (float32 or float64), got dtype {dtype}; cast it \
             with .float() or .double()"
        ),
    }
}

/// The error for two operands whose dtypes differ where the op needs them equal.
pub fn dtype_mismatch(op: &'static str, a: DType, b: DType) -> Error {
    Error::DType { op, message: format!("operands have different dtypes: {a} and {b}") }
}

/// Largest number of elements a tensor may have (keeps byte counts far from overflow).
pub const MAX_NUMEL: usize = 1 << 48;

/// Checks a requested shape and returns its element count, before anything is allocated.
///
/// The product of the *non-zero* dimensions must stay within [`MAX_NUMEL`] too, whatever
/// their order: an empty array still gets strides, and ndarray (like NumPy) refuses shapes
/// whose non-zero extents overflow, so `(0, 2, 2**62)` is as wrong as `(2, 2**62)`.
pub fn checked_numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_NUMEL);
    match nonzero {
        Some(_) if shape.contains(&0) => Ok(0),
        Some(n) => Ok(n),
        None => Err(Error::value(
            op,
            format!(
                "shape {} is too large: {} (at most {MAX_NUMEL} elements)",
                fmt_shape(shape),
                if shape.contains(&0) {
                    "the product of its non-zero dimensions overflows"
                } else {
                    "it has too many elements to allocate"
                }
            ),
        )),
    }
}

impl Array {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Array::Bool(_) => DType::Bool,
            Array::U8(_) => DType::U8,
            Array::I8(_) => DType::I8,
            Array::I16(_) => DType::I16,
            Array::I32(_) => DType::I32,
            Array::I64(_) => DType::I64,
            Array::F32(_) => DType::F32,
            Array::F64(_) => DType::F64,
        }
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        dispatch_any!(self, a => a.shape())
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape().iter().product()
    }

    /// Bytes the elements occupy (what this array costs when it is kept alive).
    pub fn nbytes(&self) -> usize {
        self.numel() * self.dtype().itemsize()
    }

    /// An array of `value` (cast to `dtype` as PyTorch casts) with the given shape.
    pub fn full(shape: &[usize], value: f64, dtype: DType) -> Result<Array> {
        Array::full_value(shape, ScalarValue::Float(value), dtype)
    }

    /// An array of a bool, integer or float `value` (cast to `dtype`) with the given shape;
    /// integers stay exact beyond 2^53.
    pub fn full_value(shape: &[usize], value: ScalarValue, dtype: DType) -> Result<Array> {
        Ok(with_scalar_type!(dtype, T => {
            T::wrap_any(crate::alloc::try_full("full", shape, cast_value::<T>(value))?.into_shared())
        }))
    }

    /// An array of zeros.
    pub fn zeros(shape: &[usize], dtype: DType) -> Result<Array> {
        Array::full(shape, 0.0, dtype)
    }

    /// A 0-d array holding `value`.
    pub fn scalar(value: f64, dtype: DType) -> Array {
        Array::scalar_value(ScalarValue::Float(value), dtype)
    }

    /// A 0-d array holding a bool, integer or float `value` cast to `dtype`.
    pub fn scalar_value(value: ScalarValue, dtype: DType) -> Array {
        with_scalar_type!(dtype, T => {
            T::wrap_any(ArcArray::from_elem(IxDyn(&[]), cast_value::<T>(value)))
        })
    }

    /// Builds an array from row-major `f64` values, cast to `dtype`.
    pub fn from_f64_vec(shape: &[usize], values: Vec<f64>, dtype: DType) -> Result<Array> {
        let a = shaped("tensor", shape, values)?;
        Ok(if dtype == DType::F64 {
            Array::F64(a.into_shared())
        } else {
            with_scalar_type!(dtype, T => T::wrap_any(a.mapv(T::cast_f64).into_shared()))
        })
    }

    /// Builds an array from row-major `i64` values, cast to `dtype` (exact for `int64`).
    pub fn from_i64_vec(shape: &[usize], values: Vec<i64>, dtype: DType) -> Result<Array> {
        let a = shaped("tensor", shape, values)?;
        Ok(if dtype == DType::I64 {
            Array::I64(a.into_shared())
        } else {
            with_scalar_type!(dtype, T => T::wrap_any(a.mapv(T::cast_i64).into_shared()))
        })
    }

    /// Builds a `bool` array from row-major values.
    pub fn from_bool_vec(shape: &[usize], values: Vec<bool>) -> Result<Array> {
        Ok(Array::Bool(shaped("tensor", shape, values)?.into_shared()))
    }

    /// Converts to another dtype as PyTorch's `.to(dtype)` does (a cheap clone when it
    /// already has it): floats to integers truncate toward zero, integers wrap, anything to
    /// bool is `v != 0`.
    pub fn cast(&self, dtype: DType) -> Array {
        if self.dtype() == dtype {
            return self.clone();
        }
        dispatch_any!(self, a => with_scalar_type!(dtype, T => cast_array::<_, T>(a)))
    }

    /// The elements in row-major order, widened to `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            Array::F64(a) => a.iter().copied().collect(),
            other => dispatch_any!(other, a => a.iter().map(|&v| v.widen_f64()).collect()),
        }
    }

    /// The elements in row-major order as Python-like numbers (exact for every dtype).
    pub fn to_values(&self) -> Vec<ScalarValue> {
        dispatch_any!(self, a => a.iter().map(|&v| v.value()).collect())
    }

    /// A copy in standard (C-contiguous) layout, or a cheap clone when it already is.
    pub fn to_contiguous(&self) -> Array {
        dispatch_any!(self, a => if a.is_standard_layout() {
            self.clone()
        } else {
            Scalar::wrap_any(a.as_standard_layout().into_owned().into_shared())
        })
    }

    /// [`Array::to_contiguous`] with the copy reserved fallibly ([`Error::OutOfMemory`] names
    /// `op`).
    pub fn try_contiguous(&self, op: &'static str) -> Result<Array> {
        Ok(dispatch_any!(self, a => if a.is_standard_layout() {
            self.clone()
        } else {
            Scalar::wrap_any(crate::alloc::try_map(op, a, |&v| v)?.into_shared())
        }))
    }

    /// The single element of a one-element array, widened to `f64`.
    pub fn item(&self) -> Option<f64> {
        self.item_value().map(ScalarValue::to_f64)
    }

    /// The single element of a one-element array, as a Python-like number.
    pub fn item_value(&self) -> Option<ScalarValue> {
        if self.numel() != 1 {
            return None;
        }
        dispatch_any!(self, a => a.iter().next().map(|&v| v.value()))
    }

    /// Reshapes (copying only when the layout requires it). Element counts must match.
    pub fn reshape(&self, shape: &[usize]) -> Result<Array> {
        if checked_numel("reshape", shape)? != self.numel() {
            return Err(Error::shape(
                "reshape",
                format!(
                    "cannot reshape a tensor of shape {} ({} elements) into shape {} ({} elements)",
                    fmt_shape(self.shape()),
                    self.numel(),
                    fmt_shape(shape),
                    shape.iter().product::<usize>()
                ),
            ));
        }
        Ok(dispatch_any!(self, a => {
            let contiguous = if a.is_standard_layout() { a.clone() } else {
                a.as_standard_layout().into_owned().into_shared()
            };
            Scalar::wrap_any(
                contiguous
                    .into_shape_with_order(IxDyn(shape))
                    .map_err(|e| Error::shape("reshape", e.to_string()))?,
            )
        }))
    }

    /// This array broadcast to the given shape.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        broadcast_shapes("expand", self.shape(), shape)
            .ok()
            .filter(|s| s.as_slice() == shape)
            .ok_or_else(|| {
                Error::shape(
                    "expand",
                    format!(
                        "cannot broadcast shape {} to shape {}",
                        fmt_shape(self.shape()),
                        fmt_shape(shape)
                    ),
                )
            })?;
        checked_numel("expand", shape)?;
        // A copy (every kernel reads an ndarray), by contiguous runs: reserved fallibly, so
        // an expand to a huge shape is a `MemoryError`, not an abort.
        Ok(dispatch_any!(self, a => {
            Scalar::wrap_any(crate::alloc::try_broadcast("expand", a.view(), shape)?.into_shared())
        }))
    }
}

/// Row-major `values` as an array of `shape`, or a [`Error::Shape`] when they do not fill it.
fn shaped<T>(op: &'static str, shape: &[usize], values: Vec<T>) -> Result<ArrayD<T>> {
    let n = checked_numel(op, shape)?;
    if n != values.len() {
        return Err(Error::shape(
            op,
            format!("{} values do not fill shape {}", values.len(), fmt_shape(shape)),
        ));
    }
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| Error::shape(op, e.to_string()))
}

/// A Python-like number cast to `T` as PyTorch casts.
fn cast_value<T: Scalar>(value: ScalarValue) -> T {
    match value {
        ScalarValue::Bool(b) => T::cast_i64(i64::from(b)),
        ScalarValue::Int(i) => T::cast_i64(i),
        ScalarValue::Float(v) => T::cast_f64(v),
    }
}

/// Casts every element of `a` to `B`: through `f64` from a float (exact), through `i64` from
/// an integer or bool (exact, so that integers wrap instead of rounding).
fn cast_array<A: Scalar, B: Scalar>(a: &ArcArray<A, IxDyn>) -> Array {
    let out = if A::TAG.is_floating_point() {
        a.mapv(|v| B::cast_f64(v.widen_f64()))
    } else {
        a.mapv(|v| B::cast_i64(v.widen_i64()))
    };
    B::wrap_any(out.into_shared())
}

/// The default floating dtype (`torch.get_default_dtype()`), as a [`DType`] tag.
static DEFAULT_FLOAT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// The dtype Python floats and true division of integers give (`float32` unless changed).
pub fn default_float_dtype() -> DType {
    if DEFAULT_FLOAT.load(std::sync::atomic::Ordering::Relaxed) == 1 {
        DType::F64
    } else {
        DType::F32
    }
}

/// Sets the default floating dtype (`torch.set_default_dtype`); only floating dtypes.
pub fn set_default_float_dtype(dtype: DType) -> Result<()> {
    let code = match dtype {
        DType::F32 => 0,
        DType::F64 => 1,
        other => {
            return Err(Error::DType {
                op: "set_default_dtype",
                message: format!("only floating point dtypes are supported, got {other}"),
            })
        }
    };
    DEFAULT_FLOAT.store(code, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// The NumPy broadcast of two shapes, or a [`Error::Broadcast`] naming both.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(Error::Broadcast { op, lhs: fmt_shape(a), rhs: fmt_shape(b) }),
        };
    }
    Ok(out)
}

/// Normalises a possibly negative axis against `ndim`.
pub fn normalize_axis(op: &'static str, axis: i64, ndim: usize) -> Result<usize> {
    // A 0-d tensor accepts axis 0 and -1, as in PyTorch.
    let n = ndim.max(1) as i64;
    if axis < -n || axis >= n {
        return Err(Error::AxisOutOfRange { op, axis, ndim });
    }
    Ok(if axis < 0 { (axis + n) as usize } else { axis as usize })
}

/// Normalises a list of axes (None means all), rejecting repeats. Returns them sorted.
pub fn normalize_axes(op: &'static str, axes: Option<&[i64]>, ndim: usize) -> Result<Vec<usize>> {
    let Some(axes) = axes else { return Ok((0..ndim).collect()) };
    let mut out = Vec::with_capacity(axes.len());
    for &ax in axes {
        let a = normalize_axis(op, ax, ndim)?;
        if ndim == 0 {
            continue;
        }
        if out.contains(&a) {
            return Err(Error::Index {
                op,
                message: format!("dimension {ax} appears more than once"),
            });
        }
        out.push(a);
    }
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(a: &Array) -> Vec<ScalarValue> {
        a.to_values()
    }

    #[test]
    fn casts_follow_pytorch() {
        let floats = Array::from_f64_vec(&[4], vec![-1.7, 2.9, 0.0, f64::NAN], DType::F64).unwrap();
        // float -> int truncates toward zero
        let ints = floats.cast(DType::I32);
        assert_eq!(values(&ints)[..3], [-1, 2, 0].map(ScalarValue::Int));
        // anything -> bool is v != 0 (NaN included)
        let bools = floats.cast(DType::Bool);
        assert_eq!(values(&bools), [true, true, false, true].map(ScalarValue::Bool));
        // integers wrap, exactly (through i64, never through f64)
        let big = Array::from_i64_vec(&[3], vec![-1, 256, (1 << 53) + 1], DType::I64).unwrap();
        assert_eq!(values(&big.cast(DType::U8)), [255, 0, 1].map(ScalarValue::Int));
        assert_eq!(values(&big.cast(DType::I64))[2], ScalarValue::Int((1 << 53) + 1));
        // bool -> float
        assert_eq!(bools.cast(DType::F32).to_f64_vec(), vec![1.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn every_dtype_round_trips_small_integers() {
        for from in DType::ALL {
            let a = Array::from_i64_vec(&[2, 1], vec![1, 0], from).unwrap();
            assert_eq!(a.dtype(), from);
            assert_eq!(a.nbytes(), 2 * from.itemsize());
            for to in DType::ALL {
                let b = a.cast(to);
                assert_eq!(b.dtype(), to);
                assert_eq!(b.to_f64_vec(), vec![1.0, 0.0], "{from} -> {to}");
            }
        }
    }

    #[test]
    fn float_kernels_name_the_op_and_dtype() {
        fn run(a: &Array) -> Result<Array> {
            Ok(crate::map_array!("exp"; a, x => x.mapv(Element::fast_exp)))
        }
        let ints = Array::full(&[2], 1.0, DType::I64).unwrap();
        let e = run(&ints).unwrap_err().to_string();
        assert!(e.contains("exp") && e.contains("int64"), "{e}");
        assert!(run(&Array::full(&[2], 0.0, DType::F32).unwrap()).is_ok());
    }
}
