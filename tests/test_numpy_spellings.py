"""NumPy's ``axis=``/``keepdims=`` for ``dim``/``keepdim``, as PyTorch's argument parser
accepts them: every Tensor method and function with those parameters (swept from
PyTorch's own signatures), both as ``x.f(...)`` and ``tg.f(x, ...)``, gives what PyTorch
gives; both spellings at once is a ``TypeError`` in both libraries."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tapegrad as tg

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4))
X[0, 1] = X[2, 3]  # a tie, for mode
SQUARE = rng.normal(size=(3, 3))
INDEX = np.array([[0, 2, 1, 0], [1, 0, 2, 2]])
ROWS = np.array([2, 0])


def _pair(data):
    """The same data as a tapegrad and a torch tensor (int64 for integer arrays)."""
    data = np.asarray(data)
    return tg.tensor(data), torch.tensor(data)


def _x():
    return _pair(X)


# name -> (input, positional arguments before dim, dim, other keywords, has keepdim).
# Inputs and tensor arguments are (tapegrad, torch) pairs, made fresh for each call.
CALLS = {
    "all": (lambda: _pair(X > 0), (), 1, {}, True),
    "any": (lambda: _pair(X > 0), (), 1, {}, True),
    "amax": (_x, (), 1, {}, True),
    "amin": (_x, (), 1, {}, True),
    "aminmax": (_x, (), 1, {}, True),
    "argmax": (_x, (), 1, {}, True),
    "argmin": (_x, (), 1, {}, True),
    "argsort": (_x, (), 0, {}, False),
    "chunk": (_x, (2,), 1, {}, False),
    "count_nonzero": (lambda: _pair(X > 0), (), 1, {}, False),
    "cross": (lambda: _pair(SQUARE), (lambda: _pair(SQUARE.T.copy()),), 0, {}, False),
    "cummax": (_x, (), 1, {}, False),
    "cummin": (_x, (), 1, {}, False),
    "cumprod": (_x, (), 1, {}, False),
    "cumsum": (_x, (), 1, {}, False),
    "diff": (_x, (), 0, {}, False),
    "gather": (_x, (), 0, {"index": lambda: _pair(INDEX)}, False),
    "index_add": (_x, (), 0, {"index": lambda: _pair(ROWS), "source": lambda: _pair(X[:2])}, False),
    "index_copy": (_x, (), 0, {"index": lambda: _pair(ROWS), "source": lambda: _pair(X[:2])}, False),
    "index_fill": (_x, (), 0, {"index": lambda: _pair(ROWS), "value": 1.5}, False),
    "index_select": (_x, (), 0, {"index": lambda: _pair(ROWS)}, False),
    "kthvalue": (_x, (2,), 1, {}, True),
    "logcumsumexp": (_x, (), 1, {}, False),
    "logsumexp": (_x, (), 1, {}, True),
    "max": (_x, (), 1, {}, True),
    "mean": (_x, (), 1, {}, True),
    "median": (_x, (), 1, {}, True),
    "min": (_x, (), 1, {}, True),
    "mode": (_x, (), 1, {}, True),
    "nanmean": (_x, (), 1, {}, True),
    "nanmedian": (_x, (), 1, {}, True),
    "nanquantile": (_x, (0.5,), 1, {}, True),
    "nansum": (_x, (), 1, {}, True),
    "prod": (_x, (), 1, {}, True),
    "quantile": (_x, (0.5,), 1, {}, True),
    "renorm": (_x, (2,), 0, {"maxnorm": 1.0}, False),
    "repeat_interleave": (_x, (2,), 1, {}, False),
    "scatter": (_x, (), 0, {"index": lambda: _pair(INDEX), "src": lambda: _pair(X)}, False),
    "scatter_add": (_x, (), 0, {"index": lambda: _pair(INDEX), "src": lambda: _pair(X)}, False),
    "scatter_reduce": (
        _x, (), 0, {"index": lambda: _pair(INDEX), "src": lambda: _pair(X), "reduce": "amax"},
        False,
    ),
    "select": (_x, (), 1, {"index": 2}, False),
    "size": (_x, (), 1, {}, False),
    "softmax": (_x, (), 1, {}, False),
    "log_softmax": (_x, (), 1, {}, False),
    "sort": (_x, (), 1, {}, False),
    "squeeze": (lambda: _pair(X.reshape(3, 1, 4)), (), 1, {}, False),
    "std": (_x, (), 1, {}, True),
    "stride": (_x, (), 1, {}, False),
    "sum": (_x, (), 1, {}, True),
    "take_along_dim": (_x, (lambda: _pair(INDEX),), 0, {}, False),
    "tensor_split": (_x, (2,), 1, {}, False),
    "topk": (_x, (2,), 1, {}, False),
    "unbind": (_x, (), 1, {}, False),
    "unflatten": (_x, (), 1, {"sizes": (2, 2)}, False),
    "unsqueeze": (_x, (), 0, {}, False),
    "var": (_x, (), 1, {}, True),
}
# In-place forms: the tensor after the call is compared.
for _name in ("index_add_", "index_copy_", "index_fill_", "scatter_", "scatter_add_"):
    CALLS[_name] = CALLS[_name[:-1]]
CALLS["scatter_reduce_"] = CALLS["scatter_reduce"]
CALLS["index_reduce_"] = (
    _x, (), 0, {"index": lambda: _pair(ROWS), "source": lambda: _pair(X[:2]), "reduce": "prod"},
    False,
)
CALLS["unsqueeze_"] = CALLS["unsqueeze"]
CALLS["cumsum_"] = CALLS["cumsum"]
CALLS["cumprod_"] = CALLS["cumprod"]
CALLS["renorm_"] = CALLS["renorm"]
CALLS["squeeze_"] = CALLS["squeeze"]

# Functions of the package that are not Tensor methods.
FUNCTIONS = {
    "cat": lambda lib, pair: lib.cat([pair, pair]),
    "concat": lambda lib, pair: lib.concat([pair, pair]),
    "stack": lambda lib, pair: lib.stack([pair, pair]),
}
REDUCING_FUNCTIONS = ("std_mean", "var_mean", "cumulative_trapezoid", "trapezoid", "trapz")

# Names whose PyTorch signature mentions dim but are not about an axis argument.
NOT_AXES = {"dim": "the number of dimensions", "ndim": "the number of dimensions"}


def _numpy(result):
    if isinstance(result, (tg.Tensor, torch.Tensor)):
        return np.asarray(result.detach().numpy())
    if isinstance(result, (tuple, list)):
        return [_numpy(r) for r in result]
    return result


def _same(a, b):
    a, b = _numpy(a), _numpy(b)
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _arguments(side, args, kwargs):
    pick = lambda v: v()[side] if callable(v) else v  # noqa: E731
    return tuple(pick(a) for a in args), {k: pick(v) for k, v in kwargs.items()}


def _call(side, name, how, dim_kwargs):
    make, args, _dim, kwargs, _ = CALLS[name]
    x = make()[side]
    args, kwargs = _arguments(side, args, kwargs)
    if how == "method":
        result = getattr(x, name)(*args, **dim_kwargs, **kwargs)
    else:
        lib = tg if side == 0 else torch
        result = getattr(lib, name)(x, *args, **dim_kwargs, **kwargs)
    return x if name.endswith("_") else result


def test_every_function_with_a_dim_is_swept():
    """Every Tensor method PyTorch gives a ``dim``/``keepdim`` parameter, that tapegrad
    has, is in CALLS (so a new one cannot miss the spellings)."""
    missing = []
    for name in dir(torch.Tensor):
        if name.startswith("_") or name in NOT_AXES or not hasattr(tg.Tensor, name):
            continue
        first = (getattr(torch.Tensor, name).__doc__ or "").strip().split("\n")[0]
        if re.search(r"\b(dim|keepdim)\b", first) and name not in CALLS:
            missing.append(name)
    assert not missing, f"add these to CALLS: {missing}"


FORMS = [(name, "method") for name in sorted(CALLS)] + [
    (name, "function")
    for name in sorted(CALLS)
    if not name.endswith("_") and hasattr(tg, name) and hasattr(torch, name)
]


@pytest.mark.parametrize(("name", "how"), FORMS)
def test_axis_is_dim(name, how):
    dim, keepdim = CALLS[name][2], CALLS[name][4]
    expected = _call(1, name, how, {"dim": dim})
    _same(_call(0, name, how, {"axis": dim}), expected)
    _same(_call(0, name, how, {"dim": dim}), expected)
    if keepdim:
        expected = _call(1, name, how, {"dim": dim, "keepdim": True})
        _same(_call(0, name, how, {"axis": dim, "keepdims": True}), expected)
        _same(_call(0, name, how, {"dim": dim, "keepdims": True}), expected)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_both_spellings_is_a_type_error(name):
    dim = CALLS[name][2]
    with pytest.raises(TypeError):
        _call(1, name, "method", {"dim": dim, "axis": dim})
    with pytest.raises(TypeError):
        _call(0, name, "method", {"dim": dim, "axis": dim})
    if CALLS[name][4]:
        with pytest.raises(TypeError):
            _call(0, name, "method", {"dim": dim, "keepdim": True, "keepdims": True})


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_joining_functions_take_axis(name):
    a, b = _x()
    expected = getattr(torch, name)([b, b], dim=1)
    _same(getattr(tg, name)([a, a], axis=1), expected)
    with pytest.raises(TypeError):
        getattr(tg, name)([a, a], dim=1, axis=1)


@pytest.mark.parametrize("name", REDUCING_FUNCTIONS)
def test_package_functions_take_axis(name):
    a, b = _x()
    _same(getattr(tg, name)(a, axis=0), getattr(torch, name)(b, dim=0))


def test_reductions_from_the_brief():
    x = tg.tensor(X)
    assert x.max(axis=1).values.shape == (3,)
    assert x.max(dim=1, keepdims=True).values.shape == (3, 1)
    assert x.min(axis=0).indices.shape == (4,)
    assert x.median(axis=1).values.shape == (3,)
    assert x.mode(axis=1).values.shape == (3,)
    assert tg.sum(x, axis=(0, 1), keepdims=True).shape == (1, 1)
