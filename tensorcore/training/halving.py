"""Successive halving over a user function: ``halving_search``, as scikit-learn's
``HalvingGridSearchCV`` does it with a config key as the resource.

Every config of the grid is first evaluated on a small budget (``config[resource] =
min_resources``, e.g. a few epochs); the best ``1 / factor`` of them go on to the next
round with ``factor`` times the budget, and so on until one config is left or the next
budget would exceed ``max_resources``. The rounds run one after another, each as one batch of
trials through a ``TrialRunner``, and the survivors of a round depend only on the scores
(ties keep the earlier config), so the result is the same on every runner. The schedule
(``n_iterations``, ``n_candidates``, ``n_resources``, ...) is scikit-learn's, number for
number, with ``aggressive_elimination=False``.

>>> from tensorcore.training import halving_search
>>> # a score that improves with the budget; x=2 is best on any budget
>>> result = halving_search({"x": [0, 1, 2, 3, 4, 5, 6, 7, 8]},
...                         lambda c: -abs(c["x"] - 2) - 1 / c["epochs"],
...                         resource="epochs", max_resources=27)
>>> result.n_candidates, result.n_resources, result.n_remaining_candidates
([9, 3, 1], [3, 9, 27], 1)
>>> result.best_params, result.total_resources
({'x': 2}, 81)
>>> result.results[0]["iter"], result.results[0]["n_resources"]
(2, 27)
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from .history import check_mode
from .journal import TrialJournal, open_journal
from .runners import TrialRunner
from .search import Score, SearchResult, describe_search, parameter_grid, run_trials

__all__ = ["HalvingResult", "HalvingSchedule", "halving_schedule", "halving_search"]

MIN_RESOURCES_RULES = ("exhaust", "smallest")


class HalvingSchedule(NamedTuple):
    """The rounds of a successive-halving search (scikit-learn's attributes, without the
    trailing underscore). ``n_candidates[i]`` configs run round ``i`` on ``n_resources[i]``;
    ``n_remaining_candidates`` are kept after the last round."""

    factor: float
    min_resources: int
    max_resources: int
    n_required_iterations: int
    n_possible_iterations: int
    n_iterations: int
    n_candidates: list[int]
    n_resources: list[int]
    n_remaining_candidates: int

    @property
    def max_total_resources(self) -> int:
        """The budget of every round added up (trials that stop early use less)."""
        return sum(n * r for n, r in zip(self.n_candidates, self.n_resources))


def _check_factor(factor) -> None:
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
        raise TypeError(f"factor must be a number, got {type(factor).__name__}")
    if not factor > 1:  # also rejects NaN
        raise ValueError(f"factor must be greater than 1, got {factor}")


def _check_resources(max_resources, min_resources) -> None:
    if isinstance(max_resources, bool) or not isinstance(max_resources, numbers.Integral):
        raise TypeError(f"max_resources must be an int, got {type(max_resources).__name__}")
    if max_resources < 1:
        raise ValueError(f"max_resources must be >= 1, got {max_resources}")
    if isinstance(min_resources, str):
        if min_resources not in MIN_RESOURCES_RULES:
            raise ValueError(f"min_resources must be an int, 'exhaust' or 'smallest', "
                             f"got {min_resources!r}")
        return
    if isinstance(min_resources, bool) or not isinstance(min_resources, numbers.Integral):
        raise TypeError(f"min_resources must be an int, 'exhaust' or 'smallest', "
                        f"got {type(min_resources).__name__}")
    if min_resources < 1:
        raise ValueError(f"min_resources must be >= 1, got {min_resources}")
    if min_resources > max_resources:
        raise ValueError(f"min_resources={min_resources} is greater than "
                         f"max_resources={max_resources}")


def halving_schedule(n_candidates: int, max_resources: int,
                     min_resources: int | str = "exhaust", factor: float = 3) -> HalvingSchedule:
    """The rounds scikit-learn's ``HalvingGridSearchCV`` plans for ``n_candidates`` configs
    (``aggressive_elimination=False``). ``min_resources="exhaust"`` starts as high as lets
    the last needed round use at most ``max_resources``; ``"smallest"`` starts at 1.

    >>> s = halving_schedule(12, max_resources=100)
    >>> s.min_resources, s.n_candidates, s.n_resources, s.max_total_resources
    (11, [12, 4, 2], [11, 33, 99], 462)
    """
    _check_factor(factor)
    _check_resources(max_resources, min_resources)
    if isinstance(n_candidates, bool) or not isinstance(n_candidates, numbers.Integral) \
            or n_candidates < 1:
        raise ValueError(f"n_candidates must be a positive int, got {n_candidates!r}")
    # the same expressions as scikit-learn's (float logs included), so the numbers match
    n_required = 1 + math.floor(math.log(n_candidates, factor))
    if min_resources == "exhaust":
        min_resources = max(1, max_resources // factor ** (n_required - 1))
    elif min_resources == "smallest":
        min_resources = 1
    min_resources = int(min_resources)
    n_possible = 1 + math.floor(math.log(max_resources // min_resources, factor))
    n_iterations = min(n_possible, n_required)
    candidates, resources, n = [], [], n_candidates
    for i in range(n_iterations):
        candidates.append(n)
        resources.append(min(int(factor ** i * min_resources), max_resources))
        n = math.ceil(n / factor)
    return HalvingSchedule(factor, min_resources, max_resources, n_required, n_possible,
                           n_iterations, candidates, resources, n)


class HalvingResult(SearchResult):
    """The trials of every round of a ``halving_search``.

    ``results`` holds every trial, each with ``"iter"`` (the 0-based round) and
    ``"n_resources"`` (the resource it ran with; ``params`` leaves the resource key out),
    ranked as scikit-learn does: the last round first, then by score (NaN last; ties keep
    trial order). ``best_params`` / ``best_score`` are the best of the last round (unlike
    scikit-learn's ``best_params_``, without the resource: a retrain chooses its own). The
    schedule is in ``n_iterations``, ``n_candidates``, ``n_resources`` (per round),
    ``n_remaining_candidates``, ``min_resources``, ``max_resources``, ``factor``;
    ``total_resources`` adds up the resource over all trials.
    """

    def __init__(self, trials: list[dict], mode: str, schedule: HalvingSchedule,
                 resource: str) -> None:
        super().__init__(trials, mode)  # ranked by score, ties in trial order
        ranked = sorted(self.results, key=lambda r: -r["iter"])  # stable: scores stay ranked
        self.results = [{**r, "rank": i + 1} for i, r in enumerate(ranked)]
        self.schedule, self.resource = schedule, resource
        # the schedule's numbers, as scikit-learn's attributes without the trailing underscore
        self.factor, self.n_iterations = schedule.factor, schedule.n_iterations
        self.n_required_iterations = schedule.n_required_iterations
        self.n_possible_iterations = schedule.n_possible_iterations
        self.min_resources, self.max_resources = schedule.min_resources, schedule.max_resources
        self.n_candidates, self.n_resources = schedule.n_candidates, schedule.n_resources
        self.n_remaining_candidates = schedule.n_remaining_candidates

    @property
    def total_resources(self) -> int:
        """The resource given to every trial of every round, added up."""
        return sum(r["n_resources"] for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """``SearchResult.to_dict()`` and the schedule: resource, factor, min/max resources,
        the iteration counts, candidates and resources per round, total resources."""
        return {**super().to_dict(), "resource": self.resource, **self.schedule._asdict(),
                "total_resources": self.total_resources}

    def __repr__(self) -> str:
        return (f"HalvingResult(trials={len(self.results)}, n_candidates={self.n_candidates}, "
                f"n_resources={self.n_resources}, best_score={self.best_score:.4g}, "
                f"best_params={self.best_params})")


def _survivors(configs: list[dict], ranked: list[dict], k: int) -> list[int]:
    """Indices into ``configs`` of the ``k`` best trials of a round, in config order.
    ``ranked`` is the round's records best first (ties in config order), so the first
    unused config equal to a record's params is the trial it came from."""
    used: set[int] = set()
    for record in ranked[:k]:
        index = next(i for i, config in enumerate(configs)
                     if i not in used and config == record["params"])
        used.add(index)
    return sorted(used)


def halving_search(param_grid: Mapping[str, Sequence] | Sequence[Mapping[str, Sequence]],
                   evaluate: Callable[[dict], Score], *, resource: str = "epochs",
                   max_resources: int, min_resources: int | str = "exhaust",
                   factor: float = 3, runner: TrialRunner | None = None, mode: str = "max",
                   journal: str | os.PathLike | TrialJournal | None = None,
                   resume: bool = False, **run_kwargs) -> HalvingResult:
    """Successive halving over ``parameter_grid(param_grid)``.

    Round ``i`` evaluates every remaining config with ``config[resource] = n_resources[i]``
    (an int, ``min_resources * factor**i``) as one ``run_trials`` call through ``runner``
    (``run_kwargs`` go to it unchanged); the best ``ceil(n / factor)`` of the round's ``n``
    configs go on (NaN scores last, ties keep the earlier config). ``resource`` must not be
    a key of the grid. See ``halving_schedule`` for ``min_resources``. ``journal`` and
    ``resume`` are ``run_trials``'s, for all the rounds together (a trial's key includes its
    budget).
    """
    if not isinstance(resource, str):
        raise TypeError(f"resource must be a str (a config key), got {type(resource).__name__}")
    check_mode(mode)
    candidates = parameter_grid(param_grid)
    if any(resource in config for config in candidates):
        raise ValueError(f"cannot use {resource!r} as the resource: it is a key of the "
                         f"parameter grid")
    schedule = halving_schedule(len(candidates), max_resources, min_resources, factor)
    journal = open_journal(journal, {**describe_search(evaluate, mode), "kind": "halving",
                                     "resource": resource, "factor": factor}, resume)
    trials: list[dict] = []
    for itr, n_resources in enumerate(schedule.n_resources):
        configs = [{**config, resource: n_resources} for config in candidates]
        round_result = run_trials(configs, evaluate, runner, mode, journal=journal,
                                  **run_kwargs)
        for record in round_result.results:
            params = {k: v for k, v in record["params"].items() if k != resource}
            extras = {k: v for k, v in record.items() if k not in ("rank", "params", "score")}
            trial = {"params": params, "score": record["score"], "iter": itr,
                     "n_resources": n_resources, **extras}
            # the round and its budget are the search's: an extra of the same name yields
            trial["iter"], trial["n_resources"] = itr, n_resources
            trials.append(trial)
        keep = _survivors(configs, round_result.results, math.ceil(len(configs) / factor))
        candidates = [candidates[i] for i in keep]
    return HalvingResult(trials, mode, schedule, resource)
