"""Op tables: (being written)."""

from __future__ import annotations

OPS: list = []
