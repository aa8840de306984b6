"""GPU kernels written in Python and compiled by Numba-CUDA: the single-launch
linear + activation layer, its backward, the activation backward, softmax cross-entropy
(``fused`` is the entry point), their launch configuration (``common``) and the
hand-packed driver launches (``launch``). Used by the CuPy backend's ``numba`` kernel path."""
