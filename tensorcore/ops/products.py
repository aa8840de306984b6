"""Products of tensors with PyTorch's semantics: ``einsum`` (the one node: explicit and
implicit output, ``...``, repeated subscripts as diagonals, size-1 subscripts broadcast, the
sublist form), and built on it or on existing ops ``tensordot``, ``inner``, ``addmm``,
``cross`` / ``linalg.cross`` and ``kron`` (``cdist`` is in ``ops.distances``).

The gradient of each operand of an einsum is itself an einsum (of the upstream gradient and
the other operands; identity matrices put it on the diagonal of a repeated subscript), so
it is differentiable again.

>>> import tensorcore as tc
>>> a, b = tc.ones(2, 3), tc.ones(3, 4)
>>> tc.einsum("ij,jk->ik", a, b).shape, tc.einsum("ii", tc.eye(3)).item()
((2, 4), 3.0)
"""

from __future__ import annotations

import math
import string

import numpy as np

from .. import _dtype
from ..autograd.function import Function
from ..autograd.grad_mode import grad_state
from ..tensor import Tensor
from ._dims import wrap_dim
from ._util import const, tensors_only

TENSOR_METHODS = ["addmm", "inner", "cross", "kron"]
__all__ = ["einsum", "tensordot", "addmm", "inner", "cross", "kron"]

_LETTERS = string.ascii_uppercase + string.ascii_lowercase


def _err(msg: str) -> RuntimeError:
    return RuntimeError(f"einsum(): {msg}")


def _parse(equation: str, n_ops: int):
    """The subscripts of each operand and of the output (None when implicit): lists of
    letters and ``...``, with PyTorch's errors for a malformed equation."""
    terms, cur, out, i, who = [], [], None, 0, 0
    while i < len(equation):
        c = equation[i]
        if c in _LETTERS:
            cur.append(c)
        elif c == ".":
            name = "output" if out is not None else f"operand {who}"
            if equation[i:i + 3] != "...":
                raise _err(f"found '.' for {name} that is not part of any ellipsis" +
                           (" (...)" if out is not None else ""))
            if "..." in cur:
                raise _err(f"found '.' for {name} for which an ellipsis was already found")
            cur.append("...")
            i += 2
        elif c == "," and out is None:
            terms.append(cur)
            cur, who = [], who + 1
        elif c == "-" and out is None and equation[i + 1:i + 2] == ">":
            terms.append(cur)
            cur, out = [], []
            i += 1
        elif c != " ":
            raise _err(f"invalid subscript given at index {i} in the equation string, "
                       f"subscripts must be in [a-zA-Z]")
        i += 1
    if out is None:
        terms.append(cur)
    else:
        out = cur
    if len(terms) > n_ops:
        raise _err("fewer operands were provided than specified in the equation")
    if len(terms) < n_ops:
        raise _err("more operands were provided than specified in the equation")
    return terms, out


