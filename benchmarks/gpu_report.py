"""The GPU report: test-suite summary, path agreement and timings as one markdown page.

    pip install -e ".[cuda,bench]"            # CUDA 13 (".[cuda12,bench]" for CUDA 12)
    python benchmarks/gpu_report.py > gpu.md  # 2.5 minutes on an H100, with fewer columns
    python benchmarks/gpu_report.py --tests all --quick   # the whole suite, fewer timings
    python benchmarks/gpu_report.py --json gpu.json --png charts/ > gpu.md  # + times, charts

It prints, for ``docs/benchmarks.md``:

1. the GPU (``cupy.cuda.runtime.getDeviceProperties(0)['name']``), CuPy, Numba and driver;
2. the pytest summary of the GPU tests (``--tests gpu``: ``-k "(cuda or gpu) and not
   simulator"``, i.e. every test of the suite on the ``cuda`` device, the ``test_cuda_*``
   files and the ``gpu``-marked tests, less the CUDA simulator's CPU run; ``--tests all``:
   the whole suite; ``none``);
3. agreement: two MLP steps on each kernel path against the NumPy floor's weights;
4. the three MLP steps of ``workloads.py`` on ``cuda`` with each kernel path (``auto``, the
   default, then each one forced), captured by hand (``+graph``), under ``tc.compile``
   (``+compiled``), and PyTorch CUDA eager and its whole step captured with
   ``torch.cuda.graph`` (``torch-cuda+graph``) where importable, in ms per step;
5. fused linear + ReLU forward + backward alone at 64^3 ... 8192^3 per path, and one cuBLAS
   GEMM, with achieved TFLOP/s against the H100's FP32 peak (67 TFLOP/s, CUDA cores; CuPy
   and PyTorch leave TF32 off by default) and the crossover that ``kernel_paths.
   AUTO_THRESHOLDS`` should use;
6. the host cost per launch of each path (Python time per call, GPU queue not drained);
7. the layer and one GEMM from 1024^3 up with TF32 allowed (``tc.set_float32_matmul_precision
   ("high")``, and PyTorch's) against float32, with TFLOP/s against the TF32 peak (495).

Times come from CUDA events around a calibrated loop of calls (the minimum over repeats of
the per-call time); a cell that fails shows its error and the report goes on. Nothing here
runs in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import subprocess
import sys
import time
import traceback
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import charts  # noqa: E402
import numpy as np  # noqa: E402
import torch_graph  # noqa: E402
import workloads as W  # noqa: E402
from gpu_timing import host_cost_per_call, time_gpu  # noqa: E402

import tensorcore as tc  # noqa: E402
import tensorcore.nn.functional as F  # noqa: E402
from tensorcore.backends import kernel_paths, matmul_precision  # noqa: E402
from tensorcore.backends.cuda import settings as cuda_settings  # noqa: E402

PATHS = ("numba", "cupy", "unfused")
FP32_PEAK_TFLOPS = 67.0  # H100 SXM, dense FP32 on CUDA cores
TF32_PEAK_TFLOPS = 495.0  # H100 SXM, dense TF32 on tensor cores
TF32_SIDES = (1024, 2048, 4096, 8192)  # GEMM-bound sizes, where TF32 can show
LAYER_SIDES = (64, 128, 256, 512, 1024, 2048, 4096, 8192)  # powers of 2: the crossover
# tc-<path>: eager steps (auto is the default); tc-<path>+graph: the step captured once as a
# CUDA graph (tensorcore.cuda.graphs) and replayed, its GEMMs on the graph GEMM that
# capture() picks (cuBLAS through tensorcore's handle where its probe passes);
# +graph:numba forces the Numba GEMM (TENSORCORE_GRAPH_GEMM=numba); tc-cupy+cublas: eager,
# its GEMMs through that handle instead of CuPy's @ (TENSORCORE_EAGER_GEMM=cublas);
# tc-numba+cublas: every layer launch through ctypes (Numba kernels by cuda_launch, GEMMs on
# that handle); tc-cupy+lt: eager, float32 ReLU layers' forward in one cuBLASLt call
# (TENSORCORE_CUBLASLT=1); tc-numba+split (a before): the numba path with its layer backward
# as three launches instead of one; +read (a before, for comparison only): the step
# with F.cross_entropy reading its targets' range back from the GPU, which waits for it,
# instead of taking it from the host copy (Tensor.class_index_max); tc-auto+graph: what a
# capture gets by default; tc-cupy+lt+graph: the cuBLASLt forward recorded in the graph;
# tc-auto+compiled: the eager step under tc.compile (issue 17: traced once, replayed as a CUDA
# graph by the compiler itself); torch-cuda: PyTorch eager; torch-cuda+graph: PyTorch's
# whole step (optimizer included) captured with torch.cuda.graph (torch_graph.py)
GPU_MLP_IMPLS = (tuple(f"tc-{p}" for p in ("auto", *PATHS))
                 + ("tc-cupy+cublas", "tc-numba+cublas", "tc-cupy+lt")
                 + ("tc-numba+split", "tc-cupy+read")
                 + ("tc-auto+graph", "tc-cupy+graph", "tc-cupy+lt+graph", "tc-cupy+graph:numba",
                    "tc-numba+graph", "tc-auto+compiled", "torch-cuda", "torch-cuda+graph"))
COMPILED_IMPLS = tuple(i for i in GPU_MLP_IMPLS if i.endswith("+compiled"))
LAYER_PASSES = 2
GRAPH_LAYER_MAX = 1024  # captured layers are timed up to this side (launch-bound sizes)
ELEMENTWISE_OPS = ("act_backward", "softmax_ce")  # the other rows of AUTO_THRESHOLDS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- workloads on cuda --------------------------------------------------------------------------
def torch_cuda():
    """``torch`` when it can use a GPU, else None."""
    torch = W.get_torch()
    return torch if torch is not None and torch.cuda.is_available() else None


def make_gpu_mlp_step(impl: str, size: str, steps_before: int = 2):
    """``(step, get_params)`` for one training step of ``workloads.MLP_SIZES[size]`` on the
    GPU: ``tc-<path>`` runs tensorcore with that kernel path, ``tc-<path>+graph`` replays it
    as a CUDA graph (captured after ``steps_before`` real steps, which update the weights),
    ``tc-<path>+compiled`` is it under ``tc.compile`` (call it ``W.COMPILE_WARMUP`` times
    before timing), ``torch-cuda`` PyTorch eager, ``torch-cuda+graph`` PyTorch's step
    captured as a CUDA graph after ``steps_before`` real steps."""
    base, variant = split_variant(impl)
    if variant is not None:
        step, get_params = make_gpu_mlp_step(base, size)
        return variant(step, steps_before), get_params
    x, labels, params = W.mlp_init(size)
    if impl == "torch-cuda":
        return _torch_cuda_step(x, labels, params)
    return W._tc_step("cupy", x, labels, params, device="cuda",
                      kernels=impl.removeprefix("tc-"))


def split_variant(impl: str):
    """``(base, variant)``: the implementation a column name builds on and how its step is
    then run, ``variant(step, warmup=2) -> step``: ``<base>+graph`` captured as a CUDA graph
    (``+graph:numba``: on the Numba GEMM) after ``warmup`` real steps, ``<base>+cublas`` /
    ``<base>+lt`` eager with that switch on, ``<base>+tf32`` with float32 GEMMs in TF32,
    ``<base>+compiled`` under ``tc.compile``, ``torch-cuda+graph`` PyTorch's own capture,
    ``<base>+read`` with the class targets' range read back from the GPU (the base may
    have a variant of its own); ``(impl, None)`` for a plain one."""
    base, plus, last = impl.rpartition("+")
    if plus and last == "compiled":
        return base, lambda step, warmup=2: tc.compile(step)
    if plus and last in SWITCHES:
        return base, lambda step, warmup=2: functools.partial(_switched_on, last, step)
    if impl == "torch-cuda+graph":
        return base, lambda step, warmup=2: torch_graph.capture_step(torch_cuda(), step,
                                                                      step.inputs, warmup)
    if "+graph" in impl:
        base, _, gemm = impl.partition("+graph")

        def captured(step, warmup: int = 2):
            # the base's switches (+lt) are on for capture()'s own checks too
            switches = [p for p in base.split("+")[1:] if p in SWITCHES]
            capture = functools.partial(tc.cuda.graphs.capture, step, warmup=warmup)
            for switch in switches:
                capture = functools.partial(_switched_on, switch, capture)
            with graph_gemm(gemm.removeprefix(":") or "auto"):
                return capture().replay
        return base, captured
    if plus and last == "tf32":
        return base, lambda step, warmup=2: functools.partial(_in_tf32, step)
    return impl, None


# a column's +<switch>: (owner, attribute, value) set for the step: the cuda backend's GEMMs on
# the own cuBLAS handle, its cuBLASLt layer forward, and two befores, for comparison: the
# numba path's layer backward split into the act backward and two cuBLAS GEMMs, and no
# targets' range known on the host, so that F.cross_entropy reads it back and waits
SWITCHES = {"cublas": (lambda: tc.backends.get_backend("cuda"), "eager_gemm", "cublas"),
            "lt": (lambda: tc.backends.get_backend("cuda"), "cublaslt", True),
            "split": (lambda: tc.backends.get_backend("cuda"), "one_launch_backward_max", 0),
            "one": (lambda: tc.backends.get_backend("cuda"), "one_launch_backward_max", 1 << 62),
            "read": (lambda: tc.Tensor, "class_index_max", lambda self: None)}


def _switched_on(switch: str, step):
    """``step()`` with ``SWITCHES[switch]`` on, and as it was again after (plain attribute
    writes: ``mock.patch`` would add microseconds to every timed call)."""
    owner, name, value = SWITCHES[switch]
    target = owner()
    saved = vars(target).get(name, _UNSET)
    setattr(target, name, value)
    try:
        return step()
    finally:
        if saved is _UNSET:
            delattr(target, name)
        else:
            setattr(target, name, saved)


_UNSET = object()


def _in_tf32(step):
    """``step()`` with float32 GEMMs allowed to round to TF32: tensorcore's setting, and
    PyTorch's where it is imported."""
    torch = W.get_torch()
    with contextlib.ExitStack() as settings:
        settings.enter_context(matmul_precision.using("high"))
        if torch is not None:
            settings.callback(torch.set_float32_matmul_precision,
                              torch.get_float32_matmul_precision())
            torch.set_float32_matmul_precision("high")
        return step()


