"""ctypes bindings of cuBLAS (``cublas``) and cuBLASLt (``cublaslt``): GEMMs on a handle of
tensorcore's own, which a CUDA graph can record (CuPy's cuBLAS wrapper refuses calls during
capture), and cuBLASLt's fused bias / ReLU epilogues."""
