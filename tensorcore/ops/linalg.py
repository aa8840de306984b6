"""Matrix products and the fused layers: ``matmul``, ``linear``, ``linear_act`` and the
fused softmax cross-entropy (the fast path of ``nn.functional.cross_entropy``).

``linear_act`` runs the GEMM, then one backend kernel for bias + activation; its backward
runs one kernel for the activation gradient fused with the bias-gradient sum, then the two
GEMMs. When a graph of the backward is being built (``create_graph=True``) it falls back to
the unfused ops, so it stays differentiable twice.

>>> import tensorcore as tc
>>> x, w, b = tc.ones(4, 3), tc.ones(2, 3), tc.zeros(2)
>>> tc.nn.functional.linear_act(x, w, b, "relu").tolist()
[[3.0, 3.0], [3.0, 3.0], [3.0, 3.0], [3.0, 3.0]]
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function, _version_error
from ..autograd.grad_mode import enable_grad
from ..backends.contract import targets_in_range
from ..kernels import activations
from ..tensor import Tensor
from ._util import tensors_only

TENSOR_METHODS = ["matmul", "mm", "bmm", "dot", "mv"]
__all__ = sorted(set(TENSOR_METHODS) | {"linear", "linear_act", "unfused_linear_act"})


class MatMul(Function):
    """``a @ b`` with NumPy's (and PyTorch's) matmul shapes. Saves only what its backward
    reads, as PyTorch: ``a`` when ``b`` needs a gradient, ``b`` when ``a`` does, so an
    in-place change of the other one afterwards is allowed."""

    array_forward = True

    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        if x.ndim == 0 or y.ndim == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                               f"{x.ndim}D and {y.ndim}D")
        k1 = x.shape[-1]
        k2 = y.shape[-2] if y.ndim > 1 else y.shape[0]
        if k1 != k2:
            raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                               f"({_fmt(x.shape)} and {_fmt(y.shape)})")
        if x.dtype != y.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{a.dtype} != {b.dtype}")
        if x.dtype.kind == "b" and ((x.ndim == 1 and y.ndim == 1) or (x.size and y.size)):
            # PyTorch has no bool GEMM (an empty product, which computes nothing, passes)
            raise NotImplementedError("\"matmul\" not implemented for 'Bool'")
        na, nb = ctx.needs_input_grad
        ctx.ndims = (x.ndim, y.ndim)
        ctx.save_for_backward(a if nb else None, b if na else None)
        return a._backend.matmul(x, y)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        na, nb = ctx.needs_input_grad
        da, db = ctx.ndims
        if da == 1 and db == 1:  # dot product: g is 0-d
            return (g * b if na else None), (g * a if nb else None)
        g2 = g.unsqueeze(-2) if da == 1 else g
        g2 = g2.unsqueeze(-1) if db == 1 else g2
        ga = gb = None
        if na:
            ga = g2 @ (b.unsqueeze(-1) if db == 1 else b).mT
            ga = ga.squeeze(-2) if da == 1 else ga
        if nb:
            gb = (a.unsqueeze(0) if da == 1 else a).mT @ g2
            gb = gb.squeeze(-1) if db == 1 else gb
        return ga, gb


def _fmt(shape) -> str:
    return "x".join(str(n) for n in shape) if len(shape) != 1 else f"1x{shape[0]}"


def matmul(input, other):
    """The matrix product with broadcasting of batch dims (1-D operands as vectors)."""
    tensors_only("matmul", input, other)
    return MatMul.apply(input, other)


def mm(input, mat2):
    """The product of two matrices (no broadcasting)."""
    tensors_only("mm", input, mat2, "mat2")
    for name, t in (("self", input), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix")
    return MatMul.apply(input, mat2)


def bmm(input, mat2):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    tensors_only("bmm", input, mat2, "mat2")
    for name, t in (("batch1", input), ("batch2", mat2)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    expected = [input.shape[0], input.shape[2]]
    if list(mat2.shape[:2]) != expected:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"{expected} but got: {list(mat2.shape[:2])}.")
    return MatMul.apply(input, mat2)


def dot(input, tensor):
    """The inner product of two 1-D tensors of one length."""
    tensors_only("dot", input, tensor, "tensor")
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {tensor.ndim}D "
                           f"tensors")
    if input.shape != tensor.shape:
        n, m = input.shape[0], tensor.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to "
                           f"have the same number of elements, but got {n} and {m} elements "
                           f"respectively")
    return MatMul.apply(input, tensor)


def mv(input, vec):
    """The product of a matrix and a vector."""
    tensors_only("mv", input, vec, "vec")
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, "
                           f"{vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat "
                           f"({_fmt(input.shape)}), vec ({vec.shape[0]})")
    return MatMul.apply(input, vec)


class LinearAct(Function):
    """act(x @ w.T + b) for x of shape (..., in), w (out, in), b (out,) or None.

    Saves (version-checked) what PyTorch's linear and activation save: ``x`` when ``w``
    needs a gradient, ``w`` when ``x`` does, the output where the activation's gradient is a
    function of it (relu, sigmoid, tanh: ``reads == "out"`` in the activation table), never
    the bias. The other arrays are kept unchecked
    for their shapes only: the backend reads no value of them for a gradient not asked for.
    """

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, x, w, b, activation):
        xd, wd = x._data, w._data
        x2 = xd if xd.ndim == 2 else xd.reshape(-1, xd.shape[-1])
        out, pre = x._backend.linear_act(x2, wd, None if b is None else b._data, activation)
        if xd.ndim != 2:
            out = out.reshape(*xd.shape[:-1], wd.shape[0])
        nx, nw = ctx.needs_input_grad[:2]
        ctx.activation, ctx.pre, ctx.arrays = activation, pre, (xd, wd, out)
        ctx.inputs = (x, w, b)  # for the create_graph fallback, which checks their versions
        ctx.versions = tuple(None if t is None else t._version_box[0] for t in (x, w, b))
        ctx.save_for_backward(x if nw else None, w if nx else None,
                              out if activations.TABLE[activation].reads == "out" else None)
        return out

    @staticmethod
    def backward(ctx, g):
        ctx.saved_tensors  # noqa: B018 - the version checks of what the gradients read
        if ctx.create_graph:  # differentiate the unfused ops instead
            return _unfused_backward(ctx, g)
        # first order: the engine passes bare arrays (array_backward)
        nx, nw, nb, _ = ctx.needs_input_grad
        x, w, out = ctx.arrays
        if g.ndim != 2:  # (..., out): the GEMMs see (M, out)
            g, out, x2 = (a.reshape(-1, a.shape[-1]) for a in (g, out, x))
        else:
            x2 = x
        gx, gw, gb = ctx._out_backend.linear_backward(g, out, ctx.pre, x2, w, ctx.activation,
                                                      (nx, nw, nb))
        if gx is not None and x.ndim != 2:
            gx = gx.reshape(x.shape)
        return gx, gw, gb, None



def _unfused_backward(ctx, g):
    """The create_graph backward: the unfused ops' gradients, recomputed from the inputs
    (so every input must still hold the values the forward read)."""
    from ..autograd import grad

    x, w, b = ctx.inputs
    for t, version in zip(ctx.inputs, ctx.versions):
        if t is not None and t._version_box[0] != version:
            raise _version_error(ctx, t, version)
    with enable_grad():
        inputs = [t for t in (x, w, b) if t is not None and t.requires_grad]
        xs = [t.detach().requires_grad_() if not t.requires_grad else t for t in (x, w)]
        y = unfused_linear_act(xs[0], xs[1], b, ctx.activation)
        grads = iter(grad([y], inputs, [g], create_graph=True, allow_unused=True))
    return tuple(next(grads) if t is not None and t.requires_grad else None
                 for t in (x, w, b)) + (None,)


def unfused_linear_act(x, w, b=None, activation=None):
    """The reference: ``act(x @ w.T + b)`` from separate ops."""
    y = x @ w.mT
    if b is not None:
        y = y + b
    return activations.TABLE[activation].tensor(y)


def linear_act(x, w, b=None, activation: str | None = None):
    """Fused ``act(x @ w.T + b)``; ``activation`` a name of the activation table
    (``tensorcore.kernels.activations``: None, relu, gelu, sigmoid, tanh, silu)."""
    try:
        known = activation in activations.TABLE
    except TypeError:  # unhashable
        known = False
    if not known:
        raise ValueError(f"linear_act: unknown activation {activation!r}; "
                         f"expected one of {activations.names()}")
    _check_linear(x, w, b)
    if x._data.dtype.kind != "f":  # integers (bools: matmul raises): no fused kernel
        return unfused_linear_act(x, w, b, activation)
    return LinearAct.apply(x, w, b, activation)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, as ``torch.nn.functional.linear``."""
    return linear_act(input, weight, bias, None)