def _torch_cuda_step(x, labels, params):
    return W._torch_step(x, labels, params, device="cuda")


def make_layer(impl: str, n: int):
    """Forward + backward of ``relu(x @ w.T + b)`` at M = N = K = n in float32 (6 n^3 FLOP
    in the three GEMMs): ``impl`` a kernel path, ``<path>+graph`` that path captured as a
    CUDA graph (``+graph:numba``: its GEMMs on the Numba kernel), ``<path>+cublas`` eager
    with its GEMMs on tensorcore's cuBLAS handle, ``cublas`` (one GEMM only: 2 n^3 FLOP) or
    ``torch-cuda``."""
    base, variant = split_variant(impl)
    if variant is not None:
        return variant(make_layer(base, n))
    x, w, b, g = _layer_inputs(n)
    if impl == "torch-cuda":
        torch = torch_cuda()
        gt = torch.from_numpy(g).cuda()
        xt, wt, bt = (torch.from_numpy(a).cuda().requires_grad_() for a in (x, w, b))

        def run():
            torch.relu(torch.nn.functional.linear(xt, wt, bt)).backward(gt)
            xt.grad = wt.grad = bt.grad = None
        return run
    gt = tc.tensor(g, device="cuda")
    # x needs its gradient too (as a hidden layer's input does): dX is the third GEMM
    xt, wt, bt = (tc.tensor(a, device="cuda", requires_grad=True) for a in (x, w, b))
    if impl == "cublas":  # through the backend, which applies the TF32 setting
        xd, wd, gemm = xt._data, wt._data, xt._backend.matmul
        return lambda: gemm(xd, wd.T)

    def run():
        with kernel_paths.use_kernels(impl):
            F.linear_act(xt, wt, bt, "relu").backward(gt)
        xt.grad = wt.grad = bt.grad = None
    return run


