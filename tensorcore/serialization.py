"""Safe checkpoints: ``save(obj, f)`` and ``load(f, map_location=None)``.

A checkpoint is a NumPy ``.npz`` archive written and read with ``allow_pickle=False``: one
uncompressed ``.npy`` member per tensor plus ``__manifest__``, a JSON document (stored as a
uint8 array) that describes the object's structure (dicts, ``OrderedDict``s and ``Counter``s
with their key types, lists, tuples, str, int, float, bool, None; NumPy scalars are saved as
the Python number of their kind) and each tensor's dtype, shape, device and
``requires_grad``.

Saving to a path is atomic: the archive is written to a temporary file in the same
directory, fsynced and renamed over the target, so a crash, a full disk or Ctrl-C leaves the
previous file intact (see ``tensorcore.utils.atomic``).

Loading never runs code from the file and checks before it allocates: the manifest (types,
integers of at most ``MAX_INT_DIGITS`` digits, known dtypes, at most ``MAX_DIMS``
non-negative dims) and every member's size against the file (members are stored
uncompressed, so the tensors never take more memory than the file's size; a compressed
member is refused) come first; only the members the manifest names are read, each with a
bounded read. A truncated, tampered or pickled file raises ``CheckpointError``, a
``RuntimeError`` naming the file and the problem.

>>> import io
>>> import tensorcore as tc
>>> buf = io.BytesIO()
>>> tc.save({"step": 3, "w": tc.tensor([1.0, 2.0]), "betas": (0.9, 0.999)}, buf)
>>> _ = buf.seek(0)
>>> tc.load(buf)
{'step': 3, 'w': tensor([1., 2.]), 'betas': (0.9, 0.999)}
"""
from __future__ import annotations

import ast
import json
import os
import struct
import zipfile
from collections import Counter, OrderedDict

import numpy as np

from . import _dtype
from ._device import device as Device
from .tensor import Tensor
from .utils.atomic import atomic_write

# The Tensor subclass saved as "parameter": ``nn.Parameter`` registers itself on import (this
# module sits below nn and does not import it).
PARAMETER_TYPE: type = Tensor

__all__ = ["save", "load", "CheckpointError"]

MAGIC = "tensorcore-checkpoint"
VERSION = 1
MANIFEST = "__manifest__"
# Limits the loader checks before it allocates anything.
MAX_INT_DIGITS = 4300  # Python's default int-string limit, whatever sys.set_int_max_str_digits
MAX_DIMS = 64  # NumPy's (and PyTorch's) most dims
_MAX_ITEMS = 2 ** 63 - 1  # NumPy's bound on an array's elements and bytes
_MAX_NPY_HEADER = 4096  # a .npy header of 64 dims of 19 digits is under 1,500 characters
_MAX_DEVICE_NAME = 64
_READ_CHUNK = 1 << 20  # member data is read in pieces of this size into its final buffer
_INT_BOUND = 10 ** MAX_INT_DIGITS
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
        if type(obj) is int and not -_INT_BOUND < obj < _INT_BOUND:
            raise ValueError(f"tensorcore.save: {path} is an integer of more than "
                             f"{MAX_INT_DIGITS} digits, which tensorcore.load refuses to read")
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
    ``f``, a path or a writable binary file object.

    To a path the write is atomic: a temporary file in the same directory is written,
    flushed, fsynced and renamed over ``f``, so an exception, a full disk, Ctrl-C or a killed
    process leaves the previous file as it was (and no temporary file, except after a kill
    that allows no clean-up). A file object is written in place: no atomicity is possible
    there, and a failure midway leaves a partial archive in it."""
    enc = _Encoder()
    tree = enc.encode(obj, "the object")
    manifest = {"magic": MAGIC, "version": VERSION, "tree": tree, "tensors": enc.tensors}
    blob = np.frombuffer(json.dumps(manifest).encode("utf-8"), dtype=np.uint8)
    arrays = {MANIFEST: blob, **enc.arrays}
    if isinstance(f, (str, os.PathLike)):
        with atomic_write(f) as fh:  # np.savez would append ".npz" to a bare path
            np.savez(fh, allow_pickle=False, **arrays)
    else:
        np.savez(f, allow_pickle=False, **arrays)


# -- loading -----------------------------------------------------------------------------------
class CheckpointError(RuntimeError):
    """``load`` could not read the file as a tensorcore checkpoint (truncated, corrupt,
    tampered, or not one at all); the message names the file and the problem."""


class _Bad(Exception):
    """A problem with the file's contents (reported as CheckpointError naming the file)."""


# What a truncated or corrupt zip raises from inside zipfile, struct and the reads.
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, struct.error,
               ValueError, NotImplementedError, OverflowError)
