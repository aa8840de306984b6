"""fit / evaluate / predict / Trainer, the metric specs and StandardScaler."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import to_numpy
from sklearn import metrics as skm
from sklearn.preprocessing import StandardScaler as SkStandardScaler

import tensorcore as tc
import tensorcore.nn.functional as F
from tensorcore import nn
from tensorcore.datasets import load_iris
from tensorcore.model_selection import train_test_split
from tensorcore.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from tensorcore.training import (
    EarlyStopping,
    StandardScaler,
    Trainer,
    evaluate,
    fit,
    predict,
)
from tensorcore.training.scoring import METRICS, predicted_labels, resolve_metrics
from tensorcore.utils.data import DataLoader, TensorDataset


def loader(X, y, batch_size=4, shuffle=False, seed=0):
    generator = tc.Generator().manual_seed(seed) if shuffle else None
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle,
                      generator=generator)


def toy(device, n=10, seed=0):
    rng = np.random.default_rng(seed)
    X = tc.tensor(rng.normal(size=(n, 3)), dtype=tc.float32, device=device)
    y = tc.tensor(rng.integers(0, 3, size=n), device=device)
    return X, y


def wrong_labels(y):
    """Every label moved to the next class: a validation set that training makes worse."""
    return tc.tensor((to_numpy(y) + 1) % 3, device=y.device)


class Recorder(nn.Module):
    """A linear layer that records, per call, its training flag and the grad mode."""

    def __init__(self, device):
        super().__init__()
        self.linear = nn.Linear(3, 3, device=device)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, tc.is_grad_enabled()))
        return self.linear(x)


# -- fit ------------------------------------------------------------------------------------------
def test_fit_reaches_90_percent_on_iris(device):
    X, y = load_iris(device=device)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    tc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16, device=device), nn.ReLU(),
                          nn.Linear(16, 3, device=device))
    history = fit(model, nn.CrossEntropyLoss(), tc.optim.Adam(model.parameters(), lr=0.05),
                  loader(scaler.transform(X_tr), y_tr, 16, shuffle=True),
                  loader(scaler.transform(X_te), y_te, 64), epochs=30,
                  metrics=["accuracy"], progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0]
    labels = predict(model, scaler.transform(X_te)).argmax(dim=1)
    accuracy = skm.accuracy_score(to_numpy(y_te), to_numpy(labels))
    assert accuracy > 0.9
    assert history["val_accuracy"][-1] == pytest.approx(accuracy)


def test_losses_are_sample_weighted_means(device):
    # lr=0: the weights never move, so an epoch's training loss is the loss of the whole set
    X, y = toy(device)
    tc.manual_seed(1)
    model = nn.Linear(3, 3, device=device)
    Xv, yv = toy(device, n=7, seed=1)
    history = fit(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.0),
                  loader(X, y, 4), loader(Xv, yv, 3), epochs=2, progress=False)
    with tc.no_grad():
        full = F.cross_entropy(model(X), y).item()
        full_val = F.cross_entropy(model(Xv), yv).item()
    assert history["train_loss"] == pytest.approx([full, full], rel=1e-5)
    assert history["val_loss"] == pytest.approx([full_val, full_val], rel=1e-5)
    assert history.keys() == ["train_loss", "val_loss", "lr", "seconds"]


def test_train_and_eval_modes_and_no_graph_in_evaluation(device):
    X, y = toy(device)
    model = Recorder(device)
    # eager: the forward's Python runs on every batch (a compiled step replays without it)
    fit(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.1),
        loader(X, y, 5), loader(X, y, 10), epochs=2, progress=False, compile=False)
    # per epoch: two training batches (train mode, grad on), one validation batch
    assert model.calls == [(True, True), (True, True), (False, False)] * 2


def test_modes_with_the_compiled_step(device):
    # compiled, the forward's Python runs when a step is traced (or run eagerly), never on a
    # replay: each call it gets is still in the right mode, and validation runs every epoch
    X, y = toy(device)
    model = Recorder(device)
    fit(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.1),
        loader(X, y, 5), loader(X, y, 10), epochs=2, progress=False)
    training = [call for call in model.calls if call != (False, False)]
    assert model.calls.count((False, False)) == 2 and model.calls[-1] == (False, False)
    assert 1 <= len(training) <= 4 and set(training) == {(True, True)}
    assert model.calls[0] == (True, True)


def test_early_stopping_stops_and_restores_the_best_weights(device):
    # validating on the wrong labels: the validation loss is lowest before training moves on
    X, y = toy(device, n=30)
    wrong = wrong_labels(y)
    tc.manual_seed(0)
    model = nn.Linear(3, 3, device=device)
    stopper = EarlyStopping(patience=2)
    history = fit(model, nn.CrossEntropyLoss(), tc.optim.SGD(model.parameters(), lr=0.5),
                  loader(X, y, 30), loader(X, wrong, 30), epochs=50,
                  early_stopping=stopper, progress=False)
    best = history.best_epoch("val_loss")
    assert len(history) == best + 2 < 50
    assert stopper.stopped_epoch == len(history) and stopper.best_epoch == best
    restored = evaluate(model, loader(X, wrong, 30), nn.CrossEntropyLoss())["loss"]
    assert restored == pytest.approx(history["val_loss"][best - 1], rel=1e-6)


def test_schedulers_step_once_per_epoch(device):
    X, y = toy(device)
    model = nn.Linear(3, 3, device=device)
    opt = tc.optim.SGD(model.parameters(), lr=0.8)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader(X, y), epochs=3,
                  scheduler=StepLR(opt, step_size=1, gamma=0.5), progress=False)
    assert history["lr"] == [0.8, 0.4, 0.2]        # the rate each epoch trained with
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    # ReduceLROnPlateau watches val_loss: validating on the wrong labels, it never improves
    opt = tc.optim.SGD(model.parameters(), lr=1.0)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=0)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader(X, y), loader(X, wrong_labels(y)),
                  epochs=4, scheduler=plateau, progress=False)
    assert history["lr"][0] == 1.0 and history["lr"][-1] < 1.0


def test_fit_stops_when_the_loss_diverges(device):
    X, y = toy(device)
    model = nn.Linear(3, 3, device=device)

    def nan_loss(outputs, targets):
        return F.cross_entropy(outputs, targets) * float("nan")

    history = fit(model, nan_loss, tc.optim.SGD(model.parameters(), lr=0.1), loader(X, y),
                  epochs=5, progress=False)
    assert len(history) == 1 and np.isnan(history["train_loss"][0])


def test_progress_bar(device, capsys):
    X, y = toy(device)
    model = nn.Linear(3, 3, device=device)
    opt = tc.optim.SGD(model.parameters(), lr=0.1)
    fit(model, nn.CrossEntropyLoss(), opt, loader(X, y), epochs=2, progress=False)
    assert capsys.readouterr().err == ""
    fit(model, nn.CrossEntropyLoss(), opt, loader(X, y), epochs=2, progress=True)
    assert "epoch" in capsys.readouterr().err


def test_fit_bad_input(device):
    X, y = toy(device)
    model = nn.Linear(3, 3, device=device)
    opt = tc.optim.SGD(model.parameters(), lr=0.1)
    ce = nn.CrossEntropyLoss()
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, ce, opt, loader(X, y), epochs=0)
    with pytest.raises(ValueError, match="monitors 'val_loss'.*logged keys: train_loss"):
        fit(model, ce, opt, loader(X, y), early_stopping=EarlyStopping())
    with pytest.raises(ValueError, match="pass a val_loader"):
        fit(model, ce, opt, loader(X, y), metrics=["accuracy"])
    with pytest.raises(ValueError, match="unknown metric 'acc'; choose one of: accuracy"):
        fit(model, ce, opt, loader(X, y), loader(X, y), metrics=["acc"])
    with pytest.raises(ValueError, match=r"\(inputs, targets\) pair, got list of 3"):
        fit(model, ce, opt, [[X, y, y]], progress=False)


# -- evaluate / predict / Trainer -----------------------------------------------------------------
def test_evaluate_matches_scikit_learn(device):
    X, y = toy(device, n=23)
    tc.manual_seed(3)
    model = nn.Linear(3, 3, device=device)
    model.train()
    scores = evaluate(model, loader(X, y, 5), nn.CrossEntropyLoss(),
                      ["accuracy", "f1_macro", "precision_macro"])
    assert model.training                       # the mode it had comes back
    with tc.no_grad():
        logits = model(X)
    y_np, pred_np = to_numpy(y), to_numpy(logits.argmax(dim=1))
    assert scores["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-5)
    assert scores["accuracy"] == pytest.approx(skm.accuracy_score(y_np, pred_np))
    assert scores["f1_macro"] == pytest.approx(
        skm.f1_score(y_np, pred_np, average="macro", zero_division=0))
    assert scores["precision_macro"] == pytest.approx(
        skm.precision_score(y_np, pred_np, average="macro", zero_division=0))
    with pytest.raises(ValueError, match="nothing to compute"):
        evaluate(model, loader(X, y))


def test_predict_batches_and_modes(device):
    X, _ = toy(device, n=11)
    model = nn.Sequential(nn.Linear(3, 4, device=device), nn.Dropout(0.5),
                          nn.Linear(4, 2, device=device))
    with tc.no_grad():
        model.eval()
        expected = to_numpy(model(X))
    model.train()
    out = predict(model, X, batch_size=4)     # eval mode: dropout off, same as one batch
    assert not out.requires_grad and model.training
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        predict(model, X, batch_size=0)


def test_trainer_wraps_the_functions(device):
    X, y = toy(device, n=12)
    tc.manual_seed(0)
    model = nn.Linear(3, 3, device=device)
    trainer = Trainer(model, nn.CrossEntropyLoss(),
                      tc.optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"])
    history = trainer.fit(loader(X, y), loader(X, y), epochs=3, progress=False)
    assert len(history) == 3 and "val_accuracy" in history
    scores = trainer.evaluate(loader(X, y))
    assert scores["loss"] == pytest.approx(history["val_loss"][-1], rel=1e-6)
    assert trainer.predict(X).shape == (12, 3)


# -- metric specs ---------------------------------------------------------------------------------
def test_metric_names_match_scikit_learn(device):
    rng = np.random.default_rng(0)
    y_np = rng.integers(0, 3, 40)
    logits_np = rng.normal(size=(40, 3)).astype(np.float32)
    pred_np = logits_np.argmax(1)
    y, logits = tc.tensor(y_np, device=device), tc.tensor(logits_np, device=device)
    expected = {
        "accuracy": skm.accuracy_score(y_np, pred_np),
        "precision_macro": skm.precision_score(y_np, pred_np, average="macro"),
        "recall_macro": skm.recall_score(y_np, pred_np, average="macro"),
        "f1_macro": skm.f1_score(y_np, pred_np, average="macro"),
        "f1_weighted": skm.f1_score(y_np, pred_np, average="weighted"),
    }
    for name, value in expected.items():
        assert METRICS[name](y, logits) == pytest.approx(value), name
    target = tc.tensor(rng.normal(size=40), dtype=tc.float32, device=device)
    out = tc.tensor(rng.normal(size=(40, 1)), dtype=tc.float32, device=device)
    t_np, o_np = to_numpy(target), to_numpy(out).ravel()
    assert METRICS["mse"](target, out) == pytest.approx(skm.mean_squared_error(t_np, o_np))
    assert METRICS["mae"](target, out) == pytest.approx(skm.mean_absolute_error(t_np, o_np))
    assert METRICS["r2"](target, out) == pytest.approx(skm.r2_score(t_np, o_np), rel=1e-5)


def test_predicted_labels_of_single_logits(device):
    logits = tc.tensor([[0.3], [-1.2], [0.0]], device=device)
    assert predicted_labels(logits).tolist() == [1, 0, 0]
    assert predicted_labels(tc.tensor([[0.1, 0.9, 0.0]], device=device)).tolist() == [1]


def test_resolve_metrics():
    def top(targets, outputs):
        return 1.0

    assert list(resolve_metrics(["accuracy", top])) == ["accuracy", "top"]
    assert resolve_metrics({"a": top})["a"] is top
    assert resolve_metrics(None) == {}
    with pytest.raises(TypeError, match="wrap a single one in a list"):
        resolve_metrics("accuracy")
    with pytest.raises(TypeError, match="a name or a callable"):
        resolve_metrics([3])


# -- StandardScaler -------------------------------------------------------------------------------
def test_standard_scaler_matches_scikit_learn(device):
    X, _ = load_iris(device=device)
    X = tc.cat([X, tc.ones(150, 1, device=device)], dim=1)     # a constant column too
    ours = StandardScaler().fit(X)
    sk = SkStandardScaler().fit(to_numpy(X))
    np.testing.assert_allclose(to_numpy(ours.mean_), sk.mean_, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(ours.scale_), sk.scale_, rtol=1e-5)
    np.testing.assert_allclose(to_numpy(ours.transform(X)),
                               sk.transform(to_numpy(X)), atol=1e-5)
    assert ours.transform(X).device == X.device


def test_standard_scaler_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        StandardScaler().transform(tc.ones(2, 2))
    with pytest.raises(ValueError, match="X has 3 features, but StandardScaler was fitted on 2"):
        StandardScaler().fit(tc.ones(4, 2)).transform(tc.ones(1, 3))
    with pytest.raises(ValueError, match=r"2-D Tensor .* got \(4,\)"):
        StandardScaler().fit(tc.ones(4))