@functools.lru_cache(maxsize=2)
def _layer_inputs(n: int) -> tuple[np.ndarray, ...]:
    """Host ``x, w, b, g`` of the layer at ``n``, drawn once per side (seconds at 8192);
    every column copies them to the GPU."""
    rng = np.random.default_rng(n)
    x, w = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    return x, w, rng.standard_normal(n, dtype=np.float32), np.ones((n, n), np.float32)


def graph_gemm(choice: str):
    """``TENSORCORE_GRAPH_GEMM=choice`` for the captures inside (a context manager)."""
    return mock.patch.dict(os.environ, {"TENSORCORE_GRAPH_GEMM": choice})


def make_elementwise(op: str, impl: str, n: int):
    """One call of a fused elementwise entry point on an n x n float32 array, on kernel path
    ``impl``: ``act_backward`` (ReLU's gradient and the bias gradient) or ``softmax_ce``
    (the loss's forward and backward)."""
    import cupy

    backend = tc.backends.get_backend("cuda")
    rng = np.random.default_rng(n)
    a, g = (cupy.asarray(rng.standard_normal((n, n), dtype=np.float32)) for _ in range(2))
    target = cupy.asarray(rng.integers(0, n, n))
    scale = cupy.asarray(np.float32(1 / n))

    def run():
        with kernel_paths.use_kernels(impl):
            if op == "act_backward":
                return backend.act_backward(g, a, None, "relu", True)
            _, probs = backend.softmax_cross_entropy(a, target)
            return backend.softmax_cross_entropy_backward(probs, target, scale)
    return run


def make_step_gemms(size: str):
    """The GEMMs of one MLP training step alone, through CuPy's cuBLAS, with the step's
    shapes and transposes: each layer's forward and dW, and dX of every layer but the first
    (its input needs no gradient)."""
    import cupy

    batch, widths = W.MLP_SIZES[size]
    rng = np.random.default_rng(0)
    acts = [cupy.asarray(rng.standard_normal((batch, k), dtype=np.float32)) for k in widths]
    weights = [cupy.asarray(rng.standard_normal((n, k), dtype=np.float32))
               for k, n in zip(widths[:-1], widths[1:])]

    def run():
        for i, w in enumerate(weights):
            acts[i] @ w.T  # forward
            g = acts[i + 1]  # the gradient has the output's shape
            g.T @ acts[i]  # dW
            if i:
                g @ w  # dX
    return run


def step_gemm_share(step_ms: dict, size: str, gemm_ms: float) -> str:
    """Each implementation's step time against the time of its GEMMs alone on cuBLAS (the
    issue's target: GEMM-bound large steps at >= 90 % of cuBLAS throughput)."""
    cells = [f"{impl} {100 * gemm_ms / ms:.0f} %" for (impl, s), ms in sorted(step_ms.items())
             if s == size]
    return (f"- the {size} step's GEMMs alone (cuBLAS via CuPy, same shapes) take "
            f"{gemm_ms:.3f} ms: that over each step's time: " + ", ".join(cells))


