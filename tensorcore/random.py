"""Random sampling as PyTorch's: ``rand_like``, ``randn_like``, ``randint_like``,
``bernoulli``, ``multinomial``, ``normal``, and the in-place samplers ``Tensor.uniform_``,
``normal_``, ``bernoulli_``, ``exponential_`` and ``random_``.

Every sample comes from the tensor's backend generator (seeded by ``tensorcore.manual_seed``)
or from ``generator=`` (a ``tensorcore.Generator``), in the tensor's dtype and on its device;
the argument checks and their errors are PyTorch's. As there, an output drawn from tensor
parameters (``bernoulli(p)``, ``normal(mean, std)``) requires grad when they do, with zero
gradients (no reparameterisation).

>>> import tensorcore as tc
>>> tc.manual_seed(0); a = tc.empty(3).uniform_(-1, 1)
>>> bool(((a >= -1) & (a < 1)).all())
True
>>> tc.multinomial(tc.tensor([0.0, 0.0, 1.0]), 2, replacement=True).tolist()
[2, 2]
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import creation
from .autograd.function import Function
from .compiler import state as _compile_state
from .ops._util import const
from .ops.inplace import inplace, torch_name
from .tensor import Tensor

__all__ = ["rand_like", "randn_like", "randint_like", "bernoulli", "multinomial", "normal",
           "poisson"]
TENSOR_METHODS = ["uniform_", "normal_", "bernoulli_", "exponential_", "random_", "bernoulli",
                  "multinomial"]

_P_IN = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
         "message be improved?  If so, please report an enhancement request to PyTorch.)")
# PyTorch's C++ names of the dtypes, in its bounds messages
_CPP_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "int32": "int",
              "int64": "int64_t", "bool": "bool"}


class _Drawn(Function):
    """``sample``, drawn from distributions whose parameters are the tensor inputs: each
    parameter's gradient is zero, as PyTorch's (no reparameterisation)."""

    @staticmethod
    def forward(ctx, sample, *params):
        ctx.params = [(p._data.shape, p._data.dtype) for p in params]
        return sample

    @staticmethod
    def backward(ctx, g):
        xp = g._backend.xp
        return (None, *(const(g, xp.zeros(shape, dtype)) if need else None
                        for need, (shape, dtype) in zip(ctx.needs_input_grad[1:], ctx.params)))


def _drawn(sample, backend, *params) -> Tensor:
    params = [p for p in params if isinstance(p, Tensor)]
    if params:
        return _Drawn.apply(sample, *params)
    return Tensor._make(sample, backend)


def _check_tensor(t, fn: str, name: str = "input") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position 1) must be Tensor, not "
                        f"{type(t).__name__}")


def _floating(t: Tensor, kernel: str) -> None:
    """PyTorch's NotImplementedError for a sampler that only fills floating-point tensors."""
    if t._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{torch_name(t._data.dtype)}'")


def _uniform01(backend, shape, rng):
    """float64 samples of U[0, 1) on ``backend`` (a recorded kernel call under compile)."""
    return backend.uniform(tuple(shape), np.float64, rng)


def _write(t: Tensor, sample, params=()) -> Tensor:
    """``t`` with every element replaced by ``sample`` (an array of its shape and dtype), as
    an in-place op: a leaf that requires grad raises, a recorded one gets zero gradients."""
    def mutate(x):
        x[...] = sample

    return inplace(t, lambda orig: _Drawn.apply(sample, orig, *params), list(params), mutate)


# -- creation from a tensor's shape ----------------------------------------------------------
def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None, generator=None) -> Tensor:
    """A tensor like ``input`` of samples of U[0, 1) (``torch.rand_like``)."""
    _check_tensor(input, "rand_like")
    dtype, device = creation._like(input, dtype, device)
    return creation.rand(input.shape, dtype=dtype, device=device, requires_grad=requires_grad,
                         generator=generator)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None, generator=None) -> Tensor:
    """A tensor like ``input`` of standard normal samples (``torch.randn_like``)."""
    _check_tensor(input, "randn_like")
    dtype, device = creation._like(input, dtype, device)
    return creation.randn(input.shape, dtype=dtype, device=device, requires_grad=requires_grad,
                          generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None,
                 requires_grad=False, memory_format=None, generator=None) -> Tensor:
    """A tensor like ``input`` of integers uniform on [low, high), in ``input``'s dtype
    (``torch.randint_like(input, high)`` or ``(input, low, high)``)."""
    _check_tensor(input, "randint_like")
    if high is None:
        low, high = 0, low
    dtype, device = creation._like(input, dtype, device)
    out = creation.empty(input.shape, dtype=dtype, device=device)
    random_(out, low, high, generator=generator)
    return creation._finish(out._data, out._backend, requires_grad)


