"""Devices: ``tensorcore.device("cuda:1")`` names where a tensor's memory lives.

>>> import tensorcore as tc
>>> tc.device("cuda:1").index, tc.device("cpu")
(1, device(type='cpu'))
"""

from __future__ import annotations


class device:
    """A device type (``"cpu"`` or ``"cuda"``) and an optional index."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | device, index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device() expects a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, _, idx = spec.partition(":")
        if idx:
            if index is not None:
                raise ValueError(f"device {spec!r} already has an index; got index={index} too")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: {spec!r}")
            index = int(idx)
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: "
                               f"{spec!r}")
        if kind == "cpu" and index not in (None, 0):
            raise RuntimeError(f"cpu device index must be 0, got {index}")
        self.type = kind
        self.index = index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return (isinstance(other, device) and self.type == other.type
                and (self.index or 0) == (other.index or 0))

    def __hash__(self) -> int:
        return hash((self.type, self.index or 0))

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"
