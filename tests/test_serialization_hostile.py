"""``tensorcore.load`` on hostile files, each built by hand: it validates the manifest and every
member's directory entry and .npy header before it allocates, reads only the members the
manifest names, never more bytes than declared, and turns every failure into
``CheckpointError`` (a RuntimeError naming the file) with memory that stays bounded."""

from __future__ import annotations

import io
import json
import struct
import sys
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import tensorcore as tc
from tensorcore.serialization import MAX_INT_DIGITS, CheckpointError

SMALL_PEAK = 4 * 2 ** 20  # bytes: what a refused hostile file may cost, whatever it declares


# -- building files by hand ------------------------------------------------------------------------
def _checkpoint(obj=None) -> bytes:
    buf = io.BytesIO()
    tc.save({"w": tc.arange(6.0).reshape(2, 3), "n": 1} if obj is None else obj, buf)
    return buf.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _manifest(data: bytes) -> dict:
    blob = _members(data)["__manifest__.npy"]
    return json.loads(np.load(io.BytesIO(blob)).tobytes())


def _npy_header(descr: str, shape, fortran: bool = False, version=(1, 0)) -> bytes:
    """A .npy header written out by hand (``shape`` as text, so anything can be declared)."""
    text = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    length = "<H" if version == (1, 0) else "<I"
    pad = -(6 + 2 + struct.calcsize(length) + len(text) + 1) % 64
    text = (text + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY" + bytes(version) + struct.pack(length, len(text)) + text


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _manifest_npy(manifest) -> bytes:
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    return _npy(np.frombuffer(text.encode(), dtype=np.uint8))


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, payload in members.items():
            z.writestr(name, payload)
    return out.getvalue()


def _edit_manifest(data: bytes, edit) -> bytes:
    members = _members(data)
    manifest = _manifest(data)
    edit(manifest)
    members["__manifest__.npy"] = _manifest_npy(manifest)
    return _zip(members)


def _raw_zip(body: bytes, entries) -> bytes:
    """``body`` (local headers and data, laid out by the caller) followed by a central
    directory written from ``entries``: (name, local header offset, payload, flags)."""
    central = b""
    for name, offset, payload, flags in entries:
        raw = name.encode()
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, 0, 0, 0,
                               zlib.crc32(payload), len(payload), len(payload), len(raw), 0, 0,
                               0, 0, 0, offset) + raw
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                      len(body), 0)
    return body + central + end


def _local(name: str, payload: bytes, flags: int = 0) -> bytes:
    raw = name.encode()
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 0, 0, 0, zlib.crc32(payload),
                       len(payload), len(payload), len(raw), 0) + raw


def _load_error(tmp_path, data: bytes) -> str:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        tc.load(path)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert str(path) in message and "not a valid tensorcore checkpoint" in message
    return message


def _peak_while_refused(tmp_path, data: bytes) -> tuple[str, int]:
    path = tmp_path / "hostile.ckpt"
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            tc.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(info.value), peak


