"""The benchmark workloads, shared by the pytest-benchmark suites and ``report.py``.

Three workloads, each with one builder per implementation:

* the per-op overhead chain: forward + backward of a 200-op elementwise chain on a
  16-element float32 tensor that requires grad (``make_chain``);
* one MLP training step: float32, ReLU hidden layers, softmax cross-entropy on int64 labels,
  plain SGD with lr 0.01 (``make_mlp_step``), at the sizes in ``MLP_SIZES``, written with
  ``nn.functional`` (``F.linear_act``, ``F.cross_entropy``, ``p.sub_``);
* the same step written op by op, as course notebooks write it (``<impl>-ops``): ``h @ W +
  b``, ``.relu()``, ``.log_softmax(dim=1)``, ``-logp[idx, y].mean()``, and SGD by hand,
  ``p -= LR * p.grad`` under no_grad (``ops_workload.py``).

``<impl>-compiled`` is the same step function as ``<impl>`` wrapped with ``tc.compile``; it
must be called ``COMPILE_WARMUP`` times before timing (the first calls trace), as a JIT is.

Every implementation starts from the same NumPy-generated weights and data (``mlp_init``),
so they do the same work; ``check_mlp_agreement`` verifies that a few steps of each give the
same updated weights as the hand-written NumPy floor.

Import this module only after ``conftest.py`` / ``report.py`` have set OMP_NUM_THREADS and
OPENBLAS_NUM_THREADS (OpenBLAS reads them when NumPy is first imported).
"""

from __future__ import annotations

import functools

import numpy as np

import tensorcore as tc
import tensorcore.nn.functional as F

NUM_THREADS = 2  # BLAS / OpenMP / torch threads (report.py --threads changes it)
LR = 0.01
CHAIN_OPS = 200  # ops in the overhead chain (5-op cycle x 40); the final .sum() is extra
CHAIN_CYCLE = ("mul by scalar", "add scalar", "tanh", "mul by tensor", "sigmoid")
CHAIN_LEN = 16

# name -> (batch, layer widths: input, hidden..., classes)
MLP_SIZES = {
    "tiny": (32, (64, 64, 10)),
    "small": (128, (784, 512, 256, 10)),
    "large": (1024, (784, 2048, 2048, 10)),
}

COMPILED = "-compiled"  # an implementation's name + this: its step under tc.compile
FUSED = "-fused"  # ... + this: under tc.compile with fusion (options={"fuse": True})
COMPILE_WARMUP = 5  # calls of a compiled function before it is timed (tracing, then replays)
MLP_IMPLS = ("numpy-floor", "tc-numba", "tc-numpy", "torch", "tc-numba-compiled",
             "tc-numpy-compiled", "tc-numba-ops", "tc-numba-ops-compiled", "torch-ops")
CHAIN_IMPLS = ("numpy-floor", "tc-numba", "tc-numpy", "torch", "tc-numba-compiled",
               "tc-numpy-compiled", "tc-numba-fused")


# -- PyTorch (optional, for comparison only) ------------------------------------------------
_torch = None


def get_torch():
    """``torch`` with ``NUM_THREADS`` intra-op threads, or None when it cannot be imported."""
    global _torch
    if _torch is None:
        try:
            import torch
        except Exception:  # ImportError, or a broken install
            _torch = False
        else:
            torch.set_num_threads(NUM_THREADS)
            _torch = torch
    return _torch or None


def blas_info() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS / OpenMP pools (empty without threadpoolctl)."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    return threadpoolctl.threadpool_info()