# -- bernoulli -------------------------------------------------------------------------------
def _probability(p: float) -> float:
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return p


def _checking() -> bool:
    """Whether to check sampled-from values on the host: not while ``tc.compile`` traces a
    step (a host read would make it run eagerly; dropout's probabilities go unchecked too)."""
    return _compile_state.current() is None


def _check_probabilities(p: Tensor) -> None:
    x = p._data
    if x.size and _checking() and not bool(p._backend.xp.all((x >= 0) & (x <= 1))):
        raise RuntimeError(_P_IN)


def bernoulli(input, p=None, *, generator=None, out=None) -> Tensor:
    """0/1 samples, 1 with probability ``input`` elementwise (or ``p`` for every element), in
    ``input``'s dtype (``torch.bernoulli``)."""
    _check_tensor(input, "bernoulli")
    if out is not None:
        raise TypeError("bernoulli(): out= is not supported by tensorcore")
    b, x = input._backend, input._data
    if p is not None:
        if isinstance(p, Tensor):
            return bernoulli_(input.detach().clone(), p, generator=generator)
        prob = _probability(float(p))
        u = _uniform01(b, x.shape, creation._rng(generator))
        return _drawn((u < prob).astype(x.dtype), b, input)
    _floating(input, "bernoulli_tensor_cpu_p_")
    _check_probabilities(input)
    u = _uniform01(b, x.shape, creation._rng(generator))
    return _drawn((u < x).astype(x.dtype), b, input)


def bernoulli_(self, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples, 1 with probability ``p`` (a number, or a tensor broadcast to
    ``self``'s shape)."""
    b, x = self._backend, self._data
    rng = creation._rng(generator)
    if isinstance(p, Tensor):
        if p._backend.device != b.device:
            p = p.to(self.device)
        _floating(p, "bernoulli_tensor_cpu_p_")
        _check_probabilities(p)
        probs = p.expand(self.shape)._data  # PyTorch's error where p does not broadcast
        sample = (_uniform01(b, x.shape, rng) < probs).astype(x.dtype)
        return _write(self, sample, [p])
    if isinstance(p, bool) or not isinstance(p, numbers.Real):
        raise TypeError(f"bernoulli_(): argument 'p' must be float or Tensor, not "
                        f"{type(p).__name__}")
    prob = _probability(float(p))
    return _write(self, (_uniform01(b, x.shape, rng) < prob).astype(x.dtype))


# -- multinomial -----------------------------------------------------------------------------
def multinomial(input, num_samples, replacement=False, *, generator=None, out=None) -> Tensor:
    """``num_samples`` category indices per row of the weights ``input`` (1-D or 2-D),
    drawn with or without replacement, as int64 (``torch.multinomial``)."""
    _check_tensor(input, "multinomial")
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise TypeError(f"multinomial(): argument 'num_samples' (position 2) must be int, not "
                        f"{type(num_samples).__name__}")
    if out is not None:
        raise TypeError("multinomial(): out= is not supported by tensorcore")
    b, x = input._backend, input._data
    xp = b.xp
    if x.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if x.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{torch_name(x.dtype)}")
    n = int(num_samples)
    if n <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = x.shape[-1]
    if not replacement and n > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if categories > 2 ** 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    w = x.reshape(-1, categories).astype(np.float64)
    rows = w.shape[0]
    rng = creation._rng(generator)
    if rows == 0:
        picks = xp.zeros((0, n), dtype=np.int64)
    elif not replacement or n == 1:
        picks = _without_replacement(b, w, n, rng)
    else:
        picks = _with_replacement(b, w, n, rng)
    return Tensor._make(picks.reshape(x.shape[:-1] + (n,)), b)


def _without_replacement(b, w, n, rng):
    """PyTorch's algorithm: the ``n`` largest ``w / q`` with ``q ~ Exp(1)`` per row (the
    Gumbel-top-k trick, which draws as sequential sampling without replacement does)."""
    xp = b.xp
    if not (w.shape[1] and bool(xp.all(w >= 0)) and bool(xp.all(w < math.inf))):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool(xp.any(w.sum(axis=1) == 0)):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    q = -xp.log1p(-_uniform01(b, w.shape, rng))
    keys = w / q
    return xp.argsort(-keys, axis=1, kind="stable")[:, :n].astype(np.int64)


def _with_replacement(b, w, n, rng):
    """Inverse-CDF sampling per row; PyTorch's checks, row by row: an entry that is not
    >= 0 (NaN included), then one that is infinite, then a sum that is not positive."""
    xp = b.xp
    negative = ~(w >= 0)
    infinite = xp.isinf(w)
    sums = w.sum(axis=1)
    row_bad = xp.any(negative | infinite, axis=1) | ~(sums > 0)
    if bool(xp.any(row_bad)):
        r = int(xp.argmax(row_bad))
        bad = negative[r] | infinite[r]
        if bool(xp.any(bad)):
            first = int(xp.argmax(bad))
            what = "probability entry < 0" if bool(negative[r, first]) else \
                "probability entry = infinity or NaN"
            raise RuntimeError(f"invalid multinomial distribution (encountering {what})")
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    cdf = xp.cumsum(w, axis=1) / sums[:, None]
    u = _uniform01(b, (w.shape[0], n), rng)
    picks = xp.stack([xp.searchsorted(cdf[r], u[r], side="right") for r in range(w.shape[0])])
    # rounding may leave the last cumulative value below a draw: the last category with weight
    last = w.shape[1] - 1 - xp.argmax(w[:, ::-1] > 0, axis=1)
    return xp.minimum(picks, last[:, None]).astype(np.int64)


# -- normal ----------------------------------------------------------------------------------
def _std_number(std: float) -> float:
    if not std >= 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    return std


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False, out=None) -> Tensor:
    """Normal samples of mean ``mean`` and standard deviation ``std``, each a tensor
    (broadcast together; the result has ``mean``'s dtype, or ``std``'s when ``mean`` is a
    number) or numbers with ``size`` (``torch.normal``)."""
    if out is not None:
        raise TypeError("normal(): out= is not supported by tensorcore")
    rng = creation._rng(generator)
    mt, st = isinstance(mean, Tensor), isinstance(std, Tensor)
    if size is not None or not (mt or st):
        if size is None:
            raise TypeError("normal(): a number mean and std need a size (normal(mean, std, "
                            "size))")
        if (mt and mean.ndim) or (st and std.ndim):
            raise TypeError("normal(): with a size, mean and std must be numbers")
        m = float(mean.item() if mt else mean)
        s = _std_number(float(std.item() if st else std))
        z = creation.randn(creation._size((size,), None, "normal"), dtype=dtype, device=device,
                           generator=generator)
        return creation._finish((z._data * s + m).astype(z._data.dtype), z._backend,
                                requires_grad)
    like = mean if mt else std
    _floating(like, "normal_kernel_cpu")
    b, dt = like._backend, like._data.dtype
    xp = b.xp
    if st:
        if std._backend.device != b.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found "
                               f"{like.device} and {std.device}")
        sd = std._data
        if sd.size and _checking() and not bool(xp.all(sd >= 0)):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    else:
        sd = _std_number(float(std))
    md = mean._data if mt else float(mean)
    shape = _broadcast(getattr(md, "shape", ()), getattr(sd, "shape", ()))
    z = b.normal(tuple(shape), dt, rng)
    sample = (md + z * sd).astype(dt, copy=False)
    return _drawn(sample, b, mean, std)


