"""``tensorcore.metrics`` against scikit-learn on seeded random labels (binary and multiclass,
classes missing from y_pred or y_true, every average and zero_division), the result kinds
(floats, Tensors on the inputs' device) and the bad-input errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from helpers import forget_cuda_backends, serve_cuda_with, to_numpy

import tensorcore as tc
from tensorcore import metrics

AVERAGES = ["binary", "micro", "macro", "weighted", None]
ZERO_DIVISION = ["warn", 0, 1, np.nan]


def _cases():
    """(y_true, y_pred) NumPy pairs: binary, multiclass, absent classes, degenerate ones."""
    rng = np.random.default_rng(0)
    cases = []
    for i in range(12):
        n_classes, n = int(rng.integers(2, 6)), int(rng.integers(1, 25))
        y_true = rng.integers(0, n_classes, n)
        y_pred = rng.integers(0, n_classes, n)
        if i % 3 == 1:
            y_pred = np.where(y_pred == n_classes - 1, 0, y_pred)   # a class never predicted
        if i % 4 == 2:
            y_true = np.where(y_true == 0, 1, y_true)               # a class never true
        cases.append((y_true, y_pred))
    cases += [(np.array([0, 0, 0]), np.array([0, 0, 0])),          # only negatives
              (np.array([1, 0, 1, 1]), np.array([0, 0, 0, 0])),    # nothing predicted positive
              (np.array([0, 1, 1, 0]), np.array([1, 1, 0, 0]))]
    return cases


CASES = _cases()


def _call_both(name, y_true, y_pred, device, **kwargs):
    """Ours on tensors of ``device`` and scikit-learn's on NumPy: (ours, theirs), or None
    after checking that both raise ValueError."""
    ours_fn, theirs_fn = getattr(metrics, name), getattr(skm, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            theirs = theirs_fn(y_true, y_pred, **kwargs)
        except ValueError:
            with pytest.raises(ValueError):
                ours_fn(tc.tensor(y_true, device=device), tc.tensor(y_pred, device=device),
                        **kwargs)
            return None
        ours = ours_fn(tc.tensor(y_true, device=device), tc.tensor(y_pred, device=device),
                       **kwargs)
    return ours, theirs


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("name", ["precision_score", "recall_score", "f1_score"])
def test_scores_match_sklearn(device, case, name):
    y_true, y_pred = CASES[case]
    for average in AVERAGES:
        for zero_division in ZERO_DIVISION:
            result = _call_both(name, y_true, y_pred, device, average=average,
                                zero_division=zero_division)
            if result is None:
                continue
            ours, theirs = result
            if average is None:
                assert isinstance(ours, tc.Tensor) and ours.device == tc.device(device)
            else:
                assert isinstance(ours, float)
            np.testing.assert_allclose(to_numpy(ours), theirs, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_prfs_fbeta_accuracy_confusion_match_sklearn(device, case):
    y_true, y_pred = CASES[case]
    for average in ("macro", None):
        for beta in (0.5, 2.0):
            ours, theirs = _call_both("precision_recall_fscore_support", y_true, y_pred, device,
                                      beta=beta, average=average, zero_division=0)
            for a, b in zip(ours, theirs, strict=True):
                assert (a is None) == (b is None)
                if b is not None:
                    np.testing.assert_allclose(to_numpy(a), b, atol=1e-6)
    ours, theirs = _call_both("accuracy_score", y_true, y_pred, device)
    assert isinstance(ours, float) and ours == pytest.approx(theirs, abs=1e-12)
    for normalize in (None, "true", "pred", "all"):
        ours, theirs = _call_both("confusion_matrix", y_true, y_pred, device,
                                  normalize=normalize)
        assert ours.device == tc.device(device)
        assert ours.dtype == (tc.int64 if normalize is None else tc.float64)
        np.testing.assert_allclose(to_numpy(ours), theirs, atol=1e-12)


def test_labels_argument_matches_sklearn(device):
    y_true, y_pred = np.array([0, 1, 2, 2, 3, 1]), np.array([0, 2, 2, 1, 3, 3])
    for labels in ([2, 0, 1], [3, 1], [1, 5]):
        ours, theirs = _call_both("confusion_matrix", y_true, y_pred, device, labels=labels)
        np.testing.assert_array_equal(to_numpy(ours), theirs)
        ours, theirs = _call_both("f1_score", y_true, y_pred, device, labels=labels,
                                  average=None, zero_division=0)
        np.testing.assert_allclose(to_numpy(ours), theirs)
        ours, theirs = _call_both("precision_score", y_true, y_pred, device, labels=labels,
                                  average="micro", zero_division=0)
        assert ours == pytest.approx(theirs)


def test_hand_computed_binary_and_inputs_of_any_kind(device):
    y_true, y_pred = [1, 1, 1, 0, 0], [1, 0, 1, 1, 0]       # tp=2 fp=1 fn=1 tn=1
    t = tc.tensor(y_true, device=device)
    assert metrics.precision_score(t, y_pred) == pytest.approx(2 / 3)
    assert metrics.recall_score(np.array(y_true), tc.tensor(y_pred, device=device)) == 2 / 3
    assert metrics.f1_score(y_true, y_pred, pos_label=0) == pytest.approx(0.5)
    assert metrics.accuracy_score(t, tc.tensor(y_pred, device=device)) == 0.6
    assert metrics.accuracy_score(y_true, y_pred, normalize=False) == 3.0
    # whole-number floats are labels (as scikit-learn), booleans too
    assert metrics.accuracy_score(t.float(), tc.tensor(y_pred, device=device).double()) == 0.6
    assert metrics.f1_score(np.array(y_true, bool), np.array(y_pred, bool)) == pytest.approx(2 / 3)


def test_zero_division_warns(device):
    t, p = tc.tensor([1, 0], device=device), tc.tensor([0, 0], device=device)
    with pytest.warns(metrics.UndefinedMetricWarning, match="Precision is ill-defined"):
        assert metrics.precision_score(t, p) == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert metrics.precision_score(t, p, zero_division=1) == 1.0
        assert np.isnan(metrics.precision_score(t, p, zero_division=np.nan))


def test_regression_metrics_match_sklearn(device):
    rng = np.random.default_rng(1)
    y, pred = rng.normal(size=(25, 3)), rng.normal(size=(25, 3))
    t, p = tc.tensor(y, device=device), tc.tensor(pred, dtype=tc.float32, device=device)
    pred32 = pred.astype(np.float32).astype(np.float64)
    for name in ("mean_squared_error", "mean_absolute_error", "r2_score"):
        ours, theirs = getattr(metrics, name), getattr(skm, name)
        for multioutput in ("uniform_average", "raw_values", [0.2, 0.3, 0.5]):
            got, want = ours(t, p, multioutput=multioutput), theirs(y, pred32,
                                                                     multioutput=multioutput)
            assert isinstance(got, tc.Tensor if multioutput == "raw_values" else float)
            np.testing.assert_allclose(to_numpy(got), want, rtol=1e-6)
        np.testing.assert_allclose(ours(t[:, 0], p[:, 0]), theirs(y[:, 0], pred32[:, 0]),
                                   rtol=1e-6)
    assert metrics.r2_score(t, p, multioutput="variance_weighted") == pytest.approx(
        skm.r2_score(y, pred32, multioutput="variance_weighted"), rel=1e-6)


def test_r2_constant_target_and_too_few_samples():
    assert metrics.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]) == 1.0
    assert metrics.r2_score([2.0, 2.0, 2.0], [2.0, 2.0, 3.0]) == 0.0
    assert metrics.r2_score([2.0, 2.0], [2.0, 3.0], force_finite=False) == -np.inf
    assert np.isnan(metrics.r2_score([2.0, 2.0], [2.0, 2.0], force_finite=False))
    with pytest.warns(metrics.UndefinedMetricWarning, match="less than two samples"):
        assert np.isnan(metrics.r2_score([1.0], [2.0]))


def test_errors(device):
    a3, a4 = tc.tensor([0, 1, 1], device=device), tc.tensor([0, 1, 1, 0], device=device)
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\)"):
        metrics.accuracy_score(a3, a4)
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\)"):
        metrics.mean_squared_error(a3.float(), a4.float())
    empty = tc.tensor([], dtype=tc.int64, device=device)
    for fn in (metrics.accuracy_score, metrics.f1_score, metrics.r2_score):
        with pytest.raises(ValueError, match="empty"):
            fn(empty, empty)
    multi = tc.tensor([0, 1, 2], device=device)
    with pytest.raises(ValueError, match="Target is multiclass but average='binary'"):
        metrics.f1_score(multi, multi)
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        metrics.f1_score([0, 2], [2, 0])
    probs = tc.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], device=device)
    with pytest.raises(ValueError, match="argmax"):
        metrics.accuracy_score(a3, probs)
    with pytest.raises(ValueError, match="argmax"):
        metrics.precision_score(a3, tc.tensor([0.2, 0.7, 0.9], device=device))
    with pytest.raises(ValueError, match="fractional floats"):          # a column of them
        metrics.accuracy_score(a3, tc.tensor([[0.2], [0.7], [0.9]], device=device))
    assert metrics.accuracy_score(a3, tc.tensor([[0.0], [1.0], [0.0]], device=device)) == 2 / 3
    with pytest.raises(ValueError, match="average has to be one of"):
        metrics.f1_score(a3, a3, average="samples-ish")
    with pytest.raises(ValueError, match="zero_division"):
        metrics.f1_score(a3, a3, zero_division=0.5)
    with pytest.raises(ValueError, match="normalize"):
        metrics.confusion_matrix(a3, a3, normalize="rows")
    with pytest.raises(ValueError, match="At least one label specified must be in y_true"):
        metrics.confusion_matrix(a3, a3, labels=[5])
    with pytest.raises(ValueError, match="multioutput"):
        metrics.mean_squared_error(a3.float(), a3.float(), multioutput="median")
    with pytest.raises(ValueError, match=r"custom weights \(2\) as outputs \(1\)"):
        metrics.mean_squared_error(a3.float(), a3.float(), multioutput=[0.5, 0.5])
    with pytest.raises(ZeroDivisionError, match="sum to zero"):
        metrics.mean_squared_error(a3.float(), a3.float(), multioutput=[0.0])


@pytest.fixture
def counting_gpu(monkeypatch):
    """A stand-in GPU (a NumPy backend registered for ``cuda``) that counts copies to NumPy,
    to check that metrics work on the tensors' device (the real GPU runs the suite too)."""
    from tensorcore.backends.numpy_backend import NumpyBackend

    class CountingGpu(NumpyBackend):
        name, device_type, copies_to_host = "countinggpu", "cuda", 0

        def to_numpy(self, a):
            type(self).copies_to_host += 1
            return super().to_numpy(a)

    serve_cuda_with(monkeypatch, CountingGpu, "countinggpu")
    yield CountingGpu
    forget_cuda_backends()


