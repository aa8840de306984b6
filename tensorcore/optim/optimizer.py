"""``Optimizer``: the base class of the optimizers, with PyTorch's param groups and state.

An optimizer holds ``param_groups`` (dicts of parameters and their hyperparameters, the
defaults filled in) and ``state`` (a dict per parameter: step counts and buffers, as
tensors). ``step()`` updates every parameter that has a ``.grad``, in place and without
recording a graph; subclasses give the update of one parameter (``_update``).

Under ``tensorcore.compile`` (see ``tensorcore.compiler``) an update keeps its per-step numbers
live: each ``_update`` computes every Python number its array calls take (the learning rate,
``1 - beta``, a bias correction...) in one function called through ``compiler.live`` and hands
the results to the array calls untouched, so a replay recomputes them from the param groups and
the state. ``step`` first calls ``compiler.guard`` with a key of what decides which array calls
run (``_structure_key``), and changes to the groups or the state (``add_param_group``,
``load_state_dict``) run eagerly (``compiler.eager_only``).

>>> import tensorcore as tc
>>> from tensorcore.optim import SGD
>>> w = tc.tensor([1.0, 2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.5)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w
tensor([0., 0.], requires_grad=True)
>>> opt.zero_grad(); w.grad is None
True
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from .. import compiler
from .._dtype import get_default_dtype
from ..autograd.grad_mode import enable_grad
from ..backends import get_backend
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """The default of a hyperparameter that every param group must set (no default)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()

# the values the default guard key takes from a param group (hashable and cheap to compare)
_KEY_SCALARS = (bool, int, float, str, type(None))


def check_nonnegative(label: str, value: float) -> None:
    """ValueError ``Invalid <label>: <value>`` unless ``value >= 0`` (PyTorch's messages)."""
    if not value >= 0.0:
        raise ValueError(f"Invalid {label}: {value}")


def check_pytorch_only_options(differentiable: bool) -> None:
    """PyTorch's implementation switches (``foreach``, ``fused``, ``capturable``) are
    accepted and ignored: they choose how PyTorch runs the same update. ``differentiable=True``
    (a graph through the update) is not supported: ValueError."""
    if differentiable:
        raise ValueError("differentiable=True is not supported: tensorcore's optimizers update "
                         "the parameters outside the graph")


def zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
    """A state buffer for ``p``: same shape, dtype and device, filled with ``fill``."""
    xp = p._backend.xp
    data = xp.zeros_like(p._data) if fill == 0.0 else xp.full_like(p._data, fill)
    return Tensor._make(data, p._backend)


def step_state() -> Tensor:
    """A step counter: a 0-d float tensor on the CPU, as PyTorch keeps ``state['step']``."""
    backend = get_backend("cpu")
    return Tensor._make(backend.xp.zeros((), dtype=get_default_dtype().np), backend)


def advance_step(state: dict) -> float:
    """Add one to ``state['step']`` (in place) and return the new count as a float."""
    step = state["step"]._data
    step += 1
    return float(step)


def effective_grad(p: Tensor, maximize: bool, decay):
    """The array an update uses: ``p.grad`` negated under ``maximize``, plus the L2 term
    ``decay * p`` unless ``decay`` is None (a new array when either applies; else
    ``p.grad``'s own, which the update must then not write). ``decay`` is the weight decay as
    the update's live function returned it; the caller passes None when the group has none
    (a structure choice, in the group's guard key)."""
    g = p.grad._data
    if maximize:
        g = -g
    if decay is not None:
        g = g + decay * p._data
    return g


