"""Custom CPU and GPU kernels, installed as ``tensorcore.kernels``; one folder per technology:

* ``cpu/``: Numba ``@njit`` kernels for the ``numba`` CPU backend;
* ``numba_cuda/``: Numba-CUDA kernels for the CuPy backend's ``numba`` path;
* ``cupy/``: CUDA C kernels compiled by CuPy, for its ``cupy`` path;
* ``blas/``: ctypes bindings of cuBLAS and cuBLASLt.
"""
