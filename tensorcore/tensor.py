"""``Tensor``: an array on a device, with an optional place in the autograd graph.

Each op is a ``Function`` in ``tensorcore.ops``; the methods and operators send to them. Ops
modules list their ``TENSOR_METHODS``, bound onto the class at the bottom; Python's operators
(``+``, ``x[i]``, ``+=``...) are those of ``ops/operators.py``. This file holds the class's
core: construction, ``_make`` (every op output), attributes, device / dtype moves and the
autograd API. Conversions to Python values, NumPy, other libraries and text come from the
base class ``TensorConversions`` (``_tensor_convert.py``); ``_tensor_data.py`` reads Python
and NumPy data into the array a new tensor copies.

>>> import tensorcore as tc
>>> x = tc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
tensor([[2., 4.],
        [6., 8.]])
"""

from __future__ import annotations

import warnings

import numpy as np

from . import _dtype, autograd
from ._device import device as Device
from ._tensor_convert import TensorConversions
from .autograd.function import register_tensor_class
from .backends import get_backend


class Tensor(TensorConversions):
    """A multi-dimensional array on a device, recorded in the graph when it needs a gradient."""

    # _view_fn / _view_version are set only on views (when _base is not None): how to
    # recompute the view from its base, and the version its grad_fn was last derived at;
    # _host_max only on int64 vectors copied onto a GPU (see class_index_max)
    __slots__ = ("_data", "_backend", "_requires_grad", "_grad", "grad_fn", "_output_nr",
                 "_version_box", "_base", "_hooks", "_retains_grad", "_view_fn",
                 "_view_version", "_host_max", "__weakref__")
    __array_priority__ = 1000  # NumPy defers to our reflected operators

    def __init__(self, data, dtype=None, device=None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            backend = data._backend if device is None else get_backend(device)
            host = data._backend.to_numpy(data._data) if backend is not data._backend else None
            arr = backend.asarray(host) if host is not None else data._data.copy()
        else:
            backend = get_backend(device)
            host = _host_array(data, exact=dtype is not None)
            arr = backend.asarray(host)
        if dtype is not None:
            arr = arr.astype(_dtype.as_dtype(dtype).np, copy=False)
        else:  # TypeError for unsupported dtypes; other integer widths become int32/int64
            np_dtype = _dtype.from_numpy_dtype(arr.dtype).np
            if arr.dtype != np_dtype:
                arr = arr.astype(np_dtype)
        self._data = arr
        self._backend = backend
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._output_nr = 0
        self._version_box = [0]
        self._base = None
        self._hooks = None
        self._retains_grad = False
        if host is not None:
            _remember_host_max(self, host)
        if requires_grad is not False:
            self.requires_grad_(_check_bool(requires_grad, "tensor(): argument 'requires_grad'"))

    @staticmethod
    def _make(data, backend, node=None, index=0) -> Tensor:
        """Wrap a backend array without copying (the fast path every op output takes)."""
        t = object.__new__(Tensor)
        t._data = data
        t._backend = backend
        t._requires_grad = node is not None
        t._grad = None
        t.grad_fn = node
        t._output_nr = index
        t._version_box = [0]
        t._base = None
        t._hooks = None
        t._retains_grad = False
        return t

    # -- attributes ----------------------------------------------------------------------------
    @property
    def data(self) -> Tensor:
        """The same memory, outside the graph and outside version tracking (as PyTorch's)."""
        return Tensor._make(self._data, self._backend)

    @data.setter
    def data(self, value: Tensor) -> None:
        self._data = value._data if isinstance(value, Tensor) else self._backend.asarray(value)

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype._FROM_NP[self._data.dtype]

    @property
    def device(self) -> Device:
        return self._backend.device

    @property
    def backend_name(self) -> str:
        """Which implementation serves this tensor (``numba``, ``numpy``, ``cupy``)."""
        return self._backend.name

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    def numel(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def is_cuda(self) -> bool:
        return self._backend.device.type == "cuda"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if type(value) is not bool:
            raise RuntimeError("requires_grad must be a bool")
        if self.grad_fn is not None:  # PyTorch refuses True too on a non-leaf
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if type(requires_grad) is not bool:
            _check_bool(requires_grad, "requires_grad_(): argument 'requires_grad'")
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, "
                               f"got {self.dtype}")
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                                   "you want to use a computed variable in a subgraph that "
                                   "doesn't require differentiation use var_no_grad = "
                                   "var.detach().")
            return self
        self._requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward`` (leaves, and non-leaves that
        ``retain_grad()``); reading it on another non-leaf warns, as in PyTorch."""
        if self.grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        """None, or a Tensor of this tensor's shape, dtype and device (PyTorch's checks)."""
        if value is not None and not (  # the engine's case, cheaply: same kind of tensor
                type(value) is Tensor and value._backend is self._backend
                and value._data.dtype is self._data.dtype
                and value._data.shape == self._data.shape and value is not self):
            _check_grad(self, value)
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        self._grad = None

    @property
    def _version(self) -> int:
        return self._version_box[0]

    def class_index_max(self) -> int | None:
        """For an int64 vector copied onto a GPU from the host and not changed in place since:
        the largest of its values seen as unsigned (a negative one is huge), read from the
        host copy. ``None`` otherwise. ``cross_entropy`` checks its class targets' range with
        it instead of reading them back, which would wait for the GPU. (Writes through
        ``.data`` are outside version tracking, as in PyTorch: after one, a bad target gives
        a NaN loss instead of an IndexError.)

        >>> import tensorcore as tc
        >>> tc.tensor([2, 0, 1]).class_index_max() is None   # on the CPU a read costs nothing
        True
        """
        known = getattr(self, "_host_max", None)
        if known is None or known[0] is not self._data or known[1] != self._version_box[0]:
            return None
        return known[2]

    @property
    def T(self) -> Tensor:
        """The dims reversed (a 0-d tensor gives a view of itself, as in PyTorch)."""
        return self.permute(tuple(range(self.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped; a 1-d tensor is a RuntimeError, a 0-d one is returned
        as a view of itself (as in PyTorch)."""
        if self.ndim < 2:
            if self.ndim:
                _matrix_only(self, "mT", "matrices or batches of matrices")
            return self.T
        return self.transpose(-2, -1)

    @property
    def mH(self) -> Tensor:
        """``mT`` (tensorcore has no complex dtypes: the conjugate is the tensor)."""
        if self.ndim == 1:
            _matrix_only(self, "mH", "matrices or batches of matrices")
        return self.mT

    @property
    def H(self) -> Tensor:
        """The transpose of a matrix (2-d only; a 0-d tensor gives a view of itself)."""
        if self.ndim not in (0, 2):
            _matrix_only(self, "H", "matrices (2-D tensors)")
        return self.T

    # -- device and dtype moves (the other conversions are TensorConversions') -----------------
    def to(self, *args, **kwargs) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``."""
        dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, (_dtype.dtype, np.dtype)) or a in (float, int, bool):
                dt = a
            else:
                dev = a
        out = self
        if dev is not None and Device(dev) != self.device:
            out = _ops.to_device(out, Device(dev))
        if dt is not None and _dtype.as_dtype(dt).np != out._data.dtype:
            out = _ops.to_dtype(out, _dtype.as_dtype(dt))
        if copy and out is self:
            out = self.clone()
        return out

    def contiguous(self) -> Tensor:
        if self._data.flags.c_contiguous:
            return self
        return _ops.contiguous(self)

    # -- autograd ------------------------------------------------------------------------------
    def detach(self) -> Tensor:
        """The same data (shared memory and version counter), cut from the graph."""
        t = Tensor._make(self._data, self._backend)
        t._version_box = self._version_box
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def backward(self, gradient=None, retain_graph=None, create_graph: bool = False,
                 inputs=None) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad``."""
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            hooks, handle_target = self._hooks, hook
        else:
            self.grad_fn.register_prehook(self._output_nr, hook)
            hooks, handle_target = self.grad_fn._pre_hooks[self._output_nr], hook
        return _RemovableHandle(hooks, handle_target)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref

        ref = weakref.ref(self)

        def keep(grad):
            t = ref()
            if t is not None:
                g = Tensor._make(grad._data.copy(), grad._backend)  # owned and writable
                t.grad = g if t.grad is None else t.grad + g

        self._retains_grad = True
        self.grad_fn.register_prehook(self._output_nr, keep)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    # -- Python's protocols: len, iteration, hashing, deepcopy, pickling -----------------------
    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo) -> Tensor:
        """A copy of a leaf: new memory, same device, dtype, requires_grad and grad."""
        if self.grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment")
        if id(self) in memo:
            return memo[id(self)]
        t = Tensor._make(self._data.copy(), self._backend)
        t._requires_grad = self._requires_grad
        memo[id(self)] = t
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        return t

    def __reduce__(self):
        """Pickles as its values (a NumPy array), device and requires_grad, never the graph."""
        if self.grad_fn is not None:
            raise RuntimeError("pickling a non-leaf tensor is not supported; detach() it first")
        return (_rebuild, (self._backend.to_numpy(self._data), str(self.device),
                           self._requires_grad))


