"""``CupyBackend``: the backend's array and op methods for ``cuda`` / ``cuda:N``.

Everything it needs from CuPy comes from its runtime (``runtime.CupyRuntime``), the kernel
entry points dispatch through ``paths.KERNEL_TABLE`` on the path ``paths.kernel_path``
picks, the environment switches come from ``settings`` and the one-off checks of a GPU path
from ``probes``.

>>> from tensorcore.backends.cuda import CupyBackend
>>> CupyBackend.name, CupyBackend.device_type
('cupy', 'cuda')
"""

from __future__ import annotations

import collections
import contextlib

import numpy as np

from tensorcore.kernels.cupy import fused as cupy_fused

from .. import kernel_paths, matmul_precision
from ..contract import FLOAT_DTYPES as _FUSED_DTYPES
from ..contract import Backend, one_pass_update_fits
from . import cublaslt_forward, paths, probes, settings
from .runtime import CupyRuntime


class CupyBackend(Backend):
    """CuPy arrays on one GPU; the kernel entry points dispatch between three paths."""

    name = "cupy"
    device_type = "cuda"
    runtime_class = CupyRuntime
    fused_paths: tuple[str, ...] = ("numba", "cupy")  # paths besides "unfused" it can run
    checks_index_bounds = False  # CuPy wraps out-of-range integer-array indices
    kernel_table = paths.KERNEL_TABLE  # (entry, path) -> f(backend, *args)
    kernel_path = paths.kernel_path

    def __init__(self, device) -> None:
        super().__init__(device)
        self.runtime = self.runtime_class(device.index or 0)
        self.xp = self.runtime.xp
        self.array_type = self.runtime.array_type
        self.kernel_calls: collections.Counter = collections.Counter()
        self._numba_streams: dict[int, object] = {}
        self._graph_cublas: bool | None = None  # None until prepare_capture has probed
        self.eager_gemm = settings.eager_gemm()
        # the cupy path's forward of a float32 ReLU / no-activation layer in ONE cuBLASLt
        # call (cublaslt_forward): eagerly, and in CUDA graphs
        self.cublaslt, self.cublaslt_in_graphs = settings.cublaslt()
        self._cublaslt_ok: bool | None = None  # None until checked
        # the numba path's layer backward in ONE launch up to this much work (M * N * K);
        # above it, the act backward kernel and two cuBLAS GEMMs
        self.one_launch_backward_max = settings.ONE_LAUNCH_BACKWARD_MAX

    # -- conversion ----------------------------------------------------------------------------
    def asarray(self, data, dtype=None):
        if isinstance(data, self.array_type) and not self.runtime.on_device(data):
            with self.runtime.device:  # another GPU's array: a peer copy onto ours
                return self.xp.array(data, dtype=dtype, copy=True)
        with self.runtime.device:
            return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, a) -> np.ndarray:
        return self.runtime.to_host(a)

    def from_dlpack(self, obj):
        with self.runtime.device:
            return self.xp.from_dlpack(obj)

    def synchronize(self) -> None:
        self.runtime.synchronize()

    def matmul(self, a, b):
        """``a @ b``. CuPy refuses to record cuBLAS calls in a CUDA graph ("calling cuBLAS API
        during stream capture is currently unsupported"), so in graph mode 2-D float products
        take ``graph_gemm()``: cuBLAS through a handle of our own, or the Numba GEMM.
        Eagerly they take CuPy's ``@``, or that handle where ``eager_gemm`` is ``"cublas"``
        (``TENSORCORE_EAGER_GEMM``: fewer layers of Python per call; for measurement).
        2-D float32 products round their inputs to TF32 where ``allows_tf32()`` (not on
        the Numba GEMM)."""
        gemm = self.graph_gemm() if self.capturing() else self.eager_gemm
        if (gemm not in ("cupy", None) and a.ndim == b.ndim == 2 and a.dtype == b.dtype
                and a.dtype in _FUSED_DTYPES):  # eagerly by default: straight to CuPy's @
            self.kernel_calls["matmul", gemm] += 1
            with self.runtime.device:
                return self.kernel_table["matmul", gemm](self, a, b)
        if self.allows_tf32() and a.ndim == b.ndim == 2 and a.dtype == b.dtype == np.float32:
            with self.runtime.device:
                return self.runtime.tf32_matmul(a, b)
        return a @ b

    def allows_tf32(self) -> bool:
        """Whether float32 GEMMs may use TF32 now: ``tc.set_float32_matmul_precision`` below
        ``"highest"`` and a GPU that has it."""
        return matmul_precision.tf32_allowed() and self.runtime.has_tf32

    # -- the capture protocol (tensorcore.cuda.graphs; see contract.Backend) -------------------
    def capturing(self) -> bool:
        return self.runtime.capturing()

    def graph_gemm(self) -> str | None:
        """The GEMM a CUDA graph records: ``"cublas"`` once ``prepare_capture`` has seen it
        work here (unless ``TENSORCORE_GRAPH_GEMM=numba``), else ``"numba"`` where that path
        runs, else ``None`` (CuPy's ``@``)."""
        if self._graph_cublas and not settings.graph_gemm_is_numba():
            return "cublas"
        return "numba" if "numba" in self.fused_paths else None

    def prepare_capture(self) -> None:
        """Before a graph records (``tc.cuda.graphs.capture`` calls this): find out once
        whether a cuBLAS GEMM of our own handle records and replays correctly here, by
        capturing a small one; where not, warn once and keep the Numba GEMM.
        ``TENSORCORE_GRAPH_GEMM`` = ``auto`` (that), ``cublas`` (raise where it fails) or
        ``numba`` (no probe, the Numba GEMM)."""
        choice = settings.graph_gemm()
        if choice != "numba" and self._graph_cublas is None:
            self._graph_cublas = probes.graph_cublas_works(self)
        if self._graph_cublaslt() and self._graph_cublas and "cupy" in self.fused_paths:
            # the cupy path's cuBLASLt forward: its check reads back, never while recording
            with self.runtime.device:
                self._cublaslt_works()
        if "numba" in self.fused_paths and (self.graph_gemm() == "numba"
                                            or kernel_paths.get_kernels() == "numba"):
            probes.numba_ready(self)  # the probe synchronizes: never inside the recording
        if choice == "cublas" and not self._graph_cublas:
            raise RuntimeError("TENSORCORE_GRAPH_GEMM=cublas, but cuBLAS GEMMs cannot be "
                               "recorded in a CUDA graph here (see the warning above)")

    def side_stream(self):
        return self.runtime.side_stream()

    @contextlib.contextmanager
    def graph_mode(self):
        with self.runtime.device:
            self.runtime.graph_mode = True  # warm-up takes the paths the capture will
            try:
                yield
            finally:
                self.runtime.graph_mode = False

    def allocating_from(self, pool):
        return self.runtime.allocating_from(pool)

    def record(self, stream, fn):
        return self.runtime.record(stream, fn)

    def join_stream(self, stream) -> None:
        self.runtime.join_stream(stream)

    def replay_graph(self, graph, stream, copies) -> None:
        self.runtime.replay_graph(graph, stream, copies)

    # -- scatter and the SGD update ------------------------------------------------------------
    def index_add(self, target, index, values) -> None:
        self.runtime.scatter_add(target, index, values)

    def axpy_(self, x, alpha, y) -> None:
        if "cupy" in self.fused_paths and one_pass_update_fits(self.xp, x, y):
            with self.runtime.device:
                cupy_fused.axpy_(x, alpha, y)
            return
        super().axpy_(x, alpha, y)

    # -- kernel entry points: the path from kernel_path, the function from kernel_table ----------
    def _dispatch(self, entry: str, op: str, work: int, dtype, *args):
        """Run ``kernel_table[entry, path](self, *args)`` on this GPU for the path ``op``
        takes."""
        return self._run(entry, self.kernel_path(op, work, dtype), *args)

    def _run(self, entry: str, path: str, *args):
        self.kernel_calls[entry, path] += 1
        with self.runtime.device:
            return self.kernel_table[entry, path](self, *args)

    def linear_act(self, x, w, b, activation):
        (m, k), n = x.shape, w.shape[0]
        return self._dispatch("linear_act", "linear_act", self._layer_steps(m, n, k), x.dtype,
                              x, w, b, activation)

    def _layer_steps(self, m: int, n: int, k: int) -> int:
        return kernel_paths.layer_steps(m, n, k, self.runtime.sm_count)

    def bias_act(self, z, b, activation):
        # only the epilogue: the Numba path fuses it with the GEMM in linear_act instead
        m, n = z.shape
        path = self.kernel_path("act_backward", m * n, z.dtype)  # the same M x N table row
        if path == "unfused":
            return super().bias_act(z, b, activation)
        with self.runtime.device:
            return cupy_fused.bias_act_forward(z, paths.contiguous(self.xp, b), activation)

    def linear_backward(self, grad_out, out, pre, x, w, activation, needs):
        (m, n), k = grad_out.shape, x.shape[1]
        if (m * n * k <= self.one_launch_backward_max and self.kernel_path(
                "linear_act", self._layer_steps(m, n, k), grad_out.dtype) == "numba"):
            return self._run("linear_backward", "numba", grad_out, out, pre, x, w, activation,
                             needs)
        return super().linear_backward(grad_out, out, pre, x, w, activation, needs)

    def act_backward(self, grad_out, out, pre, activation, need_bias_grad):
        m, n = grad_out.shape
        return self._dispatch("act_backward", "act_backward", m * n, grad_out.dtype, grad_out,
                              out, pre, activation, need_bias_grad)

    def softmax_cross_entropy(self, z, target, known_max: int | None = None):
        n, c = z.shape
        path = self.kernel_path("softmax_ce", n * c, z.dtype)
        # the range known on the host spares a read that waits for the GPU; the fused kernels
        # give a NaN loss, never a stray read, should a write through .data have changed it
        # (the unfused reference indexes with the targets: it reads them)
        self.check_class_targets(target, c, None if path == "unfused" else known_max)
        return self._run("softmax_ce", path, z, target)

    def softmax_cross_entropy_backward(self, probs, target, scale):
        n, c = probs.shape
        return self._dispatch("softmax_ce_backward", "softmax_ce", n * c, probs.dtype, probs,
                              target, scale)

    # -- what the paths share ------------------------------------------------------------------
    _cublaslt_works = cublaslt_forward.works  # checked once per backend
    _graph_cublaslt = cublaslt_forward.in_graphs

    def _numba(self):
        """``tensorcore.kernels.numba_cuda.fused``, after the once-per-process probe of
        ``probes.numba_ready`` (which turns fast launches off where they fail); not probed
        while a graph is recorded or warmed up for (``prepare_capture`` probes before that)."""
        if "ready" not in probes.numba_state and not self.capturing():
            probes.numba_ready(self)
        return probes.numba_kernels()

    def _numba_stream(self):
        """CuPy's current stream as a Numba stream (cached per stream pointer); 0 for the
        legacy default stream."""
        ptr = self.runtime.stream_ptr()
        if not ptr:
            return 0
        stream = self._numba_streams.get(ptr)
        if stream is None:
            from numba import cuda

            stream = self._numba_streams[ptr] = cuda.external_stream(ptr)
        return stream
