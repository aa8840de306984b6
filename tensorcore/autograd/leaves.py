"""Where a backward walk's gradients for leaves go: into each leaf's ``.grad`` (first order:
bare arrays, added in place where that is safe), and for ``autograd.grad`` into its result.

>>> import tensorcore as tc
>>> w = tc.ones(2, requires_grad=True)
>>> (w * 3).sum().backward(); (w * 3).sum().backward()
>>> w.grad.tolist()
[6.0, 6.0]
"""

from __future__ import annotations

import numpy as np

from . import function


def plus(a, b):
    """``a + b`` of two gradients; NumPy sums two 0-d arrays to a scalar, made a 0-d array
    again (a scalar held as a gradient would not be added to in place later)."""
    out = a + b
    return np.asarray(out) if isinstance(out, np.generic) else out


class LeafGrads:
    """Where the walk's gradients for leaves go: each leaf's ``.grad`` (summed first, so its
    hooks see the total), and for ``inputs`` (autograd.grad) the gradients returned."""

    __slots__ = ("create_graph", "inputs", "accumulate", "handed_out", "grads", "pending")

    def __init__(self, create_graph: bool, inputs, accumulate: bool) -> None:
        self.create_graph, self.inputs, self.accumulate = create_graph, inputs, accumulate
        # arrays given to a .grad (or owned by the caller, as the root gradients are): copied
        self.handed_out: set[int] = set()
        self.grads: dict[int, object] = {}  # id(leaf) -> its gradient, for ``inputs``
        self.pending: dict[int, tuple] = {}  # id(leaf) -> (leaf, summed gradient)

    def pend(self, leaf, g) -> None:
        prev = self.pending.get(id(leaf))
        self.pending[id(leaf)] = (leaf, g if prev is None else plus(prev[1], g))

    def flush(self, bare: bool) -> None:
        """The walk is over: every pending leaf takes its summed gradient."""
        for leaf, g in self.pending.values():
            self.take(leaf, function.Tensor._make(g, leaf._backend) if bare else g)

    def take(self, leaf, g) -> None:
        """The leaf's hooks, then ``g`` (a Tensor) into ``.grad`` and/or the results."""
        if leaf._hooks:
            for hook in leaf._hooks:
                new = hook(g)
                if new is not None:
                    g = new
        inputs = self.inputs
        if inputs is not None:
            key = id(leaf)
            self.grads[key] = g if key not in self.grads else self.grads[key] + g
            if not self.accumulate or not any(t is leaf for t in inputs):
                return  # backward(inputs=...) accumulates into those tensors only
        if not self.create_graph:
            self.accumulate_array(leaf, g._data if g.grad_fn is None else g._data.copy())
            return
        current = leaf.grad
        leaf.grad = g if current is None else current + g

    def accumulate_array(self, leaf, data) -> None:
        """Add the bare array gradient ``data`` to ``leaf.grad`` (first order). An array
        handed out already (to another .grad, or the caller's) or read-only (a broadcast
        view) is copied first; a ``.grad`` handed out during this walk is never written in
        place."""
        handed_out = self.handed_out
        current = leaf.grad
        if current is not None and not current._requires_grad:
            held = current._data
            if id_of_memory(held) in handed_out:
                current._data = plus(held, data)  # handed out during this walk: may be shared
            else:  # the user's .grad from before: accumulated in place, as PyTorch does
                held += data
                current._version_box[0] += 1
            return
        key = id_of_memory(data)
        if key in handed_out or not getattr(data.flags, "writeable", True):
            data = data.copy()
        else:
            handed_out.add(key)
        g = function.Tensor._make(data, leaf._backend)
        leaf.grad = g if current is None else current + g

    def collect(self, captures: dict, allow_unused: bool) -> tuple:
        """autograd.grad's result: one gradient per input (None for an unused one)."""
        result = []
        for i, t in enumerate(self.inputs):
            g = captures.get((t.grad_fn, t._output_nr)) if t.grad_fn is not None \
                else self.grads.get(id(t))
            if g is None and not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}) appears to "
                                   f"not have been used in the graph. Set allow_unused=True if "
                                   f"this is the desired behavior.")
            result.append(g)
        return tuple(result)


def id_of_memory(a) -> int:
    return id(a if a.base is None else a.base)
