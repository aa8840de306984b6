"""``Function``: one differentiable op, its forward and backward side by side.

An applied Function object is both the ``ctx`` its methods receive and the graph node
(``tensor.grad_fn``). It keeps edges to its inputs' nodes, the tensors saved for backward
(checked against version counters), and its outputs by weak reference only, so a finished
graph frees itself. The built-in ops are Functions too.

>>> import tensorcore as tc
>>> class Cube(tc.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x ** 3
...     @staticmethod
...     def backward(ctx, grad):
...         (x,) = ctx.saved_tensors
...         return grad * 3 * x ** 2
>>> x = tc.tensor(2.0, requires_grad=True)
>>> Cube.apply(x).backward(); x.grad.item()
12.0
"""

from __future__ import annotations

import itertools
import weakref

from .grad_mode import enable_grad, grad_state

# The Tensor class. tensorcore.tensor imports this package first, so it cannot be imported
# here: it is given once, by ``register_tensor_class``, when the class exists.
Tensor = None


def register_tensor_class(cls) -> None:
    """Make ``cls`` the class of the tensors that ``apply`` takes and makes (called once, by
    ``tensorcore.tensor``); the engine reads it from here too."""
    global Tensor
    Tensor = cls


# The next number in creation order, a topological order of the graph: each node recorded
# later gets a greater one.
next_seq = itertools.count().__next__

_FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


FREED = type("Freed", (), {"__repr__": lambda self: "<freed>"})()  # a released node's _saved


class _SavedOutput:
    """A saved output of the node itself: kept as its array, rebuilt on unpacking (no cycle)."""

    __slots__ = ("index", "data", "version_box", "version")

    def __init__(self, index, data, version_box):
        self.index, self.data, self.version_box = index, data, version_box
        self.version = version_box[0]


