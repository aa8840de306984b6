"""``tc.linalg``: PyTorch's linear-algebra namespace, as far as tensorcore goes: vector and matrix
norms (``vector_norm``, ``matrix_norm`` and ``norm``, which picks one), ``matmul`` and
``cross``.

>>> import tensorcore as tc
>>> tc.linalg.vector_norm(tc.tensor([[3.0, 4.0], [6.0, 8.0]]), dim=1).tolist()
[5.0, 10.0]
"""

from __future__ import annotations

from .ops.linalg import matmul
from .ops.norms import linalg_norm as norm
from .ops.norms import matrix_norm, vector_norm
from .ops.products import linalg_cross as cross

__all__ = ["cross", "matmul", "matrix_norm", "norm", "vector_norm"]
