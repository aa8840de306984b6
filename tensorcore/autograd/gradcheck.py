"""Gradient checking against central finite differences, for users' own Functions too.

>>> import tensorcore as tc
>>> x = tc.randn(3, dtype=tc.float64, requires_grad=True)
>>> tc.autograd.gradcheck(lambda t: (t.sin() * t).sum(), (x,))
True
"""

from __future__ import annotations

import numpy as np


def _outputs(fn, inputs):
    out = fn(*inputs)
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _evaluate(fn, inputs, out_index) -> np.ndarray:
    out = _outputs(fn, inputs)[out_index]
    # a copy: the output may share memory with the input being perturbed (identity, views)
    return np.array(out._backend.to_numpy(out._data), dtype=np.float64).reshape(-1)


def _numerical_jacobian(fn, inputs, target, out_index, eps):
    """d out[out_index] / d target, by central differences (shape out.size x target.size)."""
    data = target._data
    if not data.flags.c_contiguous:
        raise ValueError("gradcheck needs contiguous input tensors")
    flat = data.reshape(-1)
    out0 = _outputs(fn, inputs)[out_index]
    jac = np.zeros((out0.numel(), flat.size))
    for j in range(flat.size):
        orig = flat[j].item()
        flat[j] = orig + eps
        plus = _evaluate(fn, inputs, out_index)
        flat[j] = orig - eps
        minus = _evaluate(fn, inputs, out_index)
        flat[j] = orig
        jac[:, j] = (plus - minus) / (2 * eps)
    return jac


def _analytical_jacobian(fn, inputs, targets, out_index, create_graph=False):
    from . import grad

    outs = _outputs(fn, inputs)
    out = outs[out_index]
    jacs = [np.zeros((out.numel(), t.numel())) for t in targets]
    if out.grad_fn is None and not out.requires_grad:
        return jacs
    for i in range(out.numel()):
        seed = np.zeros(out.numel(), dtype=out._data.dtype)
        seed[i] = 1
        from ..tensor import Tensor
        g = Tensor(seed.reshape(out.shape), device=out.device)
        grads = grad([out], targets, [g], retain_graph=True, allow_unused=True)
        for j, gj in enumerate(grads):
            if gj is not None:
                jacs[j][i] = np.asarray(gj._backend.to_numpy(gj._data), dtype=np.float64
                                        ).reshape(-1)
    return jacs


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Compare ``fn``'s analytical Jacobian with finite differences (use float64 inputs)."""
    from ..tensor import Tensor

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    targets = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not targets:
        raise ValueError("gradcheck expects at least one input tensor with requires_grad=True")
    for t in targets:
        if t.dtype.name != "float64":
            import warnings
            warnings.warn(f"gradcheck: input of dtype {t.dtype} is not float64; the check "
                          f"will likely fail", stacklevel=2)
    n_out = len(_outputs(fn, inputs))
    for k in range(n_out):
        analytical = _analytical_jacobian(fn, inputs, targets, k)
        for j, t in enumerate(targets):
            numerical = _numerical_jacobian(fn, inputs, t, k, eps)
            if not np.allclose(analytical[j], numerical, atol=atol, rtol=rtol):
                err = np.abs(analytical[j] - numerical).max()
                if raise_exception:
                    raise GradcheckError(
                        f"Jacobian mismatch for output {k} with respect to input {j} "
                        f"(max abs error {err:.3g}):\nnumerical:{numerical}\n"
                        f"analytical:{analytical[j]}")
                return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``."""
    from ..tensor import Tensor
    from . import grad

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    targets = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    rng = np.random.default_rng(0)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device,
                               requires_grad=True) for o in outs]
    grad_outputs = list(grad_outputs)

    def vjp(*args):
        xs, gs = args[:len(inputs)], args[len(inputs):]
        ys = _outputs(fn, xs)
        diff = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        pairs = [(y, g) for y, g in zip(ys, gs) if y.requires_grad]
        res = grad([y for y, _ in pairs], diff, [g for _, g in pairs], create_graph=True,
                   allow_unused=True)
        return tuple(r if r is not None else x.detach() * 0 for r, x in zip(res, diff))

    return gradcheck(vjp, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception) and bool(targets)


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""
