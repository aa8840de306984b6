"""Time every benchmark workload in ONE process and print a markdown report.

    python benchmarks/report.py                # about 4 minutes on 2 cores
    python benchmarks/report.py --profile      # also cProfile the tiny step and the chain
    python benchmarks/report.py --threads 1    # single-threaded BLAS/OpenMP/torch/Numba
    python benchmarks/report.py --json run.json --png charts/   # also the results and charts

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

Every workload has ``-compiled`` columns: the same step under ``tc.compile``, warmed up
before timing; the MLP step also runs op by op as course notebooks write it (``-ops``), in
tensorcore and PyTorch, in the same round-robin as the ``nn`` code.

Targets (tensorcore with its default backend, numba): eager per-op overhead <= PyTorch
eager's in the same run; eager MLP step <= 2x the NumPy floor (tiny), <= 1.1x (small), <=
1.05x (large). Compiled (issue 17): the step <= 1.15x the floor (tiny, ``nn`` and op-by-op
code), <= 1.0x (small, large); the replayed chain <= 1.0 us per op; tracing a tiny step (its
first calls until one replays) <= 30 eager steps.
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
                    help="scale the per-workload time budgets (1.0: about 4 minutes in all)")
    ap.add_argument("--min-repeats", type=int, default=5)
    ap.add_argument("--sizes", default="tiny,small,large", help="MLP sizes to run")
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="wait up to this many seconds for other processes to leave the CPUs")
    ap.add_argument("--profile", action="store_true",
                    help="append cProfile tables (by tottime) of the tiny step and the chain")
    ap.add_argument("--json", metavar="PATH",
                    help="also save the times as JSON (benchmarks/charts.py redraws them)")
    ap.add_argument("--png", metavar="DIR",
                    help="also draw a PNG chart per workload into DIR (charts.py)")
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
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import workloads as W  # noqa: E402
from timing import (  # noqa: E402
    QUIET,
    CpuMeter,
    fmt_share,
    fmt_time,
    quiet_note,
    time_round_robin,
    wait_idle,
)

import tensorcore as tc  # noqa: E402

W.NUM_THREADS = int(os.environ["OMP_NUM_THREADS"])

TARGET_RATIO = {"tiny": 2.0, "small": 1.1, "large": 1.05}  # eager step / floor
# issue 17 (tc.compile): replayed step / floor, replayed chain per op, and the first calls of
# a fresh compiled step (until it replays) in eager steps
TARGET_COMPILED_RATIO = {"tiny": 1.15, "small": 1.0, "large": 1.0}
TARGET_COMPILED_US_PER_OP = 1.0
TARGET_TRACE_STEPS = 30
TC_DEFAULT = "tc-numba"  # the default CPU backend: the targets are judged on it
TC_COMPILED = TC_DEFAULT + W.COMPILED
TRACE_CALLS = 10  # the tracing cost stops counting here when a compiled step never replays
# seconds of round-robin timing per workload (times --budget), for BUDGET_IMPLS
# implementations: a workload with more gets proportionally more, the same time for each
BUDGET = {"chain": 8.0, "tiny": 10.0, "small": 16.0, "large": 25.0}
BUDGET_IMPLS = 4

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
def _budget(workload: str, fns: dict, args) -> float:
    return BUDGET[workload] * args.budget * max(1, len(fns)) / BUDGET_IMPLS


def _warmed(fns: dict) -> dict:
    """``fns``, each called before timing (compiled ones until they trace and replay)."""
    for fn in fns.values():
        W.warm_up(fn)
    return fns


def _with_stats(res: dict, fns: dict) -> dict:
    """``res`` with each compiled function's call counts after the timing (``stats``)."""
    for name, fn in fns.items():
        if W.is_compiled(fn):
            res[name]["stats"] = dict(fn.stats)
    return res


def run_overhead(args) -> dict:
    impls = W.available_chain_impls()
    eager = [i for i in impls if not W.is_compiled_name(i)]  # no compiled fwd-only chain
    variants = {
        "fwd+bwd": {i: W.make_chain(i) for i in impls},
        "fwd only (graph recorded)": {i: W.make_chain(i, backward=False) for i in eager},
        "fwd under no_grad": {i: W.make_chain(i, grad=False) for i in impls},
    }
    out = {}
    for v, fns in variants.items():
        budget = _budget("chain", fns, args)
        res = time_round_robin(_warmed(fns), budget if v == "fwd+bwd" else budget / 3,
                               args.min_time, args.min_repeats)
        for r in res.values():
            r["min"] /= W.CHAIN_OPS
            r["median"] /= W.CHAIN_OPS
        out[v] = _with_stats(res, fns)
    return out


def run_mlp(size: str, args) -> dict:
    """Every MLP implementation (``nn`` code, op by op, eager and compiled) in one
    round-robin, so that all ratios come from the same run."""
    fns = {impl: W.make_mlp_step(impl, size)[0] for impl in W.available_mlp_impls()}
    res = time_round_robin(_warmed(fns), _budget(size, fns, args), args.min_time,
                           args.min_repeats)
    return _with_stats(res, fns)


