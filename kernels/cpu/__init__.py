"""CPU kernels compiled by Numba (``@njit``): the fused bias + activation epilogue and its
backward (``fused``), softmax cross-entropy (``softmax_ce``), the one-pass update (``update``).
Used by ``tensorcore.backends.numba_backend``."""