def _broadcast(a: tuple, b: tuple) -> tuple:
    """The broadcast shape of ``a`` and ``b``; PyTorch's RuntimeError where there is none."""
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and 1 not in (a[-i], b[-i]):
            raise RuntimeError(f"The size of tensor a ({a[-i]}) must match the size of tensor "
                               f"b ({b[-i]}) at non-singleton dimension {max(len(a), len(b)) - i}")
    return np.broadcast_shapes(a, b)


_POISSON_MAX = 1e18  # NumPy's sampler takes rates up to about 9.2e18


def poisson(input, generator=None) -> Tensor:
    """Poisson samples with the rates ``input`` elementwise, in its dtype
    (``torch.poisson``); a rate above 1e18 (or inf, NaN) gives the rate itself."""
    _check_tensor(input, "poisson")
    _floating(input, "poisson_cpu")
    b, x = input._backend, input._data
    xp = b.xp
    if x.size and bool(xp.any(x < 0)):
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    huge = ~(x <= _POISSON_MAX)
    sample = b.poisson(xp.where(huge, 0, x).astype(x.dtype), creation._rng(generator))
    return _drawn(xp.where(huge, x, sample).astype(x.dtype, copy=False), b, input)


# -- in-place samplers -----------------------------------------------------------------------
def _bound(value, name: str):
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"argument '{name}' must be a number, not {type(value).__name__}")
    return value


