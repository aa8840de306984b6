"""The CuPy backend for ``cuda`` / ``cuda:N``: CuPy arrays, cuBLAS GEMMs and fused kernels.

Everything the backend needs from CuPy comes from one object, its *runtime*
(``CupyRuntime``: the array module, the device context, host copies, scatter-add, streams),
so the backend's own logic also runs on a "CuPy-on-NumPy" stand-in in the tests.

The fused entry points (``linear_act``, ``act_backward``, the softmax cross-entropy) run on
one of three kernel paths chosen by ``tensorcore.backends.kernel_paths`` (``auto``,
``numba``, ``cupy``, ``unfused``; ``TENSORCORE_KERNELS`` or ``tc.backends.use_kernels``):
``numba`` launches the single-launch Numba-CUDA kernels of ``tensorcore.kernels.numba_cuda.fused``
on CuPy's current stream, ``cupy`` runs cuBLAS plus one CuPy epilogue kernel
(``tensorcore.kernels.cupy.fused``), ``unfused`` the contract's reference ``xp`` code.
``kernel_calls`` counts ``(op, path)`` pairs, so tests and benchmarks see which path ran.
Before the first Numba launch, a small ReLU backward is compiled, run and compared; if
Numba's CUDA toolchain does not work here, ``auto`` warns once and takes ``cupy`` instead.

Random numbers come from the host NumPy generator and are copied to the device, so a seed
gives the same values on the CPU and on the GPU (a copy per draw: draw big batches, not
many small ones, in a hot loop).

Ops run on CuPy's current device; the backend's own methods (transfers, kernels) enter the
tensor's device, so with several GPUs select one with ``tc.cuda.set_device(i)`` for work on
``cuda:i``.

>>> from tensorcore.backends.cupy_backend import CupyBackend
>>> CupyBackend.name, CupyBackend.device_type
('cupy', 'cuda')
"""

from __future__ import annotations

import collections
import contextlib
import os
import warnings

import numpy as np

from tensorcore.kernels.blas import cublas, cublaslt
from tensorcore.kernels.cupy import fused as cupy_fused

from . import kernel_paths, matmul_precision
from .contract import Backend, one_pass_update_fits, softmax_ce_reference
from .numba_backend import _FUSED_DTYPES  # the same float32/float64 pair

# Numba synchronizes the stream a CuPy array exports on every kernel launch unless this is
# 0; the environment variable works when Numba is imported after this line, and
# ``_numba_launch_setup`` also sets the configuration at run time in case it was not.
os.environ.setdefault("NUMBA_CUDA_ARRAY_INTERFACE_SYNC", "0")
# Small layers launch few blocks on purpose: no NumbaPerformanceWarning per launch for that
os.environ.setdefault("NUMBA_CUDA_LOW_OCCUPANCY_WARNINGS", "0")
# The numba path runs a layer's whole backward in one launch up to this work (M * N * K),
# where launches cost more than its GEMM tiles lose to cuBLAS (docs/benchmarks.md). auto
# weighs a layer by kernel_paths.layer_steps instead, but this cap also serves a forced numba
# path, where the one launch lost at 1024^3 (0.742 against 0.335 ms)
ONE_LAUNCH_BACKWARD_MAX = 512 ** 3


