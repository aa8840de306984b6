"""Where a trace hooks in: the Tensor slots, the backends' kernel entries, module calls.

``installed(rec)`` puts the hooks in place for one trace and takes them out after:

* ``Tensor._data``, ``_grad`` and ``_requires_grad`` become watching descriptors. The first
  read of a tensor made before the trace (a parameter, an optimizer buffer, a gradient)
  makes its array an **external** slot (read from that tensor again at each replay), read
  gradients and ``requires_grad`` become guards, and writes to such tensors become the
  plan's effects; a tensor made during the trace is noted, so that one the step keeps
  beyond the call (other than its outputs and gradients) can be found.
* every NumPy-array backend answers ``array_type`` with ``TracedArray``, and its kernel
  entries (``KERNEL_ENTRIES``) record one call each: the kernel runs on plain arrays and
  the replay calls the same method;
* those backends' ``xp`` is NumPy whose functions making arrays from shapes or data
  (``xp.empty``, ``xp.asarray``...) record their calls, so an array made and filled inside
  the step is traced too.

The descriptors read the calling thread's recording: other threads are not watched.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np

from ..backends import _instances as backend_instances
from ..backends.contract import is_numpy
from ..tensor import Tensor
from . import state
from .traced import Ref, TracedArray, _call, unwrap

# the contract's entry points that compute on arrays: each recorded as one call
KERNEL_ENTRIES = ("asarray", "matmul", "linear_act", "bias_act", "act_backward",
                  "linear_backward", "softmax_cross_entropy",
                  "softmax_cross_entropy_backward", "check_class_targets", "index_add",
                  "axpy_", "adam_update_", "uniform", "normal", "integers", "permutation")


class TensorWatch:
    """The Tensor-level facts of one trace (see the module docstring)."""

    def __init__(self, rec, inputs) -> None:
        self.rec = rec
        self.adopted: dict[int, TracedArray] = {}  # id(plain array) -> its TracedArray
        self.restore: list[tuple] = []  # (tensor, plain array) to put back after the trace
        self.created: dict[int, weakref.ref] = {}  # tensors made during the trace
        self.inputs = {id(t): k for k, t in inputs}  # input tensors -> their position
        self.grad_origin: dict[int, Tensor] = {}  # id(gradient tensor) -> its owner
        self.seen_grad: set[int] = set()
        self.seen_rg: set[int] = set()
        self.effects: dict[tuple, Tensor] = {}  # (attribute, id(tensor)) -> tensor
        self.versions: dict[int, tuple] = {}  # id(version box) -> (box, version before)
        self.keep: list = []

    def pre_existing(self, t) -> bool:
        return id(t) not in self.created

    # -- _data -------------------------------------------------------------------------------
    def get_data(self, t, v):
        if type(v) is TracedArray:
            return v
        if type(v) is not np.ndarray:
            self.rec.taint("it computes on a device other than the CPU (compile replays "
                           "CPU arrays; a GPU step is captured as a CUDA graph)")
            self.rec.not_cpu = True
            return v
        traced = self.adopted.get(id(v))
        if traced is None:
            if not self.pre_existing(t):
                traced = self.rec.slots[self.rec.plain_arg(v).n]["traced"]
            else:
                if _GRAD_FN.__get__(t) is not None:
                    self.rec.taint("it uses a tensor whose graph was built outside it")
                owner = self.grad_origin.get(id(t))
                origin = ("grad", owner) if owner is not None else ("ext", t)
                traced = self.rec.new_slot(v, origin)
                box = _VERSION.__get__(t)
                self.versions.setdefault(id(box), (box, box[0]))
            self.adopted[id(v)] = traced
            self.keep.append(v)
        _DATA.__set__(t, traced)
        if self.pre_existing(t):  # (a tensor made in the trace is put back if it lives)
            self.restore.append((t, v))
        return traced

    def set_data(self, t, v) -> None:
        try:
            _DATA.__get__(t)
        except AttributeError:  # a new tensor
            self.created[id(t)] = weakref.ref(t)
            return
        if self.pre_existing(t):
            self.effects["data", id(t)] = t

    # -- _grad and _requires_grad ------------------------------------------------------------
    def get_grad(self, t, v):
        key = id(t)
        if key not in self.seen_grad and self.pre_existing(t) and \
                ("grad", key) not in self.effects:
            self.seen_grad.add(key)
            self.rec.guards.append(("grad", t, v is None))
            if v is not None and self.pre_existing(v):
                self.grad_origin[id(v)] = t
            self.keep.append(t)
        return v

    def set_grad(self, t, v) -> None:
        if self.pre_existing(t):
            self.effects["grad", id(t)] = t

    def get_rg(self, t, v):
        key = id(t)
        if key not in self.seen_rg and key not in self.inputs and self.pre_existing(t) and \
                ("rg", key) not in self.effects:
            self.seen_rg.add(key)
            self.rec.guards.append(("rg", t, v))
            self.keep.append(t)
        return v

    def set_rg(self, t, v) -> None:
        if self.pre_existing(t):
            self.effects["rg", id(t)] = t

    def module_called(self, m) -> None:
        if state.current() is self.rec:  # the tracing thread's call
            self.rec.guards.append(("training", m, m.training))


class _Watched:
    """A data descriptor standing in for one of Tensor's slots during a trace."""

    def __init__(self, member, on_get, on_set) -> None:
        self.member, self.on_get, self.on_set = member, on_get, on_set

    def __get__(self, obj, cls=None):
        if obj is None:
            return self.member
        v = self.member.__get__(obj, cls)
        rec = state.current()
        return v if rec is None else self.on_get(rec.watch, obj, v)

    def __set__(self, obj, v) -> None:
        rec = state.current()
        if rec is not None:
            self.on_set(rec.watch, obj, v)
        self.member.__set__(obj, v)


