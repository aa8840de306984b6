"""Recording a step: ``TracedArray`` (the arrays a traced step computes on) and ``Recording``.

While ``compile`` traces a function, every NumPy array the step touches is a
``TracedArray``: an ``ndarray`` subclass that computes exactly as NumPy (on its plain twin,
``_plain``) and appends each call to the active ``Recording``. Ufuncs (operators, in-place
operators, reductions) arrive through ``__array_ufunc__``, ``np.*`` functions through
``__array_function__``, and the methods NumPy runs in C without either are overridden below.
Each array a call makes becomes a new **slot**; an array that comes from elsewhere is an
input, a tensor that existed before the call (an **external**, read again at each replay),
or a constant (copied now). Reading values on the host (``bool``, ``item``, printing...)
taints the recording: the function then runs eagerly.

>>> import numpy as np
>>> from tensorcore.compiler.traced import Recording, TracedArray
>>> rec = Recording()
>>> with rec.active():
...     x = rec.input_array(np.ones(3, np.float32), 0)
...     y = (x * 2).sum()
>>> [(kind, fn.__name__) for kind, fn, *_ in rec.calls]  # x * 2, then add.reduce
[('ufunc', 'multiply'), ('ufunc', 'reduce')]
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from . import state

_asarray = np.asarray  # NumPy's own: a trace records the calls made through np.asarray


class Ref:
    """An argument that is slot ``n`` of the recording."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n

    def __repr__(self) -> str:
        return f"s{self.n}"


class LiveRef:
    """An argument that is live value ``n`` (a result of ``compiler.live``)."""

    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


class Live(float):
    """A per-step number from ``compiler.live`` while tracing: NumPy calls record it as live.
    Python arithmetic, comparisons and ``float()`` on it would freeze it: they taint the
    recording (the function then runs eagerly) and compute with the plain value."""

    def __new__(cls, value, n: int):
        self = float.__new__(cls, value)
        self.n, self.value = n, value  # the number as given (an int stays an int)
        return self

    def _frozen(self, what):
        state.taint(f"a per-step value from the optimizer was used in Python ({what})")
        return self.value


def _live_binary(name):
    plain = getattr(float, name)  # the float operator of the same name: a fixed table

    def op(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented  # the array's reflected operator records it
        return plain(self._frozen(name), other.value if type(other) is Live else other)
    return op


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
              "__truediv__", "__rtruediv__", "__pow__", "__rpow__", "__floordiv__",
              "__rfloordiv__", "__mod__", "__rmod__", "__lt__", "__le__", "__gt__", "__ge__",
              "__eq__", "__ne__"):
    setattr(Live, _name, _live_binary(_name))
Live.__neg__ = lambda self: -self._frozen("-x")
Live.__float__ = lambda self: self._frozen("float()")
Live.__bool__ = lambda self: bool(self._frozen("bool()"))
Live.__hash__ = float.__hash__


def unwrap(v):
    """``v`` with every TracedArray replaced by its plain array and Live by its float."""
    t = type(v)
    if t is TracedArray:
        return v._plain if v._plain is not None else v.view(np.ndarray)
    if t is tuple or t is list:
        return t(unwrap(x) for x in v)
    if t is Live:
        return v.value
    if t is dict:
        return {k: unwrap(x) for k, x in v.items()}
    if t is slice:
        return slice(unwrap(v.start), unwrap(v.stop), unwrap(v.step))
    return v


def _host_read(self, what):
    rec = state.current()
    if rec is not None and not rec.depth:
        rec.taint_host_read(what)
    return self._plain if self._plain is not None else self.view(np.ndarray)


def shape_from_values(what: str) -> None:
    """While tracing: the op being run (``what``) makes a tensor whose shape depends on
    tensor values (a bool mask's count, ``nonzero``, ``unique``). A replay would keep the
    traced shape, so this is a host read: the function runs eagerly (one CompileWarning)."""
    rec = state.current()
    if rec is not None and not rec.depth:
        rec.taint_host_read(what)


def _call(kind, fn, args, kwargs):
    """Run ``fn`` on plain arrays; while tracing (and not inside a kernel or live call),
    record it and return its arrays as TracedArrays. What NumPy calls inside ``fn`` is part
    of that one call: not recorded."""
    rec = state.current()
    if rec is None or rec.depth:
        return fn(*unwrap(args), **unwrap(kwargs))
    rec.depth += 1
    try:
        result = fn(*unwrap(args), **unwrap(kwargs))
    finally:
        rec.depth -= 1
    return rec.record(kind, fn, args, kwargs, result)