class CupyRuntime:
    """What ``CupyBackend`` uses from CuPy, for one GPU; importing CuPy happens here."""

    def __init__(self, index: int) -> None:
        from . import cuda_unavailable_reason

        reason = cuda_unavailable_reason()
        if reason is not None:
            raise RuntimeError(f"cannot use device cuda:{index}: {reason}")
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
        if index >= count:
            raise RuntimeError(f"CUDA error: invalid device ordinal: cuda:{index} requested, "
                               f"{count} GPU(s) present")
        self.xp = cupy
        self.array_type = cupy.ndarray
        self.device = cupy.cuda.Device(index)  # a reusable context manager
        self.to_host = cupy.asnumpy
        self._add_at = getattr(cupy.add, "at", None)
        self.graph_mode = False  # set by tensorcore.cuda.graphs.capture, warm-up included
        self._cublas = self._cublaslt = None
        self.compute_major = int(self.device.compute_capability[:-1])  # "90" -> 9
        self.sm_count = int(self.device.attributes["MultiProcessorCount"])

    def scatter_add(self, target, index, values) -> None:
        if self._add_at is not None:
            self._add_at(target, index, values)
        else:  # CuPy before ufunc.at
            import cupyx

            cupyx.scatter_add(target, index, values)

    def synchronize(self) -> None:
        self.device.synchronize()

    @property
    def has_tf32(self) -> bool:
        """TF32 tensor cores, from Ampere (8.0) on; before, "high" computes in float32."""
        return self.compute_major >= 8

    def tf32_matmul(self, a, b):
        """``a @ b`` of 2-D float32 arrays with TF32 allowed: CuPy's float32 compute type
        for this call only (other CuPy code keeps its own)."""
        core = self.xp._core
        before = core.get_compute_type(np.float32)
        core.set_compute_type(np.float32, core._routines_linalg.COMPUTE_TYPE_TF32)
        try:
            return a @ b
        finally:
            core.set_compute_type(np.float32, before)

    def stream_ptr(self) -> int:
        return self.xp.cuda.get_current_stream().ptr

    def capturing(self) -> bool:
        if self.graph_mode:
            return True
        stream = self.xp.cuda.get_current_stream()  # the default stream (0) never captures,
        return stream.ptr != 0 and stream.is_capturing()  # so eager code asks no driver

    def on_device(self, a) -> bool:
        return isinstance(a, self.array_type) and a.device.id == self.device.id

    @staticmethod
    def pointer(a) -> int:
        return a.data.ptr

    def cublas(self):
        """This GPU's cuBLAS handle for GEMMs a graph can record (``kernels.blas.cublas``),
        opened on first use from the libcublas CuPy loads."""
        if self._cublas is None:
            with self.device:
                one = self.xp.ones((1, 1), dtype=np.float32)
                one @ one  # CuPy loads libcublas, which Cublas then finds by path
                self._cublas = cublas.Cublas.open(self.compute_major, self._allocate)
        return self._cublas

    def cublaslt(self):
        """This GPU's cuBLASLt handle (``kernels.blas.cublaslt``), opened on first use."""
        if self._cublaslt is None:
            self.cublas()  # CuPy loads libcublas, and with it the libcublasLt found here
            with self.device:
                self._cublaslt = cublaslt.CublasLt()
        return self._cublaslt

    def _allocate(self, nbytes: int) -> tuple[int, object]:
        """A workspace: its own cudaMalloc, outside every memory pool (a graph's private pool
        frees its memory with the graph, and graphs recorded later may still use this)."""
        memory = self.xp.cuda.memory.Memory(nbytes)
        return memory.ptr, memory

    def side_stream(self):
        """``(pool, stream)`` on this GPU for recording a graph: a memory pool of its own
        (keep it alive as long as the graph) and a non-blocking stream that starts after the
        work queued so far on the current stream (the inputs' copies)."""
        cupy = self.xp
        with self.device:
            pool = cupy.cuda.MemoryPool()
            stream = cupy.cuda.Stream(non_blocking=True)
            stream.wait_event(cupy.cuda.get_current_stream().record())
        return pool, stream

    @staticmethod
    def record(stream, fn):
        """``(graph, fn())``: one call of ``fn`` recorded on the current ``stream``."""
        stream.begin_capture()
        try:
            out = fn()
        except BaseException:
            # leave capture mode; fn's error is the one to see, not CUDA's complaint that it
            # invalidated the capture (e.g. by a host synchronization)
            with contextlib.suppress(Exception):
                stream.end_capture()
            raise
        return stream.end_capture(), out

    def replay_captured(self, fn, change_inputs):
        """``fn()`` run once, then recorded in a CUDA graph on a side stream; then
        ``change_inputs()`` and one replay: the replay's result (a probe of whether ``fn``
        records in a graph and the graph recomputes it from its inputs)."""
        pool, stream = self.side_stream()
        with self.device, stream:
            fn()
            with self.xp.cuda.using_allocator(pool.malloc):
                graph, out = self.record(stream, fn)
            change_inputs()
            graph.launch(stream)
            result = out.copy()  # outside the graph's pool
            stream.synchronize()
        return result


