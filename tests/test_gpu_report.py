"""``benchmarks/gpu_report.py`` end to end without a GPU, so that a lent GPU's few minutes are
never lost to a broken report: its every table and summary line built on the NumPy stand-in
GPU, with a fake ``cupy`` module for the timers and a capture that runs the step in graph mode
instead of recording it. Timings are stubbed (one call each): this checks the flow and the
layout, not speed."""

from __future__ import annotations

import ast
import functools
import os
import re
import sys
import types

import numpy as np
import pytest
from helpers import forget_cuda_backends, serve_cuda_with

import tensorcore as tc
from tensorcore import backends

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "benchmarks")
pytestmark = pytest.mark.skipif(tc.cuda.is_available(),
                                reason="a GPU is here: run_on_gpu.sh runs the real report")
# the one cell that needs CuPy's own kernels (the stand-in has none)
NEEDS_REAL_CUPY = ("cuda_cupy.bias_act_forward alone",)


def _fake_cupy() -> types.ModuleType:
    """What the report uses of CuPy: arrays, events, device synchronization, properties."""
    cupy = types.ModuleType("cupy")
    cupy.__version__ = "fake"
    cupy.is_available = lambda: True
    cupy.asarray, cupy.empty = np.asarray, np.empty

    class Event:
        def record(self):
            pass

        def synchronize(self):
            pass

    properties = {"name": b"Stand-in", "multiProcessorCount": 1, "totalGlobalMem": 2 ** 30}
    cupy.cuda = types.SimpleNamespace(
        Event=Event, Device=lambda *a: types.SimpleNamespace(synchronize=lambda: None),
        get_elapsed_time=lambda start, end: 0.1,
        runtime=types.SimpleNamespace(getDeviceProperties=lambda i: properties,
                                      runtimeGetVersion=lambda: 0,
                                      driverGetVersion=lambda: 0))
    return cupy


def _capture_in_graph_mode(step, *inputs, warmup=2):
    """``tc.cuda.graphs.capture`` as far as a stand-in goes: the probe and the paths of graph
    mode, with the step run instead of replayed."""
    backend = backends.get_backend("cuda")
    backend.prepare_capture()

    def in_graph_mode():
        backend.runtime.graph_mode = True
        try:
            return step(*inputs)
        finally:
            backend.runtime.graph_mode = False

    for _ in range(warmup):
        in_graph_mode()
    return types.SimpleNamespace(replay=lambda *new: in_graph_mode())


def _one_call(fn, *args, seconds: float, **kwargs) -> float:
    """A timer stub: ``fn`` runs once (so its errors show), ``seconds`` is its time."""
    fn()
    return seconds


@pytest.fixture
def report(monkeypatch):
    from standin_cuda import StandInCupy

    monkeypatch.syspath_prepend(BENCHMARKS)
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    serve_cuda_with(monkeypatch, StandInCupy)
    import gpu_report

    monkeypatch.setattr(gpu_report, "LAYER_SIDES", (64,))
    monkeypatch.setattr(gpu_report, "TF32_SIDES", (64,))
    monkeypatch.setattr(gpu_report, "time_gpu", functools.partial(_one_call, seconds=1e-4))
    monkeypatch.setattr(gpu_report, "host_cost_per_call",
                        functools.partial(_one_call, seconds=1e-5))
    monkeypatch.setattr(tc.cuda.graphs, "capture", _capture_in_graph_mode)
    monkeypatch.setattr(gpu_report, "torch_cuda", lambda: None)
    yield gpu_report
    forget_cuda_backends()


def _table_rows(text: str, header: str) -> list[list[str]]:
    """The body rows of the markdown table under ``header``, as lists of cells."""
    block = text.split(header, 1)[1].split("\n\n", 2)[1]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in block.splitlines()]
    return rows[2:]  # after the column names and the |---| line


