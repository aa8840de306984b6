"""Issue 18's figures: a search's trials on Dask against one process, and Dask's overhead.

    python benchmarks/dask_report.py                      # W=2 workers (a 2-core machine)
    python benchmarks/dask_report.py --workers 8          # a 16-core host
    python benchmarks/dask_report.py --json dask.json     # also write the figures as JSON

One run measures:

1. **The trial workload.** A grid of 16 configs (hidden x lr x weight_decay) on the bundled
   digits data set, each a ``train_mlp`` run of ``--epochs`` epochs without early stopping,
   scored by its validation accuracy (``DigitsObjective``, module level so that it pickles
   with the splits it holds). The same ``grid_search`` runs

   * serially (``SerialRunner``), twice: the first run is this process's first training
     (Numba loads its cached kernels, as every fresh worker does), the second is warm;
   * through ``ExecutorRunner(client.get_executor())`` over a hand-built
     ``LocalCluster(n_workers=W, threads_per_worker=1)`` (the baseline the issue measured:
     dask's nanny pins OMP / MKL / OpenBLAS to one thread, Numba is pinned through ``env``);
   * through ``DaskRunner(n_workers=W)``, then a second time on the warm runner.

   Cluster starts are reported apart from the searches. Every runner's scores must equal the
   serial scores exactly (OK / MISMATCH). Target: ``DaskRunner`` <= 0.55x serial, W=2 on
   2 cores.
2. **Overhead per trial** on the ``DaskRunner``'s cluster, with an empty trial
   (``empty_trial`` returns its config): latency, one ``runner.map(fn, [c])`` at a time
   (submit to result; the runner keeps the function on the workers between maps), median over
   ``--latency-calls`` calls; throughput, one map of ``--throughput-trials`` trials, wall /
   trials. The same for ``ExecutorRunner`` over the same client, for the runner's own task
   with the function scattered once beforehand (a map's cost without its scatter), and for
   raw ``client.submit(f, x).result()``. Target: <= 20 ms per trial.

This process runs with BLAS, OpenMP and Numba pinned to one thread (unless the environment
sets them), as each worker is, so the serial run and a worker run the same single-threaded
code: the ratios measure the parallelism, not a thread-count difference.
"""

from __future__ import annotations

import argparse
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy / Numba are imported

import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import _cpu_busy_ticks  # noqa: E402

GRID = {"hidden": [128, 256], "lr": [1e-3, 3e-3, 1e-2, 3e-2], "weight_decay": [1e-4, 1e-3]}
RATIO_TARGET = 0.55      # DaskRunner search / serial, W=2 on a 2-core machine (issue 18)
OVERHEAD_TARGET_MS = 20.0


class DigitsObjective:
    """One trial: ``train_mlp`` for ``epochs`` epochs (no early stopping) on the training
    split, scored by accuracy on the validation split."""

    def __init__(self, splits, epochs: int) -> None:
        self.splits, self.epochs = splits, epochs

    def __call__(self, params: dict) -> float:
        from tensorcore.metrics import accuracy_score
        from tensorcore.training.experiment import train_mlp

        s = self.splits
        trained = train_mlp(params, s.X_train, s.y_train, s.n_classes, epochs=self.epochs)
        return float(accuracy_score(s.y_val, trained.predict_labels(s.X_val)))


def empty_trial(config):
    """The empty trial of the overhead figures."""
    return config


class TreeMeter:
    """The share of all CPUs that processes other than this one and its children (the
    cluster's workers) used between ``start()`` and ``stop()``."""

    def start(self) -> TreeMeter:
        self._t, self._sys, self._own = time.perf_counter(), _cpu_busy_ticks(), self._tree()
        return self

    @staticmethod
    def _tree() -> dict[int, float]:
        import psutil

        me = psutil.Process()
        cpu = {}
        for proc in [me, *me.children(recursive=True)]:
            try:
                t = proc.cpu_times()
                cpu[proc.pid] = t.user + t.system
            except psutil.Error:  # ended meanwhile
                pass
        return cpu

    def stop(self) -> float | None:
        end, own = _cpu_busy_ticks(), self._tree()
        if end is None or self._sys is None:
            return None
        busy = (end[0] - self._sys[0]) / os.sysconf("SC_CLK_TCK")
        mine = sum(t - self._own.get(pid, 0.0) for pid, t in own.items())
        wall = (time.perf_counter() - self._t) * (os.cpu_count() or 1)
        return max(0.0, min(1.0, (busy - mine) / wall)) if wall > 0 else None


def wait_quiet(max_wait: float, quiet_s: float = 10.0, threshold: float = 0.1) -> bool:
    """Wait until other processes used under ``threshold`` of the CPUs for ``quiet_s``
    seconds in a row (1 s samples), at most ``max_wait`` seconds; True if they did."""
    deadline, quiet = time.time() + max_wait, 0.0
    while time.time() < deadline:
        meter = TreeMeter().start()
        time.sleep(1.0)
        share = meter.stop()
        quiet = quiet + 1.0 if share is not None and share < threshold else 0.0
        if quiet >= quiet_s:
            return True
    return False