class CupyBackend(Backend):
    """CuPy arrays on one GPU; the kernel entry points dispatch between three paths."""

    name = "cupy"
    device_type = "cuda"
    runtime_class = CupyRuntime
    fused_paths: tuple[str, ...] = ("numba", "cupy")  # paths besides "unfused" it can run
    checks_index_bounds = False  # CuPy wraps out-of-range integer-array indices

    def __init__(self, device) -> None:
        super().__init__(device)
        self.runtime = self.runtime_class(device.index or 0)
        self.xp = self.runtime.xp
        self.array_type = self.runtime.array_type
        self.kernel_calls: collections.Counter = collections.Counter()
        self._numba_streams: dict[int, object] = {}
        self._graph_cublas: bool | None = None  # None until prepare_capture has probed
        self.eager_gemm = os.environ.get("TENSORCORE_EAGER_GEMM", "cupy")
        if self.eager_gemm not in ("cupy", "cublas"):
            raise ValueError(f"TENSORCORE_EAGER_GEMM={self.eager_gemm!r}: expected cupy or "
                             f"cublas")
        # the cupy path's forward of a float32 ReLU / no-activation layer in ONE cuBLASLt call
        # (kernels.blas.cublaslt): in CUDA graphs by default (the large MLP step 1.3 % faster
        # on an H200, the small 3 %), eagerly too with TENSORCORE_CUBLASLT=1 (eagerly it did
        # not beat CuPy's @ + the epilogue kernel), never with 0
        lt = os.environ.get("TENSORCORE_CUBLASLT", "graph")
        if lt not in ("0", "1", "graph"):
            raise ValueError(f"TENSORCORE_CUBLASLT={lt!r}: expected 0, 1 or graph")
        self.cublaslt = lt == "1"
        self.cublaslt_in_graphs = lt != "0"
        self._cublaslt_ok: bool | None = None  # None until checked
        # the numba path's layer backward in ONE launch up to this much work (M * N * K);
        # above it, the act backward kernel and two cuBLAS GEMMs
        self.one_launch_backward_max = ONE_LAUNCH_BACKWARD_MAX

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

    def capturing(self) -> bool:
        return self.runtime.capturing()

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
                return getattr(self, f"_matmul_{gemm}")(a, b)
        if self.allows_tf32() and a.ndim == b.ndim == 2 and a.dtype == b.dtype == np.float32:
            with self.runtime.device:
                return self.runtime.tf32_matmul(a, b)
        return a @ b

    def allows_tf32(self) -> bool:
        """Whether float32 GEMMs may use TF32 now: ``tc.set_float32_matmul_precision`` below
        ``"highest"`` and a GPU that has it."""
        return matmul_precision.tf32_allowed() and self.runtime.has_tf32

    def graph_gemm(self) -> str | None:
        """The GEMM a CUDA graph records: ``"cublas"`` once ``prepare_capture`` has seen it
        work here (unless ``TENSORCORE_GRAPH_GEMM=numba``), else ``"numba"`` where that path
        runs, else ``None`` (CuPy's ``@``)."""
        if self._graph_cublas and os.environ.get("TENSORCORE_GRAPH_GEMM") != "numba":
            return "cublas"
        return "numba" if "numba" in self.fused_paths else None

    def prepare_capture(self) -> None:
        """Before a graph records (``tc.cuda.graphs.capture`` calls this): find out once
        whether a cuBLAS GEMM of our own handle records and replays correctly here, by
        capturing a small one; where not, warn once and keep the Numba GEMM.
        ``TENSORCORE_GRAPH_GEMM`` = ``auto`` (that), ``cublas`` (raise where it fails) or
        ``numba`` (no probe, the Numba GEMM)."""
        choice = os.environ.get("TENSORCORE_GRAPH_GEMM", "auto")
        if choice not in ("auto", "cublas", "numba"):
            raise ValueError(f"TENSORCORE_GRAPH_GEMM={choice!r}: expected auto, cublas or numba")
        if choice != "numba" and self._graph_cublas is None:
            self._graph_cublas = _graph_cublas_works(self)
        if self._graph_cublaslt() and self._graph_cublas and "cupy" in self.fused_paths:
            # the cupy path's cuBLASLt forward: its check reads back, never while recording
            with self.runtime.device:
                self._cublaslt_works()
        if "numba" in self.fused_paths and (self.graph_gemm() == "numba"
                                            or kernel_paths.get_kernels() == "numba"):
            _numba_ready(self)  # the probe synchronizes: never inside the recording
        if choice == "cublas" and not self._graph_cublas:
            raise RuntimeError("TENSORCORE_GRAPH_GEMM=cublas, but cuBLAS GEMMs cannot be "
                               "recorded in a CUDA graph here (see the warning above)")

    def _matmul_cublas(self, a, b):
        xp = self.xp
        (m, k), n = a.shape, b.shape[1]
        if 0 in (m, n, k):
            return xp.zeros((m, n), dtype=a.dtype)
        a = a if cublas.readable(a) else xp.ascontiguousarray(a)
        b = b if cublas.readable(b) else xp.ascontiguousarray(b)
        out = xp.empty((m, n), dtype=a.dtype)
        self.runtime.cublas().matmul(a, b, out, self.runtime.pointer, self.runtime.stream_ptr(),
                                     tf32=self.allows_tf32())  # float32 only, by Cublas
        return out

    def _matmul_numba(self, a, b):
        xp = self.xp
        out = xp.empty((a.shape[0], b.shape[1]), dtype=a.dtype)
        self._numba().linear_act_forward(xp.ascontiguousarray(a), xp.ascontiguousarray(b.T),
                                         None, None, out, stream=self._numba_stream())
        return out

    # -- scatter and the SGD update ------------------------------------------------------------
    def index_add(self, target, index, values) -> None:
        self.runtime.scatter_add(target, index, values)

    def axpy_(self, x, alpha, y) -> None:
        if "cupy" in self.fused_paths and one_pass_update_fits(self.xp, x, y):
            with self.runtime.device:
                cupy_fused.axpy_(x, alpha, y)
            return
        super().axpy_(x, alpha, y)

    # -- kernel paths --------------------------------------------------------------------------
    def kernel_path(self, op: str, work: int, dtype) -> str:
        """The path ``op`` takes for this much work (see ``kernel_paths``); ``unfused``
        where no fused kernel serves the dtype or this backend cannot run the path."""
        path = kernel_paths.resolve(op, work)
        if path == "unfused" or np.dtype(dtype) not in _FUSED_DTYPES:
            return "unfused"
        if op == "linear_act" and self.capturing():
            if self.graph_gemm() != "cublas":
                path = "numba" if path == "cupy" else path  # the one-launch layer, rather
                # than cupy's epilogue after our Numba GEMM
            elif path == "numba" and kernel_paths.get_kernels() == "auto":
                path = "cupy"  # no launch costs in a graph: cuBLAS won at every size
        if path not in self.fused_paths:
            return "unfused"
        if path == "numba" and kernel_paths.get_kernels() == "auto" and not _numba_ready(self):
            return "cupy" if "cupy" in self.fused_paths else "unfused"
        return path

    def _dispatch(self, entry: str, op: str, work: int, dtype, *args):
        """Run ``self._{entry}_{path}(*args)`` on this GPU for the path ``op`` takes."""
        return self._run(entry, self.kernel_path(op, work, dtype), *args)

    def _run(self, entry: str, path: str, *args):
        self.kernel_calls[entry, path] += 1
        with self.runtime.device:
            return getattr(self, f"_{entry}_{path}")(*args)

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
            return cupy_fused.bias_act_forward(z, _contiguous(self.xp, b), activation)

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

    # "unfused": the contract's reference code
    def _linear_act_unfused(self, x, w, b, activation):
        return Backend.bias_act(self, self.matmul(x, w.T), b, activation)

    def _act_backward_unfused(self, grad_out, out, pre, activation, need_bias_grad):
        return Backend.act_backward(self, grad_out, out, pre, activation, need_bias_grad)

    def _softmax_ce_unfused(self, z, target):
        if not self.capturing():  # softmax_cross_entropy checked the targets' range
            return softmax_ce_reference(self.xp, z, target)
        return softmax_ce_unchecked(self.xp, z, target)  # unchecked while capturing a graph

    def _softmax_ce_backward_unfused(self, probs, target, scale):
        if self.capturing():  # never index outside the row (the loss is NaN already)
            target = target * _valid_targets(target, probs.shape[1])
        return Backend.softmax_cross_entropy_backward(self, probs, target, scale)

    # "cupy": cuBLAS + one CuPy kernel (or one cuBLASLt call, where switched on and it fits)
    def _linear_act_cupy(self, x, w, b, activation):
        if self._cublaslt_takes(x, w, activation):
            return self._linear_cublaslt(x, w, b, activation == "relu"), None
        return cupy_fused.bias_act_forward(self.matmul(x, w.T), _contiguous(self.xp, b),
                                                  activation)

    def _cublaslt_takes(self, x, w, activation) -> bool:
        """Whether one cuBLASLt call runs this layer's forward: float32, ReLU or none, no
        dimension of 1 (cuBLASLt's heuristic refuses those; PyTorch keeps them off it too),
        and switched on where it runs now: eagerly (checked on first use) or in a graph
        (checked by prepare_capture, never while recording). Cheap tests first."""
        if not ((self.cublaslt or self.cublaslt_in_graphs) and activation in (None, "relu")
                and x.dtype == np.float32 and w.dtype == np.float32
                and min(*x.shape, w.shape[0]) > 1):
            return False
        if self.capturing():
            return bool(self._cublaslt_ok)
        return self.cublaslt and self._cublaslt_works()

    def _graph_cublaslt(self) -> bool:
        """Whether a CUDA graph records the cuBLASLt forward (checked in prepare_capture)."""
        return self.cublaslt or self.cublaslt_in_graphs

    def _linear_cublaslt(self, x, w, b, relu: bool):
        xp = self.xp
        x = x if cublas.readable(x) else xp.ascontiguousarray(x)
        w, b = xp.ascontiguousarray(w), _contiguous(xp, b)
        out = xp.empty((x.shape[0], w.shape[0]), dtype=x.dtype)
        stream = self.runtime.stream_ptr()
        self.runtime.cublaslt().linear(x, w, b, relu, out, self.runtime.pointer, stream,
                                       self.runtime.cublas().workspace(stream),
                                       self.allows_tf32())
        self.kernel_calls["linear_act", "cublaslt"] += 1
        return out

    def _cublaslt_works(self) -> bool:
        """Whether one cuBLASLt call computes a small ReLU layer right here (checked once;
        where not, a warning, and the CuPy epilogue kernel from then on)."""
        if self._cublaslt_ok is None:
            self._cublaslt_ok = False  # while checking
            x = np.arange(12, dtype=np.float32).reshape(3, 4) / 5 - 1
            w = np.arange(20, dtype=np.float32).reshape(5, 4) / 7 - 1
            b = np.linspace(-1, 1, 5, dtype=np.float32)
            self._cublaslt_ok = _computes(
                lambda: self.to_numpy(self._linear_cublaslt(*map(self.asarray, (x, w, b)),
                                                            True)),
                np.maximum(x @ w.T + b, 0), "the cuBLASLt call",
                "the cuBLASLt layer forward does not work here", "the cupy path keeps its "
                "epilogue kernel")
        return self._cublaslt_ok

    def _act_backward_cupy(self, grad_out, out, pre, activation, need_bias_grad):
        xp = self.xp
        return cupy_fused.act_backward(
            xp.ascontiguousarray(grad_out), xp.ascontiguousarray(out),
            _contiguous(xp, pre), activation, need_bias_grad)

    def _softmax_ce_cupy(self, z, target):
        return cupy_fused.softmax_ce_forward(self.xp.ascontiguousarray(z), target)

    def _softmax_ce_backward_cupy(self, probs, target, scale):
        return cupy_fused.softmax_ce_backward(
            self.xp.ascontiguousarray(probs), target, scale)

    # "numba": the single-launch Numba-CUDA kernels, on CuPy's current stream
    def _linear_act_numba(self, x, w, b, activation):
        xp = self.xp
        x, w, b = xp.ascontiguousarray(x), xp.ascontiguousarray(w), _contiguous(xp, b)
        out = xp.empty((x.shape[0], w.shape[0]), dtype=x.dtype)
        pre = xp.empty_like(out) if activation == "gelu" else None
        self._numba().linear_act_forward(x, w, b, activation, out, pre=pre,
                                         stream=self._numba_stream())
        return out, pre

    def _act_backward_numba(self, grad_out, out, pre, activation, need_bias_grad):
        xp = self.xp
        grad_out, out = xp.ascontiguousarray(grad_out), xp.ascontiguousarray(out)
        grad_z = xp.empty_like(grad_out)
        grad_b = xp.empty(grad_out.shape[1], dtype=grad_out.dtype) if need_bias_grad else None
        self._numba().act_backward(grad_out, out, _contiguous(xp, pre), activation, grad_z,
                                   grad_b, stream=self._numba_stream())
        return grad_z, grad_b

    def _linear_backward_numba(self, grad_out, out, pre, x, w, activation, needs):
        xp = self.xp
        grad_out, x, w = (xp.ascontiguousarray(a) for a in (grad_out, x, w))
        (m, n), k = grad_out.shape, x.shape[1]
        grads = [xp.empty(shape, dtype=grad_out.dtype) if need else None
                 for need, shape in zip(needs, ((m, k), (n, k), (n,)))]
        self._numba().linear_backward(grad_out, _contiguous(xp, out), _contiguous(xp, pre), x,
                                      w, activation, *grads, stream=self._numba_stream())
        return tuple(grads)

    def _softmax_ce_numba(self, z, target):
        xp = self.xp
        z = xp.ascontiguousarray(z)
        losses = xp.empty(z.shape[0], dtype=z.dtype)
        probs = xp.empty_like(z)
        self._numba().softmax_ce_forward(z, xp.ascontiguousarray(target), losses, probs,
                                         stream=self._numba_stream())
        return losses, probs

    def _softmax_ce_backward_numba(self, probs, target, scale):
        xp = self.xp
        probs = xp.ascontiguousarray(probs)
        s = xp.asarray(scale, dtype=probs.dtype).reshape(-1)  # 1 or N values, on the device
        grad = xp.empty_like(probs)
        self._numba().softmax_ce_backward(probs, xp.ascontiguousarray(target), s, grad,
                                          stream=self._numba_stream())
        return grad

    def _numba(self):
        """``tensorcore.kernels.numba_cuda.fused``, after the once-per-process probe of
        ``_numba_ready`` (which turns fast launches off where they fail); not probed while
        a graph is recorded or warmed up for (``prepare_capture`` probes before that)."""
        if "ready" not in _numba_state and not self.capturing():
            _numba_ready(self)
        return _numba_kernels()

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


