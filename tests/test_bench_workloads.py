"""The benchmark workloads of ``benchmarks/workloads.py`` time the right work: the op-by-op
(notebook) step and the ``tc.compile``d steps and chain give the NumPy floor's weights and the
reference gradient, and a compiled step gives exactly its eager step's weights (the issue:
replay is bit-identical to eager on the CPU backends). PyTorch's columns are checked by
``benchmarks/test_mlp.py`` (it sets torch's thread count, which this suite leaves alone)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tensorcore as tc

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")
BACKENDS = tc.backends.available_backends("cpu")


@pytest.fixture
def W(monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import workloads

    return workloads


@pytest.mark.parametrize("size", ["tiny", "small"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_op_by_op_and_compiled_steps_agree_with_the_floor(W, size, backend):
    impls = [f"tc-{backend}{kind}" for kind in ("-ops", "-ops" + W.COMPILED, W.COMPILED)]
    worst = W.check_mlp_agreement(size, impls=impls)  # AssertionError when one disagrees
    assert set(worst) == set(impls) and max(worst.values()) < 1e-4


@pytest.mark.parametrize("code", ["", "-ops"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_compiled_step_gives_its_eager_steps_weights(W, backend, code):
    eager, eager_params = W.make_mlp_step(f"tc-{backend}{code}", "tiny")
    compiled, compiled_params = W.make_mlp_step(f"tc-{backend}{code}{W.COMPILED}", "tiny")
    assert W.is_compiled(compiled) and not W.is_compiled(eager)
    for _ in range(W.COMPILE_WARMUP):
        assert float(compiled().item()) == float(eager().item())
    for got, want in zip(compiled_params(), eager_params(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_op_by_op_step_stores_its_weights_transposed_and_reports_them_as_the_floor(W):
    _, _, params = W.mlp_init("small")
    step, get_params = W.make_mlp_step(f"tc-{BACKENDS[0]}-ops", "small")
    before = get_params()
    assert [a.shape for a in before] == [a.shape for wb in params for a in wb]
    np.testing.assert_array_equal(before[0], params[0][0])  # (out, in) as mlp_init
    loss = float(step().item())
    x, labels, _ = W.mlp_init("small")  # the first loss: cross-entropy at the start weights
    h = x
    for w, b in params[:-1]:
        h = np.maximum(h @ w.T + b, 0)
    z = h @ params[-1][0].T + params[-1][1]
    z = z - z.max(axis=1, keepdims=True)
    want = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(labels)), labels])
    assert loss == pytest.approx(want, rel=1e-5)


def test_warm_up_calls_a_compiled_step_until_it_can_replay(W):
    step, _ = W.make_mlp_step(f"tc-{BACKENDS[0]}{W.COMPILED}", "tiny")
    W.warm_up(step)
    assert sum(step.stats.values()) == W.COMPILE_WARMUP
    calls = []
    W.warm_up(lambda: calls.append(1), 3)  # an eager step: the count asked for
    assert len(calls) == 3


def test_compiled_chain_gradient_at_every_call_and_no_compiled_forward_only(W):
    ref = W.chain_reference_grad()
    for backend in BACKENDS:
        run = W.make_chain(f"tc-{backend}{W.COMPILED}", return_grad=True)
        for _ in range(W.COMPILE_WARMUP):
            np.testing.assert_allclose(run().numpy(), ref, rtol=1e-4, atol=1e-7)
        with pytest.raises(ValueError, match="forward\\+backward or under no_grad"):
            W.make_chain(f"tc-{backend}{W.COMPILED}", backward=False)
    floor = W.make_chain("numpy-floor", return_grad=True)
    np.testing.assert_allclose(floor(), ref, rtol=1e-4, atol=1e-7)
