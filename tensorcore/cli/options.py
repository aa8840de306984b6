"""What the subcommands share: the parser class, the checked number types, the device and
backend options and the output directory check.

Every number a subcommand takes is parsed by one of the argparse types below, so a bad
value stops the command while its arguments are read, before any work, with one line
naming the option (``Parser.error``) and exit status 2:

>>> parser = Parser(prog="tensorcore demo")
>>> _ = parser.add_argument("--epochs", type=positive_int)
>>> _ = parser.add_argument("--lr", type=finite_positive_float)
>>> _ = parser.add_argument("--seed", type=seed_int)
>>> parser.parse_args(["--epochs", "3", "--lr", "0.5", "--seed", "7"])
Namespace(epochs=3, lr=0.5, seed=7)
>>> seed_int("-5")
Traceback (most recent call last):
argparse.ArgumentTypeError: must be an integer from 0 to 4294967295, got -5
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import tempfile
from pathlib import Path

import tensorcore as tc

__all__ = ["MAX_SEED", "Parser", "add_device_options", "finite_positive_float", "int_range",
           "nonnegative_int", "positive_int", "prepare_out_dir", "remove_if_empty",
           "seed_int", "select_device"]

# the largest seed every seeded part of a run accepts (NumPy's legacy RandomState, which
# the dataset splits use, takes 32-bit seeds)
MAX_SEED = 2**32 - 1


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``prog: error: message`` (argparse
    prints the usage first), then exit status 2. Subparsers are of this class too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# -- number types ---------------------------------------------------------------------------------
def int_range(low: int, high: int | None = None):
    """An argparse type: an integer in ``[low, high]`` (no upper bound when None)."""
    if high is not None:
        wanted = f"an integer from {low} to {high}"
    else:
        wanted = "a positive integer" if low == 1 else f"an integer >= {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    parse.__name__ = f"int_range({low}, {high})"
    return parse


positive_int = int_range(1)
nonnegative_int = int_range(0)
seed_int = int_range(0, MAX_SEED)


def finite_positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (not nan, not inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


# -- device ---------------------------------------------------------------------------------------
def select_device(args, stack: contextlib.ExitStack):
    """The device from ``--device`` (default: TENSORCORE_DEVICE or cpu), with ``--backend``
    chosen for its device type for the rest of the command."""
    try:
        dev = tc.device(args.device) if args.device else tc.get_default_device()
        if args.backend:
            stack.enter_context(tc.backends.use_backend(args.backend, dev.type))
        tc.backends.get_backend(dev)  # fails now, with the reason, if unusable
    except (RuntimeError, ValueError, TypeError) as e:
        args.parser.error(str(e))
    return dev


def add_device_options(p: argparse.ArgumentParser) -> None:
    """``--device`` and ``--backend``."""
    p.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: $TENSORCORE_DEVICE, else cpu)")
    p.add_argument("--backend", default=None,
                   help="implementation for that device type, e.g. numba or numpy on cpu "
                        "(default: $TENSORCORE_BACKEND, else numba on cpu, cupy on cuda)")


# -- output directory -----------------------------------------------------------------------------
def prepare_out_dir(path) -> list[Path]:
    """Make the directory ``path`` (and its missing parents) and check that a file can be
    created in it, as the outputs will be; an ``OSError`` naming the reason otherwise.
    Returns the directories it made, deepest first (for ``remove_if_empty``)."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it is a file, not a directory", str(out))
    made = [p for p in (out, *out.parents) if not p.exists()]
    out.mkdir(parents=True, exist_ok=True)
    fd, probe = tempfile.mkstemp(dir=out, prefix=".tensorcore-probe-")
    os.close(fd)
    os.unlink(probe)
    return made


def remove_if_empty(dirs: list[Path]) -> None:
    """Remove the directories (deepest first) that are still empty: those a command made
    for outputs it did not write."""
    for d in dirs:
        try:
            d.rmdir()
        except OSError:
            return