def _graph_cublas_works(backend: CupyBackend) -> bool:
    """Whether ``backend``'s own cuBLAS handle records a GEMM in a CUDA graph, and a replay
    computes it from the inputs as they are then (a transposed weight, as the layers pass
    it); warns where not."""
    a = np.arange(15, dtype=np.float32).reshape(3, 5) / 7
    w = np.arange(20, dtype=np.float32).reshape(4, 5) / 3 - 2

    def replay():
        a_dev, w_dev, a_later = backend.asarray(a.copy()), backend.asarray(w), \
            backend.asarray(1 - a)

        def change_inputs():
            a_dev[...] = a_later

        return backend.to_numpy(backend.runtime.replay_captured(
            lambda: backend._matmul_cublas(a_dev, w_dev.T), change_inputs))

    return _computes(replay, (1 - a) @ w.T, "the replayed GEMM",
                     "cuBLAS GEMMs cannot be recorded in a CUDA graph here",
                     "graphs run their matrix products on the Numba GEMM")


def _expect(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """RuntimeError naming both when a check's values differ."""
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-5):
        raise RuntimeError(f"{what} computed {got.tolist()}, not {want.tolist()}")


def _computes(run, want: np.ndarray, what: str, failure: str, fallback: str) -> bool:
    """Whether ``run()`` (host values, float32 GEMMs at full precision) gives ``want``: a
    one-off check of a GPU path. Where it raises or differs, a warning says ``failure`` (why)
    and ``fallback``."""
    try:
        with matmul_precision.using("highest"):
            got = run()
        _expect(got, want, what)
    except Exception as e:  # a missing library, an error status, a refused capture, a value
        warnings.warn(f"{failure} ({type(e).__name__}: {e}); {fallback}", RuntimeWarning,
                      stacklevel=4)
        return False
    return True


