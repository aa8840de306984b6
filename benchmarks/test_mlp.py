"""One MLP training step: float32, ReLU hidden layers, softmax cross-entropy on int64 labels,
plain SGD (lr 0.01), at three sizes:

* tiny:  batch 32,   64 -> 64 -> ReLU -> 10
* small: batch 128,  784 -> 512 -> ReLU -> 256 -> ReLU -> 10
* large: batch 1024, 784 -> 2048 -> ReLU -> 2048 -> ReLU -> 10

for tensorcore on each CPU backend (numba, numpy), the hand-written NumPy step (forward,
manual backward, SGD: the floor), and PyTorch eager on the CPU when it can be imported;
``-compiled``: the tensorcore step under ``tc.compile``; ``-ops``: the step written op by op
as course notebooks write it (``h @ W + b``, ``.relu()``, ``log_softmax``, ``[idx, y]``,
``.mean()``, ``p -= lr * p.grad`` under no_grad), in tensorcore and PyTorch.
All start from the same weights and batch (``workloads.mlp_init``). Each step is warmed up
(Numba compiles lazily; a compiled step traces) before timing. Compare within a group;
``benchmarks/report.py`` prints the ratios to the floor from one process.
"""

from __future__ import annotations

import pytest
import workloads as W

SIZES = list(W.MLP_SIZES)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("impl", W.MLP_IMPLS)
def test_mlp_step(benchmark, impl, size, request):
    if impl.startswith("torch"):
        request.getfixturevalue("torch_or_skip")
    step, _ = W.make_mlp_step(impl, size)
    W.warm_up(step)  # Numba compiles on first use, BLAS allocates buffers, tc.compile traces
    batch, dims = W.MLP_SIZES[size]
    benchmark.group = f"mlp step: {size} (batch {batch}, {'-'.join(map(str, dims))})"
    benchmark.extra_info.update(impl=impl, size=size, batch=batch, dims=list(dims), lr=W.LR)
    benchmark(step)


@pytest.mark.parametrize("size", SIZES)
def test_mlp_implementations_agree(size):
    """Not a benchmark (skipped under --benchmark-only): every implementation's weights after
    three steps match the NumPy floor's, so the benchmarks time the same work."""
    W.check_mlp_agreement(size)
