"""Bar charts of benchmark results, shared by ``report.py`` (CPU) and ``gpu_report.py``.

A run's results are a plain dict (saved as JSON beside the Markdown report, so that its
charts can be drawn again later, on a machine without the GPU that timed them)::

    {"machine": "NVIDIA H200", "device": "cuda", "date": "2026-11-27 19:09 UTC",
     "command": "python benchmarks/gpu_report.py ...", "source": "benchmarks/gpu_report.py",
     "workloads": [{"key": "mlp", "title": "MLP training step", "measure": "time per step",
                    "groups": [{"label": "tiny", "times": {"tc-auto": 6.8e-4, ...}}, ...]}]}

Times are seconds. ``figure(results, key)`` draws one workload: a panel per group (an MLP
size, a layer side), a horizontal bar per implementation, the NumPy floor, PyTorch and
cuBLAS alone (references) in colours of their own and first, each bar annotated with its
time and its ratio to the group's first reference. ``write_charts`` writes one PNG per
workload, atomically, with matplotlib's Agg backend.

    python benchmarks/charts.py RUN.json --out docs/img/benchmarks --prefix cpu-
    python benchmarks/charts.py docs/gpu-reports/2026-11-27-1909-h200-tests-host-mlp.md \\
        --out docs/img/benchmarks --prefix h200-1909- --only tc-auto,torch-cuda,...

A ``.md`` source is a saved GPU report, read by ``saved_reports.parse_report``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only: no display is needed, nor wanted on a GPU host

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter  # noqa: E402

from tensorcore.utils.atomic import atomic_write  # noqa: E402

DPI = 100
LOG_RANGE = 30.0  # a panel whose slowest bar is this many times its fastest gets a log axis
PANELS_PER_ROW = 3
# what a bar stands for -> (legend label, colour); references first, in this order
ROLES = {"floor": ("NumPy floor (no autodiff)", "#7f7f7f"),
         "pytorch": ("PyTorch", "#ee4c2c"),
         "cublas": ("cuBLAS alone", "#9467bd"),
         "tensorcore": ("tensorcore, eager", "#1f77b4"),
         "compiled": ("tensorcore, compiled / CUDA graph", "#17becf")}
REFERENCES = ("floor", "pytorch", "cublas")
# how a reference's tick label names it
ROLE_TICK = {"floor": "NumPy floor", "pytorch": "PyTorch", "cublas": "cuBLAS alone"}


def role(impl: str) -> str:
    """What bar ``impl`` (a column name of the reports) stands for, a key of ``ROLES``."""
    if impl == "numpy-floor":
        return "floor"
    if impl.startswith("torch"):
        return "pytorch"
    if impl == "gemms" or impl.partition("+")[0] == "cublas":
        return "cublas"
    if "compiled" in impl or "+graph" in impl or impl.endswith("-fused"):  # not "unfused"
        return "compiled"
    return "tensorcore"


def fmt_seconds(seconds: float) -> str:
    """Three significant digits in the unit that suits: ``94.1 µs``, ``2.41 ms``, ``1.2 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


# -- results ------------------------------------------------------------------------------------
def workload(key: str, title: str, measure: str, groups: dict,
             notes: dict | None = None) -> dict:
    """A workload entry of the results: ``groups`` maps a group's label to
    ``{implementation: seconds}`` (missing or None times are left out); ``notes`` maps a
    label to a few words shown in its panel's title (``NONE QUIET``)."""
    notes = notes or {}
    return {"key": key, "title": title, "measure": measure,
            "groups": [{"label": str(label),
                        "times": {i: float(t) for i, t in times.items() if t is not None},
                        **({"note": notes[label]} if notes.get(label) else {})}
                       for label, times in groups.items()]}


