"""Fusion (``tc.compile(fn, options={"fuse": True})``): runs of elementwise calls in a plan
become one Numba kernel each. Fused results are not bit-identical to eager (Numba's exp,
tanh... round differently in the last bits), so they are compared within float32
tolerance; what must not change is the dtype (float32 stays float32), NumPy's NaN rules,
and which calls may fuse (no broadcast, no integer arrays)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("numba")

import tensorcore as tc  # noqa: E402
from tensorcore.compiler import fuse, fuse_codegen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import workloads  # noqa: E402

FUSE = {"fuse": True}


def plan_lines(f) -> int:
    return len(f.plan.splitlines())


def run_compiled(fn, *args, calls: int = 4):
    """``fn`` compiled with fusion, called ``calls`` times (two traces, then replays)."""
    f = tc.compile(fn, options=FUSE)
    for _ in range(calls):
        out = f(*args)
    assert f.stats["replays"] >= 1
    return f, out


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_chain_fused_matches_eager(backend):
    """The 200-op chain (forward, backward): two kernels, values as eager's within float32
    rounding, over several replays; far fewer plan lines than the unfused plan."""
    for return_grad in (False, True):
        eager = workloads.make_chain(f"tc-{backend}", return_grad=return_grad)
        fused = tc.compile(workloads.make_chain(f"tc-{backend}", return_grad=return_grad),
                           options=FUSE)
        plain = tc.compile(workloads.make_chain(f"tc-{backend}", return_grad=return_grad))
        for _ in range(5):
            want = eager().detach().numpy()
            got, same = fused().detach().numpy(), plain().detach().numpy()
            assert got.dtype == np.float32
            scale = np.abs(want).max()
            for ref in (want, same):
                np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6 * scale)
        assert fused.stats["replays"] == 3
        assert fused.plan.count("k_fused_") == 2
        assert plan_lines(fused) < plan_lines(plain) // 10
    np.testing.assert_allclose(got, workloads.chain_reference_grad(), rtol=1e-4,
                               atol=1e-6 * np.abs(got).max())


def test_mlp_ops_step_fused_matches_eager():
    """The tiny op-by-op MLP step: the ReLU backward (less_equal + where) fuses; weights
    after 6 steps agree with eager's."""
    eager_step, eager_params = workloads.make_mlp_step("tc-numba-ops", "tiny")
    step, params = workloads.make_mlp_step("tc-numba-ops", "tiny")
    fused = tc.compile(step, options=FUSE)
    _, plain_params = workloads.make_mlp_step("tc-numba-ops", "tiny")
    plain = tc.compile(workloads.make_mlp_step("tc-numba-ops", "tiny")[0])
    for _ in range(6):
        want = eager_step().detach().numpy()
        np.testing.assert_allclose(fused().detach().numpy(), want, rtol=1e-5)
        plain()
    assert fused.stats["replays"] >= 2
    for got, ref in zip(params(), eager_params()):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)
    assert "k_fused_2ops" in fused.plan
    assert plan_lines(fused) < plan_lines(plain)


def test_fusion_off_by_default():
    def fn(a, b):
        return np.tanh(a * 2.0 + b) - 1.0

    a, b = np.ones(5, np.float32), np.arange(5, dtype=np.float32)
    default, off = tc.compile(fn), tc.compile(fn, options={"fuse": False})
    fused, _ = run_compiled(fn, a, b)
    for f in (default, off):
        for _ in range(3):
            np.testing.assert_array_equal(f(a, b), fn(a, b))
    assert default.plan == off.plan
    assert "fused" not in default.plan
    assert "k_fused_4ops" in fused.plan and plan_lines(fused) < plan_lines(default)


def test_broadcast_ends_a_run():
    """A broadcast operand is no elementwise call of the run's shape: with a (4,) row
    nothing fuses; with a full (3, 4) operand the same code fuses."""
    def fn(x, b):
        return (x * 2.0 + b) * 3.0

    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    for b, fused_ops in ((np.ones(4, np.float32), 0), (np.ones((3, 4), np.float32), 3)):
        f, out = run_compiled(fn, x, b)
        np.testing.assert_allclose(out, fn(x, b), rtol=1e-6)
        assert ("k_fused_" in f.plan) == bool(fused_ops)
        if fused_ops:
            assert f"k_fused_{fused_ops}ops" in f.plan


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_integer_arrays_do_not_fuse(dtype):
    def fn(x):
        return (x * 2 + 1) * 3 - x

    x = np.arange(-5, 5, dtype=dtype)
    f, out = run_compiled(fn, x)
    assert "fused" not in f.plan
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, fn(x))


