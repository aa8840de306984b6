"""The Tensor API: construction and dtype inference, attributes and conversions, printing,
creation functions, seeding, NumPy / DLPack interop, devices and backend selection.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import forget_cuda_backends, serve_cuda_with, to_numpy

import tensorcore as tc

ON_GPU = tc.cuda.is_available()


def needs_host(device):
    if tc.device(device).type != "cpu":
        pytest.skip("shares host memory: CPU tensors only")


# -- construction and dtype inference ---------------------------------------------------------
@pytest.mark.parametrize("data, dtype, shape", [
    (1.5, tc.float32, ()),
    (3, tc.int64, ()),
    (True, tc.bool, ()),
    ([1.0, 2.0], tc.float32, (2,)),
    ([[1, 2, 3], [4, 5, 6]], tc.int64, (2, 3)),
    ([[True], [False]], tc.bool, (2, 1)),
    ([1, 2.5], tc.float32, (2,)),
    (np.array([1.0, 2.0]), tc.float64, (2,)),
    (np.array([1.0], dtype=np.float32), tc.float32, (1,)),
    (np.array([[1, 2]], dtype=np.int32), tc.int32, (1, 2)),
    (np.array([1, 2], dtype=np.int64), tc.int64, (2,)),
    (np.array([True, False]), tc.bool, (2,)),
    (np.float64(2.0), tc.float64, ()),
])
def test_dtype_inference(device, data, dtype, shape):
    t = tc.tensor(data, device=device)
    assert t.dtype == dtype
    assert t.shape == shape and t.ndim == len(shape)
    assert t.device == tc.device(device)
    expected = np.asarray(data)
    np.testing.assert_array_equal(to_numpy(t), expected.astype(dtype.np))


def test_construction_copies_numpy_input(device):
    a = np.array([1.0, 2.0])
    t = tc.tensor(a, device=device)
    a[0] = 100.0
    np.testing.assert_array_equal(to_numpy(t), [1.0, 2.0])


def test_dtype_device_requires_grad_arguments(device):
    t = tc.tensor([1, 2, 3], dtype=tc.float64, device=device, requires_grad=True)
    assert t.dtype == tc.float64 and t.requires_grad and t.is_leaf and t.grad_fn is None
    assert t.grad is None
    for spec in ("float32", np.float32, float):
        assert tc.tensor([1], dtype=spec, device=device).dtype == tc.float32
    assert tc.tensor([1.7], dtype=tc.int64, device=device).tolist() == [1]
    assert tc.tensor([0, 2], dtype=tc.bool, device=device).tolist() == [False, True]


def test_requires_grad_on_integer_tensor_raises(device):
    with pytest.raises(RuntimeError, match="floating point"):
        tc.tensor([1, 2], device=device, requires_grad=True)
    t = tc.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="floating point"):
        t.requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        tc.arange(3, device=device, requires_grad=True)


@pytest.mark.parametrize("bad", [np.array([1 + 2j]), np.array(["a", "b"]), ["a", "b"], "abc",
                                 np.array([1.0], dtype=np.complex64)])
def test_unsupported_dtype_raises_type_error(device, bad):
    with pytest.raises(TypeError):
        tc.tensor(bad, device=device)


@pytest.mark.parametrize("np_dtype, expected", [
    (np.uint8, tc.int32), (np.int8, tc.int32), (np.int16, tc.int32), (np.uint16, tc.int32),
    (np.uint32, tc.int64), (np.uint64, tc.int64)])
def test_other_integer_widths_are_converted(device, np_dtype, expected):
    t = tc.tensor(np.array([1, 2], dtype=np_dtype), device=device)
    assert t.dtype == expected and t.tolist() == [1, 2]
    assert "dtype" in repr(t) or expected == tc.int64
    assert tc.tensor(np_dtype(3), device=device).dtype == expected
    with pytest.raises(TypeError, match="share memory"):
        tc.from_numpy(np.array([1, 2], dtype=np_dtype))


def test_default_dtype_applies_to_python_floats(device):
    assert tc.get_default_dtype() == tc.float32
    tc.set_default_dtype(tc.float64)
    try:
        assert tc.tensor(1.5, device=device).dtype == tc.float64
        assert tc.zeros(2, device=device).dtype == tc.float64
        assert tc.arange(0.0, 1.0, 0.5, device=device).dtype == tc.float64
        assert tc.tensor([1, 2], device=device).dtype == tc.int64
        assert "dtype" not in repr(tc.tensor([1.5], device=device))
    finally:
        tc.set_default_dtype(tc.float32)
    with pytest.raises(TypeError):
        tc.set_default_dtype(tc.int64)


def test_unsupported_dtype_from_numpy_raises():
    with pytest.raises(TypeError):
        tc.from_numpy(np.array([1 + 1j]))
    with pytest.raises(TypeError):
        tc.from_numpy([1.0, 2.0])


def test_ragged_list_raises(device):
    with pytest.raises((TypeError, ValueError)):
        tc.tensor([[1.0, 2.0], [3.0]], device=device)


def test_tensor_from_list_of_tensors(device):
    a, b = tc.tensor(1.0, device=device), tc.tensor(2.0, device=device)
    t = tc.tensor([a, b], device=device)
    assert t.tolist() == [1.0, 2.0] and t.dtype == tc.float32


# -- attributes and conversions -------------------------------------------------------------
def test_basic_attributes(device):
    t = tc.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device, requires_grad=True)
    assert t.shape == (2, 3) and t.size() == (2, 3) and t.size(1) == 3 and t.size(-1) == 3
    assert t.ndim == 2 and t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.dtype == tc.float32 and t.device == tc.device(device)
    assert t.is_leaf and t.grad_fn is None and t.requires_grad
    y = t * 2
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert tc.tensor(0.0, device=device).ndim == 0


def test_item(device):
    assert tc.tensor([3.5], device=device).item() == 3.5
    v = tc.tensor(7, device=device).item()
    assert v == 7 and type(v) is int
    assert type(tc.tensor(2.0, device=device).item()) is float
    assert tc.tensor(True, device=device).item() is True
    with pytest.raises(RuntimeError, match="2 elements"):
        tc.tensor([1.0, 2.0], device=device).item()


def test_numpy_shares_memory(device):
    needs_host(device)
    t = tc.tensor([1.0, 2.0, 3.0], device=device)
    a = t.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0] = -5.0
    assert t.tolist() == [-5.0, 2.0, 3.0]
    t.mul_(2.0)
    np.testing.assert_array_equal(a, [-10.0, 4.0, 6.0])


def test_numpy_on_tensor_requiring_grad_raises(device):
    needs_host(device)
    t = tc.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    np.testing.assert_array_equal(t.detach().numpy(), [1.0, 1.0])


def test_detach_shares_data_and_leaves_graph(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d.add_(1.0)  # shared memory: y sees it
    assert y.tolist() == [4.0, 7.0]


def test_requires_grad_(device):
    t = tc.zeros(2, device=device)
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad
    t.requires_grad = True
    assert t.requires_grad
    y = t * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_dtype_conversions(device):
    x = tc.tensor([[1.7, -2.2]], device=device, requires_grad=True)
    d = x.double()
    assert d.dtype == tc.float64 and d.grad_fn is not None
    np.testing.assert_allclose(to_numpy(d), [[1.7, -2.2]], rtol=1e-6)
    assert x.float() is x  # already float32: no copy, as in PyTorch
    assert x.to(tc.float32) is x
    lng = x.long()
    assert lng.dtype == tc.int64 and lng.tolist() == [[1, -2]]
    assert not lng.requires_grad and lng.grad_fn is None  # integers are not differentiable
    assert x.to(tc.bool).dtype == tc.bool and not x.to(tc.bool).requires_grad
    assert x.to(tc.float16).dtype == tc.float16
    assert x.to(dtype=tc.float64).dtype == tc.float64
    assert tc.tensor([1, 2], device=device).float().dtype == tc.float32
    # gradient flows back through a float cast, in the input's dtype
    (d * d).sum().backward()
    assert x.grad.dtype == tc.float32
    np.testing.assert_allclose(to_numpy(x.grad), [[3.4, -4.4]], rtol=1e-6)


def test_to_device_and_cpu(device):
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    c = x.cpu()
    assert c.device == tc.device("cpu") and c.tolist() == [1.0, 2.0]
    if tc.device(device).type == "cpu":
        assert c is x and x.to("cpu") is x and x.to(tc.device("cpu")) is x
    assert x.to(device) is x
    y = x.to(device, tc.float64)
    assert y.dtype == tc.float64 and y.device == tc.device(device)
    other = tc.zeros(1, dtype=tc.float64, device=device)
    assert x.to(other).dtype == tc.float64
    assert x.to("cpu", copy=True) is not x


def test_clone_and_contiguous(device):
    x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and c.tolist() == x.tolist()
    with tc.no_grad():
        c.add_(1.0)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]  # clone does not share memory
    (c * 2).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), np.full((2, 2), 2.0))
    assert x.contiguous() is x and x.is_contiguous()
    t = x.T
    assert not t.is_contiguous()
    tc_ = t.contiguous()
    assert tc_.is_contiguous() and tc_.tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_scalar_conversions(device):
    assert float(tc.tensor(2.5, device=device)) == 2.5
    assert int(tc.tensor(3, device=device)) == 3
    assert bool(tc.tensor([1.0], device=device)) is True
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tc.tensor([1.0, 2.0], device=device))
    assert [1, 2, 3][tc.tensor(1, device=device)] == 2
    with pytest.raises(TypeError):
        len(tc.tensor(1.0, device=device))


# -- printing -------------------------------------------------------------------------------------
def test_repr(device):
    t = tc.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    r = repr(t)
    assert r.startswith("tensor(") and "1." in r and "4." in r
    assert "dtype" not in r and "grad_fn" not in r
    assert "dtype=tensorcore.float64" in repr(tc.tensor([1.5], dtype=tc.float64, device=device))
    assert "dtype=tensorcore.int32" in repr(tc.tensor([1], dtype=tc.int32, device=device))
    assert "dtype" not in repr(tc.tensor([1, 2], device=device))
    assert "dtype" not in repr(tc.tensor([True], device=device))
    x = tc.tensor([1.0, 2.0], device=device, requires_grad=True)
    assert "requires_grad=True" in repr(x)
    y = x * 2
    assert "grad_fn=<MulBackward0>" in repr(y)
    assert "requires_grad" not in repr(y)
    s = repr(tc.tensor([0.25, 1.5], device=device))
    assert "0.25" in s and "1.5" in s
    if tc.device(device).type == "cuda":
        assert "device='cuda" in r
    else:
        assert "device" not in r


# -- creation functions ------------------------------------------------------------------------
def test_creation_functions_values_and_dtypes(device):
    z = tc.zeros(2, 3, device=device)
    assert z.dtype == tc.float32 and z.shape == (2, 3) and not z.tolist()[0][0]
    assert tc.zeros((2, 3), device=device).shape == (2, 3)
    assert tc.ones(4, dtype=tc.float64, device=device).tolist() == [1.0] * 4
    assert tc.empty(3, device=device).shape == (3,)
    f = tc.full((2,), 3, device=device)
    assert f.dtype == tc.int64 and f.tolist() == [3, 3]
    assert tc.full((2,), 3.0, device=device).dtype == tc.float32
    assert tc.full((2,), True, device=device).dtype == tc.bool
    assert tc.full((2,), 3, dtype=tc.float64, device=device).dtype == tc.float64
    a = tc.arange(5, device=device)
    assert a.dtype == tc.int64 and a.tolist() == [0, 1, 2, 3, 4]
    assert tc.arange(2, 8, 3, device=device).tolist() == [2, 5]
    af = tc.arange(0, 1, 0.25, device=device)
    assert af.dtype == tc.float32 and af.tolist() == [0.0, 0.25, 0.5, 0.75]
    assert tc.arange(3, dtype=tc.float64, device=device).dtype == tc.float64
    ls = tc.linspace(0, 1, 5, device=device)
    assert ls.dtype == tc.float32
    np.testing.assert_allclose(to_numpy(ls), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(to_numpy(tc.eye(3, device=device)), np.eye(3))
    np.testing.assert_array_equal(to_numpy(tc.eye(2, 3, device=device)), np.eye(2, 3))
    assert tc.zeros(2, device=device, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="negative"):
        tc.zeros(-1, device=device)
    for t in (z, a, af, ls):
        assert t.device == tc.device(device)


def test_like_functions(device):
    i = tc.arange(3, device=device)
    f = tc.ones(2, 2, dtype=tc.float64, device=device, requires_grad=True)
    assert tc.zeros_like(i).dtype == tc.int64 and tc.zeros_like(i).tolist() == [0, 0, 0]
    o = tc.ones_like(f)
    assert o.dtype == tc.float64 and o.shape == (2, 2) and not o.requires_grad
    assert tc.ones_like(f, requires_grad=True).requires_grad
    assert tc.empty_like(f).shape == (2, 2)
    assert tc.full_like(f, 7).tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert tc.full_like(f, 7).dtype == tc.float64
    assert tc.zeros_like(f, dtype=tc.float32).dtype == tc.float32
    assert tc.zeros_like(f).device == tc.device(device)


def test_random_functions_dtypes_and_ranges(device):
    tc.manual_seed(1)
    r = tc.rand(1000, device=device)
    assert r.dtype == tc.float32 and r.shape == (1000,)
    rv = to_numpy(r)
    assert rv.min() >= 0 and rv.max() < 1 and 0.4 < rv.mean() < 0.6
    n = to_numpy(tc.randn(2000, dtype=tc.float64, device=device))
    assert n.dtype == np.float64 and abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    ri = tc.randint(3, 7, (500,), device=device)
    assert ri.dtype == tc.int64
    assert set(ri.tolist()) == {3, 4, 5, 6}
    assert tc.randint(5, size=(2, 2), device=device).shape == (2, 2)
    p = tc.randperm(10, device=device)
    assert p.dtype == tc.int64 and sorted(p.tolist()) == list(range(10))
    assert tc.randn(2, 3, device=device, requires_grad=True).requires_grad


def test_manual_seed_reproducible(device):
    def draw():
        return [to_numpy(tc.rand(4, device=device)), to_numpy(tc.randn(4, device=device)),
                to_numpy(tc.randint(0, 100, (6,), device=device)),
                to_numpy(tc.randperm(8, device=device))]

    tc.manual_seed(1234)
    a = draw()
    tc.manual_seed(1234)
    b = draw()
    tc.manual_seed(4321)
    c = draw()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])


# -- NumPy and DLPack interop -------------------------------------------------------------------
def test_from_numpy_shares_memory():
    a = np.arange(4.0)
    t = tc.from_numpy(a)
    assert t.dtype == tc.float64 and t.device == tc.device("cpu")
    a[1] = 10.0
    assert t.tolist() == [0.0, 10.0, 2.0, 3.0]
    t.add_(1.0)
    np.testing.assert_array_equal(a, [1.0, 11.0, 3.0, 4.0])
    i = tc.from_numpy(np.array([1, 2], dtype=np.int32))
    assert i.dtype == tc.int32


def test_as_tensor(device):
    a = np.ones(3)
    assert tc.as_tensor(a).dtype == tc.float64
    t = tc.tensor([1.0], device=device)
    assert tc.as_tensor(t) is t
    assert tc.as_tensor([1, 2], device=device).dtype == tc.int64


def test_array_protocol(device):
    t = tc.tensor([[1.0, 2.0]], device=device)
    if tc.device(device).type != "cpu":  # as PyTorch: device memory is copied with .cpu() first
        for convert in (np.asarray, np.array, np.sin):
            with pytest.raises(TypeError, match=r"cuda device type tensor to numpy\. Use "
                                                r"Tensor\.cpu\(\)"):
                convert(t)
        t = t.cpu()
    a = np.asarray(t)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    np.testing.assert_array_equal(a, [[1.0, 2.0]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    c = np.array(t)  # copy=True by default: must not alias the tensor
    c[0, 0] = 99.0
    assert t.tolist() == [[1.0, 2.0]]
    assert np.shares_memory(np.asarray(t), t.numpy())
    with pytest.raises(ValueError):
        np.array(t, dtype=np.float64, copy=False)
    np.testing.assert_allclose(np.sin(np.asarray(t)), np.sin([[1.0, 2.0]]), rtol=1e-6)


def test_dlpack_round_trip(device):
    needs_host(device)
    t = tc.tensor([1.0, 2.0, 3.0], device=device)
    a = np.from_dlpack(t)
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])
    a[0] = 7.0  # zero-copy
    assert t.tolist() == [7.0, 2.0, 3.0]
    n = np.arange(3, dtype=np.float64)
    u = tc.from_dlpack(n)
    assert u.dtype == tc.float64 and u.device == tc.device("cpu")
    n[2] = -1.0
    assert u.tolist() == [0.0, 1.0, -1.0]
    back = tc.from_dlpack(t)
    assert not back.requires_grad
    back.add_(1.0)
    assert t.tolist() == [8.0, 3.0, 4.0]
    assert t.__dlpack_device__()[0] == 1  # kDLCPU


# -- devices and backends -----------------------------------------------------------------------
def test_device_parsing():
    d = tc.device("cuda:1")
    assert d.type == "cuda" and d.index == 1 and str(d) == "cuda:1"
    assert tc.device("cuda").index is None and tc.device("cpu").type == "cpu"
    assert tc.device("cuda", 2) == tc.device("cuda:2")
    assert tc.device("cpu") == "cpu" and tc.device("cuda:0") == tc.device("cuda")
    assert tc.device(tc.device("cuda:3")).index == 3
    assert repr(tc.device("cuda:1")) == "device(type='cuda', index=1)"
    assert hash(tc.device("cuda:0")) == hash(tc.device("cuda"))
    for bad in ("tpu", "cuda:x", "cpu:1"):
        with pytest.raises(RuntimeError):
            tc.device(bad)
    with pytest.raises(TypeError):
        tc.device(3)


@pytest.mark.skipif(ON_GPU, reason="a usable GPU is present")
def test_cuda_request_without_gpu_raises(real_cuda_backend):
    assert tc.cuda.is_available() is False and tc.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="(?i)cupy|gpu"):
        tc.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="(?i)cupy|gpu"):
        tc.tensor([1.0], device="cuda:0")
    with pytest.raises(RuntimeError, match="(?i)cupy|gpu"):
        tc.set_default_device("cuda")
    assert tc.get_default_device() == tc.device("cpu")
    with pytest.raises(RuntimeError, match="(?i)cupy|gpu"):
        tc.ones(2).to("cuda")


@pytest.fixture
def fake_cuda(monkeypatch):
    """A stand-in GPU: a NumPy backend registered for the ``cuda`` device type, so device
    checks and transfers run on any machine (the real GPU runs them in the test below)."""
    from tensorcore.backends.numpy_backend import NumpyBackend

    class FakeCuda(NumpyBackend):
        name, device_type = "fakecuda", "cuda"

    serve_cuda_with(monkeypatch, FakeCuda, "fakecuda")
    yield
    forget_cuda_backends()


def test_mixing_devices_raises_with_a_stand_in_gpu(fake_cuda):
    _check_mixing_devices()


@pytest.mark.gpu
def test_mixing_devices_raises():
    _check_mixing_devices()


def _check_mixing_devices():
    a = tc.ones(2, device="cpu")
    b = tc.ones(2, device="cuda")
    assert b.device.type == "cuda" and b.is_cuda
    for op in (lambda: a + b, lambda: b * a, lambda: a @ b, lambda: a.add_(b)):
        with pytest.raises(RuntimeError, match="device"):
            op()
    moved = b.cpu()
    assert moved.device == tc.device("cpu") and (a + moved).tolist() == [2.0, 2.0]
    x = tc.ones(2, device="cpu", requires_grad=True)
    (x.to("cuda") * 3).sum().backward()
    assert x.grad.device == tc.device("cpu") and x.grad.tolist() == [3.0, 3.0]


def test_use_backend_context_manager():
    before = tc.zeros(1).backend_name
    for name in tc.backends.available_backends("cpu"):
        with tc.backends.use_backend(name):
            t = tc.zeros(2)
            assert t.backend_name == name
            assert tc.backends.get_backend_name("cpu") == name
            assert (t + 1).backend_name == name
        assert tc.zeros(1).backend_name == before
    with pytest.raises(ValueError):
        with tc.backends.use_backend("no-such-backend"):
            pass
    assert tc.zeros(1).backend_name == before
    with pytest.raises(KeyError):
        with tc.backends.use_backend("numpy"):
            raise KeyError
    assert tc.zeros(1).backend_name == before


def test_backends_mix_on_same_device():
    with tc.backends.use_backend("numpy"):
        a = tc.ones(2)
    with tc.backends.use_backend("numba"):
        b = tc.ones(2)
    assert (a + b).tolist() == [2.0, 2.0]


def _run_python(code: str, **env):
    full = {k: v for k, v in os.environ.items()
            if k not in ("TENSORCORE_DEVICE", "TENSORCORE_BACKEND")}
    full.update(env)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    full["PYTHONPATH"] = root + os.pathsep + full.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full, cwd=root,
                          capture_output=True, text=True, timeout=120)


def test_environment_variables_read_at_import():
    code = """
        import tensorcore as tc
        print(tc.zeros(1).backend_name, tc.get_default_device())
    """
    r = _run_python(code, TENSORCORE_BACKEND="numpy")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["numpy", "cpu"]
    r = _run_python(code, TENSORCORE_BACKEND="cpu=numpy", TENSORCORE_DEVICE="cpu")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["numpy", "cpu"]
    r = _run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] in tc.backends.available_backends("cpu")


def test_unknown_backend_in_environment_gives_clear_error():
    r = _run_python("import tensorcore", TENSORCORE_BACKEND="bogus")
    assert r.returncode != 0
    assert "TENSORCORE_BACKEND" in r.stderr and "bogus" in r.stderr
    assert "Traceback" not in r.stderr  # one line (tests/test_environment_variables.py)


@pytest.mark.skipif(ON_GPU, reason="a usable GPU is present")
def test_cuda_default_device_from_environment_without_gpu():
    code = """
        import tensorcore as tc
        try:
            tc.zeros(1)
        except RuntimeError as e:
            print("RuntimeError:", e)
    """
    r = _run_python(code, TENSORCORE_DEVICE="cuda")
    out = r.stdout + r.stderr
    assert "RuntimeError" in out and ("CuPy" in out or "GPU" in out), out


def test_generator_streams_are_reproducible_and_independent(device):
    g = tc.Generator().manual_seed(7)
    first = [tc.rand(3, generator=g, device=device), tc.randn(3, generator=g, device=device),
             tc.randint(0, 9, (4,), generator=g, device=device),
             tc.randperm(6, generator=g, device=device)]
    tc.manual_seed(0)
    tc.rand(5, device=device)  # the global stream does not disturb g's
    g.manual_seed(7)
    again = [tc.rand(3, generator=g, device=device), tc.randn(3, generator=g, device=device),
             tc.randint(0, 9, (4,), generator=g, device=device),
             tc.randperm(6, generator=g, device=device)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert g.initial_seed() == 7
    with pytest.raises(TypeError, match="Generator"):
        tc.rand(2, generator=42)


def test_deepcopy_and_pickle_of_leaves(device):
    import copy
    import pickle

    w = tc.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    (w * w).sum().backward()
    for clone in (copy.deepcopy(w), pickle.loads(pickle.dumps(w))):
        assert clone is not w and clone.requires_grad and clone.is_leaf
        assert clone.device == w.device and clone.dtype == w.dtype
        np.testing.assert_array_equal(to_numpy(clone), to_numpy(w))
        with tc.no_grad():
            clone.mul_(0)  # new memory: the original is untouched
        assert to_numpy(w)[1, 1] == 4.0
    assert np.array_equal(to_numpy(copy.deepcopy(w).grad), 2 * to_numpy(w))
    shared = [w, w]
    a, b = copy.deepcopy(shared)
    assert a is b  # the memo keeps one copy per original
    y = w * 2
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(y)
    with pytest.raises(RuntimeError, match="non-leaf"):
        pickle.dumps(y)
