"""Integer and bool arithmetic as ``tapegrad`` functions: the Tensor methods themselves
(kernels in the core's ``ops/integer.rs``), so ``tg.bitwise_and(a, b)`` costs what
``a & b`` does."""

from ._native import Tensor

__all__ = [
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "clip",
    "divide",
    "floor_divide",
    "true_divide",
]

bitwise_and = Tensor.bitwise_and
bitwise_or = Tensor.bitwise_or
bitwise_xor = Tensor.bitwise_xor
bitwise_not = Tensor.bitwise_not
bitwise_left_shift = Tensor.bitwise_left_shift
bitwise_right_shift = Tensor.bitwise_right_shift
floor_divide = Tensor.floor_divide
true_divide = Tensor.true_divide
divide = Tensor.divide
clip = Tensor.clip