def _labels(equation: str, tensors):
    """Each operand's subscripts with its ``...`` spelled out as letters (right-aligned over
    the longest ellipsis), the output's, and each subscript's size (size 1 broadcasts)."""
    terms, out = _parse(equation, len(tensors))
    counts = []
    for k, (term, t) in enumerate(zip(terms, tensors)):
        n = len(term) - ("..." in term)
        if "..." not in term and n != t.ndim:
            raise _err(f"the number of subscripts in the equation ({n}) does not match the "
                       f"number of dimensions ({t.ndim}) for operand {k} and no ellipsis was "
                       f"given")
        if n > t.ndim:
            raise _err(f"the number of subscripts in the equation ({n}) is more than the "
                       f"number of dimensions ({t.ndim}) for operand {k}")
        counts.append(t.ndim - n if "..." in term else 0)
    used = {c for term in terms for c in term} | set(out or ())
    spare = [c for c in _LETTERS if c not in used]
    ell = spare[:max(counts, default=0)]
    if len(ell) < max(counts, default=0):
        raise _err("too many subscripts in the equation (at most 52)")
    ins = []
    for term, k in zip(terms, counts):
        at = term.index("...") if "..." in term else len(term)
        ins.append(term[:at] + ell[len(ell) - k:] + term[at + 1:])
    sizes = {}
    for k, (labels, t) in enumerate(zip(ins, tensors)):
        seen = {}
        for c, s in zip(labels, t.shape):
            if c in seen and seen[c] != s:
                raise _err(f"subscript {c} is repeated for operand {k} but the sizes don't "
                           f"match, {s} != {seen[c]}")
            seen[c] = s
            old = sizes.get(c, 1)
            if s != 1 and old != 1 and s != old:
                if c in ell:
                    raise _err(f"dimension {ell.index(c)} covered by ellipsis in operand {k}"
                               f"has size {s} which does not broadcast with previously seen "
                               f"ellipsis with size {old} for the respective dimension")
                raise _err(f"subscript {c} has size {s} for operand {k} which does not "
                           f"broadcast with previously seen size {old}")
            sizes[c] = s if old == 1 else old
    if out is None:
        once = [c for c in _LETTERS if sum(lb.count(c) for lb in ins) == 1 and c not in ell]
        out = ell + once
    else:
        flat = []
        for c in out:
            flat += ell if c == "..." else [c]
        for c in flat:
            if c not in sizes:
                raise _err(f"output subscript {c} does not appear in the equation for any "
                           f"input operand")
            if flat.count(c) > 1:
                raise _err(f"output subscript {c} appears more than once in the output")
        out = flat
    return ins, out, sizes


def _result_dtype(ins, out, tensors):
    """The dtype PyTorch's einsum gives, by following its steps: one operand sums what the
    output leaves out (integers and bools to int64); with several, each subscript left out
    is summed (squeezed when of size 1) in the first operand, or handled when the last
    operand where its size is not 1 is multiplied in, left to right: summed from that
    operand alone if the result has size 1 there, else contracted (``bmm`` / ``dot``: one
    dtype, no bool kernel, none of it checked when a side is empty, which then gives the
    operand's dtype); a product without contraction promotes."""
    dts = [t.dtype for t in tensors]
    size = [dict(zip(lb, t.shape)) for lb, t in zip(ins, tensors)]

    def summed(dt):
        return dt if dt.is_floating_point else _dtype.int64

    if len(ins) == 1:
        return summed(dts[0]) if any(c not in out for c in ins[0]) else dts[0]
    labels = list(dict.fromkeys(out + [c for lb in ins for c in lb]))
    last = {c: max([k for k in range(len(ins)) if size[k].get(c, 1) != 1], default=0)
            for c in labels}
    kept = [c for c in labels if c in out or last[c] > 0]  # the result's dims after step 0
    res_dt = dts[0]
    if any(size[0].get(c, 1) != 1 for c in labels if c not in out and last[c] == 0):
        res_dt = summed(res_dt)
    res = {c: size[0].get(c, 1) for c in kept}
    for k in range(1, len(ins)):
        dt, contracted, opnd = dts[k], [], {c: size[k].get(c, 1) for c in kept}
        for c in [c for c in kept if c not in out and last[c] == k]:
            if res[c] == 1:
                dt = summed(dt)  # the operand summed over it
                opnd[c] = 1
            else:
                contracted.append(c)
        empty = 0 in res.values() or 0 in opnd.values()
        kept = [c for c in kept if c in out or last[c] > k]
        if not contracted:
            res_dt = _dtype.result_type(res_dt, dt)
        elif empty:
            res_dt = dt
        elif res_dt != dt:
            raise RuntimeError(f"expected scalar type {_dtype_label(res_dt)} but found "
                               f"{_dtype_label(dt)}")
        elif dt is _dtype.bool_:
            raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
        res = {c: 0 if 0 in (res[c], opnd[c]) else max(res[c], opnd[c]) for c in kept}
    return res_dt


