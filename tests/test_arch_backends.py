"""The backend contract, checked against the code that relies on it.

* every ``xp`` function used outside ``tensorcore/backends/`` (attributes of a name or an
  attribute called ``xp``, and ``getattr(xp, "name")`` without a default) is listed in
  ``contract.XP_FUNCTIONS``, and every backend's ``xp`` has them all;
* every registered backend class (numpy, numba, cupy, and the stand-in GPU) provides every
  method and attribute of ``contract.Backend`` with the contract's parameters, and a ``cuda``
  backend implements the capture protocol that ``tensorcore.cuda.graphs`` uses, which uses
  nothing else of a backend;
* the stand-in's runtime serves what ``CupyRuntime`` serves, but for the GPU-only parts.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from standin_cuda import ClaimingCupy, NumpyRuntime, StandInCupy

import tensorcore as tc
from tensorcore import backends
from tensorcore.backends import contract
from tensorcore.backends.contract import Backend

PACKAGE = Path(tc.__file__).parent
CAPTURE_PROTOCOL = ("capturing", "prepare_capture", "side_stream", "graph_mode",
                    "allocating_from", "record", "join_stream", "replay_graph")


def xp_names(source: str) -> set[tuple[str, int]]:
    """``(name, line)`` of each ``xp.name`` (``xp`` a name or an attribute, as in
    ``backend.xp.name``) and ``getattr(xp, "name")`` without a default in ``source``."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _is_xp(node.value):
            found.add((node.attr, node.lineno))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "getattr" and len(node.args) == 2 and _is_xp(node.args[0])
              and isinstance(node.args[1], ast.Constant)
              and isinstance(node.args[1].value, str)):
            found.add((node.args[1].value, node.lineno))
    return found


def _is_xp(node) -> bool:
    return (isinstance(node, ast.Name) and node.id == "xp") or \
        (isinstance(node, ast.Attribute) and node.attr == "xp")


def unlisted_xp_functions(files) -> list[str]:
    """``path:line: xp.name`` for each use of an ``xp`` function not in ``XP_FUNCTIONS``."""
    listed = set(contract.XP_FUNCTIONS)
    return sorted(f"{path}:{line}: xp.{name}" for path, source in files
                  for name, line in xp_names(source) if name not in listed)


def _sources_outside_the_backends():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] not in ("backends", "kernels"):  # kernels: reached through the backends
            yield str(path.relative_to(PACKAGE.parent)), path.read_text()


def test_every_xp_function_used_outside_the_backends_is_in_the_contract():
    files = list(_sources_outside_the_backends())
    assert len(files) > 50 and any(name.endswith("ops/arith.py") for name, _ in files)
    assert sum(len(xp_names(source)) for _, source in files) > 100  # the scan sees them
    assert unlisted_xp_functions(files) == []


def test_the_xp_check_catches_an_unlisted_function():
    source = ("def f(backend, a):\n"
              "    xp = backend.xp\n"
              "    b = xp.exp(a) + backend.xp.frobnicate(a)\n"
              "    return getattr(xp, 'wibble')(b), getattr(xp, 'errstate', None)\n"
              "    return a._backend.xp.sum(b)\n")
    assert xp_names(source) == {("exp", 3), ("frobnicate", 3), ("wibble", 4), ("sum", 5)}
    assert unlisted_xp_functions([("f.py", source)]) == ["f.py:3: xp.frobnicate",
                                                         "f.py:4: xp.wibble"]


def _registered_classes() -> list[type]:
    classes = []
    for implementations in backends._IMPLEMENTATIONS.values():
        for target in implementations.values():
            if isinstance(target, str):  # "module:Class", imported as the registry does
                module, _, name = target.partition(":")
                target = getattr(importlib.import_module(module), name)
            classes.append(target)
    return classes


BACKEND_CLASSES = [*dict.fromkeys(_registered_classes() + [StandInCupy, ClaimingCupy])]


