"""How long each course notebook (docs/course/*.ipynb) takes to run top to bottom.

Each notebook is executed in a fresh Jupyter kernel (nbclient, as tests/test_notebooks.py
does); the time printed is the execution alone, from the kernel's start to the last cell,
and a failing cell stops the script with the cell's traceback.

    python benchmarks/notebook_times.py            # every notebook
    python benchmarks/notebook_times.py 03 06      # those whose names start so
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "docs" / "course"


def run_notebook(path: Path) -> float:
    """Execute ``path`` in a fresh kernel; the wall-clock seconds it took."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as scratch:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": scratch}})
        start = time.perf_counter()
        client.execute()
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prefixes", nargs="*", help="run only notebooks named so (e.g. 03)")
    args = parser.parse_args(argv)
    notebooks = [p for p in sorted(COURSE.glob("*.ipynb"))
                 if not args.prefixes or p.name.startswith(tuple(args.prefixes))]
    if not notebooks:
        print(f"no notebook in {COURSE} matches {args.prefixes}", file=sys.stderr)
        return 2
    print(f"{date.today()}, {platform.machine()} {platform.system()}, Python "
          f"{platform.python_version()}")
    print("| notebook | seconds |\n|---|---:|")
    total = 0.0
    for path in notebooks:
        seconds = run_notebook(path)
        total += seconds
        print(f"| {path.stem} | {seconds:.1f} |", flush=True)
    print(f"| all | {total:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
