"""The documentation runs: every ```python block of README.md and docs/*.md is executed.

Each file's blocks run in order in one namespace (later blocks use names from earlier ones).
Other fences (```bash, ```text, plain ```) are not run. Tracebacks point at the Markdown file
and line. Global state the examples change (registered backends, the chosen backend, the
default device and dtype, the seed, grad mode) is restored afterwards.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tensorcore as tc
from tensorcore.autograd.grad_mode import grad_state as _State

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)

README_START = """```
pip install -e . && tensorcore train
pip install -e ".[test]" && python -m pytest -q tests
```
"""


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each ```python block in a Markdown file."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        lang = m.group("info").strip().split(" ")[0].lower()
        if lang in ("python", "py", "python3"):
            first_line = text.count("\n", 0, m.start("body")) + 1
            blocks.append((first_line, m.group("body")))
    return blocks


@pytest.fixture
def restore_global_state():
    b = tc.backends
    implementations = {k: dict(v) for k, v in b._IMPLEMENTATIONS.items()}
    chosen, instances = dict(b._chosen), dict(b._instances)
    device, seed = b._default_device, b._seed
    dtype, grad, anomaly = tc.get_default_dtype(), _State.enabled, _State.anomaly
    yield
    b._IMPLEMENTATIONS.clear()  # mutated in place: other modules hold these dicts
    b._IMPLEMENTATIONS.update(implementations)
    b._chosen.clear()
    b._chosen.update(chosen)
    b._instances.clear()
    b._instances.update(instances)
    b._default_device, b._seed = device, seed
    tc.set_default_dtype(dtype)
    _State.enabled, _State.anomaly = grad, anomaly


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.relative_to(ROOT).as_posix()
                                                 for p in DOC_FILES])
def test_python_blocks_run(path, restore_global_state, capsys):
    blocks = python_blocks(path)
    assert blocks, f"{path.name} has no ```python blocks"
    namespace = {"__name__": f"docs_{path.stem}"}
    for first_line, code in blocks:
        # padding with newlines makes tracebacks show the Markdown file's own line numbers
        exec(compile("\n" * (first_line - 1) + code, str(path), "exec"), namespace)


def test_readme_starts_with_the_install_commands():
    assert (ROOT / "README.md").read_text(encoding="utf-8").startswith(README_START)


def test_block_extraction_skips_other_languages(tmp_path):
    md = tmp_path / "x.md"
    md.write_text("text\n```bash\nexit 1\n```\n\n```python\na = 1\n```\n```text\nno\n```\n"
                  "```\nplain\n```\n```python\nb = a + 1\n```\n", encoding="utf-8")
    assert python_blocks(md) == [(7, "a = 1\n"), (16, "b = a + 1\n")]
