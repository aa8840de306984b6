"""CuPy fused epilogue kernels for the GPU backend's ``"cupy"`` path (cuBLAS does the GEMMs).

* ``bias_act_forward(z, b, activation)``: ``act(z + b)`` in ONE ``cupy.RawKernel`` (in place
  on the GEMM result ``z``; a thread per 4 floats or 2 doubles of a row where the row length
  and the pointers allow, a block per row strip); returns ``(out, pre)`` as the backend
  contract does;
* ``act_backward(grad_out, out, pre, activation, need_bias_grad)``: the activation gradient
  fused with the bias-gradient column sum in ONE ``cupy.RawKernel`` (32 columns per block,
  rows split over ``gridDim.y`` with ``atomicAdd`` when one block column is not enough
  parallelism, so the float sum order of ``grad_b`` may vary between runs);
* ``softmax_ce_forward(z, target)``: per-row losses and probabilities, one block per row;
* ``softmax_ce_backward(probs, target, scale)``: ``(probs - onehot(target)) * scale``;
* ``axpy_(x, alpha, y)``: ``x += alpha * y`` in one pass, without a temporary (vector loads
  as in the forward).

The two elementwise kernels read and write whole vectors (``float4`` / ``double2``): fewer,
wider memory transactions than the CuPy ``ElementwiseKernel`` versions they replaced, which
made them several times faster in the captured MLP step (``benchmarks/profile_step.py``;
the figures are in docs/benchmarks.md).

Kernel sources are plain strings built from the activation table's CUDA C snippets
(:mod:`tensorcore.kernels.activations`, ``c_forward`` / ``c_grad``); CuPy is imported, and
a kernel compiled, on first use only. The Python
side checks dtypes (float32/float64), layouts (C-contiguous) and shapes and names what is
wrong before anything reaches the GPU.

>>> import numpy as np
>>> "y = tanh(v);" in forward_source("tanh", np.float32, 1)
True
>>> "atomicAdd" in backward_source("relu", np.float32)
True
>>> f32 = np.dtype(np.float32)
>>> vector_width(f32, 2048, 0x7f0000000100), vector_width(f32, 10, 0x7f0000000100)
(4, 1)
"""

from __future__ import annotations

import functools

import numpy as np

from .. import activations

FUSED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

_BLOCK_COLS, _BLOCK_ROWS = 32, 8  # act_backward: a warp across 32 columns, 8 row lanes
_MIN_ROWS_PER_BLOCK = 64
_SOFTMAX_THREADS = 128
_ELEMENTWISE_THREADS = 256  # bias_act forward and axpy: threads per block
_MAX_GRID_Y = 65535


# -- sources (plain strings, testable without CUDA) ---------------------------------------------
def _act_name(activation: str | None) -> str:
    activations.get(activation)  # ValueError for an unknown name
    return activation or "identity"


def _needs_pre(activation: str | None) -> bool:
    return activations.TABLE[activation].reads == "pre"


def vector_width(dtype: np.dtype, row: int, *pointers: int) -> int:
    """Elements per vector load of the elementwise kernels: 16 bytes (4 floats, 2 doubles)
    where ``row`` (the elements a vector must not cross) is a multiple of it and every
    pointer is 16-byte aligned, else 1."""
    width = 16 // dtype.itemsize
    if row % width:
        return 1
    for p in pointers:
        if p % 16:
            return 1
    return width


def _vector_types(dtype, width: int) -> str:
    """``T`` (the scalar), ``V`` (the vector of ``width``) and ``U`` (V as an array of T)."""
    ctype = _ctype(dtype)
    vtype = ctype if width == 1 else f"{ctype}{width}"  # float4 / double2: CUDA's own
    return (f"typedef {ctype} T;\ntypedef {vtype} V;\n"
            f"union U {{ V v; T s[{width}]; }};\n")


