"""What weight sharing leaves behind: counting shared values and refitting groups.

After training with the regularizer (or after one prox of a trained layer), each
slice along the last axis holds a few distinct values. Two post-training steps
researchers use: count them (how much sharing), and *refit*: keep the groups
but give each the mean of the original weights in it (the prox also shrinks the
values toward each other; the refit undoes the shrinkage, not the sharing).

Both accept what training leaves in your hands: ndarrays, and torch tensors or
``nn.Parameter`` s on any device, including ones that require grad, float16 and
bfloat16 (read through ``detach().cpu()``, half precision widened exactly to
float32; the parameter itself is not touched). Results are always NumPy. Both
work along the last axis; for the rows that ``prox.training`` shares, reshape
first: ``w.reshape(w.shape[0], -1)`` (one conv output channel per row) or
``w.reshape(-1)`` (the whole layer).
"""
from __future__ import annotations

import numpy as np

from .validation import check_weights, is_torch_tensor

__all__ = ["count_shared_values", "refit_groups", "read_weights"]


def read_weights(a, name: str = "w") -> np.ndarray:
    """``a`` as a checked ndarray (real dtype, finite; errors name ``name``).

    Tensors and ``nn.Parameter`` s (any device, requiring grad or not) are read
    through ``detach().cpu()``; float16 and bfloat16 are widened exactly to float32.
    ``a`` itself is not touched. O(size) (one copy at most).

    >>> import torch
    >>> read_weights(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    array([1., 2.], dtype=float32)
    """
    if is_torch_tensor(a):
        import torch

        a = a.detach().cpu()
        if a.dtype in (torch.float16, torch.bfloat16):
            a = a.to(torch.float32)  # exact: every half value is a float32 value
        a = a.numpy()
    elif isinstance(a, np.ndarray) and a.dtype == np.float16:
        a = a.astype(np.float32)
    return np.asarray(check_weights(a, name))


def _rows(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, a.shape[-1])


def count_shared_values(u):
    """Number of distinct values along the last axis.

    Parameters
    ----------
    u : array_like or Tensor, shape (..., d)

    Returns
    -------
    int for 1-D input, else an int64 ndarray of shape ``u.shape[:-1]``.
    Cost: a sort of every slice, O(size log d).

    Examples
    --------
    >>> count_shared_values(np.array([[1.0, 1.0, 2.0], [0.0, 0.0, 0.0]]))
    array([2, 1])
    """
    u = read_weights(u, "u")
    if u.shape[-1] == 0:
        counts = np.zeros(u.shape[:-1], np.int64)
    else:
        ordered = np.sort(_rows(u), axis=-1)
        counts = 1 + np.count_nonzero(np.diff(ordered, axis=-1), axis=-1)
        counts = counts.reshape(u.shape[:-1])
    return int(counts) if u.ndim == 1 else counts


def refit_groups(w, u) -> np.ndarray:
    """Keep the groups of ``u`` (equal values per slice) with each group's mean of ``w``.

    Parameters
    ----------
    w : array_like or Tensor, shape (..., d)
        The original weights.
    u : array_like or Tensor, same shape
        Their shared version, e.g. ``prox_ws(w, lam)``.

    Returns
    -------
    float64 ndarray of ``w``'s shape: on every group of entries where ``u`` is
    constant (within one slice), the mean of ``w`` over that group. To put it
    back into a parameter: ``param.data.copy_(torch.from_numpy(refit))``.
    """
    w = read_weights(w, "w")
    u = read_weights(u, "u")
    if w.shape != u.shape:
        raise ValueError(f"Invalid u: shape {u.shape} does not match w's shape {w.shape}")
    out = np.empty(w.shape, np.float64)
    for row_w, row_u, row_out in zip(_rows(w), _rows(u), out.reshape(-1, w.shape[-1])):
        _, group = np.unique(row_u, return_inverse=True)
        row_out[:] = (np.bincount(group, row_w) / np.bincount(group))[group]
    return out