def _valid_targets(target, n_classes: int):
    """Where the class indices lie in [0, C), on the device (no host read)."""
    return (target >= 0) & (target < n_classes)


def softmax_ce_unchecked(xp, z, target):
    """``softmax_ce_reference`` for targets whose range nobody checked, as the fused kernels
    compute it: a target outside [0, C) reads nothing and gives a NaN loss."""
    valid = _valid_targets(target, z.shape[1])
    losses, probs = softmax_ce_reference(xp, z, target * valid)
    return xp.where(valid, losses, z.dtype.type(np.nan)), probs


def _contiguous(xp, a):
    return None if a is None else xp.ascontiguousarray(a)


_numba_state: dict[str, object] = {}


def _numba_launch_setup() -> None:
    """Launch without Numba's per-argument stream synchronization (nor its low-occupancy
    warnings): set its configuration at run time (built-in ``numba.cuda`` and the
    ``numba-cuda`` package keep it apart)."""
    import importlib

    for name in ("numba.core.config", "numba.cuda.core.config"):
        try:
            config = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(config, "CUDA_ARRAY_INTERFACE_SYNC"):
            config.CUDA_ARRAY_INTERFACE_SYNC = False
        if hasattr(config, "CUDA_LOW_OCCUPANCY_WARNINGS"):
            config.CUDA_LOW_OCCUPANCY_WARNINGS = 0