def _sm_count() -> int:
    return tc.backends.get_backend("cuda").runtime.sm_count


def graph_gemm_name() -> str:
    """The GEMM that captures with ``TENSORCORE_GRAPH_GEMM=auto`` record on this GPU."""
    return str(tc.backends.get_backend("cuda").graph_gemm())


def layer_flops(impl: str, n: int) -> float:
    """FLOP of one call of ``make_layer(impl, n)``: ``cublas`` (any variant) is one GEMM."""
    return (2.0 if impl.partition("+")[0] == "cublas" else 6.0) * n ** 3


# -- timing -------------------------------------------------------------------------------------
def launch_probes() -> dict:
    """One call of each path's forward kernel at 64 x 64 x 64, plus a bare CuPy add."""
    import cupy

    x, w = tc.randn(64, 64, device="cuda"), tc.randn(64, 64, device="cuda")
    b = tc.randn(64, device="cuda")
    probes = {"cupy a + b (one CuPy elementwise launch)": lambda: x._data + w._data}
    for path in PATHS:
        def fwd(path=path):
            with kernel_paths.use_kernels(path), tc.no_grad():
                F.linear_act(x, w, b, "relu")
        probes[f"F.linear_act forward, path {path}"] = fwd
    from tensorcore.kernels.cupy import fused as cuda_cupy
    from tensorcore.kernels.numba_cuda import common as cuda_common

    def numba_dispatcher_fwd():  # the launch before kernels.cuda_launch: an A/B of launches
        fast, cuda_common.FAST_LAUNCH = cuda_common.FAST_LAUNCH, False
        try:
            probes["F.linear_act forward, path numba"]()
        finally:
            cuda_common.FAST_LAUNCH = fast
    probes["F.linear_act forward, path numba, through Numba's dispatcher"] = numba_dispatcher_fwd

    z = cupy.empty((64, 64), np.float32)
    probes["cuda_cupy.bias_act_forward alone"] = \
        lambda: cuda_cupy.bias_act_forward(z, b._data, "relu")
    backend = tc.backends.get_backend("cuda")
    probes["64^3 GEMM x @ w.T: CuPy's matmul"] = lambda: x._data @ w._data.T
    own_gemm = backend.kernel_table["matmul", "cublas"]
    probes["64^3 GEMM x @ w.T: tensorcore's cuBLAS handle (kernels.cuda_cublas)"] = \
        lambda: own_gemm(backend, x._data, w._data.T)
    probes["F.linear_act forward, path cupy, one cuBLASLt call"] = functools.partial(
        _switched_on, "lt", probes["F.linear_act forward, path cupy"])
    for impl in ("tc-auto", "tc-cupy+cublas", "tc-cupy+lt", "tc-cupy+graph", *COMPILED_IMPLS,
                 "torch-cuda", "torch-cuda+graph"):
        if impl in available_gpu_mlp_impls():
            try:
                step = make_gpu_mlp_step(impl, "small")[0]
                W.warm_up(step, 0)  # a compiled step traces in its first calls
            except Exception as e:  # noqa: BLE001 - the probe's cell shows it
                step = functools.partial(_reraise, e)
            probes[f"small MLP step, {impl} (whole step)"] = step
    return probes


def _reraise(error: Exception):
    raise error


def time_mlp_best(impl: str, size: str, min_time: float, step_ms: dict, steps: dict) -> float:
    """Milliseconds per step of ``impl`` at ``size``, the best of this and earlier passes
    (kept in ``step_ms``); the step is built once (kept in ``steps``)."""
    key = (impl, size)
    if key not in steps:
        steps[key] = make_gpu_mlp_step(impl, size)[0]
        W.warm_up(steps[key], 0)  # a compiled step traces in its first calls
    ms = time_gpu(steps[key], min_time) * 1e3
    step_ms[key] = min(ms, step_ms.get(key, ms))
    return step_ms[key]


def time_layer(impl: str, n: int, min_time: float, times: dict) -> tuple[float, float]:
    """``(seconds, TFLOP/s)`` of the fused layer at ``n``^3, the best of this and earlier
    passes (kept in ``times``)."""
    sec = time_gpu(make_layer(impl, n), min_time, repeats=3 if n >= 4096 else 5)
    sec = times[impl, n] = min(sec, times.get((impl, n), sec))
    return sec, layer_flops(impl, n) / sec / 1e12


def _layer_timing(impl: str, n: int, min_time: float, times: dict) -> tuple[float, float]:
    """``time_layer``'s result, from ``times`` where the cell was timed already."""
    if (impl, n) not in times:
        return time_layer(impl, n, min_time, times)
    return times[impl, n], layer_flops(impl, n) / times[impl, n] / 1e12


def time_elementwise(op: str, impl: str, n: int, min_time: float, times: dict) -> float:
    """Seconds per call of ``make_elementwise(op, impl, n)``; also stored in ``times``."""
    times[impl, n] = time_gpu(make_elementwise(op, impl, n), min_time)
    return times[impl, n]


