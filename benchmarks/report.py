"""Time every benchmark workload in ONE process and print a markdown report.

    python benchmarks/report.py                # about 2 minutes on 2 cores
    python benchmarks/report.py --profile      # also cProfile the tiny step and the chain
    python benchmarks/report.py --threads 1    # single-threaded BLAS/OpenMP/torch/Numba

Timing is timeit-style: each workload is warmed up (Numba compiles lazily), a loop count is
calibrated so that one repeat lasts at least ``--min-time`` seconds, and the result is the
minimum over the repeats of (repeat time / loop count). The implementations of a workload
are timed round-robin (repeat 1 of each, then repeat 2 of each, ...) until the workload's
time budget is spent, so a busy phase of the machine does not fall on one of them only; short
repeats and a minimum make the numbers robust to other processes sharing the CPUs. The
garbage collector stays enabled (a training loop pays for it too).

The report says how much CPU other processes took during each workload ("others' CPU"):
on a shared 2-core machine a multi-threaded GEMM whose second thread is descheduled can run
10x slower, so numbers taken while others' CPU is high are not comparable with quiet ones.
``--wait-idle`` waits (up to that many seconds) for the machine to go quiet before starting.

Targets (tensorcore with its default backend, numba): per-op overhead <= 4 us; MLP step
<= 2x the NumPy floor (tiny), <= 1.1x (small), <= 1.05x (large).
"""

from __future__ import annotations

import argparse
import os
import sys


def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description="Benchmark report for tensorcore (markdown).")
    ap.add_argument("--threads", type=int, default=2,
                    help="BLAS/OpenMP/torch threads (default 2; env OMP_NUM_THREADS and "
                         "OPENBLAS_NUM_THREADS win when set)")
    ap.add_argument("--min-time", type=float, default=0.002,
                    help="seconds one repeat lasts at least (the loop count is calibrated)")
    ap.add_argument("--budget", type=float, default=1.0,
                    help="scale the per-workload time budgets (1.0: about 2 minutes in all)")
    ap.add_argument("--min-repeats", type=int, default=5)
    ap.add_argument("--sizes", default="tiny,small,large", help="MLP sizes to run")
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="wait up to this many seconds for other processes to leave the CPUs")
    ap.add_argument("--profile", action="store_true",
                    help="append cProfile tables (by tottime) of the tiny step and the chain")
    return ap.parse_args(argv)


ARGS = _parse_args() if __name__ == "__main__" else None
_THREADS = str(ARGS.threads if ARGS else 2)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _THREADS)  # before NumPy is imported
if ARGS and ARGS.threads == 1:
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cProfile  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import workloads as W  # noqa: E402

import tensorcore as tc  # noqa: E402

W.NUM_THREADS = int(os.environ["OMP_NUM_THREADS"])

TARGET_US_PER_OP = 4.0
TARGET_RATIO = {"tiny": 2.0, "small": 1.1, "large": 1.05}
TC_DEFAULT = "tc-numba"  # the default CPU backend: the targets are judged on it
# seconds of round-robin timing per workload (times --budget)
BUDGET = {"chain": 8.0, "tiny": 10.0, "small": 16.0, "large": 25.0}


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


# -- environment --------------------------------------------------------------------------------
def machine_info() -> dict:
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            key, _, val = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Core(s) per socket"):
                info[key.strip()] = val.strip()
    except (OSError, subprocess.CalledProcessError):
        info["CPU(s)"] = str(os.cpu_count())
    info.update(python=platform.python_version(), numpy=np.__version__,
                tensorcore=tc.__version__)
    try:
        import numba
        info["numba"] = f"{numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads)"
    except ImportError:
        pass
    torch = W.get_torch()
    info["torch"] = ("not importable" if torch is None
                     else f"{torch.__version__} ({torch.get_num_threads()} threads)")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE", "NUMBA_NUM_THREADS"):
        info[var] = os.environ.get(var, "(unset)")
    return info


def blas_lines() -> list[str]:
    pools = W.blas_info()
    if not pools:
        return ["threadpoolctl not installed: see `python -c 'import numpy; "
                "numpy.show_config()'`"]
    lines = []
    for p in pools:
        extra = ", ".join(f"{k} {p[k]}" for k in ("version", "architecture", "threading_layer")
                          if p.get(k))
        lines.append(f"{p['internal_api']}, {p['num_threads']} threads"
                     + (f", {extra}" if extra else "") + f": `{os.path.basename(p['filepath'])}`")
    return lines


