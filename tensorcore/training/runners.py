"""Trial runners: the one interface through which searches and cross-validation run trials.

A runner has a single method, ``map(fn, configs) -> list``: call ``fn`` on every config and
return the results **in the order of** ``configs``. Where the calls happen is the runner's
business:

* ``SerialRunner`` (the default) calls them one after another in this process.
* ``ExecutorRunner(executor)`` hands them to any ``concurrent.futures.Executor``: a
  ``ThreadPoolExecutor`` (tensorcore's grad mode is per thread, and NumPy / Numba release the
  GIL in their kernels), a ``ProcessPoolExecutor`` (``fn`` and the configs must then pickle:
  a module-level function, not a lambda), or a distributed cluster through an object that
  implements the same interface, e.g. dask's ``distributed.Client(...).get_executor()``.

* ``DaskRunner`` (``tensorcore.training.dask_runner``, the ``distributed`` extra) runs them
  on a Dask cluster: an embedded ``LocalCluster`` or a running scheduler.

A new distributed backend needs nothing else: subclass ``TrialRunner`` and implement
``map``, e.g. submit every ``fn(config)`` as a job and gather the results in order (Ray:
``ray.get([ray.remote(fn).remote(c) for c in configs])``). Trials should not share mutable
state: each builds its own model and seeds its own generator from its config.

Searches call ``run(fn, configs, keys, on_result)``, which also reports each trial as it
finishes (``on_result(index, result, info)``, ``info`` holding the worker and the wall
time), so that a journal records it at once. The base class implements ``run`` with
``map`` (every trial reported at the end); the runners here report each trial when it ends.

>>> from concurrent.futures import ThreadPoolExecutor
>>> from tensorcore.training import ExecutorRunner, SerialRunner
>>> SerialRunner().map(abs, [-1, 2, -3])
[1, 2, 3]
>>> with ThreadPoolExecutor(max_workers=2) as pool:
...     ExecutorRunner(pool).map(abs, [-1, 2, -3])
[1, 2, 3]
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, as_completed
from typing import Any

__all__ = ["ExecutorRunner", "SerialRunner", "TrialError", "TrialRunner", "resolve_runner",
           "timed_call", "timed_score", "trial_name"]

OnResult = Callable[[int, Any, dict], None]


class TrialError(RuntimeError):
    """Trials raised: each failing trial's config, its exception and its traceback (the
    worker's, for a remote trial). The trials that finished were reported before this is
    raised (a journal holds them). ``failures`` lists ``(config, exception, traceback)``."""

    def __init__(self, failures: list[tuple[Any, BaseException, str]], total: int) -> None:
        self.failures = failures
        parts = [f"{len(failures)} of {total} trials raised:"]
        for config, exc, tb in failures:
            parts.append(f"- config {config!r}: {type(exc).__name__}: {exc}\n{tb}".rstrip())
        super().__init__("\n".join(parts))


class TrialRunner:
    """The interface: ``map(fn, configs)`` returns ``[fn(c) for c in configs]``, in order."""

    #: the device trials run on when the runner decides it (GPU workers); None: the data's
    trial_device: str | None = None
    #: whether a search shows a bar of finished trials by default (trials run elsewhere)
    shows_progress: bool = False

    def map(self, fn: Callable[[Any], Any], configs: Iterable[Any]) -> list:
        """Run ``fn`` on each config; the results in the order of ``configs``."""
        raise NotImplementedError

    def run(self, fn: Callable[[Any], Any], configs: Iterable[Any],
            keys: list[str] | None = None, on_result: OnResult | None = None) -> list:
        """``map``, reporting each result to ``on_result(index, result, info)``; ``keys``
        name the trials (a runner may use them as job names). This default reports every
        result once ``map`` returns, with no worker or wall time."""
        results = self.map(fn, list(configs))
        if on_result is not None:
            for i, result in enumerate(results):
                on_result(i, result, {"worker": None, "wall_s": None})
        return results


class SerialRunner(TrialRunner):
    """One trial after another, in this process (exceptions propagate at once)."""

    def map(self, fn: Callable[[Any], Any], configs: Iterable[Any]) -> list:
        """``[fn(c) for c in configs]``."""
        return self.run(fn, configs)

    def run(self, fn, configs, keys=None, on_result=None) -> list:
        """``map``, reporting each trial as it ends."""
        results = []
        for i, config in enumerate(configs):
            result, wall_s = timed_call(fn, config)
            results.append(result)
            if on_result is not None:
                on_result(i, result, {"worker": "local", "wall_s": wall_s})
        return results

    def __repr__(self) -> str:
        return "SerialRunner()"


class ExecutorRunner(TrialRunner):
    """Trials on a ``concurrent.futures.Executor`` (threads, processes, or a cluster's
    executor). The executor is not shut down: its owner does that."""

    def __init__(self, executor: Executor) -> None:
        if not callable(getattr(executor, "submit", None)):
            raise TypeError(f"ExecutorRunner needs a concurrent.futures.Executor (an object "
                            f"with submit), got {type(executor).__name__}")
        self.executor = executor

    def map(self, fn: Callable[[Any], Any], configs: Iterable[Any]) -> list:
        """Submit every trial, then wait for all of them; the first trial (in config order)
        that raised re-raises its exception here."""
        return self.run(fn, configs)

    def run(self, fn, configs, keys=None, on_result=None) -> list:
        """``map``, reporting each trial as it ends (the others still run when one raises;
        its exception is raised once all have ended)."""
        futures = {self.executor.submit(timed_call, fn, config): i
                   for i, config in enumerate(configs)}
        results: list[Any] = [None] * len(futures)
        failed: dict[int, BaseException] = {}
        for future in as_completed(futures):
            i = futures[future]
            if future.exception() is not None:
                failed[i] = future.exception()
                continue
            results[i], wall_s = future.result()
            if on_result is not None:
                on_result(i, results[i], {"worker": type(self.executor).__name__,
                                          "wall_s": wall_s})
        if failed:
            raise failed[min(failed)]
        return results

    def __repr__(self) -> str:
        return f"ExecutorRunner({type(self.executor).__name__})"


def timed_call(fn: Callable[[Any], Any], config: Any) -> tuple[Any, float]:
    """``(fn(config), wall seconds)`` (module level: process pools pickle it)."""
    start = time.perf_counter()
    result = fn(config)
    return result, time.perf_counter() - start


def trial_name(fn: Callable) -> str:
    """The name of what a trial runs: a wrapper's ``trial_name`` (the user's function it
    wraps), else the function's or the callable's class's qualified name."""
    name = getattr(fn, "trial_name", None)
    if isinstance(name, str):
        return name
    return getattr(fn, "__qualname__", None) or type(fn).__qualname__