def forward_source(activation: str | None, dtype, width: int) -> str:
    """CUDA C of ``act(z + b)`` in place on C-contiguous (M, N) ``Z``, ``width`` elements per
    thread (N a multiple of it): thread x a vector of the row, threads y and blocks y rows.
    gelu keeps ``z + b`` in ``Z`` (its backward's pre-activation) and writes its output to
    ``Y``; the others write their output over ``Z``."""
    name = _act_name(activation)
    keep_pre = _needs_pre(activation)
    store = "z.s[k] = v; y_out.s[k] = y;" if keep_pre else "z.s[k] = y;"
    return _vector_types(dtype, width) + f"""
extern "C" __global__ void bias_act_{name}_{_ctype(dtype)}_{width}(
        T* __restrict__ Z, const T* __restrict__ B, T* __restrict__ Y, const long long m,
        const int n_vec, const int has_bias) {{
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= n_vec) return;
    U bias;
    if (has_bias) bias.v = ((const V*)B)[c];
    else for (int k = 0; k < {width}; ++k) bias.s[k] = (T)0;
    for (long long r = (long long)blockIdx.y * blockDim.y + threadIdx.y; r < m;
         r += (long long)gridDim.y * blockDim.y) {{
        const long long i = r * n_vec + c;
        U z, y_out;
        z.v = ((const V*)Z)[i];
#pragma unroll
        for (int k = 0; k < {width}; ++k) {{
            const T v = z.s[k] + bias.s[k];
            T y;
            {activations.TABLE[activation].c_forward}
            {store}
        }}
        ((V*)Z)[i] = z.v;
        {"((V*)Y)[i] = y_out.v;" if keep_pre else "(void)Y; (void)y_out;"}
    }}
}}
"""


def axpy_source(dtype, width: int) -> str:
    """CUDA C of ``x += alpha * y`` over ``n`` elements, ``width`` per thread (a grid-stride
    loop over whole vectors, then the fewer than ``width`` elements left, one per thread)."""
    return _vector_types(dtype, width) + f"""
extern "C" __global__ void axpy_{_ctype(dtype)}_{width}(
        T* __restrict__ X, const T* __restrict__ Yv, const T alpha, const long long n_vec,
        const long long n) {{
    const long long start = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = start; i < n_vec; i += stride) {{
        U x, y;
        x.v = ((const V*)X)[i];
        y.v = ((const V*)Yv)[i];
#pragma unroll
        for (int k = 0; k < {width}; ++k) x.s[k] += alpha * y.s[k];
        ((V*)X)[i] = x.v;
    }}
    const long long t = n_vec * {width} + start;
    if (t < n) X[t] += alpha * Yv[t];
}}
"""


def backward_source(activation: str | None, dtype) -> str:
    """CUDA C of the fused activation-gradient + bias-gradient kernel for one dtype."""
    name = _act_name(activation)
    ctype = _ctype(dtype)
    load_pre = "const T p = P[i];" if _needs_pre(activation) else ""
    return f"""
typedef {ctype} T;
extern "C" __global__ void act_backward_{name}_{ctype}(
        const T* __restrict__ G, const T* __restrict__ Y, const T* __restrict__ P,
        T* __restrict__ GZ, T* __restrict__ GB, const int m, const int n,
        const int rows_per_block, const int need_bias) {{
    __shared__ T part[{_BLOCK_ROWS}][{_BLOCK_COLS + 1}];
    const int col = blockIdx.x * {_BLOCK_COLS} + threadIdx.x;
    const int r0 = blockIdx.y * rows_per_block;
    const int r1 = min(m, r0 + rows_per_block);
    T acc = (T)0;
    if (col < n) {{
        for (int r = r0 + threadIdx.y; r < r1; r += {_BLOCK_ROWS}) {{
            const long long i = (long long)r * n + col;
            const T g = G[i];
            const T y = Y[i];
            {load_pre}
            T gz;
            {activations.TABLE[activation].c_grad}
            GZ[i] = gz;
            acc += gz;
        }}
    }}
    if (!need_bias) return;  /* uniform across the block: no thread waits below */
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && col < n) {{
        T s = (T)0;
        for (int k = 0; k < {_BLOCK_ROWS}; ++k) s += part[k][threadIdx.x];
        if (gridDim.y == 1) GB[col] = s; else atomicAdd(GB + col, s);
    }}
}}
"""