def test_the_hand_built_files_are_read_by_the_loader(tmp_path):
    """The builders make valid checkpoints when asked to: so the refusals below are about
    what each test changes."""
    data = _checkpoint()
    members = _members(data)
    path = tmp_path / "ok.ckpt"
    path.write_bytes(_zip(members))
    assert tc.load(path)["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    members["t0.npy"] = _npy_header("<f4", "(2, 3)") + np.arange(6, dtype="<f4").tobytes()
    manifest = _manifest(data)
    manifest["tensors"][0]["dtype"] = "float32"
    members["__manifest__.npy"] = _manifest_npy(manifest)
    body = b""
    entries = []
    for name, payload in members.items():
        entries.append((name, len(body), payload, 0))
        body += _local(name, payload) + payload
    path.write_bytes(_raw_zip(body, entries))
    assert tc.load(path)["w"].dtype == tc.float32


# -- zip bombs and declared sizes ----------------------------------------------------------------
BOMB_BYTES = 256 * 2 ** 20


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """An archive holding one deflated member, t1.npy: 256 MiB of float32 zeros, honestly
    declared by its .npy header and its zip entry, in about 250 kB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("t1.npy", "w", force_zip64=True) as member:
            member.write(_npy_header("<f4", f"({BOMB_BYTES // 4},)"))
            zeros = bytes(2 ** 20)
            for _ in range(BOMB_BYTES // len(zeros)):
                member.write(zeros)
    return out.getvalue()


def _beside_bomb(bomb: bytes, manifest_edit=None) -> bytes:
    """A valid checkpoint's members added to the bomb's archive (``manifest_edit`` changes
    the manifest first)."""
    base = _checkpoint()
    members = _members(base)
    if manifest_edit is not None:
        manifest = _manifest(base)
        manifest_edit(manifest)
        members["__manifest__.npy"] = _manifest_npy(manifest)
    out = io.BytesIO(bomb)
    with zipfile.ZipFile(out, "a") as z:
        for name, payload in members.items():
            z.writestr(name, payload)
    return out.getvalue()


def _name_bomb(manifest, shape):
    _add_tensor(manifest, "t1", "float32", shape)


def test_zip_bomb_is_refused_without_inflating_it(tmp_path, bomb):
    unlisted = _beside_bomb(bomb)
    assert len(unlisted) < BOMB_BYTES // 500
    with zipfile.ZipFile(io.BytesIO(unlisted)) as z:  # a real bomb: it inflates in full
        assert z.getinfo("t1.npy").file_size > BOMB_BYTES
    message, peak = _peak_while_refused(tmp_path, unlisted)
    assert "does not list: ['t1.npy']" in message and peak < SMALL_PEAK
    # Named by the manifest, with its true shape: still refused, as a compressed member
    # could declare far more than the file holds.
    named = _beside_bomb(bomb, lambda m: _name_bomb(m, [BOMB_BYTES // 4]))
    message, peak = _peak_while_refused(tmp_path, named)
    assert "member t1.npy is compressed" in message and peak < SMALL_PEAK
    # Named with a small shape: refused before a byte of it is inflated.
    message, peak = _peak_while_refused(
        tmp_path, _beside_bomb(bomb, lambda m: _name_bomb(m, [4])))
    assert "compressed" in message and peak < SMALL_PEAK


def test_huge_declared_shapes_are_refused_before_allocating(tmp_path):
    data = _checkpoint()
    for shape, says in [([1_000_000, 1_000_000], "4000000000000 bytes"),  # 3.6 TiB
                        ([2 ** 62, 2 ** 62], "more than NumPy can hold"),
                        ([0, 2 ** 62, 2 ** 62], "more than NumPy can hold"),
                        ([20, 20], "1600 bytes")]:
        def edit(m, shape=shape):
            m["tensors"][0]["shape"] = shape
        message, peak = _peak_while_refused(tmp_path, _edit_manifest(data, edit))
        assert f"declares shape {shape}" in message and says in message, message
        assert peak < SMALL_PEAK
    # The .npy header alone declaring 3.6 TiB (the manifest's shape unchanged).
    members = _members(data)
    members["t0.npy"] = _npy_header("<f4", "(1000000, 1000000)") + bytes(24)
    message, peak = _peak_while_refused(tmp_path, _zip(members))
    assert "does not match the manifest" in message and peak < SMALL_PEAK


def test_a_member_holding_more_or_less_than_its_header_declares(tmp_path):
    members = _members(_checkpoint())
    good = members["t0.npy"]
    for payload, says in [(good + bytes(8), "holds 32 bytes of data but its header declares 24"),
                          (good[:-8], "holds 16 bytes of data but its header declares 24")]:
        members["t0.npy"] = payload
        assert says in _load_error(tmp_path, _zip(members))


def test_zip_entries_that_lie_about_sizes_or_overlap(tmp_path):
    members = _members(_checkpoint())
    manifest, t0 = members["__manifest__.npy"], members["t0.npy"]
    head = _local("__manifest__.npy", manifest) + manifest
    # t0's entry declares a megabyte more than the whole file holds.
    entries = [("__manifest__.npy", 0, manifest, 0), ("t0.npy", len(head), t0 + bytes(2 ** 20), 0)]
    body = head + _local("t0.npy", t0) + t0
    assert "which the file" in _load_error(tmp_path, _raw_zip(body, entries))
    # An encrypted entry.
    entries = [("__manifest__.npy", 0, manifest, 0), ("t0.npy", len(head), t0, 1)]
    body = head + _local("t0.npy", t0, flags=1) + t0
    assert "member t0.npy is encrypted" in _load_error(tmp_path, _raw_zip(body, entries))
    # A stored "quoted overlap": t0's data region holds t1's whole member (local header and
    # data), so both entries are valid but share bytes. Nested n deep, a file of size s
    # would make a loader allocate about n * s.
    t1 = _npy(np.arange(1000.0))
    inner = _local("t1.npy", t1) + t1
    inner += bytes(-len(inner) % 4)
    t0 = _npy_header("<i4", f"({len(inner) // 4},)") + inner
    manifest = _manifest(_checkpoint())
    manifest["tensors"][0].update(dtype="int32", shape=[len(inner) // 4])
    _add_tensor(manifest, "t1", "float64", [1000])
    manifest_npy = _manifest_npy(manifest)
    head = _local("__manifest__.npy", manifest_npy) + manifest_npy
    t0_at = len(head)
    t1_at = t0_at + len(_local("t0.npy", t0)) + len(t0) - len(inner)
    body = head + _local("t0.npy", t0) + t0
    entries = [("__manifest__.npy", 0, manifest_npy, 0), ("t0.npy", t0_at, t0, 0),
               ("t1.npy", t1_at, t1, 0)]
    overlapped = _raw_zip(body, entries)
    with zipfile.ZipFile(io.BytesIO(overlapped)) as z:  # a zip reader takes both entries
        assert z.read("t1.npy") == t1 and z.read("t0.npy") == t0
    message = _load_error(tmp_path, overlapped)
    assert f"more than the file's {len(overlapped)}" in message


def _add_tensor(manifest, key, dtype, shape):
    i = len(manifest["tensors"])
    manifest["tensors"].append({"key": key, "dtype": dtype, "shape": shape, "device": "cpu",
                                "requires_grad": False, "parameter": False})
    manifest["tree"]["v"].append([{"t": "str", "v": key}, {"t": "tensor", "i": i}])


# -- the manifest ----------------------------------------------------------------------------------
def _manifest_text_with(data: bytes, sentinel: int, digits: str) -> bytes:
    """The checkpoint with the manifest's ``sentinel`` integer replaced by ``digits``."""
    members = _members(data)
    text = json.dumps(_manifest(data))
    assert text.count(str(sentinel)) == 1
    members["__manifest__.npy"] = _manifest_npy(text.replace(str(sentinel), digits))
    return _zip(members)


@pytest.mark.parametrize("where", ["value", "shape", "version", "tensor index"])
@pytest.mark.parametrize("digits", ["9" * 5000, "-" + "7" * 5000])
def test_huge_integers_in_the_manifest(tmp_path, where, digits):
    sentinel = 918273645
    obj = {"w": tc.zeros(2), "n": sentinel if where == "value" else 1}
    data = _checkpoint(obj)

    def edit(m):
        if where == "shape":
            m["tensors"][0]["shape"] = [sentinel]
        elif where == "version":
            m["version"] = sentinel
        elif where == "tensor index":
            m["tree"]["v"][0][1]["i"] = sentinel

    if where != "value":
        data = _edit_manifest(data, edit)
    message = _load_error(tmp_path, _manifest_text_with(data, sentinel, digits))
    assert f"an integer of 5000 digits (at most {MAX_INT_DIGITS} are read)" in message


def test_huge_integers_are_refused_even_with_pythons_limit_lifted(tmp_path):
    data = _checkpoint({"n": 918273645})
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        message = _load_error(tmp_path, _manifest_text_with(data, 918273645, "1" * 200_000))
    finally:
        sys.set_int_max_str_digits(old)
    assert "200000 digits" in message


def test_saving_an_integer_too_long_to_load_back_is_refused():
    widest = 10 ** MAX_INT_DIGITS - 1
    for n in (widest, -widest):
        buf = io.BytesIO()
        tc.save({"n": n}, buf)
        buf.seek(0)
        assert tc.load(buf) == {"n": n}
    with pytest.raises(ValueError, match=r"the object\['n'\] is an integer of more than 4300"):
        tc.save({"n": widest + 1}, io.BytesIO())


def _entry(field, value):
    def edit(m):
        if value is KeyError:
            del m["tensors"][0][field]
        else:
            m["tensors"][0][field] = value
    return edit


@pytest.mark.parametrize("edit, says", [
    (_entry("dtype", "float128"), "unknown dtype 'float128' (known: float16, float32"),
    (_entry("dtype", "object"), "unknown dtype 'object'"),
    (_entry("dtype", "uint8"), "unknown dtype 'uint8'"),
    (_entry("dtype", 5), "unknown dtype 5"),
    (_entry("dtype", KeyError), "unknown dtype None"),
    (_entry("shape", [-1, 6]), "non-negative integers, got [-1, 6]"),
    (_entry("shape", [2, -3]), "non-negative integers, got [2, -3]"),
    (_entry("shape", [2.0, 3]), "non-negative integers"),
    (_entry("shape", [True, 6]), "non-negative integers"),
    (_entry("shape", ["2", 3]), "non-negative integers"),
    (_entry("shape", "6"), "non-negative integers"),
    (_entry("shape", [1] * 65), "at most 64 non-negative integers"),
    (_entry("shape", KeyError), "non-negative integers, got None"),
    (_entry("key", KeyError), "malformed key None"),
    (_entry("key", 0), "malformed key 0"),
    (_entry("key", ""), "malformed key ''"),
    (_entry("key", "__manifest__"), "malformed key '__manifest__'"),
    (_entry("device", "tpu"), "Expected one of cpu, cuda"),
    (_entry("device", "cuda:x"), "Invalid device string"),
    (_entry("device", "cuda:" + "9" * 100), "malformed device"),
    (_entry("device", 7), "malformed device 7"),
    (_entry("requires_grad", 1), "requires_grad must be true or false, got 1"),
    (_entry("requires_grad", KeyError), "requires_grad must be true or false, got None"),
    (_entry("parameter", "no"), "parameter must be true or false, got 'no'"),
    (lambda m: m["tensors"].__setitem__(0, "t0"), "tensor entry 0 of the manifest is malformed"),
    (lambda m: m["tensors"].append(dict(m["tensors"][0])), "the same key for two tensors"),
    (lambda m: m.update(tensors={"t0": 1}), "no tensor list"),
    (lambda m: m.update(version=True), "unsupported checkpoint version True"),
    (lambda m: m.update(version="1"), "unsupported checkpoint version '1'"),
    (lambda m: m["tree"]["v"][0][1].update(i=True), "refers to tensor True"),
    (lambda m: m["tree"]["v"][0][1].update(i=-1), "refers to tensor -1"),
    (lambda m: m["tree"]["v"][1][1].update(v=1.5), "says int but holds 1.5"),
])
def test_malformed_manifest_entries(tmp_path, edit, says):
    message = _load_error(tmp_path, _edit_manifest(_checkpoint(), edit))
    assert says in message, message


def test_a_manifest_nested_too_deeply(tmp_path):
    data = _checkpoint({"n": 918273645})
    deep = '{"t": "list", "v": [' * 100_000 + "1" + "]}" * 100_000
    message = _load_error(tmp_path, _manifest_text_with(data, 918273645, deep))
    assert "nested too deeply" in message


def test_a_huge_manifest_header(tmp_path):
    members = _members(_checkpoint())
    members["__manifest__.npy"] = _npy_header("|u1", f"({2 ** 63},)") + b"{}"
    assert "holds 2 bytes of data but its header declares more than NumPy can hold" in (
        _load_error(tmp_path, _zip(members)))
    members["__manifest__.npy"] = _npy_header("<f4", "(2,)") + b"{}"
    assert "__manifest__ must be a 1-D uint8 array, got '<f4'" in _load_error(
        tmp_path, _zip(members))


def test_a_bad_tree_is_refused_before_any_tensor_is_read(tmp_path):
    """The whole manifest is checked first: with the tree wrong, even a 1 MB tensor that
    would load fine is never read."""
    data = _checkpoint({"w": tc.zeros(2 ** 18), "n": 1})
    tampered = _edit_manifest(data, lambda m: m["tree"]["v"][1][1].update(t="eval"))
    message, peak = _peak_while_refused(tmp_path, tampered)
    assert "unknown manifest node type 'eval'" in message and peak < 2 ** 20 // 2


# -- members -----------------------------------------------------------------------------------
def test_members_the_manifest_does_not_name_or_names_twice(tmp_path):
    members = _members(_checkpoint())
    for k in range(7):
        members[f"x{k}.npy"] = members["t0.npy"]
    message = _load_error(tmp_path, _zip(members))
    assert "does not list: ['x0.npy', 'x1.npy', 'x2.npy', 'x3.npy', 'x4.npy'] and 2 more" in message
    members = _members(_checkpoint())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z, pytest.warns(UserWarning, match="Duplicate name"):
        for name, payload in [*members.items(), ("t0.npy", members["t0.npy"])]:
            z.writestr(name, payload)
    assert "two members named 't0.npy'" in _load_error(tmp_path, out.getvalue())
    members.pop("t0.npy")
    assert "tensor t0 is listed in the manifest but missing" in _load_error(
        tmp_path, _zip(members))


_F4 = np.arange(6, dtype="<f4").tobytes()


@pytest.mark.parametrize("payload, says", [
    (b"hello, world" * 4, "tensor t0 is not a .npy array of format 1.0 or 2.0"),
    (_npy_header("<f4", "(2, 3)", version=(3, 0)) + _F4, "format 1.0 or 2.0"),
    (b"\x93NUMPY\x02\x00" + struct.pack("<I", 60000) + b" " * 60000 + _F4,
     "a .npy header of 60000 bytes (at most 4096"),
    (b"\x93NUMPY\x01\x00" + struct.pack("<H", 10) + b"{'descr': " + _F4, "malformed .npy header"),
    (_npy_header("<f4", "(2, 3)")[:-20] + b"x" * 19 + b"\n" + _F4, "malformed .npy header"),
    (_npy_header("<f4", "(2, 3)")[:-20] + b"\0" * 19 + b"\n" + _F4, "malformed .npy header"),
    (_npy_header("<f4", "[2, 3]") + _F4, "malformed .npy header"),
    (_npy_header("<f4", "(2, True)") + _F4, "malformed .npy header"),
    (_npy_header("<f4", "(2, 3)").replace(b"'shape'", b"'shapes'") + _F4, "not a dict of"),
    (_npy_header("|O", "(2, 3)") + _F4,
     "stored '|O' of shape [2, 3], manifest says '<f4' (float32)"),
    (_npy_header(">f4", "(2, 3)") + _F4, "stored '>f4' of shape [2, 3]"),
    (_npy_header("<f8", "(3,)") + _F4, "stored '<f8' of shape [3]"),
    (_npy_header("<f4", "(" + "9" * 4000 + ",)") + _F4, "does not match the manifest"),
    (_npy_header("<f4", "(2, 3)"), "holds 0 bytes of data but its header declares 24"),
])
def test_malformed_npy_members(tmp_path, payload, says):
    members = _members(_checkpoint())
    members["t0.npy"] = payload
    message = _load_error(tmp_path, _zip(members))
    assert says in message, message


def test_fortran_ordered_members_load_in_their_order(tmp_path):
    w = tc.arange(6.0).reshape(2, 3).T  # a transposed view: saved in Fortran order
    data = _checkpoint({"w": w})
    assert b"'fortran_order': True" in _members(data)["t0.npy"]
    path = tmp_path / "f.ckpt"
    path.write_bytes(data)
    assert tc.load(path)["w"].tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def test_bool_members_hold_only_zeros_and_ones(tmp_path):
    data = _checkpoint({"m": tc.tensor([True, False, True])})
    members = _members(data)
    members["t0.npy"] = members["t0.npy"][:-1] + b"\x02"
    assert "bool tensor holding bytes other than 0 and 1" in _load_error(tmp_path, _zip(members))


def test_data_that_does_not_match_its_checksum(tmp_path):
    members = _members(_checkpoint())
    body, entries = b"", []
    for name, payload in members.items():
        entries.append((name, len(body), payload, 0))  # the checksum of the true data
        if name == "t0.npy":
            payload = payload[:-1] + bytes([payload[-1] ^ 1])
        body += _local(name, payload) + payload
    assert "Bad CRC-32 for file 't0.npy'" in _load_error(tmp_path, _raw_zip(body, entries))


# -- every truncation and every flipped byte -------------------------------------------------
def _load_bytes(data: bytes):
    return tc.load(io.BytesIO(data))


def test_every_truncation_is_a_checkpoint_error():
    data = _checkpoint()
    for n in range(len(data)):
        with pytest.raises(CheckpointError, match="not a valid tensorcore checkpoint"):
            _load_bytes(data[:n])


def test_every_flipped_byte_is_refused_or_changes_nothing():
    """A flip is caught (checksums, headers, sizes) or lands where it means nothing (a
    timestamp, padding): never another exception, never a different object."""
    obj = {"w": tc.arange(6.0).reshape(2, 3), "m": tc.tensor([True, False]), "n": [1, 2.5]}
    data = _checkpoint(obj)
    refused = 0
    for i in range(len(data)):
        flipped = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
        try:
            out = _load_bytes(flipped)
        except CheckpointError:
            refused += 1
            continue
        assert out.keys() == obj.keys() and out["n"] == [1, 2.5], i
        assert out["w"].tolist() == obj["w"].tolist() and out["m"].tolist() == [True, False], i
    assert refused > len(data) // 2