def _numba_kernels():
    """``tensorcore.kernels.numba_cuda.fused`` ready to launch; RuntimeError naming why not."""
    if "module" not in _numba_state:
        try:
            import tensorcore.kernels.numba_cuda.fused as module

            _numba_launch_setup()
        except Exception as e:  # ImportError, or Numba's CUDA target failing to load
            _numba_state["error"] = f"{type(e).__name__}: {e}"
            _numba_state["module"] = None
        else:
            _numba_state["module"] = module
    if _numba_state["module"] is None:
        raise RuntimeError(f"the 'numba' GPU kernel path is unusable: tensorcore.kernels."
                           f"numba_cuda.fused failed to load ({_numba_state['error']}); use "
                           f"TENSORCORE_KERNELS=cupy or tc.backends.use_kernels('cupy')")
    return _numba_state["module"]


def _numba_ready(backend: CupyBackend) -> bool:
    """Whether the ``numba`` path works here, found out once per process: the kernels import,
    and a small ReLU backward with its bias gradient compiles, loads and runs on
    ``backend``'s GPU and computes the right values (a missing NVVM or PTX newer than the
    driver accepts shows here, not in the middle of a step; the check synchronizes the GPU,
    so make the first fused call outside a CUDA-graph capture). It runs through the fast
    launch (``kernels.numba_cuda.launch``) first; if that fails, fast launches are turned off with a
    warning and the probe runs again through Numba's dispatcher. When the path does not work,
    ``auto`` takes the ``cupy`` path and says so once in a warning."""
    if "ready" not in _numba_state:
        try:
            _numba_kernels()
            from tensorcore.kernels.numba_cuda import common as cuda_common

            try:
                _probe_numba_kernel(backend)
            except Exception as e:  # a wrong value, or a launch error
                if not cuda_common.FAST_LAUNCH:
                    raise
                cuda_common.FAST_LAUNCH = False
                _probe_numba_kernel(backend)  # through Numba's dispatcher; raises if broken too
                warnings.warn(f"fast launches of the Numba kernels failed here "
                              f"({type(e).__name__}: {e}); they go through Numba's dispatcher "
                              f"(100-200 us of host time each)", RuntimeWarning, stacklevel=2)
        except Exception as e:  # import, NVVM, driver or launch failure
            _numba_state["ready"] = False
            warnings.warn(f"the 'numba' GPU kernel path is unusable here ({type(e).__name__}: "
                          f"{e}); kernel path 'auto' takes the 'cupy' path instead",
                          RuntimeWarning, stacklevel=2)
        else:
            _numba_state["ready"] = True
    return bool(_numba_state["ready"])


def _probe_numba_kernel(backend: CupyBackend) -> None:
    """A ReLU backward with its bias gradient on a 3 x 4 gradient; RuntimeError naming the
    values when they are wrong."""
    g = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
    out = np.maximum(g[::-1] * 0.5, 0)
    with backend.runtime.device:
        grad_z = backend.xp.zeros(g.shape, dtype=np.float32)
        grad_b = backend.xp.zeros(4, dtype=np.float32)
        _numba_kernels().act_backward(backend.asarray(g), backend.asarray(out), None, "relu",
                                      grad_z, grad_b, stream=backend._numba_stream())
    backend.synchronize()
    want = g * (out > 0)
    _expect(backend.to_numpy(grad_z), want, "a probe kernel (the ReLU gradient)")
    _expect(backend.to_numpy(grad_b), want.sum(0), "a probe kernel (the bias gradient)")
