"""GPU benchmarks (pytest-benchmark; skipped without a usable GPU; not run in CI).

* the three MLP training steps of ``workloads.py`` on ``cuda``, on each kernel path
  (``numba``, ``cupy``, ``unfused``), under ``tc.compile`` (``tc-auto+compiled``), and
  PyTorch CUDA eager and captured whole as a CUDA graph (``torch-cuda+graph``) where
  importable;
* fused linear + ReLU forward + backward alone at 64^3 ... 8192^3 per path, plus one
  cuBLAS GEMM; ``extra_info["tflops"]`` is the achieved rate and ``pct_fp32_peak`` its share
  of the H100's 67 TFLOP/s; from 1024^3 up also with TF32 allowed (``pct_tf32_peak``: of
  495 TFLOP/s).

Each timed call ends with a device synchronize, so the time is the GPU's, not the launch's.
``benchmarks/gpu_report.py`` prints the same numbers as one markdown table, timed with CUDA
events.

    python -m pytest benchmarks/test_gpu.py --benchmark-only
"""

from __future__ import annotations

import pytest

import tensorcore as tc

if not tc.cuda.is_available():
    pytest.skip(f"no GPU: {tc.backends.cuda_unavailable_reason()}", allow_module_level=True)

import gpu_report as G  # noqa: E402
import workloads as W  # noqa: E402


def _synced(fn):
    def run():
        out = fn()
        tc.cuda.synchronize()
        return out
    return run


@pytest.mark.parametrize("size", list(W.MLP_SIZES))
@pytest.mark.parametrize("impl", G.GPU_MLP_IMPLS)
def test_gpu_mlp_step(benchmark, impl, size):
    if impl.startswith("torch-cuda") and G.torch_cuda() is None:
        pytest.skip("PyTorch with CUDA is not importable here")
    step, _ = G.make_gpu_mlp_step(impl, size)
    W.warm_up(step)  # a compiled step traces in its first calls
    batch, dims = W.MLP_SIZES[size]
    benchmark.group = f"gpu mlp step: {size} (batch {batch}, {'-'.join(map(str, dims))})"
    benchmark.extra_info.update(impl=impl, size=size)
    benchmark(_synced(step))


@pytest.mark.parametrize("n", G.LAYER_SIDES)
@pytest.mark.parametrize("impl", [*G.PATHS, "cublas", "torch-cuda"])
def test_gpu_fused_layer(benchmark, impl, n):
    _bench_layer(benchmark, impl, n, G.FP32_PEAK_TFLOPS, "pct_fp32_peak")


@pytest.mark.parametrize("n", G.TF32_SIDES)
@pytest.mark.parametrize("impl", ["cupy+tf32", "cublas+tf32", "torch-cuda+tf32"])
def test_gpu_fused_layer_tf32(benchmark, impl, n):
    """The layer with ``tc.set_float32_matmul_precision("high")`` (PyTorch's too)."""
    _bench_layer(benchmark, impl, n, G.TF32_PEAK_TFLOPS, "pct_tf32_peak")


def _bench_layer(benchmark, impl: str, n: int, peak: float, peak_name: str) -> None:
    if impl.startswith("torch-cuda") and G.torch_cuda() is None:
        pytest.skip("PyTorch with CUDA is not importable here")
    run = G.make_layer(impl, n)
    for _ in range(2):
        run()
    benchmark.group = f"gpu linear+relu fwd+bwd: {n}^3"
    benchmark.extra_info.update(impl=impl, n=n)
    benchmark.pedantic(_synced(run), rounds=3 if n >= 4096 else 10, warmup_rounds=1)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        tflops = G.layer_flops(impl, n) / stats.stats.min / 1e12
        benchmark.extra_info.update(tflops=round(tflops, 2),
                                    **{peak_name: round(100 * tflops / peak, 1)})


def test_gpu_paths_agree_with_the_numpy_floor():
    """Not a benchmark: the GPU steps time the same work as the CPU floor."""
    for size in W.MLP_SIZES:
        G.check_gpu_agreement(size)
