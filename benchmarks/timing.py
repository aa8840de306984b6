"""Round-robin timing with a CPU-contention meter, for ``report.py`` (no NumPy here: the
report sets the BLAS thread count before NumPy is first imported).

Timing is timeit-style: a loop count is calibrated so that one repeat lasts at least
``min_time`` seconds, the implementations of a workload are timed round-robin in blocks, and
only the blocks during which other processes left the CPUs quiet count (see
``time_round_robin``).
"""

from __future__ import annotations

import os
import resource
import statistics
import time


# -- CPU contention -----------------------------------------------------------------------------
def _cpu_busy_ticks():
    """(busy, total) clock ticks of all CPUs from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = vals[3] + vals[4]  # idle + iowait
    total = sum(vals[:8])  # user nice system idle iowait irq softirq steal
    return total - idle, total


def _own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)  # all threads of this process
    return ru.ru_utime + ru.ru_stime


class CpuMeter:
    """The share of all CPUs that *other* processes used between start() and stop()."""

    def start(self):
        self._t = time.perf_counter()
        self._own = _own_cpu()
        self._sys = _cpu_busy_ticks()
        return self

    def stop(self) -> float | None:
        end = _cpu_busy_ticks()
        if end is None or self._sys is None:
            return None
        busy = (end[0] - self._sys[0]) / os.sysconf("SC_CLK_TCK")
        own = _own_cpu() - self._own
        wall = (time.perf_counter() - self._t) * (os.cpu_count() or 1)
        return max(0.0, min(1.0, (busy - own) / wall)) if wall > 0 else None


def wait_idle(max_wait: float, threshold: float = 0.1) -> float | None:
    """Sleep until other processes use under ``threshold`` of the CPUs (1 s samples)."""
    deadline = time.time() + max_wait
    while True:
        m = CpuMeter().start()
        time.sleep(1.0)
        share = m.stop()
        if share is None or share < threshold or time.time() >= deadline:
            return share


# -- timing -------------------------------------------------------------------------------------
QUIET = 0.10  # a block of repeats counts as quiet when others used under 10% of the CPUs
BLOCK_S = 0.25  # blocks of round-robin repeats last at least this long (CPU meter resolution)


def time_round_robin(fns: dict, budget: float, min_time: float, min_repeats: int,
                     warmup: int = 3, min_quiet_blocks: int = 3) -> dict:
    """``{name: {"min", "median", "repeats", "others_cpu", "quiet"}}``, seconds per call.

    Repeats run round-robin in blocks of >= BLOCK_S seconds; each block's samples count only
    if other processes used under QUIET of the CPUs meanwhile. While fewer than
    ``min_quiet_blocks`` blocks were quiet the budget is extended, up to twice. When none was
    quiet every sample counts and ``quiet`` is False.
    """
    numbers = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        number = 1
        while True:  # timeit.autorange, down to min_time
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
            number = max(number * 2, int(number * min_time / max(dt, 1e-9) * 1.2))
        numbers[name] = number
    quiet = {name: [] for name in fns}
    noisy = {name: [] for name in fns}
    shares, quiet_shares = [], []
    start = time.perf_counter()
    rounds = quiet_blocks = 0
    while True:
        elapsed = time.perf_counter() - start
        if rounds >= min_repeats and (
                elapsed >= 2 * budget or (elapsed >= budget and quiet_blocks >= min_quiet_blocks)):
            break
        meter = CpuMeter().start()
        block = {name: [] for name in fns}
        t_block = time.perf_counter()
        while True:
            for name, fn in fns.items():
                number = numbers[name]
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                block[name].append((time.perf_counter() - t0) / number)
            rounds += 1
            if time.perf_counter() - t_block >= BLOCK_S:
                break
        share = meter.stop()
        shares.append(share or 0.0)
        is_quiet = share is None or share < QUIET
        quiet_blocks += is_quiet
        if is_quiet:
            quiet_shares.append(share or 0.0)
        for name, samples in block.items():
            (quiet if is_quiet else noisy)[name].extend(samples)
    out = {}
    for name in fns:
        samples = quiet[name] or noisy[name]
        out[name] = {"min": min(samples), "median": statistics.median(samples),
                     "repeats": len(samples), "number": numbers[name],
                     "quiet": bool(quiet[name]), "quiet_blocks": quiet_blocks,
                     "blocks": len(shares),
                     "others_cpu": statistics.mean(quiet_shares or shares)}
    return out


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    return f"{seconds * 1e3:.2f} ms"


def quiet_note(r: dict) -> str:
    note = f"{r['quiet_blocks']}/{r['blocks']}"
    if not r["quiet"]:
        note += f" NONE QUIET (others {fmt_share(r['others_cpu'])})"
    return note


def fmt_share(x) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"
