"""The CuPy backend for ``cuda`` / ``cuda:N``: CuPy arrays, cuBLAS GEMMs and fused kernels.

Registered as ``"cupy"`` for the ``cuda`` device type. Its parts:

* ``runtime``: ``CupyRuntime``, everything the backend uses from CuPy (the array module,
  the device context, host copies, scatter-add, streams, graph mode, the cuBLAS /
  cuBLASLt handles), so the backend's own logic also runs on a "CuPy-on-NumPy" stand-in in
  the tests (``tests/standin_cuda.py``);
* ``backend``: ``CupyBackend``, the array and op methods, and the capture protocol of the
  contract that ``tensorcore.cuda.graphs`` uses;
* ``paths``: the kernel-path policy (``kernel_path``) and ``KERNEL_TABLE``, the one table
  from ``(entry, path)`` to the function that runs it;
* ``cublaslt_forward``: the cupy path's layer forward in one cuBLASLt call;
* ``settings``: the environment switches (``TENSORCORE_EAGER_GEMM``,
  ``TENSORCORE_CUBLASLT``, ``TENSORCORE_GRAPH_GEMM``);
* ``probes``: the one-off checks that a GPU path works here.

The fused entry points (``linear_act``, ``act_backward``, the softmax cross-entropy) run on
one of three kernel paths chosen by ``tensorcore.backends.kernel_paths`` (``auto``,
``numba``, ``cupy``, ``unfused``; ``TENSORCORE_KERNELS`` or ``tc.backends.use_kernels``):
``numba`` launches the single-launch Numba-CUDA kernels of
``tensorcore.kernels.numba_cuda.fused`` on CuPy's current stream, ``cupy`` runs cuBLAS plus
one CuPy epilogue kernel (``tensorcore.kernels.cupy.fused``), ``unfused`` the contract's
reference ``xp`` code. ``kernel_calls`` counts ``(op, path)`` pairs, so tests and benchmarks
see which path ran. Before the first Numba launch, a small ReLU backward is compiled, run
and compared; if Numba's CUDA toolchain does not work here, ``auto`` warns once and takes
``cupy`` instead.

Random numbers come from the host NumPy generator and are copied to the device, so a seed
gives the same values on the CPU and on the GPU (a copy per draw: draw big batches, not
many small ones, in a hot loop).

Ops run on CuPy's current device; the backend's own methods (transfers, kernels) enter the
tensor's device, so with several GPUs select one with ``tc.cuda.set_device(i)`` for work on
``cuda:i``.

>>> from tensorcore.backends.cuda import CupyBackend
>>> CupyBackend.name, CupyBackend.device_type
('cupy', 'cuda')
"""

from .backend import CupyBackend
from .runtime import CupyRuntime

__all__ = ["CupyBackend", "CupyRuntime"]
