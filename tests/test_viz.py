"""make_dot: the boxes and arrows of known graphs, real pictures (matplotlib, and Graphviz
where ``dot`` is installed or a small stand-in ``dot`` program is put on PATH), bad input."""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import sys

import matplotlib.image
import pytest

import tensorcore as tc
from tensorcore.viz import Digraph, layout, make_dot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def labels(g: Digraph, kind: str) -> list[str]:
    return [label for _, label, k in g.nodes if k == kind]


def dot_counts(source: str) -> tuple[int, int]:
    """Boxes and arrows as written in the DOT text."""
    boxes = re.findall(r"^\t(\w+) \[label=", source, re.M)
    arrows = re.findall(r"^\t\w+ -> \w+", source, re.M)
    return len(boxes), len(arrows)


@pytest.fixture
def small():
    a = tc.ones(2, 3, requires_grad=True)
    b = tc.ones(2, 3, requires_grad=True)
    c = tc.ones(3, requires_grad=True)
    return a, b, c, (a * b + c).sum()


def test_ops_leaves_and_saved_of_a_known_graph(small):
    a, b, c, y = small
    g = make_dot(y, params={"a": a, "b": b, "c": c})
    assert [lab.split("\n")[0] for lab in labels(g, "op")] == [
        "SumBackward0", "AddBackward0", "MulBackward0"]
    assert labels(g, "op")[1] == "AddBackward0\n(2, 3)"
    assert sorted(labels(g, "leaf")) == ["a\n(2, 3)", "b\n(2, 3)", "c\n(3)"]
    # a * b saves both operands (each one's gradient needs the other), named from params
    assert sorted(labels(g, "saved")) == ["saved: a\n(2, 3)", "saved: b\n(2, 3)"]
    assert labels(g, "root") == ["output\n()"]
    # 3 ops + 3 leaves + 2 saved + root; arrows: sum<-add, add<-mul, add<-c, mul<-a,
    # mul<-b, 2 dashed saved arrows, root<-sum
    assert dot_counts(g.source) == (9, 8)
    assert g.source.count("style=dashed") == 2
    assert repr(g) == "<Digraph: 3 ops, 3 leaves, 2 saved tensors, 9 boxes, 8 edges>"
    assert not g.summarised


def test_without_params_and_without_saved_leaves_show_their_shapes(small):
    *_, y = small
    g = make_dot(y, show_saved=False)
    assert sorted(labels(g, "leaf")) == ["(2, 3)", "(2, 3)", "(3)"]
    assert labels(g, "saved") == []
    assert dot_counts(g.source) == (7, 6)


def test_a_tensor_used_twice_is_one_leaf_with_two_arrows():
    x = tc.tensor([1.0, 2.0], requires_grad=True)
    g = make_dot((x * x).sum(), params={"x": x}, show_saved=False)
    assert labels(g, "leaf") == ["x\n(2)"]
    leaf_id = next(nid for nid, _, k in g.nodes if k == "leaf")
    assert sum(src == leaf_id for src, _, _ in g.edges) == 2


def test_model_parameters_are_named():
    model = tc.nn.Sequential(tc.nn.Linear(4, 3), tc.nn.ReLU(), tc.nn.Linear(3, 1))
    loss = model(tc.ones(5, 4)).sum()
    g = make_dot(loss, params=dict(model.named_parameters()))
    names = sorted(lab.split("\n")[0] for lab in labels(g, "leaf"))
    assert names == ["0.bias", "0.weight", "2.bias", "2.weight"]


def test_labels_are_escaped_in_dot():
    w = tc.ones(2, requires_grad=True)
    g = make_dot((w * 2).sum(), params={'w "quoted"\\': w})
    assert 'label="w \\"quoted\\"\\\\\\n(2)"' in g.source


def test_a_chain_of_10000_ops_is_summarised():
    x = tc.ones(3, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0
    g = make_dot(y.sum(), max_nodes=200)
    assert g.summarised and g.hidden == 10_002 - 200  # 10,001 ops and a leaf
    assert "summarised: 9802 more nodes not drawn" in repr(g)
    assert labels(g, "more") == ["... 9802 more nodes"]
    assert g.counts["op"] == 200
    # the kept ops are those nearest the root: the last one kept reads from the summary
    assert [src for src, _, _ in g.edges].count("more") == 1
    png = g.pipe("png")  # the picture of a summarised graph is drawn too
    assert png.startswith(PNG_SIGNATURE)


def test_layout_layers_count_from_the_root_and_reduce_crossings():
    nodes = [(n, n, "op") for n in ("r", "a", "b", "c", "d")]
    # r <- a, r <- b; a <- d, b <- c: the barycenter pass puts c under b and d under a
    edges = [("a", "r", False), ("b", "r", False), ("d", "a", False), ("c", "b", False),
             ("c", "r", False)]
    pos = layout(nodes, edges)
    assert {n: y for n, (_, y) in pos.items()} == {"r": 0, "a": 1, "b": 1, "c": 2, "d": 2}
    assert (pos["a"][0] < pos["b"][0]) == (pos["d"][0] < pos["c"][0])


def test_save_png_with_matplotlib(small, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))  # no dot: matplotlib draws
    *_, y = small
    g = make_dot(y)
    assert g.engine() == "matplotlib"
    out = g.save(tmp_path / "graph.png")
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    assert sorted(os.listdir(tmp_path)) == ["graph.png"]  # no temporary file left
    assert g._repr_png_().startswith(PNG_SIGNATURE)
    assert g._repr_svg_() is None
    svg = g.save(tmp_path / "graph.svg").read_text()
    assert "<svg" in svg
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        g.save(tmp_path / "graph.jpg")
    with pytest.raises(ValueError, match="'png' or 'svg'"):
        g.pipe("pdf")