def test_metrics_stay_on_the_device(counting_gpu):
    y_true, y_pred = CASES[0]
    t, p = tc.tensor(y_true, device="cuda"), tc.tensor(y_pred, device="cuda")
    counting_gpu.copies_to_host = 0
    scores = [metrics.accuracy_score(t, p), metrics.f1_score(t, list(y_pred), average="macro"),
              metrics.r2_score(t.float(), p.float()), metrics.mean_absolute_error(t.float(), p)]
    weighted = metrics.mean_squared_error(t.float(), p.float(),
                                          multioutput=tc.tensor([1.0], device="cuda"))
    per_class = metrics.recall_score(t, p, average=None, zero_division=0)
    cm = metrics.confusion_matrix(t, p, normalize="pred")
    assert counting_gpu.copies_to_host == 0
    assert per_class.device.type == "cuda" and cm.device.type == "cuda"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert scores[:2] == [skm.accuracy_score(y_true, y_pred),
                              pytest.approx(skm.f1_score(y_true, y_pred, average="macro"))]
    assert weighted == pytest.approx(skm.mean_squared_error(y_true, y_pred))
    np.testing.assert_allclose(to_numpy(cm), skm.confusion_matrix(y_true, y_pred,
                                                                  normalize="pred"))
    with pytest.raises(RuntimeError, match="same device"):
        metrics.accuracy_score(t, tc.tensor(y_pred))
