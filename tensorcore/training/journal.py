"""The journal of finished trials, and the pool that runs a search's trials through a runner.

A search that is given a journal (a path, e.g. ``<out>/trials.jsonl``) records every trial
there the moment it finishes: one JSON line per trial with its key, its config, its result,
the worker that ran it and its wall time, after a first line that describes the search.
Re-running the same search with ``resume=True`` reads the journal and runs only the trials
that are not in it; a resumed search returns what an uninterrupted one returns (every
result, journaled or fresh, is the JSON round trip of what the trial returned). Each record
rewrites the file atomically (``tensorcore.utils.atomic``), so a process killed mid-write
leaves the journal as it was before that trial.

A trial's key is a hash of its config (``trial_key``): the same config has the same key in
every run, on every runner.

>>> import os, tempfile
>>> from tensorcore.training.journal import TrialJournal, run_pool
>>> from tensorcore.training import SerialRunner
>>> path = os.path.join(tempfile.mkdtemp(), "trials.jsonl")
>>> square = lambda c: {"score": c["x"] ** 2}
>>> configs = [{"x": 1}, {"x": 2}, {"x": 3}]
>>> run_pool(SerialRunner(), square, configs[:2], journal=TrialJournal(path))
[{'score': 1}, {'score': 4}]
>>> ran = []
>>> def logged(c):
...     ran.append(c["x"])
...     return square(c)
>>> run_pool(SerialRunner(), logged, configs, journal=TrialJournal(path, resume=True))
[{'score': 1}, {'score': 4}, {'score': 9}]
>>> ran                                  # only the trial the journal did not hold
[3]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ..utils.atomic import atomic_write
from .runners import TrialRunner, resolve_runner

__all__ = ["JOURNAL_NAME", "TrialJournal", "open_journal", "run_pool", "trial_key",
           "unique_trial_keys"]

JOURNAL_NAME = "trials.jsonl"  # its name in a run's output directory
_FORMAT = "tensorcore-trials/1"


def _plain(value: Any) -> Any:
    """JSON's stand-in for NumPy scalars and arrays (``json.dumps(default=...)``)."""
    item = getattr(value, "tolist", None)
    if callable(item):
        return item()
    raise TypeError(f"a trial's result must be made of numbers, strings, lists and dicts "
                    f"to be journaled; got {type(value).__name__}: {value!r}")


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_plain, allow_nan=True)


def trial_key(config: Any) -> str:
    """A stable name for a config: 16 hex digits of the SHA-1 of its canonical JSON.

    >>> trial_key({"lr": 0.1, "hidden": 64}) == trial_key({"hidden": 64, "lr": 0.1})
    True
    """
    return hashlib.sha1(_dumps(config).encode("utf-8")).hexdigest()[:16]


