#!/usr/bin/env bash
# One session on a lent GPU machine, in one command: the environment, the GPU test suite and
# the GPU report (benchmarks/gpu_report.py: path agreement and timings), each capped in time
# so that one hang cannot eat the session; everything is written under $OUT. At most 580 s
# (probes 40 s, tests 240 s + 10 s to stop, report 270 s): give the device call a timeout of
# about 590 s.
#
#   OUT=gpu-out bash benchmarks/run_on_gpu.sh      # REPORT_S, TESTS_S, WORKERS adjust it
#   REPORT_ARGS="--sections mlp" OUT=gpu-out bash benchmarks/run_on_gpu.sh   # part of the report
#
# It installs nothing: the machine's Python must already have CuPy, numba-cuda, pytest and
# pytest-xdist; tensorcore runs from this checkout (kernels/ is linked in as tensorcore.kernels,
# as pyproject's package-dir installs it).
set -u
OUT=${OUT:-gpu-out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0 PYTHONPATH=$PWD
[ -e tensorcore/kernels ] || ln -s ../kernels tensorcore/kernels
{ date -u; nvidia-smi; $PY -m pip list 2>/dev/null \
    | grep -iE "^(cupy-cuda1[23]x|numba|numba-cuda|numpy|torch|pytest|pytest-xdist|scipy|scikit-learn) "; } > "$OUT/env.txt" 2>&1
$PY -c "import tensorcore as tc, tensorcore.kernels; print('cuda usable:', tc.cuda.is_available(),
    tc.backends.cuda_unavailable_reason())" 2>&1 | tee -a "$OUT/env.txt"

# the probes of the paths not yet seen on a GPU: fast Numba launches, cuBLAS in a graph,
# the cuBLASLt layer forward
timeout 40 $PY - <<'PROBES' 2>&1 | tee -a "$OUT/env.txt"
import warnings
from tensorcore.backends import get_backend
from tensorcore.backends.cuda import probes
from tensorcore.kernels.numba_cuda import common as cuda_common
be = get_backend("cuda")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print("numba path ready:", probes.numba_ready(be), "| fast launches:",
          cuda_common.FAST_LAUNCH)
    be.prepare_capture()
    print("graph GEMM:", be.graph_gemm())
    with be.runtime.device:
        print("cuBLASLt layer forward works:", be._cublaslt_works())
for w in caught:
    print("warning:", w.message)
PROBES
# whether nvmath-python's cuBLAS binding records into a CUDA graph (docs/backends.md); it says
# "skipped" where nvmath is not importable (NVMATH_PATH: a `pip install --target` folder)
PYTHONPATH=$PWD${NVMATH_PATH:+:$NVMATH_PATH} timeout 60 $PY benchmarks/nvmath_graph_check.py \
    2>&1 | tee -a "$OUT/env.txt"

# the tests first; SIGINT at the cap, so that pytest still prints the names of its failures.
# Not the CUDA simulator's suite: it runs the kernels on the CPU (CI's job), single-threaded
# for about 80 s, which would hold one worker past the others. Work stealing: an idle worker
# takes tests queued on a busy one (NVVM compiles and graph captures are slow ones).
# -v names each result as it comes, so a cut run still says what failed; a test stuck past
# 90 s fails on its own (pytest-timeout, where installed) instead of holding its worker.
$PY -c "import pytest_timeout" 2>/dev/null && PER_TEST="--timeout=90" || PER_TEST=""
timeout -s INT -k 10 "${TESTS_S:-240}" $PY -m pytest -v -rfE --durations=15 -p no:cacheprovider \
    $PER_TEST -n "${WORKERS:-16}" --dist worksteal -k "(cuda or gpu) and not simulator" tests \
    > "$OUT/tests.txt" 2>&1
echo "pytest exit status: $?" | tee -a "$OUT/tests.txt"

# the times also as JSON and PNG charts (benchmarks/charts.py), written when the report ends; a
# report cut by its cap leaves gpu.md only, whose tables charts.py reads too
timeout "${REPORT_S:-270}" $PY benchmarks/gpu_report.py --tests none ${REPORT_ARGS:-} \
    --json "$OUT/gpu.json" --png "$OUT/charts" > "$OUT/gpu.md" 2> "$OUT/report-stderr.txt"
echo "gpu_report exit status: $?" | tee -a "$OUT/gpu.md"

grep -E "(^(FAILED|ERROR)| (FAILED|ERROR) tests/)" "$OUT/tests.txt" | head -40
tail -3 "$OUT/tests.txt"
cat "$OUT/gpu.md"
