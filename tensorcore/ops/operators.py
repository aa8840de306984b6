"""Python's operators on ``Tensor``: ``x + y``, ``-x``, ``x == y``, ``x[i]``, ``x += y``...

Each sends to its op (``binary`` with the op's node and its bare-array operator, or the op
function), so an operator and the method or function of the same name compute alike. Listed
in ``TENSOR_METHODS`` and bound onto the class by ``tensorcore.ops``, as every op's methods.
"""

from __future__ import annotations

import operator as _op

from .. import ops as _ops  # this package, complete by the time an operator runs
from ..autograd.grad_mode import grad_state
from ..tensor import Tensor

TENSOR_METHODS = [
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
    "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__",
    "__matmul__", "__rmatmul__", "__neg__", "__pos__", "__abs__", "__eq__", "__ne__", "__lt__",
    "__le__", "__gt__", "__ge__", "__invert__", "__and__", "__rand__", "__or__", "__ror__",
    "__xor__", "__rxor__", "__getitem__", "__setitem__", "__iadd__", "__isub__", "__imul__",
    "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__", "__iand__", "__ior__", "__ixor__",
]
__all__: list[str] = []  # Tensor methods only, never ``tensorcore`` functions


def __add__(self, other):
    return _ops.binary(_ops.Add, _op.add, self, other)


def __radd__(self, other):
    return _ops.binary(_ops.Add, _op.add, self, other)


def __sub__(self, other):
    return _ops.binary(_ops.Sub, _op.sub, self, other)


def __rsub__(self, other):
    return _ops.binary(_ops.RSub, _rsub, self, other)


def __mul__(self, other):
    return _ops.binary(_ops.Mul, _op.mul, self, other)


def __rmul__(self, other):
    return _ops.binary(_ops.Mul, _op.mul, self, other)


def __truediv__(self, other):
    return _ops.binary(_ops.Div, _op.truediv, self, other)


def __rtruediv__(self, other):
    return _ops.rdiv(self, other)


def __floordiv__(self, other):
    return _ops.floor_divide(self, other)


def __rfloordiv__(self, other):
    return _ops.floor_divide(other, self)


def __mod__(self, other):
    return _ops.remainder(self, other)


def __rmod__(self, other):
    return _ops.remainder(other, self)


def __pow__(self, other):
    return _ops.pow(self, other)


def __rpow__(self, other):
    return _ops.rpow(self, other)


def __matmul__(self, other):
    return _ops.matmul(self, other)


def __rmatmul__(self, other):
    return _ops.matmul(_ops.as_tensor_like(other, self), self)


def __neg__(self):
    if not (grad_state.enabled and (self._requires_grad or self._base is not None)):
        try:
            out = -self._data  # no graph: the bare array op
        except TypeError:  # a bool array: neg raises PyTorch's error
            return _ops.neg(self)
        if type(out) is not self._backend.array_type:  # a 0-d array gives a NumPy scalar
            out = self._backend.asarray(out)
        return Tensor._make(out, self._backend)
    return _ops.neg(self)


def __pos__(self):
    if self._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return self


def __abs__(self):
    return _ops.abs(self)


def __eq__(self, other):  # noqa: D105 - elementwise, as in PyTorch
    if other is None or isinstance(other, (str, list, tuple)):
        return NotImplemented  # Python's answer, as PyTorch's: not equal
    return _ops.eq(self, other)


def __ne__(self, other):
    if other is None or isinstance(other, (str, list, tuple)):
        return NotImplemented
    return _ops.ne(self, other)


def __lt__(self, other):
    return _ops.lt(self, other)


def __le__(self, other):
    return _ops.le(self, other)


def __gt__(self, other):
    return _ops.gt(self, other)


def __ge__(self, other):
    return _ops.ge(self, other)


def __invert__(self):
    return _ops.bitwise_not(self)


def __and__(self, other):
    return _ops.bitwise_and(self, other)


def __rand__(self, other):
    return _ops.bitwise_and(self, other)


def __or__(self, other):
    return _ops.bitwise_or(self, other)


def __ror__(self, other):
    return _ops.bitwise_or(self, other)


def __xor__(self, other):
    return _ops.bitwise_xor(self, other)


def __rxor__(self, other):
    return _ops.bitwise_xor(self, other)


def __getitem__(self, index):
    return _ops.getitem(self, index)


def __setitem__(self, index, value) -> None:
    _ops.setitem(self, index, value)


def __iadd__(self, other):
    return self.add_(other)


def __isub__(self, other):
    return self.sub_(other)


def __imul__(self, other):
    return self.mul_(other)


def __itruediv__(self, other):
    return self.div_(other)


def __ifloordiv__(self, other):
    return self.floor_divide_(other)


def __imod__(self, other):
    return self.remainder_(other)


def __ipow__(self, other):
    return self.pow_(other)


def __iand__(self, other):
    return self.bitwise_and_(other)


def __ior__(self, other):
    return self.bitwise_or_(other)


def __ixor__(self, other):
    return self.bitwise_xor_(other)


def _rsub(x, y):
    return y - x
