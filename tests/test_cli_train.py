"""``tensorcore train`` end to end on a tiny budget, through main() and python -m."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.__main__ import main

TINY = ["train", "--dataset", "iris", "--epochs", "2", "--trials", "2"]
REPORT_KEYS = {"config", "dataset", "device", "model", "search", "best_params", "cv", "history",
               "early_stopping", "val_accuracy", "test_metrics", "timings", "files"}


def read_report(out_dir):
    return json.loads((out_dir / "report.json").read_text(encoding="utf-8"))


def check_report(report, out_dir, n_configs: int):
    assert REPORT_KEYS <= set(report)
    assert report["dataset"]["sizes"] == {"train": 90, "val": 30, "test": 30}
    assert len(report["search"]["results"]) == n_configs
    assert report["best_params"] == report["search"]["results"][0]["params"]
    assert set(report["best_params"]) == {"hidden", "lr", "weight_decay"}
    metrics = report["test_metrics"]
    matrix = metrics["confusion_matrix"]
    assert sum(map(sum, matrix)) == 30 and len(matrix) == 3
    assert metrics["accuracy"] == pytest.approx(sum(matrix[i][i] for i in range(3)) / 30)
    # the macro scores follow from the confusion matrix (0 where a class is never predicted)
    cm = np.array(matrix, dtype=float)
    tp = np.diag(cm)
    precision = np.divide(tp, cm.sum(axis=0), out=np.zeros(3), where=cm.sum(axis=0) > 0)
    recall = tp / cm.sum(axis=1)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(3),
                   where=precision + recall > 0)
    assert metrics["precision_macro"] == pytest.approx(precision.mean())
    assert metrics["recall_macro"] == pytest.approx(recall.mean())
    assert metrics["f1_macro"] == pytest.approx(f1.mean())
    assert 1 <= len(report["history"]["epoch"]) <= 2
    for name in report["files"].values():
        assert (out_dir / name).stat().st_size > 0
    assert (out_dir / "learning_curves.png").read_bytes().startswith(b"\x89PNG")


def test_main_runs_and_writes_the_report(tmp_path, capsys):
    assert main([*TINY, "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr()
    assert "test split:" in out.out and "confusion matrix" in out.out
    assert out.err == ""                                   # --quiet: no progress bars
    report = read_report(tmp_path)
    check_report(report, tmp_path, n_configs=2)
    assert report["cv"] is None and "cv_scores" not in report["files"]
    assert report["config"]["dataset"] == "iris" and report["device"]["device"] == "cpu"


def test_python_dash_m_train(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tensorcore", *TINY, "--out", "run"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "wrote" in done.stdout
    check_report(read_report(tmp_path / "run"), tmp_path / "run", n_configs=2)


def test_cross_validation_and_random_search(tmp_path, capsys):
    argv = [*TINY, "--cv", "3", "--search", "random", "--out", str(tmp_path), "--quiet"]
    assert main(argv) == 0
    assert "cross-validation of the best config" in capsys.readouterr().out
    report = read_report(tmp_path)
    check_report(report, tmp_path, n_configs=2)
    assert len(report["cv"]["scores"]) == 3
    best = report["search"]["results"][0]
    assert [fold["score"] for fold in best["folds"]] == report["cv"]["scores"]
    assert best["score"] == pytest.approx(report["cv"]["mean"])
    assert report["files"]["cv_scores"] == "cv_scores.png"


def test_same_seed_same_run(tmp_path, capsys):
    reports = []
    for run in ("a", "b"):
        assert main([*TINY, "--out", str(tmp_path / run), "--quiet", "--seed", "4"]) == 0
        reports.append(read_report(tmp_path / run))
    capsys.readouterr()
    assert reports[0]["test_metrics"] == reports[1]["test_metrics"]
    assert reports[0]["history"]["train_loss"] == reports[1]["history"]["train_loss"]


@pytest.mark.parametrize("extra, message", [
    (["--dataset", "mnist"], "invalid choice: 'mnist' (choose from"),
    (["--cv", "1"], "--cv: must be at least 2, got 1"),
    (["--cv", "500"], "n_splits=500 greater than the number of samples: n_samples=120"),
    (["--cv", "50"], "--cv 50"),                        # iris classes have 40 dev samples
    (["--trials", "0"], "--trials: must be positive"),
    (["--search", "bayes"], "invalid choice: 'bayes'"),
])
def test_bad_input_exits_with_a_message(extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*TINY, "--out", str(tmp_path), "--quiet", *extra])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    if extra[0] == "--dataset":
        assert all(name in err for name in ("breast_cancer", "digits", "iris", "wine"))
    assert not (tmp_path / "report.json").exists()


def test_train_on_each_backend(device, tmp_path, capsys):
    name = tc.backends.get_backend_name(tc.device(device).type)
    assert main([*TINY, "--device", device, "--out", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    report = read_report(tmp_path)
    assert report["device"] == {"device": device, "backend": name}
    check_report(report, tmp_path, n_configs=2)


def test_every_package_is_shipped():
    # a package missing from pyproject's explicit list would be absent from a (non-editable)
    # install, and `tensorcore train` with it
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(root).parts)
             for p in (root / "tensorcore").rglob("__init__.py")}
    assert found <= listed, f"not in pyproject's packages: {sorted(found - listed)}"


def test_cuda_without_gpu_says_why(tmp_path, capsys, real_cuda_backend):
    if tc.cuda.is_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(SystemExit) as exc:
        main([*TINY, "--device", "cuda", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "cannot use device cuda" in capsys.readouterr().err


def test_search_through_a_runner_that_pickles_the_trials(capsys):
    # a process pool pickles what it runs: the progress bar must not travel with the trials
    from tensorcore.training import TrialRunner
    from tensorcore.training.experiment import ExperimentConfig, run_experiment

    class PicklingRunner(TrialRunner):
        def map(self, fn, configs):
            fn = pickle.loads(pickle.dumps(fn))
            return [fn(c) for c in configs]

    config = ExperimentConfig(dataset="iris", epochs=2, trials=2, quiet=False)
    result = run_experiment(config, log=lambda *a: None, runner=PicklingRunner())
    capsys.readouterr()
    assert len(result.search.results) == 2
    assert result.report["best_params"] == result.search.results[0]["params"]
