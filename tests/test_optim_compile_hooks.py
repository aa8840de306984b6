"""The optimizers and schedulers keep the contract of ``tensorcore.compiler``'s hooks, which
``tc.compile`` relies on to replay a training step with live per-step numbers:

* every Python number an update's array calls take comes out of a ``compiler.live`` function
  (a number read from a param group elsewhere would be frozen at its traced value), and the
  numbers ``live`` returns reach the array calls with no Python arithmetic on them;
* the step counts of Adam, RMSprop, Adagrad, NAdam, RAdam, Adamax and Adadelta advance inside
  their live functions (so a replay advances them);
* ``Optimizer.step`` hands ``compiler.guard`` a key that changes with the update's structure
  (momentum on or off, state buffers created...) and not with its numbers (the lr);
* scheduler steps and changes of an optimizer's groups or state call ``compiler.eager_only``;
  ``optimizer.step`` does not.

The hooks are replaced (pytest's monkeypatch on ``tensorcore.compiler``) by versions that
check this, and the results must equal those of a plain run bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import compiler
from tensorcore.optim import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, NAdam, RAdam, RMSprop
from tensorcore.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from tensorcore.optim.optimizer import Optimizer

CPU_BACKENDS = tc.backends.available_backends("cpu")

# every numeric hyperparameter given as a float, so that the plain and the checked runs take
# the same values (an int 0 and a float 0.0 can take different kernel paths)
CASES = [
    (SGD, dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.25, weight_decay=0.01)),
    (SGD, dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True)),
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.0, weight_decay=0.0, maximize=True)),
    (Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0)),
    (Adam, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05, maximize=True)),
    (Adam, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=True)),
    (AdamW, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)),
    (AdamW, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, amsgrad=True)),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.0, momentum=0.0)),
    (RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0.01, momentum=0.8,
                   centered=True)),
    (RMSprop, dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.5,
                   maximize=True)),
    (Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.0, initial_accumulator_value=0.0,
                   eps=1e-10)),
    (Adagrad, dict(lr=0.1, lr_decay=0.0, weight_decay=0.02, initial_accumulator_value=0.5,
                   eps=1e-10, maximize=True)),
    (NAdam, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05,
                 momentum_decay=0.004, decoupled_weight_decay=True)),
    (RAdam, dict(lr=0.01, betas=(0.9, 0.9), eps=1e-8, weight_decay=0.05)),
    (Adamax, dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=True)),
    (Adadelta, dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.01)),
]
IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CASES)]
# one parameter above the backends' streamed-update sizes (NumPy's chunks, Numba's one-pass
# kernel), one small
SHAPES = [(200, 200), (7,)]
STEPS = 3


class Frozen(float):
    """A hyperparameter as the tracer sees it when read from a param group outside a live
    function: a frozen number. Comparisons (structure choices, which the guard key covers)
    work; arithmetic, ``float()`` and any use by NumPy raise."""

    __array_ufunc__ = None  # NumPy refuses it as an operand (and ndarray's operators defer)

    def _frozen(self, *_):
        raise TypeError("a hyperparameter was used outside a live function")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _frozen
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _frozen
    __pow__ = __rpow__ = __neg__ = __pos__ = __abs__ = __float__ = __int__ = _frozen
    __array__ = _frozen


def thaw(value):
    """``value`` with its Frozen numbers (also inside tuples) made plain floats."""
    if isinstance(value, Frozen):
        return float.__float__(value)
    if isinstance(value, tuple):
        return tuple(thaw(v) for v in value)
    return value


def freeze(value):
    if isinstance(value, float):
        return Frozen(float.__float__(value))
    if isinstance(value, tuple):
        return tuple(freeze(v) for v in value)
    return value


class LiveFloat(float):
    """A number ``live`` returned, as the tracer hands it out: an operand of array calls (it
    reaches NumPy as the plain float, as the tracer passes it to the recorded calls), never of
    Python arithmetic, ``float()``, ``bool()`` or comparisons (a replay would not redo those)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            return NotImplemented
        return ufunc(*[float.__float__(x) if isinstance(x, LiveFloat) else x for x in inputs],
                     **kwargs)

    def _binary(self, other):
        if isinstance(other, (int, float)):
            raise TypeError("Python arithmetic on a number live() returned")
        return NotImplemented  # an ndarray's reflected operator takes over

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _binary
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __pow__ = __rpow__ = _binary
    __mod__ = __rmod__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = _binary
    __hash__ = float.__hash__

    def _unary(self, *_):
        raise TypeError("Python use of a number live() returned")

    __neg__ = __pos__ = __abs__ = __float__ = __int__ = __bool__ = __round__ = _unary