def _layer_cell(result: tuple[float, float], peak: float = FP32_PEAK_TFLOPS) -> str:
    sec, tflops = result
    return f"{sec * 1e3:.3f} ({tflops:.3g}, {100 * tflops / peak:.2g}%)"


# -- checks ---------------------------------------------------------------------------------------
def check_gpu_agreement(size: str, steps: int = 2, rtol: float = 2e-3, atol: float = 1e-5,
                        impls: list[str] | None = None):
    """Weights after ``steps`` steps of each GPU implementation (``impls``, default all) vs
    the NumPy floor's; ``{impl: max relative difference}`` (AssertionError when one
    disagrees)."""
    ref_step, ref_params = W.make_mlp_step("numpy-floor", size)
    for _ in range(steps):
        ref_step()
    ref, out = ref_params(), {}
    for impl in available_gpu_mlp_impls() if impls is None else impls:
        step, get_params = make_gpu_mlp_step(impl, size, steps_before=steps - 1)
        for _ in range(1 if "+graph" in impl else steps):
            step()
        got = get_params()
        for r, p in zip(ref, got):
            np.testing.assert_allclose(p, r, rtol=rtol, atol=atol, err_msg=f"{impl} {size}")
        out[impl] = max(float(np.max(np.abs(p - r) / (np.abs(r) + atol)))
                        for r, p in zip(ref, got))
    return out


def available_gpu_mlp_impls() -> list[str]:
    return [i for i in GPU_MLP_IMPLS if not i.startswith("torch-cuda") or torch_cuda()]


def cell(fmt, fn, *args) -> str:
    """``fmt(fn(*args))``, or the error in a few words: one broken kernel path (say, Numba
    without its NVVM) must not end the report."""
    try:
        return fmt(fn(*args))
    except Exception as e:  # noqa: BLE001 - reported in the table instead
        traceback.print_exc(file=sys.stderr)  # the whole story, on stderr
        first = str(e).strip().splitlines()[0][:80] if str(e).strip() else ""
        return f"**{type(e).__name__}** {first}".strip()


def run_tests(mode: str) -> str:
    """The failures and the pytest summary line of the GPU tests (``gpu``) or of the whole
    suite (``all``)."""
    if mode == "none":
        return "(not run)"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    args += ["tests"] if mode == "all" else ["-k", "(cuda or gpu) and not simulator", "tests"]
    r = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in r.stdout.strip().splitlines() if ln.strip()]
    failures = [ln for ln in lines if ln.startswith(("FAILED", "ERROR"))]
    return "\n".join(failures[:30] + lines[-1:]) if lines else r.stderr[-2000:]


def crossover(times: dict, op: str = "linear_act", power: int = 3) -> str:
    """Where the ``cupy`` path first beats ``numba`` for ``op`` (a row of the auto table,
    whose work is side ** ``power``, or ``layer_steps`` of a square layer for linear_act),
    bracketed by the last side where ``numba`` still won; ``times`` maps ``(path, side)`` to
    seconds."""
    def work(side: int) -> int:
        if op == "linear_act":
            return kernel_paths.layer_steps(side, side, side, _sm_count())
        return side ** power

    last_numba = None
    for n in sorted({n for _, n in times}):
        if ("numba", n) not in times or ("cupy", n) not in times:
            continue
        if times["cupy", n] < times["numba", n]:
            below = "" if last_numba is None else f" (numba still won at {last_numba})"
            return (f"{op}: cupy first wins at side {n}{below}: set AUTO_THRESHOLDS['{op}'] "
                    f"between {work(last_numba or 0)} and {work(n) - 1} (now "
                    f"{kernel_paths.AUTO_THRESHOLDS[op]})")
        last_numba = n
    return f"{op}: numba wins (or is missing) at every measured side"


def fastest_against(times: dict, candidates: tuple[str, ...], baseline: str) -> str:
    """Per side (or MLP size), the fastest of ``candidates`` and its lead over ``baseline``
    (the issue's targets: a fused layer 1.5x the unfused path at small shapes, the small
    MLP step 2x PyTorch CUDA eager); ``times`` maps ``(impl, side)`` to a time."""
    found = []
    for n in sorted({n for impl, n in times if impl == baseline}):
        timed = [(times[i, n], i) for i in candidates if (i, n) in times]
        if timed:
            best, impl = min(timed)
            found.append(f"{n}: {impl} {times[baseline, n] / best:.2f}x")
    return "; ".join(found) or f"{baseline} was not timed"


def elementwise_table(sides, min_time: float) -> list[str]:
    """The fused elementwise entry points per path at n x n (microseconds per call) and their
    crossovers."""
    out = ["", "### Fused elementwise entry points, float32 n x n (us per call)", "",
           "| op | n | " + " | ".join(PATHS) + " |", "|---|---|" + "---|" * len(PATHS)]
    found = []
    for op in ELEMENTWISE_OPS:
        times = {}
        for n in sides:
            row = []
            for impl in PATHS:
                row.append(cell(lambda sec: f"{sec * 1e6:.1f}", time_elementwise, op, impl, n,
                                min_time, times))
            out.append(f"| {op} | {n} | " + " | ".join(row) + " |")
        found.append(f"- {crossover(times, op, 2)}")
    return out + [""] + found


