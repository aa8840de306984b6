"""Every Numba-CUDA kernel variant (one per dtype and, where the kernel applies one, per entry
of the activation table, SiLU included) compiles to PTX for the H100 (sm_90) without a GPU.

Needs NVVM (a CUDA toolkit, or the ``numba-cuda[cu13]`` wheels); skips cleanly without it.
Float32 variants must not compute in float64. Where the toolkit that provides NVVM also has
``ptxas``, the PTX is assembled too, and the
kernels must not spill registers (a spilling GEMM is a performance regression).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest


def _nvvm_or_skip():
    import numba

    if numba.config.ENABLE_CUDASIM:
        pytest.skip("the CUDA simulator is on: no compiler to test")
    from numba.cuda.cudadrv import nvvm

    try:
        nvvm.NVVM()
    except Exception as exc:  # NvvmSupportError and kin: no usable NVVM library here
        pytest.skip(f"NVVM is not available: {exc}")


def _ptxas():
    """ptxas of the toolkit whose libdevice (hence NVVM) Numba uses, or None."""
    from numba.cuda.cuda_paths import get_cuda_paths

    libdevice = get_cuda_paths()["libdevice"].info
    if not libdevice:
        return None
    ptxas = Path(libdevice).parents[2] / "bin" / "ptxas"  # <root>/nvvm/libdevice/x.bc
    return ptxas if ptxas.is_file() else None


@pytest.mark.slow
def test_every_kernel_compiles_for_sm90(tmp_path):
    _nvvm_or_skip()
    from numba import cuda

    from tensorcore.kernels.activations import names as activation_names
    from tensorcore.kernels.numba_cuda.fused import kernel_specs

    ptxas = _ptxas()
    names, assembling, activations = set(), [], set()
    for index, (name, key, python_kernel, signature) in enumerate(kernel_specs()):
        label = f"{name}{(key[0], key[1].name) if len(key) > 1 else key}"
        ptx, _ = cuda.compile_ptx(python_kernel, signature, cc=(9, 0))
        assert ".target sm_90" in ptx, label
        if key[0] == np.float32:  # no silent promotion to float64 (2x to 64x slower on GPUs)
            assert ".f64" not in ptx, f"{label} computes in float64"
        names.add(name)
        if name == "gemm_act":
            activations.add(key[1].name)
        if ptxas is not None:  # assemble in the background while the next one compiles
            source = tmp_path / f"kernel{index}.ptx"
            source.write_text(ptx)
            command = [str(ptxas), "-arch=sm_90", "-v", str(source), "-o", f"{source}.cubin"]
            assembling.append((label, subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
    assert names == {"gemm_act", "linear_backward", "act_backward", "column_sum",
                     "softmax_ce_forward", "softmax_ce_backward"}
    assert activations == set(activation_names()) and "silu" in activations
    for label, proc in assembling:
        _, report = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"ptxas rejected {label}:\n{report}"
        assert "0 bytes spill stores" in report, f"{label} spills registers:\n{report}"
