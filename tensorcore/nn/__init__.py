"""Neural-network building blocks (``functional`` for now)."""

from . import functional

__all__ = ["functional"]