class RecordingLive:
    """Stands for ``compiler.live``: calls ``fn`` with the param groups' numbers thawed (the
    live function is where reading them is right) and the other arguments as they are,
    counts the step counters it advances, and returns the results as plain floats or as
    LiveFloats."""

    def __init__(self, wrap):
        self.wrap = wrap
        self.calls = 0
        self.advanced = 0  # step counters moved on inside live functions

    def __call__(self, fn, *args):
        args = [{k: thaw(v) for k, v in a.items()} if isinstance(a, dict) and "params" in a
                else a for a in args]
        for a in args:
            assert not isinstance(a, float), "a number passed to live() is frozen at replay"
        states = [a for a in args if isinstance(a, dict) and "step" in a]
        before = [a["step"].item() for a in states]
        out = fn(*args)
        self.calls += 1
        self.advanced += sum(a["step"].item() - b for a, b in zip(states, before))
        values = out if isinstance(out, tuple) else (out,)
        assert all(type(v) in (int, float) for v in values), values
        if self.wrap:
            values = tuple(LiveFloat(v) for v in values)
        return values if isinstance(out, tuple) else values[0]


def run(cls, kwargs, backend, live=None, freeze_groups=False):
    """STEPS updates of float32 parameters (the lr halved and the betas or momentum changed
    between steps); the parameters and the state buffers afterwards, as NumPy arrays."""
    rng = np.random.default_rng(5)
    with tc.backends.use_backend(backend, "cpu"):
        params = [tc.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
                  for s in SHAPES]
        opt = cls(params, **kwargs)
        for step in range(STEPS):
            for p in params:
                p.grad = tc.tensor(rng.standard_normal(p.shape).astype(np.float32))
            group = opt.param_groups[0]
            if step > 0:  # numbers a scheduler or a user changes between steps
                group["lr"] = thaw(group["lr"]) / 2
                if "betas" in group:
                    b1, b2 = thaw(group["betas"])
                    group["betas"] = (b1 - 0.05, b2)
                elif group.get("momentum", 0) != 0:
                    group["momentum"] = thaw(group["momentum"]) - 0.1
            if freeze_groups:
                for g in opt.param_groups:
                    g.update({k: freeze(v) for k, v in g.items() if k != "params"})
            opt.step()
        state = {(i, name): value.numpy().copy() for i, p in enumerate(params)
                 for name, value in opt.state[p].items()}
        return [p.detach().numpy().copy() for p in params], state


def assert_same(a, b):
    (params_a, state_a), (params_b, state_b) = a, b
    for x, y in zip(params_a, params_b):
        assert x.dtype == y.dtype == np.float32
        assert np.array_equal(x, y)
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert state_a[key].dtype == state_b[key].dtype, key
        assert np.array_equal(state_a[key], state_b[key]), key


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_every_number_comes_from_live(monkeypatch, backend, cls, kwargs):
    """The param groups' numbers raise if used anywhere but in a live function, and the run
    still gives the plain run's results bit for bit."""
    plain = run(cls, kwargs, backend)
    live = RecordingLive(wrap=False)
    monkeypatch.setattr(compiler, "live", live)
    checked = run(cls, kwargs, backend, live, freeze_groups=True)
    assert_same(plain, checked)
    assert live.calls == STEPS * len(SHAPES)  # one live step per parameter update
    if cls is not SGD:  # each update advanced its step count inside the live function
        assert live.advanced == STEPS * len(SHAPES)
        assert all(v == STEPS for (_, name), v in checked[1].items() if name == "step")


@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_no_python_arithmetic_on_live_numbers(monkeypatch, cls, kwargs):
    """live() returns LiveFloats, which refuse Python arithmetic, float(), bool() and
    comparisons; used only as array operands they give the plain run's results."""
    plain = run(cls, kwargs, "numpy")
    live = RecordingLive(wrap=True)
    monkeypatch.setattr(compiler, "live", live)
    assert_same(plain, run(cls, kwargs, "numpy", live, freeze_groups=True))
    assert live.calls == STEPS * len(SHAPES)


def test_the_checks_catch_a_frozen_number(monkeypatch):
    """The two checks fail on an update that breaks the contract: one reading the lr outside
    its live function, one doing arithmetic on a number live() returned."""

    class ReadsLrOutside(SGD):
        def _update(self, p, group, state):
            p._data -= group["lr"] * p.grad._data

    class NegatesLiveLr(SGD):
        def _update(self, p, group, state):
            (lr,) = compiler.live(lambda g: (g["lr"],), group)
            p._backend.axpy_(p._data, -lr, p.grad._data)

    monkeypatch.setattr(compiler, "live", RecordingLive(wrap=False))
    with pytest.raises(TypeError, match="outside a live function"):
        run(ReadsLrOutside, dict(lr=0.1), "numpy", freeze_groups=True)
    run(NegatesLiveLr, dict(lr=0.1), "numpy", freeze_groups=True)  # plain floats: passes
    monkeypatch.setattr(compiler, "live", RecordingLive(wrap=True))
    with pytest.raises(TypeError, match="Python use of a number live"):
        run(NegatesLiveLr, dict(lr=0.1), "numpy", freeze_groups=True)


def _key_then_step(opt, params):
    """The structure key ``step`` hands to ``guard`` (taken before the update), then a step."""
    key = opt._structure_key()
    hash(key)
    for p in params:
        p.grad = tc.ones(p.shape)
    opt.step()
    return key