def tracing_cost(impl: str, size: str, eager_median: float) -> tuple[str, float | None]:
    """The first calls of a fresh ``impl`` (a compiled step) until one replays (at most
    TRACE_CALLS; the best of three fresh steps), in eager steps of ``eager_median`` seconds:
    what compiling costs before it pays. ``(line, eager steps or None when it never replayed)``."""
    spent = float("inf")
    for _ in range(3):  # a one-off cost: the best of three fresh steps (the machine is shared)
        step = W.make_mlp_step(impl, size)[0]
        calls = 0
        t0 = time.perf_counter()
        while calls < TRACE_CALLS:
            step()
            calls += 1
            if step.stats["replays"] > 0:
                break
        spent = min(spent, time.perf_counter() - t0)
    steps = spent / eager_median
    replayed = step.stats["replays"] > 0
    return (f"{impl} {size}: {fmt_time(spent)} for {calls} calls "
            + ("until the first replay" if replayed else "(NO replay)")
            + f" = {steps:.1f} eager steps; stats {step.stats}"), steps if replayed else None


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
def _groups(impls: list[str]) -> list[tuple[str, list[str], str | None]]:
    """The MLP tables: ``(title, columns, PyTorch eager column)``, the floor first in each."""
    nn = [i for i in impls if not i.endswith(("-ops", "-ops" + W.COMPILED))]
    ops = ["numpy-floor"] + [i for i in impls if i not in nn]
    return [(title, cols, torch if torch in cols else None)
            for title, cols, torch in (("`nn.functional` code", nn, "torch"),
                                       ("op-by-op (notebook) code", ops, "torch-ops"))
            if len(cols) > 1]


def _ratio_cell(row: dict, impl: str, torch: str | None) -> str:
    t = row[impl]["min"]
    cell = f"{t / row['numpy-floor']['min']:.2f}x"
    if torch is not None and impl != torch:
        cell += f" ({t / row[torch]['min']:.2f}x)"
    return cell


def mlp_tables(mlp: dict, sizes: list[str]) -> list[str]:
    out = []
    p = out.append
    for title, cols, torch in _groups(W.available_mlp_impls()):
        others = cols[1:]
        p(f"### MLP training step, {title} (time per step; ratio to the NumPy floor"
          + (f", in brackets to {torch}, PyTorch eager)" if torch else ")"))
        p("")
        p("| size | " + " | ".join(cols) + " | " + " | ".join(f"{i} / floor" for i in others)
          + " | target (eager, compiled) | quiet blocks |")
        p("|---|" + "---:|" * (len(cols) + len(others)) + "---:|---:|")
        for s in sizes:
            row = mlp[s]
            p(f"| {s} | " + " | ".join(fmt_time(row[i]["min"]) for i in cols) + " | "
              + " | ".join(_ratio_cell(row, i, torch) for i in others)
              + f" | <= {TARGET_RATIO[s]}x, <= {TARGET_COMPILED_RATIO[s]}x"
              + f" | {quiet_note(row['numpy-floor'])} |")
        p("")
        p("Medians (same order): " + "; ".join(
            f"{s}: " + ", ".join(fmt_time(mlp[s][i]["median"]) for i in cols) for s in sizes))
        p("")
    p("\"quiet blocks\": blocks of repeats (>= 0.25 s) in which other processes used < 10% of "
      "the CPUs, of all blocks; only those are used. NONE QUIET: every block was shared, the "
      "numbers are not comparable with a quiet machine (multi-threaded GEMMs stall). All the "
      "columns of a size, both tables, were timed in one round-robin.")
    return out


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def targets_table(overhead: dict, mlp: dict, sizes: list[str], traced: dict) -> list[str]:
    out = ["| target | measured | met? |", "|---|---:|---|"]
    chain = overhead["fwd+bwd"]
    us = chain[TC_DEFAULT]["min"] * 1e6
    if "torch" in chain:
        torch_us = chain["torch"]["min"] * 1e6
        out.append(f"| eager per-op overhead <= PyTorch eager's ({torch_us:.2f} µs) | "
                   f"{us:.2f} µs | {_met(us <= torch_us)} |")
    else:
        out.append(f"| eager per-op overhead (PyTorch not importable) | {us:.2f} µs | - |")
    for impl, label in ((TC_COMPILED, "compiled chain"),
                        ("tc-numba" + W.FUSED, "compiled chain, fused (opt-in)")):
        if impl in chain:
            us = chain[impl]["min"] * 1e6
            out.append(f"| {label} <= {TARGET_COMPILED_US_PER_OP:g} µs per op | "
                       f"{us:.2f} µs | {_met(us <= TARGET_COMPILED_US_PER_OP)} |")
    for s in sizes:
        row = mlp[s]
        r = row[TC_DEFAULT]["min"] / row["numpy-floor"]["min"]
        out.append(f"| {s} eager step <= {TARGET_RATIO[s]:g}x floor | {r:.2f}x | "
                   f"{_met(r <= TARGET_RATIO[s])} |")
        for impl in (TC_COMPILED, "tc-numba-ops" + W.COMPILED):
            if impl in row:
                r = row[impl]["min"] / row["numpy-floor"]["min"]
                out.append(f"| {s} {impl} step <= {TARGET_COMPILED_RATIO[s]:g}x floor | "
                           f"{r:.2f}x | {_met(r <= TARGET_COMPILED_RATIO[s])} |")
    for impl, (_, steps) in traced.items():
        out.append(f"| tracing {impl} tiny <= {TARGET_TRACE_STEPS} eager steps | "
                   + ("no replay |" if steps is None else f"{steps:.1f} |")
                   + f" {_met(steps is not None and steps <= TARGET_TRACE_STEPS)} |")
    return out


