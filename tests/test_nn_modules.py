"""``nn.Parameter`` and ``nn.Module``: registration, traversal, modes, gradients, device and
dtype moves, state dicts (round trip and errors) and reprs (as PyTorch prints them)."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = nn.Parameter(tc.ones(2))
        self.register_buffer("count", tc.zeros(1))
        self.register_buffer("cache", tc.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc(x) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(2, 1, bias=False)
        self.shared = self.head  # the same module twice: its parameters count once

    def forward(self, x):
        return self.head(self.block(x))


# -- Parameter -----------------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_that_shares_memory(device):
    data = tc.tensor([1.0, 2.0], device=device)
    p = nn.Parameter(data)
    assert isinstance(p, tc.Tensor) and p.requires_grad and p.is_leaf
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    with tc.no_grad():
        data.add_(1.0)
    assert p.tolist() == [2.0, 3.0]  # same memory, as PyTorch
    on = "" if device == "cpu" else f"device='{device}', "  # as a plain tensor's repr
    assert repr(p) == f"Parameter containing:\ntensor([2., 3.], {on}requires_grad=True)"


def test_parameter_ops_return_plain_tensors_and_get_gradients(device):
    p = nn.Parameter(tc.tensor([1.0, -2.0], device=device))
    out = (p * p).sum() + p.abs().sum() + p.reshape(2, 1).sum() + p[0]
    assert type(p * 2) is tc.Tensor and type(p[0]) is tc.Tensor and type(p.detach()) is tc.Tensor
    out.backward()
    np.testing.assert_allclose(to_numpy(p.grad), [2 + 1 + 1 + 1, -4 - 1 + 1])


def test_parameter_copy_and_pickle_keep_the_class():
    p = nn.Parameter(tc.tensor([1.0, 2.0]))
    p.grad = tc.tensor([0.5, 0.5])
    for q in (copy.deepcopy(p), pickle.loads(pickle.dumps(p))):
        assert type(q) is nn.Parameter and q.requires_grad and q.tolist() == [1.0, 2.0]
    assert copy.deepcopy(p).grad.tolist() == [0.5, 0.5]
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(tc.tensor([1, 2]))
    assert nn.Parameter().shape == (0,)


# -- registration and traversal ------------------------------------------------------------------
def test_attributes_register_parameters_buffers_and_modules():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.weight"]
    assert len(list(net.parameters())) == 4
    assert [n for n, _ in net.named_buffers()] == ["block.count", "block.cache"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "head"]
    assert list(net.children())[1] is net.head and next(net.modules()) is net
    assert [n for n, _ in net.block.named_parameters(prefix="b", recurse=False)] == ["b.scale"]


def test_register_errors_and_reassignment():
    m = Block()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        m.scale = tc.ones(2)  # a plain tensor where a Parameter lives
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("fc", nn.Parameter(tc.ones(1)))
    with pytest.raises(KeyError, match='"."'):
        m.register_buffer("a.b", tc.ones(1))
    with pytest.raises(TypeError, match="buffer 'count'"):
        m.count = 3
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Broken(nn.Module):
            def __init__(self):
                self.w = nn.Parameter(tc.ones(1))
        Broken()
    m.scale = None  # a None placeholder is allowed and skipped
    assert "scale" not in dict(m.named_parameters())
    m.fc = nn.Linear(3, 5)
    assert m.fc.out_features == 5 and list(m._modules) == ["fc"]
    del m.fc
    assert "fc" not in m._modules
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'fc'"):
        m.fc  # noqa: B018
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tc.ones(1))


# -- modes, gradients, apply -----------------------------------------------------------------------
def test_train_eval_reach_every_submodule():
    net = Net()
    assert net.training and net.block.fc.training
    assert net.eval() is net and not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("yes")


def test_train_calls_each_childs_own_train_as_pytorch():
    class FrozenNorm(nn.Module):  # a common pattern: a child that stays in eval mode
        def train(self, mode=True):
            return super().train(False)

    net = nn.Sequential(nn.Linear(2, 2), FrozenNorm())
    net.train()
    assert net.training and net[0].training and not net[1].training


def test_zero_grad_requires_grad_and_apply(device):
    net = Net().to(device)
    net(tc.ones(4, 3, device=device)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not to_numpy(p.grad).any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Block", "Linear", "Net"]  # children first, shared once


def test_to_double_float_keep_the_parameter_objects(device):
    net = Net()
    weight = net.block.fc.weight
    net.block.fc.weight.grad = tc.ones(2, 3)
    assert net.double() is net and net.block.fc.weight is weight
    assert all(p.dtype == tc.float64 for p in net.parameters())
    assert weight.grad.dtype == tc.float64 and net.block.count.dtype == tc.float64
    net.to(device, dtype=tc.float32)
    assert weight.dtype == tc.float32 and str(weight.device) == device
    assert net.float().cpu().block.fc.weight.device.type == "cpu"
    assert net.half().block.scale.dtype == tc.float16
    assert net.float().head.weight.dtype == tc.float32
    bn = nn.BatchNorm1d(2).double()
    assert bn.num_batches_tracked.dtype == tc.int64  # only floating tensors change dtype
    with pytest.raises(TypeError, match="floating point"):
        net.to(tc.int64)


# -- state dicts ---------------------------------------------------------------------------------
def test_state_dict_keys_detached_values():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict)
    # the non-persistent buffer is left out; a shared module is saved under each name
    assert list(sd) == ["block.scale", "block.count", "block.fc.weight", "block.fc.bias",
                        "head.weight", "shared.weight"]
    assert not any(t.requires_grad for t in sd.values())
    with tc.no_grad():
        sd["block.scale"].fill_(7.0)  # detached, but the same memory, as PyTorch
    assert net.block.scale.tolist() == [7.0, 7.0]
    assert net.state_dict(keep_vars=True)["block.scale"] is net.block.scale


def test_load_state_dict_round_trip_gives_identical_outputs(device):
    tc.manual_seed(0)
    src, dst = Net().to(device), Net().to(device)
    x = tc.randn(5, 3, device=device)
    assert not np.allclose(to_numpy(src(x)), to_numpy(dst(x)))
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert tuple(result) == ([], [])
    np.testing.assert_array_equal(to_numpy(src(x)), to_numpy(dst(x)))


def test_load_state_dict_errors_name_keys_and_shapes():
    net = Net()
    sd = net.state_dict()
    del sd["head.weight"]
    sd["extra"] = tc.ones(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    assert 'Missing key(s) in state_dict: "head.weight"' in msg
    assert 'Unexpected key(s) in state_dict: "extra"' in msg and "Net" in msg
    before = net.block.fc.weight.tolist()
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert (missing, unexpected) == (["head.weight"], ["extra"])
    assert net.block.fc.weight.tolist() == before
    bad = net.state_dict()
    bad["block.fc.weight"] = tc.zeros(4, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for block.fc.weight: copying a param "
                                           r"with shape \[4, 3\] from checkpoint, the shape in "
                                           r"current model is \[2, 3\]"):
        net.load_state_dict(bad, strict=False)


# -- reprs ---------------------------------------------------------------------------------------
def test_repr_matches_pytorch_layout():
    assert repr(Net()) == (
        "Net(\n"
        "  (block): Block(\n"
        "    (fc): Linear(in_features=3, out_features=2, bias=True)\n"
        "  )\n"
        "  (head): Linear(in_features=2, out_features=1, bias=False)\n"
        "  (shared): Linear(in_features=2, out_features=1, bias=False)\n"
        ")")
    assert repr(nn.Module()) == "Module()"
    layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU()])
    assert repr(layers) == ("ModuleList(\n"
                            "  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n"
                            "  (2): ReLU()\n"
                            ")")
    assert repr(nn.BatchNorm1d(4)) == ("BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, "
                                       "bias=True, track_running_stats=True)")
    assert repr(nn.LayerNorm((2, 3))) == ("LayerNorm((2, 3), eps=1e-05, elementwise_affine=True,"
                                          " bias=True)")
    assert repr(nn.Dropout(0.2)) == "Dropout(p=0.2, inplace=False)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_deepcopy_gives_an_independent_module():
    net = Net()
    twin = copy.deepcopy(net)
    assert type(twin.block.fc.weight) is nn.Parameter
    assert twin.block.fc.weight is not net.block.fc.weight and twin.shared is twin.head
    with tc.no_grad():
        twin.block.fc.weight.fill_(0.0)
    assert net.block.fc.weight.numpy(force=True).any()
