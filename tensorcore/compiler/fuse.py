"""Fusion (opt-in, ``tc.compile(fn, options={"fuse": True})``): chains of elementwise calls
in a recording become one generated Numba kernel each.

A **run** is a maximal sequence of consecutive recorded calls that are elementwise ufunc
``__call__``s (the table ``_OPS``), ``np.where`` or a no-op ``astype(dtype, copy=False)``,
with no keyword arguments, whose results all have one shape (not 0-d) and one float dtype
(float32 or float64; comparisons give bool), and whose operands are arrays of that shape
(of that dtype, or bool for ``where``'s condition; C-contiguous when traced), 0-d arrays of
that dtype, Python numbers, NumPy scalars or live numbers. Anything else (a broadcast, an
integer array, ``out=``) ends the run. A run of two calls or more becomes one kernel call
``(s7, s9,) = k_fused_5ops(s1, s4, 0.9, l0)``: its inputs are the arrays the run reads and
did not make, its outputs the arrays it makes that anything after it uses (a later call,
an effect, the function's outputs); the other intermediates are never stored. A run none of
whose arrays is used after it keeps its last result, so that fusion removes no work.
Small outputs come back as the rows of one stacked array per dtype, ``((s7, s9,),) = ...``
(each row its own C-contiguous array; the rows share one allocation).

The kernel loops once over the flat elements and computes every call of the run per
element in the run's dtype: numbers are cast to that dtype at entry, as NumPy casts a
Python number operand to a float32 array's dtype (weak scalars), so float32 stays float32.
``maximum``/``minimum`` propagate NaN as NumPy does; division by zero gives inf/NaN
(``error_model="numpy"``). The results can differ from NumPy's in the last bits: Numba's
``exp``, ``log``, ``tanh``... are not NumPy's SIMD loops, so fusion is opt-in.

Kernels are compiled once per distinct source (the op sequence and dtype; shapes and
numbers are arguments) and kept in ``_KERNELS``. Their source is written into a file of
``cache_dir()`` and imported, so that Numba's disk cache (``cache=True``) serves a later
process; where that directory cannot be written the kernel is compiled from the string,
uncached.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile

import numpy as np

from .traced import LiveRef, Ref
from .traced import _refs as refs_in

# ufunc -> (expression template over the operands' names, result is bool)
_OPS = {
    np.add: ("({0} + {1})", False),
    np.subtract: ("({0} - {1})", False),
    np.multiply: ("({0} * {1})", False),
    np.true_divide: ("({0} / {1})", False),
    np.negative: ("(-{0})", False),
    np.positive: ("(+{0})", False),
    np.absolute: ("abs({0})", False),
    np.square: ("({0} * {0})", False),
    np.reciprocal: ("(T(1) / {0})", False),
    np.exp: ("np.exp({0})", False),
    np.expm1: ("np.expm1({0})", False),
    np.log: ("np.log({0})", False),
    np.log1p: ("np.log1p({0})", False),
    np.sqrt: ("np.sqrt({0})", False),
    np.tanh: ("np.tanh({0})", False),
    np.sin: ("np.sin({0})", False),
    np.cos: ("np.cos({0})", False),
    # NumPy's maximum/minimum return a NaN operand (the first when both are)
    np.maximum: ("maximum({0}, {1})", False),  # NaN propagates (fuse_codegen)
    np.minimum: ("minimum({0}, {1})", False),
    np.greater: ("({0} > {1})", True),
    np.greater_equal: ("({0} >= {1})", True),
    np.less: ("({0} < {1})", True),
    np.less_equal: ("({0} <= {1})", True),
    np.equal: ("({0} == {1})", True),
    np.not_equal: ("({0} != {1})", True),
}
try:  # the sigmoid of the CPU backends (kernels/activations.py) where SciPy is installed
    from scipy.special import expit as _expit
except ImportError:  # pragma: no cover - SciPy is optional
    pass
else:
    _OPS[_expit] = ("expit({0}, T(1))", False)
_WHERE = "where({0}, {1}, {2})"
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_BOOL = np.dtype(np.bool_)
_NUMBERS = (int, float, bool)
MAX_RUN = 1000  # calls per kernel at most
# outputs of at most this many bytes each come back stacked in one array per dtype
STACK_BYTES = 1 << 16
_JIT = 'njit(error_model="numpy", fastmath=False, nogil=True, cache={cache})'


# -- which calls fuse -----------------------------------------------------------------------
def _op(call):
    """``(template, bool result, operands)`` of a call that may be part of a run, else None;
    a no-op astype gives template None."""
    kind, fn, args, kwargs, result = call
    if type(result) is not Ref:
        return None
    if kind == "ufunc" and not kwargs:
        spec = _OPS.get(fn)
        return None if spec is None else (spec[0], spec[1], args)
    if kind == "func" and fn is np.where and not kwargs and len(args) == 3:
        return _WHERE, False, args
    if kind == "method" and fn is np.ndarray.astype and len(args) == 2 and \
            kwargs == {"copy": False} and type(args[0]) is Ref and args[0].n == result.n:
        return None, False, args[:1]  # the array itself: nothing to compute
    return None


def _operand_ok(rec, v, shape, dtype, cond: bool) -> bool:
    t = type(v)
    if t is LiveRef or t in _NUMBERS:
        return True
    if isinstance(v, np.generic):  # NumPy scalars are not weak: only ones that cannot promote
        return v.dtype == dtype or v.dtype == _BOOL
    if t is not Ref or v.n < 0:
        return False
    slot = rec.slots[v.n]
    if slot["shape"] == ():
        return not cond and slot["dtype"] == dtype  # a 0-d array: read once, as a number
    if slot["shape"] != shape or slot["dtype"] not in ((_BOOL, dtype) if cond else (dtype,)):
        return False
    traced = slot["traced"]._plain
    return traced is not None and traced.flags.c_contiguous


def _fits(rec, call, op, shape, dtype) -> bool:
    """Whether ``call`` (with ``_op`` ``op``) computes elementwise on ``shape``/``dtype``."""
    template, to_bool, operands = op
    res = rec.slots[call[4].n]
    if res["scalar"] or res["shape"] != shape or \
            res["dtype"] != (_BOOL if to_bool else dtype):
        return False
    where = template is _WHERE
    return all(_operand_ok(rec, v, shape, dtype, where and i == 0)
               for i, v in enumerate(operands))


def _run_dtype(rec, op, result):
    """The float dtype a call starting a run computes in (a comparison's: its operands')."""
    if not op[1]:
        return rec.slots[result.n]["dtype"]
    for v in op[2]:
        if type(v) is Ref and v.n >= 0 and rec.slots[v.n]["dtype"] in _FLOATS:
            return rec.slots[v.n]["dtype"]
    return None


def _runs(rec):
    """``(first, last)`` call indices of each run of two calls or more."""
    runs, start, shape, dtype = [], None, None, None
    calls = rec.calls
    for i, call in enumerate(calls):
        op = _op(call)
        if op is not None and start is not None and i - start < MAX_RUN and \
                _fits(rec, call, op, shape, dtype):
            continue
        if start is not None and i - start >= 2:
            runs.append((start, i - 1))
        start = None
        if op is not None and op[0] is not None:
            shape, dtype = rec.slots[call[4].n]["shape"], _run_dtype(rec, op, call[4])
            if shape != () and dtype in _FLOATS and _fits(rec, call, op, shape, dtype):
                start = i
    if start is not None and len(calls) - start >= 2:
        runs.append((start, len(calls) - 1))
    return runs


# -- uses -------------------------------------------------------------------------------------
def _refs(v, out: list) -> list:
    """The slot numbers of the Refs in ``v``."""
    return [r.n for r in refs_in(v)]


def _last_uses(rec, outputs) -> dict:
    """slot -> index of the last call that uses it (``len(calls)`` for the effects and the
    outputs, which come after every call)."""
    last = {}
    for i, (_, _, args, kwargs, result) in enumerate(rec.calls):
        for n in _refs((args, kwargs, result), []):
            last[n] = i
    end = len(rec.calls)
    tail = list(getattr(rec, "effect_values", {}).values())
    for n in _refs((tail, _outputs_refs(outputs)), []):
        last[n] = end
    return last


def _outputs_refs(v):
    """The Refs of ``compiled._encode_outputs``'s encoding (a nested tuple/list walk)."""
    if type(v) is tuple and v and v[0] in ("tensor", "array"):
        return v[1]
    if type(v) is tuple and v and v[0] in ("tuple", "list", "dict"):
        return [_outputs_refs(x) for x in v[1]]
    return None