# -- the report -----------------------------------------------------------------------------------
def _environment() -> list[str]:
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = gpu_name(props)
    try:
        import numba.cuda as nc
        numba_cuda = f"{getattr(nc, 'implementation', '?')} numba.cuda"
    except Exception as e:  # noqa: BLE001 - report, never fail here
        numba_cuda = f"unavailable ({e})"
    return [f"- GPU: **{name}** (SMs: {props['multiProcessorCount']}, "
            f"{props['totalGlobalMem'] / 2**30:.0f} GiB)",
            f"- CuPy {cupy.__version__}, CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()},"
            f" driver {cupy.cuda.runtime.driverGetVersion()}; Numba CUDA: {numba_cuda}",
            f"- kernel path setting: {kernel_paths.get_kernels()}; auto table: "
            f"{kernel_paths.AUTO_THRESHOLDS}",
            f"- PyTorch CUDA (the torch-cuda columns): {_torch_cuda_status()}"]


def gpu_name(props: dict) -> str:
    return props["name"].decode() if isinstance(props["name"], bytes) else props["name"]


def chart_results(step_ms: dict, layer_times: dict, date: str) -> dict:
    """The run's times as ``charts.py`` takes them: MLP steps by size, layers by side (TF32
    cells apart)."""
    import cupy

    groups = {"mlp": {}, "layer": {}, "tf32": {}}
    for (impl, size), ms in step_ms.items():
        groups["mlp"].setdefault(size, {})[impl] = ms * 1e-3
    for (impl, n), sec in sorted(layer_times.items(), key=lambda kv: kv[0][1]):
        base = impl.replace("+tf32", "")  # a TF32 cell's float32 time beside it, as printed
        if base != impl and (base, n) in layer_times:
            groups["tf32"].setdefault(f"n = {n}", {})[base] = layer_times[base, n]
        groups["tf32" if base != impl else "layer"].setdefault(f"n = {n}", {})[impl] = sec
    titles = {"mlp": "MLP training step", "layer": "Fused linear + ReLU, forward + backward, "
              "float32", "tf32": "Linear + ReLU forward + backward, float32 and TF32 (+tf32)"}
    return {"machine": gpu_name(cupy.cuda.runtime.getDeviceProperties(0)), "device": "cuda",
            "date": date, "source": "benchmarks/gpu_report.py",
            "command": "python benchmarks/gpu_report.py " + " ".join(sys.argv[1:]),
            "workloads": [charts.workload(k, titles[k], "time per step" if k == "mlp" else
                                          "time per call", g) for k, g in groups.items() if g]}


def _torch_cuda_status() -> str:
    torch = W.get_torch()
    if torch is None:
        return "**absent**: torch is not importable"
    if torch_cuda() is None:
        return f"**absent**: torch {torch.__version__} has no usable CUDA (a CPU-only build?)"
    return f"torch {torch.__version__}, CUDA {torch.version.cuda}"


def host_cost_table() -> list[str]:
    """Host time per call of each launch path (quick: printed before the long tables, as it
    decides the eager defaults)."""
    from tensorcore.kernels.numba_cuda import common as cuda_common

    out = ["", "### Host cost per launch (us of Python per call, GPU not awaited)", "",
           "| call | us |", "|---|---|"]
    for label, fn in launch_probes().items():
        out.append(f"| {label} | {cell(lambda s: f'{s * 1e6:.1f}', host_cost_per_call, fn)} |")
    return out + ["", "- Numba kernels were launched through " + (
        "kernels.cuda_launch (fast launches)" if cuda_common.FAST_LAUNCH else
        "Numba's dispatcher (the fast-launch probe failed: see stderr)")]


def emit(*lines: str) -> None:
    """Print report lines at once (a run stopped at its time cap keeps what was printed)."""
    print("\n".join(lines), flush=True)


