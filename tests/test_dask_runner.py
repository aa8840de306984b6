"""DaskRunner on real clusters: an embedded LocalCluster of worker processes, a worker
killed mid-search, a search killed and resumed, a scheduler and a worker started with dask's
own command line, and bad input. The results are compared with ``SerialRunner``'s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dask_trials import (  # noqa: E402
    CountsUnpickling,
    FailsOn,
    KillsItsWorker,
    SlowParabola,
    dask_cli_cluster,
    identity,
    kill_once_journaled,
    need_distributed,
    where_tensors_go,
)

need_distributed()
import distributed  # noqa: E402

import tensorcore as tc  # noqa: E402
from tensorcore.datasets import load_iris  # noqa: E402
from tensorcore.training import (  # noqa: E402
    CVObjective,
    DaskRunner,
    SerialRunner,
    TrialError,
    TrialJournal,
    cross_validate,
    grid_search,
    random_search,
)
from tensorcore.training.experiment import (  # noqa: E402
    ExperimentConfig,
    HoldoutObjective,
    load_splits,
    train_mlp,
)

pytestmark = pytest.mark.slow
GRID = {"a": [0, 1, 2, 3], "b": [-2, -1, 0]}
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def runner():
    with DaskRunner(n_workers=2, quiet=True) as r:
        yield r


def scores(result):
    return [(r["params"], r["score"]) for r in result.results]


def mlp_fold_accuracy(config, X_train, y_train, X_test, y_test) -> float:
    """Train a small MLP on one fold (seeded by the config) and score the held-out part."""
    trained = train_mlp(config, X_train, y_train, 3, epochs=3, batch_size=32, seed=1,
                        compile=False)
    return float((trained.predict_labels(X_test) == y_test).float().mean().item())


# -- the same results as SerialRunner -------------------------------------------------------------
def test_two_worker_processes_and_their_settings(runner):
    info = runner.describe()
    assert info["n_workers"] == 2 and info["cluster"] == "LocalCluster"
    pids = runner.client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    env = runner.client.run(lambda: [os.environ.get(k) for k in
                                     ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS",
                                      "OPENBLAS_NUM_THREADS")])
    assert all(v == ["1", "1", "1"] for v in env.values())
    assert runner.start_seconds > 0

    def scheduler_settings(dask_scheduler):
        return (dask_scheduler.WORKER_SATURATION, dask_scheduler.extensions["amm"].running)

    # one trial per worker thread at a time; no active memory manager dropping replicas
    assert runner.client.run_on_scheduler(scheduler_settings) == (1.0, False)


def test_grid_and_random_search_equal_serial_on_real_training(runner):
    config = ExperimentConfig(dataset="iris", epochs=4, patience=2, compile=False)
    objective = HoldoutObjective(load_splits(config), config)
    grid = {"hidden": [8, 16], "lr": [1e-2, 3e-2], "weight_decay": [0.0]}
    serial, dask = (grid_search(grid, objective, runner=r) for r in (SerialRunner(), runner))
    assert scores(dask) == scores(serial) and dask.best_params == serial.best_params
    space = {"hidden": [4, 8, 16, 32], "lr": [1e-3, 1e-2, 1e-1], "weight_decay": [0.0, 1e-3]}
    serial, dask = (random_search(space, objective, n_iter=5, seed=3, runner=r)
                    for r in (SerialRunner(), runner))
    assert scores(dask) == scores(serial) and len(dask.results) == 5


def test_halving_search_equals_serial_on_real_training(runner):
    from tensorcore.training import halving_search

    config = ExperimentConfig(dataset="iris", epochs=9, patience=9, compile=False)
    objective = HoldoutObjective(load_splits(config), config)
    grid = {"hidden": [4, 8, 16], "lr": [3e-3, 1e-2, 3e-2], "weight_decay": [0.0]}
    serial, dask = (halving_search(grid, objective, max_resources=9, runner=r)
                    for r in (SerialRunner(), runner))
    assert dask.n_candidates == serial.n_candidates == [9, 3, 1]
    assert [(r["params"], r["iter"], r["score"]) for r in dask.results] == \
        [(r["params"], r["iter"], r["score"]) for r in serial.results]
    assert dask.best_params == serial.best_params


def test_the_data_goes_to_each_worker_once(runner, tmp_path):
    objective = CountsUnpickling(tmp_path)
    result = grid_search({"a": list(range(24))}, objective, runner=runner)
    assert result.best_params == {"a": 23}
    unpickled = list(tmp_path.iterdir())
    # once per worker process (scattered), not once per trial (24)
    assert 1 <= len(unpickled) <= runner.n_workers, sorted(p.name for p in unpickled)


def test_the_jobs_cv_search_is_one_pool_of_config_fold_trials(runner):
    from tensorcore.training.experiment import run_experiment

    config = ExperimentConfig(dataset="iris", epochs=3, cv=3, trials=4, quiet=True)
    serial = run_experiment(config, log=lambda *a: None)
    dask = run_experiment(config, log=lambda *a: None, runner=runner)
    assert scores(dask.search) == scores(serial.search)
    assert dask.report["cv"]["scores"] == serial.report["cv"]["scores"]
    trials = dask.report["runner"]["trials"]
    assert len(trials) == 4 * 3 and all(t["key"].endswith(("-fold0", "-fold1", "-fold2"))
                                        for t in trials)
    assert {t["worker"] for t in trials} <= set(runner.workers)


def test_trials_ran_on_the_workers(runner):
    result = grid_search(GRID, SlowParabola(), runner=runner)
    assert {r["pid"] for r in result.results} <= set(runner.client.run(os.getpid).values())
    assert result.best_params == {"a": 2, "b": -1}


def test_cross_validate_and_cv_objective_equal_serial(runner):
    X, y = load_iris()
    serial = cross_validate(_FoldScore(), X, y, cv=3)
    dask = cross_validate(_FoldScore(), X, y, cv=3, runner=runner)
    assert dask.scores == serial.scores and len(serial.scores) == 3
    objective = CVObjective(mlp_fold_accuracy, X, y, cv=3)
    grid = {"hidden": [8, 16], "lr": [1e-2, 5e-2], "weight_decay": [0.0]}
    ran = []
    a = grid_search(grid, objective, runner=runner, on_trial=lambda k, c, i: ran.append(i))
    b = grid_search(grid, objective)
    assert scores(a) == scores(b)
    fold_scores = [[[f["score"] for f in r["folds"]] for r in s.results] for s in (a, b)]
    assert fold_scores[0] == fold_scores[1]
    assert len(ran) == 4 * 3                  # every (config, fold) pair was one trial
    assert {i["worker"] for i in ran} <= set(runner.workers)


class _FoldScore:
    """``mlp_fold_accuracy`` with a fixed config (cross_validate's signature)."""

    def __call__(self, X_train, y_train, X_test, y_test):
        return mlp_fold_accuracy({"hidden": 8, "lr": 3e-2, "weight_decay": 0.0},
                                 X_train, y_train, X_test, y_test)


def test_trainer_cross_validate_on_the_cluster_equals_serial(runner):
    from tensorcore import nn
    from tensorcore.model_selection import StratifiedKFold
    from tensorcore.training import Trainer

    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 3))
    trainer = Trainer(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.1,
                                                                 momentum=0.9),
                      metrics=["accuracy"])
    X, y = load_iris()
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    serial = trainer.cross_validate(X, y, cv=cv, epochs=3)
    dask = trainer.cross_validate(X, y, cv=cv, epochs=3, runner=runner)
    assert dask.scores == serial.scores
    assert [f["loss"] for f in dask.folds] == [f["loss"] for f in serial.folds]


