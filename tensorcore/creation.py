"""Creation and random functions: ``zeros``, ``arange``, ``randn``, ``manual_seed`` ...

All take ``dtype=``, ``device=`` and ``requires_grad=`` as in PyTorch. Random numbers come
from the backend's seeded generator: ``manual_seed`` makes runs reproducible.

>>> import tensorcore as tc
>>> tc.manual_seed(0); a = tc.randn(2)
>>> tc.manual_seed(0); bool((a == tc.randn(2)).all())
True
"""

from __future__ import annotations

import numbers

import numpy as np

from . import _dtype
from .backends import get_backend, manual_seed, seed_value  # noqa: F401  (re-exported)
from .tensor import Tensor, _check_bool


def _size(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(size)}")
    return size


def _finish(arr, backend, requires_grad) -> Tensor:
    t = Tensor._make(arr, backend)
    if requires_grad is not False and requires_grad is not None:  # None: False, as in PyTorch
        t.requires_grad_(_check_bool(requires_grad, "argument 'requires_grad'"))
    return t


def _float_dtype(dtype):
    d = _dtype.get_default_dtype() if dtype is None else _dtype.as_dtype(dtype)
    return d.np


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.zeros(_size(size), _float_dtype(dtype)), b, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.ones(_size(size), _float_dtype(dtype)), b, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.empty(_size(size), _float_dtype(dtype)), b, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    if dtype is None:
        dtype = (_dtype.bool_ if isinstance(fill_value, bool) else _dtype.int64
                 if isinstance(fill_value, int) else None)
    return _finish(b.xp.full(_size((size,)),
                             fill_value, _float_dtype(dtype)), b, requires_grad)


def _like(t: Tensor, dtype, device):
    return (t.dtype if dtype is None else dtype), (t.device if device is None else device)


def zeros_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return zeros(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return ones(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(t, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return empty(t.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(t, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(t, dtype, device)
    return full(t.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))
        dtype = _dtype.int64 if is_int else _dtype.get_default_dtype()
    b = get_backend(device)
    return _finish(b.xp.arange(start, end, step, dtype=_dtype.as_dtype(dtype).np), b,
                   requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.linspace(start, end, int(steps), dtype=_float_dtype(dtype)), b,
                   requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False):
    b = get_backend(device)
    return _finish(b.xp.eye(n, m, dtype=_float_dtype(dtype)), b, requires_grad)


class Generator:
    """An independent, seedable random stream (``torch.Generator``): pass it as
    ``generator=`` to the random functions.

    >>> import tensorcore as tc
    >>> g = tc.Generator().manual_seed(3)
    >>> a = tc.rand(2, generator=g); g.manual_seed(3)
    <tensorcore.Generator seed=3>
    >>> bool((a == tc.rand(2, generator=g)).all())
    True
    """

    def __init__(self, device="cpu") -> None:
        from ._device import device as Device

        self.device = Device(device)
        self.seed()

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed``, as ``torch.Generator.manual_seed``: an integer
        from -2**63 to 2**64 - 1, a negative one counting as ``seed + 2**64`` (the value
        ``initial_seed`` returns); returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        self._seed = seed_value(int(seed))
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % (1 << 63))
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def __repr__(self) -> str:
        return f"<tensorcore.Generator seed={self._seed}>"


def _rng(generator):
    if generator is None:
        return None
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a tensorcore.Generator, got "
                        f"{type(generator).__name__}")
    return generator.rng


def rand(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform samples on [0, 1)."""
    b = get_backend(device)
    return _finish(b.uniform(_size(size), _float_dtype(dtype), _rng(generator)), b,
                   requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal samples."""
    b = get_backend(device)
    return _finish(b.normal(_size(size), _float_dtype(dtype), _rng(generator)), b,
                   requires_grad)


def randint(low, high=None, size=(), *, dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniform on [low, high)."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    b = get_backend(device)
    dt = _dtype.int64 if dtype is None else _dtype.as_dtype(dtype)
    shape = _size((size,))
    return Tensor._make(b.integers(low, high, shape, dt.np, _rng(generator)), b)


def randperm(n: int, *, dtype=None, device=None, generator=None) -> Tensor:
    b = get_backend(device)
    dt = _dtype.int64 if dtype is None else _dtype.as_dtype(dtype)
    return Tensor._make(b.permutation(int(n), dt.np, _rng(generator)), b)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor copying ``data`` (scalars, nested lists, NumPy arrays, tensors)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    if isinstance(data, np.ndarray) and device is None and dtype is None:
        return from_numpy(data)
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A CPU tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if _dtype.from_numpy_dtype(array.dtype).np != array.dtype:
        raise TypeError(f"can't share memory with a NumPy array of dtype {array.dtype}: "
                        f"tensorcore has no such dtype (tensorcore.tensor(array) copies it)")
    return Tensor._make(array, get_backend("cpu"))


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with any DLPack exporter (NumPy arrays, tensors, CuPy...)."""
    if isinstance(obj, Tensor):
        return obj.detach()
    kind, index = obj.__dlpack_device__()
    if int(kind) == 1:  # kDLCPU
        return from_numpy(np.from_dlpack(obj))
    backend = get_backend(f"cuda:{index}")
    return Tensor._make(backend.from_dlpack(obj), backend)
