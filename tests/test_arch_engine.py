"""The architecture of the autograd engine, checked on its source (issue 16, item 1).

``autograd/`` sits below ``tensor.py`` and ``ops/``: it imports nothing from them (the
Tensor class is registered, the view refresh is autograd's own). The walk reads in one
sitting. Op modules use the public ``grad_state``, never a private name of the grad mode.
Every node is recorded by one function. A backward learns ``create_graph`` from its ctx.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tensorcore as tc
from tensorcore.autograd import grad_mode

PACKAGE = Path(tc.__file__).resolve().parent
AUTOGRAD = PACKAGE / "autograd"


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _imported_modules(tree: ast.Module, path: Path, top_level_only: bool):
    """(line, absolute module name) of each import in ``tree`` (of the file ``path``)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    nested: set[int] = set()
    if top_level_only:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                nested.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if id(node) in nested:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module
            yield node.lineno, module
            for alias in node.names:  # ``from .. import ops``
                yield node.lineno, f"{module}.{alias.name}"


def _is_under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("path", sorted(AUTOGRAD.glob("*.py")), ids=lambda p: p.name)
def test_autograd_imports_nothing_from_ops_or_tensor(path):
    tree = _tree(path)
    anywhere = [(line, m) for line, m in _imported_modules(tree, path, top_level_only=False)
                if _is_under(m, "tensorcore.ops")]
    assert not anywhere, f"{path.name} imports from tensorcore.ops: {anywhere}"
    top = [(line, m) for line, m in _imported_modules(tree, path, top_level_only=True)
           if _is_under(m, "tensorcore.tensor")]
    assert not top, f"{path.name} imports tensorcore.tensor at module level: {top}"


def test_the_import_checker_sees_relative_imports(tmp_path):
    """The checker above resolves ``from ..ops import x`` (so it can fail)."""
    src = "from ..ops.index import refresh_view\nfrom .. import tensor\n"
    tree = ast.parse(src)
    found = {m for _, m in _imported_modules(tree, AUTOGRAD / "function.py", True)}
    assert "tensorcore.ops.index" in found and "tensorcore.tensor" in found


def _function_span(path: Path, name: str) -> int:
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node.end_lineno - node.lineno + 1
    raise AssertionError(f"{name} not found in {path.name}")


def test_engine_reads_in_one_sitting():
    engine = AUTOGRAD / "engine.py"
    assert len(engine.read_text().splitlines()) <= 300
    assert _function_span(engine, "run_backward") <= 60


def _python_files_outside_autograd():
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if AUTOGRAD not in p.parents and "kernels" not in p.relative_to(PACKAGE).parts)


def test_no_private_grad_state_outside_autograd():
    """Op modules read ``grad_state`` (public) and never write it: grad mode changes go
    through no_grad / enable_grad / set_grad_enabled."""
    private = {name for name in vars(grad_mode) if name.startswith("_")
               and not name.startswith("__")} | {"_State"}
    offences = []
    for path in _python_files_outside_autograd():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.endswith("grad_mode"):
                offences += [(path.name, node.lineno, a.name) for a in node.names
                             if a.name in private]
            elif isinstance(node, ast.Name) and node.id == "_State":
                offences.append((path.name, node.lineno, node.id))
            elif isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for sub in ast.walk(t):
                        if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                                and sub.value.id == "grad_state"):
                            offences.append((path.name, node.lineno, "grad_state write"))
    assert not offences, offences


def test_grad_state_holds_the_grad_mode_only():
    """No lane flag (the old ``raw``) toggled around calls: the state is the grad mode and
    anomaly mode."""
    fields = {n for n in vars(grad_mode.GradState) if not n.startswith("_")}
    assert fields == {"enabled", "anomaly"}


def test_one_function_records_every_node():
    """Only ``record_node`` makes a Function a graph node (sets its edges and its place in
    creation order); ``apply`` and ``apply_plain`` both end in it."""
    setters = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "kernels" in path.relative_to(PACKAGE).parts:
            continue
        tree = _tree(path)
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and any(
                        isinstance(t, ast.Attribute) and t.attr in ("_edges", "_seq")
                        for t in node.targets):
                    setters.append((path.name, fn.name))
    assert set(setters) == {("function.py", "record_node")}, setters
    source = (AUTOGRAD / "function.py").read_text()
    calls = {fn.name for fn in ast.walk(ast.parse(source)) if isinstance(fn, ast.FunctionDef)
             and any(isinstance(c, ast.Call) and getattr(c.func, "id", None) == "record_node"
                     for c in ast.walk(fn))}
    assert {"apply", "apply_plain"} <= calls


class _SeesCreateGraph(tc.autograd.Function):
    seen: list = []

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        _SeesCreateGraph.seen.append(ctx.create_graph)
        return g * 2


@pytest.mark.parametrize("create_graph", [False, True])
def test_a_backward_sees_create_graph_through_ctx(device, create_graph):
    _SeesCreateGraph.seen = []
    x = tc.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = _SeesCreateGraph.apply(x).sum()
    (g,) = tc.autograd.grad(y, x, create_graph=create_graph)
    assert _SeesCreateGraph.seen == [create_graph]
    assert g.tolist() == [2.0, 2.0]


def test_an_array_backward_sees_create_graph_too(device):
    """Built-in ops with a fused first-order backward read ``ctx.create_graph`` to take
    their differentiable path: ``prod`` over a zero is refused only when recorded."""
    x = tc.tensor([0.0, 2.0, 3.0], requires_grad=True, device=device)
    (g,) = tc.autograd.grad(x.prod(), x)
    assert g.tolist() == [6.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="double backward"):
        tc.autograd.grad(x.prod(), x, create_graph=True)
