"""Safe checkpoints: ``save(obj, f)`` and ``load(f, map_location=None)``.

A checkpoint is a NumPy ``.npz`` archive written and read with ``allow_pickle=False``: one
array per tensor plus ``__manifest__``, a JSON document (stored as a uint8 array) that
describes the object's structure (dicts, ``OrderedDict``s and ``Counter``s with their key
types, lists, tuples, str, int, float, bool, None; NumPy scalars are saved as the Python
number of their kind) and each tensor's dtype, shape, device and ``requires_grad``. Loading
never runs code from the file; a truncated, tampered or pickled file raises RuntimeError.

>>> import io
>>> import tensorcore as tc
>>> buf = io.BytesIO()
>>> tc.save({"step": 3, "w": tc.tensor([1.0, 2.0]), "betas": (0.9, 0.999)}, buf)
>>> _ = buf.seek(0)
>>> tc.load(buf)
{'step': 3, 'w': tensor([1., 2.]), 'betas': (0.9, 0.999)}
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from . import _dtype
from ._device import device as Device
from .tensor import Tensor

# The Tensor subclass saved as "parameter": ``nn.Parameter`` registers itself on import (this
# module sits below nn and does not import it).
PARAMETER_TYPE: type = Tensor

__all__ = ["save", "load"]

MAGIC = "tensorcore-checkpoint"
VERSION = 1
MANIFEST = "__manifest__"
_SCALARS = {bool: "bool", int: "int", str: "str"}
_MAPPINGS = {dict: "dict", OrderedDict: "odict", Counter: "counter"}  # e.g. MultiStepLR's
_MAPPING_TYPES = {name: kind for kind, name in _MAPPINGS.items()}


def _name(f) -> str:
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    return str(getattr(f, "name", f"<{type(f).__name__}>"))


# -- saving ------------------------------------------------------------------------------------
class _Encoder:
    """Turns an object into a JSON-safe tree, collecting its tensors (each object once)."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.tensors: list[dict] = []
        self._index: dict[int, int] = {}

    def encode(self, obj, path: str):
        if obj is None:
            return {"t": "none"}
        if type(obj) in _SCALARS:
            return {"t": _SCALARS[type(obj)], "v": obj}
        if isinstance(obj, (np.bool_, np.integer)):
            return self.encode(obj.item(), path)
        if isinstance(obj, (float, np.floating)):  # np.float64 and np.float32 too
            return {"t": "float", "v": float(obj).hex()}  # exact, and nan/inf survive
        if isinstance(obj, Tensor):
            return {"t": "tensor", "i": self._tensor(obj, path)}
        if type(obj) in (list, tuple):
            return {"t": type(obj).__name__,
                    "v": [self.encode(x, f"{path}[{i}]") for i, x in enumerate(obj)]}
        if type(obj) in _MAPPINGS:
            return {"t": _MAPPINGS[type(obj)],
                    "v": [[self.encode(k, f"{path} key {k!r}"), self.encode(v, f"{path}[{k!r}]")]
                          for k, v in obj.items()]}
        raise TypeError(f"tensorcore.save: cannot save {path} of type {type(obj).__name__}; "
                        f"checkpoints hold tensors, dicts, lists, tuples, str, int, float, bool "
                        f"and None")

    def _tensor(self, t: Tensor, path: str) -> int:
        if id(t) in self._index:
            return self._index[id(t)]
        if t.grad_fn is not None:
            t = t.detach()
        key = f"t{len(self.tensors)}"
        self.arrays[key] = np.asarray(t._backend.to_numpy(t._data))
        self.tensors.append({"key": key, "dtype": t.dtype.name, "shape": list(t.shape),
                             "device": str(t.device), "requires_grad": t.requires_grad,
                             "parameter": isinstance(t, PARAMETER_TYPE)})
        self._index[id(t)] = len(self.tensors) - 1
        return self._index[id(t)]


def save(obj, f) -> None:
    """Write ``obj`` (tensors and nested dicts/lists/tuples of tensors and plain scalars) to
    ``f``, a path or a writable binary file object."""
    enc = _Encoder()
    tree = enc.encode(obj, "the object")
    manifest = {"magic": MAGIC, "version": VERSION, "tree": tree, "tensors": enc.tensors}
    blob = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    arrays = {MANIFEST: blob, **enc.arrays}
    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:  # np.savez would append ".npz" to a bare path
            np.savez(fh, allow_pickle=False, **arrays)
    else:
        np.savez(f, allow_pickle=False, **arrays)


# -- loading -----------------------------------------------------------------------------------
class _Bad(Exception):
    """A problem with the file's contents (reported as RuntimeError naming the file)."""