def _scores(result) -> list[float]:
    """A search's scores in grid order (the result is ranked)."""
    from tensorcore.training import parameter_grid

    by_params = {json.dumps(r["params"], sort_keys=True): r["score"] for r in result.results}
    return [by_params[json.dumps(c, sort_keys=True)] for c in parameter_grid(GRID)]


def _timed_search(objective, runner) -> tuple[float, list[float], dict]:
    """Wall seconds, scores in grid order, and where the time went: the trials' own wall
    times (as their runner reports them) and the share of the CPUs others used."""
    from tensorcore.training import grid_search

    walls: list[float] = []
    meter = TreeMeter().start()
    start = time.perf_counter()
    result = grid_search(GRID, objective, runner=runner,
                         on_trial=lambda key, config, info: walls.append(info["wall_s"]))
    wall = time.perf_counter() - start
    return wall, _scores(result), {"trial_s_sum": sum(walls), "trial_s_max": max(walls),
                                   "others_cpu": meter.stop()}


def _overhead(map_one, map_many, calls: int, n: int) -> dict[str, float]:
    """Latency (median ms of one-trial maps, distinct configs) and throughput (ms per trial
    of one map of ``n`` trials). ``map_one(call, config)``, ``map_many(call, configs)``."""
    map_one(-1, {"warm": -1})  # the first call imports the function's module on the workers
    latencies = []
    for i in range(calls):
        start = time.perf_counter()
        out = map_one(i, {"i": i})
        latencies.append(time.perf_counter() - start)
        assert out == [{"i": i}], out
    configs = [{"j": j} for j in range(n)]
    start = time.perf_counter()
    out = map_many(calls, configs)
    wall = time.perf_counter() - start
    assert out == configs
    return {"latency_ms": 1e3 * statistics.median(latencies),
            "latency_min_ms": 1e3 * min(latencies), "throughput_ms": 1e3 * wall / n}


def _machine() -> dict[str, str]:
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    import distributed
    import numpy

    return {"cpu": model, "nproc": str(os.cpu_count()), "processor": platform.processor(),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "distributed": distributed.__version__,
            "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def measure(args) -> dict:
    import logging

    import distributed

    from tensorcore.training import DaskRunner, ExecutorRunner, SerialRunner
    from tensorcore.training.dask_runner import run_trial_on_worker
    from tensorcore.training.experiment import ExperimentConfig, load_splits

    W = args.workers
    splits = load_splits(ExperimentConfig(dataset="digits"))
    objective = DigitsObjective(splits, args.epochs)
    out: dict = {"workers": W, "epochs": args.epochs, "trials": 16, "grid": GRID, "runs": {}}
    runs = out["runs"]

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    log("serial, first (cold) search ...")
    wall, serial, info = _timed_search(objective, SerialRunner())
    runs["serial"] = {"search_s": wall, "scores": serial, **info}
    log("serial, second (warm) search ...")
    wall, scores, info = _timed_search(objective, SerialRunner())
    runs["serial_warm"] = {"search_s": wall, "scores": scores, **info}

    log(f"ExecutorRunner(client.get_executor()), LocalCluster(n_workers={W}) ...")
    start = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=W, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR,
                                       env={"NUMBA_NUM_THREADS": "1"})
    client = distributed.Client(cluster)
    client.wait_for_workers(W)
    started = time.perf_counter() - start
    with client, cluster:
        wall, scores, info = _timed_search(objective, ExecutorRunner(client.get_executor()))
    runs["executor"] = {"start_s": started, "search_s": wall, "scores": scores, **info}

    log(f"DaskRunner(n_workers={W}), two searches ...")
    with DaskRunner(n_workers=W, quiet=True) as runner:
        runner.client.wait_for_workers(W)
        wall, scores, info = _timed_search(objective, runner)
        runs["dask"] = {"start_s": runner.start_seconds, "search_s": wall, "scores": scores,
                        "workers": runner.n_workers, **info}
        wall, scores, info = _timed_search(objective, runner)
        runs["dask_warm"] = {"search_s": wall, "scores": scores, **info}

        log("overhead per empty trial ...")
        executor = ExecutorRunner(runner.client.get_executor())
        c = runner.client
        # DaskRunner's task with the function scattered once, not per map: the per-map
        # scatter's share of a one-trial map
        scattered = c.scatter(empty_trial, broadcast=True)
        out["overhead"] = {
            "DaskRunner.map": _overhead(
                lambda i, cfg: runner.map(empty_trial, [cfg]),
                lambda i, cfgs: runner.map(empty_trial, cfgs),
                args.latency_calls, args.throughput_trials),
            "ExecutorRunner(client.get_executor()).map": _overhead(
                lambda i, cfg: executor.map(empty_trial, [cfg]),
                lambda i, cfgs: executor.map(empty_trial, cfgs),
                args.latency_calls, args.throughput_trials),
            "client.submit(run_trial_on_worker, scattered f, x).result()": _overhead(
                lambda i, cfg: [c.submit(run_trial_on_worker, scattered, cfg,
                                         pure=False).result()[0]],
                lambda i, cfgs: [r for r, _ in c.gather([
                    c.submit(run_trial_on_worker, scattered, x, pure=False) for x in cfgs])],
                args.latency_calls, args.throughput_trials),
            "client.submit(f, x).result()": _overhead(
                lambda i, cfg: [c.submit(empty_trial, cfg, pure=False).result()],
                lambda i, cfgs: c.gather([c.submit(empty_trial, x, pure=False)
                                          for x in cfgs]),
                args.latency_calls, args.throughput_trials),
        }
    for run in runs.values():
        run["ratio"] = run["search_s"] / runs["serial"]["search_s"]
        run["ratio_warm"] = run["search_s"] / runs["serial_warm"]["search_s"]
        run["scores_equal"] = run["scores"] == serial
    out["trial_s"] = runs["serial_warm"]["search_s"] / 16
    return out


