"""``tensorcore.save`` / ``tensorcore.load``: exact round trips (dtypes, 0-d and empty tensors,
nested containers with their key types, optimizer-style state dicts), module state dicts
giving identical outputs, paths and file objects, ``map_location``, and bad files (truncated,
tampered, pickled) raising RuntimeError without running anything."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import zipfile
from collections import Counter, OrderedDict

import numpy as np
import pytest
from helpers import to_numpy

import tensorcore as tc
from tensorcore import nn


def _round_trip(obj, **load_kwargs):
    buf = io.BytesIO()
    tc.save(obj, buf)
    buf.seek(0)
    return tc.load(buf, **load_kwargs)


@pytest.mark.parametrize("dtype", [tc.float16, tc.float32, tc.float64, tc.int32, tc.int64,
                                   tc.bool])
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (3, 4)])
def test_tensor_round_trip(device, dtype, shape):
    values = np.random.default_rng(0).standard_normal(shape) * 10
    t = tc.tensor(values, device=device).to(dtype)
    out = _round_trip(t)
    assert out.dtype == dtype and out.shape == shape and out.device == t.device
    np.testing.assert_array_equal(to_numpy(out), to_numpy(t))


def test_requires_grad_parameters_and_shared_tensors():
    p = nn.Parameter(tc.tensor([1.0, 2.0]))
    t = tc.tensor([3.0], requires_grad=True)
    out = _round_trip({"p": p, "t": t, "again": t, "graph": t * 2})
    assert type(out["p"]) is nn.Parameter and out["p"].requires_grad
    assert type(out["t"]) is tc.Tensor and out["t"].requires_grad and out["t"].is_leaf
    assert out["again"] is out["t"]  # one tensor saved once, loaded once
    assert out["graph"].tolist() == [6.0] and out["graph"].grad_fn is None


def test_optimizer_state_dict_round_trips_exactly():
    state = {"state": {0: {"momentum_buffer": tc.tensor([0.5, -0.5]), "step": 3},
                       1: {"momentum_buffer": tc.zeros(2, 2), "step": 3}},
             "param_groups": [{"lr": 0.1, "params": [0, 1], "betas": (0.9, 0.999),
                               "eps": 1e-8, "nesterov": False, "name": None,
                               "weird": [float("inf"), -0.0, 1 / 3, 2 ** 70]}]}
    out = _round_trip(state)
    assert list(out["state"]) == [0, 1] and all(type(k) is int for k in out["state"])
    group = out["param_groups"][0]
    assert type(group["betas"]) is tuple and group["betas"] == (0.9, 0.999)
    assert type(group["params"]) is list and group["params"] == [0, 1]
    assert group["nesterov"] is False and group["name"] is None and group["eps"] == 1e-8
    assert group["weird"][:1] == [math.inf] and math.copysign(1, group["weird"][1]) == -1
    assert group["weird"][2] == 1 / 3 and group["weird"][3] == 2 ** 70
    assert out["state"][0]["momentum_buffer"].tolist() == [0.5, -0.5]
    assert out["state"][1]["step"] == 3 and type(out["state"][1]["step"]) is int
    mixed = _round_trip({1: "a", "1": "b", (1, "x"): [], False: (), 2.5: None})
    assert mixed == {1: "a", "1": "b", (1, "x"): [], False: (), 2.5: None}
    assert [type(k) for k in mixed] == [int, str, tuple, bool, float]
    assert math.isnan(_round_trip(float("nan")))


def test_module_state_dict_through_a_file_gives_identical_outputs(tmp_path, device):
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    model.to(device)
    model(tc.randn(16, 4, device=device))  # move the running statistics
    path = tmp_path / "model.ckpt"
    tc.save(model.state_dict(), path)
    assert os.path.exists(path)  # exactly the given name: no ".npz" appended
    loaded = tc.load(str(path))
    assert isinstance(loaded, OrderedDict) and list(loaded) == list(model.state_dict())
    assert loaded["1.num_batches_tracked"].dtype == tc.int64
    tc.manual_seed(1)
    other = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    other.to(device).load_state_dict(loaded)
    model.eval(), other.eval()
    x = tc.randn(5, 4, device=device)
    np.testing.assert_array_equal(to_numpy(model(x)), to_numpy(other(x)))


def test_map_location_and_unsupported_objects():
    out = _round_trip({"w": tc.ones(2)}, map_location="cpu", weights_only=True)  # PyTorch's
    assert out["w"].device.type == "cpu"
    assert _round_trip(tc.ones(1), map_location={"cpu": "cpu"}).device.type == "cpu"
    with pytest.raises(TypeError, match=r"the object\['f'\] of type set"):
        tc.save({"f": {1, 2}}, io.BytesIO())


def test_scheduler_state_dicts_and_numpy_scalars_round_trip():
    opt = tc.optim.SGD([tc.zeros(1, requires_grad=True)], lr=np.float64(1.0))
    sched = tc.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 2, 4], gamma=0.5)
    for _ in range(3):
        opt.step()
        sched.step()
    state = _round_trip(sched.state_dict())
    assert type(state["milestones"]) is Counter and state["milestones"] == Counter([2, 2, 4])
    assert state == sched.state_dict()
    resumed = tc.optim.lr_scheduler.MultiStepLR(
        tc.optim.SGD([tc.zeros(1, requires_grad=True)], lr=0.25), milestones=[9])
    resumed.load_state_dict(state)
    resumed.optimizer.step()
    resumed.step()  # epoch 4: the milestone halves 0.25
    assert resumed.get_last_lr() == [0.125]
    out = _round_trip({"f32": np.float32(0.5), "i64": np.int64(-3), "b": np.bool_(True),
                       "lr": opt.param_groups[0]["lr"]})
    assert out == {"f32": 0.5, "i64": -3, "b": True, "lr": 0.25}
    assert [type(v) for v in out.values()] == [float, int, bool, float]


# -- bad files -----------------------------------------------------------------------------------
def _saved_bytes(obj=None) -> bytes:
    buf = io.BytesIO()
    tc.save({"w": tc.arange(6.0).reshape(2, 3), "n": 1} if obj is None else obj, buf)
    return buf.getvalue()


def _rewrite(data: bytes, change) -> bytes:
    """Re-zip a checkpoint after ``change(entries)`` edits its {name: bytes} entries."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    change(entries)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, payload in entries.items():
            z.writestr(name, payload)
    return out.getvalue()


