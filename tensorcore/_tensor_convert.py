"""Conversions of a ``Tensor``: to Python values, NumPy and other array libraries, text, and
the dtype / device shorthands of ``to``.

``TensorConversions`` is a base class of ``Tensor`` holding these methods; none records a
node or sends to an op other than through ``Tensor.to``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import _dtype
from ._device import device as Device

if TYPE_CHECKING:  # the subclass, for annotations only: tensor.py imports this module
    from .tensor import Tensor


class TensorConversions:
    """The conversion methods of ``Tensor`` (its only other base is ``object``)."""

    __slots__ = ()  # Tensor's instances keep only Tensor's slots (no __dict__)

    # -- to Python values, NumPy and array libraries -------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted "
                               f"to Scalar")
        return self._backend.to_numpy(self._data).reshape(()).item()

    def tolist(self):
        return self._backend.to_numpy(self._data).tolist()

    def _refuse_device_memory(self) -> None:
        """NumPy reads host memory only: a tensor elsewhere must be copied with ``.cpu()``."""
        if self.device.type != "cpu":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use "
                            f"Tensor.cpu() to copy the tensor to host memory first.")

    def numpy(self, force: bool = False) -> np.ndarray:
        if self.device.type != "cpu":
            if not force:
                self._refuse_device_memory()
            return self._backend.to_numpy(self._data)
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._data

    def __array__(self, dtype=None, copy=None):
        self._refuse_device_memory()  # as PyTorch: np.asarray(t) needs t.cpu() first
        arr = self._backend.to_numpy(self._data)
        shared = arr is self._data  # NumPy 2 trusts us to honour copy=: np.array(t) copies
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            arr, shared = arr.astype(dtype), False
        if copy and shared:
            arr = arr.copy()
        elif copy is False and not shared:
            raise ValueError(f"converting a {self.device} tensor of dtype {self.dtype} to this "
                             f"NumPy array needs a copy, but copy=False was given")
        return arr

    @property
    def __cuda_array_interface__(self) -> dict:
        """CUDA Array Interface (v3) of a CUDA tensor's memory, for Numba, CuPy and others;
        AttributeError on CPU tensors, so ``hasattr`` is False there (as PyTorch)."""
        if self.device.type != "cuda":
            raise AttributeError(f"Can't get __cuda_array_interface__ on non-CUDA tensor "
                                 f"(device {self.device}). If CUDA data is required use "
                                 f"tensor.cuda() to copy tensor to device memory.")
        if self._requires_grad:
            raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires "
                               "grad. If gradients aren't required, use var.detach() to get "
                               "Variable that doesn't require grad.")
        return self._data.__cuda_array_interface__

    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is "
                               f"ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    # -- dtype and device shorthands of ``to``, contiguity -------------------------------------
    def type(self, dtype=None):
        if dtype is None:
            return f"tensorcore.{self.dtype.name}"
        return self.to(dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to("cuda" if device is None else Device("cuda", device)
                       if isinstance(device, int) else device)

    def float(self) -> Tensor:
        return self.to(_dtype.float32)

    def double(self) -> Tensor:
        return self.to(_dtype.float64)

    def half(self) -> Tensor:
        return self.to(_dtype.float16)

    def long(self) -> Tensor:
        return self.to(_dtype.int64)

    def int(self) -> Tensor:
        return self.to(_dtype.int32)

    def bool(self) -> Tensor:
        return self.to(_dtype.bool_)

    def is_contiguous(self) -> bool:
        return bool(self._data.flags.c_contiguous)

    # -- printing ------------------------------------------------------------------------------
    def __repr__(self) -> str:
        arr = self._backend.to_numpy(self._data)
        body = np.array2string(arr, separator=", ", prefix="tensor(",
                               precision=4, floatmode="maxprec_equal")
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        default = {_dtype.get_default_dtype().np, np.dtype(np.int64), np.dtype(np.bool_)}
        if arr.dtype not in default or arr.size == 0:
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"
