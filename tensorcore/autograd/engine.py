"""The reverse-mode engine: one iterative walk over the graph in topological order.

Broadcasting is undone here, in one place: a gradient whose shape differs from its input's
is summed back to that shape (and cast to the input's dtype) before it moves on.

>>> import tensorcore as tc
>>> x = tc.ones(3, requires_grad=True)
>>> (x * tc.ones(2, 3)).sum().backward()   # x was broadcast to (2, 3)
>>> x.grad.tolist()
[2.0, 2.0, 2.0]
"""

from __future__ import annotations

import heapq
from heapq import heappop, heappush

import numpy as np

from .function import _FREED_MESSAGE, FREED, Function
from .grad_mode import _State

Tensor = None  # set by tensorcore.tensor
sum_to = None  # set by tensorcore.ops (a differentiable reduction to a shape)


def run_backward(roots, root_grads, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False, accumulate: bool = True):
    """Propagate ``root_grads`` from ``roots`` back through the graph.

    With ``inputs`` given, returns their gradients (for ``autograd.grad``) and, unless
    ``accumulate``, leaves every ``.grad`` alone.
    """
    buffers: dict[Function, list] = {}
    # arrays given to a .grad (or owned by the caller, as the root gradients are): copied
    handed_out: set[int] = set()
    leaf_grads: dict[int, Tensor] = {}
    leaf_pending: dict[int, tuple] = {}  # id(leaf) -> (leaf, summed gradient)
    # Without create_graph, gradients flow as bare arrays; nodes whose backward is not
    # array-level get them wrapped in Tensors (see _call_backward).
    bare = not create_graph
    # Creation order is a topological order (a node is made after its inputs' nodes), so
    # taking the newest pending node first (a heap on -seq) runs each node after all its
    # consumers.
    heap = []
    for root, g in zip(roots, root_grads):
        handed_out.add(_id_of_memory(g._data))
        node = root.grad_fn
        if node is None:
            if not root._requires_grad:
                raise RuntimeError("element 0 of tensors does not require grad and does not "
                                   "have a grad_fn")
            _to_leaf(root, g, create_graph, handed_out, leaf_grads, inputs, accumulate)
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * len(node._out_meta)
            heap.append((-node._seq, node))
        i = root._output_nr
        if bare:
            g = g._data
        buf[i] = g if buf[i] is None else _plus(buf[i], g)
    if len(heap) > 1:
        heapq.heapify(heap)
    captures = {} if inputs is None else _capture_targets(inputs)
    # a plain first-order backward(): leaves without hooks take their gradients as they come
    direct_leaves = bare and inputs is None
    needed = None if inputs is None or accumulate else _needed_nodes(list(buffers), inputs)
    prev_mode, prev_raw = _State.enabled, _State.raw
    anomaly = _State.anomaly  # read once: a thread-local attribute costs ~45 ns a read
    _State.enabled = create_graph
    _State.raw = bare  # array-level backwards get saved values as arrays
    try:
        while heap:
            node = heappop(heap)[1]
            grads = buffers.pop(node)
            if (node._saved is FREED or node._pre_hooks or captures
                    or (grads[0] is None if len(grads) == 1 else _has_none(grads))):
                _State.raw = False
                grads = _prepare_grads(node, grads, captures, bare)
                _State.raw = bare
            if needed is not None and needed.get(node) is not True:
                continue  # autograd.grad: nothing it asked for lies behind this node
            if not bare or type(node).array_backward:
                in_grads = node.backward(node, *grads)
            else:
                _State.raw = False
                in_grads = _call_wrapped(node, grads)
                _State.raw = True
            edges = node._edges
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if len(in_grads) != len(edges) or anomaly:
                in_grads = _check_backward_output(node, in_grads, bare)
            for edge, g in zip(edges, in_grads):
                if edge is None or g is None:
                    continue
                target, nr, shape, dtype = edge
                if bare:
                    if (g.shape != shape or not g.ndim
                            or (g.dtype is not dtype and g.dtype != dtype)):
                        g = _match_array(g, shape, dtype, node)
                elif type(g) is not Tensor or g._data.shape != shape or g._data.dtype != dtype:
                    g = _match_input(g, shape, dtype, node)
                if isinstance(target, Tensor):
                    if direct_leaves and not target._hooks:
                        _accumulate_array(target, g, handed_out)
                        continue
                    prev = leaf_pending.get(id(target))  # summed first: hooks see the total
                    leaf_pending[id(target)] = (target, g if prev is None else _plus(prev[1], g))
                    continue
                if needed is not None and target not in needed:
                    continue
                buf = buffers.get(target)
                if buf is None:
                    buf = buffers[target] = [None] * len(target._out_meta)
                    heappush(heap, (-target._seq, target))
                buf[nr] = g if buf[nr] is None else _plus(buf[nr], g)
            if not retain_graph and (node._saved is not None or node.__dict__):
                node._saved = FREED  # free what the backward needed (saved values, ctx fields)
                node.__dict__.clear()
        _State.raw = False
        for target, g in leaf_pending.values():
            if bare:
                g = Tensor._make(g, target._backend)
            _to_leaf(target, g, create_graph, handed_out, leaf_grads, inputs, accumulate)
    finally:
        _State.enabled, _State.raw = prev_mode, prev_raw
    if inputs is None:
        return None
    return _collect(inputs, captures, leaf_grads, allow_unused)


