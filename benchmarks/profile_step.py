"""Kernel by kernel: where the GPU time of one MLP training step goes (needs a GPU and
PyTorch, whose profiler reads every kernel of the process through CUPTI).

    python benchmarks/profile_step.py                          # large step, captured, cupy
    python benchmarks/profile_step.py --size small --impl tc-auto tc-cupy+graph

For each implementation (a column name of ``gpu_report.py``; ``gemms``: the step's GEMMs
alone through CuPy's cuBLAS, the reference of the issue's 90 % target; ``elementwise``: the
layer forward's and the SGD update's kernels against the CuPy ones they replaced) it prints the time
per step (CUDA events) and a table of the kernels that ran in one step: count, microseconds,
and their share; the gap is the step's time that no kernel filled (launch latency, waits).
Nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gpu_report as R  # noqa: E402


def step_of(impl: str, size: str):
    """A zero-argument callable running one step of ``impl`` (captured ones already
    captured, compiled ones already traced)."""
    if impl == "gemms":
        return R.make_step_gemms(size)
    step, _ = R.make_gpu_mlp_step(impl, size)
    R.W.warm_up(step, 0)
    return step


def kernel_table(step, steps: int) -> list[tuple[str, int, float]]:
    """``(kernel name, calls per step, microseconds per step)``, most time first."""
    torch = R.torch_cuda()
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
    rows = []
    for e in prof.key_averages():
        us = getattr(e, "device_time_total", None)
        if us is None:
            us = e.cuda_time_total
        if us > 0 and e.count:
            rows.append((e.key, e.count / steps, us / steps))
    return sorted(rows, key=lambda r: -r[2])


def report(impl: str, size: str, steps: int) -> str:
    step = step_of(impl, size)
    ms = R.time_gpu(step, 0.1) * 1e3
    rows = kernel_table(step, steps)
    busy = sum(us for _, _, us in rows)
    lines = [f"### {impl}, {size} step: {ms:.3f} ms per step; kernels {busy / 1e3:.3f} ms, "
             f"gap {ms - busy / 1e3:.3f} ms; {sum(c for _, c, _ in rows):.0f} kernels", "",
             "| kernel | per step | us | share |", "|---|---|---|---|"]
    for name, count, us in rows:
        lines.append(f"| `{name[:90]}` | {count:g} | {us:.1f} | {100 * us / (ms * 1e3):.1f}% |")
    return "\n".join(lines) + "\n"


def elementwise_before_after() -> str:
    """The layer forward's ``relu(z + b)`` and the SGD update at the large step's shapes:
    the CuPy ``ElementwiseKernel`` versions they replaced (the before, defined here) against
    ``kernels.cuda_cupy``'s vector-load kernels, in us per call and TB/s moved."""
    import cupy

    from tensorcore.kernels.cupy import fused as cuda_cupy

    old_relu = cupy.ElementwiseKernel("T b", "T z", "T v = z + b; z = v < (T)0 ? (T)0 : v;",
                                      "bias_act_relu_before")
    old_axpy = cupy.ElementwiseKernel("T y, T alpha", "T x", "x += alpha * y", "axpy_before")
    rng = cupy.random.default_rng(0)
    z = rng.standard_normal((1024, 2048), dtype=cupy.float32)
    b = rng.standard_normal(2048, dtype=cupy.float32)
    lines = ["| kernel | shape | before us (TB/s) | after us (TB/s) | after / before |",
             "|---|---|---|---|---|"]
    cases = [("relu(z + b)", z.shape, 2 * z.nbytes, lambda: old_relu(b, z),
              lambda: cuda_cupy.bias_act_forward(z, b, "relu"))]
    for shape in ((2048, 2048), (2048, 784)):
        x, y = (rng.standard_normal(shape, dtype=cupy.float32) for _ in range(2))
        cases.append(("x += a * y", shape, 3 * x.nbytes,
                      lambda x=x, y=y: old_axpy(y, np.float32(-1e-9), x),
                      lambda x=x, y=y: cuda_cupy.axpy_(x, -1e-9, y)))
    for name, shape, nbytes, before, after in cases:
        t0, t1 = (R.time_gpu(f, 0.05) for f in (before, after))
        lines.append(f"| {name} | {shape} | {t0 * 1e6:.1f} ({nbytes / t0 / 1e12:.2f}) | "
                     f"{t1 * 1e6:.1f} ({nbytes / t1 / 1e12:.2f}) | {t1 / t0:.2f} |")
    return "### Elementwise kernels, before and after\n\n" + "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="large", choices=sorted(R.W.MLP_SIZES))
    parser.add_argument("--impl", nargs="+", default=["gemms", "tc-cupy+graph"])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    if R.torch_cuda() is None:
        sys.exit("profile_step.py needs PyTorch with CUDA (its profiler reads the kernels)")
    for impl in args.impl:
        if impl == "elementwise":
            print(R.cell(str, elementwise_before_after))
        else:
            print(R.cell(str, report, impl, args.size, args.steps))


if __name__ == "__main__":
    main()