# -- code -------------------------------------------------------------------------------------
def _const_key(v):
    if type(v) is LiveRef:
        return ("l", v.n)
    return ("c", type(v).__name__, repr(v))


def _source(rec, calls, ins, outs, dtype):
    """The kernel's source text, its arguments (Refs, then numbers and LiveRefs) and its
    result as the recording holds it."""
    arrays = [n for n in ins if rec.slots[n]["shape"] != ()]
    zero_d = [n for n in ins if rec.slots[n]["shape"] == ()]
    # names by position, not slot number: the same op sequence is the same source anywhere
    names = {n: f"u{k}" for k, n in enumerate(arrays)}
    names.update((n, f"z{k}") for k, n in enumerate(zero_d))
    scalars: dict = {}  # key -> (parameter name, value); equal numbers share one
    body = []
    for call in calls:
        template, _, operands = _op(call)
        if template is None:
            continue
        parts = []
        for v in operands:
            if type(v) is Ref:
                parts.append(names[v.n])
                continue
            key = _const_key(v)
            if key not in scalars:
                scalars[key] = (f"c{len(scalars)}", v)
            parts.append(scalars[key][0])
        names[call[4].n] = f"t{len(body)}"
        body.append(f"        t{len(body)} = {template.format(*parts)}")
    fname = f"fused_{len(body)}ops"
    params = [f"a{k}" for k in range(len(arrays))] + [f"y{k}" for k in range(len(zero_d))]
    params += [p for p, _ in scalars.values()]
    lines = ["import numpy as np", "from numba import njit", "",
             "from tensorcore.compiler.fuse_codegen import expit, maximum, minimum, where",
             "",
             f"T = np.{dtype.name}", "",
             "", "@{jit}", f"def {fname}({', '.join(params)}):"]
    lines += [f"    {p} = T({p})" for p, _ in scalars.values()]
    lines += [f"    z{k} = T(y{k}[()])" for k in range(len(zero_d))]
    lines += [f"    x{k} = a{k}.ravel()" for k in range(len(arrays))]
    lines.append("    size = x0.size")
    # one branch for all the checks (a branch each makes a kernel much slower to compile)
    lines.append("    bad = False")
    lines += [f"    bad |= x{k}.size != size" for k in range(1, len(arrays))]
    lines.append("    if bad:\n        raise ValueError('fused kernel: array sizes differ')")
    groups = _out_groups(rec, outs)
    stores = []
    for g, (kind, refs) in enumerate(groups):
        if len(groups) == len(outs):  # one array per output
            lines += [f"    o{g} = np.empty(a0.shape, {kind})", f"    p{g} = o{g}.ravel()"]
            stores.append(f"        p{g}[i] = {names[refs[0]]}")
            continue
        lines += [f"    o{g} = np.empty(({len(refs)},) + a0.shape, {kind})",
                  f"    p{g} = o{g}.reshape(({len(refs)}, size))"]
        stores += [f"        p{g}[{j}, i] = {names[n]}" for j, n in enumerate(refs)]
    lines.append("    for i in range(size):")
    lines += [f"        u{k} = x{k}[i]" for k in range(len(arrays))]
    lines += body + stores
    lines.append(f"    return ({''.join(f'o{g}, ' for g in range(len(groups)))})")
    lines += ["", "", f"KERNEL = {fname}", ""]
    args = [Ref(n) for n in arrays] + [Ref(n) for n in zero_d]
    if len(groups) == len(outs):
        result = tuple(Ref(refs[0]) for _, refs in groups)
    else:  # the plan unpacks each stacked array into its rows
        result = tuple(tuple(Ref(n) for n in refs) for _, refs in groups)
    return "\n".join(lines), args + [v for _, v in scalars.values()], result