def test_float32_run_stays_float32():
    """Python numbers are cast to float32 (NumPy's weak scalars) and every step rounds to
    float32: ``((x + 1e-8) - x) * 1e8`` is 0 in float32 and about 1 in float64."""
    def fn(x):
        return ((x + 1e-8) - x) * 1e8, np.tanh(x * 0.1 + 0.3) * 1.7

    x = np.linspace(-2, 2, 33, dtype=np.float32) + 1
    f, (small, out) = run_compiled(fn, x)
    assert "k_fused_7ops" in f.plan
    want_small, want = fn(x)
    assert small.dtype == out.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(small, want_small)
    assert np.abs(fn(x.astype(np.float64))[0]).max() > 0.5  # float64 math would differ
    np.testing.assert_array_max_ulp(out, want, maxulp=4)


def test_float64_run():
    def fn(x, y):
        return np.sqrt(np.exp(x * 0.5) + y * y) / (1.0 + np.log1p(y * y))

    x = np.linspace(-3, 3, 50)
    y = np.linspace(0, 1, 50)
    f, out = run_compiled(fn, x, y)
    assert "k_fused_" in f.plan and out.dtype == np.float64
    np.testing.assert_allclose(out, fn(x, y), rtol=1e-14)


def test_maximum_minimum_propagate_nan():
    def fn(a, b):
        return np.minimum(np.maximum(a * 1.0, b * 1.0), 2.0) + 0.0

    a = np.array([1, np.nan, 3, -1, np.nan, 0.0], np.float32)
    b = np.array([0, 1, np.nan, 5, np.nan, -0.0], np.float32)
    f, out = run_compiled(fn, a, b)
    assert "k_fused_5ops" in f.plan
    np.testing.assert_array_equal(out, fn(a, b))  # NaN where NumPy has NaN
    assert np.isnan(out[1:3]).all() and out[0] == 1 and out[3] == 2
    assert np.isnan(fuse_codegen.maximum(np.nan, 1.0))
    assert np.isnan(fuse_codegen.maximum(1.0, np.nan))
    assert np.isnan(fuse_codegen.minimum(1.0, np.nan))


def test_where_and_comparison_fuse():
    """The ReLU backward form: a comparison's bool mask used by where, in one kernel; an
    intermediate bool mask also used afterwards comes out as a bool array."""
    def fn(g, s):
        mask = s <= 0
        return np.where(mask, 0.0, g * 2.0), mask

    g = np.linspace(-1, 1, 8).astype(np.float32)
    s = np.array([-1, 0, 1, 2, -3, np.nan, 0.5, -0.0], np.float32)
    f, (out, mask) = run_compiled(fn, g, s)
    want, want_mask = fn(g, s)
    assert "k_fused_3ops" in f.plan
    assert out.dtype == np.float32 and mask.dtype == np.bool_
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(mask, want_mask)


def kernel_targets(f) -> list[str]:
    """The slots the fused kernel call of ``f``'s plan assigns (``((s3, s4,),) = k_...``)."""
    line = next(ln for ln in f.plan.splitlines() if "k_fused_" in ln)
    lhs = line.split("=")[0]
    return [t.strip("(), ") for t in lhs.split(",") if t.strip("(), ")]


@pytest.mark.parametrize("n", [6, 40_000])
def test_only_used_results_are_outputs(n):
    """Intermediates nobody reads after the run are not kernel outputs. Small outputs come
    back as rows of one stacked array, large ones as arrays of their own; either way each
    is its own array to write in place."""
    def fn(x):
        h = x * 2.0
        h = h + 1.0
        keep = np.exp(h)
        out = keep * 3.0
        out += 1.0  # in place: must not touch keep
        return out, keep

    x = np.linspace(0, 1, n, dtype=np.float32)
    f, (a, b) = run_compiled(fn, x)
    assert "k_fused_4ops" in f.plan
    assert len(kernel_targets(f)) == 2  # keep and keep * 3.0; not h or h + 1
    stacked = f.plan.count("((s") == 1
    assert stacked == (n * 8 <= fuse.STACK_BYTES)
    want_a, want_b = fn(x)
    np.testing.assert_allclose(a, want_a, rtol=1e-6)
    np.testing.assert_allclose(b, want_b, rtol=1e-6)
    assert a.shape == b.shape == (n,) and a.flags.c_contiguous
    a[:] = 0  # the arrays a step returns are independent
    np.testing.assert_allclose(b, want_b, rtol=1e-6)


