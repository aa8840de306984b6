"""Fusion (opt-in, ``tc.compile(fn, options={"fuse": True})``): chains of elementwise calls
in a recording become one generated Numba kernel each. Not yet written: ``fuse`` leaves the
recording as it is."""

from __future__ import annotations


def fuse(rec, outputs) -> None:
    """Rewrite ``rec.calls`` in place, replacing fusable chains by one kernel call each."""