def _read_archive(f) -> tuple[dict, dict]:
    try:
        loaded = np.load(f, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise _Bad("it is a single .npy array, not a tensorcore .npz archive")
        with loaded as archive:
            names = set(archive.files)
            if MANIFEST not in names:
                raise _Bad(f"the archive has no {MANIFEST} entry (not written by "
                           f"tensorcore.save)")
            arrays = {name: archive[name] for name in names}
    except (_Bad, FileNotFoundError):
        raise
    except ValueError as e:  # object arrays / pickled data refused by allow_pickle=False
        raise _Bad(f"its contents are corrupt or could only be read by unpickling, which is "
                   f"never done ({e})") from e
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, zipfile.LargeZipFile) as e:
        raise _Bad(f"it is not a readable .npz archive (truncated or corrupt: {e})") from e
    blob = arrays.pop(MANIFEST)
    if blob.dtype != np.uint8 or blob.ndim != 1:
        raise _Bad(f"{MANIFEST} must be a 1-D uint8 array, got {blob.dtype} of shape "
                   f"{blob.shape}")
    try:
        manifest = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _Bad(f"the manifest is not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or manifest.get("magic") != MAGIC:
        raise _Bad("the manifest has the wrong magic (not a tensorcore checkpoint)")
    if manifest.get("version") != VERSION:
        raise _Bad(f"unsupported checkpoint version {manifest.get('version')!r} (this "
                   f"tensorcore reads version {VERSION})")
    return manifest, arrays


def _map_device(saved: str, map_location):
    if map_location is None:
        return saved
    if isinstance(map_location, dict):
        return map_location.get(saved, saved)
    if callable(map_location) and not isinstance(map_location, (str, Device)):
        raise TypeError("tensorcore.load: map_location must be a device, a device string or a "
                        "dict of device strings (functions are not supported)")
    return map_location


def _build_tensors(manifest: dict, arrays: dict, map_location) -> list[Tensor]:
    specs = manifest.get("tensors")
    if not isinstance(specs, list):
        raise _Bad("the manifest has no tensor list")
    expected = set()
    tensors = []
    for i, spec in enumerate(specs):
        try:
            key, dtype_name, shape = spec["key"], spec["dtype"], tuple(spec["shape"])
            dtype = _dtype._by_name(dtype_name)
            device, requires_grad = spec["device"], bool(spec["requires_grad"])
            parameter = bool(spec.get("parameter", False))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise _Bad(f"tensor entry {i} of the manifest is malformed ({e!r})") from e
        if key not in arrays:
            raise _Bad(f"tensor {key} is listed in the manifest but missing from the archive")
        arr = arrays[key]
        if arr.dtype != dtype.np or arr.shape != shape:
            raise _Bad(f"tensor {key} does not match the manifest: stored {arr.dtype} of shape "
                       f"{list(arr.shape)}, manifest says {dtype_name} of shape {list(shape)}")
        expected.add(key)
        t = Tensor(arr, dtype=dtype, device=_map_device(device, map_location))
        if parameter:
            t = PARAMETER_TYPE(t, requires_grad)
        elif requires_grad:
            t.requires_grad_(True)
        tensors.append(t)
    extra = sorted(set(arrays) - expected)
    if extra:
        raise _Bad(f"the archive has arrays the manifest does not list: {extra}")
    return tensors


def _decode(node, tensors: list[Tensor]):
    if not isinstance(node, dict) or "t" not in node:
        raise _Bad(f"malformed manifest node {node!r:.80}")
    kind, value = node["t"], node.get("v")
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        expected = {"bool": bool, "int": int, "str": str}[kind]
        if type(value) is not expected:
            raise _Bad(f"manifest node says {kind} but holds {value!r:.80}")
        return value
    if kind == "float":
        try:
            return float.fromhex(value)
        except (TypeError, ValueError) as e:
            raise _Bad(f"manifest float {value!r:.80} is malformed") from e
    if kind == "tensor":
        i = node.get("i")
        if type(i) is not int or not 0 <= i < len(tensors):
            raise _Bad(f"manifest refers to tensor {i!r}, which the archive does not hold")
        return tensors[i]
    if kind in ("list", "tuple") and isinstance(value, list):
        items = [_decode(x, tensors) for x in value]
        return items if kind == "list" else tuple(items)
    if kind in _MAPPING_TYPES and isinstance(value, list):
        out = _MAPPING_TYPES[kind]()
        for pair in value:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _Bad(f"malformed dict entry {pair!r:.80} in the manifest")
            key = _decode(pair[0], tensors)
            try:
                out[key] = _decode(pair[1], tensors)
            except TypeError as e:  # an unhashable key
                raise _Bad(f"dict key {key!r:.80} in the manifest is not hashable") from e
        return out
    raise _Bad(f"unknown manifest node type {kind!r:.40}")


def load(f, map_location=None, *, weights_only: bool | None = None):
    """Read an object written by ``save`` from ``f`` (a path or a readable binary file
    object). ``map_location`` (a device, or a dict from saved to new device strings) moves
    the tensors; without it each comes back on the device it was saved from.
    ``weights_only`` is accepted for PyTorch compatibility: loading is always weights-only
    (no code from the file ever runs)."""
    name = _name(f)
    try:
        manifest, arrays = _read_archive(f)
        tensors = _build_tensors(manifest, arrays, map_location)
        return _decode(manifest.get("tree"), tensors)
    except RecursionError:
        raise RuntimeError(f"tensorcore.load: {name} is not a valid tensorcore checkpoint: "
                           f"its manifest is nested too deeply") from None
    except _Bad as e:
        raise RuntimeError(f"tensorcore.load: {name} is not a valid tensorcore checkpoint: "
                           f"{e}") from None