class Function:
    """Base class of differentiable ops: subclass with static ``forward`` and ``backward``.

    ``forward(ctx, *args)`` runs with grad disabled and returns a Tensor, an array of the
    inputs' backend, or a tuple of them. ``backward(ctx, *grads)`` returns one gradient (or
    None) per input of ``forward``; it is itself recorded when ``create_graph=True``.
    """

    __slots__ = ("needs_input_grad", "_seq", "_edges", "_saved", "_outputs", "_out_meta",
                 "__dict__", "__weakref__")
    # rarely set, so class defaults (an instance sets them in its __dict__)
    _pre_hooks = None  # output_nr -> hooks on that output's gradient

    # True when ``backward`` is written with operators only (``g * out``, ``-g``...), so that
    # it also runs on bare arrays: for a first-order backward the engine then passes arrays
    # (and ``saved_tensors`` gives arrays), skipping a Tensor wrapper per intermediate.
    array_backward = False
    # True when ``forward`` computes on its inputs' arrays alone and calls no Tensor op: then
    # ``apply`` needs not switch grad mode off around it (two thread-local writes a call).
    array_forward = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    # -- ctx API -----------------------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (inputs or outputs of this op) for backward, guarded by versions."""
        self._saved = tensors  # packed by apply once the outputs exist

    @property
    def saved_tensors(self) -> tuple:
        """The values given to ``save_for_backward``, checked against their versions. An
        ``array_backward`` op on the first-order lane (grad mode off: no ``create_graph``)
        gets them as bare arrays, like its gradients; every other backward gets Tensors."""
        saved = self._saved
        if saved is None:
            return ()
        if saved is FREED:
            raise RuntimeError(_FREED_MESSAGE)
        arrays = not grad_state.enabled and type(self).array_backward
        out = []
        for entry in saved:
            if entry is None:
                out.append(None)
            elif type(entry) is _SavedOutput:
                if entry.version_box[0] != entry.version:
                    raise self._output_version_error(entry)
                out.append(entry.data if arrays else self._output_tensor(entry))
            else:
                value, version = entry
                if version is None:  # a Python constant
                    out.append(value)
                elif value._version_box[0] != version:
                    raise _version_error(self, value, version)
                else:
                    out.append(value._data if arrays else value)
        return tuple(out)

    @property
    def create_graph(self) -> bool:
        """In ``backward``: whether the backward is itself being recorded (``create_graph=True``,
        for a higher-order gradient). The engine runs a backward with grad mode set to that,
        as PyTorch does; a backward that computes part of its gradient as a constant (or by a
        fused kernel with no derivative) reads this to take a differentiable path instead."""
        return grad_state.enabled

    def _output_version_error(self, entry: _SavedOutput) -> RuntimeError:
        return RuntimeError(
            f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: output {entry.index} of {self.name()} "
            f"(shape {tuple(entry.data.shape)}) is at version {entry.version_box[0]}; "
            f"expected version {entry.version} instead.")

    def _output_tensor(self, entry: _SavedOutput):
        """A saved output as a Tensor: the live output when it still holds the saved array,
        else a new Tensor on it (the node keeps arrays, not its outputs: no cycle)."""
        live = self._outputs[entry.index]()
        if live is not None and live._data is entry.data and live.grad_fn is self:
            return live
        t = Tensor._make(entry.data, self._out_meta[entry.index][2], self, entry.index)
        t._version_box = entry.version_box
        return t

    def mark_non_differentiable(self, *tensors) -> None:  # accepted for PyTorch parity
        pass

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for PyTorch parity: missing output gradients are always zeros here."""

    # -- node API ----------------------------------------------------------------------------
    @property
    def _freed(self) -> bool:
        """Released by a backward without retain_graph (its saved values and fields gone)."""
        return self._saved is FREED

    @property
    def _out_backend(self):
        """The backend of the node's outputs (known once ``apply`` recorded the node), for
        backwards that need its kernels or array module."""
        return self._out_meta[0][2]

    def name(self) -> str:
        return f"{type(self).__name__}Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """``((node_or_AccumulateGrad_tensor, output_nr), ...)`` as in PyTorch."""
        return tuple((None, 0) if e is None else (e[0], e[1]) for e in self._edges)

    def register_prehook(self, output_nr: int, hook) -> None:
        if self._pre_hooks is None:
            self._pre_hooks = {}
        self._pre_hooks.setdefault(output_nr, []).append(hook)

    # -- apply -------------------------------------------------------------------------------
    @classmethod
    def apply(cls, *args):
        ctx = object.__new__(cls)
        backend = None
        needs = []
        edges = []  # one pass: device check, stale views, and each input's edge
        for a in args:
            if isinstance(a, Tensor):
                if backend is None:
                    backend = a._backend
                elif a._backend is not backend and a._backend.device != backend.device:
                    raise _device_error(cls, backend, a._backend)
                if a._base is not None and a._view_version != a._version_box[0]:
                    refresh_view(a)  # its base was changed in place since: new history
                edge = _edge(a)
                needs.append(edge is not None)
                edges.append(edge)
                continue
            needs.append(False)
            edges.append(None)
        prev = grad_state.enabled
        record = prev and True in needs
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(args)
        ctx._saved = None  # save_for_backward puts the items here; packed by record()
        switch = prev and not cls.array_forward
        if switch:  # forward calls Tensor ops: they must not record
            grad_state.enabled = False
        try:
            raw = cls.forward(ctx, *args)
        except ValueError as e:
            if "broadcast" not in str(e):
                raise
            shapes = " and ".join(str(list(a.shape)) for a in args if isinstance(a, Tensor))
            raise RuntimeError(f"{cls.__name__}: the shapes {shapes} cannot be broadcast "
                               f"together ({e})") from None
        finally:
            if switch:
                grad_state.enabled = prev
        node = ctx if record else None
        if type(raw) is tuple:
            outputs = tuple(_wrap(r, backend, node, i) for i, r in enumerate(raw))
        elif type(raw) is backend.array_type:
            outputs = Tensor._make(raw, backend, node, 0)
        else:
            outputs = _wrap(raw, backend, node, 0)
        return record_node(ctx, tuple(edges), outputs, raw) if record else outputs


def _edge(t) -> tuple | None:
    """The graph edge to the input ``t``: (its node or itself as a leaf, output nr, shape,
    dtype), or None when it needs no gradient."""
    if not t._requires_grad:
        return None
    fn = t.grad_fn
    return (t if fn is None else fn, t._output_nr, t._data.shape, t._data.dtype)


def _wrap(raw, backend, node, index):
    if isinstance(raw, Tensor):
        data, backend = raw._data, raw._backend
    elif type(raw) is backend.array_type:
        data = raw
    else:
        data = backend.asarray(raw)
    return Tensor._make(data, backend, node, index)


_ONE_ARG = object()


def apply_plain(cls, a, b=_ONE_ARG):
    """``cls.apply(a)`` / ``cls.apply(a, b)`` while a graph is recorded, for checked operands:
    ``a`` a Tensor, ``b`` a Tensor of the same backend and dtype or a Python float. The hot
    lane of elementwise code: the same forward and the same node as ``apply`` (both end in
    ``record_node``), without its general argument handling; a view, whose history may need
    re-deriving, takes ``apply``. Only for classes with ``array_forward`` (their forward runs
    without switching grad mode off)."""
    if b is _ONE_ARG:
        if a._base is not None:
            return cls.apply(a)
        args = (a,)
    elif a._base is not None or (type(b) is not float and b._base is not None):
        return cls.apply(a, b)
    else:
        args = (a, b)
    ctx = object.__new__(cls)
    if a._requires_grad:  # _edge(a), inlined: the hot lane
        fn, data = a.grad_fn, a._data
        ea = (a if fn is None else fn, a._output_nr, data.shape, data.dtype)
    else:
        ea = None
    if b is _ONE_ARG:
        edges = (ea,)
        ctx.needs_input_grad = (True,)
    else:
        eb = None if type(b) is float else _edge(b)
        edges = (ea, eb)
        ctx.needs_input_grad = (ea is not None, eb is not None)
    ctx._saved = None
    try:
        raw = cls.forward(ctx, *args)
    except ValueError:  # a broadcasting error: apply words it with both shapes
        return cls.apply(*args)
    backend = a._backend
    if type(raw) is not backend.array_type:  # e.g. a NumPy scalar from 0-d math: rare
        return cls.apply(*args)
    return record_node(ctx, edges, Tensor._make(raw, backend, ctx, 0), raw)


def record_node(ctx, edges: tuple, outputs, raw):
    """Make ``ctx`` the graph node of ``outputs`` (a Tensor, or a tuple of them for an op
    with several outputs; ``raw``: what forward returned): its edges, its place in creation
    order, weak references to its outputs and their shapes, and the saved values packed
    against versions. Every recorded node goes through here. Returns ``outputs``."""
    ctx._edges = edges
    ctx._seq = next_seq()
    if type(outputs) is tuple:
        ctx._outputs = tuple(weakref.ref(o) for o in outputs)
        ctx._out_meta = tuple((o._data.shape, o._data.dtype, o._backend) for o in outputs)
        if ctx._saved is not None:
            ctx._saved = _pack_saved(ctx._saved, outputs, raw)
        return outputs
    out = outputs
    ctx._outputs = (weakref.ref(out),)
    data = out._data
    ctx._out_meta = ((data.shape, data.dtype, out._backend),)
    items = ctx._saved
    if items is None:
        return out
    packed = []  # _pack_saved's loop for one output, inlined: the hot lane
    for item in items:
        if isinstance(item, Tensor):
            if item._data is data:
                packed.append(_SavedOutput(0, data, out._version_box))
            else:
                packed.append((item, item._version_box[0]))
        elif item is data or item is raw:
            packed.append(_SavedOutput(0, data, out._version_box))
        elif item is None or type(item) in (int, float, bool):
            packed.append(None if item is None else (item, None))
        else:  # NumPy scalars, errors: the long way
            ctx._saved = _pack_saved(items, (out,), (raw,))
            return out
    ctx._saved = tuple(packed)
    return out


def saves_since(node, t, first: int) -> bool:
    """Whether ``node``, or a node recorded with it (numbered after ``first``), saved the
    tensor ``t`` (or another tensor on its array) as an input."""
    stack, seen = [node], set()
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        saved = n._saved
        if type(saved) is tuple and any(type(e) is tuple and isinstance(e[0], Tensor)
                                        and (e[0] is t or e[0]._data is t._data) for e in saved):
            return True
        stack.extend(e[0] for e in n._edges
                     if e is not None and isinstance(e[0], Function) and e[0]._seq > first)
    return False


def move_saved_output(node, t) -> None:
    """After an in-place op wrote the result of ``node`` (one output) into ``t``: the output
    ``node`` saved, if any, is ``t``'s array now, guarded by ``t``'s version counter (shared
    with its views)."""
    if node._saved:
        node._saved = tuple(_SavedOutput(0, t._data, t._version_box)
                            if type(e) is _SavedOutput else e for e in node._saved)


def set_history(t, node, output_nr: int) -> None:
    """``t`` (changed in place) becomes output ``output_nr`` of ``node``, its one output."""
    t.grad_fn, t._output_nr, t._requires_grad = node, output_nr, True
    node._outputs = (weakref.ref(t),)


def refresh_view(v) -> None:
    """Re-derive a view's grad_fn from its base after the base's history was rewritten (by an
    in-place op): the view function that ``tensorcore.ops.shape`` stored on the view runs
    again on the base, recorded."""
    base = v._base
    v._view_version = v._version_box[0]
    if base._requires_grad:
        with enable_grad():
            fresh = v._view_fn(base)
        v.grad_fn, v._output_nr, v._requires_grad = fresh.grad_fn, fresh._output_nr, True


def _pack_saved(items, outs, raws):
    """What ``save_for_backward`` kept, as stored in the node: inputs with their version,
    outputs as ``_SavedOutput`` (no reference cycle), Python constants as they are."""
    packed = []
    for item in items:
        data = item._data if isinstance(item, Tensor) else item
        index = _output_index(data, outs, raws)
        if index >= 0:
            packed.append(_SavedOutput(index, outs[index]._data, outs[index]._version_box))
        elif isinstance(item, Tensor):
            packed.append((item, item._version_box[0]))
        elif item is None or isinstance(item, (int, float, bool)):  # np.float64 too
            packed.append(None if item is None else (item, None))
        else:
            raise TypeError("save_for_backward takes tensors (inputs or outputs of the op); "
                            f"got {type(item).__name__}")
    return tuple(packed)


def _output_index(data, outs, raws) -> int:
    """Which output ``data`` is (-1: none). A raw output may be a NumPy scalar (ufuncs on 0-d
    arrays give those) that was converted on wrapping, hence ``raws``."""
    for i, o in enumerate(outs):
        if o._data is data or raws[i] is data:
            return i
    return -1


def _version_error(node, tensor, version):
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{tensor.dtype} tensor of shape {list(tensor.shape)}], used by "
        f"{node.name()}, is at version {tensor._version_box[0]}; expected version {version} "
        f"instead. Hint: make a clone() before the in-place change.")


def _device_error(cls, b1, b2):
    return RuntimeError(
        f"Expected all tensors to be on the same device, but found at least two devices, "
        f"{b1.device} and {b2.device}! (in {cls.__name__})")