def test_every_table_and_summary_line_is_built(report, capsys):
    assert report.main(["--tests", "none", "--sizes", "tiny", "--quick"]) == 0
    text = capsys.readouterr().out
    for header in ("## GPU benchmarks", "### Host cost per launch", "### MLP training step",
                   "### Fused linear + ReLU", "### Fused elementwise entry points",
                   "### TF32"):
        assert header in text
    errors = [line for line in text.splitlines() if re.search(r"\*\*\w+(Error|Exception)\*\*",
                                                              line)
              and not line.startswith(tuple(f"| {label}" for label in NEEDS_REAL_CUPY))]
    assert not errors, "\n".join(errors)

    impls = report.available_gpu_mlp_impls()
    (tiny,) = _table_rows(text, "### MLP training step")
    assert tiny[0] == "tiny" and len(tiny) == 1 + len(impls)
    assert all(re.fullmatch(r"\d+\.\d{3}", c) for c in tiny[1:]), tiny
    assert f"max relative difference from the NumPy floor after 2 steps, tiny: {impls[0]} " \
        in text
    assert "- eager, fastest tc step against torch-cuda (the target: 2x at small): " \
        "torch-cuda was not timed" in text  # no PyTorch here
    assert "tc-auto+compiled" in impls and not any(i.startswith("torch") for i in impls)
    assert "- compiled against torch-cuda+graph, PyTorch's whole step in a CUDA graph (the " \
        "target: >= 1.00x at small): torch-cuda+graph was not timed" in text
    # the compiled column's calls while timed: the warm-up's, then the timer stub's one call
    calls = re.search(r"tc-auto\+compiled tiny (\{[^}]*\})", text).group(1)
    assert sum(ast.literal_eval(calls).values()) == report.W.COMPILE_WARMUP + report.LAYER_PASSES

    (layer,) = _table_rows(text, "### Fused linear + ReLU")
    assert layer[0] == "64" and all(re.match(r"\d+\.\d{3}( \(|$)", c) for c in layer[1:])
    for line in ("- eager, fastest fused layer against unfused: 64: ",
                 "- in a graph, fastest fused layer against unfused+graph: 64: ",
                 "- linear_act: "):
        assert line in text

    (tf32,) = _table_rows(text, "### TF32")
    assert tf32[0] == "64" and len(tf32) == 5 and all(re.match(r"\d+\.\d{3} \(", c)
                                                      for c in tf32[1:]), tf32
    assert "- with TF32 against float32: 64: cupy 1.00x, cublas 1.00x" in text
    # 0.1 ms per call: the layer's 6n^3 FLOP, and ONE GEMM's 2n^3 (cublas+tf32 as cublas)
    assert tf32[2] == "0.100 (0.0157, 0.0032%)" and tf32[4] == "0.100 (0.00524, 0.0011%)"
    assert tc.get_float32_matmul_precision() == "highest"  # as it was before the report

    probes = {row[0]: row[1] for row in _table_rows(text, "### Host cost per launch")}
    assert set(probes) == set(report.launch_probes())
    assert probes["64^3 GEMM x @ w.T: tensorcore's cuBLAS handle (kernels.cuda_cublas)"] \
        == "10.0"


def test_variants_switch_what_they_name_for_the_step_only(report, monkeypatch):
    """``+read`` reads the targets' range back from the GPU (the plain step knows it from
    the host), ``+cublas`` takes the own cuBLAS handle, chained; both are back as they were
    after the step."""
    from standin_cuda import ClaimingCupy, StandInCupy

    # the softmax cross-entropy on a fused path (the unfused one always reads the range)
    path = StandInCupy.kernel_path
    monkeypatch.setattr(StandInCupy, "kernel_path", lambda self, op, work, dtype: "cupy"
                        if op == "softmax_ce" else path(self, op, work, dtype))
    table = StandInCupy.kernel_table
    monkeypatch.setitem(table, ("softmax_ce", "cupy"), ClaimingCupy.kernel_table["softmax_ce",
                                                                                 "cupy"])
    monkeypatch.setitem(table, ("softmax_ce_backward", "cupy"),
                        table["softmax_ce_backward", "unfused"])
    checks = []  # the range checks that read the targets back (no max known on the host)
    monkeypatch.setattr(StandInCupy, "check_class_targets",
                        lambda self, target, n, known_max=None:
                        checks.append(n) if known_max is None else None)
    backend, original = backends.get_backend("cuda"), tc.Tensor.class_index_max
    for impl, want_checks, want_own_gemms in (("tc-cupy", 0, 0), ("tc-cupy+read", 1, 0),
                                              ("tc-cupy+cublas+read", 1, 5)):
        step = report.make_gpu_mlp_step(impl, "tiny")[0]
        checks.clear()
        backend.kernel_calls.clear()
        step()
        assert (len(checks), backend.kernel_calls["matmul", "cublas"]) == \
            (want_checks, want_own_gemms), impl
        assert tc.Tensor.class_index_max is original and backend.eager_gemm == "cupy"
    monkeypatch.setattr(backend, "eager_gemm", "cublas")  # as TENSORCORE_EAGER_GEMM=cublas
    report.make_gpu_mlp_step("tc-cupy+cublas", "tiny")[0]()
    assert backend.eager_gemm == "cublas"  # put back as it was, not to a default


