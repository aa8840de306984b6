"""``tensorcore train --workers N / --scheduler ADDRESS / --resume`` as a user runs it: real
processes, a real embedded cluster, a scheduler and a worker started with dask's command
line, and a run killed mid-search then resumed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dask_trials import dask_cli_cluster, kill_once_journaled, need_distributed  # noqa: E402

need_distributed()
pytestmark = pytest.mark.slow

JOB = ["train", "--dataset", "iris", "--epochs", "4", "--quiet"]


def train(*argv, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tensorcore", *JOB, *argv],
                          capture_output=True, text=True, timeout=300, **kwargs)


def searched(out: Path) -> list:
    report = json.loads((out / "report.json").read_text())
    return [(r["params"], r["score"]) for r in report["search"]["results"]]


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    done = train("--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


def test_workers_give_the_serial_search_and_record_where_trials_ran(serial_run, tmp_path):
    done = train("--workers", "2", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "on Dask (LocalCluster, 2 workers)" in done.stdout
    assert "cluster start" in done.stdout
    assert searched(tmp_path) == searched(serial_run)
    report = json.loads((tmp_path / "report.json").read_text())
    runner = report["runner"]
    assert runner["runner"] == "DaskRunner" and runner["n_workers"] == 2
    assert len(runner["trials"]) == 12
    assert {t["worker"] for t in runner["trials"]} <= set(runner["workers"])
    assert all(t["wall_s"] > 0 for t in runner["trials"])
    assert report["timings"]["cluster_start_s"] > 0
    assert report["config"]["workers"] == 2
    journal = (tmp_path / "trials.jsonl").read_text().splitlines()
    assert len(journal) == 1 + 12


def test_scheduler_started_with_dasks_command_line(serial_run, tmp_path):
    with dask_cli_cluster(tmp_path, n_workers=2) as address:
        done = train("--scheduler", address, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert searched(tmp_path / "out") == searched(serial_run)
    runner = json.loads((tmp_path / "out" / "report.json").read_text())["runner"]
    assert runner["scheduler"] == address and runner["cluster"] == f"scheduler {address}"


def test_a_run_killed_mid_search_resumes_with_the_rest(serial_run, tmp_path):
    out = tmp_path / "run"
    kept = kill_once_journaled([sys.executable, "-m", "tensorcore", *JOB, "--epochs", "30",
                                "--patience", "30", "--out", str(out)],
                               out / "trials.jsonl", records=3)
    assert 3 <= kept < 12, kept
    assert not (out / "report.json").exists()
    done = train("--epochs", "30", "--patience", "30", "--out", str(out), "--resume",
                 "--workers", "2")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())
    assert len(report["runner"]["trials"]) == 12 - kept     # only the trials not journaled
    whole = tmp_path / "whole"
    assert train("--epochs", "30", "--patience", "30", "--out", str(whole)).returncode == 0
    assert searched(out) == searched(whole)
    assert report["best_params"] == json.loads((whole / "report.json").read_text())[
        "best_params"]


def test_resume_refuses_the_journal_of_another_search(serial_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "trials.jsonl").write_text((serial_run / "trials.jsonl").read_text())
    done = train("--epochs", "5", "--out", str(out), "--resume")
    assert done.returncode == 2
    assert "cannot resume" in done.stderr and "epochs" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("argv, message", [
    (["--scheduler", "tcp://127.0.0.1:9"], "no Dask scheduler answered at tcp://127.0.0.1:9"),
    (["--workers", "2", "--scheduler", "tcp://h:1"], "not allowed with argument"),
    (["--workers", "0"], "--workers: must be a positive integer"),
])
def test_bad_cluster_options_are_one_line_errors(argv, message, tmp_path):
    start = time.monotonic()
    done = train(*argv, "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - start < 60
