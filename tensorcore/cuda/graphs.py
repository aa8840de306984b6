"""CUDA graphs: capture a fixed-shape step once, replay it with one launch per step.

A training step of small layers spends most of its time in the host cost of launching
its kernels; a captured graph replays all of them with one launch::

    graph = tc.cuda.graphs.capture(step, x_batch, y_batch)   # runs step, then records it
    for x, y in batches:
        loss = graph.replay(x, y)                             # copies x, y in; one launch

Rules (as for ``torch.cuda.CUDAGraph``):

* **static shapes**: ``replay`` takes tensors of the captured shapes, dtypes and device;
  anything else raises (capture another graph for another shape);
* **static buffers**: ``capture`` copies the example inputs into buffers of its own, the
  step is recorded reading those buffers, and ``replay`` copies new inputs into them; the
  outputs are the same tensors after every replay, overwritten in place (clone what you
  keep);
* **no host synchronization inside the step**: no ``.item()``, ``.tolist()``, printing,
  ``.cpu()`` or checks that read device values on the host; CUDA refuses them while
  capturing. tensorcore's own checks know: in graph mode (the warm-up and the capture)
  ``F.cross_entropy`` skips its host check of the class targets' range, and a target
  outside [0, C) gives a NaN loss instead of an IndexError;
* **graph mode runs 2-D matrix products on a GEMM a graph can record**: CuPy refuses to
  record its cuBLAS calls, so ``@``, ``linear`` and the layers' backward call cuBLAS through
  a handle of tensorcore's own, with a workspace per stream. ``capture`` first checks once
  per GPU that such a GEMM records and replays correctly; where it does not (or with
  ``TENSORCORE_GRAPH_GEMM=numba``) they take the Numba GEMM instead (the ``numba`` kernel
  path). The warm-up runs take the same paths, so kernels compile and workspaces exist
  before recording;
* **warm-up runs for real**: ``capture`` runs the step ``warmup`` times before recording
  (compiling kernels, creating cuBLAS workspaces) and once while recording; parameters
  updated by the step are updated those times too;
* tensors the step creates live in a private memory pool kept alive by the graph; Python
  control flow is frozen at capture: the branch taken then is the one replayed;
* Python scalars in arithmetic (``0.01 * w.grad``) reach CuPy's kernels as arguments, with
  no copy; ``maximum``/``minimum`` with a Python number make it a 0-d device array by a small
  host-to-device copy, which CuPy may refuse to capture (not yet checked on a GPU: the
  fused paths apply activations inside their kernels, so the steps measured so far had none).

Capture runs on a side stream ordered after the current one; each replay waits for the
current stream and makes it wait for the replay, so results are used as ordinary tensors.

>>> import tensorcore as tc
>>> callable(tc.cuda.graphs.capture)
True
"""

from __future__ import annotations

from ..backends import cuda_unavailable_reason, get_backend
from ..tensor import Tensor


def check_static_inputs(static: list[Tensor], inputs: tuple) -> None:
    """``inputs`` must match the captured ones in number, type, shape, dtype and device."""
    if len(inputs) != len(static):
        raise TypeError(f"replay() takes the {len(static)} input(s) given to capture(), "
                        f"got {len(inputs)}")
    for i, (s, t) in enumerate(zip(static, inputs)):
        if not isinstance(t, Tensor):
            raise TypeError(f"replay(): input {i} must be a Tensor, not {type(t).__name__}")
        if t.shape != s.shape or t.dtype != s.dtype or t.device != s.device:
            raise ValueError(f"replay(): input {i} has shape {tuple(t.shape)}, dtype {t.dtype} "
                             f"on {t.device}; the graph was captured with shape "
                             f"{tuple(s.shape)}, dtype {s.dtype} on {s.device} (graphs need "
                             f"static shapes: capture another one)")


class CUDAGraph:
    """A captured step; ``replay(*inputs)`` runs it again and returns its outputs."""

    def __init__(self, graph, stream, pool, static_inputs: list[Tensor], outputs,
                 backend) -> None:
        self._graph = graph
        self._stream = stream
        self._backend = backend  # of the GPU it was recorded on: it launches each replay
        self._pool = pool  # the memory the recorded kernels read and write: keep it alive
        self.static_inputs = static_inputs
        self.outputs = outputs

    def replay(self, *inputs):
        """Copy ``inputs`` into the static buffers (if given), launch the graph, and return
        the step's outputs (the same tensors every time)."""
        if inputs:
            check_static_inputs(self.static_inputs, inputs)
        self._backend.replay_graph(self._graph, self._stream,
                                   [(s._data, t._data) for s, t in zip(self.static_inputs,
                                                                       inputs)])
        return self.outputs


def capture(step, *example_inputs: Tensor, warmup: int = 2) -> CUDAGraph:
    """Run ``step(*static_inputs)`` ``warmup`` times, then record one call as a CUDA graph.

    ``example_inputs`` are CUDA tensors; the graph keeps copies of them (``static_inputs``)
    that ``replay`` fills. See the module docstring for the rules.
    """
    reason = cuda_unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"CUDA graphs need a GPU: {reason}")
    for i, t in enumerate(example_inputs):
        if not isinstance(t, Tensor) or not t.is_cuda:
            raise TypeError(f"capture(): input {i} must be a CUDA Tensor, got "
                            f"{t.device if isinstance(t, Tensor) else type(t).__name__}")
    static = [t.detach().clone().requires_grad_(t.requires_grad) for t in example_inputs]
    backend = get_backend(example_inputs[0].device if example_inputs else "cuda")
    # the capture protocol of the backend contract (tensorcore.backends.contract.Backend)
    backend.prepare_capture()  # which GEMM the graph records (a probe, once per GPU)
    pool, stream = backend.side_stream()  # on the inputs' GPU, after their copies
    with backend.graph_mode():  # on that GPU; warm-up takes the paths the capture will
        with backend.allocating_from(pool), stream:
            for _ in range(warmup):
                step(*static)
            stream.synchronize()
            graph, outputs = backend.record(stream, lambda: step(*static))
        backend.join_stream(stream)  # the current stream's later work waits for the capture
    return CUDAGraph(graph, stream, pool, static, outputs, backend)
