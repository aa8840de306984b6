"""The differential test against PyTorch: generated calls run in tensorcore and in PyTorch
(CPU) must both raise, or both succeed with equal shape, dtype, values and gradients.

The ops are tables of data (``tests/differential/ops_*.py``: name, tensorcore callable,
PyTorch callable, hypothesis strategy of the arguments); ``tests/differential/harness.py``
runs a call on both sides and lists the differences. Each example runs on one of
tensorcore's CPU backends (numba, numpy), drawn with the example. One hypothesis test per op,
so one broken op hides no other. The only allowed exceptions are the deliberate differences of
``KNOWN_DIFFERENCES`` below, each documented in docs/differences-from-pytorch.md.

Reproducible and bounded: a fixed number of examples per op (``weight`` times
TENSORCORE_DIFF_EXAMPLES, default below), derandomized (the same examples on every run), no
example database, no deadline. Environment:

* ``TENSORCORE_DIFF_EXAMPLES=N``: N examples per op (times its weight) instead of the default.
* ``TENSORCORE_DIFF_COLLECT=path``: findings mode; each differing example is appended to
  ``path`` as a JSON line (op, backend, differences, repro) instead of failing, so one run
  gathers every difference (``python -m differential.findings path`` from tests/ sums them up).
* ``TENSORCORE_DIFF_SHRINK=1``: let hypothesis shrink a failing example (slow; off by default,
  the report already shows the failing call as Python).
* ``TENSORCORE_DIFF_SHARD=i/n``: only every n-th op from the i-th, to spread a long findings
  run over n processes.

Without torch the module skips, except under CI (``CI=true``), where that is a failure.
Install it with ``pip install -e ".[differential]"`` (PyTorch's CPU build).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

try:
    import torch  # noqa: F401
except ImportError as e:
    if os.environ.get("CI", "").lower() == "true":
        raise ImportError("the differential suite must run in CI: install torch with "
                          "pip install -e \".[differential]\"") from e
    pytest.skip("torch is not installed (pip install -e \".[differential]\")",
                allow_module_level=True)

from differential import (
    ops_arrange,
    ops_elementwise,
    ops_index,
    ops_math,
    ops_matrix,
    ops_nn,
    ops_order,
    ops_reduce,
    ops_search,
    ops_shape,
    ops_stats,
)
from differential.harness import Arr, Case, compare, report
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tensorcore as tc

pytestmark = pytest.mark.differential

EXAMPLES = int(os.environ.get("TENSORCORE_DIFF_EXAMPLES", "100"))
COLLECT = os.environ.get("TENSORCORE_DIFF_COLLECT") or None
SHRINK = os.environ.get("TENSORCORE_DIFF_SHRINK") == "1"
BACKENDS = tuple(tc.backends.available_backends("cpu"))
OPS = (ops_elementwise.OPS + ops_reduce.OPS + ops_shape.OPS + ops_index.OPS
       + ops_matrix.OPS + ops_order.OPS + ops_arrange.OPS + ops_math.OPS + ops_nn.OPS
       + ops_search.OPS + ops_stats.OPS)
if os.environ.get("TENSORCORE_DIFF_SHARD"):  # "i/n": every n-th op from the i-th (1-based)
    _i, _n = (int(v) for v in os.environ["TENSORCORE_DIFF_SHARD"].split("/"))
    OPS = OPS[_i - 1::_n]
DOC = Path(__file__).resolve().parents[1] / "docs" / "differences-from-pytorch.md"


# -- the known, deliberate differences ----------------------------------------------------

def _all(diffs: list, *starts: str) -> bool:
    """Every difference is one of the expected kinds (so that any other bug in the same call
    still shows)."""
    return all(d.startswith(starts) for d in diffs)


def _negative_step(op: str, case: Case, diffs: list) -> bool:
    """An index holding a slice with a negative step: PyTorch raises a ValueError, tensorcore
    goes on (and may raise another error the index holds, such as an index out of range)."""
    def steps(i):
        if isinstance(i, slice):
            yield i.step
        elif isinstance(i, (tuple, list)):
            for v in i:
                yield from steps(v)
    return op.startswith("x[") and any(s is not None and s < 0 for s in steps(case.args[1])) \
        and all(d.startswith("call:") and "step must be greater than zero" in d for d in diffs)


def _pointwise_loss_shapes(op: str, case: Case, diffs: list) -> bool:
    """A pointwise loss whose input and target shapes differ (PyTorch warns and broadcasts,
    or raises a RuntimeError; tensorcore raises a ValueError)."""
    return op == "F.mse_loss" and case.args[0].value.shape != case.args[1].value.shape \
        and _all(diffs, "call: only tensorcore raises (ValueError",
                 "call: error class: tensorcore ValueError")


def _small_int_dtypes(op: str, case: Case, diffs: list) -> bool:
    """tensor() of a NumPy array of a dtype tensorcore does not have (uint8, int8, int16)."""
    data = case.args[0] if case.args else None
    return op == "tensor" and isinstance(data, np.ndarray) and \
        data.dtype.name in ("uint8", "int8", "int16") and _all(diffs, "result: dtype:")


def _class_target_of_one_for_a_vector(op: str, case: Case, diffs: list) -> bool:
    """nll_loss / cross_entropy of a (C,) input with a (1,) target: PyTorch's forward takes
    it and its backward raises a size mismatch; tensorcore's backward gives the gradient."""
    x, t = (case.args + (None, None))[:2]
    return op in ("F.cross_entropy", "F.nll_loss") and isinstance(x, Arr) and \
        x.value.ndim == 1 and isinstance(t, Arr) and t.value.shape == (1,) and \
        _all(diffs, "backward: only torch raises (RuntimeError")


