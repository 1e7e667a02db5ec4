"""Solver ``"events"``: the prox at one ``lam`` by running the simulation up to it.

Registered through ``prox.register_solver`` (in ``particles/__init__.py``), so
``prox.prox_ws(w, lam, method="events")`` works. Per row: sort (packed keys),
pop collisions in time order while their time is <= ``lam``
(``numba_events.simulate_sorted`` with ``t_stop=lam``, nothing recorded),
then write each cluster's position at ``lam``, its mean start position
re-summed from the sorted row plus ``lam`` times its mean velocity, scattered
to the original order. No Trajectory is built.

Work O(d log d) per row (the sort, and one heap operation per merge up to
``lam``); sequential.
"""
from __future__ import annotations

import numba
import numpy as np

from prox.scaling import power_of_two_scale
from prox.sort_keys import sort_with_order as sort_rows

from .backends import numba_events

__all__ = ["prox_events_rows"]


@numba.njit(cache=True)
def _prox_rows(xs, order, lam, scale, out, mean, nxt, prv, pos, ptime, htime, hpair,
               ev_f, ev_i, sorted_row):
    # ev_f / ev_i: empty placeholders, nothing is recorded.
    n_rows, d = xs.shape
    for r in range(n_rows):
        numba_events.simulate_sorted(xs[r], lam, mean, nxt, prv, pos, ptime, htime, hpair,
                                      ev_f, ev_i, ev_i, ev_i, ev_f, False)
        numba_events.positions_from_clusters(xs[r], nxt, lam, scale, sorted_row)
        for k in range(d):
            out[r, order[r, k]] = sorted_row[k]


def prox_events_rows(rows: np.ndarray, lam: float):
    """Prox of every row of a C-contiguous float32/float64 array (not modified).

    Returns ``(out, None)``: a new array of the same shape and dtype, and no
    round count (sequential). Computed in float64.
    """
    n_rows, d = rows.shape
    out = np.empty_like(rows)
    if d <= 1 or rows.size == 0:
        out[...] = rows
        return out, None
    order, xs = sort_rows(rows)
    # Segment sums of xs / scale cannot overflow (a power of two: exact).
    scale = power_of_two_scale(float(np.abs(xs).max()))
    index = numba_events.index_dtype(d)
    _prox_rows(xs, order, float(lam), scale, out, *numba_events.allocate(d).values(),
               np.empty(0), np.empty(0, index), np.empty(d))
    return out, None
