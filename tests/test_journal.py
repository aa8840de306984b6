"""The journal of finished trials: what it records, resuming from it, and bad journals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tensorcore.training import SerialRunner, TrialJournal, grid_search, random_search
from tensorcore.training.journal import run_pool, trial_key, unique_trial_keys


def paraboloid(config):
    return -(config["a"] - 2) ** 2 - (config["b"] + 1) ** 2


GRID = {"a": [0, 1, 2, 3], "b": [-2, -1, 0]}


def test_each_trial_is_recorded_with_its_config_result_worker_and_time(tmp_path):
    path = tmp_path / "trials.jsonl"
    result = grid_search(GRID, paraboloid, journal=path)
    header, *records = [json.loads(line) for line in path.read_text().splitlines()]
    assert header["format"] == "tensorcore-trials/1"
    assert header["search"]["evaluate"].endswith("paraboloid") and header["search"]["mode"] == "max"
    assert len(records) == 12
    by_key = {r["key"]: r for r in records}
    for trial in result.results:
        record = by_key[trial_key(trial["params"])]
        assert record["config"] == trial["params"] and record["result"]["score"] == trial["score"]
        assert record["worker"] == "local" and record["wall_s"] >= 0


def test_resume_runs_only_the_missing_trials_and_equals_a_whole_run(tmp_path):
    path = tmp_path / "trials.jsonl"
    grid_search({"a": [0, 1], "b": GRID["b"]}, paraboloid, journal=path)
    ran = []

    def counted(config):
        ran.append(config)
        return paraboloid(config)

    counted.__qualname__ = paraboloid.__qualname__  # the same objective, by name
    resumed = grid_search(GRID, counted, journal=path, resume=True)
    assert sorted(c["a"] for c in ran) == [2, 2, 2, 3, 3, 3]
    whole = grid_search(GRID, paraboloid)
    assert [(r["params"], r["score"]) for r in resumed.results] == \
        [(r["params"], r["score"]) for r in whole.results]
    assert len(path.read_text().splitlines()) == 1 + 12


def test_without_resume_a_journal_starts_afresh(tmp_path):
    path = tmp_path / "trials.jsonl"
    grid_search(GRID, paraboloid, journal=path)
    grid_search({"a": [5], "b": [5]}, paraboloid, journal=path)
    assert len(path.read_text().splitlines()) == 1 + 1


def test_results_read_back_exactly_nan_and_numpy_numbers_included(tmp_path):
    path = tmp_path / "trials.jsonl"

    def odd(config):
        return {"score": float("nan") if config["a"] == 0 else 0.1 * config["a"],
                "count": np.int64(config["a"]), "curve": np.arange(3.0) / 3}

    first = random_search({"a": [0, 1, 2]}, odd, n_iter=3, seed=0, journal=path)
    again = random_search({"a": [0, 1, 2]}, odd, n_iter=3, seed=0, journal=path, resume=True)
    for x, y in zip(first.results, again.results):
        assert x["params"] == y["params"] and x["count"] == y["count"] == x["params"]["a"]
        assert (math.isnan(x["score"]) and math.isnan(y["score"])) or x["score"] == y["score"]
        assert x["curve"] == y["curve"] == [0.0, 1 / 3, 2 / 3]


def test_a_journal_of_another_search_is_refused(tmp_path):
    path = tmp_path / "trials.jsonl"
    grid_search(GRID, paraboloid, journal=path)
    with pytest.raises(ValueError, match="records another search.*mode"):
        grid_search(GRID, paraboloid, journal=path, resume=True, mode="min")


@pytest.mark.parametrize("text, match", [
    ("not json\n", "not a tensorcore trial journal"),
    ('{"format": "tensorcore-trials/1", "search": {}}\n{"no key": 1}\n', "line 2"),
])
def test_a_file_that_is_not_a_journal_is_named(tmp_path, text, match):
    path = tmp_path / "trials.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        TrialJournal(path, resume=True)


def test_resume_needs_a_journal():
    with pytest.raises(ValueError, match="resume=True needs a journal"):
        grid_search(GRID, paraboloid, resume=True)


def test_a_journal_that_cannot_be_written_warns_and_the_search_goes_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the directory should be")
    with pytest.warns(RuntimeWarning, match="cannot write the trial journal"):
        result = grid_search(GRID, paraboloid, journal=blocker / "trials.jsonl")
    assert result.best_params == {"a": 2, "b": -1} and len(result.results) == 12


def test_repeated_configs_get_distinct_keys_and_keys_ignore_key_order():
    keys = unique_trial_keys([{"a": 1, "b": 2}, {"b": 2, "a": 1}, {"a": 3}])
    assert keys[0] != keys[1] and keys[1] == keys[0] + "~2" and len(set(keys)) == 3


def test_a_runner_with_only_map_reports_at_the_end(tmp_path):
    class OnlyMap:  # not a TrialRunner: any object with map(fn, configs)
        def map(self, fn, configs):
            return [fn(c) for c in configs]

    journal = TrialJournal(tmp_path / "trials.jsonl")
    out = run_pool(OnlyMap(), abs, [-1, -2, 3], key_configs=[{"x": i} for i in range(3)],
                   journal=journal)
    assert out == [1, 2, 3] and len(journal) == 3
    assert SerialRunner().map(abs, [-4]) == [4]
