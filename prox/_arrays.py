"""Moving between what users pass (ndarray or Tensor, any shape) and kernel rows.

Kernels work on 2-D C-contiguous rows of float32 or float64 along the last
axis, in the dtype :func:`prox.validation.result_dtype` gives (the dtype
policy: float32 and float64 stay, integers become float64).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .validation import is_torch_tensor, result_dtype

__all__ = ["to_rows", "OutputKind", "largest_magnitude"]


@dataclass(frozen=True)
class OutputKind:
    """What results computed in float64 ndarrays are handed back as, for one input.

    The dtype policy (:func:`prox.validation.result_dtype`) for code that
    computes in float64 whatever the input (the particle trajectories, GrOWL):
    an ndarray input gets ndarrays of its result dtype (float32 stays
    float32), a tensor input gets tensors of its result dtype on its device.
    """

    dtype: Any  # a NumPy dtype, or a torch.dtype for tensor input
    device: Any = None  # the tensor input's device; None for ndarray input

    @classmethod
    def of(cls, w) -> OutputKind:
        """The output kind for a validated input ``w`` (ndarray or tensor)."""
        if is_torch_tensor(w):
            return cls(result_dtype(w.dtype), w.device)
        return cls(result_dtype(np.asarray(w).dtype))

    @property
    def is_torch(self) -> bool:
        return self.device is not None

    def __call__(self, array):
        """``array`` (an ndarray) in this kind; no copy when it already is."""
        if self.is_torch:
            import torch

            return torch.from_numpy(np.asarray(array)).to(device=self.device, dtype=self.dtype)
        return np.asarray(array).astype(self.dtype, copy=False)


def to_rows(w, kind: str):
    """Return ``(rows, restore)`` for a validated array ``w``.

    ``kind`` is the array kind the kernel wants: ``"numpy"`` or ``"torch"``.
    ``rows`` has shape ``(prod(w.shape[:-1]), d)``. It is a view of ``w``'s
    memory whenever no copy is needed (C-contiguous input already in its
    result dtype, and on the CPU if a tensor goes to a ``"numpy"`` kernel),
    else a copy, so kernels must only read it (the contract of
    :mod:`prox._registry`).
    ``restore(out_rows)`` gives back the user's kind, shape, dtype and device.
    """
    shape = tuple(w.shape)
    d = shape[-1]
    n_rows = math.prod(shape[:-1])
    if type(w) is not np.ndarray and is_torch_tensor(w):
        import torch

        dtype = result_dtype(w.dtype)
        device = w.device
        rows = w.detach().reshape(n_rows, d).to(dtype).contiguous()
        if kind == "numpy":
            rows = rows.cpu().numpy()

            def restore(out):
                return torch.from_numpy(out).reshape(shape).to(device)

            return rows, restore

        def restore(out):
            return out.reshape(shape).to(dtype)

        return rows, restore

    dtype = result_dtype(w.dtype)
    rows = w.reshape(n_rows, d)
    if rows.dtype != dtype or not rows.flags.c_contiguous:
        rows = np.ascontiguousarray(rows, dtype=dtype)
    if kind == "torch":
        import torch

        rows = torch.from_numpy(rows)

        def restore(out):
            return out.cpu().numpy().reshape(shape)

        return rows, restore

    def restore(out):
        return out.reshape(shape)

    return rows, restore


@numba.njit(cache=True, fastmath=True)
def _largest_magnitude_flat(flat):
    # Precondition: finite entries (validated), so the fast-math min/max is exact.
    high = flat.dtype.type(0)
    low = flat.dtype.type(0)
    for i in range(flat.shape[0]):
        high = max(high, flat[i])
        low = min(low, flat[i])
    return max(float(high), -float(low))


def largest_magnitude(rows) -> float:
    """``max |x|`` over validated, non-empty kernel rows (ndarray or tensor), as a float.

    C-contiguous float ndarrays take one compiled pass (two numpy reductions
    cost microseconds of fixed overhead per call on short rows).
    """
    if isinstance(rows, np.ndarray) and rows.dtype.char in "fd" and rows.flags.c_contiguous:
        return _largest_magnitude_flat(rows.ravel())
    return max(float(rows.max()), -float(rows.min()))