class Einsum(Function):
    array_forward = True

    @staticmethod
    def forward(ctx, ins, out, sizes, dt, *tensors):
        xp = tensors[0]._backend.xp
        arrays = []
        for labels, t in zip(ins, tensors):
            x = t._data.astype(dt.np, copy=False)
            full = tuple(sizes[c] for c in labels)
            arrays.append(x if x.shape == full else xp.broadcast_to(x, full))
        ctx.ins, ctx.out, ctx.sizes = ins, out, sizes
        ctx.save_for_backward(*tensors)
        eq = ",".join("".join(lb) for lb in ins) + "->" + "".join(out)
        if len(arrays) > 2:
            return xp.einsum(eq, *arrays, optimize=True)
        return xp.einsum(eq, *arrays)

    @staticmethod
    def backward(ctx, g):
        tensors = ctx.saved_tensors
        ins, out, sizes = ctx.ins, ctx.out, ctx.sizes
        grads = [None] * 4
        for k, need in enumerate(ctx.needs_input_grad[4:]):
            grads.append(_operand_grad(g, k, ins, out, sizes, tensors) if need else None)
        return tuple(grads)


def _operand_grad(g, k, ins, out, sizes, tensors):
    """The gradient of operand ``k``: an einsum of ``g`` and the other operands onto the
    operand's distinct subscripts, broadcast over those only it has and put on the diagonal
    of those it repeats (an einsum with identity matrices)."""
    labels = ins[k]
    others = [j for j in range(len(ins)) if j != k]
    have = set(out).union(*(ins[j] for j in others))
    uniq = list(dict.fromkeys(labels))
    kept = [c for c in uniq if c in have]
    r = _einsum_labels([out] + [ins[j] for j in others], kept,
                       [g] + [tensors[j] for j in others], promote=True)
    for pos, c in enumerate(uniq):
        if c not in have:
            r = r.unsqueeze(pos)
    full = tuple(sizes[c] for c in uniq)
    if tuple(r.shape) != full:  # subscripts only this operand has, or size 1 elsewhere
        r = r.expand(*full)
    if len(uniq) == len(labels):
        return r
    used = set(c for lb in ins for c in lb) | set(out)
    spare = iter(c for c in _LETTERS if c not in used)
    target, eyes, eye_labels, seen = [], [], [], set()
    for c in labels:
        if c in seen:
            fresh = next(spare)
            target.append(fresh)
            eyes.append(const(r, r._backend.xp.eye(sizes[c], dtype=r._data.dtype)))
            eye_labels.append([c, fresh])
        else:
            seen.add(c)
            target.append(c)
    out = _einsum_labels([uniq] + eye_labels, target, [r] + eyes, promote=True)
    xp, diagonal = out._backend.xp, None  # off the diagonal: 0, not r * 0 (NaN for inf r)
    for c, fresh in eye_labels:
        n, shape = sizes[c], [1] * len(target)
        i, j = list(shape), list(shape)
        i[target.index(c)], j[target.index(fresh)] = n, n
        same = xp.arange(n).reshape(i) == xp.arange(n).reshape(j)
        diagonal = same if diagonal is None else diagonal & same
    return out.masked_fill(const(out, ~diagonal), 0.0)


def _einsum_labels(ins, out, tensors, promote: bool = False):
    """The einsum of subscript lists; ``promote``: in the promoted dtype of the operands
    (a gradient's einsum), not PyTorch's dtype rules for a user's call."""
    if not promote:
        eq = ",".join("".join(lb) for lb in ins) + "->" + "".join(out)
        return einsum(eq, *tensors)
    dt = tensors[0].dtype
    for t in tensors[1:]:
        dt = _dtype.result_type(dt, t.dtype)
    sizes = {}
    for lb, t in zip(ins, tensors):
        for c, n in zip(lb, t.shape):
            sizes[c] = n if sizes.get(c, 1) == 1 else sizes[c]
    return Einsum.apply(ins, out, sizes, dt, *tensors)


