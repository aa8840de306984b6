"""``tensorcore.Generator.manual_seed`` takes what ``torch.Generator.manual_seed`` takes: any
integer from -2**63 to 2**64 - 1, a negative seed counting as ``seed + 2**64`` (the value
``initial_seed`` returns); a ValueError naming the range outside it, and PyTorch's
RuntimeError for a seed that is not an integer."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc


def draws(g, device):
    return [to_numpy(tc.rand(3, generator=g, device=device)),
            to_numpy(tc.randint(0, 1000, (4,), generator=g, device=device))]


def test_negative_seed_is_seed_plus_two_to_the_64(device):
    g = tc.Generator().manual_seed(-5)
    assert g.initial_seed() == 2**64 - 5
    a = draws(g, device)
    b = draws(tc.Generator().manual_seed(2**64 - 5), device)
    c = draws(tc.Generator().manual_seed(5), device)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_stream_is_numpys_for_the_unsigned_seed():
    g = tc.Generator().manual_seed(-(2**63))
    want = np.random.default_rng(2**63).random(5)
    np.testing.assert_array_equal(to_numpy(tc.rand(5, dtype=tc.float64, generator=g)), want)


@pytest.mark.parametrize("seed, initial", [(-(2**63), 2**63), (-1, 2**64 - 1), (0, 0),
                                           (2**32, 2**32), (2**64 - 1, 2**64 - 1)])
def test_every_seed_pytorch_takes(seed, initial):
    g = tc.Generator()
    assert g.manual_seed(seed) is g
    assert g.initial_seed() == initial
    assert repr(g) == f"<tensorcore.Generator seed={initial}>"
    assert tc.rand(2, generator=g).shape == (2,)


@pytest.mark.parametrize("seed", [-(2**63) - 1, 2**64, -(10**30)])
def test_seed_out_of_range_names_the_range(seed):
    g = tc.Generator().manual_seed(1)
    with pytest.raises(ValueError, match=rf"from -2\*\*63 to 2\*\*64 - 1, got {seed}$"):
        g.manual_seed(seed)
    assert g.initial_seed() == 1  # unchanged


@pytest.mark.parametrize("seed, name", [(1.0, "float"), (True, "bool"), ("5", "str"),
                                        (None, "NoneType")])
def test_seed_that_is_not_an_integer(seed, name):
    with pytest.raises(RuntimeError, match=f"^manual_seed expected a long, but got {name}$"):
        tc.Generator().manual_seed(seed)


def test_numpy_integer_seed():
    """Beyond PyTorch (which raises TypeError): NumPy integers are taken by value."""
    assert tc.Generator().manual_seed(np.int64(-5)).initial_seed() == 2**64 - 5
    assert tc.Generator().manual_seed(np.uint64(2**64 - 1)).initial_seed() == 2**64 - 1


def test_fresh_seed_is_in_range():
    g = tc.Generator()
    seed = g.seed()
    assert 0 <= seed < 2**64 and g.initial_seed() == seed