def _lr(group):
    return group["lr"]


def test_live_numbers_stay_live():
    """A per-step number (``compiler.live``) in a run is a kernel argument read at each
    replay, cast to float32 there: changing it changes the next replay's result."""
    group = {"lr": 0.5}

    def fn(x):
        lr = tc.compiler.live(_lr, group)
        return (x * lr + 1.0) * 2.0

    x = np.linspace(-1, 1, 5, dtype=np.float32)
    f, out = run_compiled(fn, x)
    assert "k_fused_3ops" in f.plan
    np.testing.assert_allclose(out, (x * 0.5 + 1) * 2, rtol=1e-6)
    for lr in (0.25, 3, 1e-3):  # an int too
        group["lr"] = lr
        out = f(x)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, (x * np.float32(lr) + 1) * 2, rtol=1e-6)
    assert f.stats["traces"] == 2


def test_kernels_are_shared_by_source():
    """Two functions with the same op sequence use one compiled kernel (other numbers)."""
    def f1(x):
        return (x * 2.0 + 1.0) * 0.5

    def f2(x):
        return (x * 3.0 + 7.0) * 0.25

    x = np.arange(4, dtype=np.float32)
    c1, out1 = run_compiled(f1, x)
    c2, out2 = run_compiled(f2, x)
    np.testing.assert_allclose(out1, f1(x))
    np.testing.assert_allclose(out2, f2(x))
    kernels = {id(k) for k in fuse._KERNELS.values()}
    k1 = [v for v in c1.plans[0].run.__globals__.values() if id(v) in kernels]
    k2 = [v for v in c2.plans[0].run.__globals__.values() if id(v) in kernels]
    assert k1 and k1 == k2


def test_unwritable_cache_dir_compiles_uncached(tmp_path, monkeypatch):
    """A cache directory that cannot be made (here a file is in the way): the kernel is
    compiled from the string, without the disk cache, and still right."""
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("")
    monkeypatch.setenv("TENSORCORE_CACHE_DIR", str(blocker))

    def fn(x):
        return np.sin(x * 5.0) * np.cos(x) - np.sqrt(x)

    x = np.linspace(0, 2, 9)
    f, out = run_compiled(fn, x)
    assert "k_fused_6ops" in f.plan
    np.testing.assert_allclose(out, fn(x), rtol=1e-12)
    (kernel,) = [k for src, k in fuse._KERNELS.items() if "np.sin" in src and "np.cos" in src]
    assert type(kernel._cache).__name__ == "NullCache"  # Numba's: no disk cache
    assert not list(tmp_path.glob("**/*.py"))


_CACHE_SCRIPT = """
import numpy as np, tensorcore as tc
from tensorcore.compiler import fuse
f = tc.compile(lambda x: np.tanh(x * 1.5 - 0.25) * 0.5 + 0.75, options={"fuse": True})
x = np.linspace(-1, 1, 7, dtype=np.float32)
for _ in range(3):
    out = f(x)
np.testing.assert_allclose(out, np.tanh(x * 1.5 - 0.25) * 0.5 + 0.75, rtol=1e-6)
(kernel,) = fuse._KERNELS.values()
print(sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values()))
"""


def test_kernels_are_cached_on_disk(tmp_path):
    """A second process loads the kernel Numba compiled in the first from the disk cache."""
    env = dict(os.environ, TENSORCORE_CACHE_DIR=str(tmp_path), PYTHONPATH=ROOT)

    def run():
        out = subprocess.run([sys.executable, "-c", _CACHE_SCRIPT], env=env, check=True,
                             capture_output=True, text=True)
        return [int(v) for v in out.stdout.split()]

    assert run() == [0, 1]  # compiled
    (src,) = (tmp_path / "fused").glob("k*.py")
    assert "fused_5ops" in src.read_text()
    assert run() == [1, 0]  # loaded from the cache
