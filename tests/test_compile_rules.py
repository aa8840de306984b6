"""``tc.compile``'s rules: what makes a new plan, what runs eagerly (warned once, naming the
reason), and bad input. Never a stale or wrong result: each case checks the values against
the same code run eagerly or against closed forms.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorcore as tc
from tensorcore import nn
from tensorcore.compiler import CompileWarning


def compiled_step(model, opt):
    """A compiled training step of ``model`` with ``opt`` (mean squared error)."""
    @tc.compile
    def step(x, y):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        return loss.detach()

    return step


def sgd_step(model, lr=0.1):
    """``(compiled plain SGD step, its optimizer)``."""
    opt = tc.optim.SGD(model.parameters(), lr=lr)
    return compiled_step(model, opt), opt


def data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return (tc.tensor(rng.standard_normal((n, 3)).astype(np.float32)),
            tc.tensor(rng.standard_normal((n, 1)).astype(np.float32)))


def linear(seed=0):
    tc.manual_seed(seed)
    return nn.Linear(3, 1)


def test_compile_takes_a_callable():
    with pytest.raises(TypeError, match="callable"):
        tc.compile(3)
    assert tc.compile(disable=True)(abs) is abs
    assert isinstance(tc.compile()(abs), tc.compiler.CompiledFunction)


def test_a_host_read_runs_the_function_eagerly_with_a_warning_naming_the_place():
    w = tc.ones(2, requires_grad=True)

    @tc.compile
    def step(x):
        loss = (w * x).sum()
        if loss.item() > 100:  # Python depends on a value: never frozen
            return loss.detach() * 0
        return loss.detach()

    with pytest.warns(CompileWarning, match=r"reads tensor values on the host.*"
                                            r"test_compile_rules.py:\d+"):
        assert step(tc.tensor([1.0, 2.0])).item() == 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once only
        assert step(tc.tensor([100.0, 200.0])).item() == 0.0  # the other branch, eagerly
    assert step.stats == {"traces": 1, "replays": 0, "eager": 1}


def test_new_shapes_dtypes_and_requires_grad_make_new_plans():
    model = linear()
    step, _ = sgd_step(model)
    eager_model = linear()
    eager_step, _ = sgd_step(eager_model)
    eager_step = eager_step.fn
    for n in (8, 8, 8, 5, 5, 5, 8, 5):
        x, y = data(n, seed=n)
        assert step(x, y).item() == eager_step(x, y).item()
    # the first call finds no gradients (zero_grad has nothing to clear): its program
    # differs from the later ones, so the 8-row plan comes from the 2nd and 3rd calls
    assert len(step.plans) == 2 and step.stats == {"traces": 5, "replays": 3, "eager": 0}
    x, y = data(8)
    x.requires_grad_()  # a new signature: traced, not replayed
    before = step.stats["traces"]
    step(x, y)
    assert step.stats["traces"] == before + 1
    assert x.grad is not None and x.grad.shape == (8, 3)


def test_train_and_eval_modes_have_their_own_plans():
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    forward = tc.compile(lambda x: model(x))
    x = tc.ones(4, 3)
    with tc.no_grad():
        for _ in range(3):
            forward(x)
        model.eval()
        outs = [forward(x).numpy() for _ in range(3)]
        expected = model(x).numpy()
    for out in outs:
        np.testing.assert_array_equal(out, expected)  # no dropout in eval mode
    assert len(forward.plans) == 2


def replaying_sgd():
    """``(model, step, opt, x, y)`` once the step has replayed."""
    model = linear()
    step, opt = sgd_step(model)
    x, y = data()
    for _ in range(4):  # the first call finds no gradients yet: a different program
        step(x, y)
    assert step.stats == {"traces": 3, "replays": 1, "eager": 0}
    return model, step, opt, x, y


def test_freezing_a_parameter_is_seen():
    model, step, _, x, y = replaying_sgd()
    model.bias.requires_grad_(False)
    bias = model.bias.detach().clone()
    for _ in range(3):
        step(x, y)
    np.testing.assert_array_equal(model.bias.detach().numpy(), bias.numpy())


def test_a_replaced_parameter_object_is_used():
    model, step, opt, x, y = replaying_sgd()
    model.weight = nn.Parameter(tc.zeros(1, 3))  # a new object (the optimizer keeps the old)
    opt.param_groups[0]["params"][0] = model.weight
    old_replays = step.stats["replays"]
    step(x, y)
    assert step.stats["replays"] == old_replays  # traced again, not replayed
    assert model.weight.grad is not None and np.abs(model.weight.detach().numpy()).sum() > 0


def test_loading_optimizer_state_is_seen():
    model = linear()
    opt = tc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    @tc.compile
    def step(x, y):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()

    x, y = data()
    for _ in range(4):
        step(x, y)
    saved = opt.state_dict()
    opt.load_state_dict(saved)  # new buffer tensors: the plan's old ones must not be used
    reference = linear()
    ref_opt = tc.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for _ in range(7):
        ref_opt.zero_grad()
        ((reference(x) - y) ** 2).mean().backward()
        ref_opt.step()
    for _ in range(3):
        step(x, y)
    np.testing.assert_array_equal(model.weight.detach().numpy(),
                                  reference.weight.detach().numpy())


def test_keeping_intermediates_is_never_replayed():
    kept = []
    w = tc.ones(2, requires_grad=True)

    @tc.compile
    def step(x):
        h = w * x
        kept.append(h)  # a reference beyond the call: a replay would not refresh it
        return h.sum().detach()

    with pytest.warns(CompileWarning, match="keeps retracing.*keeps tensors made inside"):
        for i in range(8):
            step(tc.tensor([float(i), 1.0]))
    assert step.stats["replays"] == 0
    assert [h[0].item() for h in kept] == [float(i) for i in range(8)]


def test_returning_a_graph_runs_eagerly_and_the_graph_works():
    w = tc.tensor([2.0], requires_grad=True)
    forward = tc.compile(lambda x: w * x)
    with pytest.warns(CompileWarning, match="graph is still needed"):
        for _ in range(3):
            out = forward(tc.tensor([3.0]))
            out.backward()
    assert forward.stats["replays"] == 0
    assert w.grad.item() == 9.0  # three backward passes through real graphs


def test_a_scheduler_stepped_inside_runs_eagerly():
    model = linear()
    opt = tc.optim.SGD(model.parameters(), lr=0.1)
    scheduler = tc.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    @tc.compile
    def step(x, y):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        scheduler.step()

    x, y = data()
    with pytest.warns(CompileWarning):
        for _ in range(4):
            step(x, y)
    assert step.stats["replays"] == 0
    assert opt.param_groups[0]["lr"] == 0.1 * 0.5 ** 4


def test_tensors_on_another_device_make_their_own_plan(device):
    w = tc.ones(3, device=device)
    f = tc.compile(lambda x: x * 2 + 1)
    for _ in range(3):
        cpu = f(tc.ones(3))
    for _ in range(3):
        other = f(w)
    assert cpu.device.type == "cpu" and other.device == w.device
    np.testing.assert_array_equal(other.cpu().numpy(), [3.0, 3.0, 3.0])


def test_unhashable_arguments_run_eagerly():
    f = tc.compile(lambda x, options: x * len(options))
    with pytest.warns(CompileWarning, match="set is not hashable"):
        assert f(tc.ones(2), {"a", "b"}).tolist() == [2.0, 2.0]
    assert f.stats["eager"] == 1


def test_python_arguments_are_part_of_the_signature():
    f = tc.compile(lambda x, k: x * k)
    outs = [f(tc.ones(2), k).tolist() for k in (2.0, 2.0, 2.0, 3.0, 3.0, 3.0)]
    assert outs == [[2.0, 2.0]] * 3 + [[3.0, 3.0]] * 3
    assert len(f.plans) == 2


def test_the_same_tensor_twice_is_another_signature():
    f = tc.compile(lambda a, b: a.add_(b))
    a, b = tc.ones(2), tc.ones(2)
    for _ in range(3):
        f(a, b)
    assert a.tolist() == [4.0, 4.0]
    c = tc.ones(2)
    for _ in range(3):
        f(c, c)  # b aliases a: doubling, not adding the first operand's old value
    assert c.tolist() == [8.0, 8.0]


def test_returned_arrays_and_their_views_are_never_reused_buffers():
    f = tc.compile(lambda x: ((x * 2) + 1).reshape(-1))  # a view of a ufunc result
    outs = [f(tc.full((2, 2), float(i))) for i in range(5)]
    assert [o.tolist() for o in outs] == [[2.0 * i + 1] * 4 for i in range(5)]
    assert f.stats["replays"] == 3


def test_intermediates_use_buffers_and_constants_fold():
    w = tc.ones(4, requires_grad=True)

    @tc.compile
    def step(x):
        loss = ((w * x).exp() * 2).sum()  # elementwise intermediates; ones(()) seeds backward
        loss.backward()
        with tc.no_grad():
            w.sub_(0.01 * w.grad)
        w.grad = None
        return loss.detach()

    xs = [tc.full((4,), 0.1 * i) for i in range(6)]
    losses = [step(x).item() for x in xs]
    source = step.plan
    assert "out=buffer" in source and "ones(" not in source
    w2 = tc.ones(4, requires_grad=True)
    expected = []
    for x in xs:  # the same steps, eagerly
        loss = ((w2 * x).exp() * 2).sum()
        loss.backward()
        with tc.no_grad():
            w2.sub_(0.01 * w2.grad)
        w2.grad = None
        expected.append(loss.item())
    assert losses == expected
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())


def test_a_reseeded_generator_is_followed():
    g = tc.Generator().manual_seed(1)
    f = tc.compile(lambda x: x * tc.rand(3, generator=g))
    x = tc.ones(3)
    first = [f(x).tolist() for _ in range(3)]
    g.manual_seed(1)  # the plan must not keep drawing from the old stream
    again = [f(x).tolist() for _ in range(3)]
    assert again == first


def test_an_error_inside_a_trace_propagates_and_leaves_plain_arrays():
    w = tc.ones(2, requires_grad=True)

    def bad(x):
        (w * x).sum().backward()
        raise ValueError("boom")

    f = tc.compile(bad)
    with pytest.raises(ValueError, match="boom"):
        f(tc.ones(2))
    assert type(w._data) is np.ndarray and type(w.grad._data) is np.ndarray


def test_state_left_by_compiled_training_holds_plain_arrays():
    model = linear()
    opt = tc.optim.Adam(model.parameters(), lr=0.01)
    step = compiled_step(model, opt)
    x, y = data()
    outs = [step(x, y) for _ in range(5)]
    tensors = list(model.parameters()) + [p.grad for p in model.parameters()] + outs
    tensors += [v for s in opt.state.values() for v in s.values() if isinstance(v, tc.Tensor)]
    assert all(type(t._data) is np.ndarray for t in tensors)


def test_every_kernel_entry_of_the_contract_is_recorded():
    """A new entry point of the backend contract must be recorded as one call by a trace
    (``hooks.KERNEL_ENTRIES``), or be one of the entries a trace treats otherwise: a kernel
    left out would run on traced arrays, its Numba work unseen by the recording."""
    from tensorcore.backends.contract import Backend
    from tensorcore.compiler.hooks import KERNEL_ENTRIES

    capture = {"capturing", "prepare_capture", "side_stream", "graph_mode", "allocating_from",
               "record", "join_stream", "replay_graph"}
    # poisson reads its rates on the host (to_numpy): a step that samples it runs eagerly
    handled = {"to_numpy", "seed", "synchronize", "from_dlpack", "array_type", "poisson"}
    entries = {n for n, v in vars(Backend).items() if callable(v) and not n.startswith("_")}
    assert entries - capture - handled == set(KERNEL_ENTRIES)


@pytest.mark.parametrize("select", [
    lambda x: x[x > 0],                                  # a bool mask index
    lambda x: x[tc.where(x > 0)],                        # where(condition): the indices
    lambda x: x[(x > 0).nonzero().reshape(-1)],
])
def test_values_that_set_a_shape_make_the_step_eager(select):
    """A tensor whose length is a count of values (a mask's True elements): a replay would
    keep the traced length and silently give a wrong result (it gave 27 for 9 here), so the
    function runs eagerly, with one CompileWarning naming the op."""
    def step(x):
        m = select(x)
        return (m * m).sum()

    compiled = tc.compile(step)
    with pytest.warns(CompileWarning, match="runs eagerly"):
        assert compiled(tc.tensor([1.0, -2.0, 3.0])).item() == 10.0
    for values, want in (([-1.0, -2.0, 3.0], 9.0), ([5.0, -1.0, -1.0], 25.0),
                         ([1.0, 2.0, 3.0], 14.0)):
        assert compiled(tc.tensor(values)).item() == want
    assert compiled.stats["replays"] == 0


def test_a_parameter_rebound_to_another_layout_retraces():
    tc.manual_seed(0)
    model = nn.Linear(3, 4)
    step = compiled_step(model, tc.optim.SGD(model.parameters(), lr=0.1))
    x, y = tc.ones(5, 3), tc.zeros(5, 4)
    for _ in range(4):
        step(x, y)
    traces = step.stats["traces"]
    with tc.no_grad():  # the same values in a Fortran-ordered (4, 3) array: other strides
        model.weight.data = tc.tensor(np.asfortranarray(model.weight.detach().numpy()))
    assert model.weight._data.strides != (12, 4)
    step(x, y)
    assert step.stats["traces"] == traces + 1  # traced again: the plan assumed C order


def test_numpys_namespace_is_never_patched_while_tracing():
    """Numba may compile a kernel during a trace (a first call): it must find NumPy's own
    functions in NumPy's namespace, so a trace records through the backends' ``xp`` only."""
    seen = []
    originals = (np.empty, np.zeros, np.asarray, np.array)

    @tc.compile
    def step(x):
        seen.append((np.empty, np.zeros, np.asarray, np.array) == originals)
        return (x * 2).sum()

    for _ in range(3):
        step(tc.ones(3))
    assert seen == [True, True] and step.stats["replays"] == 1
