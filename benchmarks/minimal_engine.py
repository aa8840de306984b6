"""How fast can a pure-Python autograd engine run the per-op chain? An estimate.

A stripped engine that keeps only the bookkeeping a correct walk needs (an edge per input,
saved values checked against version counters, weak references to outputs, creation order,
a heap walk newest-first, a shape and dtype check per gradient) runs the overhead benchmark's
chain (``h*0.9, h+0.1, tanh, h*y, sigmoid`` x 40, then ``sum().backward()``). It leaves out
what tensorcore must also do: the ``Function`` protocol shared with users' Functions, views,
hooks, ``retain_graph`` / ``create_graph``, anomaly mode, device checks, dtype promotion.
``docs/benchmarks.md`` compares the two.

    python benchmarks/minimal_engine.py
"""

from __future__ import annotations

import heapq
import itertools
import os
import sys
import time
import weakref

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads as W  # noqa: E402  (the chain: its length, cycle and inputs)

_next_seq = itertools.count().__next__


class Var:
    __slots__ = ("data", "node", "requires_grad", "version", "grad", "__weakref__")

    def __init__(self, data, node=None, requires_grad=False):
        self.data, self.node, self.grad = data, node, None
        self.requires_grad = requires_grad or node is not None
        self.version = [0]

    def __mul__(self, other):
        if type(other) is float:
            return _record(MulConst, self.data * other, self, None, other)
        return _record(Mul, self.data * other.data, self, other, None)

    def __add__(self, other: float):
        return _record(AddConst, self.data + other, self, None, None)

    def tanh(self):
        return _record(Tanh, np.tanh(self.data), self, None, None)

    def sigmoid(self):
        return _record(Sigmoid, 1 / (1 + np.exp(-self.data)), self, None, None)

    def sum(self):
        return _record(Sum, self.data.sum(), self, None, None)


class Node:
    __slots__ = ("edges", "seq", "output", "saved", "const", "shape")


def _edge(v: Var):
    return (v.node or v, v.data.shape, v.data.dtype) if v.requires_grad else None


def _record(cls, data, a: Var, b: Var | None, const):
    out = Var(data)
    node = cls()
    node.edges = (_edge(a),) if b is None else (_edge(a), _edge(b))
    node.seq, node.output, node.const = _next_seq(), weakref.ref(out), const
    node.saved = cls.save(a, b, data, out)
    node.shape = a.data.shape
    out.node, out.requires_grad = node, True
    return out


class MulConst(Node):
    __slots__ = ()
    save = staticmethod(lambda a, b, data, out: None)

    def backward(self, g):
        return (g * self.const,)


class AddConst(MulConst):
    __slots__ = ()

    def backward(self, g):
        return (g,)


class Sum(MulConst):
    __slots__ = ()

    def backward(self, g):
        out = np.empty(self.shape, g.dtype)
        out[...] = g
        return (out,)


class Mul(Node):
    __slots__ = ()
    save = staticmethod(lambda a, b, data, out: ((a, a.version[0]), (b, b.version[0])))

    def backward(self, g):
        (a, version_a), (b, version_b) = self.saved
        if a.version[0] != version_a or b.version[0] != version_b:
            raise RuntimeError("an input was modified in place")
        return (g * b.data, g * a.data)


class Tanh(Node):
    __slots__ = ()
    save = staticmethod(lambda a, b, data, out: (data, out.version, out.version[0]))

    def backward(self, g):
        y, box, version = self.saved
        if box[0] != version:
            raise RuntimeError("the output was modified in place")
        return (g * (1 - y * y),)


class Sigmoid(Tanh):
    __slots__ = ()

    def backward(self, g):
        y, box, version = self.saved
        if box[0] != version:
            raise RuntimeError("the output was modified in place")
        return (g * y * (1 - y),)


def backward(root: Var) -> None:
    buffers = {root.node: np.ones((), root.data.dtype)}
    heap = [(-root.node.seq, root.node)]
    while heap:
        node = heapq.heappop(heap)[1]
        grads = node.backward(buffers.pop(node))
        for edge, g in zip(node.edges, grads):
            if edge is None:
                continue
            target, shape, dtype = edge
            if g.shape != shape or (g.dtype is not dtype and g.dtype != dtype):
                raise RuntimeError("a gradient of the wrong shape or dtype")
            if type(target) is Var:
                target.grad = g if target.grad is None else target.grad + g
                continue
            held = buffers.get(target)
            if held is None:
                buffers[target] = g
                heapq.heappush(heap, (-target.seq, target))
            else:
                buffers[target] = held + g
        node.saved = None


def _chain(x: Var, y: Var) -> Var:
    """``workloads.make_chain``'s chain: its cycle ``CHAIN_OPS / 5`` times."""
    h = x
    for _ in range(W.CHAIN_OPS // len(W.CHAIN_CYCLE)):
        h = (h * 0.9 + 0.1).tanh()
        h = (h * y).sigmoid()
    return h


def _us_per_op(fn, n: int = 30, repeats: int = 15) -> float:
    """Microseconds per chain op: the best of ``repeats`` loops of ``n`` calls (wall clock,
    as ``report.py`` times the chain)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - start) / n)
    return min(times) / W.CHAIN_OPS * 1e6


def main() -> None:
    xn, yn = W._chain_inputs()
    x, y = Var(xn, requires_grad=True), Var(yn)
    backward(_chain(x, y).sum())  # the gradient first: the same as the float64 reference
    np.testing.assert_allclose(x.grad, W.chain_reference_grad(), rtol=1e-4, atol=1e-6)
    x.grad = None

    def forward_backward():
        backward(_chain(x, y).sum())
        x.grad = None

    total = _us_per_op(forward_backward)
    forward = _us_per_op(lambda: _chain(x, y))
    print(f"minimal engine: {total:.2f} us per op forward+backward ({forward:.2f} forward)")


if __name__ == "__main__":
    main()