def softmax_ce_source(dtype) -> str:
    """CUDA C of the softmax cross-entropy forward for one dtype (one block per row)."""
    ctype = _ctype(dtype)
    return f"""
typedef {ctype} T;
extern "C" __global__ void softmax_ce_forward_{ctype}(
        const T* __restrict__ Z, const long long* __restrict__ target,
        T* __restrict__ losses, T* __restrict__ probs, const int c) {{
    __shared__ T red[{_SOFTMAX_THREADS}];
    const long long row = blockIdx.x;
    const T* z = Z + row * c;
    T* p = probs + row * c;
    const int t = threadIdx.x;
    T top = z[0];  /* c > 0: the caller launches no block otherwise */
    for (int j = t; j < c; j += {_SOFTMAX_THREADS}) top = fmax(top, z[j]);
    red[t] = top;
    __syncthreads();
    for (int s = {_SOFTMAX_THREADS // 2}; s > 0; s >>= 1) {{
        if (t < s) red[t] = fmax(red[t], red[t + s]);
        __syncthreads();
    }}
    top = red[0];
    __syncthreads();
    T total = (T)0;
    for (int j = t; j < c; j += {_SOFTMAX_THREADS}) {{
        const T e = exp(z[j] - top);
        p[j] = e;
        total += e;
    }}
    red[t] = total;
    __syncthreads();
    for (int s = {_SOFTMAX_THREADS // 2}; s > 0; s >>= 1) {{
        if (t < s) red[t] += red[t + s];
        __syncthreads();
    }}
    total = red[0];
    const T inv = (T)1 / total;
    for (int j = t; j < c; j += {_SOFTMAX_THREADS}) p[j] *= inv;
    if (t == 0) {{  /* a target outside [0, c) reads nothing: its loss is NaN */
        const long long k = target[row];
        losses[row] = (k >= 0 && k < c) ? log(total) + top - z[k] : (T)nan("");
    }}
}}
"""


SOFTMAX_CE_BACKWARD_OPERATION = (
    "const long long r = i / c; "
    "grad = (probs[i] - (T)((i - r * c) == target[r])) * scale[per_row ? r : 0];")


def _ctype(dtype) -> str:
    dt = np.dtype(dtype)
    if dt not in _CTYPE:
        raise TypeError(f"CuPy fused kernels take float32 or float64, got {dt}")
    return _CTYPE[dt]