@pytest.mark.parametrize("cls,kwargs,name,value", [
    (SGD, dict(lr=0.1, momentum=0.9), "momentum", 0),
    (SGD, dict(lr=0.1, momentum=0.9), "nesterov", True),
    (SGD, dict(lr=0.1), "momentum", 0.9),
    (SGD, dict(lr=0.1), "weight_decay", 0.1),
    (SGD, dict(lr=0.1), "maximize", True),
    (Adam, dict(lr=0.1), "amsgrad", True),
    (Adam, dict(lr=0.1), "weight_decay", 0.1),
    (Adam, dict(lr=0.1), "maximize", True),
    (AdamW, dict(lr=0.1), "weight_decay", 0.0),
    (RMSprop, dict(lr=0.1, momentum=0.5), "momentum", 0.0),
    (RMSprop, dict(lr=0.1), "centered", True),
    (RMSprop, dict(lr=0.1), "weight_decay", 0.1),
    (Adagrad, dict(lr=0.1), "weight_decay", 0.1),
    (Adagrad, dict(lr=0.1), "maximize", True),
])
def test_structure_key_follows_the_branches_not_the_numbers(cls, kwargs, name, value):
    params = [tc.ones(3, requires_grad=True), tc.ones(2, 2, requires_grad=True)]
    opt = cls(params, **kwargs)
    first = _key_then_step(opt, params)
    settled = _key_then_step(opt, params)
    assert _key_then_step(opt, params) == settled
    if cls is not Adagrad:  # Adagrad makes its state at construction, the others at step 1
        assert first != settled
    group = opt.param_groups[0]
    group["lr"] = 0.01  # numbers: the same structure
    if "betas" in group:
        group["betas"] = (0.5, 0.9)
    for number in ("eps", "alpha", "dampening", "lr_decay"):
        if number in group:
            group[number] = group[number] + 0.125
    if group.get("momentum", 0) != 0:
        group["momentum"] = 0.25
    assert _key_then_step(opt, params) == settled
    group[name] = value  # a branch
    assert opt._structure_key() != settled


def test_structure_key_sees_new_state_and_groups():
    w, b = tc.ones(3, requires_grad=True), tc.ones(3, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.0)
    _key_then_step(opt, [w])
    opt.param_groups[0]["momentum"] = 0.9
    without_buffer = _key_then_step(opt, [w])  # this step makes the momentum buffer
    settled = _key_then_step(opt, [w])
    assert settled != without_buffer
    assert _key_then_step(opt, [w]) == settled
    opt.load_state_dict(opt.state_dict())  # new buffers: trace again
    assert opt._structure_key() != settled
    settled = opt._structure_key()
    opt.add_param_group({"params": [b]})
    assert opt._structure_key() != settled
    settled = opt._structure_key()
    opt.state.clear()  # buffers dropped from outside
    assert opt._structure_key() != settled


def test_step_hands_its_structure_key_to_guard(monkeypatch):
    keys = []

    def recording_guard(fn, *args):
        keys.append(fn(*args))
        return keys[-1]

    monkeypatch.setattr(compiler, "is_compiling", lambda: True)
    monkeypatch.setattr(compiler, "guard", recording_guard)
    w = tc.ones(3, requires_grad=True)
    opt = Adam([w], lr=0.1)
    expected = []
    for _ in range(3):
        expected.append(opt._structure_key())
        w.grad = tc.ones(3)
        opt.step()
    assert keys == expected  # once per step, evaluated before the update
    assert keys[0] != keys[1] == keys[2]


def test_scheduler_and_group_changes_run_eagerly(monkeypatch):
    reasons = []
    monkeypatch.setattr(compiler, "eager_only", reasons.append)
    w = tc.ones(3, requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    plateau = ReduceLROnPlateau(opt)
    reasons.clear()
    w.grad = tc.ones(3)
    opt.step()  # the update itself stays compilable
    opt.zero_grad()
    assert reasons == []
    sched.step()
    assert len(reasons) == 1 and "scheduler" in reasons[0]
    assert opt.param_groups[0]["lr"] == 0.05
    plateau.step(1.0)
    sched.load_state_dict(sched.state_dict())
    assert len(reasons) == 3
    opt.add_param_group({"params": [tc.ones(2, requires_grad=True)]})
    assert len(reasons) == 4 and "add_param_group" in reasons[-1]
    opt.load_state_dict(opt.state_dict())
    assert len(reasons) == 5 and "load_state_dict" in reasons[-1]


def test_default_group_key_of_a_custom_optimizer():
    """An optimizer that does not say which hyperparameters shape its update retraces on a
    change of any of them (its numbers may be frozen)."""

    class Plain(Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, dict(lr=lr, flag=False))

        def _update(self, p, group, state):
            p._data -= group["lr"] * p.grad._data

    w = tc.ones(2, requires_grad=True)
    opt = Plain([w], lr=0.1)
    _key_then_step(opt, [w])
    key = _key_then_step(opt, [w])
    assert _key_then_step(opt, [w]) == key
    opt.param_groups[0]["lr"] = 0.2
    assert _key_then_step(opt, [w]) != key
