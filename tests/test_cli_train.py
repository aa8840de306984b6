"""``tensorcore train`` end to end on a tiny budget, through main() and python -m."""

from __future__ import annotations

import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
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
    done = run_cli(*TINY, "--out", "run", cwd=tmp_path)
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
    (["--cv", "1"], "argument --cv: must be an integer >= 2, got 1"),
    (["--cv", "500"], "n_splits=500 greater than the number of samples: n_samples=120"),
    (["--cv", "50"], "--cv 50"),                        # iris classes have 40 dev samples
    (["--trials", "0"], "argument --trials: must be a positive integer, got 0"),
    (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
    (["--epochs", "-2"], "argument --epochs: must be a positive integer, got -2"),
    (["--batch-size", "0"], "argument --batch-size: must be a positive integer, got 0"),
    (["--patience", "-1"], "argument --patience: must be an integer >= 0, got -1"),
    (["--patience", "2.5"], "argument --patience: must be an integer >= 0, got '2.5'"),
    (["--seed", "-5"], "argument --seed: must be an integer from 0 to 4294967295, got -5"),
    (["--seed", "4294967296"], "from 0 to 4294967295, got 4294967296"),
    (["--search", "bayes"], "invalid choice: 'bayes'"),
])
def test_bad_input_exits_with_one_line(extra, message, tmp_path, capsys):
    out_dir = tmp_path / "run"
    with pytest.raises(SystemExit) as exc:
        main([*TINY, "--out", str(out_dir), "--quiet", *extra])
    assert exc.value.code == 2
    out = capsys.readouterr()
    assert message in out.err
    assert out.err.count("\n") == 1 and out.err.startswith("tensorcore train: error: ")
    if extra[0] == "--dataset":
        assert all(name in out.err for name in ("breast_cancer", "digits", "iris", "wine"))
    assert not out_dir.exists()                    # nothing written, not even the directory


def unwritable_outs(tmp_path):
    """``--out`` values no one can write to, root included (chmod does not stop root)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    return {"a file": (a_file, "it is a file, not a directory"),
            "under a file": (a_file / "run", "Not a directory"),
            "in /proc": (Path("/proc/tensorcore-run"), "No such file or directory")}


@pytest.mark.parametrize("case", ["a file", "under a file", "in /proc"])
def test_unwritable_out_fails_before_training(case, tmp_path, capsys, monkeypatch):
    import tensorcore.cli.train as cli_train

    def no_training(*args, **kwargs):
        raise AssertionError("trained although --out cannot be written")

    monkeypatch.setattr(cli_train, "run_experiment", no_training)
    path, reason = unwritable_outs(tmp_path)[case]
    if case == "in /proc" and not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    with pytest.raises(SystemExit) as exc:
        main([*TINY, "--out", str(path), "--quiet"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"tensorcore train: error: argument --out: cannot write to '{path}': {reason}" in err


def run_cli(*argv, cwd):
    """``python -m tensorcore ARGV`` in a fresh interpreter importing this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "tensorcore", *argv], capture_output=True,
                          text=True, timeout=300, cwd=cwd, env=env)


@pytest.mark.parametrize("extra", [
    ["--seed", "-5"], ["--seed", "4294967296"], ["--cv", "1"], ["--out", "a-file/run"],
])
def test_python_dash_m_bad_argument_is_one_line(extra, tmp_path):
    (tmp_path / "a-file").write_text("x")
    done = run_cli(*TINY, "--quiet", *extra, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "tensorcore train: error: argument --" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "tensorcore-run").exists()


@pytest.fixture
def own_tempdir(tmp_path, monkeypatch):
    """The temporary directory (where a report that --out refused is saved) in tmp_path."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setenv("TMPDIR", str(path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    yield path
    tempfile.tempdir = None                          # forget the test's directory


def test_outputs_that_cannot_be_written_keep_the_results(tmp_path, capsys, monkeypatch,
                                                         own_tempdir):
    # the run computes its results, then --out becomes unwritable (here: replaced by a file)
    import tensorcore.cli.train as cli_train

    out_dir = tmp_path / "run"
    real_run = cli_train.run_experiment

    def run_then_break_out(*args, **kwargs):
        result = real_run(*args, **kwargs)
        shutil.rmtree(out_dir)  # with the journal of the search's trials
        out_dir.write_text("in the way")
        return result

    monkeypatch.setattr(cli_train, "run_experiment", run_then_break_out)
    assert main([*TINY, "--out", str(out_dir), "--quiet"]) == 1
    out = capsys.readouterr()
    assert "test split:" in out.out                # the summary was printed
    assert out.err.count("\n") == 1
    assert out.err.startswith(f"tensorcore train: error: cannot write the outputs to "
                              f"'{out_dir}': Not a directory")
    saved = out.err.rstrip().rsplit("the report was saved to ", 1)[1].removesuffix(" instead")
    assert Path(saved).parent == own_tempdir
    report = json.loads(Path(saved).read_text(encoding="utf-8"))
    assert report["test_metrics"]["confusion_matrix"] and report["best_params"]
    assert out_dir.read_text() == "in the way"


def test_out_dir_removed_during_the_run_is_made_again(tmp_path, capsys, monkeypatch):
    import tensorcore.cli.train as cli_train

    out_dir = tmp_path / "deep" / "run"
    real_run = cli_train.run_experiment

    def run_then_remove_out(*args, **kwargs):
        result = real_run(*args, **kwargs)
        shutil.rmtree(out_dir.parent)  # with the journal of the search's trials
        return result

    monkeypatch.setattr(cli_train, "run_experiment", run_then_remove_out)
    assert main([*TINY, "--out", str(out_dir), "--quiet"]) == 0
    capsys.readouterr()
    check_report(read_report(out_dir), out_dir, n_configs=2)


def test_a_failed_write_leaves_the_previous_report_whole(tmp_path, capsys, monkeypatch,
                                                        own_tempdir):
    # the report is written atomically: a write that fails half-way (a full disk) leaves the
    # previous report.json as it was, and no temporary file behind (nor a half-written copy
    # in the temporary directory, on the same full disk)
    assert main([*TINY, "--out", str(tmp_path), "--quiet"]) == 0
    capsys.readouterr()
    before = (tmp_path / "report.json").read_bytes()
    import tensorcore.training.plots as plots

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plots.os, "fdopen",
                        lambda fd, mode, **kw: FullDisk(real_fdopen(fd, mode, **kw)))
    assert main([*TINY, "--out", str(tmp_path), "--quiet", "--seed", "3"]) == 1
    err = capsys.readouterr().err
    # the journal of trials cannot be written either: a warning, and the search goes on
    warning, err = err.split("\n", 1)
    assert warning.startswith("tensorcore train: warning: cannot write the trial journal")
    assert "No space left on device" in err and err.count("\n") == 1
    assert (tmp_path / "report.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["report.json", "learning_curves.png", "search.png", "trials.jsonl", own_tempdir.name])
    assert err.rstrip().endswith("; the summary above has the results")
    assert list(own_tempdir.iterdir()) == []


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
