"""Random numbers: generators and seeds (reproducibility, state round trips), the
samplers' distributions (chi-square and z tests with fixed seeds: each would fail for a
sampler off by a few percent), dtypes, and errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tapegrad as tg

# Upper 0.1% points of the chi-square distribution, by degrees of freedom.
CHI2_999 = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47, 9: 27.88, 19: 43.82}


def chi_square(counts: np.ndarray, probs: np.ndarray) -> float:
    expected = counts.sum() * probs / probs.sum()
    return float(((counts - expected) ** 2 / expected).sum())


def assert_fits(counts, probs):
    counts, probs = np.asarray(counts, float), np.asarray(probs, float)
    stat = chi_square(counts, probs)
    assert stat < CHI2_999[len(counts) - 1], (stat, counts, probs)


def _gen(seed: int) -> tg.Generator:
    return tg.Generator().manual_seed(seed)


SAMPLERS = {
    "rand": lambda g: tg.rand(3, 4, generator=g),
    "randn": lambda g: tg.randn(5, generator=g),
    "rand_like": lambda g: tg.rand_like(tg.zeros(2, 2), generator=g),
    "randn_like": lambda g: tg.randn_like(tg.zeros(3), generator=g),
    "randint": lambda g: tg.randint(0, 100, (6,), generator=g),
    "randint_like": lambda g: tg.randint_like(tg.zeros(4), 10, generator=g),
    "randperm": lambda g: tg.randperm(10, generator=g),
    "multinomial": lambda g: tg.multinomial(tg.ones(2, 8), 3, generator=g),
    "multinomial_replacement": lambda g: tg.ones(8).multinomial(20, True, generator=g),
    "bernoulli": lambda g: tg.bernoulli(tg.full((8,), 0.5), generator=g),
    "bernoulli_p": lambda g: tg.zeros(8).bernoulli(0.3, generator=g),
    "normal_tensors": lambda g: tg.normal(tg.zeros(5), tg.ones(5), generator=g),
    "normal_floats": lambda g: tg.normal(2.0, 3.0, (5,), generator=g),
    "normal_mean_tensor": lambda g: tg.normal(tg.zeros(5), 2.0, generator=g),
    "normal_std_tensor": lambda g: tg.normal(1.0, tg.ones(5), generator=g),
    "poisson": lambda g: tg.poisson(tg.full((6,), 4.0), generator=g),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_takes_a_generator_and_reproduces_with_its_seed(name):
    sample = SAMPLERS[name]
    a, b = sample(_gen(7)), sample(_gen(7))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    # Another seed gives another draw (the samples here have many possible values).
    others = [sample(_gen(s)).numpy() for s in (8, 9, 10)]
    assert any(not np.array_equal(a.numpy(), o) for o in others)
    # A generator of one's own leaves the default stream alone.
    tg.manual_seed(3)
    expected = tg.rand(4)
    tg.manual_seed(3)
    sample(_gen(1))
    np.testing.assert_array_equal(tg.rand(4).numpy(), expected.numpy())


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_draws_from_the_default_generator(name):
    sample = SAMPLERS[name]
    tg.manual_seed(11)
    a = sample(None)
    tg.manual_seed(11)
    np.testing.assert_array_equal(sample(None).numpy(), a.numpy())


def test_seeds_and_states():
    assert isinstance(tg.manual_seed(5), tg.Generator)
    assert tg.initial_seed() == 5
    s = tg.seed()
    assert isinstance(s, int) and tg.initial_seed() == s and 0 <= s < 2**63
    g = tg.Generator()
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1  # wrapped, as PyTorch does
    g.manual_seed(42)
    tg.rand(3, generator=g)
    state = g.get_state()
    assert state.dtype == tg.uint8 and state.shape == (64,)
    after = tg.rand(5, generator=g)
    h = tg.Generator().set_state(state)
    np.testing.assert_array_equal(tg.rand(5, generator=h).numpy(), after.numpy())
    assert h.initial_seed() == 42 and h.device == "cpu"
    tg.manual_seed(0)
    saved = tg.get_rng_state()
    first = tg.randn(3)
    tg.set_rng_state(saved)
    np.testing.assert_array_equal(tg.randn(3).numpy(), first.numpy())
    assert tg.default_generator.initial_seed() == 0


def test_state_errors():
    g = tg.Generator()
    with pytest.raises(tg.ArgumentError, match="64 bytes, got 3"):
        g.set_state(tg.zeros(3, dtype=tg.uint8))
    with pytest.raises(tg.DTypeError, match="uint8"):
        g.set_state(tg.zeros(64))
    with pytest.raises(tg.ArgumentError, match="CPU only"):
        tg.Generator("cuda")


def test_dtypes_and_shapes():
    assert tg.randint(5, (2, 3)).dtype == tg.int64
    assert tg.randint(2, 5, size=(4,), dtype=tg.float32).dtype == tg.float32
    assert tg.randint_like(tg.zeros(3, dtype=tg.float64), 4).dtype == tg.float64
    assert tg.randperm(4).dtype == tg.int64
    assert tg.randperm(4, dtype=tg.float32).dtype == tg.float32
    assert tg.multinomial(tg.ones(3, 4), 2).shape == (3, 2)
    assert tg.multinomial(tg.ones(4), 2).dtype == tg.int64
    assert tg.bernoulli(tg.full((3,), 0.5, dtype=tg.float64)).dtype == tg.float64
    assert tg.normal(0.0, 1.0, (2, 2)).dtype == tg.float32
    assert tg.normal(tg.zeros(3, dtype=tg.float64), 1.0).dtype == tg.float64
    assert tg.poisson(tg.ones(2)).dtype == tg.float32
    assert tg.randperm(0).shape == (0,)
    x = tg.rand(2, requires_grad=True)
    assert x.requires_grad and not tg.normal(x, 1.0).requires_grad


def test_randint_is_uniform_over_its_range():
    values = tg.randint(-3, 7, (20000,), generator=_gen(1)).numpy()
    assert values.min() == -3 and values.max() == 6
    assert_fits(np.bincount(values + 3, minlength=10), np.ones(10))


def test_rand_is_uniform():
    values = tg.rand(20000, generator=_gen(2), dtype=tg.float64).numpy()
    assert_fits(np.histogram(values, bins=20, range=(0, 1))[0], np.ones(20))


def test_randperm_is_a_uniform_permutation():
    g = _gen(3)
    perms = np.stack([tg.randperm(5, generator=g).numpy() for _ in range(4000)])
    assert (np.sort(perms, axis=1) == np.arange(5)).all()
    assert_fits(np.bincount(perms[:, 0], minlength=5), np.ones(5))
    assert_fits(np.bincount(perms[:, 3], minlength=5), np.ones(5))


def test_multinomial_with_replacement_follows_the_weights():
    weights = np.array([1.0, 0.0, 2.0, 3.0, 4.0])
    draws = tg.tensor(weights).multinomial(20000, True, generator=_gen(4)).numpy()
    counts = np.bincount(draws, minlength=5)
    assert counts[1] == 0
    assert_fits(counts[[0, 2, 3, 4]], weights[[0, 2, 3, 4]])


def test_multinomial_without_replacement_draws_in_order_of_the_weights_left():
    weights = np.array([1.0, 2.0, 3.0])
    rows = tg.tensor(np.tile(weights, (6000, 1))).multinomial(2, generator=_gen(5))
    rows = rows.numpy()
    assert (rows[:, 0] != rows[:, 1]).all()
    assert_fits(np.bincount(rows[:, 0], minlength=3), weights)
    # P(second = j) = sum_i p_i * p_j / (1 - p_i)
    p = weights / weights.sum()
    second = [
        sum(p[i] * p[j] / (1 - p[i]) for i in range(3) if i != j) for j in range(3)
    ]
    assert_fits(np.bincount(rows[:, 1], minlength=3), np.array(second))


def test_multinomial_puts_zero_weights_after_the_others():
    draws = tg.tensor([1.0, 0.0, 1.0]).multinomial(3, generator=_gen(6)).tolist()
    assert draws[2] == 1 and sorted(draws) == [0, 1, 2]


def test_bernoulli_normal_and_poisson_moments():
    n = 40000
    p = tg.full((n,), 0.3, dtype=tg.float64)
    ones = int(tg.bernoulli(p, generator=_gen(7)).sum().item())
    assert_fits([ones, n - ones], [0.3, 0.7])
    x = tg.normal(2.0, 3.0, (n,), generator=_gen(8), dtype=tg.float64).numpy()
    assert abs(x.mean() - 2.0) < 4 * 3.0 / math.sqrt(n)
    assert abs(x.std() - 3.0) < 4 * 3.0 / math.sqrt(2 * n)
    t = tg.normal(
        tg.tensor([0.0, 10.0]).expand(n // 2, 2),
        tg.tensor([1.0, 0.5]),
        generator=_gen(9),
    ).numpy()
    assert abs(t[:, 1].mean() - 10.0) < 4 * 0.5 / math.sqrt(n // 2)
    k = tg.poisson(tg.full((n,), 3.5, dtype=tg.float64), generator=_gen(10)).numpy()
    assert (k == np.round(k)).all() and k.min() >= 0
    counts = np.bincount(k.astype(int), minlength=10)
    tail = counts[9:].sum()
    probs = [math.exp(-3.5) * 3.5**i / math.factorial(i) for i in range(9)]
    assert_fits([*counts[:9], tail], [*probs, 1 - sum(probs)])
    assert tg.poisson(tg.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_sampler_errors():
    with pytest.raises(tg.ArgumentError, match="n_sample > prob_dist.size"):
        tg.multinomial(tg.tensor([1.0, 0.0, 1.0]), 4)
    with pytest.raises(tg.ArgumentError, match="element < 0"):
        tg.multinomial(tg.tensor([1.0, -1.0]), 1)
    with pytest.raises(tg.ArgumentError, match="inf"):
        tg.multinomial(tg.tensor([1.0, float("nan")]), 1)
    with pytest.raises(tg.ArgumentError, match="sum of probabilities <= 0"):
        tg.multinomial(tg.zeros(2), 1)
    with pytest.raises(tg.ArgumentError, match="n_sample <= 0"):
        tg.multinomial(tg.ones(2), 0)
    with pytest.raises(tg.ShapeError, match="1 or 2 dim"):
        tg.multinomial(tg.ones(2, 2, 2), 1)
    with pytest.raises(tg.DTypeError, match="floating"):
        tg.multinomial(tg.tensor([1, 2]), 1)
    with pytest.raises(tg.ArgumentError, match="low=5 >= high=5"):
        tg.randint(5, 5, (2,))
    with pytest.raises(tg.ArgumentError, match="non-negative"):
        tg.randperm(-1)
    with pytest.raises(tg.ArgumentError, match="0 <= p <= 1"):
        tg.bernoulli(tg.tensor([1.5]))
    with pytest.raises(tg.DTypeError, match="floating"):
        tg.bernoulli(tg.tensor([1]))
    with pytest.raises(tg.ArgumentError, match="std >= 0.0"):
        tg.normal(0.0, -1.0, (2,))
    with pytest.raises(tg.ArgumentError, match="std >= 0.0"):
        tg.normal(tg.zeros(2), tg.tensor([-1.0, 1.0]))
    with pytest.raises(tg.ShapeError, match=r"\(2,\).*\(3,\)|\(3,\).*\(2,\)"):
        tg.normal(tg.zeros(2), tg.ones(3))
    with pytest.raises(tg.ArgumentError, match="Poisson rate"):
        tg.poisson(tg.tensor([-1.0]))


def test_every_random_function_has_a_generator_keyword():
    import inspect

    names = ["rand", "randn", "rand_like", "randn_like", "randint", "randint_like"]
    names += ["randperm", "multinomial", "bernoulli", "normal", "poisson"]
    for name in names:
        assert "generator" in inspect.signature(getattr(tg, name)).parameters, name
