"""Moving between what users pass (ndarray or Tensor, any shape) and kernel rows.

Kernels work on 2-D C-contiguous rows of float32 or float64 along the last
axis, in the dtype :func:`prox.validation.result_dtype` gives (the dtype
policy: float32 and float64 stay, integers become float64).
"""
from __future__ import annotations

import numpy as np

from .validation import is_torch_tensor, result_dtype

__all__ = ["to_rows"]


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
    n_rows = int(np.prod(shape[:-1], dtype=np.int64))
    if is_torch_tensor(w):
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
    rows = np.ascontiguousarray(w.reshape(n_rows, d), dtype=dtype)
    if kind == "torch":
        import torch

        rows = torch.from_numpy(rows)

        def restore(out):
            return out.cpu().numpy().reshape(shape)

        return rows, restore

    def restore(out):
        return out.reshape(shape)

    return rows, restore

