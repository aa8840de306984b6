"""The backend contract: what a backend must provide to serve a device.

A backend is one object (one file) with

* ``name``, ``device_type`` (``"cpu"`` / ``"cuda"``), ``device`` and ``array_type``;
* ``xp``: a NumPy-compatible array namespace (``numpy``, ``cupy``) providing the functions in
  ``XP_FUNCTIONS`` with NumPy's signatures, and arrays supporting Python's arithmetic,
  comparison, ``@`` and indexing operators with NumPy's broadcasting and type rules;
* the methods of ``Backend`` below: conversion, random numbers, a scatter-add, and the
  kernel entry points. ``Backend`` implements the kernels with ``xp`` calls, so a new
  backend overrides only what it can do faster;
* for a device that records CUDA graphs, the capture protocol (``tensorcore.cuda.graphs``
  uses nothing else of a backend): ``capturing``, ``prepare_capture``, ``side_stream``,
  ``graph_mode``, ``allocating_from``, ``record``, ``join_stream`` and ``replay_graph``.
  ``Backend`` answers ``capturing()`` with False and raises NotImplementedError for the
  others: the CPU backends record no graphs.

``tests/test_arch_backends.py`` checks that every ``xp`` function used outside the backends
is in ``XP_FUNCTIONS`` and that every registered backend provides the whole contract.

>>> from tensorcore.backends import get_backend
>>> get_backend("cpu").xp.__name__
'numpy'
"""

from __future__ import annotations

import numpy as np

from tensorcore.kernels import activations
from tensorcore.kernels.activations import erf as _erf  # noqa: F401 - ops.unary uses them
from tensorcore.kernels.activations import is_numpy  # noqa: F401 - the backends' test
from tensorcore.kernels.activations import sigmoid as _sigmoid  # noqa: F401

XP_FUNCTIONS = """
abs exp expm1 log log1p sqrt sin cos tanh sign maximum minimum where clip logaddexp
tan sinh cosh arcsin arccos arctan log2 log10 exp2 hypot arctan2 finfo
add subtract multiply divide true_divide floor_divide remainder fmod
floor ceil trunc rint isfinite isnan isinf isclose triu tril
sum mean var prod cumprod cumsum max min argmax argmin any all matmul einsum
reshape transpose moveaxis broadcast_to expand_dims squeeze concatenate stack split
zeros zeros_like ones ones_like full full_like empty empty_like arange linspace eye
ascontiguousarray asarray copyto result_type
take_along_axis nonzero argsort searchsorted unique bincount
logical_and logical_or logical_not logical_xor bitwise_and bitwise_or bitwise_xor invert
""".split()


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # what the fused kernels take

_CHUNK = 1 << 15  # elements per chunk of a streamed in-place update (fits in L2)


class ClassTargetError(IndexError):
    """A class index outside [0, C) reached a fused cross-entropy (``nn.functional.
    cross_entropy`` then takes its general path, which ignores ``ignore_index`` or names the
    bad target)."""


def targets_in_range(t, n_classes: int) -> bool:
    """Whether all class indices lie in [0, C) (NumPy would wrap negative ones silently)."""
    return not t.size or unsigned_max(t) < n_classes


def unsigned_max(t) -> int:
    """The largest integer of non-empty ``t`` seen as unsigned: a negative index is huge, so
    ``unsigned_max(t) < C`` checks both ends of [0, C) at once."""
    return int(t.view(_UNSIGNED[t.dtype.itemsize]).max())


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def overlaps(xp, x, y) -> bool:
    """Whether ``y`` may share memory with ``x`` without being ``x`` itself: an in-place
    update of ``x`` that reads ``y`` as it goes would then reread updated elements."""
    return x is not y and (x.base is not None or y.base is not None) \
        and bool(xp.may_share_memory(x, y))


def one_pass_update_fits(xp, x, y) -> bool:
    """Whether a one-pass in-place ``x += alpha * y`` kernel takes these arrays: one
    float32/float64 dtype, one shape, both C-contiguous, ``x`` writeable, and ``y`` either
    ``x`` itself or apart from it (the pass would reread elements it had already updated)."""
    return (x.dtype is y.dtype or x.dtype == y.dtype) and x.dtype in FLOAT_DTYPES \
        and x.shape == y.shape and x.flags.c_contiguous and y.flags.c_contiguous \
        and getattr(x.flags, "writeable", True) and not overlaps(xp, x, y)


def softmax_ce_reference(xp, z, target):
    """``Backend.softmax_cross_entropy`` without the range check: targets in [0, C)."""
    shifted = z - z.max(axis=1, keepdims=True)
    probs = xp.exp(shifted)
    total = probs.sum(axis=1, keepdims=True)
    losses = xp.log(total[:, 0]) - shifted[xp.arange(z.shape[0]), target]
    probs /= total
    return losses, probs


