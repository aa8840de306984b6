"""halving_search: scikit-learn's successive-halving schedule, the survivors of each round, the
same result on every runner, and the errors for bad settings."""

from __future__ import annotations

import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV

from tensorcore.training import (
    ExecutorRunner,
    HalvingResult,
    SearchResult,
    SerialRunner,
    halving_search,
)
from tensorcore.training.halving import halving_schedule


def budget_score(x: int, budget: int) -> float:
    """A score that depends on the config and the budget, distinct for every x of one round
    (so no ties decide anything): the optimum moves from x=2 (budget 1) towards high x."""
    return -abs(x - (budget + 1)) - 0.001 * x


class Budgeted(BaseEstimator):
    """A scikit-learn estimator that learns nothing and scores ``budget_score``."""

    def __init__(self, x=0, budget=1):
        self.x, self.budget = x, budget

    def fit(self, X, y=None):
        return self

    def score(self, X, y=None):
        return budget_score(self.x, self.budget)


# -- the schedule, against scikit-learn ----------------------------------------------------------
SCHEDULES = [  # n_candidates, factor, min_resources, max_resources
    (12, 3, "exhaust", 100),
    (20, 2, "exhaust", 64),
    (9, 3, 1, 1000),
    (10, 3, "smallest", 30),
    (7, 2.5, 2, 50),
    (30, 3, 5, 40),      # fewer possible rounds than needed: more than one config remains
    (27, 3, "exhaust", 27),
    (1, 3, "exhaust", 10),
    (50, 4, 3, 3),       # min == max: a single round
]


@pytest.mark.parametrize("n, factor, min_resources, max_resources", SCHEDULES)
def test_schedule_and_survivors_match_scikit_learn(n, factor, min_resources, max_resources):
    grid = {"x": list(range(n))}
    sk = HalvingGridSearchCV(Budgeted(), grid, resource="budget", factor=factor,
                             min_resources=min_resources, max_resources=max_resources,
                             cv=2).fit(np.zeros((8, 1)), np.zeros(8))
    ours = halving_search(grid, lambda c: budget_score(c["x"], c["budget"]),
                          resource="budget", factor=factor, min_resources=min_resources,
                          max_resources=max_resources)
    assert ours.n_iterations == sk.n_iterations_
    assert ours.n_candidates == sk.n_candidates_
    assert ours.n_resources == sk.n_resources_
    assert ours.n_remaining_candidates == sk.n_remaining_candidates_
    assert ours.min_resources == sk.min_resources_
    assert ours.max_resources == sk.max_resources_
    assert ours.n_required_iterations == sk.n_required_iterations_
    assert ours.n_possible_iterations == sk.n_possible_iterations_
    # scikit-learn's best_params_ carries the resource; ours keeps it in n_resources
    sk_best = dict(sk.best_params_)
    assert ours.results[0]["n_resources"] == sk_best.pop("budget")
    assert ours.best_params == sk_best
    assert ours.best_score == pytest.approx(sk.best_score_)
    # the same configs ran each round, with the same budget
    for itr in range(ours.n_iterations):
        sk_round = {p["x"] for p, i in zip(sk.cv_results_["params"], sk.cv_results_["iter"])
                    if i == itr}
        our_round = {r["params"]["x"] for r in ours.results if r["iter"] == itr}
        assert our_round == sk_round
    assert ours.total_resources == sum(c * r for c, r in zip(sk.n_candidates_,
                                                               sk.n_resources_))


def test_schedule_of_the_experiment_grid():
    s = halving_schedule(12, max_resources=100, factor=3)
    assert (s.min_resources, s.n_candidates, s.n_resources) == (11, [12, 4, 2], [11, 33, 99])
    assert s.max_total_resources == 12 * 11 + 4 * 33 + 2 * 99