_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead.")


def _matrix_only(t: Tensor, name: str, what: str):
    """The error of ``t.mT`` / ``t.mH`` / ``t.H`` on a tensor of the wrong rank."""
    raise RuntimeError(f"tensor.{name} is only supported on {what}. Got {t.ndim}-D tensor.")


def _check_grad(t: Tensor, g) -> None:
    """PyTorch's checks of an assigned ``.grad``: a Tensor other than ``t`` itself, of its
    dtype, device and shape (in that order)."""
    if type(g) is not Tensor and not isinstance(g, Tensor):
        raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of type "
                        f"{type(g).__name__}")
    if g is t:
        raise RuntimeError("can't assign Variable as its own grad")
    if g._data.dtype != t._data.dtype:
        raise RuntimeError(f"attempting to assign a gradient with dtype '{g.dtype}' to a tensor "
                           f"with dtype '{t.dtype}'. Please ensure that the gradient and the "
                           f"tensor have the same dtype")
    if g._backend.device != t._backend.device:
        raise RuntimeError(f"attempting to assign a gradient located on device '{g.device}' to "
                           f"a tensor located on device '{t.device}'. Please ensure that the "
                           f"gradient and the tensor are on the same device")
    if g._data.shape != t._data.shape:
        raise RuntimeError(f"attempting to assign a gradient of size '{list(g.shape)}' to a "
                           f"tensor of size '{list(t.shape)}'. Please ensure that the gradient "
                           f"and the tensor are the same size")


def _check_bool(value, what: str) -> bool:
    """``value`` when it is a bool; TypeError otherwise (PyTorch takes no 1, None or 'yes')."""
    if type(value) is not bool:
        raise TypeError(f"{what} must be bool, not {type(value).__name__}")
    return value


def _rebuild(array, device, requires_grad) -> Tensor:
    t = Tensor._make(get_backend(device).asarray(array), get_backend(device))
    return t.requires_grad_(requires_grad) if requires_grad else t


class _RemovableHandle:
    def __init__(self, hooks: list, hook) -> None:
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


register_tensor_class(Tensor)

# Below the class, which both modules import: the ops (they bind their methods and Python's
# operators onto Tensor on import), and the reading of Python / NumPy data into arrays.
from . import ops as _ops  # noqa: E402
from ._tensor_data import _host_array, _remember_host_max  # noqa: E402