def _plus(a, b):
    """``a + b`` of two gradients; NumPy sums two 0-d arrays to a scalar, made a 0-d array
    again (a scalar held as a gradient would not be added to in place later)."""
    out = a + b
    return np.asarray(out) if isinstance(out, np.generic) else out


def _call_wrapped(node: Function, grads: list) -> tuple:
    """A first-order backward that is not array-level (custom Functions, shape ops...):
    it gets Tensors, and its gradients are unwrapped to arrays after."""
    backend = node._out_backend
    out = node.backward(node, *[Tensor._make(g, backend) for g in grads])
    if type(out) is not tuple:
        out = (out,)
    return tuple(g if g is None else _as_array(g, backend) for g in out)


def _as_array(g, backend):
    if type(g) is backend.array_type:
        return g
    if isinstance(g, Tensor):
        return g._data
    if hasattr(g, "dtype") or isinstance(g, (int, float)):  # NumPy scalars from 0-d math
        return backend.asarray(g)
    raise TypeError(f"a backward returned a gradient of type {type(g).__name__}; expected a "
                    f"Tensor or None")


def _match_array(g, shape, dtype, node):
    """``_match_input`` for bare arrays: sum a broadcast gradient back to the input's shape
    and give it the input's dtype (and make NumPy scalars from 0-d math arrays again)."""
    backend = node._out_backend
    if type(g) is not backend.array_type:
        g = _as_array(g, backend)
    if g.shape != shape:
        g = sum_to_shape(g, shape)
    return g.astype(dtype, copy=False)


def sum_to_shape(x, shape):
    """Sum the array ``x`` back to ``shape``, a shape it was broadcast from: the one
    broadcasting rule (float16 accumulates in float32; the result keeps x's dtype)."""
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    if axes:
        acc = "float32" if x.dtype == "float16" else None
        x = x.sum(axis=axes, keepdims=True, dtype=acc).astype(x.dtype, copy=False)
    return x.reshape(shape)


def _needed_nodes(roots: list[Function], inputs) -> dict:
    """For autograd.grad: the nodes through which some input is reached.

    Maps each such node to True when its backward must run (it leads on to an input) or
    False when it is itself an input's grad_fn with nothing needed behind it.
    """
    leaf_ids = {id(t) for t in inputs if t.grad_fn is None}
    input_nodes = {t.grad_fn for t in inputs if t.grad_fn is not None}
    parents: dict[Function, list] = {}
    leads: set = set()  # nodes with an edge straight to an input leaf or input node
    stack, seen = list(roots), set(roots)
    while stack:
        node = stack.pop()
        for edge in node._edges:
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Tensor):
                if id(target) in leaf_ids:
                    leads.add(node)
                continue
            parents.setdefault(target, []).append(node)
            if target in input_nodes:
                leads.add(node)
            if target not in seen:
                seen.add(target)
                stack.append(target)
    needed = dict.fromkeys(input_nodes & (seen | set(roots)), False)
    needed.update(dict.fromkeys(leads, True))
    stack = list(needed)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if needed.get(parent) is not True:
                needed[parent] = True
                stack.append(parent)
    return needed


def _capture_targets(inputs):
    """For autograd.grad: which (node, output_nr) to read gradients from for non-leaf inputs."""
    if inputs is None:
        return {}
    return {(t.grad_fn, t._output_nr): None for t in inputs if t.grad_fn is not None}


