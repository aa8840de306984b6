"""Random sampling (``tensorcore/random.py``): ``rand_like`` / ``randn_like`` /
``randint_like``, ``bernoulli``, ``multinomial``, ``normal`` and the in-place samplers
``uniform_`` / ``normal_`` / ``bernoulli_`` / ``exponential_`` / ``random_``.

Random values differ from PyTorch's by design, so these check shapes, dtypes, devices,
ranges, seeding (``tc.manual_seed`` and ``generator=``) and the distributions: each
statistical check is seeded (deterministic) with a tolerance of several standard errors
that a correct sampler passes and a wrong parameterisation (a rate for a scale, a std for a
variance, an unnormalised weight) fails. Errors are PyTorch's classes and messages."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc

N = 20000  # samples of the statistical checks: standard error of a mean ~ sigma / 141


def within(values, expected, sigma, n=N, k=5.0):
    """Whether the sample mean of ``values`` is within ``k`` standard errors of ``expected``."""
    return abs(float(np.mean(values)) - expected) <= k * sigma / math.sqrt(n)


# -- rand_like / randn_like / randint_like ---------------------------------------------------
def test_rand_like_and_randn_like_take_shape_dtype_device(device):
    x = tc.zeros(3, 4, dtype=tc.float64, device=device)
    for fn in (tc.rand_like, tc.randn_like):
        y = fn(x)
        assert y.shape == (3, 4) and y.dtype == tc.float64 and y.device == x.device
        assert not y.requires_grad
        assert fn(x, dtype=tc.float32).dtype == tc.float32
        assert fn(x, requires_grad=True).requires_grad
    u = to_numpy(tc.rand_like(tc.zeros(N, device=device)))
    assert u.min() >= 0 and u.max() < 1 and within(u, 0.5, math.sqrt(1 / 12))
    z = to_numpy(tc.randn_like(tc.zeros(N, device=device)))
    assert within(z, 0.0, 1.0) and abs(z.std() - 1) < 0.03


def test_rand_like_is_seeded_and_takes_a_generator(device):
    x = tc.zeros(5, device=device)
    tc.manual_seed(7)
    a = to_numpy(tc.rand_like(x))
    tc.manual_seed(7)
    np.testing.assert_array_equal(a, to_numpy(tc.rand_like(x)))
    g = tc.Generator().manual_seed(1)
    b = to_numpy(tc.randn_like(x, generator=g))
    g.manual_seed(1)
    np.testing.assert_array_equal(b, to_numpy(tc.randn_like(x, generator=g)))


def test_rand_like_of_an_integer_tensor_raises_as_pytorch():
    with pytest.raises(NotImplementedError, match="\"check_uniform_bounds\" not implemented "
                                                  "for 'Long'"):
        tc.rand_like(tc.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"normal_kernel_cpu\" not implemented for "
                                                  "'Long'"):
        tc.randn_like(tc.tensor([1, 2]))
    assert tc.rand_like(tc.tensor([1, 2]), dtype=tc.float32).dtype == tc.float32


def test_rand_of_half_precision_stays_below_one(device):
    """float64 draws that round up to 1.0 in a narrower dtype are kept below it (about one
    float16 draw in 4096 would round to 1.0)."""
    tc.manual_seed(0)
    for dtype in (tc.float16, tc.float32):
        v = to_numpy(tc.rand(4 * N, dtype=dtype, device=device))
        assert v.max() < 1 and v.min() >= 0
    v = to_numpy(tc.rand_like(tc.zeros(4 * N, dtype=tc.float16, device=device)))
    assert v.max() < 1


def test_rand_and_randn_refuse_integer_dtypes():
    with pytest.raises(NotImplementedError, match="\"check_uniform_bounds\" not implemented "
                                                  "for 'Int'"):
        tc.rand(2, dtype=tc.int32)
    with pytest.raises(NotImplementedError, match="\"normal_kernel_cpu\" not implemented for "
                                                  "'Bool'"):
        tc.randn(2, dtype=tc.bool)


def test_randint_like(device):
    x = tc.zeros(N, dtype=tc.int32, device=device)
    y = tc.randint_like(x, 5)
    assert y.dtype == tc.int32 and y.shape == (N,) and y.device == x.device
    v = to_numpy(y)
    assert set(np.unique(v)) == {0, 1, 2, 3, 4}
    assert within(v, 2.0, math.sqrt(2.0))
    v = to_numpy(tc.randint_like(tc.zeros(100, device=device), 3, 5))
    assert v.dtype == np.float32 and set(np.unique(v)) == {3.0, 4.0}
    assert set(to_numpy(tc.randint_like(x, low=-2, high=0)).tolist()) == {-2, -1}
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but "
                                           "got from=5 >= to=3"):
        tc.randint_like(x, 5, 3)
    with pytest.raises(RuntimeError, match="to - 1 is out of bounds for bool"):
        tc.randint_like(tc.tensor([True]), 5)
    with pytest.raises(RuntimeError, match="to - 1 is out of bounds for int"):
        tc.randint_like(x, 2 ** 40)
    with pytest.raises(RuntimeError, match=r"to - 1 is out of bounds for c10::Half"):
        tc.randint_like(tc.zeros(2, dtype=tc.float16), 2 ** 40)


# -- bernoulli -------------------------------------------------------------------------------
def test_bernoulli_draws_zeros_and_ones_with_the_probabilities(device):
    tc.manual_seed(0)
    p = tc.tensor(np.repeat([[0.0, 0.2, 0.9, 1.0]], N, axis=0), dtype=tc.float32, device=device)
    s = tc.bernoulli(p)
    assert s.shape == p.shape and s.dtype == tc.float32 and s.device == p.device
    v = to_numpy(s)
    assert set(np.unique(v)) <= {0.0, 1.0}
    assert v[:, 0].sum() == 0 and v[:, 3].sum() == N
    assert within(v[:, 1], 0.2, 0.4) and within(v[:, 2], 0.9, 0.3)
    assert p.bernoulli().shape == p.shape  # the Tensor method
    v = to_numpy(tc.bernoulli(tc.zeros(N, dtype=tc.float64, device=device), 0.25))
    assert v.dtype == np.float64 and within(v, 0.25, math.sqrt(0.25 * 0.75))
    ints = tc.bernoulli(tc.zeros(4, dtype=tc.int64, device=device), p=1.0)
    assert ints.dtype == tc.int64 and to_numpy(ints).tolist() == [1, 1, 1, 1]


def test_bernoulli_is_seeded_and_takes_a_generator(device):
    p = tc.full((50,), 0.5, device=device)
    tc.manual_seed(3)
    a = to_numpy(tc.bernoulli(p))
    tc.manual_seed(3)
    np.testing.assert_array_equal(a, to_numpy(tc.bernoulli(p)))
    g = tc.Generator().manual_seed(4)
    b = to_numpy(tc.bernoulli(p, generator=g))
    g.manual_seed(4)
    np.testing.assert_array_equal(b, to_numpy(tc.bernoulli(p, generator=g)))
    assert 0 < b.sum() < 50


def test_bernoulli_errors_as_pytorch():
    for bad in ([1.5], [-0.5], [float("nan")]):
        with pytest.raises(RuntimeError, match=r"Expected p_in >= 0 && p_in <= 1 to be true"):
            tc.bernoulli(tc.tensor(bad))
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got "
                                           r"p=1.5"):
        tc.bernoulli(tc.tensor([0.5]), 1.5)
    with pytest.raises(NotImplementedError, match="\"bernoulli_tensor_cpu_p_\" not "
                                                  "implemented for 'Long'"):
        tc.bernoulli(tc.tensor([1, 0]))
    with pytest.raises(TypeError, match="must be Tensor"):
        tc.bernoulli([0.5])


def test_bernoulli_of_probabilities_that_require_grad_has_zero_gradients(device):
    p = tc.tensor([0.3, 0.7], device=device, requires_grad=True)
    s = tc.bernoulli(p)
    assert s.requires_grad
    (s * 3).sum().backward()
    assert to_numpy(p.grad).tolist() == [0.0, 0.0]


def test_bernoulli_in_place(device):
    tc.manual_seed(1)
    x = tc.empty(N, device=device)
    assert x.bernoulli_(0.3) is x
    v = to_numpy(x)
    assert set(np.unique(v)) == {0.0, 1.0} and within(v, 0.3, math.sqrt(0.21))
    x = tc.zeros(N, 3, device=device).bernoulli_(tc.tensor([0.0, 0.5, 1.0], device=device))
    v = to_numpy(x)
    assert v[:, 0].sum() == 0 and v[:, 2].sum() == N and within(v[:, 1], 0.5, 0.5)
    b = tc.zeros(4, dtype=tc.bool, device=device).bernoulli_(1.0)
    assert b.dtype == tc.bool and to_numpy(b).all()
    i = tc.zeros(4, dtype=tc.int64, device=device).bernoulli_(0.0)
    assert i.dtype == tc.int64 and not to_numpy(i).any()
    with pytest.raises(RuntimeError, match=r"bernoulli_ expects p to be in \[0, 1\], but got "
                                           r"p=-0.1"):
        tc.zeros(2).bernoulli_(-0.1)
    with pytest.raises(RuntimeError, match=r"Expected p_in >= 0 && p_in <= 1"):
        tc.zeros(2).bernoulli_(tc.tensor([0.5, 1.5]))
    with pytest.raises(RuntimeError, match="expanded size"):
        tc.zeros(3).bernoulli_(tc.tensor([0.5, 0.5]))


# -- multinomial -----------------------------------------------------------------------------
def test_multinomial_with_replacement_draws_with_the_weights(device):
    tc.manual_seed(2)
    w = tc.tensor([1.0, 0.0, 3.0, 4.0], device=device)  # unnormalised
    s = tc.multinomial(w, N, replacement=True)
    assert s.shape == (N,) and s.dtype == tc.int64 and s.device == w.device
    counts = np.bincount(to_numpy(s), minlength=4) / N
    assert counts[1] == 0  # a zero weight is never drawn
    for got, p in zip(counts, [1 / 8, 0.0, 3 / 8, 4 / 8]):
        assert abs(got - p) <= 5 * math.sqrt(p * (1 - p) / N)


def test_multinomial_without_replacement_draws_distinct_categories(device):
    tc.manual_seed(3)
    w = tc.tensor([[1.0, 2.0, 3.0, 4.0, 0.5]] * 2000, dtype=tc.float64, device=device)
    s = to_numpy(tc.multinomial(w, 3))
    assert s.shape == (2000, 3) and s.dtype == np.int64
    assert all(len(set(row)) == 3 for row in s.tolist())
    # the first draw has the weights' probabilities; the second, given the first, too
    first = np.bincount(s[:, 0], minlength=5) / 2000
    p = np.array([1.0, 2.0, 3.0, 4.0, 0.5]) / 10.5
    assert np.all(np.abs(first - p) <= 5 * np.sqrt(p * (1 - p) / 2000))
    full = to_numpy(tc.multinomial(w[:10], 5))
    assert all(sorted(row) == [0, 1, 2, 3, 4] for row in full.tolist())
    one = to_numpy(tc.multinomial(tc.tensor([0.0, 0.0, 2.0], device=device), 1))
    assert one.tolist() == [2]


def test_multinomial_is_seeded_and_takes_a_generator(device):
    w = tc.ones(2, 10, device=device)
    for replacement in (False, True):
        tc.manual_seed(9)
        a = to_numpy(w.multinomial(4, replacement))
        tc.manual_seed(9)
        np.testing.assert_array_equal(a, to_numpy(tc.multinomial(w, 4, replacement)))
        g = tc.Generator().manual_seed(2)
        b = to_numpy(tc.multinomial(w, 4, replacement, generator=g))
        g.manual_seed(2)
        np.testing.assert_array_equal(b, to_numpy(tc.multinomial(w, 4, replacement,
                                                                 generator=g)))


def test_multinomial_shapes_of_empty_batches():
    assert tc.multinomial(tc.ones(0, 3), 2).shape == (0, 2)


@pytest.mark.parametrize("args, error, message", [
    ((tc.tensor([1.0, 0.0, 0.0]), 4), RuntimeError,
     "cannot sample n_sample > prob_dist.size(-1) samples without replacement"),
    ((tc.tensor([1.0, -1.0, 0.0]), 2), RuntimeError,
     "probability tensor contains either `inf`, `nan` or element < 0"),
    ((tc.tensor([1.0, float("nan")]), 1), RuntimeError,
     "probability tensor contains either `inf`, `nan` or element < 0"),
    ((tc.tensor([1.0, -1.0, 0.0]), 2, True), RuntimeError,
     "invalid multinomial distribution (encountering probability entry < 0)"),
    ((tc.tensor([1.0, float("inf"), 0.0]), 2, True), RuntimeError,
     "invalid multinomial distribution (encountering probability entry = infinity or NaN)"),
    ((tc.tensor([1.0, float("nan"), 0.0]), 2, True), RuntimeError,
     "invalid multinomial distribution (encountering probability entry < 0)"),
    ((tc.zeros(3), 2, True), RuntimeError,
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    ((tc.zeros(3), 2), RuntimeError,
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    ((tc.tensor([1, 2]), 1), RuntimeError,
     "multinomial only supports floating-point dtypes for input, got: Long"),
    ((tc.tensor(1.0), 1), RuntimeError, "prob_dist must be 1 or 2 dim"),
    ((tc.ones(2, 2, 2), 1), RuntimeError, "prob_dist must be 1 or 2 dim"),
    ((tc.ones(2), 0), RuntimeError, "cannot sample n_sample <= 0 samples"),
    ((tc.ones(2), 1.5), TypeError,
     "multinomial(): argument 'num_samples' (position 2) must be int, not float"),
])
def test_multinomial_errors_as_pytorch(args, error, message):
    with pytest.raises(error) as info:
        tc.multinomial(*args)
    assert str(info.value) == message


# -- normal ----------------------------------------------------------------------------------
def test_normal_of_tensors_broadcasts_and_has_the_moments(device):
    tc.manual_seed(4)
    mean = tc.tensor([[0.0], [10.0]], device=device)
    std = tc.tensor([1.0, 0.0, 3.0], dtype=tc.float64, device=device)
    s = tc.normal(mean, std)
    assert s.shape == (2, 3) and s.dtype == tc.float32 and s.device == mean.device
    assert to_numpy(s)[:, 1].tolist() == [0.0, 10.0]  # std 0: the mean exactly
    big = to_numpy(tc.normal(tc.full((N,), 2.0, device=device), tc.full((N,), 3.0,
                                                                        device=device)))
    assert within(big, 2.0, 3.0) and abs(big.std() - 3.0) < 0.1
    v = to_numpy(tc.normal(tc.full((N,), -1.0, device=device), 0.5))
    assert within(v, -1.0, 0.5) and abs(v.std() - 0.5) < 0.02
    v = tc.normal(1.0, tc.full((N,), 2.0, dtype=tc.float64, device=device))
    assert v.dtype == tc.float64 and within(to_numpy(v), 1.0, 2.0)


def test_normal_of_numbers_needs_a_size(device):
    tc.manual_seed(5)
    s = tc.normal(3.0, 2.0, (N,), device=device)
    assert s.shape == (N,) and s.dtype == tc.float32 and s.device.type == device
    assert within(to_numpy(s), 3.0, 2.0) and abs(to_numpy(s).std() - 2) < 0.06
    assert tc.normal(0, 1, size=(2, 3), dtype=tc.float64).dtype == tc.float64
    with pytest.raises(TypeError, match="size"):
        tc.normal(0.0, 1.0)


def test_normal_is_seeded_and_takes_a_generator(device):
    m = tc.zeros(6, device=device)
    tc.manual_seed(8)
    a = to_numpy(tc.normal(m, 1.0))
    tc.manual_seed(8)
    np.testing.assert_array_equal(a, to_numpy(tc.normal(m, 1.0)))
    g = tc.Generator().manual_seed(8)
    b = to_numpy(tc.normal(m, tc.ones(6, device=device), generator=g))
    g.manual_seed(8)
    np.testing.assert_array_equal(b, to_numpy(tc.normal(m, tc.ones(6, device=device),
                                                        generator=g)))


def test_normal_errors_and_gradients_as_pytorch():
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        tc.normal(tc.zeros(2), tc.tensor([-1.0, 1.0]))
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        tc.normal(tc.zeros(2), tc.tensor([float("nan"), 1.0]))
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        tc.normal(0.0, -1.0, size=(2,))
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std nan"):
        tc.normal(tc.zeros(2), float("nan"))
    with pytest.raises(NotImplementedError, match="\"normal_kernel_cpu\" not implemented for "
                                                  "'Long'"):
        tc.normal(tc.tensor([0, 1]), 1.0)
    with pytest.raises(RuntimeError, match="must match the size"):
        tc.normal(tc.zeros(2), tc.ones(3))
    m = tc.tensor([0.0, 1.0], requires_grad=True)
    s = tc.tensor([1.0, 2.0], requires_grad=True)
    out = tc.normal(m, s)
    assert out.requires_grad
    out.sum().backward()
    assert m.grad.tolist() == [0.0, 0.0] and s.grad.tolist() == [0.0, 0.0]


# -- poisson ---------------------------------------------------------------------------------
def test_poisson_has_the_rates_mean_and_variance(device):
    tc.manual_seed(13)
    rates = tc.tensor([[0.0, 0.5, 4.0, 60.0]] * N, dtype=tc.float64, device=device)
    s = tc.poisson(rates)
    assert s.shape == rates.shape and s.dtype == tc.float64 and s.device == rates.device
    v = to_numpy(s)
    assert (v == np.round(v)).all() and v.min() >= 0 and not v[:, 0].any()
    for k, lam in enumerate([0.5, 4.0, 60.0]):
        col = v[:, k + 1]
        assert within(col, lam, math.sqrt(lam)) and abs(col.var() / lam - 1) < 0.06
    big = to_numpy(tc.poisson(tc.tensor([1e20, float("inf")], dtype=tc.float64, device=device)))
    assert big.tolist() == [1e20, math.inf]


def test_poisson_seeding_gradients_and_errors(device):
    r = tc.full((20,), 3.0, device=device)
    tc.manual_seed(1)
    a = to_numpy(tc.poisson(r))
    tc.manual_seed(1)
    np.testing.assert_array_equal(a, to_numpy(tc.poisson(r)))
    g = tc.Generator().manual_seed(2)
    b = to_numpy(tc.poisson(r, generator=g))
    g.manual_seed(2)
    np.testing.assert_array_equal(b, to_numpy(tc.poisson(r, generator=g)))
    lam = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    out = tc.poisson(lam)
    assert out.requires_grad
    out.sum().backward()
    assert to_numpy(lam.grad).tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="invalid Poisson rate, expected rate to be "
                                           "non-negative"):
        tc.poisson(tc.tensor([-1.0, 2.0], device=device))
    with pytest.raises(NotImplementedError, match="\"poisson_cpu\" not implemented for "
                                                  "'Long'"):
        tc.poisson(tc.tensor([1, 2], device=device))


# -- in-place samplers -----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [tc.float16, tc.float32, tc.float64])
def test_uniform_in_place_stays_in_from_to(device, dtype):
    tc.manual_seed(6)
    x = tc.empty(N, dtype=dtype, device=device)
    assert x.uniform_(-2, 3) is x and x.dtype == dtype
    v = to_numpy(x).astype(np.float64)
    assert v.min() >= -2 and v.max() < 3 and within(v, 0.5, 5 / math.sqrt(12))
    v = to_numpy(tc.empty(N, dtype=dtype, device=device).uniform_())
    assert v.min() >= 0 and v.max() < 1
    v = to_numpy(tc.empty(5, dtype=dtype, device=device).uniform_(**{"from": 4, "to": 4}))
    assert v.tolist() == [4.0] * 5


def test_normal_and_exponential_in_place_have_the_moments(device):
    tc.manual_seed(7)
    v = to_numpy(tc.empty(N, device=device).normal_(5.0, 0.5))
    assert within(v, 5.0, 0.5) and abs(v.std() - 0.5) < 0.02
    v = to_numpy(tc.empty(N, dtype=tc.float64, device=device).normal_(std=0.0))
    assert not v.any()
    e = to_numpy(tc.empty(N, dtype=tc.float64, device=device).exponential_(4.0))
    assert e.min() >= 0 and within(e, 0.25, 0.25) and abs(e.std() - 0.25) < 0.015
    e = to_numpy(tc.empty(N, device=device).exponential_())
    assert within(e, 1.0, 1.0)


def test_random_in_place(device):
    tc.manual_seed(8)
    x = tc.empty(N, device=device)
    v = to_numpy(x.random_(3, 7))
    assert set(np.unique(v)) == {3.0, 4.0, 5.0, 6.0} and within(v, 4.5, math.sqrt(1.25))
    v = to_numpy(tc.empty(N, dtype=tc.int32, device=device).random_(4))
    assert v.dtype == np.int32 and set(np.unique(v)) == {0, 1, 2, 3}
    v = to_numpy(tc.empty(N, dtype=tc.bool, device=device).random_())
    assert within(v.astype(float), 0.5, 0.5)
    v = to_numpy(tc.empty(N, dtype=tc.int64, device=device).random_())
    assert v.min() >= 0 and v.max() > 2 ** 60  # the whole nonnegative int64 range
    v = to_numpy(tc.empty(N, device=device).random_())
    assert v.min() >= 0 and v.max() <= 2 ** 24 and v.max() > 2 ** 23
    v = to_numpy(tc.empty(N, dtype=tc.float16, device=device).random_())
    assert v.min() >= 0 and v.max() <= 2 ** 11
    v = to_numpy(tc.empty(100, dtype=tc.int64, device=device).random_(-5, -3))
    assert set(v.tolist()) == {-5, -4}


def test_in_place_samplers_are_seeded_and_take_a_generator(device):
    samplers = [lambda t, **k: t.uniform_(-1, 1, **k), lambda t, **k: t.normal_(**k),
                lambda t, **k: t.exponential_(2.0, **k), lambda t, **k: t.random_(0, 9, **k),
                lambda t, **k: t.bernoulli_(0.5, **k)]
    for sample in samplers:
        tc.manual_seed(11)
        a = to_numpy(sample(tc.empty(8, device=device)))
        tc.manual_seed(11)
        np.testing.assert_array_equal(a, to_numpy(sample(tc.empty(8, device=device))))
        g = tc.Generator().manual_seed(12)
        b = to_numpy(sample(tc.empty(8, device=device), generator=g))
        g.manual_seed(12)
        np.testing.assert_array_equal(
            b, to_numpy(sample(tc.empty(8, device=device), generator=g)))


@pytest.mark.parametrize("call, error, message", [
    (lambda: tc.zeros(2).uniform_(3, 1), RuntimeError,
     "uniform_ expects to return a [from, to) range, but found from=3 > to=1"),
    (lambda: tc.zeros(2).uniform_(0, float("inf")), RuntimeError,
     "to is out of bounds for float"),
    (lambda: tc.zeros(2).uniform_(float("nan"), 1), RuntimeError,
     "from is out of bounds for float"),
    (lambda: tc.zeros(2, dtype=tc.int64).uniform_(), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda: tc.zeros(2, dtype=tc.int64).normal_(), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda: tc.zeros(2).normal_(0, -1), RuntimeError,
     "normal expects std >= 0.0, but found std -1"),
    (lambda: tc.zeros(2).exponential_(-1), RuntimeError,
     "exponential_ expects lambda > 0.0, but found lambda=-1"),
    (lambda: tc.zeros(2).exponential_(0), RuntimeError,
     "exponential_ expects lambda > 0.0, but found lambda=0"),
    (lambda: tc.zeros(2, dtype=tc.int64).exponential_(), RuntimeError,
     "Exponential distribution is a continuous probability distribution. dtype must be a "
     "floating point but you specified Long"),
    (lambda: tc.zeros(2).random_(5, 3), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=3"),
    (lambda: tc.zeros(2, dtype=tc.int32).random_(0, 2 ** 40), RuntimeError,
     "to - 1 is out of bounds for int"),
    (lambda: tc.zeros(2, dtype=tc.int32).random_(-2 ** 40, 5), RuntimeError,
     "from is out of bounds for int"),
    (lambda: tc.zeros(2, dtype=tc.bool).random_(0, 3), RuntimeError,
     "to - 1 is out of bounds for bool"),
    (lambda: tc.zeros(2, requires_grad=True).uniform_(), RuntimeError,
     "a leaf Variable that requires grad is being used in an in-place operation."),
])
def test_in_place_sampler_errors_as_pytorch(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert str(info.value) == message


def test_in_place_sampling_of_a_recorded_tensor_gives_zero_gradients(device):
    w = tc.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    for sample in (lambda t: t.uniform_(), lambda t: t.normal_(), lambda t: t.exponential_(),
                   lambda t: t.bernoulli_(0.5), lambda t: t.random_(0, 3)):
        w.grad = None
        y = w * 2
        version = y._version
        sample(y)
        assert y._version > version and y.requires_grad
        (y * w).sum().backward()
        np.testing.assert_array_equal(to_numpy(w.grad), to_numpy(y))  # d(y*w)/dw = y only
    with tc.no_grad():
        x = tc.zeros(2, requires_grad=True)
        x.normal_()  # nn.init's way: allowed without a graph
    assert x.requires_grad


def test_in_place_sampling_of_a_view_writes_through(device):
    x = tc.zeros(4, 6, device=device)
    x[:, ::2].uniform_(1, 2)
    v = to_numpy(x)
    assert (v[:, 1::2] == 0).all() and (v[:, ::2] >= 1).all() and (v[:, ::2] < 2).all()


def test_random_ops_in_a_compiled_step_match_eager():
    """A compiled step draws fresh samples at each replay, the same ones eager mode draws
    from the same seed."""
    def step(x):
        noise = tc.randn_like(x) * 0.1 + tc.rand_like(x)
        keep = tc.bernoulli(tc.full_like(x, 0.7))
        scale = tc.empty(x.shape).uniform_(0.5, 1.5)
        return (x * keep * scale + noise + tc.normal(x, 0.5)).sum(0)

    def run(fn):
        tc.manual_seed(21)
        x = tc.ones(4, 3)
        return [to_numpy(fn(x)) for _ in range(4)]

    compiled = tc.compile(step)
    eager, replayed = run(step), run(compiled)
    for a, b in zip(eager, replayed):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(replayed[-1], replayed[-2])
    assert compiled.stats["replays"] >= 1
