"""``Parameter``: a tensor that a ``Module`` registers as one of its learnable weights.

A ``Parameter`` shares memory with the tensor it wraps and requires grad by default. Ops on
it return plain tensors, as in PyTorch.

>>> import tensorcore as tc
>>> from tensorcore import nn
>>> p = nn.Parameter(tc.tensor([1.0, 2.0]))
>>> p.requires_grad, type(p * 2).__name__
(True, 'Tensor')
>>> p
Parameter containing:
tensor([1., 2.], requires_grad=True)
"""

from __future__ import annotations

from .. import serialization
from ..tensor import Tensor, _check_bool

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A leaf tensor marked as a module parameter (``requires_grad=True`` by default)."""

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, not {type(data).__name__}")
        p = object.__new__(cls)
        for slot in Tensor.__slots__[:-1]:  # every slot but __weakref__
            setattr(p, slot, getattr(data, slot, None))
        p._requires_grad, p.grad, p.grad_fn, p._output_nr = False, None, None, 0
        p._base, p._hooks, p._retains_grad = None, None, False
        p._version_box = data._version_box  # the same memory, the same version counter
        if _check_bool(requires_grad, "Parameter(): argument 'requires_grad'"):
            p.requires_grad_(True)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        copied = Tensor.__deepcopy__(self, memo)
        p = Parameter(copied, self._requires_grad)
        p.grad = copied.grad
        memo[id(self)] = p
        return p

    def __reduce__(self):
        return (_rebuild_parameter, (Tensor.__reduce__(self), self._requires_grad))


def _rebuild_parameter(reduced, requires_grad: bool) -> Parameter:
    rebuild, args = reduced
    return Parameter(rebuild(*args), requires_grad)


serialization.PARAMETER_TYPE = Parameter  # so checkpoints restore Parameters
