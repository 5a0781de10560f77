"""The shipped checker itself: it must pass right gradients and catch wrong ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tapegrad as tg
import tapegrad.testing as tgt
from tapegrad.testing import GradcheckError, check_vjp, gradcheck


def leaf(data, dtype=tg.float64):
    return tg.tensor(
        np.asarray(data, dtype=np.float64), dtype=dtype, requires_grad=True
    )


X = [[1.5, -0.5, 2.0], [0.25, 3.0, -1.0]]


def test_passes_correct_gradients():
    x, y = leaf(X), leaf([0.5, 1.0, 2.0])
    assert gradcheck(lambda a, b: (a * b).exp() / (1.0 + b * b), [x, y]) is True
    assert gradcheck(lambda a: a.softmax(dim=1), leaf(X)) is True


def test_catches_a_wrong_gradient_and_names_input_and_element():
    x = leaf(X)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a: a * a.detach(), [x])
    message = str(info.value)
    assert "input 0" in message
    assert "element (0, 0)" in message
    # Analytical d(x * c)/dx = c = 1.5; the numerical derivative of x * x is 3.0.
    assert "analytical 1.5" in message
    assert "numerical 3.0" in message or "numerical 2.9999" in message


def test_names_the_second_input_when_it_is_the_wrong_one():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(GradcheckError, match="input 1 at element \\(0,\\)"):
        gradcheck(lambda a, b: a * b + b * b.detach(), [x, y])


def test_raise_exception_false_returns_false():
    assert (
        gradcheck(lambda a: a * a.detach(), [leaf(X)], raise_exception=False) is False
    )
    assert gradcheck(lambda a: a * a, [leaf(X)], raise_exception=False) is True


def test_inputs_without_requires_grad_are_passed_through():
    x, c = leaf([1.0, 2.0]), tg.tensor([3.0, 4.0], dtype=tg.float64)
    assert gradcheck(lambda a, b, k: a * b * k, [x, c, 2.0])


def test_unused_inputs_have_zero_jacobians():
    x, unused = leaf([1.0, 2.0]), leaf([3.0])
    assert gradcheck(lambda a, b: a * 2.0, [x, unused])


def test_tuple_outputs_and_size_zero():
    x = leaf(X)
    assert gradcheck(lambda a: (a.sum(dim=0), a * a, a[:0]), [x])
    assert gradcheck(lambda a: a * 2.0, [leaf(np.zeros((0, 3)))])


def test_second_order_through_grad():
    x = leaf([0.5, 1.5])

    def first_derivative(a):
        (g,) = tg.grad((a**3).sum(), [a], create_graph=True)
        return g

    assert gradcheck(first_derivative, [x])


def test_warns_on_float32_inputs():
    x = leaf([1.0, 2.0], dtype=tg.float32)
    with pytest.warns(UserWarning, match="float64"):
        assert gradcheck(lambda a: a * 2.0, [x], eps=1e-2, atol=1e-3, rtol=1e-3)


def test_no_warning_on_float64_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradcheck(lambda a: a * 2.0, [leaf([1.0])])


def test_requires_a_differentiable_input():
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda a: a * 2.0, [tg.tensor([1.0], dtype=tg.float64)])


def test_catches_nonzero_gradient_for_zero_grad_output(monkeypatch):
    # Only the zero cotangent is corrupted: the Jacobians still agree, so only the
    # zero-grad_output check can catch it.
    real_vjp = tgt._vjp

    def offset_when_zero(outputs, inputs, cotangents, positions):
        grads = real_vjp(outputs, inputs, cotangents, positions)
        if all(not np.any(c) for c in cotangents):
            return [g + 1.0 for g in grads]
        return grads

    monkeypatch.setattr(tgt, "_vjp", offset_when_zero)
    with pytest.raises(GradcheckError, match="zero grad_output"):
        gradcheck(lambda a: a * 2.0, [leaf([1.0, 2.0])])


def test_catches_gradient_of_wrong_shape(monkeypatch):
    real_grad = tg.grad

    def reshaped(*args, **kwargs):
        return tuple(g.reshape(1, -1) for g in real_grad(*args, **kwargs))

    monkeypatch.setattr(tgt.tg, "grad", reshaped)
    with pytest.raises(GradcheckError, match=r"input 0 has shape \(1, 2\)"):
        gradcheck(lambda a: a * 2.0, [leaf([1.0, 2.0])])


def test_catches_gradient_of_wrong_dtype(monkeypatch):
    real_grad = tg.grad

    def narrowed(*args, **kwargs):
        return tuple(
            tg.tensor(g.detach().numpy(), dtype=tg.float32)
            for g in real_grad(*args, **kwargs)
        )

    monkeypatch.setattr(tgt.tg, "grad", narrowed)
    with pytest.raises(GradcheckError, match="float32"):
        gradcheck(lambda a: a * 2.0, [leaf([1.0, 2.0])])


def test_check_vjp_passes_a_correct_function():
    x = leaf(np.linspace(-1, 1, 60).reshape(6, 10))
    w = leaf(np.linspace(0.5, 1.5, 40).reshape(10, 4))
    assert check_vjp(lambda a, b: (a @ b).tanh().log_softmax(dim=1), [x, w]) is True
    for seed in range(5):
        assert check_vjp(lambda a: (a * a).sin(), [x], seed=seed)


def test_check_vjp_fails_a_wrong_function():
    x = leaf(np.linspace(0.5, 2.0, 30))
    with pytest.raises(GradcheckError, match="check_vjp"):
        check_vjp(lambda a: a * a.detach(), [x])
    assert check_vjp(lambda a: a * a.detach(), [x], raise_exception=False) is False


def test_outputs_that_do_not_require_grad_are_allowed():
    x = leaf([0.2, 0.9, 1.4])
    assert gradcheck(lambda a: (a > 0.5, a * 2.0), [x])


def test_works_under_no_grad():
    with tg.no_grad():
        assert gradcheck(lambda a: a.exp(), [leaf([0.1, 0.2])])
        assert check_vjp(lambda a: a.exp(), [leaf([0.1, 0.2])])
    assert tg.is_grad_enabled()