def _fake_dot(folder, body: str):
    """A stand-in ``dot`` program (a real executable run by a real subprocess)."""
    folder.mkdir()
    script = folder / "dot"
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


FAKE_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'


def test_graphviz_path_through_a_stand_in_dot(small, tmp_path, monkeypatch):
    seen = tmp_path / "stdin.dot"
    _fake_dot(tmp_path / "bin", f"""import sys
data = sys.stdin.buffer.read()
open({str(seen)!r}, "wb").write(data)
assert sys.argv[1:] == ["-Tsvg"], sys.argv
sys.stdout.write({FAKE_SVG!r})
""")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    *_, y = small
    g = make_dot(y)
    assert g.engine() == "dot"
    assert g._repr_svg_() == FAKE_SVG
    assert seen.read_text() == g.source  # our DOT text went to dot's stdin
    assert g._repr_png_() is None
    assert g.save(tmp_path / "g.svg").read_text() == FAKE_SVG


def test_graphviz_failure_is_a_runtime_error(small, tmp_path, monkeypatch):
    _fake_dot(tmp_path / "bin", "import sys\nsys.stderr.write('syntax error in line 3')\n"
                                "sys.exit(1)\n")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    *_, y = small
    with pytest.raises(RuntimeError, match="status 1: syntax error in line 3"):
        make_dot(y).pipe("svg")


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz's dot program is not installed; the stand-in test above "
                           "covers the subprocess path")
def test_real_graphviz(small):
    *_, y = small
    g = make_dot(y)
    assert g._repr_svg_().lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    assert g.pipe("png").startswith(PNG_SIGNATURE)


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("value", [[1.0, 2.0], None, 3.0])
def test_not_a_tensor_is_a_type_error(value):
    with pytest.raises(TypeError, match="expects a Tensor"):
        make_dot(value)


def test_a_tensor_without_a_graph_is_a_value_error():
    with pytest.raises(ValueError, match="has no graph.*requires_grad is False.*grad_fn is None"):
        make_dot(tc.ones(3))
    x = tc.ones(3, requires_grad=True)
    with tc.no_grad():
        y = (x * 2).sum()
    with pytest.raises(ValueError, match="has no graph"):
        make_dot(y)


def test_a_lone_leaf_is_drawn_as_torchviz_does(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here: matplotlib draws
    w = tc.ones(2, 2, requires_grad=True)
    g = make_dot(w, params={"w": w})
    assert g.nodes == [("n0", "w\n(2, 2)", "leaf")] and g.edges == []
    assert g._repr_png_().startswith(PNG_SIGNATURE)


def test_a_graph_freed_by_backward_is_drawn_and_marked(small):
    a, b, c, y = small
    y.backward()
    with pytest.warns(UserWarning, match=r"freed by backward\(\).*retain_graph=True"):
        g = make_dot(y, params={"a": a, "b": b, "c": c})
    assert "MulBackward0\n(2, 3)\n(freed)" in labels(g, "op")
    assert labels(g, "saved") == []  # the saved values are gone
    assert g.freed >= 1 and "freed by backward()" in repr(g)
    assert sorted(lab.split("\n")[0] for lab in labels(g, "leaf")) == ["a", "b", "c"]


def test_a_graph_kept_by_retain_graph_is_not_marked(small):
    *_, y = small
    y.backward(retain_graph=True)
    g = make_dot(y)
    assert g.freed == 0 and len(labels(g, "saved")) == 2


@pytest.mark.parametrize("kwargs, error, match", [
    ({"params": [1, 2]}, TypeError, "params must be a mapping"),
    ({"params": {"w": 1.0}}, TypeError, r"params\['w'\] is a float"),
    ({"max_nodes": 0}, ValueError, "max_nodes must be a positive int"),
    ({"max_nodes": 2.5}, ValueError, "max_nodes must be a positive int"),
    ({"show_saved": "yes"}, TypeError, "show_saved must be a bool"),
])
def test_bad_arguments(small, kwargs, error, match):
    *_, y = small
    with pytest.raises(error, match=match):
        make_dot(y, **kwargs)