def _prepare_grads(node: Function, grads: list, captures: dict, bare: bool = False) -> list:
    """Zeros for missing output gradients, the tensor hooks, and autograd.grad's captures
    (on Tensors: bare arrays are wrapped for them and unwrapped after)."""
    if bare:
        backend = node._out_backend
        wrapped = [None if g is None else Tensor._make(g, backend) for g in grads]
        return [g._data for g in _prepare_grads(node, wrapped, captures)]
    if node._freed:
        raise RuntimeError(f"{node.name()}: {_FREED_MESSAGE}")
    for i, g in enumerate(grads):
        if g is None:  # an output that got no gradient: zeros, as PyTorch materializes them
            shape, dtype, backend = node._out_meta[i]
            grads[i] = Tensor._make(backend.xp.zeros(shape, dtype), backend, None, 0)
    if node._pre_hooks:
        for i, hooks in node._pre_hooks.items():
            for hook in hooks:
                new = hook(grads[i])
                if new is not None:
                    grads[i] = new
    if captures:
        for i, g in enumerate(grads):
            key = (node, i)
            if key in captures:
                captures[key] = g if captures[key] is None else captures[key] + g
    return grads


def _has_none(grads: list) -> bool:
    for g in grads:
        if g is None:
            return True
    return False


def _check_backward_output(node: Function, out, bare: bool = False) -> tuple:
    """Normalize what a backward returned (one gradient per input) and, in anomaly mode,
    name the op whose gradient holds NaN or Inf."""
    if not isinstance(out, tuple):
        out = (out,)
    n = len(node._edges)
    if len(out) != n:
        if len(out) < n and all(e is None for e in node._edges[len(out):]):
            out = out + (None,) * (n - len(out))
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(out)})")
    if _State.anomaly:
        for i, g in enumerate(out):
            if g is None:
                continue
            xp = node._out_backend.xp if bare else g._backend.xp
            if not bool(xp.isfinite(g if bare else g._data).all()):
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                   f"{i}th output.")
    return out


def _match_input(g, shape, dtype, node):
    """The one place where broadcasting is reduced: sum ``g`` back to the input's shape."""
    if not isinstance(g, Tensor):
        raise TypeError(f"{node.name()} returned a gradient of type {type(g).__name__}; "
                        f"expected a Tensor or None")
    if g._data.shape != shape:
        g = sum_to(g, shape)
    if g._data.dtype != dtype:
        g = g.to(dtype)
    return g


def _to_leaf(leaf, g, create_graph, handed_out, leaf_grads, inputs, accumulate):
    if leaf._hooks:
        for hook in leaf._hooks:
            new = hook(g)
            if new is not None:
                g = new
    if inputs is not None:
        key = id(leaf)
        leaf_grads[key] = g if key not in leaf_grads else leaf_grads[key] + g
        if not accumulate or not any(t is leaf for t in inputs):
            return  # backward(inputs=...) accumulates into those tensors only
    if not create_graph:
        _accumulate_array(leaf, g._data if g.grad_fn is None else g._data.copy(), handed_out)
        return
    current = leaf.grad
    leaf.grad = g if current is None else current + g


def _accumulate_array(leaf, data, handed_out) -> None:
    """Add the bare array gradient ``data`` to ``leaf.grad`` (first order). An array that is
    handed out already (to another .grad, or the caller's) or read-only (a broadcast view) is
    copied first; a ``.grad`` handed out during this walk is never written in place."""
    current = leaf.grad
    if current is not None and not current._requires_grad:
        held = current._data
        if _id_of_memory(held) in handed_out:
            current._data = _plus(held, data)  # handed out during this walk: may still be shared
        else:  # the user's .grad from before: accumulated in place, as PyTorch does
            held += data
            current._version_box[0] += 1
        return
    key = _id_of_memory(data)
    if key in handed_out or not getattr(data.flags, "writeable", True):
        data = data.copy()
    else:
        handed_out.add(key)
    g = Tensor._make(data, leaf._backend)
    leaf.grad = g if current is None else current + g


def _id_of_memory(a) -> int:
    return id(a if a.base is None else a.base)


def _collect(inputs, captures, leaf_grads, allow_unused):
    result = []
    for i, t in enumerate(inputs):
        g = captures.get((t.grad_fn, t._output_nr)) if t.grad_fn is not None \
            else leaf_grads.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to not "
                               f"have been used in the graph. Set allow_unused=True if this is "
                               f"the desired behavior.")
        result.append(g)
    return tuple(result)