# -- per-op overhead chain ------------------------------------------------------------------
def _chain_inputs(seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(CHAIN_LEN).astype(np.float32)
    y = rng.standard_normal(CHAIN_LEN).astype(np.float32)
    return x, y


def make_chain(impl: str, backward: bool = True, grad: bool = True,
               return_grad: bool = False):
    """A zero-argument callable running the 200-op chain (and its backward).

    The cycle ``h*0.9, h+0.1, tanh, h*y, sigmoid`` is repeated 40 times; ``x`` requires
    grad, ``y`` is a constant tensor. With ``backward`` the chain ends in
    ``h.sum().backward()`` and ``x.grad`` is reset to None (``return_grad``: the call
    returns that gradient instead of ``h``). ``grad=False`` runs the forward under no_grad
    (the pure dispatch cost, no graph). ``<impl>-compiled``: that callable under
    ``tc.compile`` (forward+backward or no_grad only: a compiled forward that leaves a graph
    for the caller to walk is no step).
    """
    if impl.endswith((COMPILED, FUSED)):
        if grad and not backward:
            raise ValueError(f"{impl}: a compiled chain runs forward+backward or under no_grad")
        fused = impl.endswith(FUSED)
        inner = make_chain(impl.removesuffix(FUSED if fused else COMPILED), backward, grad,
                           return_grad)
        return tc.compile(inner, options={"fuse": fused})
    xn, yn = _chain_inputs()
    cycles = CHAIN_OPS // len(CHAIN_CYCLE)
    if impl == "numpy-floor":
        return _numpy_chain(xn, yn, cycles, backward, grad, return_grad)
    if impl.startswith("tc-"):
        with tc.backends.use_backend(impl[3:]):
            x = tc.tensor(xn, dtype=tc.float32, requires_grad=grad)
            y = tc.tensor(yn, dtype=tc.float32)
        no_grad = tc.no_grad
    elif impl == "torch":
        torch = get_torch()
        if torch is None:
            raise RuntimeError("torch is not importable")
        x = torch.tensor(xn, dtype=torch.float32, requires_grad=grad)
        y = torch.tensor(yn, dtype=torch.float32)
        no_grad = torch.no_grad
    else:
        raise ValueError(f"unknown chain implementation {impl!r}")

    def forward():
        h = x
        for _ in range(cycles):
            h = h * 0.9
            h = h + 0.1
            h = h.tanh()
            h = h * y
            h = h.sigmoid()
        return h

    if not grad:
        def run():
            with no_grad():
                return forward()
    elif backward and return_grad:
        def run():
            forward().sum().backward()
            g = x.grad
            x.grad = None
            return g
    elif backward:
        def run():
            h = forward()
            h.sum().backward()
            x.grad = None
            return h
    else:
        run = forward
    run.x = x
    return run


def _numpy_chain(x, y, cycles, backward, grad, return_grad=False):
    """The per-op floor: the same ufunc calls on raw arrays, backward written by hand
    (sigmoid as ``1 / (1 + exp(-h))``, its gradient ``g * s * (1 - s)``)."""
    scale, shift = np.float32(0.9), np.float32(0.1)

    def forward():
        h, saved = x, []
        for _ in range(cycles):
            h = h * scale
            h = h + shift
            h = np.tanh(h)
            if grad:
                saved.append(h)
            h = h * y
            h = 1 / (1 + np.exp(-h))
            if grad:
                saved.append(h)
        return h, saved

    def run():
        h, saved = forward()
        if backward and grad:
            g = np.ones_like(h)
            for i in range(len(saved) - 1, -1, -2):
                s, t = saved[i], saved[i - 1]
                g = g * s * (1 - s)
                g = g * y
                g = g * (1 - t * t)
                g = g * scale
            run.x.grad = g
            if return_grad:
                return g
        return h

    class _Leaf:
        grad = None

    run.x = _Leaf()
    return run


def chain_reference_grad() -> np.ndarray:
    """d(sum(chain(x)))/dx in float64 NumPy, to check the chain's backward."""
    xn, yn = _chain_inputs()
    x, y = xn.astype(np.float64), yn.astype(np.float64)
    h, g_factors = x, []
    for _ in range(CHAIN_OPS // len(CHAIN_CYCLE)):
        h = np.tanh(h * 0.9 + 0.1)
        g_factors.append(0.9 * (1 - h * h))
        h = 1 / (1 + np.exp(-(h * y)))
        g_factors.append(y * h * (1 - h))
    g = np.ones_like(x)
    for f in reversed(g_factors):
        g = g * f
    return g


# -- MLP training step ----------------------------------------------------------------------
def mlp_init(size: str, seed: int = 0):
    """``(x, labels, [(W, b), ...])`` as float32 / int64 NumPy arrays.

    W is (out, in); W and b are uniform on +-1/sqrt(fan_in) (``torch.nn.Linear``'s default).
    """
    batch, dims = MLP_SIZES[size]
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params.append((w, b))
    x = rng.standard_normal((batch, dims[0])).astype(np.float32)
    labels = rng.integers(0, dims[-1], batch).astype(np.int64)
    return x, labels, params


def make_mlp_step(impl: str, size: str):
    """``(step, get_params)``: one training step, and the current weights as NumPy arrays
    (as ``mlp_init`` lays them out, whatever the implementation stores)."""
    if impl.endswith(COMPILED):
        step, get_params = make_mlp_step(impl.removesuffix(COMPILED), size)
        return tc.compile(step), get_params
    x, labels, params = mlp_init(size)
    if impl == "numpy-floor":
        return _numpy_step(x, labels, params)
    if impl.endswith("-ops"):
        return _ops_step(impl.removesuffix("-ops"), x, labels, params)
    if impl.startswith("tc-"):
        return _tc_step(impl[3:], x, labels, params)
    if impl == "torch":
        return _torch_step(x, labels, params)
    raise ValueError(f"unknown MLP implementation {impl!r}")


def _numpy_step(x, labels, params):
    """The floor: forward, hand-written backward and SGD in NumPy, no autodiff."""
    params = [(w.copy(), b.copy()) for w, b in params]
    n = x.shape[0]
    rows = np.arange(n)
    last = len(params) - 1

    def step():
        acts = [x]  # the input of each layer
        h = x
        for i, (w, b) in enumerate(params):
            z = h @ w.T
            z += b
            if i < last:
                np.maximum(z, 0, out=z)
            acts.append(z)
            h = z
        logits = acts.pop()
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        s = e.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(s[:, 0]) - logits[rows, labels])
        g = e
        g /= s
        g[rows, labels] -= 1
        g *= np.float32(1.0 / n)  # d(mean loss)/d(logits)
        for i in range(last, -1, -1):
            w, b = params[i]
            a = acts[i]
            gw = g.T @ a
            gb = g.sum(axis=0)
            if i > 0:  # no gradient for the input batch
                g = g @ w  # uses the weights before the update
                g *= a > 0  # ReLU' from the layer's output
            gw *= np.float32(LR)
            w -= gw
            gb *= np.float32(LR)
            b -= gb
        return loss

    def get_params():
        return [a.copy() for wb in params for a in wb]

    return step, get_params


def _tc_step(backend, x, labels, params, device: str = "cpu", kernels: str | None = None):
    """tensorcore on ``device`` served by ``backend``; ``kernels`` forces a GPU kernel path
    (``benchmarks/gpu_report.py`` uses it on "cuda")."""
    kind = tc.device(device).type
    with tc.backends.use_backend(backend, kind):
        xt = tc.tensor(x, device=device)
        yt = tc.tensor(labels, device=device)
        ps = [(tc.tensor(w, device=device, requires_grad=True),
               tc.tensor(b, device=device, requires_grad=True)) for w, b in params]
    step, get_params = _sgd_step(xt, yt, ps, functools.partial(F.linear_act, activation="relu"),
                                 F.linear, F.cross_entropy, tc.no_grad)
    if kernels is None:
        return step, get_params

    def step_on_path():
        with tc.backends.use_kernels(kernels):
            return step()

    return step_on_path, get_params


def _torch_step(x, labels, params, device: str = "cpu"):
    """PyTorch eager on ``device`` (``benchmarks/gpu_report.py`` uses it with "cuda")."""
    torch = get_torch()
    if torch is None:
        raise RuntimeError("torch is not importable")
    tF = torch.nn.functional
    xt = torch.from_numpy(x.copy()).to(device)
    yt = torch.from_numpy(labels.copy()).to(device)
    ps = [(torch.tensor(w, device=device, requires_grad=True),
           torch.tensor(b, device=device, requires_grad=True)) for w, b in params]
    return _sgd_step(xt, yt, ps, lambda h, w, b: tF.relu(tF.linear(h, w, b)), tF.linear,
                     tF.cross_entropy, torch.no_grad)


def _sgd_step(xt, yt, ps, hidden_layer, linear, cross_entropy, no_grad):
    """``(step, get_params)`` of the MLP step, written once for tensorcore and PyTorch: the
    hidden layers, the output layer and loss, backward, and the SGD update of ``ps``."""
    flat = [p for wb in ps for p in wb]
    hidden, (w_out, b_out) = ps[:-1], ps[-1]

    def step():
        h = xt
        for w, b in hidden:
            h = hidden_layer(h, w, b)
        loss = cross_entropy(linear(h, w_out, b_out), yt)
        loss.backward()
        with no_grad():
            for p in flat:
                p.sub_(p.grad, alpha=LR)
                p.grad = None
        return loss

    def get_params():
        return [p.detach().cpu().numpy().copy() for p in flat]

    step.inputs = (xt, yt)  # the static inputs of a captured step (gpu_report's torch+graph)
    return step, get_params


def _ops_step(impl, x, labels, params):
    """The step op by op, as a course notebook writes it, in tensorcore (``tc-<backend>``) or
    PyTorch (``torch``): the weights stored as (in, out) so that a layer is ``h @ W + b``,
    the loss as ``-log_softmax(logits)[idx, y].mean()`` and SGD as ``p -= LR * p.grad``."""
    if impl.startswith("tc-"):
        with tc.backends.use_backend(impl[3:]):
            xt, yt, idx = tc.tensor(x), tc.tensor(labels), tc.arange(len(labels))
            ps = [(tc.tensor(w.T.copy(), requires_grad=True), tc.tensor(b, requires_grad=True))
                  for w, b in params]
        no_grad = tc.no_grad
    elif impl == "torch":
        torch = get_torch()
        if torch is None:
            raise RuntimeError("torch is not importable")
        xt, yt = torch.from_numpy(x.copy()), torch.from_numpy(labels.copy())
        idx = torch.arange(len(labels))
        ps = [(torch.tensor(w.T.copy(), requires_grad=True), torch.tensor(b, requires_grad=True))
              for w, b in params]
        no_grad = torch.no_grad
    else:
        raise ValueError(f"unknown op-by-op implementation {impl!r}")
    flat = [p for wb in ps for p in wb]
    hidden, (w_out, b_out) = ps[:-1], ps[-1]

    def step():
        h = xt
        for w, b in hidden:
            h = (h @ w + b).relu()
        logp = (h @ w_out + b_out).log_softmax(dim=1)
        loss = -logp[idx, yt].mean()
        loss.backward()
        with no_grad():
            for p in flat:
                p -= LR * p.grad
                p.grad = None
        return loss

    def get_params():  # W back to (out, in), as mlp_init and the other steps have it
        return [p.detach().cpu().numpy().T.copy() for p in flat]

    return step, get_params


def _available(impls) -> list[str]:
    """``impls`` less PyTorch's when it cannot be imported."""
    if get_torch() is not None:
        return list(impls)
    return [i for i in impls if not i.startswith("torch")]


def available_mlp_impls() -> list[str]:
    return _available(MLP_IMPLS)


def available_chain_impls() -> list[str]:
    return _available(CHAIN_IMPLS)


def is_compiled_name(impl: str) -> bool:
    """Whether the implementation ``impl`` is a step under ``tc.compile``."""
    return impl.endswith((COMPILED, FUSED))


def is_compiled(step) -> bool:
    """Whether ``step`` is a ``tc.compile``d function (it has ``stats``)."""
    return isinstance(step, tc.compiler.CompiledFunction)


def warm_up(step, calls: int = 3) -> None:
    """Call ``step`` before it is timed: ``calls`` times, ``COMPILE_WARMUP`` when compiled
    (Numba compiles lazily, BLAS allocates its buffers, tc.compile traces)."""
    for _ in range(max(calls, COMPILE_WARMUP) if is_compiled(step) else calls):
        step()


def check_mlp_agreement(size: str, steps: int = 3, rtol: float = 2e-3, atol: float = 1e-5,
                        impls: list[str] | None = None) -> dict[str, float]:
    """Run ``steps`` steps of every implementation (``impls``, default all) from the same
    start; compare the weights with the NumPy floor's. Returns the max relative difference
    per implementation and raises AssertionError when one disagrees (so a benchmark never
    times different work)."""
    ref_step, ref_params = make_mlp_step("numpy-floor", size)
    for _ in range(steps):
        ref_step()
    ref = ref_params()
    out = {}
    for impl in available_mlp_impls() if impls is None else impls:
        if impl == "numpy-floor":
            continue
        step, get_params = make_mlp_step(impl, size)
        for _ in range(steps):
            step()
        worst = 0.0
        for r, p in zip(ref, get_params()):
            np.testing.assert_allclose(p, r, rtol=rtol, atol=atol,
                                       err_msg=f"{impl} {size}: weights differ from the floor")
            worst = max(worst, float(np.max(np.abs(p - r) / (np.abs(r) + atol))))
        out[impl] = worst
    return out


def check_chain_agreement(rtol: float = 1e-4) -> None:
    """The chain's gradient in every implementation matches the float64 reference, at each
    of ``COMPILE_WARMUP`` calls (the eager ones reset ``x.grad`` between them; the compiled
    ones trace, then replay)."""
    ref = chain_reference_grad()
    for impl in available_chain_impls():
        run = make_chain(impl, return_grad=True)
        for call in range(COMPILE_WARMUP):
            g = run()
            g = g.detach().numpy() if hasattr(g, "detach") else np.asarray(g)
            np.testing.assert_allclose(g, ref, rtol=rtol, atol=1e-7,
                                       err_msg=f"{impl}: chain gradient is wrong at call {call}")
