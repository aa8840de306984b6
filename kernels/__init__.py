"""Custom CPU (Numba) and GPU kernels; installed as ``tensorcore.kernels``."""