_NPY_MAGIC = b"\x93NUMPY"
_NPY_LENGTH = {(1, 0): "<H", (2, 0): "<I"}  # the header-length field of each .npy version
_NPY_KEYS = {"descr", "fortran_order", "shape"}


def _parse_int(text: str) -> int:
    """json's int hook: refuse a huge integer before converting it (a conversion is quadratic
    in the digits, and Python's own limit can be lifted)."""
    digits = len(text) - text.startswith("-")
    if digits > MAX_INT_DIGITS:
        raise _Bad(f"the manifest holds an integer of {digits} digits (at most "
                   f"{MAX_INT_DIGITS} are read)")
    return int(text)


def _nbytes(shape: tuple[int, ...], itemsize: int) -> int | None:
    """The bytes of an array of ``shape``, or None where NumPy could not even describe it
    (more than 2**63 - 1 elements or bytes, counting the non-zero dims as NumPy does)."""
    size = itemsize
    for d in shape:
        size *= d or 1
        if size > _MAX_ITEMS:
            return None
    return 0 if 0 in shape else size


def _npy_header(raw: bytes, what: str) -> tuple[str, bool, tuple[int, ...]]:
    """(descr, fortran_order, shape) of a .npy header: a dict literal of exactly those keys,
    read with ``ast.literal_eval`` (no code runs) and checked field by field. The descr must
    be a plain dtype string; tensorcore's dtypes need nothing else."""
    try:
        header = ast.literal_eval(raw.decode("latin1"))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as e:
        raise _Bad(f"{what} has a malformed .npy header ({type(e).__name__})") from None
    if type(header) is not dict or header.keys() != _NPY_KEYS:
        raise _Bad(f"{what} has a malformed .npy header (not a dict of {sorted(_NPY_KEYS)})")
    descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    if (type(descr) is not str or type(fortran) is not bool or type(shape) is not tuple
            or not all(type(d) is int for d in shape)):
        raise _Bad(f"{what} has a malformed .npy header ({header!r:.120})")
    return descr, fortran, shape


class _Archive:
    """The zip directory of a checkpoint, and bounded reads of the members it names."""

    def __init__(self, fh, size: int) -> None:
        self.size = size
        try:
            self.zip = zipfile.ZipFile(fh)
        except _ZIP_ERRORS as e:
            raise _Bad(f"it is not a readable .npz archive (truncated or corrupt: {e})") from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            if info.filename in self.members:
                raise _Bad(f"the archive holds two members named {info.filename!r}")
            self.members[info.filename] = info

    def info(self, name: str, what: str) -> zipfile.ZipInfo:
        """The directory entry of member ``name``, checked against the file before any read."""
        info = self.members.get(name)
        if info is None:
            raise _Bad(f"{what} is listed in the manifest but missing from the archive")
        if info.compress_type != zipfile.ZIP_STORED:
            raise _Bad(f"member {name} is compressed; tensorcore.save stores members "
                       f"uncompressed, and a compressed one could expand far beyond the file")
        if info.flag_bits & 0x1:
            raise _Bad(f"member {name} is encrypted")
        if info.file_size != info.compress_size or info.file_size > self.size:
            raise _Bad(f"member {name} declares {info.file_size} bytes, which the file "
                       f"({self.size} bytes) does not hold")
        return info

    def read(self, info: zipfile.ZipInfo, what: str, dtype: np.dtype | None,
             shape: tuple[int, ...] | None) -> np.ndarray:
        """Read a .npy member whose header must say ``dtype`` and ``shape`` (None: take the
        header's, for the manifest), never more bytes than its directory entry declares."""
        try:
            return self._read(info, what, dtype, shape)
        except _ZIP_ERRORS as e:
            raise _Bad(f"{what} cannot be read: the archive is truncated or corrupt "
                       f"({e})") from None

    def _read(self, info, what, dtype, shape) -> np.ndarray:
        with self.zip.open(info) as member:
            magic = member.read(8)
            version = (magic[6], magic[7]) if magic[:6] == _NPY_MAGIC and len(magic) == 8 else 0
            if version not in _NPY_LENGTH:
                raise _Bad(f"{what} is not a .npy array of format 1.0 or 2.0")
            length_field = member.read(struct.calcsize(_NPY_LENGTH[version]))
            (length,) = struct.unpack(_NPY_LENGTH[version], length_field)
            if length > _MAX_NPY_HEADER:
                raise _Bad(f"{what} has a .npy header of {length} bytes (at most "
                           f"{_MAX_NPY_HEADER} are read)")
            descr, fortran, got_shape = _npy_header(member.read(length), what)
            if shape is None:  # the manifest: a flat uint8 array
                dtype, shape = np.dtype(np.uint8), got_shape
                if descr != dtype.str or len(shape) != 1:
                    raise _Bad(f"{MANIFEST} must be a 1-D uint8 array, got {descr!r:.40} of "
                               f"shape {list(shape)}")
            if descr != dtype.str or got_shape != shape:
                raise _Bad(f"{what} does not match the manifest: stored {descr!r:.40} of shape "
                           f"{list(got_shape)}, manifest says {dtype.str!r} ({dtype}) of shape "
                           f"{list(shape)}")
            nbytes = _nbytes(shape, dtype.itemsize)
            data_size = info.file_size - len(magic) - len(length_field) - length
            if nbytes != data_size:
                declared = "more than NumPy can hold" if nbytes is None else nbytes
                raise _Bad(f"{what} holds {data_size} bytes of data but its header declares "
                           f"{declared}")
            buf = np.empty(nbytes, dtype=np.uint8)
            view = memoryview(buf)
            done = 0
            while done < nbytes:  # into the final buffer: no second copy of the data
                chunk = member.read(min(_READ_CHUNK, nbytes - done))
                if not chunk:
                    raise _Bad(f"{what} is truncated ({done} of {nbytes} bytes)")
                view[done:done + len(chunk)] = chunk
                done += len(chunk)
            if member.read(1):
                raise _Bad(f"{what} holds more data than its header declares")
        if dtype == np.bool_ and nbytes and buf.max() > 1:
            raise _Bad(f"{what} is a bool tensor holding bytes other than 0 and 1")
        return buf.view(dtype).reshape(shape, order="F" if fortran else "C")


