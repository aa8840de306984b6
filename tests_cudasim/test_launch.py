"""Launch geometry, lazy compilation and streams."""

from __future__ import annotations

import numpy as np
import pytest
from numba import cuda

from tensorcore.kernels import activations
from tensorcore.kernels.numba_cuda import common as cc
from tensorcore.kernels.numba_cuda.fused import kernel_specs, linear_act_forward, warmup


@pytest.mark.parametrize("rows,cols", [(1, 1), (64, 64), (65, 129), (1000, 3)])
def test_gemm_grid_covers_the_output_with_64x64_tiles(rows, cols):
    grid, block = cc.launch_config("gemm", rows, cols)
    assert block == (16, 16)
    assert grid == (-(-rows // 64), -(-cols // 64))  # rows along x: no 65535 cap


@pytest.mark.parametrize("cols,threads", [(1, 32), (33, 64), (256, 256), (5000, 256)])
def test_softmax_uses_one_block_per_row(cols, threads):
    assert cc.launch_config("softmax_ce", 7, cols) == ((7,), (threads,))


def test_backward_chunks_are_bounded(monkeypatch):
    assert cc.bwd_chunks(0) == cc.bwd_chunks(256) == 1
    assert cc.bwd_chunks(257) == 2
    assert cc.bwd_chunks(10**9) == cc.BWD_MAX_CHUNKS
    monkeypatch.setattr(cc, "BWD_ROWS_PER_CHUNK", 16)
    assert cc.launch_config("act_backward", 37, 33) == ((2, 3), (32, 8))


def test_grids_stay_within_cudas_65535_blocks_along_y():
    assert cc.launch_config("gemm", 10**7, 64)[0] == (156250, 1)
    assert cc.launch_config("strip", 10**7, 33)[0] == (2, 65535)
    with pytest.raises(ValueError, match="at most 4194240 output columns.*'cupy'"):
        cc.launch_config("gemm", 1, 65535 * 64 + 1)


def test_strip_kernel_loops_over_rows_beyond_the_grid(monkeypatch):
    from tensorcore.kernels.numba_cuda.softmax_ce import softmax_ce_backward

    monkeypatch.setattr(cc, "MAX_GRID_Y", 2)  # 2 blocks of 8 rows for 37 rows
    probs = np.random.default_rng(0).random((37, 3))
    target = np.arange(37) % 3
    grad = np.full_like(probs, np.nan)
    softmax_ce_backward(probs, target, 0.5, grad)
    np.testing.assert_allclose(grad, (probs - np.eye(3)[target]) * 0.5, rtol=1e-15)


def test_unknown_kernel_raises():
    with pytest.raises(ValueError, match="unknown kernel 'gemv'"):
        cc.launch_config("gemv", 1, 1)


def test_warmup_compiles_every_variant_once():
    specs = {(name, *key) for name, key, _, _ in kernel_specs()}
    # each of the table's activations (None, relu, gelu, sigmoid, tanh, silu, softplus...)
    # x 2 dtypes for the GEMM, the act backward and the one-launch layer backward, 2 dtypes
    # for the other three
    n = len(activations.TABLE)
    assert {None, "relu", "gelu", "sigmoid", "tanh", "silu"} <= set(activations.TABLE)
    assert len(specs) == n * 2 * 3 + 2 * 3
    assert warmup() == len(specs)
    assert specs <= set(cc._COMPILED)
    relu = activations.TABLE["relu"]
    kernel = cc.get_kernel("gemm_act", np.dtype(np.float32), relu)
    assert cc.get_kernel("gemm_act", np.dtype(np.float32), relu) is kernel  # cached


def test_runs_on_a_stream():
    out = np.empty((1, 1), np.float32)
    stream = cuda.stream()
    linear_act_forward(np.full((1, 1), 2, np.float32), np.full((1, 1), 3, np.float32),
                       np.full(1, -1, np.float32), "relu", out, stream=stream)
    stream.synchronize()
    assert out.tolist() == [[5.0]]