def uniform_(self, low=0.0, high=1.0, *, generator=None, **bounds) -> Tensor:
    """Fill with samples of U[from, to) (``Tensor.uniform_(from=0, to=1)``)."""
    low, high = _bound(bounds.pop("from", low), "from"), _bound(bounds.pop("to", high), "to")
    if bounds:
        raise TypeError(f"uniform_() got an unexpected keyword argument {next(iter(bounds))!r}")
    _floating(self, "check_uniform_bounds")
    dt = self._data.dtype
    name, top = _CPP_NAMES[dt.name], float(np.finfo(dt).max)
    for v, which in ((low, "from"), (high, "to")):
        if not -top <= v <= top:
            raise RuntimeError(f"{which} is out of bounds for {name}")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={low:g} > to={high:g}")
    if high - low > top:
        raise RuntimeError(f"uniform_ expects to-from <= std::numeric_limits<"
                           f"{torch_name(dt)}>::max(), but found to={high:g} and from={low:g} "
                           f"which result in to-from to exceed the limit")
    b = self._backend
    u = _uniform01(b, self._data.shape, creation._rng(generator))
    sample = (u * (float(high) - float(low)) + float(low)).astype(dt)
    if low < high:  # rounding to the dtype may reach ``to``: keep [from, to)
        sample = b.xp.minimum(sample, np.nextafter(dt.type(high), dt.type(low)))
    return _write(self, sample)


def normal_(self, mean=0.0, std=1.0, *, generator=None) -> Tensor:
    """Fill with samples of N(mean, std**2)."""
    mean, std = _bound(mean, "mean"), _std_number(float(_bound(std, "std")))
    _floating(self, "normal_kernel_cpu")
    dt = self._data.dtype
    z = self._backend.normal(self._data.shape, dt, creation._rng(generator))
    return _write(self, (z * std + mean).astype(dt, copy=False))


def exponential_(self, lambd=1.0, *, generator=None) -> Tensor:
    """Fill with samples of the exponential distribution of rate ``lambd``."""
    lambd = float(_bound(lambd, "lambd"))
    if self._data.dtype.kind != "f":
        raise RuntimeError(f"Exponential distribution is a continuous probability "
                           f"distribution. dtype must be a floating point but you specified "
                           f"{torch_name(self._data.dtype)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    u = _uniform01(self._backend, self._data.shape, creation._rng(generator))
    return _write(self, (-self._backend.xp.log1p(-u) / lambd).astype(self._data.dtype))


def _random_range(dt: np.dtype, low, high) -> tuple[int, int]:
    """The integers [low, high) of ``random_(low, high)`` in dtype ``dt``, checked as
    PyTorch's; ``high`` None: to the dtype's largest exactly representable integer."""
    if dt.kind == "b":
        lo_min, hi_max = 0, 1
    elif dt.kind == "f":  # the integers it holds exactly: 2**24 for float32
        lo_min, hi_max = None, 2 ** (np.finfo(dt).nmant + 1)
    else:
        lo_min, hi_max = int(np.iinfo(dt).min), int(np.iinfo(dt).max)
    if high is None:
        return int(low), hi_max + 1
    low, high = int(low), int(high)
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    if dt.kind != "f":
        if low < lo_min:
            raise RuntimeError(f"from is out of bounds for {_CPP_NAMES[dt.name]}")
        if high - 1 > hi_max:
            raise RuntimeError(f"to - 1 is out of bounds for {_CPP_NAMES[dt.name]}")
    else:
        top = float(np.finfo(dt).max)
        if low < -top:
            raise RuntimeError(f"from is out of bounds for {_CPP_NAMES[dt.name]}")
        if high - 1 > top:
            raise RuntimeError(f"to - 1 is out of bounds for {_CPP_NAMES[dt.name]}")
        if low < -2 ** 63 or high > 2 ** 63:
            raise RuntimeError(f"random_ draws int64 integers: from={low} and to={high} must "
                               f"lie in [-2**63, 2**63]")
    return low, high


def random_(self, low=None, high=None, *, generator=None, **bounds) -> Tensor:
    """Fill with integers uniform on [from, to): ``random_()`` over the dtype's exactly
    representable nonnegative integers, ``random_(to)`` from 0, ``random_(from, to)``."""
    only_to = low is not None and high is None and not bounds
    low, high = bounds.pop("from", low), bounds.pop("to", high)
    if bounds:
        raise TypeError(f"random_() got an unexpected keyword argument {next(iter(bounds))!r}")
    if only_to:
        low, high = 0, low
    dt = self._data.dtype
    low, high = _random_range(dt, 0 if low is None else _bound(low, "from"),
                              None if high is None else _bound(high, "to"))
    ints = self._backend.integers(low, high, self._data.shape, np.int64,
                                  creation._rng(generator))
    return _write(self, ints.astype(dt))


for _name in TENSOR_METHODS:
    setattr(Tensor, _name, globals()[_name])
