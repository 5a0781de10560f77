"""Custom differentiable functions (``tapegrad.Function``), like
``torch.autograd.Function``: rules, checks on what ``backward`` returns, forward mode,
exceptions, and the gradient checkers catching wrong rules."""

from __future__ import annotations

import numpy as np
import pytest
import tapegrad as tg
from helpers import assert_close, raises, values
from tapegrad import func
from tapegrad.testing import GradcheckError, gradcheck, gradgradcheck


def leaf(data):
    return tg.tensor(np.asarray(data, dtype=np.float64), requires_grad=True)


def f64(data):
    return tg.tensor(np.asarray(data, dtype=np.float64))


class ScaledCube(tg.Function):
    """k x^3 for a tensor x and a Python number k; every rule written with tensor ops,
    so it is differentiable to any order."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return x * x * x * k

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3.0 * x * x * ctx.k, None  # d/dx k x^3 = 3 k x^2

    @staticmethod
    def jvp(ctx, tangent, k_tangent):
        assert k_tangent is None  # non-tensor arguments get None
        (x,) = ctx.saved_tensors
        return tangent * 3.0 * x * x * ctx.k


class SavedOutputExp(tg.Function):
    """exp that saves its output, the way an efficient rule does (d exp = exp)."""

    @staticmethod
    def forward(ctx, x):
        result = x.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result

    @staticmethod
    def jvp(ctx, tangent):
        (result,) = ctx.saved_tensors
        return tangent * result


X = [0.5, -1.25, 2.0]


# ---------------------------------------------------------------- rules


def test_forward_backward_and_saved_tensors():
    x = leaf(X)
    y = ScaledCube.apply(x, 2.0)
    assert_close(y, 2 * np.array(X) ** 3)
    assert y.requires_grad and y.grad_fn.name() == "ScaledCubeBackward"
    y.sum().backward()
    assert_close(x.grad, 6 * np.array(X) ** 2)


def test_a_custom_function_in_the_middle_of_a_graph():
    x = leaf(X)
    y = ScaledCube.apply(x.sin(), 0.5).exp().sum()
    y.backward()
    s = np.sin(X)
    assert_close(x.grad, np.exp(0.5 * s**3) * 1.5 * s**2 * np.cos(X))


def test_gradcheck_and_gradgradcheck_pass_correct_functions():
    assert gradcheck(lambda a: ScaledCube.apply(a, -1.5), [leaf(X)])
    assert gradgradcheck(lambda a: ScaledCube.apply(a, -1.5), [leaf(X)])
    assert gradcheck(SavedOutputExp.apply, [leaf(X)])
    assert gradgradcheck(SavedOutputExp.apply, [leaf(X)])


def test_forward_runs_without_recording():
    seen = {}

    class Spy(tg.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2.0
            seen["grad_enabled"] = tg.is_grad_enabled()
            seen["requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.0

    out = Spy.apply(leaf(X))
    assert seen == {"grad_enabled": False, "requires_grad": False}
    assert out.requires_grad and out.grad_fn.name() == "SpyBackward"


def test_no_node_when_nothing_requires_grad():
    out = ScaledCube.apply(f64(X), 2.0)
    assert not out.requires_grad and out.grad_fn is None
    assert_close(out, 2 * np.array(X) ** 3)


def test_needs_input_grad_and_non_tensor_arguments():
    record = {}

    class Mixed(tg.Function):
        @staticmethod
        def forward(ctx, a, b, scale, label):
            record["forward"] = ctx.needs_input_grad
            record["label"] = label
            ctx.scale = scale
            ctx.save_for_backward(a, b)
            return a * b * scale

        @staticmethod
        def backward(ctx, grad):
            record["backward"] = ctx.needs_input_grad
            a, b = ctx.saved_tensors
            grad_a = grad * b * ctx.scale if ctx.needs_input_grad[0] else None
            grad_b = grad * a * ctx.scale if ctx.needs_input_grad[1] else None
            return grad_a, grad_b, None, None

    a, b = leaf([1.0, 2.0]), f64([3.0, 4.0])
    Mixed.apply(a, b, 0.5, "tag").sum().backward()
    assert record == {
        "forward": (True, False, False, False),
        "backward": (True, False, False, False),
        "label": "tag",
    }
    assert_close(a.grad, [1.5, 2.0])


def test_saved_tensors_only_inside_the_rules():
    captured = {}

    class Keep(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            captured["ctx"] = ctx
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    Keep.apply(leaf(X))
    with raises(tg.GraphError, "saved_tensors", "backward"):
        _ = captured["ctx"].saved_tensors


def test_save_for_backward_takes_only_tensors():
    class SavesANumber(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    with raises(tg.DTypeError, "save_for_backward", "argument 1", "int"):
        SavesANumber.apply(leaf(X))


def test_saved_none_comes_back_as_none():
    class SavesNone(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(None, x)
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            nothing, x = ctx.saved_tensors
            assert nothing is None
            assert isinstance(x, tg.Tensor)
            return grad * 2.0

    x = leaf(X)
    SavesNone.apply(x).sum().backward()
    assert_close(x.grad, [2.0, 2.0, 2.0])


def test_modifying_a_saved_tensor_in_place_is_caught():
    x = leaf(X)
    h = x * 1.0
    y = ScaledCube.apply(h, 1.0)
    with tg.no_grad():
        h._assign(tg.zeros(3, dtype=tg.float64))
    with raises(tg.GraphError, "ScaledCubeBackward", "modified by an inplace operation"):
        y.sum().backward()


def test_multi_output_function():
    class SinCos(tg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x.cos()

        @staticmethod
        def backward(ctx, grad_sin, grad_cos):
            (x,) = ctx.saved_tensors
            return grad_sin * x.cos() - grad_cos * x.sin()

    x = leaf(X)
    s, c = SinCos.apply(x)
    assert s.grad_fn.name() == c.grad_fn.name() == "SinCosBackward"
    (2.0 * s + c * c).sum().backward()
    xs = np.array(X)
    assert_close(x.grad, 2 * np.cos(xs) - 2 * np.cos(xs) * np.sin(xs))
    assert gradcheck(lambda a: SinCos.apply(a), [leaf(X)])


def test_an_output_without_gradient_gets_zeros_in_backward():
    received = []

    class Pair(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0, x * 3.0

        @staticmethod
        def backward(ctx, grad_first, grad_second):
            received.append((values(grad_first), values(grad_second)))
            return grad_first * 2.0 + grad_second * 3.0

    x = leaf([1.0, 2.0])
    first, _ = Pair.apply(x)
    first.sum().backward()
    ((g1, g2),) = received
    assert_close(g1, [1.0, 1.0])
    assert_close(g2, [0.0, 0.0])
    assert_close(x.grad, [2.0, 2.0])


def test_higher_order_through_a_custom_function():
    x = leaf([0.5, 2.0])
    (g,) = tg.grad(ScaledCube.apply(x, 1.0).sum(), [x], create_graph=True)
    assert_close(g, 3 * np.array([0.25, 4.0]))
    (gg,) = tg.grad(g.sum(), [x])
    assert_close(gg, 6 * np.array([0.5, 2.0]))
    assert_close(
        func.grad(func.grad(lambda a: ScaledCube.apply(a, 1.0)))(f64(0.5)), 3.0
    )


# ---------------------------------------------------------------- forward mode


def test_jvp_rule_is_used_in_forward_mode():
    x, v = f64(X), f64([1.0, 2.0, -1.0])
    out, t = func.jvp(lambda a: ScaledCube.apply(a, 2.0), (x,), (v,))
    assert_close(out, 2 * np.array(X) ** 3)
    assert_close(t, 6 * np.array(X) ** 2 * values(v))
    _, t = func.jvp(SavedOutputExp.apply, (x,), (v,))
    assert_close(t, np.exp(X) * values(v))


def test_jvp_gets_zeros_for_tensors_without_a_tangent():
    seen = []

    class Mul(tg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, grad * a

        @staticmethod
        def jvp(ctx, tangent_a, tangent_b):
            seen.append(values(tangent_b))
            a, b = ctx.saved_tensors
            return tangent_a * b + a * tangent_b

    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    _, t = func.jvp(lambda p: Mul.apply(p, b), (a,), (f64([1.0, 1.0]),))
    assert_close(seen[0], [0.0, 0.0])
    assert_close(t, [3.0, 4.0])


def test_hvp_and_hessian_through_a_custom_function():
    x = f64([0.5, 2.0])
    f = lambda a: ScaledCube.apply(a, 1.0).sum()
    assert_close(func.hessian(f)(x), np.diag([3.0, 12.0]))
    _, product = func.hvp(f, (x,), (f64([1.0, -1.0]),))
    assert_close(product, [3.0, -12.0])


def test_forward_mode_without_a_jvp_rule_is_a_clear_error():
    class NoJvp(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.0

    x = f64(X)
    assert_close(func.jacrev(NoJvp.apply)(x), 2 * np.eye(3))  # reverse mode is fine
    with raises(tg.GraphError, "NoJvpBackward", "jvp"):
        func.jvp(NoJvp.apply, (x,), (x,))
    with raises(tg.GraphError, "NoJvpBackward", "jvp"):
        func.jacfwd(NoJvp.apply)(x)


def test_forward_mode_of_a_multi_output_function_is_a_clear_error():
    class Pair(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0, x * 3.0

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2.0 + g2 * 3.0

        @staticmethod
        def jvp(ctx, tangent):
            return tangent * 2.0

    with raises(tg.GraphError, "PairBackward", "single-output"):
        func.jvp(lambda a: Pair.apply(a)[0], (f64(X),), (f64(X),))


def _jvp_returning(value_of):
    class WrongJvp(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.0

        @staticmethod
        def jvp(ctx, tangent):
            return value_of(tangent)

    return WrongJvp


@pytest.mark.parametrize(
    ("wrong", "exc", "fragments"),
    [
        (lambda t: t.sum(), tg.ShapeError, ("WrongJvpBackward", "()", "(3,)")),
        (lambda t: t[:1], tg.ShapeError, ("WrongJvpBackward", "(1,)", "(3,)")),
        (
            lambda t: tg.ones(4, dtype=tg.float64),
            tg.ShapeError,
            ("WrongJvpBackward", "(4,)", "(3,)"),
        ),
        (lambda t: 3.0, tg.DTypeError, ("WrongJvpBackward", "float")),
        (lambda t: t.float(), tg.GraphError, ("WrongJvpBackward", "float32")),
    ],
    ids=["scalar", "size-1", "too-long", "not-a-tensor", "float32"],
)
def test_a_wrong_jvp_rule_is_an_error_naming_the_function(wrong, exc, fragments):
    """A tangent must have the output's shape and dtype: broadcasting a scalar or a
    size-1 tangent would silently give a wrong directional derivative."""
    with raises(exc, *fragments):
        func.jvp(_jvp_returning(wrong).apply, (f64(X),), (f64([1.0, 2.0, 3.0]),))


# ---------------------------------------------------------------- wrong backward


def _backward_returning(value_of, name="Wrong"):
    def forward(ctx, x, k=2.0):
        return x * k

    def backward(ctx, grad):
        return value_of(grad)

    return type(
        name,
        (tg.Function,),
        {"forward": staticmethod(forward), "backward": staticmethod(backward)},
    )


@pytest.mark.parametrize(
    ("returned", "exc", "fragments"),
    [
        (
            lambda g: (g, g),
            tg.GraphError,
            ("WrongBackward", "2 gradient", "1 argument"),
        ),
        (lambda g: (), tg.GraphError, ("WrongBackward", "0 gradient", "1 argument")),
        (lambda g: g.sum(), tg.ShapeError, ("WrongBackward", "()", "(3,)")),
        (lambda g: g[:1], tg.ShapeError, ("WrongBackward", "(1,)", "(3,)")),
        (lambda g: 3.0, tg.DTypeError, ("WrongBackward", "float", "argument 0")),
        (lambda g: [g], tg.DTypeError, ("WrongBackward", "list")),
    ],
    ids=["too-many", "none", "scalar", "size-1", "a-float", "a-list"],
)
def test_a_wrong_backward_is_an_error_naming_the_function(returned, exc, fragments):
    wrong = _backward_returning(returned)
    x = leaf(X)
    with raises(exc, *fragments):
        wrong.apply(x).sum().backward()
    assert x.grad is None  # nothing was accumulated
    with raises(exc, *fragments):
        z = leaf(X)
        tg.grad(wrong.apply(z).sum(), [z])


def test_a_gradient_for_a_non_tensor_argument_is_an_error():
    wrong = _backward_returning(lambda g: (g, g))
    with raises(tg.GraphError, "WrongBackward", "argument 1", "not a Tensor"):
        wrong.apply(leaf(X), 2.0).sum().backward()


def test_forward_must_return_tensors():
    class ReturnsAFloat(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    class ReturnsAList(ReturnsAFloat):
        @staticmethod
        def forward(ctx, x):
            return (x * 1.0, [1.0])

    with raises(tg.DTypeError, "ReturnsAFloat", "float"):
        ReturnsAFloat.apply(leaf(X))
    with raises(tg.DTypeError, "ReturnsAList", "output 1", "list"):
        ReturnsAList.apply(leaf(X))


def test_missing_forward_or_backward():
    class NoBackward(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

    class NoForward(tg.Function):
        pass

    with pytest.raises(NotImplementedError, match="forward"):
        NoForward.apply(leaf(X))
    with pytest.raises(NotImplementedError, match="backward"):
        NoBackward.apply(leaf(X)).sum().backward()


# ---------------------------------------------------------------- exceptions


class Boom(Exception):
    pass


def _raising_backward(error):
    class Raises(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            raise error

    return Raises


@pytest.mark.parametrize("create_graph", [False, True])
def test_an_exception_in_backward_reaches_the_caller_unchanged(create_graph):
    error = Boom("from inside backward")
    fn = _raising_backward(error)
    x = leaf(X)
    with pytest.raises(Boom) as info:
        (fn.apply(x.exp()) * 3.0).sum().backward(create_graph=create_graph)
    assert info.value is error
    assert x.grad is None
    with pytest.raises(Boom) as info:
        tg.grad(fn.apply(x).sum(), [x], create_graph=create_graph)
    assert info.value is error
    assert tg.is_grad_enabled()


def test_builtin_exceptions_keep_their_type():
    error = KeyError("missing")
    with pytest.raises(KeyError) as info:
        _raising_backward(error).apply(leaf(X)).sum().backward()
    assert info.value is error


def test_an_exception_in_jvp_reaches_the_caller_unchanged():
    error = Boom("from inside jvp")

    class RaisesInJvp(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.0

        @staticmethod
        def jvp(ctx, tangent):
            raise error

    with pytest.raises(Boom) as info:
        func.jvp(RaisesInJvp.apply, (f64(X),), (f64(X),))
    assert info.value is error


def test_after_an_exception_the_graph_can_still_be_used():
    """A failed backward (retain_graph=True) leaves the nodes intact for a retry."""
    calls = []

    class Flaky(tg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            calls.append(1)
            if len(calls) == 1:
                raise Boom("first time")
            return grad * 2.0

    x = leaf(X)
    y = Flaky.apply(x).sum()
    with pytest.raises(Boom):
        y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, [2.0, 2.0, 2.0])


# ---------------------------------------------------------------- the checkers


class WrongBackward(tg.Function):
    """x^2 with backward 3x instead of 2x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3.0 * x


