"""More elementwise functions with PyTorch's names, values and gradients: the trigonometric
and hyperbolic ones (``tan``, ``sinh``, ``cosh``, ``asin``/``acos``/``atan`` and their
``arc*`` names), ``log2``, ``log10``, ``expm1``, ``exp2``, ``deg2rad``, ``rad2deg``; the binary
``logaddexp``, ``hypot``, ``atan2`` and ``lerp``; ``nan_to_num``, ``nansum`` and ``nanmean``.

The one-input functions are a table (``RULES``: name -> forward on arrays, what the backward
reads, the gradient as PyTorch writes it), served by one ``Function`` class per row, run by
``ops.unary``'s ``_unary`` lane. Every gradient is written with tensor ops, so it is
differentiable again; at 0, inf and NaN it is PyTorch's formula's value.

>>> import tensorcore as tc
>>> tc.log2(tc.tensor([8.0])).item(), tc.logaddexp(tc.tensor(0.0), tc.tensor(1.0)).item()
(3.0, 1.3132617473602295)
"""

from __future__ import annotations

import math

from .. import _dtype
from ..autograd.function import Function
from ..tensor import Tensor
from ._dims import dim_list, numpy_names, wrap_dim
from ._util import operands, tensors_only
from .unary import _as_float, _unary

_LN2, _LN10 = 0.6931471805599453, 2.3025850929940456
_D2R, _R2D = math.pi / 180, 180 / math.pi

# name: (forward(xp, x) on a float array, what backward reads ("in" the input, "out" the
# output, None nothing), gradient(g, saved) as PyTorch's derivatives.yaml writes it)
RULES = {
    "tan": (lambda xp, x: xp.tan(x), "out", lambda g, out: g * (1 + out * out)),
    "sinh": (lambda xp, x: xp.sinh(x), "in", lambda g, a: g * a.cosh()),
    "cosh": (lambda xp, x: xp.cosh(x), "in", lambda g, a: g * a.sinh()),
    "asin": (lambda xp, x: xp.arcsin(x), "in", lambda g, a: g * (-a * a + 1).rsqrt()),
    "acos": (lambda xp, x: xp.arccos(x), "in", lambda g, a: g * -(-a * a + 1).rsqrt()),
    "atan": (lambda xp, x: xp.arctan(x), "in", lambda g, a: g / (a * a + 1)),
    "log2": (lambda xp, x: xp.log2(x), "in", lambda g, a: g / (a * _LN2)),
    "log10": (lambda xp, x: xp.log10(x), "in", lambda g, a: g / (a * _LN10)),
    "expm1": (lambda xp, x: xp.expm1(x), "out", lambda g, out: g * (out + 1)),
    "exp2": (lambda xp, x: xp.exp2(x), "out", lambda g, out: g * out * _LN2),
    "deg2rad": (lambda xp, x: x * x.dtype.type(_D2R), None, lambda g, _: g * _D2R),
    "rad2deg": (lambda xp, x: x * x.dtype.type(_R2D), None, lambda g, _: g * _R2D),
}


class _Rule(Function):
    """One row of ``RULES``: the input as a float array (integers and bools as the default
    float dtype, as PyTorch), the row's forward, and its gradient."""

    array_forward = True
    rule: tuple = ()

    @classmethod
    def forward(cls, ctx, a):
        fwd, saves, _ = cls.rule
        out = fwd(a._backend.xp, _as_float(a))
        ctx.save_for_backward(a if saves == "in" else out if saves == "out" else None)
        return out

    @classmethod
    def backward(cls, ctx, g):
        (saved,) = ctx.saved_tensors
        return cls.rule[2](g, saved)


NODES = {name: type(name.capitalize(), (_Rule,), {"rule": rule, "__module__": __name__})
         for name, rule in RULES.items()}


