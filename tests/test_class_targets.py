"""Class targets copied onto a GPU know their range from the host copy
(``Tensor.class_index_max``), so that ``F.cross_entropy`` checks it without reading the
targets back, a read that waits for the GPU; what changes them in place forgets it."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import forget_cuda_backends, serve_cuda_with
from standin_cuda import ClaimingCupy

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import backends

ON_GPU = tc.cuda.is_available()
U64_MAX = 2 ** 64 - 1


def test_int64_vectors_copied_to_cuda_know_their_max(device):
    on_gpu = device == "cuda"
    assert tc.tensor([2, 0, 1], device=device).class_index_max() == (2 if on_gpu else None)
    assert tc.tensor(np.array([3, -1]), device=device).class_index_max() == \
        (U64_MAX if on_gpu else None)  # seen as unsigned, a negative index is huge
    assert tc.tensor([4, 1]).to(device).class_index_max() == (4 if on_gpu else None)
    for other in (tc.tensor([1.0, 2.0], device=device), tc.tensor([[1, 2]], device=device),
                  tc.tensor([1, 2], device=device) + 0, tc.tensor([1, 2], device=device)[:1]):
        assert other.class_index_max() is None  # floats, matrices, computed on the device


@pytest.mark.parametrize("change", ["setitem", "add_", "data=", "view setitem"])
def test_a_change_in_place_forgets_the_max(device, change):
    t = tc.tensor([1, 2, 0], device=device)
    if change == "setitem":
        t[0] = 7
    elif change == "add_":
        t.add_(5)
    elif change == "data=":
        t.data = tc.tensor([9, 9, 9], device=device)
    else:
        t[1:][0] = 8  # a view shares its base's version counter
    assert t.class_index_max() is None


@pytest.fixture(params=["claiming-cupy"] + (["gpu-cupy", "gpu-numba"] if ON_GPU else []),
                ids=lambda p: f"cuda-{p}")
def fused_cuda(request, monkeypatch):
    """The cuda backend on a fused softmax cross-entropy path, with its host reads of class
    targets counted: the stand-in claiming the fused paths, and a real GPU's paths."""
    where, path = request.param.split("-")
    if where == "claiming":
        serve_cuda_with(monkeypatch, ClaimingCupy)
    backend = backends.get_backend("cuda")
    reads = []  # the checks that read the targets (no known max)
    check = type(backend).check_class_targets

    def counted(self, target, n, known_max=None):
        if known_max is None:
            reads.append(n)
        return check(self, target, n, known_max)
    monkeypatch.setattr(type(backend), "check_class_targets", counted)
    with tc.backends.use_kernels(path):
        yield reads
    if where == "claiming":
        forget_cuda_backends()  # not the stand-in's instance for the tests after this one


def _numpy_loss(z, y):
    shifted = z - z.max(1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    return -logp[np.arange(len(y)), y].mean()


def test_cross_entropy_on_cuda_checks_known_targets_without_a_read(fused_cuda):
    rng = np.random.default_rng(0)
    z, y = rng.standard_normal((6, 4)), np.array([3, 0, 1, 2, 3, 1])
    logits = tc.tensor(z, device="cuda", requires_grad=True)
    for target in (tc.tensor(y, device="cuda"), tc.tensor(y).cuda()):
        loss = F.cross_entropy(logits, target)
        assert fused_cuda == []
        np.testing.assert_allclose(loss.item(), _numpy_loss(z, y), rtol=1e-6)
    F.cross_entropy(logits, tc.tensor(y, device="cuda") * 1)  # computed there: read back
    assert fused_cuda == [4]


@pytest.mark.parametrize("bad", [4, -1])
def test_cross_entropy_on_cuda_names_a_known_bad_target(fused_cuda, bad):
    logits = tc.tensor(np.zeros((2, 4)), device="cuda")
    with pytest.raises(IndexError, match=f"Target {bad} is out of bounds"):
        F.cross_entropy(logits, tc.tensor([0, bad], device="cuda"))


def test_cross_entropy_on_cuda_still_ignores_index_100(fused_cuda):
    z = np.random.default_rng(1).standard_normal((3, 4))
    loss = F.cross_entropy(tc.tensor(z, device="cuda"), tc.tensor([2, -100, 0], device="cuda"))
    np.testing.assert_allclose(loss.item(), _numpy_loss(z[[0, 2]], np.array([2, 0])),
                               rtol=1e-6)


def test_a_write_through_data_gives_nan_not_a_stray_read(fused_cuda):
    """``.data`` is outside version tracking (as in PyTorch): the fused kernels then give a
    NaN loss for the bad target, where an unchecked read would take another row's value."""
    target = tc.tensor([0, 1], device="cuda")
    target.data[1] = 9
    loss = F.cross_entropy(tc.tensor(np.zeros((2, 3)), device="cuda"), target,
                           reduction="none")
    assert loss.cpu().numpy()[0] == pytest.approx(np.log(3)) and np.isnan(loss.cpu().numpy()[1])
