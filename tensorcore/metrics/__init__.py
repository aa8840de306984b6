"""Metrics: scores to report, with scikit-learn's names, arguments and results.

A *loss* and a *metric* answer different questions. A loss (``tensorcore.nn.functional.
cross_entropy``, ``mse_loss``) is what training minimises: a differentiable Tensor in the
autograd graph, smooth in the model's outputs, so its gradient says how to change the
weights. A metric is what you report: accuracy, precision, F1, R^2 are computed from hard
predictions (``argmax`` labels), are piecewise constant (no useful gradient) and come back
as plain Python floats, outside the graph. A model can lower its loss without changing its
accuracy, and the two can disagree on which of two models is better.

The metrics run on the tensors' device with the backend's array module (CuPy for CUDA
tensors); NumPy arrays and lists are accepted too. Scalars are Python floats; per-class
results (``average=None``) and confusion matrices are Tensors on the inputs' device.

>>> import tensorcore as tc
>>> import tensorcore.nn.functional as F
>>> from tensorcore.metrics import accuracy_score
>>> logits = tc.tensor([[2.0, 0.5], [0.2, 0.1], [0.3, 1.5]], requires_grad=True)
>>> target = tc.tensor([0, 1, 1])
>>> loss = F.cross_entropy(logits, target)       # differentiable: for training
>>> loss.requires_grad
True
>>> accuracy_score(target, logits.argmax(dim=1))  # a float: for the report
0.6666666666666666
"""

from ._inputs import UndefinedMetricWarning
from .classification import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from .regression import mean_absolute_error, mean_squared_error, r2_score

__all__ = ["UndefinedMetricWarning", "accuracy_score", "confusion_matrix", "f1_score",
           "fbeta_score", "mean_absolute_error", "mean_squared_error",
           "precision_recall_fscore_support", "precision_score", "r2_score", "recall_score"]
