"""Small classic datasets, from the copies bundled with scikit-learn (no download).

Each loader returns ``(X, y)`` tensors (``X`` float32 by default, ``y`` int64 class labels)
or, with ``as_dataset=True``, a ``TensorDataset`` of the two; ``dtype=`` sets X's dtype and
``device=`` where both live.

>>> from tensorcore.datasets import load_iris, load_dataset
>>> X, y = load_iris()
>>> X.shape, X.dtype, y.dtype
((150, 4), tensorcore.float32, tensorcore.int64)
>>> len(load_dataset("wine", as_dataset=True))
178
"""

from __future__ import annotations

from collections.abc import Callable

from . import _dtype
from .creation import tensor
from .tensor import Tensor
from .utils.data import TensorDataset

__all__ = ["load_breast_cancer", "load_dataset", "load_digits", "load_iris", "load_wine"]


def _load(sklearn_loader: Callable, dtype, device, as_dataset: bool):
    X, y = sklearn_loader(return_X_y=True)
    x_dtype = _dtype.float32 if dtype is None else _dtype.as_dtype(dtype)
    X = tensor(X, dtype=x_dtype, device=device)
    y = tensor(y, dtype=_dtype.int64, device=device)
    return TensorDataset(X, y) if as_dataset else (X, y)


def load_digits(*, dtype=None, device=None,
                as_dataset: bool = False) -> tuple[Tensor, Tensor] | TensorDataset:
    """8x8 images of handwritten digits: X (1797, 64) pixel values 0..16, y 10 classes."""
    from sklearn import datasets

    return _load(datasets.load_digits, dtype, device, as_dataset)


def load_iris(*, dtype=None, device=None,
              as_dataset: bool = False) -> tuple[Tensor, Tensor] | TensorDataset:
    """Fisher's iris flowers: X (150, 4) measurements in cm, y 3 species."""
    from sklearn import datasets

    return _load(datasets.load_iris, dtype, device, as_dataset)


def load_breast_cancer(*, dtype=None, device=None,
                       as_dataset: bool = False) -> tuple[Tensor, Tensor] | TensorDataset:
    """Wisconsin diagnostic breast cancer: X (569, 30) cell features, y 0 malignant / 1 benign."""
    from sklearn import datasets

    return _load(datasets.load_breast_cancer, dtype, device, as_dataset)


def load_wine(*, dtype=None, device=None,
              as_dataset: bool = False) -> tuple[Tensor, Tensor] | TensorDataset:
    """Italian wines' chemical analysis: X (178, 13), y 3 cultivars."""
    from sklearn import datasets

    return _load(datasets.load_wine, dtype, device, as_dataset)


LOADERS: dict[str, Callable] = {"breast_cancer": load_breast_cancer, "digits": load_digits,
                                "iris": load_iris, "wine": load_wine}


def load_dataset(name: str, *, dtype=None, device=None,
                 as_dataset: bool = False) -> tuple[Tensor, Tensor] | TensorDataset:
    """Load a bundled dataset by name: one of ``LOADERS`` (breast_cancer, digits, iris, wine).

    >>> load_dataset("mnist")
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'mnist'; choose one of: breast_cancer, digits, iris, wine
    """
    if name not in LOADERS:
        raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(LOADERS))}")
    return LOADERS[name](dtype=dtype, device=device, as_dataset=as_dataset)
