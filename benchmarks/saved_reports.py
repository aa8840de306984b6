"""Read the timing tables of a saved Markdown GPU report (``docs/gpu-reports/*.md``) back
into the results dict of ``charts.py``, so that runs made before ``gpu_report.py --json``
existed can be charted without a GPU.

It knows the tables ``gpu_report.py`` prints (MLP steps, the fused layer, TF32, the
elementwise entry points) and the step headings of ``profile_step.py``
(``### tc-auto+graph, large step: 0.821 ms per step; ...``; a step profiled twice keeps its
minimum). The GPU's name comes from the report's ``- GPU: **NAME**`` line or its
``Machine: NAME,`` line, the date from the file name (``2026-11-27-1909-...``) or the first
heading.
"""

from __future__ import annotations

import os
import re

from charts import check_results, workload

# table heading (its start) -> (workload key, title, measure, seconds per unit of its cells)
TABLES = {
    "MLP training step on cuda (ms per step)":
        ("mlp", "MLP training step", "time per step", 1e-3),
    "Fused linear + ReLU, forward + backward, float32 (ms":
        ("layer", "Fused linear + ReLU, forward + backward, float32", "time per call", 1e-3),
    "TF32: ": ("tf32", "Linear + ReLU forward + backward, float32 and TF32 (+tf32)",
               "time per call", 1e-3),
    "Fused elementwise entry points, float32 n x n (us per call)":
        ("elementwise", "Fused elementwise entry points, float32 n x n", "time per call", 1e-6),
}
PROFILE_HEADING = re.compile(r"^### (\S+), (\w+) step: ([0-9.]+) ms per step")
NUMBER = re.compile(r"^\**([0-9]+(?:\.[0-9]+)?)\**")  # a cell's leading number, bold or not


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _seconds(cell: str, unit: float) -> float | None:
    """A table cell's time (``0.118``, ``**0.092**``, ``1.055 (48.8, 73%)``), or None for a
    cell without one (``-``, an error)."""
    m = NUMBER.match(cell)
    return float(m.group(1)) * unit if m else None


def _tables(lines: list[str]):
    """``(heading, header cells, rows of cells)`` of each Markdown table, under its last
    ``###`` heading."""
    heading = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("### "):
            heading = line[4:].strip()
        elif (line.startswith("|") and i + 1 < len(lines)
              and re.match(r"^\|\s*:?-{3}", lines[i + 1])):
            header, rows = _cells(line), []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            yield heading, header, rows
            continue
        i += 1


def _machine(text: str, path: str) -> str:
    m = (re.search(r"^- GPU: \*\*(.+?)\*\*", text, re.M)
         or re.search(r"Machine: (NVIDIA [^,;]+)", text))
    if m is not None:
        return m.group(1).strip()
    m = re.match(r"# ([A-Z]\d+), ", text)  # a profile's heading: "# H200, 2026-11-27 ..."
    if m is None:
        raise ValueError(f"{path}: no GPU named (neither '- GPU: **NAME**', "
                         "'Machine: NVIDIA ...' nor a heading '# H200, ...')")
    return f"NVIDIA {m.group(1)}"


def _date(text: str, path: str) -> str:
    m = (re.search(r"(\d{4}-\d{2}-\d{2})-(\d{2})(\d{2})", os.path.basename(path))
         or re.search(r"^# .*?(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}) UTC", text, re.M))
    return f"{m.group(1)} {m.group(2)}:{m.group(3)} UTC" if m else "date unknown"


def parse_report(path: str) -> dict:
    """The results (``charts.py``'s dict) of the saved report at ``path``; ValueError when
    it names no GPU or holds no timing table."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    lines = text.splitlines()
    found = {}  # key -> (title, measure, {group: {impl: seconds}})
    for heading, header, rows in _tables(lines):
        spec = next((v for k, v in TABLES.items() if heading.startswith(k)), None)
        if spec is None:
            continue
        key, title, measure, unit = spec
        labels = 2 if key == "elementwise" else 1  # op and n name an elementwise row
        groups = found.setdefault(key, (title, measure, {}))[2]
        for row in rows:
            label = (f"{row[0]}, n = {row[1]}" if labels == 2
                     else row[0] if key == "mlp" else f"n = {row[0]}")
            times = groups.setdefault(label, {})
            for impl, cell in zip(header[labels:], row[labels:]):
                t = _seconds(cell, unit)
                if t is not None:
                    times[impl] = min(t, times.get(impl, t))
    for line in lines:  # profile_step.py's step headings: the best of repeated profiles
        m = PROFILE_HEADING.match(line)
        if m:
            impl, size, ms = m.group(1), m.group(2), float(m.group(3)) * 1e-3
            groups = found.setdefault("mlp-profile", (
                "MLP training step, kernel profile (profile_step.py)", "time per step", {}))[2]
            times = groups.setdefault(size, {})
            times[impl] = min(ms, times.get(impl, ms))
    if not found:
        raise ValueError(f"{path}: no timing table of gpu_report.py or profile_step.py found")
    command = re.search(r"Commands?: `([^`]+)`", text)
    results = {"machine": _machine(text, path), "device": "cuda", "date": _date(text, path),
               "source": "docs/gpu-reports/" + os.path.basename(path),
               "command": command.group(1) if command else None,
               "workloads": [workload(k, t, m, g) for k, (t, m, g) in found.items()]}
    check_results(results)
    return results