class Backend:
    """Base class and reference implementation of the contract (see module docstring)."""

    name = "abstract"
    device_type = "cpu"
    xp = np
    array_type: type = np.ndarray
    # whether ``xp`` raises IndexError for an out-of-range integer-array index (NumPy does;
    # CuPy wraps it silently, so tensorcore checks the bounds itself there)
    checks_index_bounds = True

    def __init__(self, device) -> None:
        self.device = device
        self.rng = np.random.default_rng()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} on {self.device}>"

    # -- conversion ------------------------------------------------------------------------
    def asarray(self, data, dtype: np.dtype | None = None):
        """An array of this backend from NumPy arrays, scalars or nested lists."""
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, a) -> np.ndarray:
        """A NumPy array with the values of ``a`` (a copy for device memory)."""
        return np.asarray(a)

    def from_dlpack(self, obj):
        """An array of this backend sharing memory with a DLPack exporter."""
        return self.xp.from_dlpack(obj)

    def synchronize(self) -> None:
        """Wait for all queued work on the device."""

    def matmul(self, a, b):
        """``a @ b`` with NumPy's semantics (a backend may route it to its own GEMM)."""
        return a @ b

    # -- the capture protocol (tensorcore.cuda.graphs.capture) -----------------------------
    # capture: prepare_capture(); pool, stream = side_stream(); then inside graph_mode(),
    # with allocating_from(pool) and the stream current, the warm-up runs and
    # record(stream, step); then join_stream(stream). Each replay: replay_graph(...).
    def capturing(self) -> bool:
        """Whether a CUDA graph is being recorded (or warmed up for): then nothing may read
        device values on the host (checks that would are left to the kernels)."""
        return False

    def prepare_capture(self) -> None:
        """Before a graph records: the one-off checks (which read device values back, so
        never while recording) that decide which kernels the graph records."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    def side_stream(self):
        """``(pool, stream)`` for recording a graph on this backend's device: a memory pool
        of its own (kept alive as long as the graph) and a stream that starts after the work
        queued so far on the current stream, usable as a context manager (current inside)
        with ``synchronize()``."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    def graph_mode(self):
        """Context manager: on this backend's device, ``capturing()`` is True inside (the
        warm-up and the recording take the paths a graph can record)."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    def allocating_from(self, pool):
        """Context manager: arrays made inside take their memory from ``pool``."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    def record(self, stream, fn):
        """``(graph, fn())``: one call of ``fn`` recorded on ``stream`` (current); where
        ``fn`` raises, the recording ends and ``fn``'s error propagates."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    def join_stream(self, stream) -> None:
        """The current stream's later work waits for the work queued so far on ``stream``."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    def replay_graph(self, graph, stream, copies) -> None:
        """One launch of ``graph`` on ``stream``, after the current stream's queued work and
        before its later work; first, on ``stream``, ``target[...] = source`` for each
        ``(target, source)`` of ``copies`` (new inputs into the graph's static buffers)."""
        raise NotImplementedError(f"the {self.name!r} backend records no CUDA graphs")

    # -- random numbers --------------------------------------------------------------------
    def seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    # each takes an optional ``rng`` (a NumPy Generator: a user's ``tensorcore.Generator``)
    def uniform(self, shape, dtype, rng=None):
        rng = rng or self.rng
        u = rng.random(shape, dtype=np.float64)
        if np.dtype(dtype) != np.float64:  # rounding may reach 1: keep [0, 1)
            u = np.minimum(u.astype(dtype), np.nextafter(np.ones((), dtype), 0))
        return self.asarray(u)

    def normal(self, shape, dtype, rng=None):
        return self.asarray((rng or self.rng).standard_normal(shape).astype(dtype, copy=False))

    def integers(self, low: int, high: int, shape, dtype, rng=None):
        return self.asarray((rng or self.rng).integers(low, high, size=shape, dtype=dtype))

    def permutation(self, n: int, dtype, rng=None):
        return self.asarray((rng or self.rng).permutation(n).astype(dtype, copy=False))

    def poisson(self, rates, rng=None):
        """Poisson samples of the finite nonnegative ``rates`` (an array of this backend, at
        most 1e18), in their dtype; drawn on the host (under ``compile`` a step that samples
        them runs eagerly)."""
        lam = np.asarray(self.to_numpy(rates), dtype=np.float64)
        return self.asarray((rng or self.rng).poisson(lam).astype(rates.dtype))

    # -- scatter ---------------------------------------------------------------------------
    def index_add(self, target, index, values) -> None:
        """``target[index] += values`` with repeated indices accumulated (in place)."""
        np.add.at(target, index, values)

    def axpy_(self, x, alpha, y) -> None:
        """``x += alpha * y`` in place, without a temporary the size of ``x`` (the SGD update;
        a fresh large temporary costs page faults on every step)."""
        if x.shape != y.shape or x.size <= _CHUNK or not (
                x.flags.c_contiguous and y.flags.c_contiguous) or overlaps(self.xp, x, y):
            x += alpha * y  # (a chunked or one-pass update would reread updated elements)
            return
        xf, yf = x.reshape(-1), y.reshape(-1)
        buf = self.xp.empty(_CHUNK, dtype=x.dtype)
        for start in range(0, xf.size, _CHUNK):
            part = buf[:min(_CHUNK, xf.size - start)]
            self.xp.multiply(yf[start:start + part.size], alpha, out=part)
            xf[start:start + part.size] += part

    def adam_update_(self, x, g, m, v, v_max, beta1, one_minus_beta1, beta2,
                     one_minus_beta2, bias_root, eps, neg_step) -> None:
        """One Adam step in place (``torch.optim.Adam``'s update, after weight decay): ``m``
        and ``v`` (the moving averages), ``v_max`` (AMSGrad's running maximum of ``v``, or
        None), then ``x``; ``g`` is only read. The numbers come from
        ``optim.adam._adam_numbers`` (``bias_root``: ``sqrt(1 - b2**t)``; ``neg_step``:
        ``-lr / (1 - b1**t)``)."""
        xp = self.xp
        m *= beta1
        self.axpy_(m, one_minus_beta1, g)
        work = g * g  # the one temporary: g**2, then the denominator
        v *= beta2
        self.axpy_(v, one_minus_beta2, work)
        if v_max is not None:
            xp.maximum(v_max, v, out=v_max)
            v = v_max
        denom = xp.sqrt(v, out=work)
        denom /= bias_root
        denom += eps
        xp.divide(m, denom, out=denom)
        self.axpy_(x, neg_step, denom)

    # -- kernel entry points ---------------------------------------------------------------
    def linear_act(self, x, w, b, activation: str | None):
        """``act(x @ w.T + b)`` for x (M, K), w (N, K), b (N,) or None: ``(out, pre)`` as
        ``bias_act`` returns them. A GPU backend may do it in one fused launch."""
        return self.bias_act(x @ w.T, b, activation)

    def bias_act(self, z, b, activation: str | None):
        """``act(z + b)`` for the (M, N) GEMM result ``z`` (owned: may be reused).

        Returns ``(out, pre)``; ``pre`` is the pre-activation when the backward needs it
        (the table's ``reads == "pre"``: gelu, silu), else None.
        """
        entry = activations.TABLE[activation]  # a known name: linear_act checked it
        if b is not None:
            z += b
        return entry.array(self.xp, z), (z if entry.reads == "pre" else None)

    def act_backward(self, grad_out, out, pre, activation: str | None, need_bias_grad: bool):
        """``(grad_z, grad_b)``: the activation's gradient and the bias gradient (column sum)."""
        entry = activations.TABLE[activation]
        gz = entry.array_grad(self.xp, grad_out, pre if entry.reads == "pre" else out)
        return gz, (gz.sum(axis=0) if need_bias_grad else None)

    def linear_backward(self, grad_out, out, pre, x, w, activation: str | None,
                        needs: tuple[bool, bool, bool]):
        """``(grad_x, grad_w, grad_b)`` of ``out = act(x @ w.T + b)`` for 2-D ``grad_out``,
        each None where ``needs`` (x, w, b) says so: the activation's backward, then two
        GEMMs (a GPU backend may do it all in one launch)."""
        need_x, need_w, need_b = needs
        gz, gb = self.act_backward(grad_out, out, pre, activation, need_b)
        return (self.matmul(gz, w) if need_x else None,
                self.matmul(gz.T, x) if need_w else None, gb if need_b else None)

    def softmax_cross_entropy(self, z, target, known_max: int | None = None):
        """Per-row losses ``logsumexp(z) - z[target]`` and the softmax ``probs`` of (N, C)
        logits; ``probs`` is the backward's only need. Raises ``ClassTargetError`` when a
        target is outside [0, C) (unchecked while ``capturing()``: such rows' values are
        then undefined). ``known_max``: the targets' unsigned max where the host knows it
        (``Tensor.class_index_max``), checked instead of the targets."""
        self.check_class_targets(target, z.shape[1], known_max)
        return softmax_ce_reference(self.xp, z, target)

    def check_class_targets(self, target, n_classes: int, known_max: int | None = None) -> None:
        """``ClassTargetError`` when a class index is outside [0, n_classes): from
        ``known_max`` (``unsigned_max`` of the targets, known on the host) where given, else
        by a host read of the targets, which on a GPU waits for it; skipped while
        ``capturing()``."""
        if self.capturing():
            return
        if not (known_max < n_classes if known_max is not None
                else targets_in_range(target, n_classes)):
            raise ClassTargetError("a class target is outside [0, C)")

    def softmax_cross_entropy_backward(self, probs, target, scale):
        """``(probs - onehot(target)) * scale`` as a new array (``probs`` may be needed again
        when the graph is retained)."""
        grad = probs.copy()
        grad[self.xp.arange(probs.shape[0]), target] -= 1
        grad *= scale
        return grad


