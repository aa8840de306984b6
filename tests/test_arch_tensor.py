"""The layout of ``Tensor`` and the line budget of the package, checked on its source (issue 16).

``tensor.py`` holds the class's core and reads in one sitting; Python's operators live in
``ops/operators.py`` (bound like every op's methods), the conversions in the slotless base
``TensorConversions``, the reading of data into arrays in ``_tensor_data.py``. No module of
the package (``kernels`` included) is over 500 lines.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import tensorcore as tc
from tensorcore._tensor_convert import TensorConversions
from tensorcore.ops import operators
from tensorcore.tensor import Tensor as TensorOfTheModule  # tc.tensor is the function

PACKAGE = Path(tc.__file__).resolve().parent
KERNELS = Path(importlib.util.find_spec("tensorcore.kernels").origin).resolve().parent
TENSOR_LINES = 450
FILE_LINES = 500
OVER_BUDGET: dict[str, int] = {}  # path relative to the package -> its own limit (none today)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_tensor_py_reads_in_one_sitting():
    assert _lines(PACKAGE / "tensor.py") <= TENSOR_LINES


def test_no_module_over_the_line_budget():
    files = {p.relative_to(PACKAGE).as_posix(): p for p in PACKAGE.rglob("*.py")}
    files |= {"kernels/" + p.relative_to(KERNELS).as_posix(): p for p in KERNELS.rglob("*.py")}
    assert "tensor.py" in files and any(name.startswith("kernels/") for name in files)
    over = {name: n for name, p in files.items()
            if (n := _lines(p)) > OVER_BUDGET.get(name, FILE_LINES)}
    assert not over, f"over {FILE_LINES} lines: {over}"


def test_tensor_is_one_class_with_its_slots_only():
    t = tc.ones(2, requires_grad=True)
    assert tc.Tensor is TensorOfTheModule and type(t) is tc.Tensor
    assert tc.Tensor.__mro__ == (tc.Tensor, TensorConversions, object)
    assert TensorConversions.__slots__ == () and not hasattr(t, "__dict__")
    assert isinstance(tc.nn.Parameter(tc.ones(1)), tc.Tensor)
    back = pickle.loads(pickle.dumps(t))
    assert type(back) is tc.Tensor and back.requires_grad and back.tolist() == [1.0, 1.0]


def test_operators_are_bound_onto_the_class():
    """Each operator is an entry of the class itself (one type lookup, as before the split),
    and ``tensorcore`` gains no dunder function from ``ops/operators.py``."""
    assert operators.TENSOR_METHODS and operators.__all__ == []
    for name in operators.TENSOR_METHODS:
        assert vars(tc.Tensor)[name] is getattr(operators, name), name
    assert "__hash__" in vars(tc.Tensor)
    x = tc.tensor([1.0, 2.0])
    assert hash(x) == id(x) and (x + 1).tolist() == [2.0, 3.0] and (x == x).all().item()
