"""Shared machinery of the Numba-CUDA kernels: the lazy compile cache, the one launch-config
helper, argument checks.

Kernels are built by *builders* registered with :func:`register`: a builder takes a variant key
(the NumPy dtype, then compile-time constants such as the activation's table entry) and
returns the Python kernel function and its explicit signature. :func:`get_kernel` compiles a
variant with ``cuda.jit(signature)`` on first use and caches it; :func:`kernel_specs` lists
every variant, for :func:`tensorcore.kernels.numba_cuda.fused.warmup` and the PTX test.
:func:`activation_variants` follows the activation table (``tensorcore.kernels.activations``):
an activation registered there gets its kernels on first use.

Two rules for kernel code here. ``cuda`` must stay a module-level global of every module that
defines kernels: the simulator (``NUMBA_ENABLE_CUDASIM=1``) swaps the kernel function's global
``cuda`` for a per-thread fake. And kernels call no other jitted functions (device functions,
``register_jitable``, ``@overload``): those are compiled for the current device's compute
capability, which fails without a GPU, whereas a self-contained kernel compiles to PTX for any
target (``cuda.compile_ptx``); the activation formulas are inlined into the kernel instead
(:mod:`.inline`). Compile-time constants (tile sizes, constants of the dtype) come from module
globals or from the builder's closure; a branch on a constant costs nothing after NVVM's
dead-code elimination.

>>> launch_config("gemm", 130, 70)
((3, 2), (16, 16))
>>> [key[1].name for key in activation_variants()][:3]
[None, 'relu', 'gelu']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import numba
import numpy as np

if not hasattr(np, "row_stack"):
    # numba-cuda 0.30 registers an overload of np.row_stack when its CUDA target loads, and
    # NumPy 2.5 removed that alias of np.vstack ("module 'numpy' has no attribute
    # 'row_stack'", seen on the first GPU run): give it back as a function of its own, so
    # that np.vstack's overload stays unambiguous.
    def _row_stack(tup, *, dtype=None, casting="same_kind"):
        return np.vstack(tup, dtype=dtype, casting=casting)

    np.row_stack = _row_stack

from numba import cuda  # noqa: E402

from .. import activations  # noqa: E402
from . import launch as fast_launch  # noqa: E402

__all__ = [
    "DTYPES", "activation_variants", "bwd_chunks", "check_matrix", "check_same_dtype",
    "dtype_variants", "get_kernel", "kernel_specs", "launch", "launch_config", "nb_type",
    "register", "saved_for_grad",
]

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# --------------------------------------------------------------------------------------------
# Launch geometry: every grid and block size is decided here.
# --------------------------------------------------------------------------------------------

# GEMM: a (GEMM_TY, GEMM_TX) block of threads, each computing a GEMM_RM x GEMM_RN register
# block of outputs (rows ty + i * GEMM_TY, columns tx + j * GEMM_TX: strided, so that both
# shared-memory reads of the inner loop are free of bank conflicts), i.e. a
# GEMM_BM x GEMM_BN output tile per block; K advances GEMM_BK at a time through shared memory.
GEMM_TX = GEMM_TY = 16
GEMM_RM = GEMM_RN = 4
GEMM_BM, GEMM_BN = GEMM_TY * GEMM_RM, GEMM_TX * GEMM_RN  # 64 x 64 outputs per block
GEMM_BK = 16
GEMM_THREADS = GEMM_TX * GEMM_TY
GEMM_LOADS = GEMM_BM * GEMM_BK // GEMM_THREADS  # elements of each operand tile a thread stages
# shared-memory tiles are stored [k][row], one column of padding spreading their stores;
# shapes must be constant tuples for Numba
GEMM_TILE = (GEMM_BK, GEMM_BM + 1)
GEMM_ACC = (GEMM_RM, GEMM_RN)
assert GEMM_BM == GEMM_BN and GEMM_LOADS * GEMM_THREADS == GEMM_BM * GEMM_BK
# Column-strip kernels (act backward, softmax-CE backward): a warp spans 32 columns of a row.
STRIP_TX, STRIP_TY = 32, 8
# Rows per block of the act backward: with more rows than this, the bias gradient is summed
# in two stages (per-chunk partial sums, then one small kernel). Mutable on purpose (tests
# lower it to exercise the second stage; a tuner may raise it).
BWD_ROWS_PER_CHUNK = 256
BWD_MAX_CHUNKS = 128  # bounds the second stage's work per column
COLSUM_THREADS = 256
# CUDA caps gridDim.y (and .z) at 65535 blocks; "strip" kernels loop over the rows beyond it.
MAX_GRID_Y = 65535
SOFTMAX_MAX_THREADS = 256  # one block per row; also the size of its shared scratch


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def launch_config(kernel: str, rows: int, cols: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """``(grid, block)`` for ``kernel`` over an output of ``rows`` x ``cols``.

    ``kernel`` is ``"gemm"``, ``"act_backward"`` (its grid's second dimension is the number
    of row chunks, see :func:`bwd_chunks`), ``"column_sum"``, ``"softmax_ce"`` (one block per
    row) or ``"strip"`` (an elementwise pass: a thread per column and per row of its block,
    looping over rows with the grid's height as stride when they exceed ``MAX_GRID_Y``
    blocks).
    """
    if kernel == "gemm":  # row tiles along x (up to 2^31 - 1 blocks: any batch size)
        if _ceil_div(cols, GEMM_BN) > MAX_GRID_Y:
            raise ValueError(f"the Numba GEMM takes at most {MAX_GRID_Y * GEMM_BN} output "
                             f"columns, got {cols}; use the 'cupy' kernel path")
        return (_ceil_div(rows, GEMM_BM), _ceil_div(cols, GEMM_BN)), (GEMM_TX, GEMM_TY)
    if kernel == "act_backward":
        return (_ceil_div(cols, STRIP_TX), bwd_chunks(rows)), (STRIP_TX, STRIP_TY)
    if kernel == "strip":  # the kernel loops over rows with a stride of the whole grid
        blocks_y = min(_ceil_div(rows, STRIP_TY), MAX_GRID_Y)
        return (_ceil_div(cols, STRIP_TX), max(blocks_y, 1)), (STRIP_TX, STRIP_TY)
    if kernel == "column_sum":
        return (_ceil_div(cols, COLSUM_THREADS),), (COLSUM_THREADS,)
    if kernel == "softmax_ce":
        threads = 32  # a warp at least; a power of two for the tree reductions
        while threads < min(cols, SOFTMAX_MAX_THREADS):
            threads *= 2
        return (rows,), (threads,)
    raise ValueError(f"launch_config: unknown kernel {kernel!r}")


def bwd_chunks(rows: int) -> int:
    """How many row chunks (blocks along the rows) the act backward splits ``rows`` into."""
    return max(1, min(_ceil_div(rows, BWD_ROWS_PER_CHUNK), BWD_MAX_CHUNKS))


# --------------------------------------------------------------------------------------------
# Lazy compilation with explicit signatures.
# --------------------------------------------------------------------------------------------

Builder = Callable[..., tuple[Callable, object]]
_BUILDERS: dict[str, tuple[Builder, Callable[[], list[tuple]]]] = {}
_COMPILED: dict[tuple, object] = {}


def register(name: str, variants: Callable[[], list[tuple]]) -> Callable[[Builder], Builder]:
    """Decorator: ``builder(*key) -> (python_kernel, signature)`` serves kernel ``name``;
    ``variants()`` lists every key it supports."""

    def decorate(builder: Builder) -> Builder:
        _BUILDERS[name] = (builder, variants)
        return builder

    return decorate


def dtype_variants() -> list[tuple]:
    """Variant keys of a kernel specialised on the dtype only."""
    return [(dtype,) for dtype in DTYPES]


def activation_variants() -> list[tuple]:
    """Variant keys of a kernel specialised on the dtype and the activation: one per entry
    of the activation table (the entry itself, so that a re-registered name compiles anew)."""
    return [(dtype, entry) for dtype in DTYPES for entry in activations.TABLE.values()]


def get_kernel(name: str, *key):
    """The compiled kernel ``name`` for ``key`` (compiled on first use, then cached)."""
    full = (name, *key)
    kernel = _COMPILED.get(full)
    if kernel is None:
        python_kernel, signature = _BUILDERS[name][0](*key)
        kernel = _COMPILED[full] = cuda.jit(signature)(python_kernel)
    return kernel


# Launch through fast_launch.FastKernel (the parameters packed by hand, no Numba dispatcher)
# where the arguments are CuPy arrays. Mutable: the CuPy backend turns it off when its probe
# of a fast launch fails; TENSORCORE_NUMBA_LAUNCH=numba turns it off from the start.
FAST_LAUNCH = os.environ.get("TENSORCORE_NUMBA_LAUNCH", "fast") != "numba"
_FAST: dict[tuple[int, int], fast_launch.FastKernel] = {}


def launch(kernel, grid, block, stream, *args) -> None:
    """``kernel[grid, block, stream](*args)``: through a ``FastKernel`` when ``FAST_LAUNCH``
    is on and the first argument is a CuPy array, else through Numba's dispatcher (NumPy
    arrays under the simulator, Numba device arrays)."""
    data = getattr(args[0], "data", None)
    if FAST_LAUNCH and hasattr(data, "ptr"):
        key = (id(kernel), data.device_id)  # (not .device: a Device object per launch)
        fast = _FAST.get(key)
        if fast is None:
            fast = _FAST[key] = fast_launch.FastKernel.from_dispatcher(kernel)
        fast(grid, block, fast_launch.handle_address(getattr(stream, "handle", stream)), *args)
    else:
        kernel[grid, block, stream](*args)


def kernel_specs() -> Iterator[tuple[str, tuple, Callable, object]]:
    """Every kernel variant as ``(name, key, python_kernel, signature)``."""
    for name, (builder, variants) in _BUILDERS.items():
        for key in variants():
            yield (name, key, *builder(*key))


def nb_type(dtype: np.dtype):
    """The Numba scalar type of a NumPy dtype."""
    return numba.from_dtype(np.dtype(dtype))


# --------------------------------------------------------------------------------------------
# Argument checks (cheap attribute reads only: they run on every launch).
# --------------------------------------------------------------------------------------------


def saved_for_grad(caller: str, entry, grad_out, out, pre) -> tuple[str, object]:
    """``(name, array)`` the gradient of ``entry`` reads: ``out`` or ``pre``, as the table
    says, or ``grad_out`` itself for the identity; ValueError when it is missing."""
    if entry.reads is None:
        return "out", grad_out
    saved = pre if entry.reads == "pre" else out
    if saved is None:
        what = "pre-activation" if entry.reads == "pre" else "output"
        raise ValueError(f"{caller}: activation {entry.name!r} needs `{entry.reads}` (the "
                         f"forward's {what})")
    return entry.reads, saved


def check_matrix(name: str, a, shape: tuple[int, ...] | None = None, ndim: int = 2) -> None:
    """Raise unless ``a`` is a C-contiguous float32/float64 array of ``ndim`` dimensions
    (and ``shape``, when given)."""
    if not isinstance(a, np.ndarray) and not hasattr(type(a), "__cuda_array_interface__"):
        raise TypeError(f"{name} must be a device array (CuPy, Numba) or, under the "
                        f"simulator, a NumPy array; got {type(a).__name__}")
    if len(a.shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(a.shape)}")
    if shape is not None and tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(a.shape)}")
    if a.dtype not in DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {a.dtype}")
    if not a.flags["C_CONTIGUOUS"]:
        raise ValueError(f"{name} (shape {tuple(a.shape)}) must be C-contiguous")


def check_same_dtype(ref_name: str, ref, **arrays) -> None:
    """Raise TypeError unless every array in ``arrays`` has the dtype of ``ref``."""
    for name, a in arrays.items():
        if a is not None and a.dtype != ref.dtype:
            raise TypeError(f"{name} has dtype {a.dtype} but {ref_name} has {ref.dtype}; "
                            f"they must match")