def test_a_scheduler_without_workers_is_named_and_other_runners_go_on(runner):
    with distributed.LocalCluster(n_workers=0, dashboard_address=":0") as other:
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="no worker joined the Dask scheduler at tcp://"):
            DaskRunner(other.scheduler_address, workers_timeout=1, quiet=True).start()
        assert time.monotonic() - start < 15
    # that runner's client, whose scheduler is now gone, is Dask's default client (the
    # latest made): a map on another runner runs on its own client all the same
    assert runner.map(identity, [{"i": 1}, {"i": 2}]) == [{"i": 1}, {"i": 2}]


def test_map_keeps_config_order_and_streams_results(runner):
    configs = [{"i": i} for i in range(40)]
    seen = []
    out = runner.run(identity, configs, on_result=lambda i, r, info: seen.append(i))
    assert out == configs and sorted(seen) == list(range(40))


# -- a worker killed mid-search -------------------------------------------------------------------
def test_a_worker_killed_mid_search_costs_only_its_trial(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    objective = SlowParabola(marks, seconds=0.6)
    expected = grid_search(GRID, SlowParabola())
    killed = {}
    with DaskRunner(n_workers=2, quiet=True) as runner:
        pids = set(runner.client.run(os.getpid).values())

        def kill_a_busy_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                for mark in marks.iterdir():
                    pid = int(mark.suffix[1:])
                    if pid in pids and mark.stem not in ("0_-2",):
                        killed["pid"], killed["trial"] = pid, mark.stem
                        os.kill(pid, signal.SIGKILL)
                        return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        result = grid_search(GRID, objective, runner=runner)
        killer.join()
    assert killed, "no worker was killed"
    assert [(r["params"], r["score"]) for r in result.results] == scores(expected)
    runs = sorted(p.suffix for p in marks.glob(f"{killed['trial']}.*"))
    assert len(runs) >= 2        # the killed worker's trial ran again, on another process
    assert killed["pid"] not in {r["pid"] for r in result.results
                                 if f"{r['params']['a']}_{r['params']['b']}" == killed["trial"]}


def test_a_trial_that_kills_every_worker_it_runs_on_is_reported(tmp_path):
    import dask

    journal = tmp_path / "trials.jsonl"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):  # fail fast
        with DaskRunner(n_workers=2, quiet=True, retries=0) as runner:
            with pytest.raises(TrialError, match=r"\{'a': 1\}: KilledWorker"):
                grid_search({"a": [0, 1, 2, 3]}, KillsItsWorker(1), runner=runner,
                            journal=journal)
    lines = journal.read_text().splitlines()[1:]
    assert sorted(json.loads(line)["config"]["a"] for line in lines) == [0, 2, 3]


