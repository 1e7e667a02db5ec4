"""Batched weighted prox for the time split: the blocks of many super-particle rows at once.

One call solves every (sub-problem, probe time) pair of a level of
:mod:`particles._time_split`. A *row* is a run of adjacent super-particles of
one sorted input row; super-particle ``e`` is the run ``[lo[e], hi[e])`` of
sorted indices of original row ``orow[e]``, with mass ``hi - lo``, mean start
``X_e = mean(x[lo:hi])`` and mean velocity ``V_e = (d - lo - hi) / (d - 1)``
(the velocity of its middle rank). At the row's probe time ``s`` the fit of a
block of consecutive super-particles ``p..q`` is the mean of ``x + s c`` over
the original run ``[lo[p], hi[q])``::

    fit(p..q) = mean(x[lo[p]:hi[q]]) + s * (d - lo[p] - hi[q]) / (d - 1)

which is the mass-weighted mean of the super-particles' ``X + s V``: a block
mean of super-particles is a plain mean over the particles they hold, read
from prefix sums of the ORIGINAL row. So the weighted problem needs no weight
arrays, and the result is the non-decreasing weighted isotonic fit of
``X + s V`` with weights ``hi - lo``.

Algorithm: divide and conquer over positions (the same merge step as
``prox.divide_conquer``, whose docstring proves it): pad each row to a power
of two with dummies (fit ``+inf``), lay the padded rows out largest first, so
that every row starts at a multiple of its padded length (a row of padded
length ``2^k`` then never straddles a midpoint of a merge level ``>= k``), and
merge solved halves level by level. At each level a merge touches only
segments that lie inside one row, so rows never pool into each other. The
left end of the one new block is found by a binary search whose test is
"the block from ``p`` to the last B entry with fit ``<= mu`` has mean ``<= mu``";
the right end is the last argmin of the pooled means over B's block ends.

Rounds: binary-search steps executed; at most ``l (l + 1) / 2`` for padded
rows of length ``2^l`` (``prox.divide_conquer``). Work O(N log N) for ``N``
padded entries. Host syncs: two per merge level (work-list sizes) plus one per
search step (the termination test).
"""
from __future__ import annotations

import torch

from prox.torch_blocks import flat_ranges

__all__ = ["range_mean", "weighted_blocks"]


def range_mean(prefix: torch.Tensor, orow: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor):
    """``mean(x[orow, lo:hi])`` from split prefix sums, elementwise.

    ``prefix``: float64 (rows, d + 1, 2), exclusive split prefix sums of the
    sorted rows (exact coarse part, small fine part; see
    ``prox.torch_blocks.split_prefix_sums``): a range mean is accurate to
    about ``eps * |range sum| / length``. ``orow, lo, hi``: int64, same shape,
    ``lo < hi``.
    """
    width = prefix.shape[1]
    flat = prefix.reshape(-1, 2)
    base = orow * width
    upper = flat.index_select(0, (base + hi).reshape(-1))
    lower = flat.index_select(0, (base + lo).reshape(-1))
    total = (upper[:, 0] - lower[:, 0]) + (upper[:, 1] - lower[:, 1])
    return (total / (hi - lo).reshape(-1).to(total.dtype)).reshape(lo.shape)


def weighted_blocks(real, row_id, orow, lo, hi, probe, prefix, d: int, levels: int):
    """Block starts of the weighted isotonic fit of every padded row of a flat layout.

    Parameters (all 1-D of length ``N``, a multiple of ``2^levels``; rows are
    padded to powers of two ``<= 2^levels`` and start at multiples of their
    padded length; real entries first in each row, dummies after):

    real   : bool, the entry is a super-particle (False: dummy)
    row_id : int64, the row of each position (dummies of a row share its id;
             positions beyond all rows get -1)
    orow, lo, hi : int64, super-particle ``[lo, hi)`` of original row ``orow``
             (anything valid, e.g. 0, 0, 1, for dummies)
    probe  : float64, the row's probe time ``s`` at each of its positions
    prefix : float64 (rows, d + 1, 2), see :func:`range_mean`
    d      : particles per original row; ``levels``: merge levels to run

    Returns ``(starts, rounds)``: bool (N,), True at the first real entry of
    every block; ``rounds`` the binary-search steps executed.
    """
    n = real.shape[0]
    device = real.device
    pos = torch.arange(n, device=device)

    def block_fit(first_entry, last_entry):
        a = lo.index_select(0, first_entry)
        b = hi.index_select(0, last_entry)
        mean = range_mean(prefix, orow.index_select(0, first_entry), a, b)
        velocity = (d - a - b).to(torch.float64) / (d - 1)  # int / int would be float32
        return mean + probe.index_select(0, first_entry) * velocity

    fit = torch.where(real, block_fit(pos, pos), torch.inf)
    first = pos.clone()
    last = pos.clone()
    rounds = 0
    for level in range(levels):
        half = 1 << level
        mids = pos[half::2 * half]
        # Only segments inside one row whose halves meet out of order change.
        todo = (
            real.index_select(0, mids)
            & (row_id.index_select(0, mids) == row_id.index_select(0, mids - 1))
            & (fit.index_select(0, mids - 1) >= fit.index_select(0, mids))
        )
        seg = todo.nonzero().squeeze(1)
        if seg.shape[0] == 0:
            continue
        mid = mids.index_select(0, seg)
        fit_b = fit.view(-1, 2 * half)[seg, half:]  # B's fit, non-decreasing (dummies +inf)
        lo_s = mid - half
        hi_s = mid.clone()
        count_hi = torch.zeros_like(mid)
        while True:
            open_ = lo_s < hi_s
            if not bool(open_.any()):
                break
            centre = (lo_s + hi_s) >> 1
            p = first.index_select(0, centre)
            mu = fit.index_select(0, p)
            count = torch.searchsorted(fit_b, mu[:, None], right=True).squeeze(1)
            end = mid + (count - 1).clamp(min=0)
            crosses = (count > 0) & (block_fit(p, end) <= mu)
            move_hi = open_ & crosses
            hi_s = torch.where(move_hi, p, hi_s)
            count_hi = torch.where(move_hi, count, count_hi)
            lo_s = torch.where(open_ & ~crosses, last.index_select(0, centre) + 1, lo_s)
            rounds += 1
        merging = (lo_s < mid).nonzero().squeeze(1)
        if merging.shape[0] == 0:
            continue
        a = lo_s.index_select(0, merging)
        owner, q = flat_ranges(mid.index_select(0, merging), count_hi.index_select(0, merging))
        a_of_q = a.index_select(0, owner)
        means = torch.where(last.index_select(0, q) == q, block_fit(a_of_q, q), torch.inf)
        pooled = torch.full(a.shape, torch.inf, dtype=fit.dtype, device=device)
        pooled.scatter_reduce_(0, owner, means, "amin")
        at_min = torch.where(means == pooled.index_select(0, owner), q, -1)
        b = torch.full_like(a, -1).scatter_reduce_(0, owner, at_min, "amax")
        owner, inside = flat_ranges(a, b - a + 1)
        fit.index_copy_(0, inside, pooled.index_select(0, owner))
        first.index_copy_(0, inside, a.index_select(0, owner))
        last.index_copy_(0, inside, b.index_select(0, owner))
    return real & (first == pos), rounds
