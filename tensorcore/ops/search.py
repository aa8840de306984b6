"""(being written)"""

from __future__ import annotations

TENSOR_METHODS: list[str] = []
__all__: list[str] = []