def _check_linear(x, w, b) -> None:
    for name, t in (("input", x), ("weight", w), ("bias", b)):
        if not isinstance(t, Tensor) and (t is not None or name != "bias"):
            raise TypeError(f"linear(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
    xd, wd = x._data, w._data
    if wd.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D (out_features, in_features), got "
                           f"shape {list(wd.shape)}")
    if xd.ndim < 1 or xd.shape[-1] != wd.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_fmt(xd.shape)} and {wd.shape[1]}x{wd.shape[0]})")
    bd = None if b is None else b._data
    if bd is not None and (bd.ndim != 1 or bd.shape[0] != wd.shape[0]):
        raise RuntimeError(f"linear(): bias of shape {list(bd.shape)} does not match "
                           f"out_features={wd.shape[0]}")
    if xd.dtype != wd.dtype or (bd is not None and bd.dtype != wd.dtype):
        raise RuntimeError(f"linear(): expected input, weight and bias of one dtype, got "
                           f"{x.dtype}, {w.dtype}{'' if b is None else ', ' + str(b.dtype)}")


class CrossEntropy(Function):
    """Mean (or sum / none) softmax cross-entropy of (N, C) logits and int64 class targets:
    the fused fast path of ``nn.functional.cross_entropy``, which checks the shapes before
    it calls ``CrossEntropy.apply``. The backend raises ``ClassTargetError`` for a target
    outside [0, C), and ``cross_entropy`` then takes its general path.

    As PyTorch's log_softmax + nll_loss, it saves the targets (version-checked) and the
    softmax it computed, not the logits: they may be changed in place afterwards (except
    for a create_graph backward, which recomputes from them and checks their version)."""

    array_forward = True
    array_backward = True

    @staticmethod
    def forward(ctx, logits, target, reduction):
        z, y = logits._data, target._data  # the backend checks y's range
        backend = logits._backend
        losses, probs = backend.softmax_cross_entropy(z, y, target.class_index_max())
        ctx.reduction, ctx.probs = reduction, probs
        ctx.logits, ctx.logits_version = logits, logits._version_box[0]
        ctx.save_for_backward(target)
        if reduction == "none":
            return losses
        total = losses.sum(dtype=np.float32 if z.dtype == np.float16 else None)
        if reduction == "mean":
            total = total / max(len(losses), 1)
        return backend.xp.asarray(total, dtype=z.dtype)

    @staticmethod
    def backward(ctx, g):
        (target,) = ctx.saved_tensors
        if ctx.create_graph:
            from ..autograd import grad
            logits = ctx.logits
            if logits._version_box[0] != ctx.logits_version:
                raise _version_error(ctx, logits, ctx.logits_version)
            with enable_grad():
                loss = _unfused_cross_entropy(logits, target._data, ctx.reduction)
                (gl,) = grad([loss], [logits], [g], create_graph=True)
            return gl, None, None
        n = ctx.probs.shape[0]  # first order: g is a bare array (array_backward)
        scale = g / n if ctx.reduction == "mean" else g if ctx.reduction == "sum" \
            else g[:, None]
        grad = ctx._out_backend.softmax_cross_entropy_backward(ctx.probs, target, scale)
        return grad, None, None


def _unfused_cross_entropy(logits, target, reduction):
    logp = logits.log_softmax(1)
    picked = -logp[Tensor._make(logits._backend.xp.arange(logits.shape[0]), logits._backend),
                   Tensor._make(target, logits._backend)]
    return {"mean": picked.mean, "sum": picked.sum}.get(reduction, lambda: picked)()


def check_class_targets(t, n_classes: int) -> None:
    """IndexError naming the first bad end when a class index is outside [0, C)."""
    if not targets_in_range(t, n_classes):
        lo, hi = int(t.min()), int(t.max())
        raise IndexError(f"Target {hi if hi >= n_classes else lo} is out of bounds for "
                         f"{n_classes} classes.")