def _make(name: str):
    node = NODES[name]

    def fn(input):
        return _unary(node, input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``torch.{name}``: elementwise, as a float tensor, with PyTorch's gradient."
    return fn


tan, sinh, cosh = _make("tan"), _make("sinh"), _make("cosh")
asin, acos, atan = _make("asin"), _make("acos"), _make("atan")
arcsin, arccos, arctan = asin, acos, atan
log2, log10, expm1, exp2 = _make("log2"), _make("log10"), _make("expm1"), _make("exp2")
deg2rad, rad2deg = _make("deg2rad"), _make("rad2deg")


# -- two inputs ---------------------------------------------------------------------------

def _float_pair(a, b, name: str, ints: bool):
    """The promoted arrays of ``a`` and ``b``; an integer or bool result is the default float
    dtype when ``ints`` (atan2), PyTorch's NotImplementedError otherwise."""
    x, y = operands(a, b)
    if x.dtype.kind != "f":
        if not ints:
            kind = _dtype._FROM_NP[x.dtype].name
            label = {"int64": "Long", "int32": "Int", "bool": "Bool"}.get(kind, kind)
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{label}'")
        x = x.astype(_dtype.get_default_dtype().np)
        y = y.astype(x.dtype)
    return x, y


class LogAddExp(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = _float_pair(a, b, "logaddexp", False)
        return a._backend.xp.logaddexp(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g / (1 + (b - a).exp()) if na else None,
                g / (1 + (a - b).exp()) if nb else None)


class Hypot(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = _float_pair(a, b, "hypot", False)
        out = a._backend.xp.hypot(x, y)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        return (g * a / out if na else None), (g * b / out if nb else None)


class Atan2(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        x, y = _float_pair(a, b, "atan2", True)
        return a._backend.xp.arctan2(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        recip = (a * a + b * b).reciprocal()
        recip = recip.masked_fill(recip.isinf(), 0.0)  # PyTorch's: 0 at the origin
        return (g * b * recip if na else None), (g * -a * recip if nb else None)


def logaddexp(input, other) -> Tensor:
    """``log(exp(input) + exp(other))`` elementwise without overflow (floats only)."""
    tensors_only("logaddexp", input, other)
    return LogAddExp.apply(input, other)


def hypot(input, other) -> Tensor:
    """``sqrt(input**2 + other**2)`` elementwise (floats only)."""
    tensors_only("hypot", input, other)
    return Hypot.apply(input, other)


def atan2(input, other) -> Tensor:
    """The angle of the point ``(other, input)``: ``atan(input / other)`` in the right
    quadrant, elementwise, as a float tensor."""
    tensors_only("atan2", input, other)
    return Atan2.apply(input, other)


arctan2 = atan2


class Lerp(Function):
    """``input + weight * (end - input)``, computed as PyTorch does (from ``end`` when
    ``|weight| >= 0.5``, so ``weight = 1`` gives ``end`` exactly)."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, b, w):
        xp = a._backend.xp
        x, y = a._data, b._data
        wt = w._data.astype(x.dtype, copy=False) if isinstance(w, Tensor) else w
        ctx.save_for_backward(a, b, w if isinstance(w, Tensor) else None)
        ctx.w = None if isinstance(w, Tensor) else w
        diff = y - x
        return xp.where(xp.abs(wt) < 0.5, x + wt * diff, y - diff * (1 - wt)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        a, b, w = ctx.saved_tensors
        na, nb, nw = ctx.needs_input_grad
        if w is None:
            w = ctx.w
        return (g * (1 - w) if na else None, g * w if nb else None,
                g * (b - a) if nw else None)


def lerp(input, end, weight) -> Tensor:
    """``input + weight * (end - input)`` (``weight`` a number or a tensor; floats only, the
    dtypes of ``input``, ``end`` and a tensor ``weight`` the same)."""
    tensors_only("lerp", input, end, second="end")
    if isinstance(weight, bool) or not isinstance(weight, (int, float, Tensor)):
        raise TypeError(f"lerp(): argument 'weight' (position 3) must be Number or Tensor, not "
                        f"{type(weight).__name__}")
    if end.dtype != input.dtype:
        raise RuntimeError(f"expected dtype {_c_name(input.dtype)} for `end` but got dtype "
                           f"{_c_name(end.dtype)}")
    if isinstance(weight, Tensor):
        if weight.ndim and weight.dtype != input.dtype:
            raise RuntimeError(f"expected dtype {_c_name(input.dtype)} for `weight` but got "
                               f"dtype {_c_name(weight.dtype)}")
        dt = _dtype.promote_types_of(input, end, weight)  # a 0-d weight promotes as usual
        kernel = "lerp_kernel_tensor"
    else:
        dt, kernel = input.dtype, "lerp_kernel_scalar"
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_torch_label(dt)}'")
    if input.dtype != dt:
        input, end = input.to(dt), end.to(dt)
    return Lerp.apply(input, end, float(weight) if not isinstance(weight, Tensor) else weight)


def _c_name(dt) -> str:
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "bool": "bool", "float16": "c10::Half"}.get(dt.name, dt.name)


def _torch_label(dt) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "bool": "Bool", "float16": "Half"}.get(dt.name, dt.name)


# -- NaN-aware ----------------------------------------------------------------------------

class NanToNum(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, a, nan, posinf, neginf):
        x, xp = a._data, a._backend.xp
        ctx.save_for_backward(a)
        if x.dtype.kind != "f":
            return x.copy()
        info = xp.finfo(x.dtype)
        big = info.max if posinf is None else posinf
        small = info.min if neginf is None else neginf
        out = xp.where(x != x, x.dtype.type(nan), x)
        out = xp.where(out == math.inf, x.dtype.type(big), out)
        return xp.where(out == -math.inf, x.dtype.type(small), out)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.isfinite(), None, None, None


def nan_to_num(input, nan: float = 0.0, posinf=None, neginf=None) -> Tensor:
    """NaN as ``nan``, +inf as ``posinf`` and -inf as ``neginf`` (the dtype's largest and
    smallest finite values when None); integers and bools unchanged."""
    if not isinstance(input, Tensor):
        raise TypeError(f"nan_to_num(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    for name, v in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise TypeError(f"nan_to_num(): argument '{name}' must be float, not "
                            f"{type(v).__name__}")
    return NanToNum.apply(input, float(nan), posinf, neginf)


def _nan_dims(input, dim, keepdim, op: str):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(dim, (tuple, list)):  # each dim checked in turn, repeats as they come
        seen = []
        for d in dim:
            d = wrap_dim(d, input.ndim, op)
            if d in seen:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
            seen.append(d)
    dims = dim_list(dim, input.ndim, op)
    return tuple(range(input.ndim)) if dims is None else dims


class ZeroNans(Function):
    """NaNs as 0; the gradient is PyTorch's nansum's: ``g * ~isnan(x)`` (a product, so an
    inf or NaN gradient at a NaN gives NaN)."""

    array_forward = True

    @staticmethod
    def forward(ctx, a):
        x = a._data
        ctx.save_for_backward(a)
        return a._backend.xp.where(x != x, x.dtype.type(0), x)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        return g * a.isnan().logical_not()


def _zero_nans(input):
    return input if input._data.dtype.kind != "f" else ZeroNans.apply(input)


@numpy_names
def nansum(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum over ``dim`` (all when None) with NaNs counted as zero; their gradient is 0."""
    dims = _nan_dims(input, dim, keepdim, "nansum")
    if dtype is not None:
        from .reduce import _cast
        input = _cast(input, dtype)
    x = _zero_nans(input)
    return x.sum(dims, keepdim=bool(keepdim)) if dims else (
        x.sum() if x.ndim == 0 else x.sum(dims, keepdim=bool(keepdim)))


@numpy_names
def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean over ``dim`` (all when None) of the elements that are not NaN (floats only),
    as PyTorch computes it: ``nansum / count of non-NaNs``."""
    if isinstance(input, Tensor) and input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex "
                           f"dtype but got {_torch_label(input.dtype)}")
    dims = _nan_dims(input, dim, keepdim, "nanmean")
    count = input.isnan().logical_not()
    count = count.sum(dims, keepdim=bool(keepdim)) if dims else count.sum()
    return nansum(input, dim, keepdim, dtype=dtype) / count


TENSOR_METHODS = ["tan", "sinh", "cosh", "asin", "acos", "atan", "arcsin", "arccos", "arctan",
                  "log2", "log10", "expm1", "exp2", "deg2rad", "rad2deg", "logaddexp",
                  "hypot", "atan2", "arctan2", "lerp", "nan_to_num", "nansum", "nanmean"]
__all__ = list(TENSOR_METHODS)