def stats_line(overhead: dict, mlp: dict) -> str:
    """Each compiled function's calls during the timing: traced, replayed, run eagerly."""
    cells = [f"chain {v} {impl} {r['stats']}" for v, res in overhead.items()
             for impl, r in res.items() if "stats" in r]
    cells += [f"{s} {impl} {r['stats']}" for s, res in mlp.items()
              for impl, r in res.items() if "stats" in r]
    return ("Compiled functions' calls while timed (a compiled column whose calls did not "
            "replay timed eager work): " + "; ".join(cells) + ".")


def results(overhead: dict, mlp: dict, date: str, argv: list[str], others) -> dict:
    """The run's minimum times as ``charts.py`` takes them: the chain (per op) by variant,
    each MLP table by size."""
    import charts

    info = machine_info()
    chain = {v: {i: r["min"] for i, r in row.items()} for v, row in overhead.items()}
    shared = {k: "NONE QUIET" for k, row in list(overhead.items()) + list(mlp.items())
              if not next(iter(row.values()))["quiet"]}  # groups timed with no quiet block
    loads = [charts.workload("chain", f"{W.CHAIN_OPS}-op chain, {W.CHAIN_LEN} float32 elements",
                             "time per op", chain, shared)]
    for n, (title, cols, _) in enumerate(_groups(W.available_mlp_impls())):
        loads.append(charts.workload(
            ("mlp", "mlp-ops")[n], f"MLP training step, {title.replace('`', '')}",
            "time per step", {s: {i: mlp[s][i]["min"] for i in cols} for s in mlp}, shared))
    return {"machine": f"{info.get('Model name', 'CPU')}, {info.get('CPU(s)', '?')} CPUs, "
                       f"--threads {W.NUM_THREADS}",
            "device": "cpu", "date": date, "source": "benchmarks/report.py",
            "command": "python benchmarks/report.py " + " ".join(argv),
            "threads": W.NUM_THREADS, "workloads": loads,
            "note": f"other processes used {fmt_share(others)} of the CPUs"}


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
    traced = {}  # impl -> (line, eager steps or None)
    if "tiny" in sizes:
        for impl in (TC_COMPILED, "tc-numba-ops" + W.COMPILED):
            eager = impl.removesuffix(W.COMPILED)
            if impl in mlp["tiny"]:
                traced[impl] = tracing_cost(impl, "tiny", mlp["tiny"][eager]["median"])
    others_total = total_meter.stop()
    elapsed = time.time() - started

    out = []
    p = out.append
    p(f"Run: {date}, {elapsed:.0f} s; `--threads {W.NUM_THREADS}`. Each number is the minimum, "
      f"over round-robin repeats (>= {args.min_time * 1e3:g} ms each) taken in blocks during "
      f"which other processes used < {QUIET:.0%} of the CPUs, of the time per call. Compiled "
      f"columns (`{W.COMPILED}`: the same step under `tc.compile`) were called "
      f"{W.COMPILE_WARMUP} times before timing.")
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
        p(f"| {variant} | " + " | ".join(f"{row[i]['min'] * 1e6:.2f}" if i in row else "-"
                                          for i in impls)
          + f" | {quiet_note(next(iter(row.values())))} |")
    p("")

    out.extend(mlp_tables(mlp, sizes))
    p("")
    p("Tracing cost (the first calls of a fresh compiled step until one replays, at most "
      f"{TRACE_CALLS}, over the median eager step of the same code): "
      + ("; ".join(line for line, _ in traced.values()) or "not measured (no tiny size)") + ".")
    p("")
    p(stats_line(overhead, mlp))
    p("")

    p(f"### Targets (tensorcore default backend, numba; `--threads {W.NUM_THREADS}`)")
    p("")
    out.extend(targets_table(overhead, mlp, sizes, traced))
    p("")
    p("Agreement with the floor (max relative weight difference after 3 steps): "
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
    if args.json or args.png:
        import charts

        run = results(overhead, mlp, date, sys.argv[1:], others_total)
        print("\n".join(charts.write_outputs(run, args.json, args.png, "cpu-")), file=sys.stderr)
    return 0


if __name__ == "__main__":
    gc.enable()
    sys.exit(main(ARGS))
