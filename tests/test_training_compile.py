"""The training layer's compiled step: ``fit``, ``Trainer``, ``cross_validate``, the searches
and ``tensorcore train`` give the same results with ``compile=True`` (the default) as with
``compile=False``, bit for bit on the CPU backends, and make one compiled step per fit."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import to_numpy
from test_cli_train import TINY, run_cli

import tensorcore as tc
from tensorcore import nn
from tensorcore.__main__ import main
from tensorcore.optim.lr_scheduler import StepLR
from tensorcore.training import Trainer, cross_validate, fit, grid_search, make_train_step
from tensorcore.training.experiment import ExperimentConfig, run_experiment
from tensorcore.utils.data import DataLoader, TensorDataset

N_TRAIN, BATCH, EPOCHS = 22, 8, 4  # batches of 8, 8 and a last short one of 6
BATCHES = math.ceil(N_TRAIN / BATCH)


def data(device, n=N_TRAIN, seed=0):
    rng = np.random.default_rng(seed)
    X = tc.tensor(rng.normal(size=(n, 4)), dtype=tc.float32, device=device)
    y = tc.tensor(rng.integers(0, 3, size=n), device=device)
    return X, y


def loaders(device):
    X, y = data(device)
    Xv, yv = data(device, n=9, seed=1)
    train = DataLoader(TensorDataset(X, y), batch_size=BATCH, shuffle=True,
                       generator=tc.Generator().manual_seed(3))
    return train, DataLoader(TensorDataset(Xv, yv), batch_size=4)


def build(device, kind):
    """A seeded model, its optimizer and scheduler: ``kind`` picks the setup."""
    tc.manual_seed(0)
    if kind == "dropout-batchnorm":
        model = nn.Sequential(nn.Linear(4, 16, device=device), nn.BatchNorm1d(16, device=device),
                              nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3, device=device))
    else:
        model = nn.Sequential(nn.Linear(4, 16, device=device), nn.ReLU(),
                              nn.Linear(16, 3, device=device))
    if kind == "adam":
        return model, tc.optim.Adam(model.parameters(), lr=0.01), None
    opt = tc.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt, StepLR(opt, step_size=2, gamma=0.5)


def state(model):
    """Every parameter and buffer on the host."""
    return {name: to_numpy(value) for name, value in model.state_dict().items()}


def assert_same_run(device, run_a, run_b):
    """Equal histories (all but the wall-clock seconds) and equal final parameters and
    buffers of two ``(history, state)`` runs: bit for bit on the CPU; on cuda within the GPU
    suite's tolerances."""
    (history_a, state_a), (history_b, state_b) = run_a, run_b
    keys = [k for k in history_a.keys() if k != "seconds"]
    assert keys == [k for k in history_b.keys() if k != "seconds"]
    assert state_a.keys() == state_b.keys()
    if device == "cpu":
        for key in keys:
            assert history_a[key] == history_b[key], key
        for name in state_a:
            assert np.array_equal(state_a[name], state_b[name]), name
    else:
        for key in keys:
            np.testing.assert_allclose(history_a[key], history_b[key], rtol=1e-4, atol=1e-5)
        for name in state_a:
            np.testing.assert_allclose(state_a[name], state_b[name], rtol=1e-4, atol=1e-5)


def run_fit(device, kind, compile):
    model, opt, scheduler = build(device, kind)
    start = state(model)
    train, val = loaders(device)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=EPOCHS,
                  metrics=["accuracy"], scheduler=scheduler, progress=False, compile=compile)
    final = state(model)
    assert any(not np.array_equal(start[k], final[k]) for k in start)  # it trained
    return history, final


@pytest.fixture
def compile_calls(monkeypatch):
    """Every ``tc.compiler.compile`` call the training layer makes: the compiled functions."""
    made = []
    original = tc.compiler.compile

    def counting(fn=None, **options):
        compiled = original(fn, **options)
        made.append(compiled)
        return compiled

    monkeypatch.setattr(tc.compiler, "compile", counting)
    return made


# -- fit and Trainer ------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sgd-momentum-steplr", "adam", "dropout-batchnorm"])
def test_fit_compiled_equals_eager(device, kind):
    eager = run_fit(device, kind, compile=False)
    compiled = run_fit(device, kind, compile=True)
    assert_same_run(device, eager, compiled)
    if kind == "sgd-momentum-steplr":  # the scheduler's rates reach the compiled step
        assert compiled[0]["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_fit_makes_one_compiled_step_and_reuses_it(device, compile_calls):
    run_fit(device, "adam", compile=True)
    assert len(compile_calls) == 1
    # every training batch of every epoch went through it (validation does not)
    assert sum(compile_calls[0].stats.values()) == EPOCHS * BATCHES
    run_fit(device, "adam", compile=False)
    assert len(compile_calls) == 1  # compile=False never compiles


@pytest.mark.parametrize("kind", ["sgd-momentum-steplr", "adam"])
def test_trainer_compiled_equals_eager(device, kind):
    runs = []
    for compile in (False, True):
        model, opt, scheduler = build(device, kind)
        trainer = Trainer(model, nn.CrossEntropyLoss(), opt, metrics=["accuracy"],
                          scheduler=scheduler, compile=compile)
        history = trainer.fit(*loaders(device), epochs=EPOCHS, progress=False)
        runs.append((history, state(model), trainer.train_step))
    (h_eager, s_eager, step_eager), (h_comp, s_comp, step_comp) = runs
    assert_same_run(device, (h_eager, s_eager), (h_comp, s_comp))
    assert not isinstance(step_eager, tc.compiler.CompiledFunction)
    assert isinstance(step_comp, tc.compiler.CompiledFunction)
    assert sum(step_comp.stats.values()) == EPOCHS * BATCHES


def test_trainer_makes_a_new_step_per_fit(device):
    model, opt, _ = build(device, "adam")
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt)
    assert trainer.train_step is None
    trainer.fit(loaders(device)[0], epochs=1, progress=False)
    first = trainer.train_step
    trainer.fit(loaders(device)[0], epochs=2, progress=False)
    assert trainer.train_step is not first
    assert sum(first.stats.values()) == BATCHES
    assert sum(trainer.train_step.stats.values()) == 2 * BATCHES


