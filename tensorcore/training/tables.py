"""Plain-text tables for reports: aligned columns, numbers right-aligned.

>>> from tensorcore.training.tables import format_table
>>> print(format_table(["name", "score"], [["a", 0.5], ["bb", 0.25]]))
name   score
----  ------
a     0.5000
bb    0.2500
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

__all__ = ["format_cell", "format_table"]


def format_cell(value, digits: int = 4) -> str:
    """Floats with ``digits`` decimals (``%g`` for very large or small ones), the rest as str."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 10 ** -digits):
            return f"{v:.{digits}g}"
        return f"{v:.{digits}f}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence], digits: int = 4) -> str:
    """A header line, a rule, one line per row; numeric columns are right-aligned."""
    cells = [[format_cell(v, digits) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} headers: {row}")
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(row[i], numbers.Number) for row in rows)
               for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, cells)])
