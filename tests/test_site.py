"""The documentation site's structure: what mkdocs.yml and docs/api/ must cover.

CI builds the site itself (``mkdocs build --strict`` in .ci/run). These tests check, without
MkDocs, what a strict build cannot see: that every public module of the package has an API
reference page (a module added without one builds fine), and that every course notebook is
in the navigation and is executed by the build.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PACKAGE = ROOT / "tensorcore"
# `::: module.path` opens an API reference block (mkdocstrings)
IDENTIFIER = re.compile(r"^:::[ \t]+(?P<id>[\w.]+)[ \t]*$", re.M)


class _ConfigLoader(yaml.SafeLoader):
    """YAML loader for mkdocs.yml: its ``!ENV [NAME, default]`` tags give the default."""


_ConfigLoader.add_constructor(
    "!ENV", lambda loader, node: loader.construct_sequence(node)[-1]
    if isinstance(node, yaml.SequenceNode) else None)


def public_modules(package_dir: Path = PACKAGE) -> set[str]:
    """Dotted names of the package's modules whose parts have no leading underscore.

    Found on disk, so the answer does not depend on what imports. ``tensorcore/kernels`` is
    a link to the repository's ``kernels/`` (installed as ``tensorcore.kernels``): the
    backends' compiled kernels, documented through the backend contract, so it is not
    walked (os.walk does not follow the link, and a CI clone has no link at all).
    """
    names = set()
    for folder, _, files in os.walk(package_dir):  # does not descend into linked folders
        package = Path(folder).relative_to(package_dir.parent).parts
        for file in files:
            if file.endswith(".py"):
                parts = [*package, file[:-3]] if file != "__init__.py" else [*package]
                if not any(p.startswith("_") for p in parts):
                    names.add(".".join(parts))
    return names


def api_identifiers(api_dir: Path = DOCS / "api") -> dict[str, str]:
    """``{identifier: page}`` for every ``:::`` block in docs/api/*.md."""
    found = {}
    for page in sorted(api_dir.glob("*.md")):
        for m in IDENTIFIER.finditer(page.read_text(encoding="utf-8")):
            assert m.group("id") not in found, \
                f"{m.group('id')} is documented twice ({found[m.group('id')]}, {page.name})"
            found[m.group("id")] = page.name
    return found


def mkdocs_config() -> dict:
    return yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_ConfigLoader)


def nav_files(nav) -> list[str]:
    """The page paths of a nav tree (lists of strings and one-key ``{title: item}`` maps)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [f for item in nav.values() for f in nav_files(item)]
    return [f for item in nav for f in nav_files(item)]


def plugin_config(config: dict, name: str) -> dict:
    for plugin in config["plugins"]:
        if plugin == name:
            return {}
        if isinstance(plugin, dict) and name in plugin:
            return plugin[name] or {}
    raise AssertionError(f"mkdocs.yml does not use the {name} plugin")


# -- the API reference ------------------------------------------------------------------------

def test_public_modules_are_found():
    modules = public_modules()
    # a package, a subpackage's module, a top-level module; none private, none from kernels/
    assert {"tensorcore", "tensorcore.nn.functional", "tensorcore.optim.lr_scheduler",
            "tensorcore.training.loop", "tensorcore.viz"} <= modules
    assert not any("._" in m or m.startswith("tensorcore.kernels") for m in modules)
    assert "tensorcore.__main__" not in modules and "tensorcore._dtype" not in modules


def test_every_public_module_has_an_api_page():
    documented = api_identifiers()
    missing = sorted(public_modules() - set(documented))
    assert not missing, f"public modules without a `::: module` block in docs/api/: {missing}"


def test_api_blocks_name_modules_of_the_package():
    # a block for a module that was renamed or removed would fail the build; say which here
    stale = {i: page for i, page in api_identifiers().items()
             if importlib.util.find_spec(i) is None}
    assert not stale, f"docs/api blocks for modules that do not exist: {stale}"


def test_every_api_page_is_in_the_nav():
    nav = set(nav_files(mkdocs_config()["nav"]))
    pages = {f"api/{p.name}" for p in (DOCS / "api").glob("*.md")}
    assert pages and not pages - nav, f"API pages missing from mkdocs.yml's nav: {pages - nav}"


def test_the_walk_and_the_page_check_see_a_missing_module(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    for f in ("__init__.py", "a.py", "_private.py", "sub/__init__.py", "sub/b.py", "__main__.py"):
        (pkg / f).write_text("")
    assert public_modules(pkg) == {"pkg", "pkg.a", "pkg.sub", "pkg.sub.b"}
    api = tmp_path / "api"
    api.mkdir()
    (api / "p.md").write_text("# p\n\n::: pkg\n    options:\n      members: false\n\n::: pkg.a\n")
    assert public_modules(pkg) - set(api_identifiers(api)) == {"pkg.sub", "pkg.sub.b"}


# -- the course notebooks ---------------------------------------------------------------------

def test_every_course_notebook_is_in_the_nav():
    notebooks = {f"course/{p.name}" for p in (DOCS / "course").glob("*.ipynb")}
    assert len(notebooks) >= 6
    nav = set(nav_files(mkdocs_config()["nav"]))
    assert not notebooks - nav, f"notebooks missing from mkdocs.yml's nav: {notebooks - nav}"
    assert "course/index.md" in nav


def test_the_build_executes_the_notebooks_and_fails_on_a_cell_error():
    jupyter = plugin_config(mkdocs_config(), "mkdocs-jupyter")
    assert jupyter["execute"] is True and jupyter["allow_errors"] is False
    assert jupyter["include"] == ["course/*.ipynb"]
    # a stale output cache would skip the execution: off unless asked for while editing
    assert jupyter.get("cache") is False


def test_every_page_under_docs_is_in_the_nav():
    nav = set(nav_files(mkdocs_config()["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")
             if not p.relative_to(DOCS).parts[0].startswith("_")}
    assert not pages - nav, f"pages missing from mkdocs.yml's nav: {sorted(pages - nav)}"
    assert not {p for p in nav if not (DOCS / p).is_file()}


# -- the docstrings as Markdown (docs/_hooks/doctest_blocks.py) -------------------------------

def _hook():
    pytest.importorskip("griffe", reason="the docs extra (griffe) is not installed")
    spec = importlib.util.spec_from_file_location("doctest_blocks",
                                                  DOCS / "_hooks" / "doctest_blocks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_doctest_sessions_become_fenced_code():
    doc = ("Last value.\n>>> h = {'a': [1, 2]}\n>>> for k in h:\n...     print(h[k][-1])\n2\n"
           "\nMore text, :func:`~tensorcore.training.loop.fit` and :class:`Digraph`.")
    assert _hook().to_markdown(doc) == (
        "Last value.\n\n```pycon\n>>> h = {'a': [1, 2]}\n>>> for k in h:\n"
        "...     print(h[k][-1])\n2\n```\n\nMore text, ``fit`` and ``Digraph``.")


def test_indented_sessions_and_literal_blocks():
    doc = "Run::\n\n    tensorcore train\n\nA list:\n\n* item\n\n  >>> 1 + 1\n  2\n"
    assert _hook().to_markdown(doc) == (
        "Run:\n\n    tensorcore train\n\nA list:\n\n* item\n\n```pycon\n>>> 1 + 1\n2\n```")