# -- resume after the search's own process was killed ---------------------------------------------
RESUMABLE = """
import sys, time
sys.path.insert(0, {here!r})
from dask_trials import SlowParabola
from tensorcore.training import grid_search
grid_search({grid!r}, SlowParabola(seconds=0.3), journal={journal!r})
"""


def test_a_killed_search_resumes_with_only_the_missing_trials(tmp_path):
    journal = tmp_path / "trials.jsonl"
    script = RESUMABLE.format(here=str(HERE), grid=GRID, journal=str(journal))
    kept = kill_once_journaled([sys.executable, "-c", script], journal, records=4)
    assert 4 <= kept < 12, kept
    marks = tmp_path / "marks"
    marks.mkdir()
    with DaskRunner(n_workers=2, quiet=True) as runner:
        resumed = grid_search(GRID, SlowParabola(marks), runner=runner, journal=journal,
                              resume=True)
    assert len(list(marks.iterdir())) == 12 - kept           # only the trials not journaled
    assert scores(resumed) == scores(grid_search(GRID, SlowParabola()))
    assert len(TrialJournal(journal, resume=True,
                            search=json.loads(journal.read_text().splitlines()[0])["search"])) \
        == 12


# -- dask's own command line ----------------------------------------------------------------------
@pytest.fixture
def dask_cli(tmp_path):
    with dask_cli_cluster(tmp_path) as address:
        yield address


def test_a_scheduler_and_a_worker_from_dasks_command_line(dask_cli):
    with DaskRunner(dask_cli, quiet=True, timeout=30) as runner:
        runner.client.wait_for_workers(1, timeout=60)
        result = grid_search(GRID, SlowParabola(), runner=runner)
        assert runner.describe()["cluster"] == f"scheduler {dask_cli}"
    assert scores(result) == scores(grid_search(GRID, SlowParabola()))


