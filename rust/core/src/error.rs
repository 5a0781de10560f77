//! One typed error for the whole core.
//!
//! Every variant carries the values a user needs to fix the call (shapes, axes, the op's name),
//! and [`Error::kind`] groups variants into the families ([`ErrorKind`]) the Python layer
//! maps onto builtin exception types.

use std::fmt;

/// A shape as reported in error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeDisplay(pub Vec<usize>);

impl fmt::Display for ShapeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() == 1 {
            write!(f, ",")?;
        }
        write!(f, ")")
    }
}

/// Everything that can go wrong in the core.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Two operands of a binary op cannot be broadcast together.
    #[error("{op}: shapes {lhs} and {rhs} cannot be broadcast together")]
    Broadcast {
        /// The op that was called.
        op: &'static str,
        /// Left operand's shape.
        lhs: ShapeDisplay,
        /// Right operand's shape.
        rhs: ShapeDisplay,
    },
    /// Inner dimensions of a matrix product disagree.
    #[error("matmul: inner dimensions differ: {lhs} @ {rhs} ({k_lhs} != {k_rhs})")]
    MatmulShape {
        /// Left operand's shape.
        lhs: ShapeDisplay,
        /// Right operand's shape.
        rhs: ShapeDisplay,
        /// The left operand's last dimension.
        k_lhs: usize,
        /// The right operand's contraction dimension.
        k_rhs: usize,
    },
    /// A shape that does not fit what the op needs (element counts, ranks, gradients).
    #[error("{op}: {message}")]
    Shape {
        /// The op or API that was called.
        op: &'static str,
        /// What was wrong, with the shapes involved.
        message: String,
    },
    /// An axis outside `-ndim..ndim`.
    #[error("{op}: dimension {axis} is out of range for a tensor of {ndim} dimension(s) (expected {lo}..={hi})", lo = -(*ndim as i64).max(1), hi = (*ndim as i64).max(1) - 1)]
    AxisOutOfRange {
        /// The op that was called.
        op: &'static str,
        /// The axis as given.
        axis: i64,
        /// Rank of the tensor.
        ndim: usize,
    },
    /// An index outside the extent of an axis.
    #[error("{op}: index {index} is out of range for dimension {axis} of size {size}")]
    IndexOutOfRange {
        /// The op that was called.
        op: &'static str,
        /// The index as given.
        index: i64,
        /// The axis indexed.
        axis: usize,
        /// Its extent.
        size: usize,
    },
    /// Something is wrong with an index expression other than its range.
    #[error("{op}: {message}")]
    Index {
        /// The op that was called.
        op: &'static str,
        /// What was wrong.
        message: String,
    },
    /// A dtype that an op cannot take.
    #[error("{op}: {message}")]
    DType {
        /// The op that was called.
        op: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Misuse of the autograd graph (backward twice, no grad, unused inputs...).
    #[error("{0}")]
    Graph(String),
    /// An argument value outside its domain (negative sizes, bad step, NaN bounds...).
    #[error("{op}: {message}")]
    Value {
        /// The op or API that was called.
        op: &'static str,
        /// What was wrong.
        message: String,
    },
    /// Integer division or remainder by zero (PyTorch raises `RuntimeError:
    /// ZeroDivisionError`; floats give inf or NaN instead).
    #[error("{op}: ZeroDivisionError (integer division by zero)")]
    ZeroDivision {
        /// The op that was called.
        op: &'static str,
    },
    /// An error raised by user code the engine called (a hook, a custom function), carried
    /// through unchanged so the caller can re-raise the original.
    #[error("{0}")]
    External(ExternalError),
    /// The process-wide interrupt check (see [`crate::interrupt`]) asked a long-running op to
    /// stop (Ctrl-C in Python); the op left every tensor as it was.
    #[error("{op}: interrupted")]
    Interrupted {
        /// The op that stopped.
        op: &'static str,
    },
    /// A buffer the system could not allocate (`MemoryError` in Python).
    #[error("{op}: could not allocate {bytes} bytes ({gib:.2} GiB)", gib = *bytes as f64 / f64::from(1u32 << 30))]
    OutOfMemory {
        /// The op that asked for the buffer.
        op: &'static str,
        /// How many bytes it asked for.
        bytes: usize,
    },
    /// A broken internal invariant: a tapegrad bug, reported instead of a panic.
    #[error("{op}: internal error (this is a bug in tapegrad, please report it): {invariant}")]
    Internal {
        /// The op in which the invariant broke.
        op: &'static str,
        /// What was expected to hold.
        invariant: String,
    },
}

/// An opaque error from outside the core, with its message.
#[derive(Clone)]
pub struct ExternalError {
    /// The error's message.
    pub message: String,
    /// The original error object, for whoever raised it to take back.
    pub payload: std::sync::Arc<dyn std::any::Any + Send + Sync>,
}

impl fmt::Debug for ExternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExternalError({:?})", self.message)
    }
}

impl fmt::Display for ExternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The family an [`Error`] belongs to; the Python layer maps each onto a builtin exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Shapes that do not fit (`ValueError`).
    Shape,
    /// Axes or indices out of range (`IndexError`).
    Index,
    /// Wrong dtype (`TypeError`).
    DType,
    /// Misuse of the graph (`RuntimeError`).
    Graph,
    /// A bad argument value (`ValueError`).
    Value,
    /// Integer division by zero (`RuntimeError` and `ZeroDivisionError`).
    ZeroDivision,
    /// An allocation that failed (`MemoryError`).
    Memory,
    /// A bug in tapegrad: a broken invariant or a caught panic (`RuntimeError`).
    Internal,
}

impl Error {
    /// The family of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Broadcast { .. } | Error::MatmulShape { .. } | Error::Shape { .. } => {
                ErrorKind::Shape
            }
            Error::AxisOutOfRange { .. } | Error::IndexOutOfRange { .. } | Error::Index { .. } => {
                ErrorKind::Index
            }
            Error::DType { .. } => ErrorKind::DType,
            Error::Graph(_) | Error::External(_) | Error::Interrupted { .. } => ErrorKind::Graph,
            Error::Value { .. } => ErrorKind::Value,
            Error::ZeroDivision { .. } => ErrorKind::ZeroDivision,
            Error::OutOfMemory { .. } => ErrorKind::Memory,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// A shape error with a formatted message.
    pub fn shape(op: &'static str, message: impl Into<String>) -> Self {
        Error::Shape { op, message: message.into() }
    }

    /// An internal error: `invariant` says what should have held.
    pub fn internal(op: &'static str, invariant: impl Into<String>) -> Self {
        Error::Internal { op, invariant: invariant.into() }
    }

    /// A value error with a formatted message.
    pub fn value(op: &'static str, message: impl Into<String>) -> Self {
        Error::Value { op, message: message.into() }
    }
}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Formats a shape the way error messages show it: `(2, 3)`.
pub fn fmt_shape(shape: &[usize]) -> ShapeDisplay {
    ShapeDisplay(shape.to_vec())
}