LABELS = {"serial": "SerialRunner, 1st search (cold process)",
          "serial_warm": "SerialRunner, 2nd search",
          "executor": "ExecutorRunner(client.get_executor()), LocalCluster",
          "dask": "DaskRunner(n_workers=W), 1st search",
          "dask_warm": "DaskRunner, 2nd search (warm runner)"}


def _pct(share: float | None) -> str:
    return "?" if share is None else f"{share:.0%}"


def render(out: dict) -> str:
    W, m = out["workers"], out["machine"]
    lines = [f"# dask_report: {out['date']}",
             f"machine: {m['cpu']} ({m['nproc']} CPUs), Python {m['python']}, "
             f"distributed {m['distributed']}; load average at start {m['loadavg_start']}",
             f"workload: 16 trials (grid {out['grid']}), digits, train_mlp {out['epochs']} "
             f"epochs, no early stopping; W = {W} workers; one trial {out['trial_s']:.2f} s "
             f"(serial warm mean)", "",
             "| runner | cluster start (s) | search (s) | / serial | (start + search) / serial "
             "| / warm serial | scores | trials' own time, sum / max (s) | others' CPU |",
             "|---|---:|---:|---:|---:|---:|---|---:|---:|"]
    for name, run in out["runs"].items():
        start = f"{run['start_s']:.2f}" if "start_s" in run else ""
        ok = "reference" if name == "serial" else ("OK" if run["scores_equal"] else "MISMATCH")
        serial_s = out["runs"]["serial"]["search_s"]
        with_start = (f"{(run['search_s'] + run['start_s']) / serial_s:.2f}x"
                      if "start_s" in run else "")
        lines.append(f"| {LABELS[name]} | {start} | {run['search_s']:.2f} | "
                     f"{run['ratio']:.2f}x | {with_start} | {run['ratio_warm']:.2f}x | {ok} | "
                     f"{run['trial_s_sum']:.1f} / {run['trial_s_max']:.2f} | "
                     f"{_pct(run['others_cpu'])} |")
    dask = out["runs"]["dask"]["ratio"]
    lines += ["", f"target: DaskRunner search <= {RATIO_TARGET}x serial (W=2, 2 cores): "
              f"{dask:.2f}x, {'met' if dask <= RATIO_TARGET else 'NOT MET'}", "",
              f"Overhead per empty trial, LocalCluster of {W} workers (ms; target <= "
              f"{OVERHEAD_TARGET_MS:g}):", "",
              "| path | latency: 1 trial per call, median (min) | throughput: 1 map of "
              f"{out['throughput_trials']}, per trial |", "|---|---:|---:|"]
    for name, o in out["overhead"].items():
        lines.append(f"| `{name}` | {o['latency_ms']:.1f} ({o['latency_min_ms']:.1f}) | "
                     f"{o['throughput_ms']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2, help="Dask workers W (default 2)")
    ap.add_argument("--epochs", type=int, default=200,
                    help="epochs per trial (default 200: about 1 s per trial on a 2-core Xeon VM)")
    ap.add_argument("--latency-calls", type=int, default=30)
    ap.add_argument("--throughput-trials", type=int, default=200)
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    ap.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                    help="first wait up to this long for 10 s in a row in which other "
                         "processes use under 10%% of the CPUs")
    args = ap.parse_args(argv)
    if args.workers < 1 or args.epochs < 1:
        ap.error("--workers and --epochs must be positive")
    if args.wait_idle > 0 and not wait_quiet(args.wait_idle):
        print(f"(the machine did not go quiet within {args.wait_idle:g} s: running anyway)",
              file=sys.stderr)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine = _machine()
    begin = time.perf_counter()
    out = measure(args)
    out.update(date=date, machine=machine, command=" ".join(["python", *sys.argv]),
               throughput_trials=args.throughput_trials, latency_calls=args.latency_calls,
               total_s=time.perf_counter() - begin,
               loadavg_end=" ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(render(out))
    print(f"\n(run took {out['total_s']:.0f} s; load average at the end {out['loadavg_end']})")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    ok = all(r["scores_equal"] for r in out["runs"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
