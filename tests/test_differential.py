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

from differential import ops_elementwise, ops_index, ops_reduce, ops_shape
from differential.harness import Arr, Case, compare, report
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import tensorcore as tc

pytestmark = pytest.mark.differential

EXAMPLES = int(os.environ.get("TENSORCORE_DIFF_EXAMPLES", "100"))
COLLECT = os.environ.get("TENSORCORE_DIFF_COLLECT") or None
SHRINK = os.environ.get("TENSORCORE_DIFF_SHRINK") == "1"
BACKENDS = tuple(tc.backends.available_backends("cpu"))
OPS = ops_elementwise.OPS + ops_reduce.OPS + ops_shape.OPS + ops_index.OPS
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


def _class_loss_options(op: str, case: Case, diffs: list) -> bool:
    """cross_entropy / nll_loss: a weight that requires grad (PyTorch raises), or a negative
    label_smoothing (tensorcore raises)."""
    weight = case.kwargs.get("weight")
    return op in ("F.cross_entropy", "F.nll_loss") and (
        (isinstance(weight, Arr) and weight.requires_grad
         and _all(diffs, "call: only torch raises (RuntimeError"))
        or (case.kwargs.get("label_smoothing", 0) < 0
            and _all(diffs, "call: only tensorcore raises (RuntimeError")))


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
    KnownDifference("class-loss-options", _class_loss_options,
                    "a weight may require grad; a negative label_smoothing is refused",
                    "differences-from-pytorch.md#class-losses"),
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
