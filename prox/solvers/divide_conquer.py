"""Solver ``"divide_conquer"``: merge solved halves, depth O(log^3 d); and its weighted form.

Maths (docs/maths.md, 'Algorithms'). The fit of a row is the non-decreasing
isotonic fit of ``z = x + lam c`` (``x`` the sorted row). A *block* of
consecutive entries ``[a, b)`` has the fit ``mean(z[a:b]) = mean(x[a:b]) + lam
(d - a - b) / (d - 1)`` (the velocities of a run of ranks average to the
velocity of its middle rank), read from prefix sums of ``x``.

Weighted form (:func:`weighted_blocks`). The entries may be *super-particles*:
runs ``[lo, hi)`` of a sorted row with mass ``hi - lo``; a block of
consecutive super-particles has the fit of the run of particles they cover,
so the weighted fit needs no weight arrays. The unit-mass case (every entry
one particle) is the prox itself (:func:`prox_divide_conquer_rows`); the
particle simulation's time split (:mod:`particles.backends.time_split`) runs
the weighted case, with a probe time per row instead of one ``lam``.

Algorithm. Pad every row to ``P = 2^L`` entries with dummies (fit ``+inf``:
they never join a real block and no search looks at them), lay the padded
rows out so that every row starts at a multiple of its padded length (a row
never straddles a midpoint of a level that could merge across it), and merge
solved halves level by level: level ``l`` merges ``A = [s, s+h)`` and
``B = [s+h, s+2h)``, ``h = 2^l``, of every segment at once. The merged fit is
A's blocks left of some block start ``a``, ONE new block ``[a, b]`` across the
midpoint ``m = s+h``, and B's blocks right of ``b`` (or nothing new, ``a = m``).

Left end ``a``: the smallest block start ``p`` of A whose minimum-prefix-mean
block (the first block of the fit of ``z[p:s+2h]``) crosses the midpoint. The
test is monotone in ``p`` (false on A's blocks that survive, true from ``a``
on), so ``a`` is found by binary search. Left of ``m`` the minimum is the fit
``mu`` of A's block at ``p`` (A is solved); right of ``m`` the best prefix ends
at the last B entry with fit ``<= mu`` (B's fit is sorted: one
``searchsorted``), so with ``c`` = #(B fit ``<= mu``)

    crosses(p)  <=>  c >= 1  and  fit(p .. m + c - 1) <= mu.

The search runs over positions of A but jumps to block boundaries (a failing
test moves ``lo`` past the whole block, a passing one moves ``hi`` to its
start), so it takes at most ``l + 1`` steps and fewer when A has few blocks;
a segment whose halves already meet in order (``fit[m-1] < fit[m]``) needs
none.

Right end ``b``: the last argmin over B's block ends ``q`` of ``fit(a .. q)``.
Only the ``c`` entries the passing test at ``a`` counted can win (the pooled
fit is at most ``mu``), so it is one segmented min (``scatter_reduce``) over
those windows, not a further search. Entries ``[a, b]`` then get that fit.

Rounds: the binary-search steps actually executed, summed over levels (each
step is a handful of whole-tensor ops on one entry per segment). At most
``sum_{l<L} (l+1) = L(L+1)/2 <= log2(P)^2 + log2(P)``, on every input
(:func:`round_bound`).

Cost, for ``n = n_rows * P`` padded entries. Per level ``l`` (``S = n / 2h``
segments, ``M <= S`` of them out of order): the out-of-order test O(S), B's
fit of those segments O(M h), each search step O(M log h) work and O(log h)
depth, the right-end reduction and the block update O(total length of the
ranges touched). Summed over levels: work O(n log P) (O(n) when few segments
merge), depth O(log^3 P): ``L`` levels of at most ``l + 1`` steps of depth
O(log P). Host syncs: two per level (sizes of the compacted work lists) and
one per step (the termination test).

Why it is the accelerator default (``auto_method``): its depth is bounded by
``L(L+1)/2`` search steps plus ``L`` level updates whatever the input, so a
GPU runs it in a bounded number of kernel launches. Parallel PAVA is faster
on typical inputs (measured on an idle 2-core CPU at d = 2^20, random
normal, ``lam = 0.5``: 6 rounds and ~2x ``numpy.argsort`` against 150-190
rounds and ~3x) but needs ~d rounds on a cascade
(:func:`prox.worst_cases.cascade`), and minimum lower sets needs one step per
final block (~d at small ``lam``). On a CPU the sequential Numba ``"pava"``
wins (O(d) work, no launches), which is why CPU inputs go there.

Precision: block fits are range means from split prefix sums
(:func:`prox.solvers.torch_blocks.split_prefix_sums`, exact to ``eps * |range
sum|``; plain prefix sums gave 1e-12 relative errors at ``d = 2^20`` from
wrong pooling decisions); the prox's values are block means of ``z``
recomputed by segment sums (:func:`prox.solvers.torch_blocks.block_means`).
"""
from __future__ import annotations

import torch

from ..transform import rank_velocities, run_velocity
from .torch_blocks import block_means, capped_lam, flat_ranges, scatter_back, split_prefix_sums

__all__ = ["prox_divide_conquer_rows", "round_bound", "weighted_blocks", "range_mean"]


def round_bound(d: int) -> int:
    """Most rounds divide and conquer takes on a row of length ``d``, whatever the input.

    ``L(L+1)/2`` with ``L = ceil(log2 d)`` levels: level ``l`` searches at most
    ``l + 1`` steps.

    >>> [round_bound(d) for d in (1, 2, 3, 1024, 1025)]
    [0, 1, 3, 55, 66]
    """
    levels = max(d - 1, 0).bit_length()
    return levels * (levels + 1) // 2


def prox_divide_conquer_rows(rows: torch.Tensor, lam: float):
    """Prox of every row of a 2-D float32/float64 tensor by divide and conquer.

    A rows kernel: ``(rows, lam) -> (out, rounds)``, contract in ``prox._registry``.
    The unit-mass case of :func:`weighted_blocks`: every entry is one particle
    and every row is probed at ``lam``.
    """
    n_rows, d = rows.shape
    if rows.numel() == 0 or d <= 1:
        return rows.clone(), 0
    x, order = rows.to(torch.float64).sort(dim=-1, stable=True)
    levels = (d - 1).bit_length()  # L, as in round_bound
    width = 1 << levels  # P
    device = x.device
    prefix = torch.nn.functional.pad(split_prefix_sums(x), (0, 0, 1, 0))  # (rows, d + 1, 2)
    pos = torch.arange(n_rows * width, device=device)
    row, column = pos // width, pos % width
    real = column < d
    lo = torch.where(real, column, 0)
    lam_rows = capped_lam(x, lam)  # (rows, 1): the same prox, no lam that drowns x
    probe = lam_rows.reshape(-1).index_select(0, row)
    starts, rounds = weighted_blocks(real, row, row, lo, lo + 1, probe, prefix, d, levels)
    z = x + lam_rows * rank_velocities(d, like=x)
    out = block_means(z.reshape(-1), starts.view(n_rows, width)[:, :d].reshape(-1))
    return scatter_back(out, order, rows), rounds


def range_mean(prefix: torch.Tensor, orow: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor):
    """``mean(x[orow, lo:hi])`` from split prefix sums, elementwise.

    ``prefix``: float64 (rows, d + 1, 2), exclusive split prefix sums of the
    sorted rows (exact coarse part, small fine part; see
    ``prox.solvers.torch_blocks.split_prefix_sums``): a range mean is accurate to
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
        return mean + probe.index_select(0, first_entry) * run_velocity(a, b, d)

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
