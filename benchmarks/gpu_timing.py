"""GPU timers of ``gpu_report.py`` (and ``profile_step.py``, through it): CUDA events around
a calibrated loop, and the host's Python time per launch."""

from __future__ import annotations

import time


def time_gpu(fn, min_time: float = 0.05, repeats: int = 5, warmup: int = 2) -> float:
    """Seconds per call: CUDA events around a loop calibrated to last ``min_time``; the
    minimum over ``repeats``."""
    import cupy

    for _ in range(warmup):
        fn()
    cupy.cuda.Device().synchronize()
    start, end = cupy.cuda.Event(), cupy.cuda.Event()

    def run(loops: int) -> float:
        start.record()
        for _ in range(loops):
            fn()
        end.record()
        end.synchronize()
        return cupy.cuda.get_elapsed_time(start, end) / 1e3

    loops = 1
    seconds = run(loops)
    while seconds < min_time and loops < 10000:  # calibrate the loop count
        loops = min(10000, max(loops * 2, int(loops * min_time / max(seconds, 1e-6))))
        seconds = run(loops)
    best = seconds / loops
    for _ in range(repeats - 1):
        best = min(best, run(loops) / loops)
    return best


def host_cost_per_call(fn, calls: int = 200) -> float:
    """Python seconds per call of ``fn`` (a launch), not waiting for the GPU meanwhile."""
    import cupy

    for _ in range(5):
        fn()
    cupy.cuda.Device().synchronize()
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    host = (time.perf_counter() - t) / calls
    cupy.cuda.Device().synchronize()
    return host