# -- workloads ----------------------------------------------------------------------------------
def run_overhead(args) -> dict:
    impls = W.available_chain_impls()
    variants = {
        "fwd+bwd": {i: W.make_chain(i) for i in impls},
        "fwd only (graph recorded)": {i: W.make_chain(i, backward=False) for i in impls},
        "fwd under no_grad": {i: W.make_chain(i, grad=False) for i in impls},
    }
    budget = BUDGET["chain"] * args.budget
    out = {}
    for v, fns in variants.items():
        res = time_round_robin(fns, budget if v == "fwd+bwd" else budget / 3, args.min_time,
                               args.min_repeats)
        for r in res.values():
            r["min"] /= W.CHAIN_OPS
            r["median"] /= W.CHAIN_OPS
        out[v] = res
    return out


def run_mlp(size: str, args) -> dict:
    fns = {impl: W.make_mlp_step(impl, size)[0] for impl in W.available_mlp_impls()}
    return time_round_robin(fns, BUDGET[size] * args.budget, args.min_time, args.min_repeats)


def tiny_phases() -> list[str]:
    """Where the tiny step's time goes: forward (with and without a graph), backward and the
    SGD update of tensorcore (numba), next to the whole NumPy floor step (µs, best of 5)."""
    import tensorcore.nn.functional as F

    def best(fn, n=2000, rep=5):
        for _ in range(50):
            fn()
        b = float("inf")
        for _ in range(rep):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            b = min(b, (time.perf_counter() - t0) / n)
        return b * 1e6

    x, labels, params = W.mlp_init("tiny")
    with tc.backends.use_backend("numba"):
        xt, yt = tc.tensor(x), tc.tensor(labels)
        ps = [(tc.tensor(w, requires_grad=True), tc.tensor(b, requires_grad=True))
              for w, b in params]
    flat = [p for wb in ps for p in wb]

    def fwd():
        h = xt
        for w, b in ps[:-1]:
            h = F.linear_act(h, w, b, "relu")
        return F.cross_entropy(F.linear(h, *ps[-1]), yt)

    def fwd_no_grad():
        with tc.no_grad():
            return fwd()

    def fwd_bwd():
        fwd().backward()
        for p in flat:
            p.grad = None

    def update():
        with tc.no_grad():
            for p in flat:
                p.sub_(p.grad, alpha=W.LR)

    t_fwd, t_ng, t_fb = best(fwd), best(fwd_no_grad), best(fwd_bwd)
    fwd().backward()
    t_upd = best(update)
    floor = best(W.make_mlp_step("numpy-floor", "tiny")[0])
    return [
        "| phase (tiny step, tensorcore numba) | µs |",
        "|---|---:|",
        f"| forward, graph recorded (linear_act relu, linear, cross_entropy) | {t_fwd:.1f} |",
        f"| forward under no_grad | {t_ng:.1f} |",
        f"| backward (fwd+bwd minus fwd) | {t_fb - t_fwd:.1f} |",
        f"| SGD update: {len(flat)} x `p.sub_(p.grad, alpha=lr)` under no_grad | {t_upd:.1f} |",
        f"| whole NumPy floor step, for scale | {floor:.1f} |",
    ]


def profile(fn, calls: int, top: int = 22) -> str:
    for _ in range(3):
        fn()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(calls):
        fn()
    pr.disable()
    s = io.StringIO()
    pstats.Stats(pr, stream=s).strip_dirs().sort_stats("tottime").print_stats(top)
    text = s.getvalue()
    head = [ln for ln in text.splitlines() if "function calls" in ln]
    body = text[text.find("   ncalls"):].rstrip() if "   ncalls" in text else text
    return "\n".join(head + [f"({calls} calls profiled)", ""] + [body])


