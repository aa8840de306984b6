"""The course notebooks (docs/course/*.ipynb): each one runs top to bottom in a real Jupyter
kernel, and each is stored without outputs, so that a diff shows only what was written.

A failing cell fails its test with the cell and the kernel's traceback. Nbclient and
ipykernel come with the ``test`` extra; where they are missing the notebook runs skip, except
in CI (``CI=true``), where they must run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "docs" / "course"
# one notebook per section of the course, in the course's order
SECTIONS = [
    "01-what-is-deep-learning",
    "02-loss-functions",
    "03-gradient-descent",
    "04-activation-functions",
    "05-regularization-and-initialization",
    "06-practice",
]
NOTEBOOKS = [COURSE / f"{name}.ipynb" for name in SECTIONS]
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _need(module: str):
    """Import ``module``; a skip where it is missing, except in CI (``CI=true``)."""
    if os.environ.get("CI", "").lower() == "true":
        return __import__(module)
    return pytest.importorskip(module)


def test_the_course_is_the_six_sections():
    assert sorted(COURSE.glob("*.ipynb")) == NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nbformat = _need("nbformat")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code cell"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, (
            f"{path.name}: a cell was stored with its outputs; strip them "
            f"(jupyter nbconvert --clear-output --inplace {path.name}):\n{cell.source[:200]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_names_key_terms_in_korean(path):
    nbformat = _need("nbformat")
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    # "Overfitting (과적합)": an English term, then the course's Korean term in parentheses
    pairs = re.findall(r"[A-Za-z][A-Za-z -]* \(([^)]*)\)", text)
    korean = [p for p in pairs if HANGUL.search(p)]
    assert len(korean) >= 5, f"{path.name}: {len(korean)} key terms carry a Korean term"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    nb = nbformat.read(path, as_version=4)
    # the working directory is a scratch folder: whatever a notebook saves lands there
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # a failing cell raises CellExecutionError with its traceback
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, f"{path.name} warned:\n{out.text}"
