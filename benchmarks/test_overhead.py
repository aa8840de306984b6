"""Per-op overhead: forward + backward of a 200-op elementwise chain on 16 float32 elements.

The cycle ``h*0.9, h+0.1, tanh, h*y, sigmoid`` runs 40 times on ``x`` (requires grad;
``y`` is a constant tensor), then ``h.sum().backward()``. The arrays are tiny, so the time
is the framework's per-op cost (dispatch, graph recording, the backward walk).
``extra_info["us_per_op"]`` is the best round divided by 200. ``numpy-floor`` makes the same
ufunc calls on raw arrays with a hand-written backward: the cost that is not overhead.
``-compiled``: the same callable under ``tc.compile`` (forward+backward and no_grad only),
warmed up until it replays.
"""

from __future__ import annotations

import pytest
import workloads as W


def _bench_chain(benchmark, impl, **kw):
    run = W.make_chain(impl, **kw)
    W.warm_up(run, 5)  # caches, lazily imported modules; tc.compile traces
    benchmark.extra_info.update(impl=impl, ops=W.CHAIN_OPS, numel=W.CHAIN_LEN,
                                cycle=", ".join(W.CHAIN_CYCLE))
    benchmark(run)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["us_per_op"] = round(stats.stats.min / W.CHAIN_OPS * 1e6, 3)
        benchmark.extra_info["us_per_op_median"] = round(
            stats.stats.median / W.CHAIN_OPS * 1e6, 3)


@pytest.mark.benchmark(group="overhead: 200-op chain, forward+backward")
@pytest.mark.parametrize("impl", ["numpy-floor", "tc-numba", "tc-numpy", "tc-numba-compiled",
                                  "tc-numpy-compiled"])
def test_chain_fwd_bwd(benchmark, impl):
    _bench_chain(benchmark, impl)


@pytest.mark.benchmark(group="overhead: 200-op chain, forward+backward")
def test_chain_fwd_bwd_torch(benchmark, torch_or_skip):
    _bench_chain(benchmark, "torch")


@pytest.mark.benchmark(group="overhead: 200-op chain, forward only (graph recorded)")
@pytest.mark.parametrize("impl", ["tc-numba", "torch"])
def test_chain_fwd_only(benchmark, impl, request):
    if impl == "torch":
        request.getfixturevalue("torch_or_skip")
    _bench_chain(benchmark, impl, backward=False)


@pytest.mark.benchmark(group="overhead: 200-op chain, forward under no_grad")
@pytest.mark.parametrize("impl", ["tc-numba", "tc-numba-compiled", "torch"])
def test_chain_no_grad(benchmark, impl, request):
    if impl == "torch":
        request.getfixturevalue("torch_or_skip")
    _bench_chain(benchmark, impl, grad=False)


def test_chain_gradient_is_right():
    """Not a benchmark (skipped under --benchmark-only): the timed work is the right work."""
    W.check_chain_agreement()
