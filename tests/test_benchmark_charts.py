"""``benchmarks/charts.py`` (the reports' PNG charts) and ``benchmarks/saved_reports.py`` (the
saved Markdown GPU reports read back): real PNG files, the bars' widths against the input
times, the references' bars, the parser against the reports in ``docs/gpu-reports``."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import pytest
from helpers import import_benchmark_script
from matplotlib.colors import to_rgba

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORTS = os.path.join(ROOT, "docs", "gpu-reports")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def charts(monkeypatch):
    return import_benchmark_script("charts", monkeypatch)


@pytest.fixture
def saved(charts, monkeypatch):
    return import_benchmark_script("saved_reports", monkeypatch)


TIMES = {"tiny": {"tc-numba": 94e-6, "numpy-floor": 48e-6, "torch": 140e-6,
                  "tc-numba-compiled": 41e-6},
         "small": {"tc-numba": 2.41e-3, "numpy-floor": 2.51e-3, "torch": 2.32e-3,
                   "tc-numba-compiled": 2.81e-3}}


def _results(charts, times=TIMES):
    return {"machine": "Test CPU, 2 CPUs", "device": "cpu", "date": "2026-12-07 02:00 UTC",
            "source": "a test", "workloads": [charts.workload("mlp", "MLP training step",
                                                              "time per step", times)]}


def _bars(ax) -> dict:
    return {p.get_gid(): p for p in ax.patches if p.get_gid()}


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(24)
    assert head[:8] == PNG_SIGNATURE
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


def test_a_workload_is_written_as_a_real_png_atomically(charts, tmp_path):
    (path,) = charts.write_charts(_results(charts), str(tmp_path / "out"), prefix="cpu-")
    assert path == str(tmp_path / "out" / "cpu-mlp.png")
    fig = charts.figure(_results(charts), "mlp")
    width, height = _png_size(path)
    assert (width, height) == (round(fig.get_figwidth() * charts.DPI),
                               round(fig.get_figheight() * charts.DPI))
    assert 10_000 < os.path.getsize(path) < 300_000
    assert os.listdir(tmp_path / "out") == ["cpu-mlp.png"]  # no temporary file left


def test_bars_are_the_input_times_with_references_first_and_labelled(charts):
    fig = charts.figure(_results(charts), "mlp")
    axes = [ax for ax in fig.axes if ax.patches]
    assert [ax.get_title() for ax in axes] == ["tiny", "small"]
    for ax, times in zip(axes, TIMES.values()):
        bars = _bars(ax)
        assert {impl: bar.get_width() for impl, bar in bars.items()} == times
        # the NumPy floor on top, then PyTorch, then tensorcore in the given order
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert ticks == ["numpy-floor (NumPy floor)", "torch (PyTorch)", "tc-numba",
                         "tc-numba-compiled"]
        assert bars["numpy-floor"].get_y() < bars["torch"].get_y() < bars["tc-numba"].get_y()
        assert bars["numpy-floor"].get_facecolor() == to_rgba(charts.ROLES["floor"][1])
        assert bars["torch"].get_facecolor() == to_rgba(charts.ROLES["pytorch"][1])
        labels = {t.get_text() for t in ax.texts}
        floor = times["numpy-floor"]
        assert charts.fmt_seconds(floor) in labels
        assert f"{charts.fmt_seconds(times['torch'])}  {times['torch'] / floor:.2f}x" in labels
        assert ax.get_xscale() == "linear"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["NumPy floor (no autodiff)", "PyTorch", "tensorcore, eager",
                      "tensorcore, compiled / CUDA graph"]
    assert "Test CPU" in fig.get_suptitle()
    assert "2026-12-07 02:00 UTC" in fig.get_suptitle()


def test_wide_ranges_get_a_log_axis_and_only_keeps_the_named_bars(charts):
    times = {"n = 64": {"torch-cuda": 2e-4, "cupy+graph": 2e-5, "cublas": 2e-5},
             "n = 8192": {"torch-cuda": 6.4e-2, "cublas": 2.1e-2, "numba": 1.1e-1}}
    fig = charts.figure(_results(charts, times), "mlp")
    assert [ax.get_xscale() for ax in fig.axes if ax.patches] == ["linear", "linear"]
    wide = {"n = 64": {"torch-cuda": 2e-4, "cupy+graph": 2e-6}}
    (ax,) = [ax for ax in charts.figure(_results(charts, wide), "mlp").axes if ax.patches]
    assert ax.get_xscale() == "log"
    assert {i: b.get_width() for i, b in _bars(ax).items()} == wide["n = 64"]
    fig = charts.figure(_results(charts, times), "mlp", only=["torch-cuda", "numba"])
    got = [{i: b.get_width() for i, b in _bars(ax).items()} for ax in fig.axes if ax.patches]
    assert got == [{"torch-cuda": 2e-4}, {"torch-cuda": 6.4e-2, "numba": 1.1e-1}]
    assert charts.role("cublas") == "cublas" and charts.role("gemms") == "cublas"
    assert charts.role("tc-unfused") == "tensorcore"  # not a compiled one for its "fused"


def test_bad_input_is_a_clear_value_error(charts, tmp_path):
    good = _results(charts)
    with pytest.raises(ValueError, match="no workload"):
        charts.write_charts(dict(good, workloads=[]), str(tmp_path))
    with pytest.raises(ValueError, match="unknown workload 'layer'.*'mlp'"):
        charts.figure(good, "layer")
    with pytest.raises(ValueError, match="lack machine"):
        charts.figure({"date": "x", "workloads": good["workloads"]}, "mlp")
    empty = charts.workload("mlp", "MLP", "time per step", {"tiny": {}})
    with pytest.raises(ValueError, match="'mlp' has no timed implementation"):
        charts.figure(dict(good, workloads=[empty]), "mlp")
    negative = charts.workload("mlp", "MLP", "time per step", {"tiny": {"tc-numba": -1.0}})
    with pytest.raises(ValueError, match="time of tc-numba must be a positive number"):
        charts.figure(dict(good, workloads=[negative]), "mlp")
    with pytest.raises(ValueError, match="none of \\['torch-cuda'\\] was timed"):
        charts.figure(good, "mlp", only=["torch-cuda"])
    assert not os.listdir(tmp_path)


def test_saved_results_are_redrawn_by_the_command_line(charts, tmp_path):
    path = str(tmp_path / "run.json")
    charts.save_results(_results(charts), path)
    assert charts.load_results(path) == json.loads(json.dumps(_results(charts)))
    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "charts.py"), path,
                          "--out", str(tmp_path / "png"), "--prefix", "cpu-"],
                         capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == [str(tmp_path / "png" / "cpu-mlp.png")]
    _png_size(tmp_path / "png" / "cpu-mlp.png")
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "charts.py"), path,
                          "--out", str(tmp_path / "png"), "--workloads", "chain"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "unknown workload 'chain'" in bad.stderr


# -- saved Markdown reports ---------------------------------------------------------------------
def test_an_h200_mlp_report_is_read_back(saved):
    results = saved.parse_report(os.path.join(REPORTS, "2026-11-27-1909-h200-tests-host-mlp.md"))
    assert results["machine"] == "NVIDIA H200"
    assert results["date"] == "2026-11-27 19:09 UTC"
    assert results["source"] == "docs/gpu-reports/2026-11-27-1909-h200-tests-host-mlp.md"
    assert "run_on_gpu.sh" in results["command"]
    (mlp,) = results["workloads"]
    assert mlp["key"] == "mlp" and [g["label"] for g in mlp["groups"]] == ["tiny", "small",
                                                                             "large"]
    small = mlp["groups"][1]["times"]
    assert len(small) == 15
    assert small["tc-auto+graph"] == pytest.approx(0.092e-3)
    assert small["torch-cuda"] == pytest.approx(0.969e-3)
    assert mlp["groups"][2]["times"]["tc-cupy+graph:numba"] == pytest.approx(2.668e-3)


def test_layer_elementwise_and_profile_tables_are_read_back(saved):
    layer_run = saved.parse_report(os.path.join(REPORTS, "2026-11-27-1810-h200-mlp-layer.md"))
    layer = next(w for w in layer_run["workloads"] if w["key"] == "layer")
    groups = {g["label"]: g["times"] for g in layer["groups"]}
    assert list(groups) == [f"n = {n}" for n in (64, 128, 256, 512, 1024, 2048, 4096, 8192)]
    assert groups["n = 64"]["numba"] == pytest.approx(0.118e-3)
    assert groups["n = 8192"]["cupy"] == pytest.approx(64.110e-3)  # "64.110 (51.5, 77%)"
    assert "numba+one" not in groups["n = 2048"]  # "-": not timed
    full = saved.parse_report(os.path.join(REPORTS, "2026-11-27-1739-h200-full.md"))
    assert [w["key"] for w in full["workloads"]] == ["mlp", "layer", "tf32", "elementwise"]
    elementwise = full["workloads"][3]["groups"][0]
    assert elementwise["label"] == "act_backward, n = 64"
    h100 = saved.parse_report(os.path.join(REPORTS, "2026-11-27-1923-h100-profile.md"))
    assert h100["machine"] == "NVIDIA H100 80GB HBM3"
    (profile,) = h100["workloads"]
    large, small = ({k: pytest.approx(v) for k, v in g["times"].items()}
                    for g in profile["groups"])
    # profiled twice: 0.749 and 0.754 ms, 0.821 and 0.813 ms; the best is kept
    assert large == {"gemms": 0.749e-3, "tc-auto+graph": 0.813e-3, "tc-auto": 1.829e-3}
    assert small == {"tc-auto+graph": 0.100e-3, "torch-cuda": 1.279e-3, "tc-auto": 1.286e-3}
    before = saved.parse_report(os.path.join(REPORTS, "2026-11-27-1849-h200-profile-before.md"))
    assert before["machine"] == "NVIDIA H200"  # named by the heading "# H200, ..."


def test_a_report_without_timings_or_gpu_is_a_value_error(saved, tmp_path):
    with pytest.raises(ValueError, match="no timing table"):
        saved.parse_report(os.path.join(REPORTS, "2026-11-27-1817-h200-host.md"))
    nameless = tmp_path / "2026-12-07-0100-run.md"
    nameless.write_text("### MLP training step on cuda (ms per step)\n\n| size | tc-auto |\n"
                        "|---|---|\n| tiny | 0.5 |\n")
    with pytest.raises(ValueError, match="no GPU named"):
        saved.parse_report(str(nameless))


def charts_of(run):
    return sys.modules["charts"]  # imported by report.results, from benchmarks/


def test_report_py_results_hold_every_minimum(monkeypatch):
    report = import_benchmark_script("report", monkeypatch)
    W = report.W
    chain = {v: {i: {"min": 1e-6 * (n + 1), "quiet": True}
                 for n, i in enumerate(W.available_chain_impls())}
             for v in ("fwd+bwd", "fwd under no_grad")}
    mlp = {s: {i: {"min": 1e-4 * (n + 1), "quiet": s == "tiny"}
               for n, i in enumerate(W.available_mlp_impls())}
           for s in ("tiny", "small")}
    run = report.results(chain, mlp, "2026-12-07 02:00 UTC", ["--budget", "0.5"], 0.25)
    assert run["command"] == "python benchmarks/report.py --budget 0.5"
    assert run["note"] == "other processes used 25% of the CPUs"
    assert run["machine"].endswith(f"CPUs, --threads {W.NUM_THREADS}")
    keys = [w["key"] for w in run["workloads"]]
    assert keys[0] == "chain" and "mlp" in keys
    for w in run["workloads"]:
        source = chain if w["key"] == "chain" else mlp
        for g in w["groups"]:
            assert g["times"] == {i: source[g["label"]][i]["min"] for i in g["times"]}
            if w["key"] != "chain":
                assert "numpy-floor" in g["times"]  # every MLP chart has its floor
                # a size timed without a quiet block says so in its panel
                assert g.get("note") == (None if g["label"] == "tiny" else "NONE QUIET")
    fig = charts_of(run).figure(run, "mlp")
    assert [ax.get_title() for ax in fig.axes] == ["tiny", "small (NONE QUIET)"]
