"""``tensorcore.manual_seed`` takes PyTorch's seed range: -2**63 to 2**64 - 1, a negative
seed counting as ``seed + 2**64``."""

from __future__ import annotations

import pytest

import tensorcore as tc


def test_negative_seed_is_seed_plus_two_to_the_64(device):
    tc.manual_seed(-5)
    a = tc.randn(4, device=device)
    tc.manual_seed(2**64 - 5)
    b = tc.randn(4, device=device)
    tc.manual_seed(5)
    c = tc.randn(4, device=device)
    assert (a == b).all().item() and not (a == c).all().item()


@pytest.mark.parametrize("seed", [-(2**63), 0, 2**32, 2**64 - 1])
def test_every_seed_pytorch_takes(seed):
    tc.manual_seed(seed)
    assert tc.rand(2).shape == (2,)


@pytest.mark.parametrize("seed", [-(2**63) - 1, 2**64])
def test_seed_out_of_range_names_the_range(seed):
    with pytest.raises(ValueError, match=r"from -2\*\*63 to 2\*\*64 - 1, got"):
        tc.manual_seed(seed)