def _out_groups(rec, outs):
    """``[(dtype expression, slots)]``: one per output, or, for several small outputs, one
    stacked array per dtype (the plan unpacks its rows): Numba's returning an array costs
    far more than the loop writing a small one."""
    nbytes = int(np.prod(rec.slots[outs[0]]["shape"])) * 8
    kinds = ["np.bool_" if rec.slots[n]["dtype"] == _BOOL else "T" for n in outs]
    if len(outs) == 1 or nbytes > STACK_BYTES:
        return [(kind, [n]) for kind, n in zip(kinds, outs)]
    return [(kind, [n for k, n in zip(kinds, outs) if k == kind])
            for kind in dict.fromkeys(kinds)]


# -- compiling and caching ----------------------------------------------------------------------
_KERNELS: dict = {}  # generated source -> compiled kernel (Numba dispatcher)


def cache_dir() -> str:
    """Where kernel sources go (Numba caches their machine code beside them):
    ``$TENSORCORE_CACHE_DIR/fused``, else ``$XDG_CACHE_HOME`` or ``~/.cache`` +
    ``tensorcore/fused``."""
    root = os.environ.get("TENSORCORE_CACHE_DIR")
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
        root = os.path.join(base, "tensorcore")
    return os.path.join(root, "fused")


def _write(path: str, text: str) -> bool:
    """Put ``text`` at ``path`` atomically (a complete file or none); True when the file
    there holds ``text`` (written now, or by an earlier process)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read() == text
    except FileNotFoundError:
        pass
    except OSError:
        return False
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            try:  # a link never replaces a file another process put there meanwhile
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:
                os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        with open(path, encoding="utf-8") as f:
            return f.read() == text
    except OSError:
        return False


def _compile(source: str, sample: list):
    """The kernel of ``source`` (from ``_KERNELS``, a cached file, or compiled now), called
    once on ``sample`` arguments: Numba compiles (or loads its cache) at plan build, and a
    kernel whose cache entry cannot be used is compiled again from the string."""
    kernel = _KERNELS.get(source)
    if kernel is not None:
        return kernel
    digest = hashlib.sha256(source.encode()).hexdigest()[:32]
    path = os.path.join(cache_dir(), f"k{digest}.py")
    text = source.replace("{jit}", _JIT.format(cache=True))
    if _write(path, text):
        try:
            spec = importlib.util.spec_from_file_location(f"tensorcore_fused_{digest}", path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module  # Numba finds a cached kernel's module by name
            spec.loader.exec_module(module)
            kernel = module.KERNEL
            kernel(*sample)
        except Exception:  # no cache locator, a stale or unreadable cache entry: no cache
            kernel = None
    if kernel is None:  # the source only as a string: Numba cannot cache it on disk
        ns: dict = {}
        exec(compile(source.replace("{jit}", _JIT.format(cache=False)), "<tensorcore fused>",
                     "exec"), ns)
        kernel = ns["KERNEL"]
        kernel(*sample)
    _KERNELS[source] = kernel
    return kernel


# -- the pass -----------------------------------------------------------------------------------
def fuse(rec, outputs) -> None:
    """Rewrite ``rec.calls`` in place, replacing each run by one kernel call."""
    runs = _runs(rec)
    if not runs or importlib.util.find_spec("numba") is None:
        return
    last = _last_uses(rec, outputs)
    calls = list(rec.calls)
    for first, final in reversed(runs):
        run = calls[first:final + 1]
        made, ins = set(), []
        for call in run:
            for n in _refs(_op(call)[2], []):
                if n not in made and n not in ins:
                    ins.append(n)
            if call[4].n not in ins:
                made.add(call[4].n)
        outs = sorted(n for n in made if last.get(n, -1) > final)
        if not outs:  # nothing reads the run: keep its last result, remove no work
            outs = [run[-1][4].n]
        dtype = _run_dtype(rec, _op(run[0]), run[0][4])
        source, args, result = _source(rec, run, ins, outs, dtype)
        sample = [rec.slots[v.n]["traced"]._plain if type(v) is Ref else
                  1.0 if type(v) is LiveRef else v for v in args]
        kernel = _compile(source, sample)
        rec.calls[first:final + 1] = [("kernel", kernel, tuple(args), {}, result)]