class FrozenBackward(tg.Function):
    """x^3 whose backward is numerically right (3x^2) but computed outside the graph
    (NumPy), so it is not differentiable: its second derivative comes out 0."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * tg.tensor(3.0 * x.detach().numpy() ** 2)


def test_gradcheck_catches_a_wrong_backward():
    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(WrongBackward.apply, [leaf(X)])
    assert gradcheck(WrongBackward.apply, [leaf(X)], raise_exception=False) is False


def test_gradgradcheck_catches_a_right_but_non_differentiable_backward():
    assert gradcheck(FrozenBackward.apply, [leaf(X)])  # first derivatives are right
    with pytest.raises(GradcheckError, match="input 0"):
        gradgradcheck(FrozenBackward.apply, [leaf(X)])


def test_gradgradcheck_catches_a_detach_trick():
    """x * x.detach() has the value of x^2 but the gradient of c x."""
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda a: (a * a.detach()).sum(), [leaf(X)])
    assert gradgradcheck(lambda a: (a * a).sin(), [leaf(X)])


def test_gradgradcheck_with_explicit_grad_outputs_and_two_inputs():
    a, b = leaf([0.5, 1.5]), leaf([2.0, -1.0])
    u = tg.tensor([1.0, -0.5], dtype=tg.float64, requires_grad=True)
    assert gradgradcheck(lambda p, q: (p * q).exp(), [a, b], grad_outputs=[u])
    with raises(ValueError, "2 grad_outputs", "1 outputs"):
        gradgradcheck(lambda p, q: p * q, [a, b], grad_outputs=[u, u])
