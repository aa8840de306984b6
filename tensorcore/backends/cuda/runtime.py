"""The CuPy runtime of the CUDA backend: everything ``CupyBackend`` uses from CuPy, for one
GPU (the array module, the device context, host copies, scatter-add, streams, graph mode,
the cuBLAS / cuBLASLt handles and the memory they use). Swapping it for a NumPy stand-in
(``tests/standin_cuda.py``) runs the backend's own logic without a GPU."""

from __future__ import annotations

import contextlib

import numpy as np

from tensorcore.kernels.blas import cublas, cublaslt


class CupyRuntime:
    """What ``CupyBackend`` uses from CuPy, for one GPU; importing CuPy happens here."""

    def __init__(self, index: int) -> None:
        from .. import cuda_unavailable_reason

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


    def allocating_from(self, pool):
        """Context manager: CuPy allocates from ``pool`` inside (a graph's private memory)."""
        return self.xp.cuda.using_allocator(pool.malloc)

    def join_stream(self, stream) -> None:
        """The current stream waits for the work queued so far on ``stream``."""
        self.xp.cuda.get_current_stream().wait_event(stream.record())

    def replay_graph(self, graph, stream, copies) -> None:
        """One launch of ``graph`` on ``stream``, ordered after the current stream's work
        and before its later work; first, on ``stream``, ``target[...] = source`` for each
        pair of ``copies`` (new inputs into the graph's static buffers)."""
        with self.device:
            current = self.xp.cuda.get_current_stream()
            stream.wait_event(current.record())
            with stream:
                for target, source in copies:
                    target[...] = source
                graph.launch(stream)
            current.wait_event(stream.record())
