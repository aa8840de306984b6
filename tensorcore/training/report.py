"""The report of a ``tensorcore train`` run: readable text, ``report.json`` and the plots.

>>> from tensorcore.training.report import format_confusion_matrix
>>> print(format_confusion_matrix([[5, 1], [0, 4]]))
true \\ pred  0  1
-----------  -  -
0            5  1
1            0  4
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from .plots import _write_atomically, plot_cv_scores, plot_learning_curves, plot_search_results
from .tables import format_cell, format_table

__all__ = ["format_confusion_matrix", "format_summary", "json_safe", "save_report_elsewhere",
           "write_outputs"]


def format_confusion_matrix(matrix: list[list[int]]) -> str:
    """Rows are the true classes, columns the predicted ones."""
    headers = ["true \\ pred", *(str(j) for j in range(len(matrix)))]
    return format_table(headers, [[str(i), *row] for i, row in enumerate(matrix)])


def _step_kind(config: dict[str, Any]) -> str:
    """How the run's training steps ran (a report written before the option: compiled)."""
    return "compiled (tc.compile)" if config.get("compile", True) else "eager (compile off)"


def _where(report: dict[str, Any]) -> str:
    """Where the trials ran, for the search line: nothing when in this process."""
    runner = report.get("runner") or {}
    if runner.get("runner") in (None, "SerialRunner"):
        return ""
    if runner["runner"] != "DaskRunner":
        return f" on {runner['runner']}"
    return (f" on Dask ({runner['cluster']}, {runner['n_workers']} workers"
            + (", GPUs" if runner["gpu"] else "") + ")")


def format_summary(report: dict[str, Any], search_rows: int = 5) -> str:
    """The text the command prints at the end: data, search, best config, test scores."""
    data, dev, timings = report["dataset"], report["device"], report["timings"]
    sizes = data["sizes"]
    metrics = report["test_metrics"]
    stop = report["early_stopping"]
    n_configs = len(report["search"]["results"])
    lines = [
        f"dataset {data['name']}: {sum(sizes.values())} samples, {data['n_features']} "
        f"features, {data['n_classes']} classes; split train {sizes['train']} / val "
        f"{sizes['val']} / test {sizes['test']} (stratified, seed {report['config']['seed']})",
        f"device {dev['device']} (backend {dev['backend']}); model "
        f"{' -> '.join(map(str, report['model']['layers']))} (ReLU), Adam, cross-entropy; "
        f"training step {_step_kind(report['config'])}",
        "",
        f"{report['search']['kind']} search over {n_configs} configs{_where(report)}, "
        f"scored by "
        f"{report['search']['scored_by']}" + (f" (the best {search_rows}):"
                                             if n_configs > search_rows else ":"),
        "\n".join(report["search"]["table"].splitlines()[:search_rows + 2]),
    ]
    if report["cv"] is not None:
        cv = report["cv"]
        folds = ", ".join(f"{s:.4f}" for s in cv["scores"])
        lines += ["", f"cross-validation of the best config: {cv['mean']:.4f} +- "
                      f"{cv['std']:.4f} (folds: {folds})"]
    lines += [
        "",
        f"retrained the best config on train: {len(report['history']['epoch'])} epochs, "
        f"best epoch {stop['best_epoch']} (val loss {format_cell(stop['best'])}), "
        f"val accuracy {report['val_accuracy']:.4f}",
        "",
        "test split:",
        format_table(["metric", "value"], [
            ["accuracy", metrics["accuracy"]],
            ["precision (macro)", metrics["precision_macro"]],
            ["recall (macro)", metrics["recall_macro"]],
            ["f1 (macro)", metrics["f1_macro"]],
        ]),
        "",
        "confusion matrix (rows: true class, columns: predicted class):",
        format_confusion_matrix(metrics["confusion_matrix"]),
        "",
        f"time: {timings['total_s']:.1f} s ("
        + (f"cluster start {timings['cluster_start_s']:.1f} s, "
           if "cluster_start_s" in timings else "")
        + f"search {timings['search_s']:.1f} s, retrain {timings['retrain_s']:.1f} s)",
    ]
    return "\n".join(lines)


def json_safe(value):
    """``value`` with NaN and infinities (which strict JSON lacks) replaced by None, in
    nested dicts, lists and tuples.

    >>> json_safe({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _report_bytes(report: dict[str, Any]) -> bytes:
    return (json.dumps(json_safe(report), indent=2, allow_nan=False) + "\n").encode("utf-8")


def write_outputs(result, out_dir) -> dict[str, str]:
    """Write ``report.json`` (with the file list under ``"files"``) and then the plots into
    ``out_dir``, made if needed; the paths written, by kind. Each file is written atomically
    (a failure leaves an older file of that name whole); the report comes first, so a plot
    that cannot be written does not take the results with it."""
    out = Path(out_dir)
    score_name = ("mean cross-validation accuracy" if result.cv is not None
                  else "validation accuracy")
    plots = {
        "learning_curves": lambda path: plot_learning_curves(result.final.history, path),
        "search": lambda path: plot_search_results(result.search, path,
                                                   score_name=score_name),
    }
    if result.cv is not None:
        plots["cv_scores"] = lambda path: plot_cv_scores(result.cv, path, score_name="accuracy")
    files = {kind: out / f"{kind}.png" for kind in plots}
    files["report"] = out / "report.json"
    result.report["files"] = {kind: path.name for kind, path in files.items()}
    data = _report_bytes(result.report)
    _write_atomically(files["report"], lambda f: f.write(data))
    for kind, plot in plots.items():
        plot(files[kind])
    return {kind: str(path) for kind, path in files.items()}


def save_report_elsewhere(report: dict[str, Any]) -> str | None:
    """Save ``report`` as a JSON file in the temporary directory, for when the output
    directory cannot be written; its path, or None when that fails too."""
    try:
        fd, path = tempfile.mkstemp(prefix="tensorcore-report-", suffix=".json")
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_report_bytes(report))
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(path)  # no half-written report left behind
        return None
    return path
