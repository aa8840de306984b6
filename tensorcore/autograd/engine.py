"""The reverse-mode engine: one iterative walk over the graph in topological order.

Two lanes, chosen once per walk by ``create_graph``. Without it (first order) gradients flow
as bare arrays: a node whose backward is ``array_backward`` gets arrays (and its
``saved_tensors`` as arrays), any other gets them wrapped in Tensors (``_call_wrapped``).
With it, every backward gets Tensors and runs with grad mode on, so it is itself recorded.

Broadcasting is undone here, in one place (``_match``): a gradient whose shape differs from
its input's is summed back to that shape (and cast to the input's dtype) before it moves on.

>>> import tensorcore as tc
>>> x = tc.ones(3, requires_grad=True)
>>> (x * tc.ones(2, 3)).sum().backward()   # x was broadcast to (2, 3)
>>> x.grad.tolist()
[2.0, 2.0, 2.0]
"""

from __future__ import annotations

import heapq
from heapq import heappop, heappush

from . import function
from .function import _FREED_MESSAGE, FREED, Function
from .grad_mode import grad_state
from .leaves import LeafGrads, id_of_memory, plus


def run_backward(roots, root_grads, retain_graph: bool, create_graph: bool,
                 inputs=None, allow_unused: bool = False, accumulate: bool = True):
    """Propagate ``root_grads`` from ``roots`` back through the graph. With ``inputs``, return
    their gradients (for ``autograd.grad``: unless ``accumulate``, no ``.grad`` is touched)."""
    bare = not create_graph  # the first-order lane: gradients are bare arrays
    leaves = LeafGrads(create_graph, inputs, accumulate)
    buffers, heap = _seed(roots, root_grads, bare, leaves)
    captures, needed = _grad_targets(inputs, accumulate, buffers)
    direct_leaves = bare and inputs is None  # leaves without hooks take gradients as they come
    prev_mode, anomaly = grad_state.enabled, grad_state.anomaly  # the loop reads locals
    grad_state.enabled = create_graph  # backwards are recorded exactly with create_graph
    try:
        while heap:  # the newest pending node first: each node runs after all its consumers
            node = heappop(heap)[1]
            grads = buffers.pop(node)
            if (node._saved is FREED or node._pre_hooks or captures
                    or (grads[0] is None if len(grads) == 1 else _has_none(grads))):
                grads = _prepare_grads(node, grads, captures, bare)
            if needed is not None and needed.get(node) is not True:
                continue  # autograd.grad: nothing it asked for lies behind this node
            if bare and not type(node).array_backward:  # the one choice of lane per node
                in_grads = _call_wrapped(node, grads)
            else:
                in_grads = node.backward(node, *grads)
            edges = node._edges
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            if len(in_grads) != len(edges) or anomaly:
                in_grads = _check_backward_output(node, in_grads, bare)
            for edge, g in zip(edges, in_grads):  # deliver each gradient along its edge
                if edge is None or g is None:
                    continue
                target, nr, shape, dtype = edge
                if bare:
                    if (g.shape != shape or not g.ndim
                            or (g.dtype is not dtype and g.dtype != dtype)):
                        g = _match(g, shape, dtype, node, bare)
                elif (type(g) is not function.Tensor or g._data.shape != shape
                      or g._data.dtype != dtype):
                    g = _match(g, shape, dtype, node, bare)
                if not isinstance(target, Function):  # a leaf: added now, or summed first
                    if direct_leaves and not target._hooks:
                        leaves.accumulate_array(target, g)
                        continue
                    leaves.pend(target, g)
                    continue
                if needed is not None and target not in needed:
                    continue
                buf = buffers.get(target)
                if buf is None:
                    buf = buffers[target] = [None] * len(target._out_meta)
                    heappush(heap, (-target._seq, target))
                buf[nr] = g if buf[nr] is None else plus(buf[nr], g)
            if not retain_graph and (node._saved is not None or node.__dict__):
                node._saved = FREED  # free what the backward needed (saved values, ctx fields)
                node.__dict__.clear()
        leaves.flush(bare)
    finally:
        grad_state.enabled = prev_mode
    return None if inputs is None else leaves.collect(captures, allow_unused)


def _seed(roots, root_grads, bare: bool, leaves: LeafGrads) -> tuple[dict, list]:
    """The walk's start: each root's gradient in its node's buffer (a root that is a leaf
    takes it at once). Returns the buffers (node -> one gradient per output) and the heap
    of pending nodes. Creation order is a topological order (a node is made after its
    inputs' nodes), so the heap is keyed on ``-seq``: the newest node first."""
    buffers: dict[Function, list] = {}
    heap = []
    for root, g in zip(roots, root_grads):
        leaves.handed_out.add(id_of_memory(g._data))  # the caller's: copied before kept
        node = root.grad_fn
        if node is None:
            if not root._requires_grad:
                raise RuntimeError("element 0 of tensors does not require grad and does not "
                                   "have a grad_fn")
            leaves.take(root, g)
            continue
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * len(node._out_meta)
            heap.append((-node._seq, node))
        i = root._output_nr
        if bare:
            g = g._data
        buf[i] = g if buf[i] is None else plus(buf[i], g)
    if len(heap) > 1:
        heapq.heapify(heap)
    return buffers, heap