def _copy_from_a_number(op: str, case: Case, diffs: list) -> bool:
    """An in-place program calling ``copy_`` with a Python number (tensorcore: TypeError;
    PyTorch 2.13 writes a value that is not the number)."""
    return op == "in-place program" and _all(
        diffs, "call: only tensorcore raises (TypeError: copy_(): argument 'src' must be Tensor",
        "call: error class: tensorcore TypeError: copy_(): argument 'src' must be Tensor")


def _entries(index):
    return index if isinstance(index, tuple) else (index,)


def _index_past_a_second_ellipsis(op: str, case: Case, diffs: list) -> bool:
    """An index with two ``...`` and more entries after them: PyTorch reads past its sizes
    there (results vary), tensorcore raises IndexError."""
    index = case.args[1] if op.startswith("x[") and len(case.args) > 1 else None
    return index is not None and sum(e is Ellipsis for e in _entries(index)) >= 2 and _all(
        diffs, "call: only tensorcore raises (IndexError",
        "call: error class: tensorcore IndexError")


def _integer_tensor_never_requires_grad(op: str, case: Case, diffs: list) -> bool:
    """``z[index] = v`` into an integer or bool ``z`` with a 0-d ``v`` that requires grad:
    PyTorch (through fill_) marks ``z`` as requiring grad, tensorcore never does."""
    target = case.args[0] if op.endswith("= v") and case.args else None
    return isinstance(target, Arr) and target.value.dtype.kind in "biu" and _all(
        diffs, "result: requires_grad: tensorcore False, torch True")


def _dims_of(case: Case):
    dims = case.kwargs.get("dim", case.kwargs.get("axis"))
    return case.args[1] if dims is None and len(case.args) > 1 else dims


def _var_over_no_dims(op: str, case: Case, diffs: list) -> bool:
    """var / std with ``dim=()``: both reduce over every dim, but PyTorch's backward counts
    one element (its gradient is +-inf, or n times too large); tensorcore's is the
    full reduction's."""
    return op in ("x.var", "x.std") and _dims_of(case) in ((), []) and \
        _all(diffs, "grad of input")


def _gelu_of_inf(op: str, case: Case, diffs: list) -> bool:
    """gelu(+inf) in float32: PyTorch's vectorised kernel gives NaN (its strided, 0-d and
    float64 paths give inf, as tensorcore does)."""
    x = case.args[0] if case.args else None
    return op == "F.gelu" and isinstance(x, Arr) and x.value.dtype == np.float32 and \
        bool(np.isposinf(x.value).any()) and _all(diffs, "result: values differ", "grad of")


def _hard_activation_grad_at_nan(op: str, case: Case, diffs: list) -> bool:
    """The gradient of hardtanh / relu6 / hardswish at NaN: PyTorch's vectorised kernel gives
    0 (hardtanh, relu6) and NaN (hardswish), its scalar path (small tensors, the tail) the
    upstream gradient; tensorcore follows the vectorised kernel everywhere."""
    x = case.args[0] if case.args else None
    return op in ("F.hardtanh", "F.relu6", "F.hardswish") and isinstance(x, Arr) and bool(
        np.isnan(x.value).any()) and _all(diffs, "grad of input")


