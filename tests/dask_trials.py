"""Trial functions for the Dask runner tests, in a module the worker processes import.

Each records where it ran in a folder (``marks``), so a test can see which worker process
ran a trial and whether a trial ran twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def need_distributed():
    """Import dask's distributed; a skip where it is missing, except in CI (``CI=true``),
    where the cluster tests must run."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        import distributed  # noqa: F401  (an ImportError fails the module in CI)
        return
    pytest.importorskip("distributed")


@contextlib.contextmanager
def dask_cli_cluster(folder: Path, n_workers: int = 1):
    """``dask scheduler`` and ``dask worker`` started as separate processes, as on a cluster
    of machines (through ``python -m`` so that this Python runs them); yields the address."""
    scheduler_file = Path(folder) / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--scheduler-file", str(scheduler_file), "--port", "0",
                               "--dashboard-address", ":0"], **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
             "--nworkers", str(n_workers)], **quiet))
        from distributed import Client

        with Client(address, timeout=30) as client:  # the workers have joined: ready
            client.wait_for_workers(n_workers, timeout=120)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class SlowParabola:
    """``-(a - 2)**2 - (b + 1)**2`` after ``seconds`` of sleep; marks ``<a>_<b>.<pid>``."""

    def __init__(self, marks: str | os.PathLike | None = None, seconds: float = 0.0) -> None:
        self.marks, self.seconds = marks, seconds

    def __call__(self, config: dict) -> dict:
        if self.marks is not None:
            Path(self.marks, f"{config['a']}_{config['b']}.{os.getpid()}").touch()
        time.sleep(self.seconds)
        return {"score": -(config["a"] - 2) ** 2 - (config["b"] + 1) ** 2, "pid": os.getpid()}


class FailsOn:
    """A score of ``a``, or a ValueError for ``a == bad``."""

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def __call__(self, config: dict) -> float:
        if config["a"] == self.bad:
            raise ValueError(f"a={self.bad} is the broken config")
        return float(config["a"])


def identity(config):
    return config


class CountsUnpickling:
    """A score of ``a``; every time a process unpickles it, a mark ``<pid>.<n>`` is left in
    ``marks`` (a stand-in for an objective holding a data set: how often is it sent?)."""

    def __init__(self, marks: str | os.PathLike) -> None:
        self.marks = str(marks)
        self.data = bytes(100_000)

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        n = len(list(Path(self.marks).glob(f"{os.getpid()}.*")))
        Path(self.marks, f"{os.getpid()}.{n}").touch()

    def __call__(self, config: dict) -> float:
        return float(config["a"])


class KillsItsWorker:
    """A score of ``a``; the config with ``a == bad`` ends its worker process outright."""

    def __init__(self, bad: int) -> None:
        self.bad = bad

    def __call__(self, config: dict) -> float:
        if config["a"] == self.bad:
            os._exit(1)
        return float(config["a"])


def where_tensors_go(config):
    """The device a new tensor lands on in the trial's process, and the GPUs it sees."""
    import tensorcore as tc

    return {"score": float(config["a"]), "device": str(tc.zeros(1).device),
            "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}


def kill_once_journaled(argv: list[str], journal: Path, records: int) -> int:
    """Start ``argv``, kill it outright (SIGKILL) once ``journal`` holds ``records`` trials,
    and return how many trials the journal kept."""
    import signal

    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and len(journal.read_text().splitlines()) >= 1 + records:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    return len(journal.read_text().splitlines()) - 1