def test_sections_run_only_what_they_name(report, capsys):
    assert report.main(["--tests", "none", "--sizes", "tiny", "--sections", "mlp,tf32"]) == 0
    headings = [line for line in capsys.readouterr().out.splitlines()
                if line.startswith("### ")]
    assert [h.split()[1] for h in headings] == ["Tests", "MLP", "TF32:"]
    with pytest.raises(SystemExit):
        report.main(["--sections", "mlp,speed"])
    assert "unknown sections ['speed']" in capsys.readouterr().err


def test_json_and_png_hold_the_printed_times(report, capsys, tmp_path):
    """``--json`` saves what the Markdown tables print (read back by saved_reports.py, as
    the docs' GPU charts are) and ``--png`` draws one chart per timed workload."""
    import charts
    import saved_reports

    run, folder = tmp_path / "run.json", tmp_path / "png"
    assert report.main(["--tests", "none", "--sizes", "tiny,small", "--sections",
                        "mlp,layer,tf32", "--json", str(run), "--png", str(folder)]) == 0
    printed = tmp_path / "2026-12-07-0300-standin.md"
    printed.write_text(capsys.readouterr().out)
    saved, parsed = charts.load_results(str(run)), saved_reports.parse_report(str(printed))
    assert saved["machine"] == parsed["machine"] == "Stand-in"
    assert sorted(os.listdir(folder)) == ["gpu-layer.png", "gpu-mlp.png", "gpu-tf32.png"]
    for key in ("mlp", "layer", "tf32"):
        got = {g["label"]: g["times"] for g in charts.find_workload(saved, key)["groups"]}
        want = {g["label"]: g["times"] for g in charts.find_workload(parsed, key)["groups"]}
        assert got == {n: {i: pytest.approx(t) for i, t in times.items()}
                       for n, times in want.items()}, key
    assert set(got["n = 64"]) == {"cupy", "cupy+tf32", "cublas", "cublas+tf32"}
    assert charts.find_workload(saved, "mlp")["groups"][0]["times"]["tc-auto"] == \
        pytest.approx(1e-4)  # the stubbed timer's 0.1 ms


class _FakeTensor:
    """What the torch capture uses of a tensor: ``clone`` and ``copy_``."""

    def __init__(self, value):
        self.value = value

    def clone(self):
        return _FakeTensor(self.value)

    def copy_(self, other):
        self.value = other.value


def _fake_torch(events: list):
    """``torch.cuda`` as far as a whole-step capture uses it, logging each call in
    ``events``; a graph's replay logs ``replay``."""
    import contextlib

    class Stream:
        def __init__(self, name="side"):
            self.name = name

        def wait_stream(self, other):
            events.append(f"{self.name} waits for {other.name}")

    @contextlib.contextmanager
    def on(kind, what):
        events.append(f"enter {kind}")
        yield what
        events.append(f"exit {kind}")

    class CUDAGraph:
        def replay(self):
            events.append("replay")

    cuda = types.SimpleNamespace(Stream=Stream, current_stream=lambda: Stream("current"),
                                 stream=lambda s: on("stream " + s.name, s),
                                 CUDAGraph=CUDAGraph, graph=lambda g: on("graph", g))
    return types.SimpleNamespace(cuda=cuda)


def test_torch_whole_step_capture_warms_up_aside_captures_once_and_copies_each_batch(
        monkeypatch):
    monkeypatch.syspath_prepend(BENCHMARKS)
    import torch_graph

    events, x, y = [], _FakeTensor("x0"), _FakeTensor("y0")

    def step():  # reads the static inputs, as the real step does
        events.append(f"step on {x.value}, {y.value}")
        return f"loss {len(events)}"

    replay = torch_graph.capture_step(_fake_torch(events), step, (x, y), warmup=2)
    assert events == ["side waits for current", "enter stream side", "step on x0, y0",
                      "step on x0, y0", "exit stream side", "current waits for side",
                      "enter graph", "step on x0, y0", "exit graph"]
    captured_loss = "loss 8"
    events.clear()
    x.value, y.value = "stale", "stale"  # what a replay must overwrite with the batch
    assert replay() == captured_loss and replay() == captured_loss
    assert events == ["replay", "replay"] and (x.value, y.value) == ("x0", "y0")
