"""Options shared by the subcommands: device and backend selection, positive numbers.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> _ = parser.add_argument("--epochs", type=positive(int))
>>> parser.parse_args(["--epochs", "3"]).epochs
3
"""

from __future__ import annotations

import argparse
import contextlib

import tensorcore as tc

__all__ = ["add_device_options", "positive", "select_device"]


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


def positive(kind, minimum=None):
    """An argparse type: ``kind(text)``, which must be > 0 (or >= ``minimum``)."""
    def parse(text: str):
        value = kind(text)
        if minimum is None and not value > 0:  # "not >": nan is refused too
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        if minimum is not None and not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error messages
    return parse
