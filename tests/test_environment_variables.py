"""The ``TENSORCORE_*`` variables read when tensorcore is imported. A value that names
nothing usable stops ``import tensorcore`` with one ValueError naming the variable, its
value and what it may be; uncaught, it is one line on stderr and a non-zero exit, never a
traceback, also from the command line (``python -m tensorcore``, the ``tensorcore``
script), which imports the package before it can catch anything. Real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VARIABLES = ("TENSORCORE_BACKEND", "TENSORCORE_DEVICE", "TENSORCORE_KERNELS")
KERNELS = "expected one of auto, numba, cupy, unfused (or unset it)"
DEVICES = "expected cpu, cuda or cuda:N (or unset it)"
BACKENDS = ("expected a backend name (cpu: numba, numpy; cuda: cupy) or device=name pairs "
            "separated by commas, e.g. cpu=numpy,cuda=cupy (or unset it)")
# (variable, value, the message after "VARIABLE='value': ")
BAD = [
    ("TENSORCORE_BACKEND", "bogus", f"no device type has a backend named 'bogus'; {BACKENDS}"),
    ("TENSORCORE_BACKEND", "cpu=bogus", f"no backend 'bogus' for cpu; {BACKENDS}"),
    ("TENSORCORE_BACKEND", "tpu=numpy", f"no device type 'tpu'; {BACKENDS}"),
    ("TENSORCORE_BACKEND", "numpy,cuda=numba", f"no backend 'numba' for cuda; {BACKENDS}"),
    ("TENSORCORE_DEVICE", "tpu", DEVICES),
    ("TENSORCORE_DEVICE", "cuda:x", DEVICES),
    ("TENSORCORE_DEVICE", "cpu:1", DEVICES),
    ("TENSORCORE_KERNELS", "Bogus", KERNELS),
]
IDS = [f"{var}={value}" for var, value, _ in BAD]


def run(args, env=None, stdin=None):
    """``python args...`` from a scratch directory, with this checkout's tensorcore and only
    the TENSORCORE_* variables in ``env``."""
    full = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    full.update(env or {})
    full["PYTHONPATH"] = str(ROOT) + os.pathsep + full.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, *args], env=full, cwd=ROOT / "tests",
                          capture_output=True, text=True, timeout=120)


def assert_one_line(done, var, value, message, prefix="tensorcore: error: "):
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr == f"{prefix}{var}={value!r}: {message}\n"


@pytest.mark.parametrize("var, value, message", BAD, ids=IDS)
def test_import_stops_with_one_line(var, value, message):
    assert_one_line(run(["-c", "import tensorcore"], {var: value}), var, value, message)


@pytest.mark.parametrize("var, value, message", BAD[::3], ids=IDS[::3])
def test_the_error_is_a_value_error_a_program_can_catch(var, value, message):
    code = textwrap.dedent("""
        try:
            import tensorcore
        except ValueError as e:
            print(type(e).__name__, e, sep=": ")
    """)
    done = run(["-c", code], {var: value})
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"InvalidEnvironmentVariable: {var}={value!r}: {message}\n"


def test_other_uncaught_errors_keep_their_traceback():
    code = "try:\n    import tensorcore\nexcept ValueError:\n    pass\nraise KeyError('later')"
    done = run(["-c", code], {"TENSORCORE_DEVICE": "tpu"})
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback") and done.stderr.endswith("KeyError: 'later'\n")


CLI_CASES = [(["-m", "tensorcore", "demo", "--epochs", "1"], BAD[0]),
             (["-m", "tensorcore", "train", "--epochs", "1"], BAD[4]),
             (["-m", "tensorcore"], BAD[7]),
             # what the installed ``tensorcore`` console script runs
             (["-c", "import sys; from tensorcore.__main__ import main; sys.exit(main())",
               "demo"], BAD[5])]


@pytest.mark.parametrize("args, bad", CLI_CASES, ids=[" ".join(a[:3]) for a, _ in CLI_CASES])
def test_command_line_prints_one_line_and_fails(args, bad, tmp_path):
    var, value, message = bad
    done = run([*args, *(["--out", str(tmp_path / "out")] if "train" in args else [])],
               {var: value})
    assert_one_line(done, var, value, message)
    assert not (tmp_path / "out").exists()


def test_good_values_are_read_leniently():
    code = ("import tensorcore as tc; print(tc.zeros(1).backend_name, "
            "tc.backends.get_backend_name('cuda'), tc.get_default_device(), "
            "tc.backends.get_kernels())")
    cases = [({"TENSORCORE_BACKEND": " NumPy , cuda = cupy ", "TENSORCORE_KERNELS": " Cupy"},
              "numpy cupy cpu cupy"),
             ({"TENSORCORE_BACKEND": "cpu=numpy", "TENSORCORE_DEVICE": "CPU:0"},
              "numpy cupy cpu:0 auto"),
             ({v: "  " for v in VARIABLES}, "numba cupy cpu auto")]  # blank: unset
    for env, want in cases:
        done = run(["-c", code], env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == want.split(), env