def forward_launch(m: int, n_vec: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``(grid, block)`` of the forward over (m, n_vec) vectors: up to 256 threads across a
    row (a warp at least), the rest of the block and the grid's y down the rows."""
    cols = min(_ELEMENTWISE_THREADS, max(32, 1 << max(n_vec - 1, 0).bit_length()))
    rows = _ELEMENTWISE_THREADS // cols
    return (-(-n_vec // cols), max(1, min(-(-m // rows), _MAX_GRID_Y))), (cols, rows)


def axpy_launch(n_vec: int, max_blocks: int = 4096) -> tuple[tuple[int], tuple[int]]:
    """``(grid, block)`` of axpy over ``n_vec`` vectors: a thread each, up to ``max_blocks``
    (a few dozen per SM of a large GPU; a grid-stride loop past that), one block at least (for the
    tail)."""
    blocks = max(1, min(-(-n_vec // _ELEMENTWISE_THREADS), max_blocks))
    return (blocks,), (_ELEMENTWISE_THREADS,)


# -- compiled kernels (CuPy imported here, on first use) --------------------------------------
# keyed on the table entry, not its name: a name registered again compiles anew
@functools.cache
def _forward_kernel(entry: activations.Activation, dtype, width: int):
    import cupy

    name = f"bias_act_{_act_name(entry.name)}_{_ctype(dtype)}_{width}"
    return cupy.RawKernel(forward_source(entry.name, dtype, width), name)


@functools.cache
def _backward_kernel(entry: activations.Activation, dtype):
    import cupy

    name = f"act_backward_{_act_name(entry.name)}_{_ctype(dtype)}"
    return cupy.RawKernel(backward_source(entry.name, dtype), name)


@functools.cache
def _softmax_kernel(dtype):
    import cupy

    return cupy.RawKernel(softmax_ce_source(dtype), f"softmax_ce_forward_{_ctype(dtype)}")


@functools.cache
def _softmax_backward_kernel():
    import cupy

    return cupy.ElementwiseKernel("raw T probs, raw int64 target, raw T scale, int64 c, "
                                  "int64 per_row", "T grad", SOFTMAX_CE_BACKWARD_OPERATION,
                                  "softmax_ce_backward")


@functools.cache
def _axpy_kernel(dtype, width: int):
    import cupy

    return cupy.RawKernel(axpy_source(dtype, width), f"axpy_{_ctype(dtype)}_{width}")


@functools.cache
def _sm_count(device_id: int) -> int:
    import cupy

    return int(cupy.cuda.Device(device_id).attributes["MultiProcessorCount"])


# -- checks (plain Python on any array with shape/dtype/flags) --------------------------------
def _check_matrix(name: str, a, shape=None) -> None:
    if np.dtype(a.dtype) not in FUSED_DTYPES:
        raise TypeError(f"{name}: expected float32 or float64, got {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array, got shape {tuple(a.shape)}")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(a.shape)}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")


def _check_same_dtype(**arrays) -> None:
    dtypes = {name: np.dtype(a.dtype) for name, a in arrays.items() if a is not None}
    if len(set(dtypes.values())) > 1:
        raise TypeError("expected arrays of one dtype, got " +
                        ", ".join(f"{k}={v}" for k, v in dtypes.items()))


def check_bias_act(z, b, activation) -> None:
    _act_name(activation)
    _check_matrix("z", z)
    if b is not None and (b.ndim != 1 or b.shape[0] != z.shape[1]):
        raise ValueError(f"bias: expected shape ({z.shape[1]},), got {tuple(b.shape)}")
    if b is not None and not b.flags.c_contiguous:  # the kernel reads B[c] (or a vector)
        raise ValueError("bias: expected a contiguous array")
    _check_same_dtype(z=z, b=b)


def check_act_backward(grad_out, out, pre, activation) -> None:
    _act_name(activation)
    _check_matrix("grad_out", grad_out)
    _check_matrix("out", out, grad_out.shape)
    if _needs_pre(activation):
        if pre is None:
            raise ValueError(f"act_backward: activation {activation!r} needs the "
                             f"pre-activation, got pre=None")
        _check_matrix("pre", pre, grad_out.shape)
    _check_same_dtype(grad_out=grad_out, out=out, pre=pre)


def check_softmax_ce(z, target) -> None:
    _check_matrix("logits", z)
    if target.ndim != 1 or target.shape[0] != z.shape[0]:
        raise ValueError(f"target: expected shape ({z.shape[0]},), got {tuple(target.shape)}")
    if np.dtype(target.dtype).kind not in "iu":
        raise TypeError(f"target: expected integer class indices, got {target.dtype}")


def check_scale(scale, rows: int) -> None:
    if scale.size not in (1, rows):
        raise ValueError(f"scale: expected 1 or {rows} values, got shape {tuple(scale.shape)}")


# -- entry points ------------------------------------------------------------------------------
def bias_act_forward(z, b, activation):
    """``act(z + b)`` in one launch, in place on ``z``; ``(out, pre)`` (pre only where the
    gradient reads the pre-activation: gelu, silu)."""
    check_bias_act(z, b, activation)
    if b is None and activation is None:
        return z, None
    out = _empty_like(z) if _needs_pre(activation) else z
    m, n = z.shape
    if z.size:
        width = vector_width(z.dtype, n, z.data.ptr, out.data.ptr,
                             *(() if b is None else (b.data.ptr,)))
        n_vec = n // width
        _forward_kernel(activations.TABLE[activation], z.dtype, width)(
            *forward_launch(m, n_vec),
            (z, z if b is None else b, out, np.int64(m), np.int32(n_vec),
             np.int32(b is not None)))
    return (out, z) if _needs_pre(activation) else (z, None)


def act_backward(grad_out, out, pre, activation, need_bias_grad: bool):
    """``(grad_z, grad_b)`` in one launch: the activation gradient and its column sum."""
    import cupy

    check_act_backward(grad_out, out, pre, activation)
    m, n = grad_out.shape
    grad_z = cupy.empty_like(grad_out)
    col_blocks = -(-n // _BLOCK_COLS)
    target_blocks = 4 * _sm_count(grad_out.device.id)
    row_blocks = max(1, min(-(-m // _MIN_ROWS_PER_BLOCK), -(-target_blocks // col_blocks)))
    rows_per_block = -(-m // row_blocks) if m else 1
    grad_b = None
    if need_bias_grad:
        grad_b = (cupy.zeros if row_blocks > 1 else cupy.empty)(n, dtype=grad_out.dtype)
    if m and n:
        _backward_kernel(activations.TABLE[activation], grad_out.dtype)(
            (col_blocks, row_blocks), (_BLOCK_COLS, _BLOCK_ROWS),
            (grad_out, out, out if pre is None else pre, grad_z,
             grad_z if grad_b is None else grad_b, np.int32(m), np.int32(n),
             np.int32(rows_per_block), np.int32(need_bias_grad)))
    elif grad_b is not None:
        grad_b.fill(0)
    return grad_z, grad_b


def softmax_ce_forward(z, target):
    """Per-row ``logsumexp(z) - z[target]`` and the row softmax of (N, C) logits."""
    import cupy

    check_softmax_ce(z, target)
    n, c = z.shape
    losses = cupy.empty(n, dtype=z.dtype)
    probs = cupy.empty_like(z)
    if n and c:
        t = cupy.ascontiguousarray(target, dtype=cupy.int64)
        _softmax_kernel(z.dtype)((n,), (_SOFTMAX_THREADS,), (z, t, losses, probs, np.int32(c)))
    return losses, probs


def softmax_ce_backward(probs, target, scale):
    """``(probs - onehot(target)) * scale`` as a new array; ``scale`` a scalar or (N,) values
    (kept on the device: no host synchronization)."""
    import cupy

    check_softmax_ce(probs, target)
    s = cupy.asarray(scale, dtype=probs.dtype).reshape(-1)
    check_scale(s, probs.shape[0])
    grad = cupy.empty_like(probs)
    if grad.size:
        t = cupy.ascontiguousarray(target, dtype=cupy.int64)
        _softmax_backward_kernel()(probs, t, s, probs.shape[1], int(s.size > 1), grad)
    return grad


def axpy_(x, alpha, y) -> None:
    """``x += alpha * y`` in place, in one pass (same shape, dtype, C-contiguous)."""
    if x.shape != y.shape or x.dtype != y.dtype:
        raise ValueError(f"axpy_: x {tuple(x.shape)} {x.dtype} and y {tuple(y.shape)} "
                         f"{y.dtype} differ")
    if not (x.flags.c_contiguous and y.flags.c_contiguous):
        raise ValueError("axpy_: expected C-contiguous arrays")
    n = x.size
    if not n:
        return
    width = vector_width(x.dtype, 0, x.data.ptr, y.data.ptr)  # 0: the kernel does the tail
    n_vec = n // width
    _axpy_kernel(x.dtype, width)(*axpy_launch(n_vec),
                                 (x, y, x.dtype.type(alpha), np.int64(n_vec), np.int64(n)))


def _empty_like(a):
    import cupy

    return cupy.empty_like(a)