def _with_manifest(data: bytes, edit) -> bytes:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    manifest = json.loads(arrays["__manifest__"].tobytes())
    edit(manifest)
    arrays["__manifest__"] = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _load_error(tmp_path, data: bytes) -> str:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(data)
    with pytest.raises(RuntimeError) as info:
        tc.load(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_truncated_and_non_archive_files(tmp_path):
    data = _saved_bytes()
    assert "not a readable .npz archive" in _load_error(tmp_path, data[: len(data) // 2])
    assert _load_error(tmp_path, b"")
    assert "no __manifest__" in _load_error(tmp_path, _rewrite(
        data, lambda e: e.pop("__manifest__.npy")))
    single = io.BytesIO()
    np.save(single, np.arange(3))
    assert "single .npy" in _load_error(tmp_path, single.getvalue())
    with pytest.raises(FileNotFoundError):
        tc.load(tmp_path / "missing.ckpt")


def test_tampered_manifests(tmp_path):
    data = _saved_bytes()
    assert "missing from the archive" in _load_error(tmp_path, _rewrite(
        data, lambda e: e.pop("t0.npy")))

    def reshape(m):
        m["tensors"][0]["shape"] = [3, 2]

    assert "does not match the manifest" in _load_error(tmp_path, _with_manifest(data, reshape))
    assert "wrong magic" in _load_error(tmp_path, _with_manifest(
        data, lambda m: m.update(magic="other")))
    assert "version 99" in _load_error(tmp_path, _with_manifest(
        data, lambda m: m.update(version=99)))
    assert "tensor 5" in _load_error(tmp_path, _with_manifest(
        data, lambda m: m["tree"]["v"][0][1].update(i=5)))
    assert "unknown manifest node type" in _load_error(tmp_path, _with_manifest(
        data, lambda m: m["tree"].update(t="eval")))
    assert "not valid JSON" in _load_error(tmp_path, _rewrite(data, lambda e: e.update(
        {"__manifest__.npy": e["__manifest__.npy"][:-5] + b"}}}}}"})))
    extra = _rewrite(data, lambda e: e.update({"t9.npy": e["t0.npy"]}))
    assert "does not list" in _load_error(tmp_path, extra)


class _Marker:
    """Unpickling this would create a file: the proof that code ran."""

    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_payloads_never_run(tmp_path):
    marker = tmp_path / "pwned"
    _Marker.path = str(marker)
    payloads = {"raw pickle": pickle.dumps({"w": _Marker()})}
    obj_npy = io.BytesIO()
    np.save(obj_npy, np.array([_Marker()], dtype=object), allow_pickle=True)
    payloads["object .npy"] = obj_npy.getvalue()
    obj_npz = io.BytesIO()
    np.savez(obj_npz, __manifest__=np.frombuffer(b"{}", np.uint8),
             t0=np.array([_Marker()], dtype=object))
    payloads["object array in .npz"] = obj_npz.getvalue()
    torch_style = io.BytesIO()  # torch.save's layout: a zip holding data.pkl
    with zipfile.ZipFile(torch_style, "w") as z:
        z.writestr("archive/data.pkl", payloads["raw pickle"])
    payloads["torch.save-style zip"] = torch_style.getvalue()
    for what, data in payloads.items():
        msg = _load_error(tmp_path, data)
        assert "not a valid tensorcore checkpoint" in msg, what
        assert not marker.exists(), f"{what}: loading ran code from the file"
    pickle.loads(payloads["raw pickle"])  # the marker works: unpickling does create it
    assert marker.exists()