def run_recorded(fn, *args):
    """``fn(*args)`` as one recorded step while tracing (a backend kernel, a check that
    reads its arrays on the host): the replay calls ``fn`` again on its arrays."""
    rec = state.current()
    if rec is None or rec.depth:
        return fn(*args)
    rec.depth += 1
    try:
        result = fn(*unwrap(args))
    finally:
        rec.depth -= 1
    return rec.record("kernel", fn, args, {}, result)


def _method(fn):
    def method(self, *args, **kwargs):
        return _call("method", fn, (self, *args), kwargs)
    method.__name__ = fn.__name__
    return method


def _reader(fn, what):
    def method(self, *args, **kwargs):
        return fn(_host_read(self, what), *args, **kwargs)
    method.__name__ = fn.__name__
    return method


_nd = np.ndarray


class TracedArray(np.ndarray):
    """An ndarray that records what is done with it (see the module docstring)."""

    _slot = None  # set on arrays the recording made; None on NumPy's own views of them
    _plain = None  # the plain ndarray with the same memory, shape and strides

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # method is one of NumPy's ufunc method names: __call__, reduce, accumulate, ...
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        return _call("ufunc", fn, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _call("func", func, args, kwargs)

    # methods NumPy runs in C without dispatching (each recorded as a call)
    reshape = _method(_nd.reshape)
    transpose = _method(_nd.transpose)
    swapaxes = _method(_nd.swapaxes)
    astype = _method(_nd.astype)
    copy = _method(_nd.copy)
    __copy__ = _method(_nd.__copy__)
    fill = _method(_nd.fill)
    ravel = _method(_nd.ravel)
    flatten = _method(_nd.flatten)
    squeeze = _method(_nd.squeeze)
    argmax = _method(_nd.argmax)
    argmin = _method(_nd.argmin)
    argsort = _method(_nd.argsort)
    sort = _method(_nd.sort)
    cumsum = _method(_nd.cumsum)
    cumprod = _method(_nd.cumprod)
    round = _method(_nd.round)
    repeat = _method(_nd.repeat)
    take = _method(_nd.take)
    put = _method(_nd.put)
    nonzero = _method(_nd.nonzero)
    diagonal = _method(_nd.diagonal)
    dot = _method(_nd.dot)
    searchsorted = _method(_nd.searchsorted)
    __getitem__ = _method(_nd.__getitem__)
    __setitem__ = _method(_nd.__setitem__)

    @property
    def T(self):
        return _call("method", _nd.transpose, (self,), {})

    def view(self, *args, **kwargs):
        if args and args[0] is TracedArray:  # the recording's own wrapping
            return _nd.view(self, *args, **kwargs)
        return _call("method", _nd.view, (self, *args), kwargs)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # reading values on the host
    __bool__ = _reader(_nd.__bool__, "bool()")
    __float__ = _reader(_nd.__float__, "float()")
    __int__ = _reader(_nd.__int__, "int()")
    __index__ = _reader(_nd.__index__, "an index")
    __complex__ = _reader(_nd.__complex__, "complex()")
    item = _reader(_nd.item, ".item()")
    tolist = _reader(_nd.tolist, ".tolist()")
    tobytes = _reader(_nd.tobytes, ".tobytes()")
    __repr__ = _reader(_nd.__repr__, "printing")
    __str__ = _reader(_nd.__str__, "printing")
    __format__ = _reader(_nd.__format__, "formatting")
    __reduce__ = _reader(_nd.__reduce__, "pickling")
    __reduce_ex__ = _reader(_nd.__reduce_ex__, "pickling")
    __deepcopy__ = _reader(_nd.__deepcopy__, "deepcopy")


def _escaped_from(arr, owners: dict):
    """The slot whose memory the plain array ``arr`` views (NumPy's asarray of a
    TracedArray gives such a view), or None."""
    base = arr
    while base is not None:
        slot = owners.get(id(base))
        if slot is not None:
            return slot
        base = base.base
    return None


class Recording:
    """What one traced call did: slots, calls, live values, guards and effects."""

    def __init__(self) -> None:
        self.slots: list[dict] = []   # per slot: origin and facts
        self.calls: list[tuple] = []  # (kind, fn, args, kwargs, result) with Refs for arrays
        self.lives: list[tuple] = []  # (fn, args, count) of each live call, in call order
        self.guards: list[tuple] = []
        self.owners: dict[int, int] = {}  # id(plain array) -> its slot
        self.keep: list = []  # objects whose ids the dicts hold: kept alive
        self.depth = 0  # > 0 inside a kernel, live or guard call: nothing is recorded
        self.taint_reason: str | None = None
        self.eager_forever = False
        self.n_live = 0

    @contextlib.contextmanager
    def active(self):
        """Make this recording the calling thread's (one thread traces at a time)."""
        if not state.try_lock():
            raise RuntimeError("another thread is tracing")
        try:
            with state.tracing(self):
                yield self
        finally:
            state.unlock()

    # -- slots -------------------------------------------------------------------------------
    def new_slot(self, plain, origin) -> TracedArray:
        n = len(self.slots)
        scalar = isinstance(plain, np.generic)
        if scalar:
            plain = _asarray(plain)
        t = plain.view(TracedArray)
        t._slot, t._plain = n, plain
        self.slots.append({"origin": origin, "scalar": scalar, "written": False,
                           "shape": plain.shape, "dtype": plain.dtype, "traced": t})
        self.owners[id(plain)] = n
        self.owners[id(t)] = n
        self.keep.append(plain)
        return t

    def input_array(self, plain, k: int) -> TracedArray:
        return self.new_slot(plain, ("input", k))

    def plain_arg(self, arr) -> Ref:
        """The slot of a plain ndarray met as an argument: a view of a slot (an escaped
        alias) is that slot where it has its layout; anything else is a constant."""
        n = self.owners.get(id(arr))
        if n is not None:
            return Ref(n)
        n = _escaped_from(arr, self.owners)
        if n is not None:
            src = self.slots[n]["traced"]._plain
            if arr.shape == src.shape and arr.dtype == src.dtype and \
                    arr.strides == src.strides and \
                    arr.__array_interface__["data"][0] == src.__array_interface__["data"][0]:
                self.owners[id(arr)] = n
                self.keep.append(arr)
                return Ref(n)
            self.taint("an array escaped the recording (a NumPy view it cannot follow)")
            return Ref(n)
        t = self.new_slot(arr, ("const", arr.copy()))
        return Ref(t._slot)

    # -- encoding ----------------------------------------------------------------------------
    def enc(self, v):
        """``v`` as the recording holds it: arrays as Refs, live values as LiveRefs."""
        t = type(v)
        if t is TracedArray:
            if v._slot is None:
                self.taint("an array from a NumPy method the recording does not follow")
                return Ref(-1)
            return Ref(v._slot)
        if t is np.ndarray or isinstance(v, np.ndarray):
            return self.plain_arg(v)
        if t is Live:
            return LiveRef(v.n)
        if t is tuple or t is list:
            return t(self.enc(x) for x in v)
        if t is dict:
            return {k: self.enc(x) for k, x in v.items()}
        if t is slice:
            return slice(self.enc(v.start), self.enc(v.stop), self.enc(v.step))
        return v

    def wrap(self, result, call_index: int, plain_inputs: dict):
        """The arrays of a call's result as TracedArrays (an input given back is its own
        slot), and the result as the recording holds it."""
        t = type(result)
        if t is np.ndarray or isinstance(result, np.generic):
            n = plain_inputs.get(id(result))
            if n is not None:
                return self.slots[n]["traced"], Ref(n)
            traced = self.new_slot(result, ("result", call_index))
            return traced, Ref(traced._slot)
        if t is tuple or t is list:
            pairs = [self.wrap(r, call_index, plain_inputs) for r in result]
            return t(p[0] for p in pairs), t(p[1] for p in pairs)
        return result, result  # metadata (a shape, a bool from may_share_memory) or None

    def record(self, kind, fn, args, kwargs, result):
        enc_args, enc_kwargs = self.enc(args), self.enc(kwargs)
        plain_inputs = {}
        for ref in _refs((enc_args, enc_kwargs)):
            if ref.n >= 0:
                plain_inputs[id(self.slots[ref.n]["traced"]._plain)] = ref.n
        index = len(self.calls)
        traced, enc_result = self.wrap(result, index, plain_inputs)
        for ref in _written_refs(kind, fn, enc_args, enc_kwargs):
            if ref.n >= 0:
                self.slots[ref.n]["written"] = True
        self.calls.append((kind, fn, enc_args, enc_kwargs, enc_result))
        return traced

    def record_live(self, fn, args, values):
        """A live call: its numbers as Live values (ints and floats; others frozen)."""
        out = []
        for v in (values if type(values) is tuple else (values,)):
            if type(v) in (float, int):
                out.append(Live(v, self.n_live))
                self.n_live += 1
            else:
                out.append(v)
        first = self.n_live - sum(type(v) is Live for v in out)
        self.calls.append(("live", fn, args, {}, (first, len(out), type(values) is tuple)))
        return tuple(out) if type(values) is tuple else out[0]

    # -- taint -------------------------------------------------------------------------------
    def taint(self, reason: str, forever: bool = False) -> None:
        if self.taint_reason is None or (forever and not self.eager_forever):
            self.taint_reason = reason
        self.eager_forever = self.eager_forever or forever

    def taint_host_read(self, what: str) -> None:
        where, api = _user_frame()
        if api is not None and not api.startswith("_"):
            what = f"Tensor.{api}()"
        elif api in _READERS:
            what = _READERS[api]
        self.taint(f"it reads tensor values on the host ({what}) at {where}", forever=True)


def _refs(v, out: list | None = None) -> list:
    """The Refs in ``v`` (nested in tuples, lists, dicts and slices), in order."""
    if out is None:
        out = []
    t = type(v)
    if t is Ref:
        out.append(v)
    elif t is tuple or t is list:
        for x in v:
            tx = type(x)
            if tx is Ref:
                out.append(x)
            elif tx is tuple or tx is list or tx is dict or tx is slice:
                _refs(x, out)
    elif t is dict:
        for x in v.values():
            _refs(x, out)
    elif t is slice:
        _refs((v.start, v.stop, v.step), out)
    return out


def contains(v, kind) -> bool:
    """Whether a ``kind`` (Ref or LiveRef) is in ``v`` (nested tuples, lists, dicts)."""
    t = type(v)
    if t is kind:
        return True
    if t is tuple or t is list:
        return any(contains(x, kind) for x in v)
    if t is dict:
        return any(contains(x, kind) for x in v.values())
    return False


# methods that write their array argument in place
_WRITING_METHODS = {_nd.fill, _nd.sort, _nd.put, _nd.__setitem__}


def _written_refs(kind, fn, args, kwargs):
    """The slots a call writes: ufunc ``out=``, in-place methods, a kernel's array
    arguments (kernels may write any of them: treated as written), ``np.copyto``'s target."""
    if kind == "kernel":
        return _refs((args, kwargs))
    out = kwargs.get("out")
    refs = _refs(out) if out is not None else []
    if kind == "method" and fn in _WRITING_METHODS:
        refs.append(args[0])
    if kind == "func" and fn is np.copyto:
        refs.append(args[0])
    return [r for r in refs if type(r) is Ref]


_PACKAGE = __name__.rpartition(".")[0].rpartition(".")[0]  # "tensorcore"


# how a Tensor method that reads values is named in a warning
_READERS = {"__bool__": "bool(tensor)", "__float__": "float(tensor)",
            "__int__": "int(tensor)", "__index__": "a tensor as an index",
            "__repr__": "printing a tensor", "__str__": "printing a tensor",
            "__format__": "formatting a tensor", "__array__": "np.asarray(tensor)"}


def _user_frame() -> tuple[str, str | None]:
    """``(file:line, api)``: the innermost frame outside tensorcore (where the user read),
    and the name of the tensorcore function it called (``item``, ``__bool__``...)."""
    frame, api = sys._getframe(1), None
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in (
            _PACKAGE, "numpy", "contextlib"):
        if frame.f_globals.get("__name__", "").startswith(_PACKAGE + "."):
            api = frame.f_code.co_name
        frame = frame.f_back
    if frame is None:
        return "an unknown place", api
    return f"{frame.f_code.co_filename}:{frame.f_lineno}", api

