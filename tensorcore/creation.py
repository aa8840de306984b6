"""Creation and random functions: ``zeros``, ``arange``, ``randn``, ``manual_seed`` ...

All take ``dtype=``, ``device=`` and ``requires_grad=`` as in PyTorch. Random numbers come
from the backend's seeded generator: ``manual_seed`` makes runs reproducible.

>>> import tensorcore as tc
>>> tc.manual_seed(0); a = tc.randn(2)
>>> tc.manual_seed(0); bool((a == tc.randn(2)).all())
True
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _dtype
from .backends import get_backend, manual_seed, seed_value  # noqa: F401  (re-exported)
from .compiler import state as _compile_state
from .ops._dims import size_arg
from .tensor import Tensor, _check_bool


def _size(size, keyword, op):
    """The size of ``op(2, 3)``, ``op((2, 3))`` or ``op(size=...)`` as ints (a float or bool
    size, or none at all, is a TypeError as in PyTorch)."""
    size = size_arg(size, keyword, "size", op)
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


def zeros(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.zeros(_size(sizes, size, "zeros"), _float_dtype(dtype)), b,
                   requires_grad)


def ones(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.ones(_size(sizes, size, "ones"), _float_dtype(dtype)), b,
                   requires_grad)


def empty(*sizes, size=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.empty(_size(sizes, size, "empty"), _float_dtype(dtype)), b,
                   requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    if dtype is None:
        dtype = (_dtype.bool_ if isinstance(fill_value, bool) else _dtype.int64
                 if isinstance(fill_value, int) else None)
    return _finish(b.xp.full(_size((size,), None, "full"),
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
    """Values from ``start`` to ``end`` (excluded) by ``step``; the checks are PyTorch's, in
    its order: no bool dtype, a nonzero step, finite bounds, a step that moves toward
    ``end``."""
    if end is None:
        start, end = 0, start
    start, end, step = (_number(v, name) for v, name in ((start, "start"), (end, "end"),
                                                            (step, "step")))
    if dtype is not None and _dtype.as_dtype(dtype) == _dtype.bool_:
        raise NotImplementedError('"arange_cpu" not implemented for \'Bool\'')
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    if (step > 0 and end < start) or (step < 0 and end > start):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_int = all(isinstance(v, int) for v in (start, end, step))  # bools count
        dtype = _dtype.int64 if is_int else _dtype.get_default_dtype()
    dt = _dtype.as_dtype(dtype).np
    b = get_backend(device)
    if np.dtype(dt).kind in "iu":
        return _finish(b.xp.asarray(_int_range(start, end, step, dt)), b, requires_grad)
    return _finish(b.xp.arange(start, end, step, dtype=dt), b, requires_grad)


def _int_range(start, end, step, dt):
    """PyTorch's integer ``arange``: the bounds and step truncated toward zero, the values
    ``start + i * step`` wrapped to ``dt``; the length is counted in truncated integers for
    int64 (a step that truncates to 0 is a ValueError) and from the exact bounds otherwise."""
    s, st = int(start), int(step)
    if dt == np.int64:
        if st == 0:
            raise ValueError("step must be nonzero")
        q = int(end) - s + st - (1 if st > 0 else -1)
        n = abs(q) // abs(st) if (q >= 0) == (st > 0) else 0
    else:
        n = math.ceil((end - start) / step)
    return (np.arange(max(n, 0), dtype=np.int64) * st + s).astype(dt)


def _number(v, name):
    """A bound or step of ``arange`` as a Python number (a 0-d tensor or NumPy scalar too)."""
    if isinstance(v, Tensor) and v.ndim == 0:
        v = v.item()
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    raise TypeError(f"arange(): argument '{name}' must be Number, not {type(v).__name__}")


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    b = get_backend(device)
    return _finish(b.xp.linspace(start, end, int(steps), dtype=_float_dtype(dtype)), b,
                   requires_grad)


def logspace(start, end, steps: int, base=10.0, *, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """``steps`` values ``base ** x`` for ``x`` evenly spaced from ``start`` to ``end``
    (``torch.logspace``)."""
    b = get_backend(device)
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    exponents = b.xp.linspace(float(start), float(end), steps, dtype=np.float64)
    return _finish((float(base) ** exponents).astype(_float_dtype(dtype)), b, requires_grad)


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
        from ``-2**63`` to ``2**64 - 1``, a negative one counting as ``seed + 2**64`` (the value
        ``initial_seed`` returns); returns the generator."""
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        self._seed = seed_value(int(seed))
        self.rng = np.random.default_rng(self._seed)
        _compile_state.structure_changed()  # compiled plans hold the old stream
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


def _floating_only(dtype, kernel: str) -> None:
    """PyTorch's NotImplementedError for a sampler of floats asked for another dtype."""
    if dtype is not None and not _dtype.as_dtype(dtype).is_floating_point:
        from .ops.inplace import torch_name

        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{torch_name(_dtype.as_dtype(dtype).np)}'")


def rand(*sizes, size=None, dtype=None, device=None, requires_grad=False,
         generator=None) -> Tensor:
    """Uniform samples on [0, 1)."""
    b = get_backend(device)
    shape = _size(sizes, size, "rand")
    _floating_only(dtype, "check_uniform_bounds")
    return _finish(b.uniform(shape, _float_dtype(dtype), _rng(generator)), b, requires_grad)


def randn(*sizes, size=None, dtype=None, device=None, requires_grad=False,
          generator=None) -> Tensor:
    """Standard normal samples."""
    b = get_backend(device)
    shape = _size(sizes, size, "randn")
    _floating_only(dtype, "normal_kernel_cpu")
    return _finish(b.normal(shape, _float_dtype(dtype), _rng(generator)), b, requires_grad)


def randint(low, high=None, size=(), *, dtype=None, device=None, generator=None) -> Tensor:
    """Integers uniform on [low, high)."""
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    b = get_backend(device)
    dt = _dtype.int64 if dtype is None else _dtype.as_dtype(dtype)
    shape = _size((size,), None, "randint")
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
