"""The environment switches of the CUDA backend, read where they apply.

* ``TENSORCORE_EAGER_GEMM`` = ``cupy`` (default) or ``cublas``: the GEMM of eager 2-D float
  products (CuPy's ``@``, or tensorcore's own cuBLAS handle: fewer layers of Python per
  call; for measurement). Read when a backend is created.
* ``TENSORCORE_CUBLASLT`` = ``graph`` (default), ``1`` or ``0``: where the cupy path runs a
  float32 ReLU / no-activation layer forward in ONE cuBLASLt call
  (``tensorcore.kernels.blas.cublaslt``): in CUDA graphs (where it measured faster, see
  docs/benchmarks.md), eagerly too (eagerly it did not beat CuPy's ``@`` + the epilogue
  kernel), or never. Read when a backend is created.
* ``TENSORCORE_GRAPH_GEMM`` = ``auto`` (default), ``cublas`` or ``numba``: the GEMM a CUDA
  graph records (see ``CupyBackend.prepare_capture``). Read at each capture.

Importing this module also sets two Numba variables (unless set): Numba synchronizes the
stream a CuPy array exports on every kernel launch unless ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC``
is 0 (the variable works when Numba is imported after this line; ``probes`` also sets the
configuration at run time in case it was not), and small layers launch few blocks on
purpose (no NumbaPerformanceWarning per launch for that).
"""

from __future__ import annotations

import os

os.environ.setdefault("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "0")
os.environ.setdefault("NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS", "0")

# The numba path runs a layer's whole backward in one launch up to this work (M * N * K),
# where launches cost more than its GEMM tiles lose to cuBLAS. auto weighs a layer by
# kernel_paths.layer_steps instead, but this cap also serves a forced numba path, where the
# one launch lost to the act backward kernel + two cuBLAS GEMMs at 1024^3 (the measurement
# is in docs/benchmarks.md)
ONE_LAUNCH_BACKWARD_MAX = 512 ** 3


def eager_gemm() -> str:
    """``TENSORCORE_EAGER_GEMM``: ``"cupy"`` or ``"cublas"``; ValueError for anything else."""
    gemm = os.environ.get("TENSORCORE_EAGER_GEMM", "cupy")
    if gemm not in ("cupy", "cublas"):
        raise ValueError(f"TENSORCORE_EAGER_GEMM={gemm!r}: expected cupy or "
                         f"cublas")
    return gemm


def cublaslt() -> tuple[bool, bool]:
    """``TENSORCORE_CUBLASLT`` as ``(eagerly, in_graphs)``: where the one-call cuBLASLt
    forward may run; ValueError for a value other than 0, 1 or graph."""
    lt = os.environ.get("TENSORCORE_CUBLASLT", "graph")
    if lt not in ("0", "1", "graph"):
        raise ValueError(f"TENSORCORE_CUBLASLT={lt!r}: expected 0, 1 or graph")
    return lt == "1", lt != "0"


def graph_gemm() -> str:
    """``TENSORCORE_GRAPH_GEMM``: ``"auto"``, ``"cublas"`` or ``"numba"``; ValueError for
    anything else."""
    choice = os.environ.get("TENSORCORE_GRAPH_GEMM", "auto")
    if choice not in ("auto", "cublas", "numba"):
        raise ValueError(f"TENSORCORE_GRAPH_GEMM={choice!r}: expected auto, cublas or numba")
    return choice


def graph_gemm_is_numba() -> bool:
    """Whether ``TENSORCORE_GRAPH_GEMM=numba`` forces the Numba GEMM now (it is read on each
    captured product, so a forced choice ends with its setting)."""
    return os.environ.get("TENSORCORE_GRAPH_GEMM") == "numba"
