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

A new distributed backend needs nothing else: subclass ``TrialRunner`` and implement
``map``, e.g. submit every ``fn(config)`` as a job and gather the results in order (Ray:
``ray.get([ray.remote(fn).remote(c) for c in configs])``). Trials should not share mutable
state: each builds its own model and seeds its own generator from its config.

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
from concurrent.futures import Executor
from typing import Any

__all__ = ["ExecutorRunner", "SerialRunner", "TrialRunner", "resolve_runner", "timed_score"]


class TrialRunner:
    """The interface: ``map(fn, configs)`` returns ``[fn(c) for c in configs]``, in order."""

    def map(self, fn: Callable[[Any], Any], configs: Iterable[Any]) -> list:
        """Run ``fn`` on each config; the results in the order of ``configs``."""
        raise NotImplementedError


class SerialRunner(TrialRunner):
    """One trial after another, in this process (exceptions propagate at once)."""

    def map(self, fn: Callable[[Any], Any], configs: Iterable[Any]) -> list:
        """``[fn(c) for c in configs]``."""
        return [fn(config) for config in configs]

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
        """Submit every trial, then wait for the results in submission order; the first
        trial that raised re-raises its exception here."""
        futures = [self.executor.submit(fn, config) for config in configs]
        return [future.result() for future in futures]

    def __repr__(self) -> str:
        return f"ExecutorRunner({type(self.executor).__name__})"


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
