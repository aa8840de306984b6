"""A griffe extension for the API reference: tensorcore's reST-flavoured docstrings as Markdown.

mkdocstrings renders a docstring's text as Markdown, but tensorcore's docstrings are written
for ``help()`` and doctest: examples are ``>>>`` sessions, cross-references are Sphinx roles.
Read as Markdown, a session's ``x[0][-1]`` becomes a reference link (autorefs then fails the
strict build on the target ``-1``) and its output lines run together into one paragraph.
This extension rewrites each docstring once, when griffe loads it, and changes nothing in the
package:

* a ``>>>`` session (from its first prompt to the next blank line) becomes a fenced ``pycon``
  code block, so its prompts, continuation lines and outputs show as a console session;
* a Sphinx role (``:func:`~a.b.name```, ``:class:`Name```, ...) becomes a code span naming
  its target (``name``, or the full path without ``~``);
* a paragraph that introduces a reST literal block with ``::`` ends with ``:`` (the indented
  block below it is already a Markdown code block).

It also keeps annotations' builtins builtins: ``tensorcore`` exports PyTorch's dtype aliases
``int``, ``float`` and ``bool`` (and ``sum``, ``max``...), and griffe looks a name that a
module does not define up in its parent packages, so ``patience: int`` would be shown (and
linked) as ``tensorcore.int``. The package's imported names that shadow a builtin are left
out of griffe's model of the package (the API reference lists them on their own pages).

And it reads an ``__all__`` that is computed (``sorted(set(TENSOR_METHODS) | {...})`` in
``tensorcore.ops``' modules) from the imported module: griffe reads only literal lists, and
with an empty ``__all__`` the wildcard re-exports (``nn.functional.linear`` from
``tensorcore.ops``) would be missing from the reference.

mkdocs.yml names this file in the python handler's ``extensions``.
"""

from __future__ import annotations

import builtins
import importlib
import re

import griffe

PROMPT = re.compile(r"^(?P<indent>[ \t]*)>>>(?: |$)")
ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`(?P<target>[^`]+)`")
LITERAL_INTRO = re.compile(r"(?<=\S)::[ \t]*$")


def _role_to_code(match: re.Match) -> str:
    target = match.group("target")
    if target.startswith("~"):
        target = target[1:].rsplit(".", 1)[-1]
    return f"``{target}``"


def _fence_sessions(lines: list[str]) -> list[str]:
    """Wrap every run of lines that starts at a ``>>>`` prompt, up to a blank line, in a fence."""
    out: list[str] = []
    i, in_fence = 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):  # an existing fence: copy it untouched
            in_fence = not in_fence
            out.append(line)
            i += 1
            continue
        match = None if in_fence else PROMPT.match(line)
        if match is None:
            out.append(line)
            i += 1
            continue
        indent = len(match.group("indent"))
        session = []
        while i < len(lines) and lines[i].strip():
            session.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i].lstrip())
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += ["```pycon", *session, "```"]  # a blank line or the end follows a session
    return out


def _literal_intros(lines: list[str]) -> list[str]:
    """``text::`` before an indented block becomes ``text:``."""
    out = list(lines)
    for k, line in enumerate(lines[:-2]):
        if LITERAL_INTRO.search(line) and not lines[k + 1].strip() \
                and lines[k + 2].startswith((" ", "\t")):
            out[k] = LITERAL_INTRO.sub(":", line)
    return out


def to_markdown(text: str) -> str:
    """The Markdown that the API reference renders for a docstring's ``text``."""
    lines = _fence_sessions(text.splitlines())
    lines = _literal_intros(lines)
    markdown = "\n".join(lines)
    return ROLE.sub(_role_to_code, markdown).rstrip("\n")


class DoctestBlocks(griffe.Extension):
    """Rewrites each object's docstring with ``to_markdown`` when griffe creates the object,
    and unshadows the builtins in the loaded package."""

    def on_module_members(self, *, mod: griffe.Module, **kwargs) -> None:
        if "__all__" in mod.members and not mod.exports:
            try:
                names = importlib.import_module(mod.path).__all__
            except (ImportError, AttributeError):  # not importable here: keep griffe's view
                return
            mod.exports = [str(name) for name in names]

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        for name in [n for n, member in pkg.members.items()
                     if member.is_alias and n in vars(builtins)]:
            pkg.del_member(name)

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