def test_the_registry_holds_the_cpu_and_cuda_backends():
    names = {(cls.device_type, cls.name) for cls in BACKEND_CLASSES}
    assert {("cpu", "numpy"), ("cpu", "numba"), ("cuda", "cupy")} <= names


def _contract_members() -> dict[str, object]:
    return {name: value for name, value in vars(Backend).items() if not name.startswith("_")}


@pytest.mark.parametrize("cls", BACKEND_CLASSES, ids=lambda cls: cls.__name__)
def test_every_backend_provides_the_whole_contract(cls):
    members = _contract_members()
    assert set(CAPTURE_PROTOCOL) <= set(members)
    for name, base in members.items():
        assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
        if callable(base) and not isinstance(base, type):
            mine = getattr(cls, name)
            assert callable(mine), f"{cls.__name__}.{name} is not callable"
            assert list(inspect.signature(mine).parameters) == \
                list(inspect.signature(base).parameters), f"{cls.__name__}.{name}"
    if cls.device_type == "cuda":  # the capture protocol is its own, not the CPU's refusal
        for name in CAPTURE_PROTOCOL:
            assert getattr(cls, name) is not getattr(Backend, name), f"{cls.__name__}.{name}"


@pytest.mark.parametrize("cls", [cls for cls in BACKEND_CLASSES if cls.device_type == "cpu"],
                         ids=lambda cls: cls.__name__)
def test_cpu_backends_record_no_graphs(cls):
    backend = cls(tc.device("cpu"))
    assert backend.capturing() is False
    with pytest.raises(NotImplementedError, match="records no CUDA graphs"):
        backend.prepare_capture()
    with pytest.raises(NotImplementedError, match="records no CUDA graphs"):
        backend.graph_mode()


@pytest.mark.parametrize("make", [lambda: backends.get_backend("cpu", "numpy"),
                                  lambda: backends.get_backend("cpu", "numba"),
                                  lambda: StandInCupy(tc.device("cuda"))],
                         ids=["numpy", "numba", "standin"])
def test_every_backends_xp_has_the_contract_functions(make):
    xp = make().xp
    assert [name for name in contract.XP_FUNCTIONS if not callable(getattr(xp, name, None))] \
        == []


def test_graphs_use_only_the_backend_contract():
    """``tensorcore.cuda.graphs`` reaches a backend through the contract's methods, never
    its internals (its runtime, CuPy)."""
    source = (PACKAGE / "cuda" / "graphs.py").read_text()
    used = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and (
                (isinstance(node.value, ast.Name) and node.value.id == "backend")
                or (isinstance(node.value, ast.Attribute) and node.value.attr == "_backend")):
            used.add(node.attr)
    assert {"prepare_capture", "record", "replay_graph"} <= used
    assert used <= set(_contract_members())
    assert "cupy" not in {alias.name for node in ast.walk(ast.parse(source))
                          if isinstance(node, (ast.Import, ast.ImportFrom))
                          for alias in node.names}


# the parts of CupyRuntime only a GPU serves: the stand-in never records a graph nor opens
# cuBLASLt (tests that need it patch it in)
GPU_ONLY = {"cublaslt", "side_stream", "record", "allocating_from", "join_stream",
            "replay_graph"}


def test_the_stand_in_runtime_serves_what_cupys_serves():
    from tensorcore.backends.cuda import CupyRuntime

    public = {name for name in vars(CupyRuntime) if not name.startswith("_")}
    assert GPU_ONLY <= public
    assert sorted(name for name in public - GPU_ONLY if not hasattr(NumpyRuntime, name)) == []


def test_no_code_asks_whether_xp_is_numpy_by_identity():
    """``xp is np`` is False while ``tc.compile`` traces (its recording namespace stands for
    NumPy), so a traced step would take another path than eager code: code asks
    ``activations.is_numpy(xp)``."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(r"\bxp is (not )?np\b")
    offenders = [f"{path.relative_to(root)}:{n}" for folder in ("tensorcore", "kernels")
                 for path in (root / folder).rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if pattern.search(line.split("#")[0]) and "``" not in line]
    assert offenders == []
