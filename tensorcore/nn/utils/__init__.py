"""(filled in by the learning toolkit)."""