def _checks_without_elements(op: str, case: Case, diffs: list) -> bool:
    """A call on tensors with no elements where PyTorch skips a check (index bounds, matmul
    dtypes, expand to a negative size) or makes another one first: tensorcore raises."""
    arrays = [a.value for a in case.args if isinstance(a, Arr)]
    empty = any(v.size == 0 for v in arrays) or (
        op.startswith("x[") and len(case.args) > 1 and _empty_slice(case.args[0], case.args[1]))
    return empty and (op.startswith(("x[", "x.expand")) or op in MATMUL_OPS) and _all(
        diffs, "call: only tensorcore raises", "call: error class: tensorcore")


def _tile_backward_without_elements(op: str, case: Case, diffs: list) -> bool:
    """``tile`` of a tensor without elements by a negative count: both give the empty result,
    PyTorch's backward then fails to reshape its gradient; tensorcore's gives it."""
    reps = case.kwargs.get("dims", case.args[1:])
    reps = reps[0] if len(reps) == 1 and isinstance(reps[0], (tuple, list)) else reps
    return op in ("x.tile", "tc.tile") and case.args[0].value.size == 0 and any(
        r < 0 for r in reps) and _all(diffs, "backward: only torch raises")


def _empty_slice(x, index) -> bool:
    """Whether a slice of ``index`` selects nothing along some dimension of ``x``."""
    shape = x.value.shape if isinstance(x, Arr) else ()
    return any(isinstance(e, slice) and e.step != 0 and any(
        len(range(*e.indices(n))) == 0 for n in shape) for e in _entries(index))


def _index_with_several_errors(op: str, case: Case, diffs: list) -> bool:
    """An indexing call that both sides refuse, for different reasons: it has several errors
    (a leaf written through a view, index shapes, a zero step, a value that does not fit)
    and each side reports another one first."""
    return op.startswith("x[") and _all(diffs, "call: error class:")


def _clamp_bounds_of_other_shapes(op: str, case: Case, diffs: list) -> bool:
    """clamp with tensor bounds broadcast to a larger shape than the input's: PyTorch's
    backward fails on its own masks' shapes; tensorcore's gives the gradients."""
    return op in ("x.clamp", "tc.clamp", "x.clip") and _all(
        diffs, "backward: only torch raises (RuntimeError: output with shape")


MATMUL_OPS = ("a @ b", "tc.matmul", "tc.einsum", "tc.tensordot", "tc.inner", "x.inner",
              "tc.addmm", "x.addmm", "tc.cross", "linalg.cross", "tc.cdist")


def _matmul_overflow(op: str, case: Case, diffs: list) -> bool:
    """``@`` of values whose products overflow float32: inf or NaN depends on the order in
    which the GEMM sums inf and -inf."""
    big = any(isinstance(a, Arr) and a.value.dtype.kind == "f" and a.value.size
              and float(np.abs(np.nan_to_num(a.value)).max()) >= 1e19 for a in case.args)
    return op in MATMUL_OPS and big and _all(diffs, "result: values differ", "grad of")


def _matrix_norms_from_singular_values(op: str, case: Case, diffs: list) -> bool:
    """A matrix norm of order 2, -2 or 'nuc' (from singular values): tensorcore raises
    NotImplementedError."""
    return op in ("linalg.norm", "x.norm") and _all(
        diffs, "call: only tensorcore raises (NotImplementedError: linalg.matrix_norm")


def _norm_of_underflowing_powers(op: str, case: Case, diffs: list) -> bool:
    """A p-norm of values whose p-th powers underflow (1e-30 ** 3 in float32): the norm is 0
    and tensorcore's gradient 0 where PyTorch's is NaN."""
    tiny = any(isinstance(a, Arr) and a.value.dtype.kind == "f" and bool(
        ((np.abs(a.value) < 1e-12) & (a.value != 0)).any()) for a in case.args)
    return op in NORM_OPS and tiny and _all(diffs, "grad of input") and all(
        "torch np.float32(nan)" in d or "torch np.float64(nan)" in d for d in diffs)


NORM_OPS = ("linalg.vector_norm", "linalg.norm", "x.norm", "tc.dist")


@dataclass(frozen=True)
class KnownDifference:
    id: str
    applies: Callable  # (op name, case, differences) -> bool
    reason: str
    doc: str  # the section of docs/differences-from-pytorch.md