def _sublist_equation(args):
    """``einsum(op1, [0, 1], op2, [1, 2], [0, 2])`` as an equation and its operands."""
    def spell(sub):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
    ops, terms = list(args[0:len(args) - len(args) % 2:2]), [spell(s) for s in args[1::2]]
    eq = ",".join(terms[:len(ops)])
    if len(args) % 2:
        eq += "->" + spell(args[-1])
    return eq, ops


def einsum(equation, *operands) -> Tensor:
    """``torch.einsum``: the sum of products of ``operands`` over the subscripts that the
    equation (``"ij,jk->ik"``, ``"...ii->...i"``, implicit ``"ij,jk"``) leaves out of the
    output; the operands also as one list, or in the sublist form."""
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not "
                        f"{type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for k, t in enumerate(operands):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {k} in argument 1, but got "
                            f"{type(t).__name__}")
    ins, out, sizes = _labels(equation, operands)
    if not operands:
        raise _err("must provide at least one operand")
    dt = _result_dtype(ins, out, operands)
    if not dt.is_floating_point and grad_state.enabled and any(
            t.requires_grad for t in operands):
        raise RuntimeError(f"Autograd not support dtype: {_dtype_label(dt)}")
    return Einsum.apply(ins, out, sizes, dt, *operands)


def tensordot(a, b, dims=2, out=None) -> Tensor:
    """The sum of products over the last ``dims`` dimensions of ``a`` and the first of ``b``,
    or over the dimensions listed in ``dims = (dims_a, dims_b)``."""
    tensors_only("tensordot", a, b)
    if a.dtype != b.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a.ndim or dims > b.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got "
                               f"dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        for pos, name, d in ((3, "dims_self", da), (4, "dims_other", db)):
            if not isinstance(d, (list, tuple)):
                raise TypeError(f"tensordot(): argument '{name}' (position {pos}) must be "
                                f"tuple of ints, not {type(d).__name__}")
        if len(da) != len(db):
            raise RuntimeError("both dimension lists should have same length")
    la, lb = list(_LETTERS[:a.ndim]), list(_LETTERS[a.ndim:a.ndim + b.ndim])
    pairs, n_sum = [], 1
    for i, j in zip(da, db):
        for t, d in ((a, i), (b, j)):
            if t.ndim == 0:
                raise IndexError(f"Dimension specified as {d} but tensor has no dimensions")
        i, j = wrap_dim(i, a.ndim, "tensordot"), wrap_dim(j, b.ndim, "tensordot")
        if a.shape[i] != b.shape[j] and 1 not in (a.shape[i], b.shape[j]):
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {i} and second has size {b.shape[j]} in "
                               f"dim {j}")
        pairs.append((i, j))
        n_sum *= max(a.shape[i], b.shape[j])
    da, db = [i for i, _ in pairs], [j for _, j in pairs]
    for dims_list in (da, db):
        for k, d in enumerate(dims_list):
            if d in dims_list[:k]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    for i, j in pairs:
        lb[j] = la[i]
    res = [c for k, c in enumerate(la) if k not in da] + \
        [c for k, c in enumerate(lb) if k not in db]
    if a.dtype is _dtype.bool_:  # no bool GEMM; its dot (a 1 x 1 result) checks even empty
        m = math.prod(a.shape[k] for k in range(a.ndim) if k not in da)
        n = math.prod(b.shape[k] for k in range(b.ndim) if k not in db)
        if m * n and (n_sum or m == n == 1):
            raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    out = _einsum_labels([la, lb], res, [a, b], promote=True)
    return out if out.dtype == a.dtype else out.to(a.dtype)  # int32 stays int32


def _dtype_label(dt) -> str:
    return {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
            "bool": "Bool", "float16": "Half"}.get(dt.name, dt.name)


