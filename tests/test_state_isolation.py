"""State that must not leak: the backend chosen by ``use_backend`` is per thread (as grad
mode is), and NumPy's floating-point warnings from tensorcore's own computations never
reach the user (PyTorch computes inf and nan silently), while the user's own NumPy calls
still warn."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import tensorcore as tc

ROOT = Path(__file__).resolve().parents[1]
CPU = tc.backends.available_backends("cpu")


def run_in_threads(*targets):
    """Run each target in its own thread; re-raise the first failure."""
    errors = []

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported to the test below
                errors.append(e)
        return run

    threads = [threading.Thread(target=guarded(fn)) for fn in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]


@pytest.mark.skipif(len(CPU) < 2, reason="needs two cpu backends")
def test_use_backend_is_per_thread():
    first, second = CPU[0], CPU[1]
    default = tc.backends.get_backend_name("cpu")
    inside = threading.Barrier(3)   # all three threads at once: two inside blocks, one not
    leaving = threading.Barrier(3)
    seen = {}

    def in_block(name):
        def run():
            with tc.backends.use_backend(name):
                inside.wait(timeout=30)
                seen[name] = (tc.zeros(2).backend_name, tc.tensor([1.0]).backend_name,
                              tc.backends.get_backend_name("cpu"))
                leaving.wait(timeout=30)
            seen[name + " after"] = tc.zeros(1).backend_name
        return run

    def outside():
        inside.wait(timeout=30)
        seen["outside"] = tc.ones(1).backend_name
        leaving.wait(timeout=30)

    run_in_threads(in_block(first), in_block(second), outside)
    assert seen[first] == (first, first, first)
    assert seen[second] == (second, second, second)
    assert seen["outside"] == default
    assert seen[first + " after"] == seen[second + " after"] == default
    assert tc.backends.get_backend_name("cpu") == default


@pytest.mark.skipif(len(CPU) < 2, reason="needs two cpu backends")
def test_set_backend_is_the_process_default_threads_inherit():
    before = tc.backends.get_backend_name("cpu")
    other = next(n for n in CPU if n != before)
    seen = []
    try:
        tc.backends.set_backend(other)
        run_in_threads(lambda: seen.append(tc.zeros(1).backend_name))
        with tc.backends.use_backend(before):  # a block in this thread wins here only
            run_in_threads(lambda: seen.append(tc.zeros(1).backend_name))
            seen.append(tc.zeros(1).backend_name)
            tc.backends.set_backend(other)     # inside a block: replaces the block's choice
            seen.append(tc.zeros(1).backend_name)
        seen.append(tc.zeros(1).backend_name)
    finally:
        tc.backends.set_backend(before)
    assert seen == [other, other, before, other, other]
    assert tc.backends.get_backend_name("cpu") == before


def test_nested_use_backend_restores_each_level():
    outer = tc.backends.get_backend_name("cpu")
    with tc.backends.use_backend("numpy"):
        with tc.backends.use_backend("numba"):
            assert tc.zeros(1).backend_name == "numba"
        assert tc.zeros(1).backend_name == "numpy"
        with pytest.raises(ValueError, match="no backend 'nosuch'"):
            with tc.backends.use_backend("nosuch"):
                pass
        assert tc.zeros(1).backend_name == "numpy"
    assert tc.backends.get_backend_name("cpu") == outer


WARNING_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorcore as tc

    def ops():
        tc.tensor([0.]).log()
        tc.tensor([1e308], dtype=tc.float64) * 10
        tc.tensor([1e38]) * 10
        tc.tensor([0.]) / 0
        1 / tc.tensor([0.])
        tc.tensor([-1.]).sqrt()
        tc.tensor([1000.]).exp()
        tc.tensor([0.]) ** -1
        tc.tensor([float("inf")]) - float("inf")
        tc.tensor([3e38, 3e38]).sum()          # NumPy's ndarray.sum: a frame inside NumPy
        tc.tensor([]).mean()
        tc.tensor([float("nan")]).long()
        x = tc.tensor([0., 4.], requires_grad=True)
        (x.log() + x.sqrt() + x ** 0.5 + tc.tensor([1.]) / x).sum().backward()
        y = tc.tensor([[float("inf"), 1.]], requires_grad=True)
        tc.nn.functional.cross_entropy(y, tc.tensor([0])).backward()

    for name in tc.backends.available_backends("cpu"):
        with tc.backends.use_backend(name):
            ops()
    print("tensorcore done", flush=True)
    np.log(np.zeros(1))                          # the user's own: still warns
    np.array([1e308, 1e308]).sum()               # also through NumPy's Python layer
    np.seterr(all="raise")                       # and the user's np.seterr still rules
    try:
        np.log(np.zeros(1))
    except FloatingPointError:
        print("user's seterr honoured")
""")