def test_train_step_is_one_batch_of_training(device):
    # the step alone: the loss of the batch before the update, then one Adam update
    X, y = data(device)
    for compile in (False, True):
        model, opt, _ = build(device, "adam")
        before = state(model)
        with tc.no_grad():
            expected = to_numpy(nn.functional.cross_entropy(model(X[:BATCH]), y[:BATCH]))
        step = make_train_step(model, nn.CrossEntropyLoss(), opt, compile=compile)
        loss = step(X[:BATCH], y[:BATCH])
        assert not loss.requires_grad and loss.shape == ()
        np.testing.assert_allclose(to_numpy(loss), expected, rtol=1e-6)
        after = state(model)
        assert all(not np.array_equal(before[k], after[k]) for k in before)


# -- cross-validation and searches ----------------------------------------------------------------
def fit_and_score_with(compile):
    def fit_and_score(X_tr, y_tr, X_te, y_te):
        tc.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8, device=X_tr.device), nn.ReLU(),
                              nn.Linear(8, 3, device=X_tr.device))
        train = DataLoader(TensorDataset(X_tr, y_tr), batch_size=BATCH, shuffle=True,
                           generator=tc.Generator().manual_seed(1))
        fit(model, nn.CrossEntropyLoss(), tc.optim.Adam(model.parameters(), lr=0.05), train,
            epochs=3, progress=False, compile=compile)
        with tc.no_grad():
            return nn.functional.cross_entropy(model(X_te), y_te).item()

    return fit_and_score


def test_cross_validate_compiled_equals_eager(device):
    X, y = data(device, n=30)
    eager = cross_validate(fit_and_score_with(False), X, y, cv=3)
    compiled = cross_validate(fit_and_score_with(True), X, y, cv=3)
    if device == "cpu":
        assert compiled.scores == eager.scores
    else:
        assert compiled.scores == pytest.approx(eager.scores, rel=1e-4)
    assert len(set(eager.scores)) == 3


def test_grid_search_compiled_equals_eager(device):
    X, y = data(device, n=30)

    def evaluate_with(compile):
        def evaluate(config):
            tc.manual_seed(0)
            model = nn.Linear(4, 3, device=device)
            train = DataLoader(TensorDataset(X, y), batch_size=BATCH)
            history = fit(model, nn.CrossEntropyLoss(),
                          tc.optim.SGD(model.parameters(), lr=config["lr"], momentum=0.9),
                          train, epochs=3, progress=False, compile=compile)
            return -history["train_loss"][-1]
        return evaluate

    grid = {"lr": [0.01, 0.1, 0.3]}
    eager, compiled = (grid_search(grid, evaluate_with(c)) for c in (False, True))
    scores = [[r["score"] for r in s.results] for s in (eager, compiled)]
    if device == "cpu":
        assert scores[0] == scores[1]
    else:
        assert scores[1] == pytest.approx(scores[0], rel=1e-4)
    assert [r["params"] for r in eager.results] == [r["params"] for r in compiled.results]


@pytest.mark.parametrize("cv", [None, 3])
def test_experiment_routes_compile_to_every_training_run(cv, compile_calls):
    # the search's runs (per config, or per fold with cv) and the final retraining
    results = {}
    for compile in (False, True):
        config = ExperimentConfig(dataset="iris", epochs=2, trials=2, cv=cv, quiet=True,
                                  compile=compile)
        results[compile] = run_experiment(config, log=lambda *a: None)
    assert len(compile_calls) == 2 * (cv or 1) + 1
    eager, compiled = results[False].report, results[True].report
    assert eager["config"]["compile"] is False and compiled["config"]["compile"] is True
    assert ([r["score"] for r in eager["search"]["results"]]
            == [r["score"] for r in compiled["search"]["results"]])
    assert eager["history"] == {**compiled["history"], "seconds": eager["history"]["seconds"]}
    assert eager["test_metrics"] == compiled["test_metrics"]


# -- the command line -----------------------------------------------------------------------------
def test_no_compile_flag_in_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--no-compile" in help_text and "tc.compile" in help_text


def test_no_compile_runs_as_a_subprocess(tmp_path):
    done = run_cli(*TINY, "--no-compile", "--quiet", "--out", "run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "training step eager" in done.stdout
    report = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    assert report["config"]["compile"] is False


def test_train_with_and_without_compile_same_results(tmp_path, capsys):
    reports = {}
    for name, extra in (("compiled", []), ("eager", ["--no-compile"])):
        assert main([*TINY, "--quiet", "--out", str(tmp_path / name), *extra]) == 0
        reports[name] = json.loads((tmp_path / name / "report.json").read_text("utf-8"))
    out = capsys.readouterr().out
    assert "training step compiled" in out and "training step eager" in out
    assert reports["compiled"]["config"]["compile"] is True
    assert reports["compiled"]["test_metrics"] == reports["eager"]["test_metrics"]
    assert (reports["compiled"]["history"]["train_loss"]
            == reports["eager"]["history"]["train_loss"])