class Optimizer:
    """Base class of all optimizers (see the module docstring).

    ``params`` is an iterable of tensors, or of dicts each with a ``"params"`` entry and
    hyperparameters that override ``defaults`` for that group.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict] = defaultdict(dict)
        # counts the creations and replacements of state and groups: which state buffers exist
        # decides an update's array calls, so the number is part of the guard key
        self._state_generation = 0
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``"params"``; missing hyperparameters take
        the optimizer's defaults)."""
        compiler.eager_only("Optimizer.add_param_group changes the optimizer's parameters")
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)
        self._state_generation += 1

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to None (the default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if p.grad.grad_fn is not None:
                    p.grad.detach_()
                else:
                    p.grad.requires_grad_(False)
                p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None):
        """One update of every parameter that has a gradient; returns ``closure()``'s value
        (the closure re-evaluates the model and returns the loss) or None."""
        if compiler.is_compiling():  # outside a trace the key would go unused: skip its cost
            compiler.guard(Optimizer._structure_key, self)
        loss = None
        self._opt_called = True  # for the schedulers' check of the call order
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.shape != p.shape:  # NumPy would broadcast it silently
                    raise RuntimeError(f"the gradient of a parameter of shape {list(p.shape)} "
                                       f"has shape {list(p.grad.shape)}")
                self._update(p, group, self.state[p])
                p._version_box[0] += 1  # an in-place change, as ``p.sub_`` counts one
        return loss

    def _update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Update ``p._data`` in place from ``p.grad`` with ``group``'s hyperparameters."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # -- tracing -----------------------------------------------------------------------------
    def _structure_key(self) -> tuple:
        """What decides which array calls ``step`` makes: the state's generation and size
        (which buffers exist; ``len`` also sees ``state`` cleared or replaced from outside)
        and each group's ``_group_key``. ``compile`` traces again when it changes."""
        return (self._state_generation, len(self.state),
                tuple([self._group_key(group) for group in self.param_groups]))

    def _group_key(self, group: dict[str, Any]) -> tuple:
        """The hyperparameters of ``group`` that choose branches of ``_update``. This default,
        for subclasses that do not say, takes every hashable scalar one: an ``_update`` that
        does not pass its numbers through ``compiler.live`` then traces again whenever one
        changes instead of replaying a frozen value. The built-in optimizers override it."""
        return tuple([(name, value) for name, value in group.items()
                      if isinstance(value, _KEY_SCALARS)])

    # -- checkpoints ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``: the
        state keyed by each parameter's position over all groups (the tensors are the
        optimizer's own, not copies)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load what ``state_dict()`` returned (copied; tensors moved to each parameter's
        device and floating dtype); the groups and their sizes must match."""
        compiler.eager_only("Optimizer.load_state_dict replaces the optimizer's state")
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError("optimizer state_dict must be a dict with keys 'state' and "
                             "'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)}) than the optimizer "
                             f"({len(self.param_groups)})")
        params_by_index: dict[Any, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't "
                                 f"match the size of optimizer's group: group {i} has "
                                 f"{len(saved['params'])} parameters in the state dict and "
                                 f"{len(group['params'])} in the optimizer")
            params_by_index.update(zip(saved["params"], group["params"]))
        new_state: defaultdict[Tensor, dict] = defaultdict(dict)
        for key, entries in state_dict["state"].items():
            if key not in params_by_index:
                raise KeyError(f"loaded state dict has state for parameter {key!r}, which is "
                               f"in none of its parameter groups")
            p = params_by_index[key]
            new_state[p] = {name: _state_value_for(p, name, value)
                            for name, value in entries.items()}
        self.state = new_state
        self.param_groups = [dict(copy.deepcopy({k: v for k, v in saved.items() if k != "params"}),
                                  params=group["params"])
                             for group, saved in zip(self.param_groups, saved_groups)]
        self._state_generation += 1


def _state_value_for(p: Tensor, name: str, value):
    """A loaded state entry made fit for ``p``: the step count as a fresh CPU tensor; other
    tensors copied to ``p``'s device and floating dtype, of its shape for buffers."""
    if name == "step":  # a tensor or a number
        step = step_state()
        step._data[...] = float(value)
        return step
    if not isinstance(value, Tensor):
        return copy.deepcopy(value)
    if value.ndim != 0 and tuple(value.shape) != tuple(p.shape):
        raise ValueError(f"loaded state {name!r} has shape {list(value.shape)}, but its "
                         f"parameter has shape {list(p.shape)}")
    moved = value.detach().to(p.device)
    if p.is_floating_point():
        moved = moved.to(p.dtype)
    data = p._backend.asarray(moved._data).copy()
    return Tensor._make(data, p._backend)