# -- the search ----------------------------------------------------------------------------------
def test_best_config_is_the_closed_form_one():
    # score -(x - (e + 1))^2 on budget e: round 0 (e=1) keeps the 3 nearest to 2: x = 1, 2, 3;
    # round 1 (e=3) keeps the nearest to 4 of those: x = 3; round 2 (e=9) runs x = 3 alone.
    # The full budget alone would pick x = 8: halving ranks on the small budgets first.
    result = halving_search({"x": list(range(9))}, lambda c: -(c["x"] - (c["epochs"] + 1)) ** 2,
                            resource="epochs", max_resources=9)
    assert isinstance(result, HalvingResult) and isinstance(result, SearchResult)
    assert result.n_candidates == [9, 3, 1] and result.n_resources == [1, 3, 9]
    rounds = [[r["params"]["x"] for r in result.results if r["iter"] == i] for i in range(3)]
    assert rounds[1] == [3, 2, 1]  # ranked by the round-1 score: -1, -4, -9
    assert rounds[2] == [3]
    assert result.best_params == {"x": 3}
    assert result.best_score == -(3 - 10) ** 2
    assert result.total_resources == 9 * 1 + 3 * 3 + 1 * 9


def test_ranking_puts_the_last_round_first_and_min_mode():
    result = halving_search({"x": [0, 1, 2, 3]}, lambda c: (c["x"] - 1) ** 2 / c["n"],
                            resource="n", max_resources=4, factor=2, mode="min")
    assert [r["iter"] for r in result.results] == [2, 1, 1, 0, 0, 0, 0]
    assert [r["rank"] for r in result.results] == list(range(1, 8))
    assert [r["params"]["x"] for r in result.results if r["iter"] == 0] == [1, 0, 2, 3]
    assert result.best_params == {"x": 1} and result.best_score == 0.0


def test_nan_scores_go_last_and_ties_keep_the_earlier_config():
    # x = 0 and 1 diverge (NaN); x = 2..5 tie: the earlier two go on
    def score(c):
        return float("nan") if c["x"] < 2 else 1.0

    result = halving_search({"x": list(range(6))}, score, resource="r", max_resources=4,
                            factor=3)
    assert result.n_candidates == [6, 2]
    assert [r["params"]["x"] for r in result.results if r["iter"] == 1] == [2, 3]
    assert result.best_params == {"x": 2}
    round0 = [r for r in result.results if r["iter"] == 0]
    assert all(math.isnan(r["score"]) for r in round0[-2:])


class Recorder:
    """Scores a config and records the resource it was called with (thread-safe)."""

    def __init__(self):
        self.seen, self.lock = [], threading.Lock()

    def __call__(self, c):
        with self.lock:
            self.seen.append((c["lr"], c["hidden"], c["epochs"]))
        return {"score": budget_score(int(c["hidden"] / 16), c["epochs"]) - c["lr"],
                "epochs_seen": c["epochs"]}


GRID = {"lr": [0.1, 0.01, 0.001], "hidden": [16, 32, 64, 128]}


def test_each_trial_sees_its_round_budget_as_an_int():
    recorder = Recorder()
    result = halving_search(GRID, recorder, max_resources=30)
    assert result.n_resources == [3, 9, 27] and result.n_candidates == [12, 4, 2]
    assert len(recorder.seen) == len(result.results) == 18
    for record in result.results:
        assert record["epochs_seen"] == record["n_resources"]
        assert record["n_resources"] == result.n_resources[record["iter"]]
        assert "epochs" not in record["params"]
    assert all(type(e) is int for _, _, e in recorder.seen)
    assert [e for _, _, e in recorder.seen] == [3] * 12 + [9] * 4 + [27] * 2


def test_same_result_on_every_runner():
    def strip(result):
        return [{k: v for k, v in r.items() if k != "seconds"} for r in result.results]

    serial = halving_search(GRID, Recorder(), max_resources=30, runner=SerialRunner())
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = halving_search(GRID, Recorder(), max_resources=30,
                                  runner=ExecutorRunner(pool))
    assert strip(serial) == strip(threaded)
    assert serial.best_params == threaded.best_params == {"hidden": 64, "lr": 0.001}


def test_report_table_and_dict():
    result = halving_search(GRID, Recorder(), max_resources=30)
    header = result.table().splitlines()[0].split()
    assert header[:5] == ["rank", "hidden", "lr", "score", "iter"]
    assert "n_resources" in header
    d = json.loads(json.dumps(result.to_dict()))
    assert d["best_params"] == result.best_params and len(d["results"]) == 18
    assert (d["resource"], d["factor"], d["min_resources"], d["max_resources"]) == \
        ("epochs", 3, 3, 30)
    assert d["n_candidates"] == [12, 4, 2] and d["n_resources"] == [3, 9, 27]
    assert d["n_iterations"] == 3 and d["n_remaining_candidates"] == 1
    assert d["total_resources"] == 12 * 3 + 4 * 9 + 2 * 27
    assert "HalvingResult(trials=18" in repr(result)