def resolve_runner(runner: TrialRunner | None) -> TrialRunner:
    """``runner``, or a ``SerialRunner`` for None; a TypeError for anything without ``map``."""
    if runner is None:
        return SerialRunner()
    if not callable(getattr(runner, "map", None)):
        raise TypeError(f"runner must be a TrialRunner (an object with map(fn, configs)), "
                        f"got {type(runner).__name__}")
    return runner


def timed_score(fn: Callable, *args, who: str, where: str) -> dict[str, Any]:
    """Call a trial function and time it: ``{"score": float, <extras>, "seconds": ...}``.

    ``fn`` returns a number or a dict with a ``"score"`` number and extra entries; anything
    else raises, naming ``who`` (the function's role) and ``where`` (the trial)."""
    start = time.perf_counter()
    outcome = fn(*args)
    seconds = time.perf_counter() - start
    extras: dict[str, Any] = {}
    if isinstance(outcome, Mapping):
        if "score" not in outcome:
            raise KeyError(f"{who} returned a dict without a 'score' key: {sorted(outcome)}")
        extras = {k: v for k, v in outcome.items() if k != "score"}
        outcome = outcome["score"]
    if not isinstance(outcome, numbers.Real):
        raise TypeError(f"{who} must return a number or a dict with 'score', got "
                        f"{type(outcome).__name__} {where}")
    return {"score": float(outcome), **extras, "seconds": seconds}
