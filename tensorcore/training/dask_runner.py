"""``DaskRunner``: a search's trials on a Dask cluster (the ``distributed`` extra).

* ``DaskRunner()`` starts an embedded ``LocalCluster`` on first use: worker processes with
  one thread each, BLAS, OpenMP and Numba pinned to one thread per worker (so workers do not
  fight over cores), and closes it with ``close()`` or at the end of a ``with`` block.
* ``DaskRunner("tcp://host:8786")`` joins a scheduler started with ``dask scheduler`` (its
  workers with ``dask worker tcp://host:8786 --nthreads 1``); an address nobody answers at
  is a ``ConnectionError`` after ``timeout`` seconds.
* ``DaskRunner(client=client)`` uses a ``distributed.Client`` the caller owns.
* ``DaskRunner(gpu=True)`` gives each worker one GPU (dask-cuda's ``LocalCUDACluster`` when
  it is installed, else one worker per device with ``CUDA_VISIBLE_DEVICES``); the trials'
  tensors go to the worker's ``cuda`` device.

The trial function (which holds the data set) is sent to every worker once, scattered
under a name derived from its pickled bytes, and stays there for the next ``map`` of the
same function (the rounds of a halving search); each trial is then a small task named by
its config's key (``trial-<key>-<function token>-<n>``) with ``retries``. Results stream
back as trials finish, and ``map`` returns them in config order. The scheduler gives a
worker a trial only when one of its threads is free, so a worker that dies (killed, out of
memory) loses only its running trials, which the scheduler runs again on the other workers
(after ``distributed.scheduler.allowed-failures`` deaths, default 3, a trial is reported
as ``KilledWorker``). A trial that raises does not stop the others; once all have ended,
a ``TrialError`` names each failing config with its worker-side traceback.

Nothing here imports dask until a runner starts. In a script, start it under
``if __name__ == "__main__":`` (worker processes are spawned and import the script).
"""

from __future__ import annotations

import hashlib
import os
import time
import traceback
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .runners import TrialError, TrialRunner, trial_name

__all__ = ["DaskRunner", "gpu_worker_specs"]

# set in every worker process of an embedded cluster, on top of dask's own pinning of
# OMP_NUM_THREADS / MKL_NUM_THREADS / OPENBLAS_NUM_THREADS
MAX_RESENDS = 3  # times a trial is resubmitted after the data it needs was lost
WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1"}


def _import_distributed():
    try:
        import distributed
    except ImportError as e:
        raise ImportError("DaskRunner needs dask's distributed package: "
                          "pip install 'tensorcore[distributed]'") from e
    return distributed


def run_trial_on_worker(fn: Callable[[Any], Any], config: Any, device: str | None = None
                        ) -> tuple[Any, dict]:
    """The task each trial is: ``fn(config)``, with the worker's address and the wall time.
    ``device`` (GPU workers: ``"cuda"``) becomes the worker process's default device."""
    from distributed import get_worker

    if device is not None:
        from .. import backends

        if str(backends.get_default_device()) != device:
            backends.set_default_device(device)
    start = time.perf_counter()
    result = fn(config)
    return result, {"worker": get_worker().address, "wall_s": time.perf_counter() - start}


def warm_up_worker() -> None:
    """Make a worker ready for trials: import tensorcore and run one tiny training step, so
    that Numba's cached kernels are loaded before the first trial rather than during it."""
    from .. import nn, no_grad, optim, randint, randn
    from .loop import make_train_step

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    step = make_train_step(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                           compile=False)
    step(randn(16, 4), randint(0, 3, (16,)))
    with no_grad():
        model(randn(16, 4)).argmax(dim=1)


def gpu_worker_specs(devices: Sequence[int]) -> dict[str, dict]:
    """A ``SpecCluster`` worker spec: one single-threaded worker process per GPU index, that
    sees only its GPU (``CUDA_VISIBLE_DEVICES``) and makes ``cuda`` its default device."""
    from distributed import Nanny

    return {f"gpu-{d}": {"cls": Nanny, "options": {
        "nthreads": 1, "env": {**WORKER_ENV, "CUDA_VISIBLE_DEVICES": str(d),
                               "TENSORCORE_DEVICE": "cuda"}}} for d in devices}