def inner(input, other) -> Tensor:
    """The sum of products over the last dimension of each (a product when one is 0-d):
    shape ``input.shape[:-1] + other.shape[:-1]``."""
    tensors_only("inner", input, other)
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(input.shape)} and {list(other.shape)}")
    return tensordot(input, other, ([-1], [-1]))


def addmm(input, mat1, mat2, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcast to the product's shape;
    with ``beta = 0`` it is ignored, NaNs included)."""
    for pos, name, t in ((1, "input", input), (2, "mat1", mat1), (3, "mat2", mat2)):
        if not isinstance(t, Tensor):
            raise TypeError(f"addmm(): argument '{name}' (position {pos}) must be Tensor, not "
                            f"{type(t).__name__}")
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x"
                           f"{mat1.shape[1]} and {mat2.shape[0]}x{mat2.shape[1]})")
    if not (input.dtype == mat1.dtype == mat2.dtype):
        raise RuntimeError(f"self and mat2 must have the same dtype, but got "
                           f"{_dtype_label(input.dtype)} and {_dtype_label(mat2.dtype)}")
    if mat1.dtype is _dtype.bool_ and mat1.shape[0] * mat2.shape[1]:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    input = input.expand(mat1.shape[0], mat2.shape[1])  # PyTorch's check and message
    prod = mat1 @ mat2
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:  # input ignored (its NaNs too), its gradient 0
        out = input.masked_fill(const(input, input._backend.xp.ones((), bool)), 0) + prod
    else:
        out = (input if beta == 1 else input * beta) + prod
    return out if out.dtype == input.dtype else out.to(input.dtype)  # int with float beta


def _roll_pair(t, d):
    """``t``'s components along ``d`` in the orders (1, 2, 0) and (2, 0, 1)."""
    from .shape import cat

    parts = [t.narrow(d, i, 1) for i in range(3)]
    return cat([parts[1], parts[2], parts[0]], d), cat([parts[2], parts[0], parts[1]], d)


def cross(input, other, dim=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the first dimension of size 3 when
    None), ``input`` and ``other`` broadcast."""
    tensors_only("cross", input, other)
    if dim is None:
        shape = _broadcast(input, other, "linalg.cross")
        dim = next((d for d, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return linalg_cross(input, other, dim=dim)


def _broadcast(a, b, op):
    try:
        return tuple(np.broadcast_shapes(a.shape, b.shape))
    except ValueError:
        raise RuntimeError(f"{op}: the shapes {list(a.shape)} and {list(b.shape)} cannot be "
                           f"broadcast together") from None


def linalg_cross(input, other, *, dim=-1) -> Tensor:
    """``tc.linalg.cross``: the cross product of 3-vectors along ``dim`` (broadcast)."""
    tensors_only("linalg.cross", input, other)
    if input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    d = wrap_dim(dim, input.ndim, "linalg.cross")
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    _broadcast(input, other, "linalg.cross")
    if input.dtype != other.dtype:
        raise RuntimeError(f"expected scalar type {_dtype_label(input.dtype)} but found "
                           f"{_dtype_label(other.dtype)}")
    a1, a2 = _roll_pair(input, d)
    b1, b2 = _roll_pair(other, d)
    if input.dtype is _dtype.float32:  # as PyTorch's fused multiply-add: a1 * b2 exact
        return (a1.double() * b2.double() - (a2 * b1).double()).float()
    return a1 * b2 - a2 * b1


def kron(input, other) -> Tensor:
    """The Kronecker product: blocks ``input[i] * other``, of shape ``input.shape[k] *
    other.shape[k]`` (the shorter shape padded with leading ones)."""
    tensors_only("kron", input, other)
    n = max(input.ndim, other.ndim)
    a = input.reshape((1,) * (n - input.ndim) + tuple(input.shape))
    b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
    a = a.reshape(tuple(s for k in a.shape for s in (k, 1)))
    b = b.reshape(tuple(s for k in b.shape for s in (1, k)))
    return (a * b).reshape(tuple(x * y for x, y in zip(a.shape[::2], b.shape[1::2])))
