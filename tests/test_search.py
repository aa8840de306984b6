"""grid_search / random_search, the configs they enumerate, and the trial runners."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.model_selection import ParameterGrid

import tensorcore as tc
from tensorcore.training import (
    ExecutorRunner,
    LogUniform,
    SerialRunner,
    TrialRunner,
    grid_search,
    parameter_grid,
    parameter_sampler,
    random_search,
)


def paraboloid(config) -> float:
    """Maximal (0) at a=2, b=-1."""
    return -(config["a"] - 2) ** 2 - (config["b"] + 1) ** 2


# -- the configs ---------------------------------------------------------------------------------
@pytest.mark.parametrize("grid", [
    {"lr": [0.1, 0.01, 0.001], "hidden": [16, 32], "act": ["relu", "tanh"]},
    [{"kernel": ["linear"], "C": [1, 10]}, {"kernel": ["rbf"], "gamma": [0.1, 1.0], "C": [1]}],
    {},
])
def test_parameter_grid_matches_scikit_learn(grid):
    assert parameter_grid(grid) == list(ParameterGrid(grid))


def test_grid_search_evaluates_the_full_product():
    grid = {"a": [0, 1, 2, 3], "b": [-2, -1, 0]}
    seen = []

    def evaluate(config):
        seen.append(config)
        return paraboloid(config)

    result = grid_search(grid, evaluate)
    expected = [dict(zip("ab", v)) for v in itertools.product(grid["a"], grid["b"])]
    assert seen == expected                   # every combination, each once, in order
    assert len(result.results) == 12


def test_grid_search_best_is_the_argmax_and_results_are_ranked():
    result = grid_search({"a": [0, 1, 2, 3], "b": [-2, -1, 0]}, paraboloid)
    assert result.best_params == {"a": 2, "b": -1} and result.best_score == 0.0
    scores = [r["score"] for r in result.results]
    assert scores == sorted(scores, reverse=True)
    assert [r["rank"] for r in result.results] == list(range(1, 13))
    assert all(r["seconds"] >= 0 for r in result.results)


def test_mode_min_picks_the_argmin():
    result = grid_search({"a": [0, 1, 2, 3], "b": [-2, -1, 0]},
                         lambda c: -paraboloid(c) + 5, mode="min")
    assert result.best_params == {"a": 2, "b": -1} and result.best_score == 5.0


def test_ties_and_nan():
    result = grid_search({"x": [0, 1, 2, 3]},
                         lambda c: [1.0, float("nan"), 2.0, 2.0][c["x"]])
    assert [r["params"]["x"] for r in result.results] == [2, 3, 0, 1]   # NaN last


def test_evaluate_may_return_extras():
    result = grid_search({"a": [1, 2]}, lambda c: {"score": c["a"], "std": 0.1 * c["a"],
                                                   "folds": [c["a"]] * 3})
    assert result.results[0] == {"rank": 1, "params": {"a": 2}, "score": 2.0, "std": 0.2,
                                 "folds": [2, 2, 2], "seconds": result.results[0]["seconds"]}
    table = result.table()
    # lists stay out of the table
    assert table.splitlines()[0].split() == ["rank", "a", "score", "std", "seconds"]
    assert table.splitlines()[2].split()[:4] == ["1", "2", "2.0000", "0.2000"]
    assert str(result) == table and len(table.splitlines()) == 4


def test_to_dict_is_json():
    result = grid_search({"a": [0, 1, 2, 3], "b": [-1]}, paraboloid)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["best_params"] == {"a": 2, "b": -1} and data["mode"] == "max"
    assert len(data["results"]) == 4


def test_random_search_is_seeded_and_reproducible():
    space = {"lr": LogUniform(1e-4, 1e-1), "hidden": [16, 32, 64], "wd": [0.0, 1e-4]}
    first = parameter_sampler(space, n_iter=8, seed=3)
    assert first == parameter_sampler(space, n_iter=8, seed=3)
    assert first != parameter_sampler(space, n_iter=8, seed=4)
    assert all(1e-4 <= c["lr"] <= 1e-1 and c["hidden"] in (16, 32, 64) and c["wd"] in (0, 1e-4)
               for c in first)
    a = random_search(space, lambda c: -abs(np.log10(c["lr"]) + 2), n_iter=8, seed=3)
    b = random_search(space, lambda c: -abs(np.log10(c["lr"]) + 2), n_iter=8, seed=3)
    assert [r["params"] for r in a.results] == [r["params"] for r in b.results]
    assert a.best_params == max(first, key=lambda c: -abs(np.log10(c["lr"]) + 2))


def test_random_search_on_lists_draws_distinct_grid_points():
    space = {"a": [0, 1, 2, 3], "b": [-2, -1, 0]}
    configs = parameter_sampler(space, n_iter=7, seed=0)
    assert len(configs) == 7
    assert len({tuple(sorted(c.items())) for c in configs}) == 7
    assert all(c in parameter_grid(space) for c in configs)
    with pytest.warns(UserWarning, match="only 12 points"):
        everything = random_search(space, paraboloid, n_iter=20, seed=0)
    assert len(everything.results) == 12 and everything.best_params == {"a": 2, "b": -1}


def test_log_uniform_spreads_over_decades():
    rng = np.random.default_rng(0)
    draws = np.array([LogUniform(1e-4, 1.0).rvs(random_state=rng) for _ in range(2000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1.0
    # a quarter of the draws in each decade
    counts = np.histogram(np.log10(draws), bins=[-4, -3, -2, -1, 0])[0]
    assert np.all(np.abs(counts / 2000 - 0.25) < 0.05)


# -- the runners ---------------------------------------------------------------------------------
def gradient_descent_score(config) -> dict:
    """A tiny deterministic training run: least squares by gradient descent in float64."""
    dev = config["device"]
    X = tc.tensor(np.linspace(-1, 1, 40).reshape(20, 2), dtype=tc.float64, device=dev)
    y = X @ tc.tensor([1.5, -2.0], dtype=tc.float64, device=dev) + 0.5
    w = tc.zeros(2, dtype=tc.float64, device=dev, requires_grad=True)
    b = tc.zeros(1, dtype=tc.float64, device=dev, requires_grad=True)
    for _ in range(config["steps"]):
        loss = ((X @ w + b - y) ** 2).mean()
        loss.backward()
        with tc.no_grad():
            w -= config["lr"] * w.grad
            b -= config["lr"] * b.grad
        w.grad = b.grad = None
    return {"score": -loss.item(), "w0": w[0].item()}


def test_executor_runner_gives_the_serial_results(device):
    grid = {"lr": [0.01, 0.1, 0.5], "steps": [5, 20], "device": [device]}
    serial = grid_search(grid, gradient_descent_score, runner=SerialRunner())
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = grid_search(grid, gradient_descent_score, runner=ExecutorRunner(pool))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in serial.results]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in threaded.results]
    assert serial.best_params == {"device": device, "lr": 0.5, "steps": 20}


def test_runners_keep_order_and_propagate_errors():
    def fails_on_two(x):
        if x == 2:
            raise ArithmeticError("trial 2 failed")
        return x * 10

    assert SerialRunner().map(lambda x: x * 10, [3, 1, 2]) == [30, 10, 20]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runner = ExecutorRunner(pool)
        assert runner.map(lambda x: x * 10, range(6)) == [0, 10, 20, 30, 40, 50]
        with pytest.raises(ArithmeticError, match="trial 2 failed"):
            runner.map(fails_on_two, [1, 2, 3])


def test_a_custom_runner_is_used():
    class ReversedRunner(TrialRunner):
        """Runs the trials last-first, returns them in order (as the interface asks)."""

        calls = 0

        def map(self, fn, configs):
            configs = list(configs)
            ReversedRunner.calls += len(configs)
            return [fn(c) for c in configs[::-1]][::-1]

    result = grid_search({"a": [0, 2], "b": [-1]}, paraboloid, runner=ReversedRunner())
    assert ReversedRunner.calls == 2 and result.best_params == {"a": 2, "b": -1}


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: grid_search({"a": []}, paraboloid), ValueError, "'a' is empty"),
    (lambda: grid_search({"a": "abc"}, paraboloid), TypeError, "list of candidates"),
    (lambda: grid_search({"a": 3}, paraboloid), TypeError, "list of candidates"),
    (lambda: grid_search([3], paraboloid), TypeError, "a dict or a list of dicts"),
    (lambda: grid_search({"a": [1]}, paraboloid, mode="up"), ValueError, "mode must be"),
    (lambda: grid_search({"a": [1]}, "f"), TypeError, "evaluate must be callable"),
    (lambda: grid_search({"a": [1]}, lambda c: {"loss": 1}), KeyError, "without a 'score'"),
    (lambda: grid_search({"a": [1]}, lambda c: "good"), TypeError, "must return a number"),
    (lambda: grid_search({"a": [1]}, lambda c: 1, runner=object()), TypeError,
     "runner must be a TrialRunner"),
    (lambda: random_search({"a": [1]}, paraboloid, n_iter=0), ValueError, "n_iter"),
    (lambda: random_search({"a": 1.5}, paraboloid), TypeError, "must be a list or have rvs"),
    (lambda: random_search({"a": [], "b": LogUniform(0.1, 1)}, paraboloid), ValueError,
     "'a' is an empty list"),
    (lambda: ExecutorRunner(SerialRunner()), TypeError, "concurrent.futures.Executor"),
    (lambda: LogUniform(1.0, 0.1), ValueError, "0 < low < high"),
])
def test_bad_input(call, error, message):
    with pytest.raises(error, match=message):
        call()