def _visible_gpus() -> list[int]:
    from .. import cuda

    count = cuda.device_count()
    if count == 0:
        raise RuntimeError(f"DaskRunner(gpu=True) needs a CUDA GPU, and none is usable here: "
                           f"{cuda.cuda_unavailable_reason() or 'no device'}")
    return list(range(count))


def _shutdown(client, cluster) -> None:
    """Close what the runner opened (also at garbage collection or interpreter exit)."""
    for thing in (client, cluster):
        if thing is not None:
            try:
                thing.close()
            except Exception:  # already closed, or the loop is gone at exit
                pass


class DaskRunner(TrialRunner):
    """Trials on a Dask cluster (see the module docstring).

    Args:
        address: a running scheduler (``tcp://host:8786``); None starts a ``LocalCluster``.
        client: a ``distributed.Client`` to use instead (not closed by the runner).
        n_workers: worker processes of the embedded cluster (default: one per core, or one
            per GPU with ``gpu=True``).
        threads_per_worker: threads per embedded worker (default 1).
        gpu: one GPU per worker; trials run on ``cuda``.
        devices: the GPU indices to use with ``gpu=True`` (default: every visible one).
        retries: how often Dask reruns a trial that raised before reporting it.
        timeout: seconds to wait for the scheduler at ``address``.
        workers_timeout: seconds to wait for a first worker to join a scheduler that has
            none (workers started after it).
        quiet: no line about the cluster at start, and no bar of finished trials in the
            searches run through it (unless they ask for one).
    """

    def __init__(self, address: str | None = None, *, client=None, n_workers: int | None = None,
                 threads_per_worker: int = 1, gpu: bool = False,
                 devices: Sequence[int] | None = None, retries: int = 1,
                 timeout: float = 5.0, workers_timeout: float = 60.0,
                 quiet: bool = False) -> None:
        if address is not None and client is not None:
            raise ValueError("DaskRunner takes an address or a client, not both")
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be a string such as 'tcp://host:8786', got "
                            f"{type(address).__name__}")
        joined = address is not None or client is not None
        if joined and (n_workers is not None or devices is not None):
            raise ValueError("n_workers and devices apply to the embedded cluster; a running "
                             "cluster has the workers it was started with")
        for label, value, low in (("n_workers", n_workers, 1),
                                  ("threads_per_worker", threads_per_worker, 1),
                                  ("retries", retries, 0)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < low):
                raise ValueError(f"{label} must be an int >= {low}, got {value!r}")
        for label, value in (("timeout", timeout), ("workers_timeout", workers_timeout)):
            if isinstance(value, bool) or not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"{label} must be a positive number of seconds, got "
                                 f"{value!r}")
        if devices is not None and not gpu:
            raise ValueError("devices selects GPUs: pass gpu=True with it")
        self.address, self.n_workers_wanted = address, n_workers
        self.threads_per_worker, self.gpu = threads_per_worker, bool(gpu)
        self.devices = None if devices is None else [int(d) for d in devices]
        self.retries, self.timeout, self.quiet = retries, float(timeout), quiet
        self.workers_timeout = float(workers_timeout)
        self.trial_device = "cuda" if gpu else None
        self.shows_progress = not quiet  # a bar of finished trials in searches
        self.client, self.cluster = client, None
        self.start_seconds: float | None = None
        self._finalizer = None
        self._fn_future, self._fn_token, self._submitted = None, None, 0

    # -- the cluster ------------------------------------------------------------------------
    def start(self) -> DaskRunner:
        """Start the embedded cluster or connect to the scheduler (once); returns self."""
        if self.client is not None and self.start_seconds is not None:
            return self
        distributed = _import_distributed()
        begin = time.perf_counter()
        if self.client is None and self.address is not None:
            try:
                self.client = distributed.Client(self.address, timeout=self.timeout)
            except (OSError, TimeoutError) as e:
                raise ConnectionError(f"no Dask scheduler answered at {self.address} within "
                                      f"{self.timeout:g} s: {e}") from None
        elif self.client is None:
            self.cluster = self._make_cluster(distributed)
            self.client = distributed.Client(self.cluster)
        if self.cluster is not None or self.address is not None:
            self._finalizer = weakref.finalize(self, _shutdown, self.client, self.cluster)
        if not self.client.scheduler_info().get("workers"):
            try:  # a scheduler started before its workers: give them time to join
                self.client.wait_for_workers(1, timeout=self.workers_timeout)
            except TimeoutError:
                raise RuntimeError(f"no worker joined the Dask scheduler at "
                                   f"{self.client.scheduler.address} within "
                                   f"{self.workers_timeout:g} s: start some with 'dask worker "
                                   f"ADDRESS'") from None
        if not self.gpu:
            try:  # part of the start, not of the first trials
                self.client.run(warm_up_worker)
            except Exception as e:
                raise RuntimeError(f"the Dask workers cannot run tensorcore (is it installed "
                                   f"where they run?): {type(e).__name__}: {e}") from e
        self.start_seconds = time.perf_counter() - begin
        if not self.quiet:
            print(f"dask: {self.describe()['cluster']} at {self.client.scheduler.address}, "
                  f"{self.n_workers} workers; dashboard {self.client.dashboard_link}")
        return self

    def _make_cluster(self, distributed):
        import dask

        # the scheduler hands a worker its next trial only when a thread is free, so a worker
        # that dies takes only the trials it was running with it (Dask otherwise queues
        # more, and counts their loss against them as well); the workers' statistical
        # profiler (periodic samples of each worker's stack) is off: trials are long tasks;
        # the active memory manager is off, so the trial function's replicas stay on every
        # worker (it would drop them, and the workers would fetch and unpickle it again)
        with dask.config.set({"distributed.scheduler.worker-saturation": 1.0,
                              "distributed.worker.profile.enabled": False,
                              "distributed.scheduler.active-memory-manager.start": False}):
            return self._start_cluster(distributed)

    def _start_cluster(self, distributed):
        if not self.gpu:
            n = self.n_workers_wanted or os.cpu_count() or 1
            return distributed.LocalCluster(
                n_workers=n, threads_per_worker=self.threads_per_worker, processes=True,
                dashboard_address=":0", env=dict(WORKER_ENV))
        devices = self.devices if self.devices is not None else _visible_gpus()
        if self.n_workers_wanted is not None:
            devices = devices[:self.n_workers_wanted]
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            return distributed.SpecCluster(
                workers=gpu_worker_specs(devices),
                scheduler={"cls": distributed.Scheduler,
                           "options": {"dashboard_address": ":0"}})
        # dask-cuda sets each worker's CUDA_VISIBLE_DEVICES; the trials make cuda the
        # default device (run_trial_on_worker)
        return LocalCUDACluster(CUDA_VISIBLE_DEVICES=",".join(map(str, devices)),
                                threads_per_worker=1, dashboard_address=":0")

    @property
    def workers(self) -> list[str]:
        """The addresses of the cluster's workers now."""
        return sorted(self.start().client.scheduler_info()["workers"])

    @property
    def n_workers(self) -> int:
        """The number of workers now."""
        return len(self.workers)

    def describe(self) -> dict[str, Any]:
        """JSON-ready: the kind of cluster, the scheduler, the workers, the start time."""
        self.start()
        kind = ("existing client" if self.cluster is None and self.address is None else
                f"scheduler {self.address}" if self.cluster is None else
                type(self.cluster).__name__)
        return {"runner": "DaskRunner", "cluster": kind,
                "scheduler": self.client.scheduler.address, "workers": self.workers,
                "n_workers": self.n_workers, "threads_per_worker": self.threads_per_worker,
                "gpu": self.gpu, "start_s": self.start_seconds,
                "dashboard": self.client.dashboard_link}

    def close(self) -> None:
        """Close the client and the embedded cluster the runner opened (a client given to
        it stays open)."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
            self.client, self.cluster = None, None
        self._fn_future, self._fn_token = None, None
        self.start_seconds = None

    def __enter__(self) -> DaskRunner:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the trials -------------------------------------------------------------------------
    def map(self, fn: Callable[[Any], Any], configs: Iterable[Any]) -> list:
        """``[fn(c) for c in configs]`` on the cluster, in config order."""
        return self.run(fn, configs)

    def run(self, fn, configs, keys=None, on_result=None) -> list:
        """``map``, reporting each trial as it ends (``info``: its worker and wall time)."""
        from .journal import unique_trial_keys

        configs = list(configs)
        keys = unique_trial_keys(configs) if keys is None else list(keys)
        distributed = _import_distributed()
        client = self.start().client
        token = self._scatter(client, fn)
        # on this client's loop: the default client (the latest made) may be another, closed one
        done = distributed.as_completed(loop=client.loop)
        pending: dict[Any, int] = {}

        def submit(i: int) -> None:
            self._submitted += 1  # a fresh key each time: Dask forgets released ones lazily
            future = client.submit(run_trial_on_worker, self._fn_future, configs[i],
                                   self.trial_device,
                                   key=f"trial-{keys[i]}-{token}-{self._submitted}",
                                   retries=self.retries)
            pending[future] = i
            done.add(future)

        for i in range(len(configs)):
            submit(i)
        results: list[Any] = [None] * len(configs)
        failures, resent = [], 0
        for future in done:
            i = pending.pop(future)
            status = future.status
            if status == "finished":
                try:
                    results[i], info = future.result()
                except Exception:  # forgotten between finishing and gathering: run it again
                    status = "lost"
                else:
                    if on_result is not None:
                        on_result(i, results[i], info)
            if status == "error":
                failures.append((i, future.exception(),
                                 "".join(traceback.format_tb(future.traceback()))))
            elif status != "finished" and resent < MAX_RESENDS:
                # cancelled or lost: every worker holding the function (the data) died, so
                # send it again and rerun the trial
                resent += 1
                self._scatter(client, fn, again=True)
                submit(i)
            elif status != "finished":
                failures.append((i, RuntimeError(
                    f"Dask cancelled the trial {MAX_RESENDS + 1} times ({status}): the data "
                    f"it needs was lost with the workers that held it"), ""))
            future.release()
        if failures:
            failures.sort(key=lambda f: f[0])
            raise TrialError([(configs[i], e, tb) for i, e, tb in failures],
                             len(configs)) from failures[0][1]
        return results

    def _scatter(self, client, fn: Callable, again: bool = False) -> str:
        """Send ``fn`` (and the data it holds) to every worker once; the token naming it. The
        latest function stays on the workers, so the rounds of a halving search, which
        evaluate one objective, send it once."""
        import cloudpickle

        try:
            payload = cloudpickle.dumps(fn)
        except Exception as e:
            raise TypeError(f"the trial function {trial_name(fn)!r} cannot be pickled to "
                            f"send it to the Dask workers: {type(e).__name__}: {e}") from e
        token = hashlib.sha1(payload).hexdigest()[:12]
        if again or token != self._fn_token:
            self._submitted += 1
            key = f"tensorcore-fn-{token}-{self._submitted}"
            old, self._fn_future = self._fn_future, client.scatter({key: fn},
                                                                   broadcast=True)[key]
            self._fn_token = token
            if old is not None:
                old.release()
        return token

    def __repr__(self) -> str:
        where = (self.address or ("client" if self.cluster is None and self.client else
                                  "LocalCluster"))
        return f"DaskRunner({where}, gpu={self.gpu})"
