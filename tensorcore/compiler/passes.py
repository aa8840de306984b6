"""What ``plan.build`` does to a recording before writing its code: rewrites that change no
value (a replay stays bit-identical to eager).

* **No-op calls go**: a call that gives back one of its arguments and writes nothing
  (``astype(copy=False)`` to the same dtype, ``asarray`` of an array).
* **Constants fold**: calls whose arrays are all constants (the seed gradient ``ones(())``,
  index arrays, a ``zeros`` then filled from constants) run once, when the plan is made; the
  replay reads their results (a copy where the replay writes into one).
* **Preallocated buffers**: each elementwise ufunc result that stays inside the step (not
  returned, not a gradient or tensor left behind, nor any view of it) is written with
  ``out=`` into a buffer made once; a buffer serves several results whose lifetimes (views
  included) do not overlap.
* **Intermediates are dropped** after the last call that names them, as eager code lets
  them go.

``analyze(rec, outputs)`` returns a ``Passes`` that ``build`` consults.
"""

from __future__ import annotations

import numpy as np

from .traced import LiveRef, Ref, _refs, _written_refs, contains


class Passes:
    """The outcome of ``analyze``: calls to skip, folded slots, buffers, and when each
    intermediate's last use has passed (the code then drops it, as eager code lets an
    intermediate go: a large one's memory is reused while still in cache)."""

    def __init__(self) -> None:
        self.skip: set[int] = set()  # call indices not emitted (no-ops and folded calls)
        self.folded: dict[int, tuple] = {}  # slot -> (value, copy at each replay?)
        self.buffers: dict[int, int] = {}  # call index -> buffer number
        self.buffer_arrays: list[np.ndarray] = []
        self.frees: dict[int, list[int]] = {}  # call index -> slots dropped after it


def _uses(rec, outputs):
    """Per slot: the indices of the calls reading or writing it; and the slots that escape
    the step (outputs, effects)."""
    uses: dict[int, list[int]] = {}
    for i, (kind, _, args, kwargs, _) in enumerate(rec.calls):
        if kind == "live":
            continue
        for ref in _refs((args, kwargs)):
            uses.setdefault(ref.n, []).append(i)
    escaping = {ref.n for ref in _refs(_output_refs(outputs))}
    escaping.update(ref.n for v in rec.effect_values.values() for ref in _refs(v))
    return uses, escaping


def _output_refs(v):
    kind = v[0]
    if kind in ("tensor", "array"):
        return [v[1]]
    if kind in ("tuple", "list", "dict"):
        return [r for x in v[1] for r in _output_refs(x)]
    return []


def _roots(rec) -> list[int]:
    """Each slot's memory root: the slot whose array it views (itself if none)."""
    roots = list(range(len(rec.slots)))
    for n, slot in enumerate(rec.slots):
        base = slot["traced"]._plain.base
        while base is not None:
            m = rec.owners.get(id(base))
            if m is not None and m != n:
                roots[n] = roots[m]
                break
            base = base.base
    return roots


def analyze(rec, outputs) -> Passes:
    p = Passes()
    uses, escaping = _uses(rec, outputs)
    roots = _roots(rec)
    _drop_no_ops(rec, p)
    _fold_constants(rec, p, roots, uses, escaping)
    _assign_buffers(rec, p, roots, uses, escaping)
    _free_after_last_use(rec, p, escaping)
    return p


def _free_after_last_use(rec, p: Passes, escaping) -> None:
    """For each intermediate (a call's result, folded or not) the emitted call that names
    it last, reading or assigning it."""
    last = {}
    for i, (kind, _, args, kwargs, result) in enumerate(rec.calls):
        if i in p.skip or kind == "live":
            continue
        for ref in _refs((args, kwargs, result)):
            last[ref.n] = i
    for n, i in last.items():
        if rec.slots[n]["origin"][0] == "result" and n not in escaping:
            p.frees.setdefault(i, []).append(n)


def _drop_no_ops(rec, p: Passes) -> None:
    for i, (kind, fn, args, kwargs, result) in enumerate(rec.calls):
        if kind in ("kernel", "live") or type(result) is not Ref:
            continue
        if _written_refs(kind, fn, args, kwargs):
            continue
        if any(ref.n == result.n for ref in _refs((args, kwargs))):
            p.skip.add(i)