def test_numpy_warnings_from_tensorcore_are_silent(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-W", "default", "-c", WARNING_SCRIPT],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "tensorcore done\nuser's seterr honoured\n"
    warnings = [line for line in done.stderr.splitlines() if "Warning" in line]
    assert len(warnings) == 2, done.stderr
    assert "<string>" in warnings[0] and "divide by zero encountered in log" in warnings[0]
    assert "overflow encountered in reduce" in warnings[1]
    assert "tensorcore" not in done.stderr


# -- the GPU kernel path: use_kernels per thread, set_kernels / TENSORCORE_KERNELS for all --
kernel_paths = tc.backends.kernel_paths
BIG = kernel_paths.AUTO_THRESHOLDS["linear_act"] + 1  # past numba's share under "auto"


def paths_seen():
    """What the calling thread's fused ops would take: (get_kernels, small layer, big one)."""
    return (tc.backends.get_kernels(), kernel_paths.resolve("linear_act", 1),
            kernel_paths.resolve("linear_act", BIG))


def test_use_kernels_is_per_thread():
    assert tc.backends.get_kernels() == "auto"
    inside = threading.Barrier(3)   # all three threads at once: two inside blocks, one not
    leaving = threading.Barrier(3)
    seen = {}

    def in_block(path):
        def run():
            with tc.backends.use_kernels(path):
                inside.wait(timeout=30)
                seen[path] = paths_seen()
                leaving.wait(timeout=30)
            seen[path + " after"] = paths_seen()
        return run

    def outside():
        inside.wait(timeout=30)
        seen["outside"] = paths_seen()
        leaving.wait(timeout=30)

    run_in_threads(in_block("cupy"), in_block("unfused"), outside)
    assert seen["cupy"] == ("cupy", "cupy", "cupy")
    assert seen["unfused"] == ("unfused", "unfused", "unfused")
    assert seen["outside"] == seen["cupy after"] == seen["unfused after"] == (
        "auto", "numba", "cupy")
    assert paths_seen() == ("auto", "numba", "cupy")


def test_set_kernels_is_the_process_default_threads_inherit():
    seen = []
    try:
        tc.backends.set_kernels("numba")
        run_in_threads(lambda: seen.append(paths_seen()))
        with tc.backends.use_kernels("unfused"):  # a block in this thread wins here only
            run_in_threads(lambda: seen.append(paths_seen()))
            seen.append(paths_seen())
            tc.backends.set_kernels("cupy")       # inside a block: replaces the block's choice
            seen.append(paths_seen())
            run_in_threads(lambda: seen.append(paths_seen()))
        seen.append(paths_seen())
    finally:
        tc.backends.set_kernels("auto")
    assert seen == [("numba",) * 3, ("numba",) * 3, ("unfused",) * 3, ("cupy",) * 3,
                    ("cupy",) * 3, ("cupy",) * 3]
    assert paths_seen() == ("auto", "numba", "cupy")


def test_nested_use_kernels_restore_each_level_and_reject_unknown_paths():
    with tc.backends.use_kernels("cupy"):
        with tc.backends.use_kernels("numba"):
            assert paths_seen() == ("numba",) * 3
        assert paths_seen() == ("cupy",) * 3
        with pytest.raises(ValueError, match="unknown kernel path 'fast'"):
            tc.backends.use_kernels("fast")
        with pytest.raises(KeyError), tc.backends.use_kernels("unfused"):
            raise KeyError("restored on the way out")
        assert paths_seen() == ("cupy",) * 3
    assert paths_seen() == ("auto", "numba", "cupy")


@pytest.mark.skipif(len(CPU) < 2, reason="needs two cpu backends")
def test_backend_and_kernel_blocks_are_independent():
    """A use_backend block open in one thread leaves another thread's kernel path alone, and
    the other way round (each choice counts its own open blocks)."""
    default = tc.backends.get_backend_name("cpu")
    other = next(n for n in CPU if n != default)
    inside, leaving = threading.Barrier(2), threading.Barrier(2)
    seen = {}

    def backend_block():
        with tc.backends.use_backend(other):
            inside.wait(timeout=30)
            seen["backend block"] = (tc.zeros(1).backend_name, paths_seen())
            leaving.wait(timeout=30)

    def kernel_block():
        with tc.backends.use_kernels("unfused"):
            inside.wait(timeout=30)
            seen["kernel block"] = (tc.zeros(1).backend_name, paths_seen())
            leaving.wait(timeout=30)

    run_in_threads(backend_block, kernel_block)
    assert seen["backend block"] == (other, ("auto", "numba", "cupy"))
    assert seen["kernel block"] == (default, ("unfused",) * 3)