def _read_manifest(archive: _Archive) -> dict:
    name = f"{MANIFEST}.npy"
    if name not in archive.members:
        raise _Bad(f"the archive has no {MANIFEST} entry (not written by tensorcore.save)")
    blob = archive.read(archive.info(name, MANIFEST), MANIFEST, None, None)
    try:
        manifest = json.loads(blob.tobytes().decode("utf-8"), parse_int=_parse_int)
    except ValueError as e:  # bad UTF-8, bad JSON, or an int Python refuses to convert
        raise _Bad(f"the manifest is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("magic") != MAGIC:
        raise _Bad("the manifest has the wrong magic (not a tensorcore checkpoint)")
    version = manifest.get("version")
    if type(version) is not int or version != VERSION:
        raise _Bad(f"unsupported checkpoint version {version!r:.40} (this tensorcore reads "
                   f"version {VERSION})")
    return manifest


class _Spec:
    """One tensor entry of the manifest, checked: where its data is and what to build."""

    __slots__ = ("info", "key", "dtype", "shape", "device", "requires_grad", "parameter")


def _flag(entry: dict, field: str, where: str, default: bool | None = None) -> bool:
    value = entry.get(field, default)
    if type(value) is not bool:
        raise _Bad(f"{where}: {field} must be true or false, got {value!r:.40}")
    return value


def _check_spec(entry, i: int, archive: _Archive) -> _Spec:
    """Validate tensor entry ``i`` of the manifest against the archive, reading no data."""
    where = f"tensor entry {i} of the manifest"
    if not isinstance(entry, dict):
        raise _Bad(f"{where} is malformed ({entry!r:.80})")
    spec = _Spec()
    spec.key = entry.get("key")
    if type(spec.key) is not str or not spec.key or spec.key == MANIFEST:
        raise _Bad(f"{where} has a malformed key {spec.key!r:.80}")
    dtype_name = entry.get("dtype")
    if type(dtype_name) is not str or dtype_name not in _dtype._FROM_NAME:
        raise _Bad(f"{where}: unknown dtype {dtype_name!r:.40} (known: "
                   f"{', '.join(d.name for d in _dtype.ALL)})")
    spec.dtype = _dtype._by_name(dtype_name)
    shape = entry.get("shape")
    if (type(shape) is not list or len(shape) > MAX_DIMS
            or not all(type(d) is int and 0 <= d for d in shape)):
        raise _Bad(f"{where}: shape must be a list of at most {MAX_DIMS} non-negative "
                   f"integers, got {shape!r:.80}")
    spec.shape = tuple(shape)
    spec.device = entry.get("device")
    if type(spec.device) is not str or len(spec.device) > _MAX_DEVICE_NAME:
        raise _Bad(f"{where} has a malformed device {spec.device!r:.40}")
    try:
        Device(spec.device)
    except (RuntimeError, ValueError) as e:
        raise _Bad(f"{where}: {e}") from None
    spec.requires_grad = _flag(entry, "requires_grad", where)
    spec.parameter = _flag(entry, "parameter", where, default=False)
    what = f"tensor {spec.key}"
    spec.info = archive.info(f"{spec.key}.npy", what)
    nbytes = _nbytes(spec.shape, spec.dtype.np.itemsize)
    if nbytes is None or nbytes > spec.info.file_size:
        size = "more than NumPy can hold" if nbytes is None else f"{nbytes} bytes"
        raise _Bad(f"{what} declares shape {list(spec.shape)} of {dtype_name} ({size}), but "
                   f"its member holds {spec.info.file_size} bytes")
    return spec


def _check_specs(manifest: dict, archive: _Archive) -> list[_Spec]:
    entries = manifest.get("tensors")
    if not isinstance(entries, list):
        raise _Bad("the manifest has no tensor list")
    specs = [_check_spec(entry, i, archive) for i, entry in enumerate(entries)]
    named = {f"{MANIFEST}.npy"} | {f"{s.key}.npy" for s in specs}
    if len(named) != len(specs) + 1:
        raise _Bad("the manifest lists the same key for two tensors")
    extra = sorted(set(archive.members) - named)
    if extra:
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise _Bad(f"the archive has members the manifest does not list: {extra[:5]}{more}")
    # Each member checked alone fits in the file; together they must too (zip entries can
    # overlap, so that many entries share the same bytes).
    total = sum(info.compress_size for info in archive.members.values())
    if total > archive.size:
        raise _Bad(f"the members declare {total} bytes in all, more than the file's "
                   f"{archive.size}")
    return specs


def _map_device(saved: str, map_location):
    if map_location is None:
        return saved
    if isinstance(map_location, dict):
        return map_location.get(saved, saved)
    if callable(map_location) and not isinstance(map_location, (str, Device)):
        raise TypeError("tensorcore.load: map_location must be a device, a device string or a "
                        "dict of device strings (functions are not supported)")
    return map_location


def _build(spec: _Spec, archive: _Archive, map_location) -> Tensor:
    arr = archive.read(spec.info, f"tensor {spec.key}", spec.dtype.np, spec.shape)
    t = Tensor(arr, dtype=spec.dtype, device=_map_device(spec.device, map_location))
    if spec.parameter:
        return PARAMETER_TYPE(t, spec.requires_grad)
    if spec.requires_grad:
        t.requires_grad_(True)
    return t


def _decode(node, tensors: list):
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


def _file_size(fh) -> int:
    """The bytes from the current position of a seekable binary file to its end."""
    start = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(start)
    return end - start


def _load_from(fh, map_location):
    size = _file_size(fh)
    start = fh.tell()
    head = fh.read(len(_NPY_MAGIC))
    fh.seek(start)
    if head == _NPY_MAGIC:
        raise _Bad("it is a single .npy array, not a tensorcore .npz archive")
    archive = _Archive(fh, size)
    with archive.zip:
        manifest = _read_manifest(archive)
        specs = _check_specs(manifest, archive)
        tree = manifest.get("tree")
        _decode(tree, [object() for _ in specs])  # the whole manifest is checked before any read
        tensors = [_build(spec, archive, map_location) for spec in specs]
    return _decode(tree, tensors)


def load(f, map_location=None, *, weights_only: bool | None = None):
    """Read an object written by ``save`` from ``f`` (a path or a readable, seekable binary
    file object). ``map_location`` (a device, or a dict from saved to new device strings)
    moves the tensors; without it each comes back on the device it was saved from.
    ``weights_only`` is accepted for PyTorch compatibility: loading is always weights-only
    (no code from the file ever runs).

    Raises ``CheckpointError`` (a ``RuntimeError``) naming the file for anything wrong with
    its contents, before allocating memory for what the file does not hold; a missing or
    unreadable path raises ``FileNotFoundError`` or another ``OSError`` as ``open`` does."""
    name = _name(f)
    if isinstance(f, (str, os.PathLike)):
        fh = open(f, "rb")
    elif callable(getattr(f, "read", None)) and callable(getattr(f, "seek", None)):
        fh = None
    else:
        raise TypeError(f"tensorcore.load: expected a path or a readable, seekable binary file "
                        f"object, got {type(f).__name__}")
    try:
        return _load_from(f if fh is None else fh, map_location)
    except RecursionError:
        raise CheckpointError(f"tensorcore.load: {name} is not a valid tensorcore checkpoint: "
                              f"its manifest is nested too deeply") from None
    except _Bad as e:
        raise CheckpointError(f"tensorcore.load: {name} is not a valid tensorcore checkpoint: "
                              f"{e}") from None
    finally:
        if fh is not None:
            fh.close()