# -- bad input ------------------------------------------------------------------------------------
def test_an_address_nobody_listens_on_fails_fast():
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="no Dask scheduler answered at tcp://127.0.0.1:9"):
        DaskRunner("tcp://127.0.0.1:9", timeout=2, quiet=True).start()
    assert time.monotonic() - start < 15


def test_a_trial_function_that_cannot_be_pickled_is_named(runner):
    lock = threading.Lock()

    def holds_a_lock(config):
        with lock:
            return config["a"]

    with pytest.raises(TypeError, match="holds_a_lock.*cannot be pickled"):
        grid_search(GRID, holds_a_lock, runner=runner)


def test_a_trial_that_raises_is_reported_and_the_others_are_journaled(runner, tmp_path):
    journal = tmp_path / "trials.jsonl"
    with pytest.raises(TrialError) as info:
        grid_search({"a": [0, 1, 2, 3]}, FailsOn(2), runner=runner, journal=journal)
    message = str(info.value)
    assert "{'a': 2}" in message and "ValueError: a=2 is the broken config" in message
    assert "dask_trials.py" in message                 # the worker's traceback
    lines = journal.read_text().splitlines()[1:]
    assert sorted(json.loads(line)["config"]["a"] for line in lines) == [0, 1, 3]
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"address": "tcp://h:1", "client": object()}, ValueError, "not both"),
    ({"address": "tcp://h:1", "n_workers": 2}, ValueError, "embedded cluster"),
    ({"n_workers": 0}, ValueError, "n_workers must be an int >= 1"),
    ({"retries": -1}, ValueError, "retries"),
    ({"timeout": 0}, ValueError, "timeout"),
    ({"workers_timeout": -1}, ValueError, "workers_timeout"),
    ({"devices": [0]}, ValueError, "gpu=True"),
    ({"address": 8786}, TypeError, "address must be a string"),
])
def test_bad_settings(kwargs, error, match):
    with pytest.raises(error, match=match):
        DaskRunner(**kwargs)


# -- GPU workers ----------------------------------------------------------------------------------
def test_gpu_without_a_gpu_says_why():
    if tc.cuda.is_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        DaskRunner(gpu=True, quiet=True).start()


def test_one_worker_per_gpu_sees_only_its_device():
    # the fallback without dask-cuda: one worker process per GPU index, each with its
    # CUDA_VISIBLE_DEVICES and cuda as its default device (no GPU needed to check that)
    pytest.importorskip("distributed")
    try:
        import dask_cuda  # noqa: F401
        pytest.skip("dask-cuda is installed: LocalCUDACluster is used instead")
    except ImportError:
        pass
    with DaskRunner(gpu=True, devices=[0, 1], quiet=True) as runner:
        seen = runner.client.run(lambda: (os.environ["CUDA_VISIBLE_DEVICES"],
                                          os.environ["TENSORCORE_DEVICE"]))
        assert sorted(seen.values()) == [("0", "cuda"), ("1", "cuda")]
        assert runner.trial_device == "cuda"


@pytest.mark.gpu
def test_gpu_workers_run_trials_on_their_gpu():
    if not tc.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    with DaskRunner(gpu=True, quiet=True) as runner:
        n = runner.n_workers
        result = grid_search({"a": list(range(2 * n))}, where_tensors_go, runner=runner)
    assert n == tc.cuda.device_count()
    assert all(r["device"].startswith("cuda") for r in result.results)
    assert len({r["visible"] for r in result.results}) == n   # one GPU per worker


def test_the_core_package_does_not_import_dask():
    code = ("import sys, tensorcore, tensorcore.training, tensorcore.training.dask_runner; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_dask_report_script_imports(monkeypatch):
    from helpers import import_benchmark_script

    module = import_benchmark_script("dask_report", monkeypatch)
    assert module.RATIO_TARGET == 0.55 and len(module.GRID["lr"]) == 4