def mlp_section(sizes: list[str], min_time: float) -> dict:
    """The MLP steps per implementation (a row per size, printed as it is timed) and the
    large step's GEMM share; returns the times (``(impl, size)`` -> ms)."""
    impls = available_gpu_mlp_impls()
    emit("", "### MLP training step on cuda (ms per step)", "",
         "| size | " + " | ".join(impls) + " |", "|---|" + "---|" * len(impls))
    step_ms = {}  # (impl, size) -> ms, for the GEMM throughput of the large step below
    steps = {}  # each step built once, timed in every pass
    for size in sizes:  # interleaved passes, the best of each kept: order and clocks cancel
        for _ in range(LAYER_PASSES - 1):  # backwards: no column is always timed first
            for impl in reversed(impls):
                cell(str, time_mlp_best, impl, size, min_time, step_ms, steps)
        row = [cell("{:.3f}".format, time_mlp_best, impl, size, min_time, step_ms, steps)
               for impl in impls]
        emit(f"| {size} | " + " | ".join(row) + " |")
    emit("")
    if "large" in sizes:
        emit(cell(functools.partial(step_gemm_share, step_ms, "large"),
                  lambda: time_gpu(make_step_gemms("large"), min_time) * 1e3))
    eager = tuple(i for i in impls if i.startswith("tc-") and "+graph" not in i
                  and not i.endswith(("+read", "+compiled")))
    captured = tuple(i for i in impls if i.startswith("tc-") and "+graph" in i)
    compiled = tuple(i for i in impls if i in COMPILED_IMPLS)
    emit("- eager, fastest tc step against torch-cuda (the target: 2x at small): "
         + fastest_against(step_ms, eager, "torch-cuda"),
         "- captured, fastest tc step against torch-cuda: " + fastest_against(
             step_ms, captured, "torch-cuda"),
         "- compiled (tc.compile) against torch-cuda (the target: >= 8x at small): "
         + fastest_against(step_ms, compiled, "torch-cuda"),
         "- compiled against torch-cuda+graph, PyTorch's whole step in a CUDA graph (the "
         "target: >= 1.00x at small): " + fastest_against(step_ms, compiled, "torch-cuda+graph"),
         "- PyTorch's own capture, torch-cuda+graph against torch-cuda: " + fastest_against(
             step_ms, ("torch-cuda+graph",), "torch-cuda"))
    emit("- +compiled columns: the eager step wrapped with tc.compile, called "
         f"{W.COMPILE_WARMUP} times before timing; calls while timed (traced, replayed, run "
         "eagerly: a column that did not replay timed eager work): " + ", ".join(
             f"{impl} {size} {steps[impl, size].stats}" for impl, size in steps
             if impl in COMPILED_IMPLS and W.is_compiled(steps[impl, size])),
         "- torch-cuda+graph: forward, backward and the SGD update captured with "
         "torch.cuda.graph after a warm-up on a side stream; each replay copies the batch "
         "into the static input and target tensors")
    emit(f"- each cell: the best of {LAYER_PASSES} interleaved passes over the columns (the "
         "first right to left)",
         f"- +graph columns: the GEMMs ran on the {graph_gemm_name()} graph GEMM "
         "(+graph:numba: the Numba GEMM)",
         "- `F.cross_entropy` checks its targets' range with the max known from their host "
         "copy (`Tensor.class_index_max`), without waiting for the GPU; +read: the step "
         "reading it back from the GPU instead (before that change: one wait per step). A "
         "captured step (+graph) checks nothing and gives a NaN loss for a bad target")
    if {"tc-cupy", "tc-cupy+read"} <= set(impls):
        emit("- the wait removed, tc-cupy+read over tc-cupy: " + ", ".join(
            f"{size} {step_ms['tc-cupy+read', size] / step_ms['tc-cupy', size]:.2f}x"
            for size in sizes if {("tc-cupy", size), ("tc-cupy+read", size)} <= set(step_ms)))
    return step_ms


def layer_section(sides: list[int], min_time: float) -> dict:
    """The fused layer per implementation and side (a row per side, printed as it is timed),
    then the crossover and the fused-against-unfused summary lines; returns the times
    (``(impl, n)`` -> seconds)."""
    impls = (list(PATHS) + ["numba+one", "numba+split", "numba+cublas", "cupy+cublas",
                            "unfused+cublas", "cupy+lt", "numba+graph", "cupy+graph",
                            "unfused+graph", "cupy+graph:numba", "cublas"]
             + (["torch-cuda"] if torch_cuda() else []))
    emit("", "### Fused linear + ReLU, forward + backward, float32 "
         f"(ms, and TFLOP/s; FP32 peak {FP32_PEAK_TFLOPS:.0f})", "",
         "| M = N = K | " + " | ".join(impls) + " |", "|---|" + "---|" * len(impls))
    times = {}
    for n in sides:  # LAYER_PASSES interleaved passes over the paths: the best of each is kept,
        timed = [i for i in impls if not ("+" in i and n > GRAPH_LAYER_MAX)]
        for _ in range(LAYER_PASSES - 1):  # so that the order and clock changes cancel out
            for impl in reversed(timed):
                cell(str, time_layer, impl, n, min_time, times)
        row = [cell(_layer_cell, time_layer, impl, n, min_time, times) if impl in timed
               else "-" for impl in impls]
        emit(f"| {n} | " + " | ".join(row) + " |")
    emit("", f"- {crossover(times)}",
         "- eager, fastest fused layer against unfused: " + fastest_against(
             times, ("numba", "cupy", "numba+cublas", "cupy+cublas", "cupy+lt"), "unfused"),
         "- eager, fastest fused layer against unfused+cublas: " + fastest_against(
             times, ("numba+cublas", "cupy+cublas"), "unfused+cublas"),
         "- the one-launch backward, numba+split over numba+one: " + ", ".join(
             f"{n}: {times['numba+split', n] / times['numba+one', n]:.2f}x" for n in sides
             if {("numba+one", n), ("numba+split", n)} <= set(times)),
         "- in a graph, fastest fused layer against unfused+graph: " + fastest_against(
             times, ("numba+graph", "cupy+graph", "cupy+graph:numba"), "unfused+graph"),
         "- cublas is ONE GEMM (2n^3); the others run three "
         "(6n^3): a fused layer at cuBLAS speed takes 3x the cublas column.",
         f"- each cell: the best of {LAYER_PASSES} interleaved passes over the columns (the "
         "first right to left)",
         "- numba: the layer's forward in one launch, its backward in one up to "
         f"{cuda_settings.ONE_LAUNCH_BACKWARD_MAX:.3g} of M*N*K; numba+one: always one; "
         "numba+split: never (the act backward kernel and two cuBLAS GEMMs, the before)",
         f"- +cublas: eager, the GEMMs on tensorcore's cuBLAS handle instead of CuPy's @; "
         f"+lt: eager, the forward in one cuBLASLt call (bias + ReLU epilogue); both timed "
         f"up to {GRAPH_LAYER_MAX}^3",
         f"- +graph: the layer captured once and replayed (no host cost per launch; GEMMs "
         f"on the {graph_gemm_name()} graph GEMM, :numba on the Numba GEMM), timed up to "
         f"{GRAPH_LAYER_MAX}^3")
    return times


