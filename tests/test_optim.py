"""The ``Optimizer`` API on every backend: param groups, ``zero_grad``, closures, skipped
parameters, the version counter, ``state_dict`` / ``load_state_dict`` (layout, round trip,
errors) and the bad-input errors of PyTorch."""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

# every buffer each optimizer can keep
FULL_OPTIONS = [
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
    (Adam, dict(lr=0.1, amsgrad=True)),
    (AdamW, dict(lr=0.1, amsgrad=True)),
    (RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (Adagrad, dict(lr=0.1, lr_decay=0.1, initial_accumulator_value=0.5)),
]
OPT_IDS = [cls.__name__ for cls, _ in FULL_OPTIONS]


def _regression(device, seed=0):
    rng = np.random.default_rng(seed)
    x = tc.tensor(rng.standard_normal((16, 3)), device=device)
    y = tc.tensor(rng.standard_normal(16), device=device)
    w = tc.tensor(rng.standard_normal(3), device=device, requires_grad=True)
    b = tc.tensor(rng.standard_normal(1), device=device, requires_grad=True)
    return x, y, w, b


def _train(opt, x, y, w, b, steps):
    for _ in range(steps):
        opt.zero_grad()
        (((x @ w + b) - y) ** 2).mean().backward()
        opt.step()


def test_param_groups_fill_defaults_and_use_their_own_lr(device):
    a = tc.ones(2, dtype=tc.float64, device=device, requires_grad=True)
    b = tc.ones(2, dtype=tc.float64, device=device, requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[0]["nesterov"] is False
    (a.sum() + 2 * b.sum()).backward()
    opt.step()
    np.testing.assert_allclose(to_numpy(a), [0.9, 0.9], rtol=1e-15)
    np.testing.assert_allclose(to_numpy(b), [0.98, 0.98], rtol=1e-15)


def test_add_param_group(device):
    a = tc.zeros(1, device=device, requires_grad=True)
    b = tc.zeros(2, device=device, requires_grad=True)
    opt = Adam([a], lr=0.5, betas=(0.8, 0.9))
    opt.add_param_group({"params": [b], "lr": 0.25})
    assert len(opt.param_groups) == 2
    assert opt.param_groups[1]["lr"] == 0.25 and opt.param_groups[1]["betas"] == (0.8, 0.9)
    b.grad = tc.ones(2, device=device)
    opt.step()
    np.testing.assert_allclose(to_numpy(b), [-0.25, -0.25], rtol=1e-6)
    assert to_numpy(a).tolist() == [0.0] and a not in opt.state


def test_zero_grad_sets_none_by_default(device):
    w = tc.ones(3, device=device, requires_grad=True)
    opt = SGD([w])
    (w * 2).sum().backward()
    opt.zero_grad()
    assert w.grad is None


def test_zero_grad_in_place_keeps_the_grad_tensor(device):
    w = tc.ones(3, device=device, requires_grad=True)
    opt = SGD([w])
    (w * 2).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and to_numpy(grad).tolist() == [0.0, 0.0, 0.0]


def test_zero_grad_in_place_detaches_a_grad_with_history(device):
    w = tc.ones(2, dtype=tc.float64, device=device, requires_grad=True)
    opt = SGD([w])
    (w * w * w).sum().backward(create_graph=True)
    assert w.grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert w.grad.grad_fn is None and not w.grad.requires_grad
    assert to_numpy(w.grad).tolist() == [0.0, 0.0]


def test_step_returns_the_closure_loss_and_uses_its_gradients(device):
    w = tc.tensor([3.0], dtype=tc.float64, device=device, requires_grad=True)
    opt = SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with tc.no_grad():  # the closure still records its graph
        loss = opt.step(closure)
    assert calls == [9.0] and loss.item() == 9.0
    assert to_numpy(w).tolist() == [1.5]  # 3 - 0.25 * 6
    assert opt.step() is None


@pytest.mark.parametrize("cls,kwargs", FULL_OPTIONS, ids=OPT_IDS)
def test_parameter_without_grad_is_skipped(device, cls, kwargs):
    used = tc.ones(2, dtype=tc.float64, device=device, requires_grad=True)
    unused = tc.ones(2, dtype=tc.float64, device=device, requires_grad=True)
    frozen = tc.ones(2, dtype=tc.float64, device=device)
    opt = cls([used, unused, frozen], **kwargs)
    state_before = {k: v.clone() for k, v in opt.state[unused].items()}
    (used * used).sum().backward()
    for _ in range(2):
        opt.step()
    assert not np.allclose(to_numpy(used), 1.0)
    assert to_numpy(unused).tolist() == [1.0, 1.0] and to_numpy(frozen).tolist() == [1.0, 1.0]
    assert {k: to_numpy(v).tolist() for k, v in opt.state[unused].items()} == {
        k: to_numpy(v).tolist() for k, v in state_before.items()}


def test_step_counts_as_an_in_place_change(device):
    w = tc.ones(2, device=device, requires_grad=True)
    opt = SGD([w], lr=0.1)
    y = (w * w).sum()  # saves w for backward
    y.backward(retain_graph=True)
    version = w._version
    opt.step()
    assert w._version == version + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_state_dict_layout(device):
    a = tc.ones(2, device=device, requires_grad=True)
    b = tc.ones(3, device=device, requires_grad=True)
    c = tc.ones(1, device=device, requires_grad=True)
    opt = Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    (a.sum() + c.sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.1, 0.5]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0, 2}  # b has no gradient, so no state
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert all(isinstance(v, tc.Tensor) for v in sd["state"][0].values())
    assert sd["state"][2]["step"].item() == 1.0 and sd["state"][2]["exp_avg"].shape == (1,)
    np.testing.assert_allclose(to_numpy(sd["state"][0]["exp_avg"]), [0.1, 0.1], rtol=1e-6)


@pytest.mark.parametrize("via", ["deepcopy", "pickle"])
@pytest.mark.parametrize("cls,kwargs", FULL_OPTIONS, ids=OPT_IDS)
def test_state_dict_round_trip_continues_bit_identically(device, cls, kwargs, via):
    x, y, w, b = _regression(device)
    opt = cls([w, b], **kwargs)
    _train(opt, x, y, w, b, 3)
    sd = opt.state_dict()
    saved = copy.deepcopy(sd) if via == "deepcopy" else pickle.loads(pickle.dumps(sd))
    w2, b2 = copy.deepcopy(w), copy.deepcopy(b)
    _train(opt, x, y, w, b, 4)  # uninterrupted training

    resumed = cls([w2, b2], lr=123.0)  # the hyperparameters come from the state dict
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    _train(resumed, x, y, w2, b2, 4)
    assert to_numpy(w2).tolist() == to_numpy(w).tolist()
    assert to_numpy(b2).tolist() == to_numpy(b).tolist()
    for key, value in opt.state[w].items():
        assert to_numpy(resumed.state[w2][key]).tolist() == to_numpy(value).tolist()


def test_loaded_state_is_a_copy(device):
    w = tc.ones(2, device=device, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = tc.ones(2, device=device)
    opt.step()
    sd = opt.state_dict()
    other = SGD([w], lr=0.1, momentum=0.9)
    other.load_state_dict(sd)
    other.step()
    assert other.state[w]["momentum_buffer"] is not sd["state"][0]["momentum_buffer"]
    assert to_numpy(sd["state"][0]["momentum_buffer"]).tolist() == [1.0, 1.0]


def test_load_state_dict_accepts_a_plain_step_count(device):
    w = tc.ones(2, dtype=tc.float64, device=device, requires_grad=True)
    opt = Adam([w], lr=0.1)
    sd = {"state": {0: {"step": 4, "exp_avg": tc.full((2,), 0.5, dtype=tc.float32),
                        "exp_avg_sq": tc.full((2,), 0.25, dtype=tc.float32)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    state = opt.state[w]
    assert isinstance(state["step"], tc.Tensor) and state["step"].item() == 4.0
    assert state["exp_avg"].dtype == tc.float64 and state["exp_avg"].device == w.device
    w.grad = tc.zeros(2, dtype=tc.float64, device=device)
    opt.step()  # step 5: m = 0.45, v = 0.24975
    expected = 1 - 0.1 / (1 - 0.9 ** 5) * 0.45 / (np.sqrt(0.24975 / (1 - 0.999 ** 5)) + 1e-8)
    np.testing.assert_allclose(to_numpy(w), [expected, expected], rtol=1e-12)


def test_load_state_dict_errors(device):
    a = tc.ones(2, device=device, requires_grad=True)
    b = tc.ones(3, device=device, requires_grad=True)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = tc.ones(2, device=device), tc.ones(3, device=device)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="different number of parameter groups"):
        SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="doesn't match the size"):
        SGD([a], lr=0.1).load_state_dict(sd)
    swapped = SGD([b, a], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"'momentum_buffer' has shape \[2\].*shape \[3\]"):
        swapped.load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


@pytest.mark.parametrize("cls,kwargs,message", [
    (SGD, dict(lr=-0.1), "Invalid learning rate: -0.1"),
    (SGD, dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    (SGD, dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    (SGD, dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (SGD, dict(momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (Adam, dict(lr=-1.0), "Invalid learning rate: -1.0"),
    (Adam, dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (Adam, dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (Adam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (AdamW, dict(weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    (RMSprop, dict(alpha=-0.9), "Invalid alpha value: -0.9"),
    (RMSprop, dict(momentum=-1), "Invalid momentum value: -1"),
    (RMSprop, dict(eps=-1), "Invalid epsilon value: -1"),
    (Adagrad, dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    (Adagrad, dict(initial_accumulator_value=-1),
     "Invalid initial_accumulator_value value: -1"),
    (Adagrad, dict(eps=-1), "Invalid epsilon value: -1"),
])
def test_invalid_hyperparameters(device, cls, kwargs, message):
    w = tc.ones(2, device=device, requires_grad=True)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        cls([w], **kwargs)


def test_bad_parameters(device):
    w = tc.ones(2, device=device, requires_grad=True)
    with pytest.raises(ValueError, match="duplicate parameters"):
        SGD([w, w])
    opt = SGD([w])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        SGD([w * 2])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        SGD(w)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([])
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "ndarray"):
        SGD([np.ones(2)])
    with pytest.raises(TypeError, match="ordered collections"):
        SGD([{"params": {w}}])
    w.grad = tc.ones(2, device=device)
    with pytest.raises(NotImplementedError, match="_update"):  # the base class has no update
        Optimizer([w], {"lr": 0.1}).step()


@pytest.mark.parametrize("cls,kwargs", FULL_OPTIONS, ids=OPT_IDS)
def test_gradient_of_the_wrong_shape(device, cls, kwargs):
    w = tc.ones(2, 3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="assign a gradient of size"):
        w.grad = tc.ones(3, device=device)  # refused as in PyTorch
    w._grad = tc.ones(3, device=device)  # would broadcast: the optimizer checks it too
    with pytest.raises(RuntimeError, match=r"parameter of shape \[2, 3\] has shape \[3\]"):
        cls([w], **kwargs).step()
    assert to_numpy(w).tolist() == [[1.0] * 3] * 2


def test_adagrad_state_exists_from_construction(device):
    w = tc.ones(2, device=device, requires_grad=True)
    opt = Adagrad([w], initial_accumulator_value=0.25)
    assert opt.state[w]["step"].item() == 0.0
    assert to_numpy(opt.state[w]["sum"]).tolist() == [0.25, 0.25]


def test_repr_lists_the_groups(device):
    opt = SGD([tc.ones(1, device=device, requires_grad=True)], lr=0.5)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "lr: 0.5" in text


@pytest.mark.parametrize("cls", [SGD, Adam, AdamW, RMSprop, Adagrad])
def test_pytorch_implementation_switches_are_accepted_and_change_nothing(device, cls):
    """``foreach`` / ``fused`` / ``capturable`` pick how PyTorch runs the same update, so
    code that passes them runs unchanged; ``differentiable=True`` is refused."""
    switches = {name: True for name in ("foreach", "fused", "capturable")
                if name in inspect.signature(cls).parameters}
    assert "foreach" in switches
    plain, switched = (tc.tensor([1.0, -2.0], device=device, requires_grad=True)
                       for _ in range(2))
    opts = cls([plain], lr=0.1), cls([switched], lr=0.1, **switches)
    for w, opt in zip((plain, switched), opts):
        for _ in range(2):
            w.grad = tc.tensor([0.5, 3.0], device=device)
            opt.step()
    assert switched.tolist() == plain.tolist() != [1.0, -2.0]
    with pytest.raises(ValueError, match="differentiable=True is not supported"):
        cls([plain], lr=0.1, differentiable=True)
