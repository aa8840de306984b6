"""The ``TENSORCORE_*`` environment variables read when tensorcore is imported: a value that
names nothing usable stops the import with one error naming the variable, its value and
what it may be (``InvalidEnvironmentVariable``, a ValueError), never a traceback through
the parser that found it.

>>> parse_variable("TENSORCORE_X", float, "a number", {"TENSORCORE_X": " 7 "})
7.0
>>> try:
...     parse_variable("TENSORCORE_X", float, "a number", {"TENSORCORE_X": "x"})
... except ValueError as e:
...     print(e)
TENSORCORE_X='x': could not convert string to float: 'x'; expected a number (or unset it)
"""

from __future__ import annotations

import os
import sys

_hook = None  # the excepthook report_uncaught_briefly installed


class InvalidEnvironmentVariable(ValueError):
    """A ``TENSORCORE_*`` variable whose value tensorcore cannot use."""


def parse_variable(name: str, parse, allowed: str, environ=os.environ):
    """``parse`` of the variable's value (stripped, lower case); None where it is unset or
    blank. A ValueError / RuntimeError / TypeError from ``parse`` (its message, if any, says
    what is wrong) becomes an ``InvalidEnvironmentVariable`` that also says ``allowed``."""
    value = environ.get(name, "")
    if not value.strip():
        return None
    try:
        return parse(value.strip().lower())
    except (ValueError, RuntimeError, TypeError) as e:
        detail = f"{e}; " if str(e) else ""
        raise InvalidEnvironmentVariable(f"{name}={value!r}: {detail}expected {allowed} "
                                         f"(or unset it)") from None


def report_uncaught_briefly() -> None:
    """Show an ``InvalidEnvironmentVariable`` that nothing catches as one line on stderr, not
    a traceback: the fix is in the environment, not in the code that imported tensorcore
    (``python -m tensorcore`` imports the package before its command line can catch
    anything). Called only when the import fails; every other exception is shown by the
    hook that was there before."""
    global _hook
    if _hook is not None and sys.excepthook is _hook:  # a second failed import
        return
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if isinstance(value, InvalidEnvironmentVariable):
            print(f"tensorcore: error: {value}", file=sys.stderr)
        else:
            previous(kind, value, traceback)

    sys.excepthook = _hook = hook