def check_results(results: dict) -> None:
    """ValueError naming what is wrong with ``results`` (see the module docstring)."""
    if not isinstance(results, dict):
        raise ValueError(f"benchmark results must be a dict, got {type(results).__name__}")
    missing = [k for k in ("machine", "date", "workloads") if k not in results]
    if missing:
        raise ValueError(f"benchmark results lack {', '.join(missing)}")
    if not results["workloads"]:
        raise ValueError("benchmark results hold no workload: nothing to chart")
    for w in results["workloads"]:
        if not any(g["times"] for g in w.get("groups", ())):
            raise ValueError(f"workload {w.get('key')!r} has no timed implementation")
        for g in w["groups"]:
            for impl, t in g["times"].items():
                if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
                    raise ValueError(f"workload {w['key']!r}, {g['label']}: time of {impl} "
                                     f"must be a positive number of seconds, got {t!r}")


def find_workload(results: dict, key: str) -> dict:
    check_results(results)
    for w in results["workloads"]:
        if w["key"] == key:
            return w
    raise ValueError(f"unknown workload {key!r}; these results have "
                     f"{[w['key'] for w in results['workloads']]}")


def save_results(results: dict, path: str) -> None:
    """``results`` as JSON at ``path``, written atomically."""
    check_results(results)
    with atomic_write(path, "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def load_results(path: str) -> dict:
    """Results saved by ``save_results``, or parsed from a saved Markdown GPU report."""
    if path.endswith(".md"):
        from saved_reports import parse_report

        return parse_report(path)
    with open(path, encoding="utf-8") as fh:
        results = json.load(fh)
    check_results(results)
    return results


# -- drawing ------------------------------------------------------------------------------------
def _ordered(times: dict) -> list[str]:
    """References first (floor, PyTorch, cuBLAS), then tensorcore in the report's order."""
    rank = {r: n for n, r in enumerate(REFERENCES)}
    return sorted(times, key=lambda i: rank.get(role(i), len(rank)))


def _tick(impl: str) -> str:
    r = role(impl)
    return f"{impl} ({ROLE_TICK[r]})" if r in ROLE_TICK else impl


def _base(times: dict) -> str | None:
    """The bar a panel's ratios are to: its first reference (floor, PyTorch, cuBLAS)."""
    refs = [i for i in _ordered(times) if role(i) in REFERENCES]
    return refs[0] if refs else None


def _draw_group(ax, label: str, times: dict, rows: int) -> None:
    """One panel: a bar per implementation of ``times``, ``rows`` bar places tall (so that
    bars are as thick in every panel), labelled with the time and the ratio to the panel's
    first reference."""
    base = _base(times)
    impls = _ordered(times)
    values = [times[i] for i in impls]
    ys = range(len(impls))
    bars = ax.barh(ys, values, color=[ROLES[role(i)][1] for i in impls], height=0.7)
    for bar, impl in zip(bars, impls):
        bar.set_gid(impl)  # what the bar is, for readers of the figure (and the tests)
    ax.set_yticks(list(ys), [_tick(i) for i in impls], fontsize=8)
    ax.set_ylim(rows - 0.5, -0.5)  # the first bar on top
    wide = max(values) / min(values) > LOG_RANGE
    if wide:
        ax.set_xscale("log")
        ax.set_xlim(min(values) / 2, max(values) * 30)  # room for the labels
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        ax.set_xlim(0, max(values) * 1.6)
        ax.xaxis.set_major_locator(MaxNLocator(4))  # unit-suffixed labels need the room
    ax.xaxis.set_major_formatter(FuncFormatter(lambda s, _: fmt_seconds(s) if s > 0 else "0"))
    ax.tick_params(axis="x", labelsize=7)
    for bar, impl, t in zip(bars, impls, values):
        text = fmt_seconds(t)
        if base is not None and impl != base:
            text += f"  {t / times[base]:.2f}x"
        ax.annotate(text, (t, bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_title(label + (" (log scale)" if wide else ""), fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def figure(results: dict, key: str, only: list[str] | None = None) -> Figure:
    """The chart of workload ``key`` of ``results``: a panel per group, a bar per
    implementation (``only``: just these, in any group that has them). Bars' widths are the
    times in seconds; each bar's ``gid`` is its implementation."""
    w = find_workload(results, key)
    groups = [(g["label"] + (f" ({g['note']})" if g.get("note") else ""),
               {i: t for i, t in g["times"].items() if only is None or i in only})
              for g in w["groups"]]
    groups = [(label, times) for label, times in groups if times]
    if not groups:
        raise ValueError(f"workload {key!r}: none of {only} was timed")
    cols = 2 if len(groups) == 4 else min(len(groups), PANELS_PER_ROW)
    rows = math.ceil(len(groups) / cols)
    bars = max(len(t) for _, t in groups)
    fig = Figure(figsize=(4.6 * cols, rows * (0.24 * bars + 0.9) + 1.3), dpi=DPI,
                 layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, (label, times) in zip(axes, groups):
        _draw_group(ax, label, times, bars)
    for ax in axes[len(groups):]:
        ax.set_visible(False)
    lines = [f"{w['title']}: {w['measure']}, {results.get('device', '?')} on "
             f"{results['machine']}",
             "; ".join(str(x) for x in (results["date"], results.get("source"),
                                        results.get("note")) if x)]
    bases = {_base(times) for _, times in groups} - {None}
    if len(bases) == 1:
        base = bases.pop()
        lines.append(f"labels: time, and its ratio to {base} ({ROLE_TICK[role(base)]})")
    elif bases:
        lines.append("labels: time, and its ratio to the panel's top bar")
    fig.suptitle("\n".join(lines), fontsize=9.5)
    used = {role(i) for _, times in groups for i in times}
    fig.legend(handles=[Patch(color=c, label=lab) for r, (lab, c) in ROLES.items() if r in used],
               loc="outside lower center", ncol=len(used), fontsize=8, frameon=False)
    return fig


def write_png(fig: Figure, path: str) -> str:
    """``fig`` as a PNG at ``path`` (written atomically), in a 256-colour palette: a third
    of the bytes of full colour, for charts committed to the docs; returns ``path``."""
    from PIL import Image  # matplotlib's own dependency

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    image = Image.open(buf).convert("RGB").quantize(colors=256)
    with atomic_write(path, "wb") as fh:
        image.save(fh, format="PNG", optimize=True)
    return path


def write_charts(results: dict, folder: str, prefix: str = "",
                 only: list[str] | None = None, keys: list[str] | None = None) -> list[str]:
    """One PNG per workload of ``results`` (``keys``: just these) in ``folder``, named
    ``<prefix><key>.png``; returns their paths."""
    check_results(results)
    os.makedirs(folder, exist_ok=True)
    keys = [w["key"] for w in results["workloads"]] if keys is None else keys
    return [write_png(figure(results, k, only), os.path.join(folder, f"{prefix}{k}.png"))
            for k in keys]


def write_outputs(results: dict, json_path: str | None, png_dir: str | None,
                  prefix: str = "") -> list[str]:
    """What a report's ``--json PATH`` and ``--png DIR`` ask for: the results saved, the
    charts drawn; returns the paths written."""
    paths = []
    if json_path:
        save_results(results, json_path)
        paths.append(json_path)
    if png_dir:
        paths += write_charts(results, png_dir, prefix)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Draw a saved benchmark run's charts (PNG).")
    ap.add_argument("source", help="results saved with --json (.json) or a GPU report (.md)")
    ap.add_argument("--out", required=True, help="folder for the PNGs")
    ap.add_argument("--prefix", default="", help="file name prefix of the PNGs")
    ap.add_argument("--only", help="comma-separated implementations to draw (default: all)")
    ap.add_argument("--workloads", help="comma-separated workload keys (default: all)")
    args = ap.parse_args(argv)
    results = load_results(args.source)
    paths = write_charts(results, args.out, args.prefix,
                         args.only.split(",") if args.only else None,
                         args.workloads.split(",") if args.workloads else None)
    print("\n".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
