"""Moving between what users pass (ndarray or Tensor, any shape) and kernel rows.

Kernels work on 2-D C-contiguous rows of float32 or float64 along the last
axis. Dtype policy (stated once, tested): float32 stays float32 and float64
stays float64 at the API; integer input is computed and returned in float64.
"""
from __future__ import annotations

import numpy as np

from ._validation import is_torch_tensor

__all__ = ["to_rows"]


def _result_dtype_numpy(dtype: np.dtype) -> np.dtype:
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def to_rows(w, kind: str):
    """Return ``(rows, restore)`` for a validated array ``w``.

    ``kind`` is the array kind the kernel wants: ``"numpy"`` or ``"torch"``.
    ``rows`` has shape ``(prod(w.shape[:-1]), d)`` and never shares memory the
    kernel could write through (kernels only read it). ``restore(out_rows)``
    gives back the user's kind, shape, dtype and device.
    """
    shape = tuple(w.shape)
    d = shape[-1]
    n_rows = int(np.prod(shape[:-1], dtype=np.int64))
    if is_torch_tensor(w):
        import torch

        dtype = w.dtype if w.dtype in (torch.float32, torch.float64) else torch.float64
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

    dtype = _result_dtype_numpy(w.dtype)
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