def _fold_constants(rec, p: Passes, roots, uses, escaping) -> None:
    """Run the calls that read only constants (see the module docstring) on copies."""
    static = {n for n, s in enumerate(rec.slots) if s["origin"][0] == "const"}
    values = {n: rec.slots[n]["origin"][1].copy() for n in static}
    made = set()  # slots the folded calls make
    folded_calls = []
    for i, (kind, fn, args, kwargs, result) in enumerate(rec.calls):
        if i in p.skip or kind == "live":
            continue
        refs = list(_refs((args, kwargs)))
        written = _written_refs(kind, fn, args, kwargs)
        if kind != "kernel" and all(r.n in static for r in refs) and \
                not contains((args, kwargs), LiveRef) and _has_ref(result, written):
            try:
                out = fn(*_resolve(args, values), **_resolve(kwargs, values))
            except Exception:  # leave the call to the replay
                out = None
            else:
                _bind(result, out, values, static, made)
                folded_calls.append(i)
                continue
        for ref in written:  # a constant written by the step is no longer a constant
            root = roots[ref.n]
            for n in [m for m in static if roots[m] == root]:
                static.discard(n)
    needed = {n for n in made if n in escaping or any(
        i not in folded_calls and i not in p.skip for i in uses.get(n, ()))}
    written_later = {r.n for i, c in enumerate(rec.calls) if i not in folded_calls
                     and c[0] != "live" for r in _written_refs(*c[:4])}
    arrays = [values[n] for n in needed if isinstance(values.get(n), np.ndarray)]
    if any(np.shares_memory(a, b) for k, a in enumerate(arrays) for b in arrays[k + 1:]):
        return  # aliased constants: folding would cut the alias; keep every call
    if any(not isinstance(values.get(n), np.ndarray) for n in needed):
        return
    p.skip.update(folded_calls)
    for n in needed:
        p.folded[n] = (values[n], n in written_later or n in escaping)


def _has_ref(result, written) -> bool:
    return bool(list(_refs(result))) or bool(written)


def _resolve(v, values):
    t = type(v)
    if t is Ref:
        return values[v.n]
    if t is tuple or t is list:
        return t(_resolve(x, values) for x in v)
    if t is dict:
        return {k: _resolve(x, values) for k, x in v.items()}
    if t is slice:
        return slice(_resolve(v.start, values), _resolve(v.stop, values),
                     _resolve(v.step, values))
    return v


def _bind(result, out, values, static, made) -> None:
    t = type(result)
    if t is Ref:
        values[result.n] = np.asarray(out) if isinstance(out, np.generic) else out
        static.add(result.n)
        made.add(result.n)
    elif t is tuple or t is list:
        for r, o in zip(result, out):
            _bind(r, o, values, static, made)


def _assign_buffers(rec, p: Passes, roots, uses, escaping) -> None:
    """Buffers for the ufunc results that stay inside the step (module docstring)."""
    escaping_roots = {roots[n] for n in escaping}
    last = {}  # root -> last call index using any slot of that memory
    for n, idx in uses.items():
        if idx:
            last[roots[n]] = max(last.get(roots[n], -1), max(idx))
    free: dict[tuple, list[int]] = {}  # (shape, dtype) -> free buffer numbers
    releases: dict[int, list[tuple]] = {}  # call index -> buffers free after it
    for i, (kind, fn, _, kwargs, result) in enumerate(rec.calls):
        for key, b in releases.pop(i - 1, ()):
            free.setdefault(key, []).append(b)
        if kind != "ufunc" or i in p.skip or type(result) is not Ref or kwargs or \
                not isinstance(fn, np.ufunc) or fn.nout != 1:
            continue
        n = result.n
        slot = rec.slots[n]
        plain = slot["traced"]._plain
        if slot["scalar"] or roots[n] != n or n in escaping_roots or n in p.folded or \
                plain.base is not None or not plain.flags.c_contiguous or \
                slot["origin"] != ("result", i):
            continue
        key = (plain.shape, plain.dtype)
        pool = free.get(key)
        if pool:
            b = pool.pop()
        else:
            b = len(p.buffer_arrays)
            p.buffer_arrays.append(np.empty(plain.shape, plain.dtype))
        p.buffers[i] = b
        releases.setdefault(max(last.get(n, i), i), []).append((key, b))
