"""What weight sharing leaves behind: counting shared values and refitting groups.

After training with the regularizer (or after one prox of a trained layer), each
slice along the last axis holds a few distinct values. Two post-training steps
researchers use: count them (how much sharing), and *refit*: keep the groups
but give each the mean of the original weights in it (the prox also shrinks the
values toward each other; the refit undoes the shrinkage, not the sharing).
"""
from __future__ import annotations

import numpy as np

from ._validation import check_weights

__all__ = ["count_shared_values", "refit_groups"]


def _rows(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(-1, a.shape[-1])


def count_shared_values(u):
    """Number of distinct values along the last axis.

    Parameters
    ----------
    u : array_like, shape (..., d)

    Returns
    -------
    int for 1-D input, else an int64 ndarray of shape ``u.shape[:-1]``.
    """
    u = np.asarray(check_weights(u, "u"))
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
    w : array_like, shape (..., d)
        The original weights.
    u : array_like, same shape
        Their shared version, e.g. ``prox_ws(w, lam)``.

    Returns
    -------
    float64 ndarray of ``w``'s shape: on every group of entries where ``u`` is
    constant (within one slice), the mean of ``w`` over that group.
    """
    w = np.asarray(check_weights(w, "w"))
    u = np.asarray(check_weights(u, "u"))
    if w.shape != u.shape:
        raise ValueError(f"Invalid u: shape {u.shape} does not match w's shape {w.shape}")
    out = np.empty(w.shape, np.float64)
    for row_w, row_u, row_out in zip(_rows(w), _rows(u), out.reshape(-1, w.shape[-1])):
        _, group = np.unique(row_u, return_inverse=True)
        row_out[:] = (np.bincount(group, row_w) / np.bincount(group))[group]
    return out