def _same(a: Any, b: Any) -> bool:
    """Equal JSON values, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


class TrialJournal:
    """Finished trials of one search, in a JSON-lines file (see the module docstring).

    ``search`` describes the search (JSON-ready: its kind, the settings that change
    results); ``resume=True`` keeps the trials of an existing journal of the same search
    (a ValueError if it describes another), ``resume=False`` starts the file afresh.
    """

    def __init__(self, path: str | os.PathLike, search: dict | None = None,
                 resume: bool = False) -> None:
        self.path = Path(path)
        self.search = json.loads(_dumps(search or {}))
        self.records: dict[str, dict] = {}
        self.failure: OSError | None = None  # the write that failed; later ones are skipped
        if resume and self.path.exists():
            self._load()
        self._write()

    def _load(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != _FORMAT:
            raise ValueError(f"{self.path} is not a tensorcore trial journal (its first line "
                             f"should be {{\"format\": \"{_FORMAT}\", ...}})")
        if not _same(header.get("search"), self.search):
            theirs = header.get("search") or {}
            differ = sorted(k for k in set(theirs) | set(self.search)
                            if not _same(theirs.get(k), self.search.get(k)))
            raise ValueError(f"cannot resume from {self.path}: it records another search "
                             f"(these settings differ: {', '.join(differ)}); start afresh "
                             f"without resume, or write to another directory")
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = json.loads(line)
                self.records[record["key"]] = record
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(f"{self.path}, line {number}: not a trial record "
                                 f"({e})") from None

    def _write(self) -> None:
        """Rewrite the file atomically. A write that fails (a full disk, a directory gone)
        does not stop the search: one RuntimeWarning, and the trials go unrecorded."""
        if self.failure is not None:
            return
        header = _dumps({"format": _FORMAT, "search": self.search})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(self.path, "w", encoding="utf-8") as f:
                f.write(header + "\n")
                for record in self.records.values():
                    f.write(_dumps(record) + "\n")
        except OSError as e:
            self.failure = e
            warnings.warn(f"cannot write the trial journal {self.path}: {e.strerror or e}; "
                          f"the search goes on without recording its trials (a resumed run "
                          f"would run them again)", RuntimeWarning, stacklevel=3)

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def result(self, key: str) -> Any:
        """The journaled result of the trial ``key``."""
        return self.records[key]["result"]

    def record(self, key: str, config: Any, result: Any, info: dict) -> Any:
        """Journal a finished trial (``info``: its worker and wall time); returns the result
        as it will read back (its JSON round trip)."""
        record = json.loads(_dumps({"key": key, "config": config, "result": result,
                                    "worker": info.get("worker"),
                                    "wall_s": info.get("wall_s")}))
        self.records[key] = record
        self._write()
        return record["result"]

    def __repr__(self) -> str:
        return f"TrialJournal({str(self.path)!r}, trials={len(self.records)})"


def open_journal(journal: str | os.PathLike | TrialJournal | None, search: dict,
                 resume: bool) -> TrialJournal | None:
    """``journal`` as a ``TrialJournal`` (a path is opened for ``search``); None stays None,
    and ``resume`` without a journal is a ValueError."""
    if journal is None:
        if resume:
            raise ValueError("resume=True needs a journal: pass journal=PATH (the "
                             "trials.jsonl of the run to resume)")
        return None
    if isinstance(journal, TrialJournal):
        return journal
    if not isinstance(journal, str | os.PathLike):
        raise TypeError(f"journal must be a path or a TrialJournal, got "
                        f"{type(journal).__name__}")
    return TrialJournal(journal, search, resume=resume)


def unique_trial_keys(configs: Sequence[Any], suffixes: Sequence[str] | None = None) -> list[str]:
    """``trial_key`` of each config (plus its suffix); a repeated key gets ``~2``, ``~3``..."""
    keys, seen = [], {}
    for i, config in enumerate(configs):
        key = trial_key(config) + (suffixes[i] if suffixes else "")
        seen[key] = seen.get(key, 0) + 1
        keys.append(key if seen[key] == 1 else f"{key}~{seen[key]}")
    return keys


def run_pool(runner: TrialRunner | None, fn: Callable[[Any], Any], configs: Sequence[Any], *,
             journal: TrialJournal | None = None, key_configs: Sequence[Any] | None = None,
             suffixes: Sequence[str] | None = None, progress=None,
             on_trial: Callable[[str, Any, dict], None] | None = None) -> list:
    """``[fn(c) for c in configs]`` through ``runner``, skipping what ``journal`` holds and
    journaling each trial as it ends.

    ``key_configs`` (default ``configs``) are what the keys hash, with ``suffixes`` appended
    (a fold's trial: its config's key and ``-fold3``). ``progress`` (a tqdm bar) is ticked per
    finished trial; ``on_trial(key, config, info)`` hears of each trial run here.
    """
    runner = resolve_runner(runner)
    configs = list(configs)
    keys = unique_trial_keys(configs if key_configs is None else key_configs, suffixes)
    results: list[Any] = [None] * len(configs)
    todo = []
    for i, key in enumerate(keys):
        if journal is not None and key in journal:
            results[i] = journal.result(key)
        else:
            todo.append(i)
    if progress is not None:
        progress.update(len(configs) - len(todo))

    def finished(j: int, result: Any, info: dict) -> None:
        i = todo[j]
        results[i] = result if journal is None else journal.record(keys[i], configs[i],
                                                                   result, info)
        if on_trial is not None:
            on_trial(keys[i], configs[i], info)
        if progress is not None:
            progress.update(1)

    if todo:
        # a runner that is not a TrialRunner (any object with map) gets the base class's run
        run = runner.run if isinstance(runner, TrialRunner) else partial(TrialRunner.run, runner)
        run(fn, [configs[i] for i in todo], keys=[keys[i] for i in todo], on_result=finished)
    return results