KNOWN_DIFFERENCES = [
    KnownDifference("negative-slice-step", _negative_step,
                    "tensorcore supports negative slice steps, with correct gradients",
                    "differences-from-pytorch.md#negative-slice-steps"),
    KnownDifference("pointwise-loss-shapes", _pointwise_loss_shapes,
                    "input and target of different shapes raise instead of broadcasting",
                    "differences-from-pytorch.md#pointwise-losses-do-not-broadcast"),
    KnownDifference("small-int-dtypes", _small_int_dtypes,
                    "tensorcore has no uint8/int8/int16: tensor() makes them int32",
                    "differences-from-pytorch.md#dtypes"),
    KnownDifference("class-target-of-one-for-a-vector", _class_target_of_one_for_a_vector,
                    "a (C,) input with a (1,) class target has a gradient",
                    "differences-from-pytorch.md#class-target-of-one"),
    KnownDifference("copy-from-a-number", _copy_from_a_number,
                    "copy_ takes a tensor; a number raises TypeError",
                    "differences-from-pytorch.md#copy-from-a-number"),
    KnownDifference("index-past-a-second-ellipsis", _index_past_a_second_ellipsis,
                    "entries after a second ... that reaches the end raise IndexError",
                    "differences-from-pytorch.md#indexing"),
    KnownDifference("integer-tensor-never-requires-grad", _integer_tensor_never_requires_grad,
                    "an integer or bool tensor written from a tensor needing grad needs none",
                    "differences-from-pytorch.md#indexing"),
    KnownDifference("index-with-several-errors", _index_with_several_errors,
                    "an index both refuse: another of its errors may be reported first",
                    "differences-from-pytorch.md#indexing"),
    KnownDifference("clamp-bounds-of-other-shapes", _clamp_bounds_of_other_shapes,
                    "clamp's gradient with bounds of a larger broadcast shape",
                    "differences-from-pytorch.md#pytorch-quirks"),
    KnownDifference("matmul-overflow", _matmul_overflow,
                    "@ (einsum, tensordot...) with overflowing products: inf or NaN by order",
                    "differences-from-pytorch.md#numerics"),
    KnownDifference("var-over-no-dims", _var_over_no_dims,
                    "var/std(dim=()): PyTorch's gradient counts one element",
                    "differences-from-pytorch.md#pytorch-quirks"),
    KnownDifference("gelu-of-inf", _gelu_of_inf,
                    "gelu(+inf) in float32 is inf (PyTorch's vectorised kernel: NaN)",
                    "differences-from-pytorch.md#pytorch-quirks"),
    KnownDifference("matrix-norms-from-singular-values", _matrix_norms_from_singular_values,
                    "matrix norms of order 2, -2 and 'nuc' raise NotImplementedError",
                    "differences-from-pytorch.md#matrix-norms"),
    KnownDifference("norm-of-underflowing-powers", _norm_of_underflowing_powers,
                    "a p-norm whose powers underflow: gradient 0 where PyTorch's is NaN",
                    "differences-from-pytorch.md#numerics"),
    KnownDifference("hard-activation-grad-at-nan", _hard_activation_grad_at_nan,
                    "hardtanh / relu6 / hardswish gradient at NaN: PyTorch's paths disagree",
                    "differences-from-pytorch.md#pytorch-quirks"),
    KnownDifference("checks-without-elements", _checks_without_elements,
                    "tensors without elements are checked as others are",
                    "differences-from-pytorch.md#pytorch-quirks"),
    KnownDifference("tile-backward-without-elements", _tile_backward_without_elements,
                    "tile of an empty tensor by a negative count: PyTorch's backward fails",
                    "differences-from-pytorch.md#pytorch-quirks"),
]


def known_difference(op: str, case: Case, diffs: list):
    return next((k for k in KNOWN_DIFFERENCES if k.applies(op, case, diffs)), None)


def test_known_differences_are_documented():
    text = DOC.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for k in KNOWN_DIFFERENCES:
        page, _, anchor = k.doc.partition("#")
        assert page == DOC.name and anchor in anchors, k


# -- one hypothesis test per op -----------------------------------------------------------

@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
def test_matches_pytorch(op):
    phases = (Phase.generate, Phase.shrink) if SHRINK else (Phase.generate,)

    @settings(max_examples=max(1, round(EXAMPLES * op.weight)), derandomize=True,
              database=None, deadline=None, phases=phases,
              suppress_health_check=list(HealthCheck))
    @given(case=op.args, backend=st.sampled_from(BACKENDS))
    def check(case, backend):
        diffs = compare(op, case, backend)
        if diffs and known_difference(op.name, case, diffs) is None:
            report(op, case, backend, diffs, COLLECT)

    check()