_DATA = Tensor.__dict__["_data"]
_GRAD = Tensor.__dict__["_grad"]
_RG = Tensor.__dict__["_requires_grad"]
_GRAD_FN = Tensor.__dict__["grad_fn"]
_VERSION = Tensor.__dict__["_version_box"]
_WATCHED = (("_data", _Watched(_DATA, TensorWatch.get_data, TensorWatch.set_data)),
            ("_grad", _Watched(_GRAD, TensorWatch.get_grad, TensorWatch.set_grad)),
            ("_requires_grad", _Watched(_RG, TensorWatch.get_rg, TensorWatch.set_rg)))
_MEMBERS = {"_data": _DATA, "_grad": _GRAD, "_requires_grad": _RG}


class _TracingNumpy:
    """A NumPy-array backend's ``xp`` during a trace: NumPy, except that the functions making
    arrays from shapes or other data record their call, so an array made by ``xp.empty``
    and filled from traced arrays is traced too. (NumPy's own namespace is left alone:
    Numba, compiling a kernel during a trace, must find NumPy's functions there.) Code
    that asks whether ``xp`` is NumPy asks ``contract.is_numpy(xp)``, true for this too."""

    __name__ = "numpy"

    def __getattr__(self, name):  # everything else is NumPy's own
        return getattr(np, name)


def _creation(fn):
    def call(*args, **kwargs):
        return _call("func", fn, args, kwargs)
    call.__name__ = fn.__name__
    return call


for _fn in (np.empty, np.zeros, np.ones, np.full, np.arange, np.eye, np.identity,
            np.linspace, np.array, np.asarray, np.asanyarray, np.ascontiguousarray):
    setattr(_TracingNumpy, _fn.__name__, staticmethod(_creation(_fn)))
TRACING_NUMPY = _TracingNumpy()


def _kernel(original):
    """The recording stand-in of one bound kernel entry."""
    def call(*args, **kwargs):
        rec = state.current()
        if rec is None or rec.depth:
            return original(*args, **kwargs)
        rec.depth += 1
        try:
            result = original(*unwrap(args), **unwrap(kwargs))
        finally:
            rec.depth -= 1
        return rec.record("kernel", original, args, kwargs, result)
    return call  # (run_recorded with keyword arguments: the entries take some)


def _to_numpy(original):
    def call(a):
        rec = state.current()
        if rec is not None and not rec.depth and type(a) is TracedArray:
            rec.taint_host_read(".numpy() / a copy to the host")
        return original(unwrap(a))
    return call


def _seed(original):
    def call(seed):
        state.taint("it reseeds a random generator", forever=True)
        state.structure_changed()
        return original(seed)
    return call


@contextlib.contextmanager
def installed(rec):
    """The hooks of ``rec``'s trace, in place inside the block (see the module docstring)."""
    patched = []  # (backend, attribute names set on it, previous array_type)
    for backend in list(backend_instances.values()):
        if backend.array_type is not np.ndarray or not is_numpy(backend.xp):
            continue
        names = {"array_type": TracedArray, "to_numpy": _to_numpy(backend.to_numpy),
                 "xp": TRACING_NUMPY, "seed": _seed(backend.seed)}
        for name in KERNEL_ENTRIES:
            names[name] = _kernel(getattr(backend, name))  # names from the fixed tuple
        had = {name: backend.__dict__[name] for name in names if name in backend.__dict__}
        backend.__dict__.update(names)
        patched.append((backend, names, had))
    for name, watched in _WATCHED:
        setattr(Tensor, name, watched)
    state.module_hook = rec.watch.module_called
    try:
        yield rec
    finally:
        state.module_hook = None
        for name, member in _MEMBERS.items():
            setattr(Tensor, name, member)
        for backend, names, had in patched:
            for name in names:
                del backend.__dict__[name]
            backend.__dict__.update(had)


def final_ref(rec, v):
    """A slot Ref for the array ``v`` at the end of a trace (traced or plain)."""
    if type(v) is TracedArray and v._slot is not None:
        return Ref(v._slot)
    return rec.plain_arg(unwrap(v))


def put_back(watch) -> None:
    """After the trace: every tensor the trace touched holds a plain array again."""
    for t, plain in watch.restore:
        if _DATA.__get__(t) is watch.adopted.get(id(plain)):
            _DATA.__set__(t, plain)
    for ref in list(watch.created.values()):
        t = ref()
        if t is not None:
            v = _DATA.__get__(t)
            if type(v) is TracedArray:
                _DATA.__set__(t, unwrap(v))
    for (kind, _), t in watch.effects.items():
        if kind == "data":
            v = _DATA.__get__(t)
            if type(v) is TracedArray:
                _DATA.__set__(t, unwrap(v))