# -- report -------------------------------------------------------------------------------------
def main(args) -> int:
    sizes = [s for s in args.sizes.split(",") if s]
    idle_share = wait_idle(args.wait_idle) if args.wait_idle > 0 else None
    started = time.time()
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    total_meter = CpuMeter().start()

    W.check_chain_agreement()  # the timed work is the right work, in every implementation
    agreement = {s: W.check_mlp_agreement(s) for s in sizes}

    overhead = run_overhead(args)
    mlp = {s: run_mlp(s, args) for s in sizes}
    others_total = total_meter.stop()
    elapsed = time.time() - started

    out = []
    p = out.append
    p(f"Run: {date}, {elapsed:.0f} s; `--threads {W.NUM_THREADS}`. Each number is the minimum, "
      f"over round-robin repeats (>= {args.min_time * 1e3:g} ms each) taken in blocks during "
      f"which other processes used < {QUIET:.0%} of the CPUs, of the time per call.")
    p(f"Other processes used {fmt_share(others_total)} of the CPUs during the run"
      + (f" ({fmt_share(idle_share)} just before it)" if idle_share is not None else "")
      + f"; load average at the end {os.getloadavg()[0]:.2f}.")
    p("")
    for k, v in machine_info().items():
        p(f"- {k}: {v}")
    for line in blas_lines():
        p(f"- threadpool: {line}")
    p("")

    p(f"### Per-op overhead: 200-op chain on {W.CHAIN_LEN} float32 elements (µs per op)")
    p("")
    impls = list(overhead["fwd+bwd"])
    p("| variant | " + " | ".join(impls) + " | quiet blocks |")
    p("|---|" + "---:|" * len(impls) + "---:|")
    for variant, row in overhead.items():
        p(f"| {variant} | " + " | ".join(f"{row[i]['min'] * 1e6:.2f}" for i in impls)
          + f" | {quiet_note(next(iter(row.values())))} |")
    p("")

    p("### MLP training step (time per step, and ratio to the NumPy floor)")
    p("")
    mlp_impls = W.available_mlp_impls()
    others = [i for i in mlp_impls if i != "numpy-floor"]
    p("| size | " + " | ".join(mlp_impls) + " | "
      + " | ".join(f"{i} / floor" for i in others) + " | target | quiet blocks |")
    p("|---|" + "---:|" * (len(mlp_impls) + len(others)) + "---:|---:|")
    for s in sizes:
        row = mlp[s]
        floor = row["numpy-floor"]["min"]
        p(f"| {s} | " + " | ".join(fmt_time(row[i]["min"]) for i in mlp_impls) + " | "
          + " | ".join(f"{row[i]['min'] / floor:.2f}x" for i in others)
          + f" | <= {TARGET_RATIO[s]}x | {quiet_note(row['numpy-floor'])} |")
    p("")
    p("\"quiet blocks\": blocks of repeats (>= 0.25 s) in which other processes used < 10% of "
      "the CPUs, of all blocks; only those are used. NONE QUIET: every block was shared, the "
      "numbers are not comparable with a quiet machine (multi-threaded GEMMs stall).")
    p("")
    p("Medians (same order): " + "; ".join(
        f"{s}: " + ", ".join(fmt_time(mlp[s][i]["median"]) for i in mlp_impls) for s in sizes))
    p("")

    p(f"### Targets (tensorcore default backend, numba; `--threads {W.NUM_THREADS}`)")
    p("")
    p("| target | measured | met? |")
    p("|---|---:|---|")
    us = overhead["fwd+bwd"][TC_DEFAULT]["min"] * 1e6
    p(f"| per-op overhead <= {TARGET_US_PER_OP:g} µs | {us:.2f} µs | "
      f"{'yes' if us <= TARGET_US_PER_OP else 'NO'} |")
    for s in sizes:
        r = mlp[s][TC_DEFAULT]["min"] / mlp[s]["numpy-floor"]["min"]
        p(f"| {s} step <= {TARGET_RATIO[s]:g}x floor | {r:.2f}x | "
          f"{'yes' if r <= TARGET_RATIO[s] else 'NO'} |")
    p("")
    p("Agreement with the floor (max relative weight difference after 2 steps): "
      + "; ".join(f"{s}: " + ", ".join(f"{k} {v:.0e}" for k, v in a.items())
                  for s, a in agreement.items()) + ".")

    if args.profile:
        step, _ = W.make_mlp_step(TC_DEFAULT, "tiny")
        chain = W.make_chain(TC_DEFAULT)
        p("")
        p("### Tiny step by phase")
        p("")
        out.extend(tiny_phases())
        p("")
        p("### cProfile: tensorcore (numba) tiny MLP step, by tottime")
        p("")
        p("```")
        p(profile(step, 2000))
        p("```")
        p("")
        p("### cProfile: tensorcore (numba) 200-op chain, forward+backward, by tottime")
        p("")
        p("```")
        p(profile(chain, 200))
        p("```")

    print("\n".join(out))
    return 0


if __name__ == "__main__":
    gc.enable()
    sys.exit(main(ARGS))