def test_run_kwargs_go_to_run_trials_unchanged():
    # run_trials takes no such keyword: its own TypeError names it
    with pytest.raises(TypeError, match="no_such_option"):
        halving_search(GRID, Recorder(), max_resources=30, no_such_option=1)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, error, match", [
    ({"factor": 1}, ValueError, "factor must be greater than 1"),
    ({"factor": 0.5}, ValueError, "factor must be greater than 1"),
    ({"factor": float("nan")}, ValueError, "factor must be greater than 1"),
    ({"factor": "3"}, TypeError, "factor must be a number"),
    ({"max_resources": 0}, ValueError, "max_resources must be >= 1"),
    ({"max_resources": 2.5}, TypeError, "max_resources must be an int"),
    ({"min_resources": 40}, ValueError, "min_resources=40 is greater than max_resources=30"),
    ({"min_resources": 0}, ValueError, "min_resources must be >= 1"),
    ({"min_resources": "auto"}, ValueError, "'exhaust' or 'smallest', got 'auto'"),
    ({"min_resources": 1.5}, TypeError, "min_resources must be an int"),
    ({"resource": 3}, TypeError, "resource must be a str"),
    ({"resource": "lr"}, ValueError, "cannot use 'lr' as the resource"),
    ({"mode": "best"}, ValueError, "mode"),
])
def test_bad_settings_raise_clear_errors(kwargs, error, match):
    settings = {"max_resources": 30, **kwargs}
    recorder = Recorder()
    with pytest.raises(error, match=match):
        halving_search(GRID, recorder, **settings)
    assert recorder.seen == []  # nothing ran


# -- the tensorcore train job --------------------------------------------------------------------
def test_train_with_halving_search(tmp_path, capsys):
    from tensorcore.__main__ import main

    argv = ["train", "--dataset", "iris", "--epochs", "9", "--search", "halving",
            "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    capsys.readouterr()
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    search = report["search"]
    assert search["kind"] == "halving" and search["resource"] == "epochs"
    # 9 epochs: a third is 3, and "exhaust" for 12 configs on 3 epochs starts at 1
    assert search["n_candidates"] == [12, 4, 2] and search["n_resources"] == [1, 3, 9]
    assert search["min_resources"] == 1 and search["max_resources"] == 9
    assert len(search["results"]) == 18 and search["results"][0]["iter"] == 2
    for trial in search["results"]:
        assert 1 <= trial["epochs_trained"] <= trial["n_resources"]
        assert set(trial["params"]) == {"hidden", "lr", "weight_decay"}
    assert search["total_resources"] == 12 * 1 + 4 * 3 + 2 * 9
    assert report["best_params"] == search["results"][0]["params"]
    assert "n_resources" in search["table"].splitlines()[0]


def test_halving_with_cross_validation_scores_by_folds():
    from tensorcore.training.experiment import ExperimentConfig, run_experiment

    config = ExperimentConfig(dataset="iris", epochs=3, cv=3, search="halving", quiet=True)
    result = run_experiment(config, log=lambda *a: None)
    search = result.search
    assert search.n_resources == [1, 3] and search.n_candidates == [12, 4]
    assert len(search.results) == 16 and len(search.results[0]["folds"]) == 3
    assert result.report["cv"]["scores"] == [f["score"] for f in search.results[0]["folds"]]


def test_halving_rejects_trials():
    from tensorcore.training.experiment import ConfigError, ExperimentConfig

    with pytest.raises(ConfigError, match="trials does not apply to search='halving'"):
        ExperimentConfig(search="halving", trials=4).check()
    with pytest.raises(ConfigError, match="'grid', 'random' or 'halving', got 'asha'"):
        ExperimentConfig(search="asha").check()


def test_the_halving_report_script_imports(monkeypatch):
    # benchmarks/halving_report.py imports the job's search internals: a rename breaks it
    from helpers import import_benchmark_script

    module = import_benchmark_script("halving_report", monkeypatch)
    assert callable(module.epochs_trained)