def _call_wrapped(node: Function, grads: list) -> tuple:
    """A first-order backward that is not array-level (custom Functions, shape ops...):
    it gets Tensors, and its gradients are unwrapped to arrays after."""
    backend = node._out_backend
    make = function.Tensor._make
    out = node.backward(node, *[make(g, backend) for g in grads])
    if type(out) is not tuple:
        out = (out,)
    return tuple(g if g is None else _as_array(g, backend) for g in out)


def _as_array(g, backend):
    if type(g) is backend.array_type:
        return g
    if isinstance(g, function.Tensor):
        return g._data
    if hasattr(g, "dtype") or isinstance(g, (int, float)):  # NumPy scalars from 0-d math
        return backend.asarray(g)
    raise TypeError(f"a backward returned a gradient of type {type(g).__name__}; expected a "
                    f"Tensor or None")


def _match(g, shape, dtype, node, bare: bool):
    """The one place where broadcasting is reduced: ``g`` summed back to its input's
    ``shape`` and given its ``dtype``; a bare array on the first-order lane (NumPy scalars
    from 0-d math made arrays again), else a Tensor, reduced by a recorded op."""
    if bare:
        backend = node._out_backend
        if type(g) is not backend.array_type:
            g = _as_array(g, backend)
        if g.shape != shape:
            g = sum_to_shape(g, shape)
        return g.astype(dtype, copy=False)
    if not isinstance(g, function.Tensor):
        raise TypeError(f"{node.name()} returned a gradient of type {type(g).__name__}; "
                        f"expected a Tensor or None")
    if g._data.shape != shape:
        g = g.sum_to_size(shape)
    return g if g._data.dtype == dtype else g.to(dtype)


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
            if not isinstance(target, Function):
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


def _grad_targets(inputs, accumulate: bool, buffers: dict) -> tuple[dict, dict | None]:
    """For autograd.grad: the (node, output_nr) keys to read gradients from for non-leaf
    inputs, and (unless ``accumulate``) the nodes to run (``_needed_nodes``); for a plain
    backward, nothing to capture and every node."""
    if inputs is None:
        return {}, None
    captures = {(t.grad_fn, t._output_nr): None for t in inputs if t.grad_fn is not None}
    return captures, None if accumulate else _needed_nodes(list(buffers), inputs)


def _prepare_grads(node: Function, grads: list, captures: dict, bare: bool) -> list:
    """Zeros for missing output gradients, the tensor hooks, and autograd.grad's captures
    (on Tensors: bare arrays are wrapped for them and unwrapped after)."""
    if node._freed:
        raise RuntimeError(f"{node.name()}: {_FREED_MESSAGE}")
    make = function.Tensor._make
    if bare:
        backend = node._out_backend
        grads = [None if g is None else make(g, backend) for g in grads]
    for i, g in enumerate(grads):
        if g is None:  # an output that got no gradient: zeros, as PyTorch materializes them
            shape, dtype, backend = node._out_meta[i]
            grads[i] = make(backend.xp.zeros(shape, dtype), backend, None, 0)
    if node._pre_hooks:
        for i, hooks in node._pre_hooks.items():
            for hook in hooks:
                new = hook(grads[i])
                if new is not None:
                    grads[i] = new
    for i, g in enumerate(grads):
        key = (node, i)
        if key in captures:
            captures[key] = g if captures[key] is None else captures[key] + g
    return [g._data for g in grads] if bare else grads


def _has_none(grads: list) -> bool:
    for g in grads:  # not ``None in grads``: that compares arrays with ==
        if g is None:
            return True
    return False


def _check_backward_output(node: Function, out: tuple, bare: bool) -> tuple:
    """Normalize what a backward returned (one gradient per input) and, in anomaly mode,
    name the op whose gradient holds NaN or Inf."""
    n = len(node._edges)
    if len(out) != n:
        if len(out) < n and all(e is None for e in node._edges[len(out):]):
            out = out + (None,) * (n - len(out))
        else:
            raise RuntimeError(f"function {node.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(out)})")
    if grad_state.anomaly:
        for i, g in enumerate(out):
            if g is None:
                continue
            xp = node._out_backend.xp if bare else g._backend.xp
            if not bool(xp.isfinite(g if bare else g._data).all()):
                raise RuntimeError(f"Function '{node.name()}' returned nan values in its "
                                   f"{i}th output.")
    return out