def tf32_section(sides: list[int], min_time: float, times: dict) -> None:
    """The layer and one GEMM with TF32 allowed beside their float32 times (those of the
    layer table, in ``times``; timed here where missing), a row per side, against the TF32
    peak."""
    bases = ["cupy", "cublas"] + (["torch-cuda"] if torch_cuda() else [])
    impls = [i for base in bases for i in (base, f"{base}+tf32")]
    emit("", "### TF32: `tc.set_float32_matmul_precision(\"high\")`, linear + ReLU forward + "
         f"backward (ms, and TFLOP/s; % of the TF32 peak, {TF32_PEAK_TFLOPS:.0f})", "",
         "| M = N = K | " + " | ".join(impls) + " |", "|---|" + "---|" * len(impls))
    for n in sides:
        row = [cell(functools.partial(_layer_cell, peak=TF32_PEAK_TFLOPS), _layer_timing,
                    impl, n, min_time, times) for impl in impls]
        emit(f"| {n} | " + " | ".join(row) + " |")
    emit("", "- with TF32 against float32: " + "; ".join(
        f"{n}: " + ", ".join(f"{base} {times[base, n] / times[f'{base}+tf32', n]:.2f}x"
                             for base in bases if {(base, n), (f"{base}+tf32", n)} <= set(times))
        for n in sides) or "not timed",
         "- +tf32 lets cuBLAS round float32 inputs to TF32 (10-bit mantissa) on the tensor "
         "cores; accumulation stays float32. cublas: ONE GEMM (2n^3), through the backend. "
         "The float32 columns are the layer table's cells")


SECTIONS = ("agreement", "host", "mlp", "layer", "tf32", "elementwise")  # in report order


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", choices=("gpu", "all", "none"), default="gpu")
    ap.add_argument("--quick", action="store_true", help="skip 8192^3 and shorten timing")
    ap.add_argument("--sizes", default="tiny,small,large")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help=f"which of {','.join(SECTIONS)} to run (default: all)")
    ap.add_argument("--json", metavar="PATH", help="also save the times as JSON (charts.py)")
    ap.add_argument("--png", metavar="DIR", help="also draw a PNG chart per workload into DIR")
    args = ap.parse_args(argv)
    run = set(args.sections.split(","))
    if run - set(SECTIONS):
        ap.error(f"unknown sections {sorted(run - set(SECTIONS))}; choose from {SECTIONS}")
    if not tc.cuda.is_available():
        print(f"no GPU: {tc.backends.cuda_unavailable_reason()}", file=sys.stderr)
        return 2
    min_time = 0.02 if args.quick else 0.05
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    emit("## GPU benchmarks", "", *_environment(), "")
    emit("### Tests", "", "```", run_tests(args.tests), "```", "")
    sizes = args.sizes.split(",")
    for size in sizes if "agreement" in run else ():  # an AssertionError names the culprit
        worst = [f"{impl} " + cell(lambda d: f"{max(d.values()):.1e}", check_gpu_agreement,
                                   size, 2, 2e-3, 1e-5, [impl])
                 for impl in available_gpu_mlp_impls()]
        emit(f"- max relative difference from the NumPy floor after 2 steps, {size}: "
             + ", ".join(worst))
    if "host" in run:  # quick, and it decides the eager defaults: before the long ones
        emit(*host_cost_table())
    step_ms = mlp_section(sizes, min_time) if "mlp" in run else {}
    sides = [n for n in LAYER_SIDES if not (args.quick and n > 4096)]
    layer_times = layer_section(sides, min_time) if "layer" in run else {}
    if "tf32" in run:
        tf32_section([n for n in TF32_SIDES if n in sides], min_time, layer_times)
    if "elementwise" in run:  # last: the one a cut run can best do without
        emit(*elementwise_table(sides, min_time))
    if (args.json or args.png) and (step_ms or layer_times):
        print("\n".join(charts.write_outputs(chart_results(step_ms, layer_times, date),
                                             args.json, args.png, "gpu-")), file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
