"""The bundled datasets against scikit-learn's loaders: shapes, dtypes, values, class counts,
``as_dataset``, ``dtype=``/``device=`` and the unknown-name error."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy
from sklearn import datasets as skd

import tensorcore as tc
from tensorcore import datasets
from tensorcore.utils.data import TensorDataset

CASES = [("digits", skd.load_digits, (1797, 64), 10), ("iris", skd.load_iris, (150, 4), 3),
         ("breast_cancer", skd.load_breast_cancer, (569, 30), 2),
         ("wine", skd.load_wine, (178, 13), 3)]


@pytest.mark.parametrize("name,sk_loader,shape,n_classes", CASES)
def test_matches_sklearn(device, name, sk_loader, shape, n_classes):
    X_ref, y_ref = sk_loader(return_X_y=True)
    X, y = getattr(datasets, f"load_{name}")(device=device)
    assert X.shape == shape and y.shape == (shape[0],)
    assert X.dtype == tc.float32 and y.dtype == tc.int64
    assert X.device == y.device == tc.device(device)
    np.testing.assert_allclose(to_numpy(X), X_ref, rtol=1e-6)
    assert np.bincount(to_numpy(y)).tolist() == np.bincount(y_ref).tolist()
    assert len(np.bincount(y_ref)) == n_classes


def test_dtype_and_as_dataset(device):
    X, _ = datasets.load_iris(dtype=tc.float64, device=device)
    assert X.dtype == tc.float64
    np.testing.assert_array_equal(to_numpy(X), skd.load_iris().data)
    ds = datasets.load_wine(as_dataset=True, device=device)
    assert isinstance(ds, TensorDataset) and len(ds) == 178
    x0, y0 = ds[0]
    assert x0.shape == (13,) and y0.item() == skd.load_wine().target[0]


def test_load_dataset_by_name(device):
    X, y = datasets.load_dataset("breast_cancer", device=device)
    assert X.shape == (569, 30) and y.sum().item() == skd.load_breast_cancer().target.sum()
    with pytest.raises(ValueError, match="unknown dataset 'mnist'; choose one of: "
                                         "breast_cancer, digits, iris, wine"):
        datasets.load_dataset("mnist")
