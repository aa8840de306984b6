"""``tensorcore train``: tune, retrain and test an MLP on a bundled dataset, then report.

The job itself is ``tensorcore.training.experiment.run_experiment``; this module parses the
options, checks that ``--out`` can be written (before any work), prints the summary
(``tensorcore.training.report``) and writes ``report.json`` and the PNG plots into ``--out``.
Bad settings (``--cv 1``, more folds than samples, an unknown dataset, an ``--out`` that
cannot be written) exit with status 2 and one line naming the problem; outputs that cannot
be written at the end (a full disk) exit with status 1, the report saved elsewhere.

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="tensorcore")
>>> _ = add_train_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["train", "--dataset", "iris", "--cv", "3"])
>>> args.dataset, args.cv, args.search, args.out, args.compile
('iris', 3, 'grid', 'tensorcore-run', True)
>>> parser.parse_args(["train", "--no-compile"]).compile
False
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

from ..datasets import LOADERS
from ..training.experiment import ConfigError, ExperimentConfig, load_splits, run_experiment
from ..training.journal import JOURNAL_NAME
from ..training.report import format_summary, save_report_elsewhere, write_outputs
from ..training.runners import TrialError
from .options import (
    add_device_options,
    int_range,
    nonnegative_int,
    positive_int,
    prepare_out_dir,
    remove_if_empty,
    seed_int,
    select_device,
)

__all__ = ["add_train_parser", "run_train"]

DEFAULTS = ExperimentConfig()


def add_train_parser(sub) -> argparse.ArgumentParser:
    """Add the ``train`` subcommand to an argparse subparsers object; returns its parser."""
    p = sub.add_parser(
        "train", help="tune, train and test an MLP on a bundled dataset (digits by default)",
        description="Split a bundled dataset into train / validation / test parts "
                    "(stratified), tune hidden size, learning rate and weight decay of an "
                    "MLP on the validation accuracy (or K-fold CV), retrain the best config "
                    "with early stopping, and report accuracy, macro precision / recall / F1 "
                    "and the confusion matrix on the test split. Writes report.json and PNG "
                    "plots to --out.")
    p.add_argument("--dataset", default=DEFAULTS.dataset, choices=sorted(LOADERS),
                   help=f"bundled dataset (default: {DEFAULTS.dataset})")
    add_device_options(p)
    p.add_argument("--epochs", type=positive_int, default=DEFAULTS.epochs,
                   help=f"most epochs per training run; early stopping on the validation loss "
                        f"usually ends runs sooner (default: {DEFAULTS.epochs})")
    p.add_argument("--cv", type=int_range(2), default=None, metavar="K",
                   help="score each config by stratified K-fold cross-validation on train + "
                        "validation instead of the validation split")
    p.add_argument("--search", choices=("grid", "random", "halving"), default=DEFAULTS.search,
                   help="grid: hidden x lr x weight decay (12 configs); random: draws from "
                        "wider ranges; halving: the grid by successive halving, all configs "
                        "on a few epochs, the best third on 3x the epochs, ... "
                        "(default: grid)")
    p.add_argument("--trials", type=positive_int, default=None,
                   help="configs to try: random draws N (default 12); grid tries N of its "
                        "points at random when N is smaller than the grid")
    p.add_argument("--batch-size", type=positive_int, default=DEFAULTS.batch_size,
                   help=f"mini-batch size (default: {DEFAULTS.batch_size})")
    p.add_argument("--patience", type=nonnegative_int, default=DEFAULTS.patience,
                   help=f"early-stopping patience in epochs (default: {DEFAULTS.patience})")
    p.add_argument("--out", default=DEFAULTS.out,
                   help=f"directory for report.json and the plots (default: ./{DEFAULTS.out})")
    p.add_argument("--seed", type=seed_int, default=DEFAULTS.seed,
                   help="seed of the split, the folds, the weights and the shuffling, 0 to "
                        f"2**32 - 1 (default: {DEFAULTS.seed})")
    p.add_argument("--no-compile", dest="compile", action="store_false",
                   help="run every training step eagerly instead of compiling it with "
                        "tc.compile (compiled by default; a step that cannot be compiled "
                        "runs eagerly either way); recorded in report.json")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None, metavar="N",
                       help="run the search's trials on an embedded Dask cluster of N worker "
                            "processes (one thread each; one GPU each with --device cuda); "
                            "needs the distributed extra")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run the trials on the Dask cluster whose scheduler is at ADDRESS "
                            "(e.g. tcp://host:8786, started with 'dask scheduler')")
    p.add_argument("--resume", action="store_true",
                   help="skip the trials recorded in --out's trials.jsonl by an earlier run of "
                        "the same search (every finished trial is recorded there)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bars or progress lines: only the final summary")
    p.set_defaults(func=run_train, parser=p)
    return p


def _one_line_warnings(prog: str):
    """A ``warnings.showwarning`` that prints ``prog: warning: message`` (a command's
    warnings are one line each, as its errors are)."""
    def show(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"{prog}: warning: {message}", file=sys.stderr)

    return show


def run_train(args) -> int:
    """Run the job for parsed ``args``; the exit status."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(warnings.catch_warnings())
        warnings.showwarning = _one_line_warnings(args.parser.prog)
        dev = select_device(args, stack)
        try:  # before any work: the outputs must have somewhere to go
            made = prepare_out_dir(args.out)
        except OSError as e:
            args.parser.error(f"argument --out: cannot write to {args.out!r}: "
                              f"{_reason(e, args.out)}")
        stack.callback(remove_if_empty, made)  # a run that stops early leaves no empty dirs
        config = ExperimentConfig(
            dataset=args.dataset, device=str(dev), epochs=args.epochs, cv=args.cv,
            search=args.search, trials=args.trials, out=args.out, seed=args.seed,
            batch_size=args.batch_size, patience=args.patience, quiet=args.quiet,
            compile=args.compile, workers=args.workers, scheduler=args.scheduler,
            resume=args.resume)
        log = (lambda *a, **k: None) if args.quiet else print
        log(f"tensorcore train: dataset {config.dataset}, device {dev}, seed {config.seed}")
        journal = Path(config.out) / JOURNAL_NAME
        try:
            splits = load_splits(config.check(), dev)
            result = run_experiment(config, splits, log=log, journal=journal)
        except ConfigError as e:
            args.parser.error(str(e))
        except TrialError as e:  # the others' results are journaled
            print(f"{args.parser.prog}: error: {e}\nthe trials that finished are in "
                  f"{journal}: rerun with --resume to run only the others", file=sys.stderr)
            return 1
        print(format_summary(result.report))
        try:
            files = write_outputs(result, config.out)
        except OSError as e:
            saved = save_report_elsewhere(result.report)
            kept = (f"the report was saved to {saved} instead" if saved
                    else "the summary above has the results")
            print(f"{args.parser.prog}: error: cannot write the outputs to {config.out!r}: "
                  f"{_reason(e, config.out)}; {kept}", file=sys.stderr)
            return 1
        print(f"wrote {', '.join(files.values())}")
    return 0


def _reason(e: OSError, path) -> str:
    """An OSError in words: its strerror, with the file it concerns unless that is ``path``."""
    if e.strerror is None:
        return str(e)
    if e.filename is None or str(e.filename) == str(path):
        return e.strerror
    return f"{e.strerror} ({e.filename})"
