"""Solver ``"divide_conquer"``: merge solved halves, depth O(log^3 d).

Maths (docs/maths.md, 'Algorithms'). Pad every row of the sorted transform ``z``
(:func:`prox.transform.sorted_transform`) to ``P = 2^L >= d`` entries with
massless dummies (they never join a real block: their fit is ``+inf`` and no
search looks at them). Level ``l = 0 .. L-1`` merges the two solved halves
``A = [s, s+h)`` and ``B = [s+h, s+2h)``, ``h = 2^l``, of every segment of
every row at once. The fit of the merged segment is A's blocks left of some
block start ``a``, ONE new block ``[a, b]`` across the midpoint ``m = s+h``,
and B's blocks right of ``b`` (or nothing new, ``a = m``).

Left end ``a``: the smallest block start ``p`` of A whose minimum-prefix-mean
block ``z[p..j(p)]`` (``j`` the last argmin of ``mean(z[p..q])``, the first
block of the fit of ``z[p:s+2h]``) crosses the midpoint. The test is
monotone in ``p`` (false on A's blocks that survive, true from ``a`` on), so
``a`` is found by binary search. One test is O(log h) depth and touches no
more than one search per segment: left of ``m`` the minimum is the mean ``mu``
of A's block at ``p`` (A is solved), and right of ``m`` the best prefix ends
at the last B entry with fit ``<= mu``, so with ``c`` = #(B fit ``<= mu``)
(one ``searchsorted`` into B's fit, which is sorted)

    crosses(p)  <=>  c >= 1  and  sum(z[m..m+c-1]) - mu*c <= mu*(m-p) - sum(z[p..m-1]).

The binary search runs over positions of A but jumps to block boundaries
(a failing test moves ``lo`` past the whole block, a passing one moves ``hi``
to its start), so it takes at most ``l + 1`` steps and fewer when A has few
blocks; a segment whose halves already meet in order (``fit[m-1] < fit[m]``)
needs none.

Right end ``b``: the last argmin over B's block ends of ``mean(z[a..q])``.
Only the ``c`` entries the passing test at ``a`` counted can win (the pooled
mean is at most ``mu``), so it is one segmented min (``scatter_reduce``) over
those windows, not a further search. Entries ``[a, b]`` then get that mean.

Rounds: the binary-search steps actually executed, summed over levels (each
step is a handful of whole-tensor ops on one entry per segment). At most
``sum_{l<L} (l+1) = L(L+1)/2 <= log2(P)^2 + log2(P)``, on every input.

Cost, for ``n = n_rows * P`` padded entries. Per level ``l`` (``S = n / 2h``
segments, ``M <= S`` of them out of order): the out-of-order test O(S), B's
fit of those segments O(M h), each search step O(M log h) work and O(log h)
depth, the right-end reduction and the block update O(total length of the
ranges touched). Summed over levels: work O(n log P) (O(n) when few segments
merge), depth O(log^3 P): ``L`` levels of at most ``l + 1`` steps of depth
O(log P). A few host syncs per level (sizes of the compacted work lists) and
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

Precision: the searches take range sums of the row-centred ``z`` from split
prefix sums (:func:`prox.solvers.torch_blocks.split_prefix_sums`, exact to
``eps * |range sum|``; plain prefix sums gave 1e-12 relative errors at
``d = 2^20`` from wrong pooling decisions); the returned values are block
means recomputed by segment sums (:func:`prox.solvers.torch_blocks.block_means`).
"""
from __future__ import annotations

import torch

from .torch_blocks import (
    block_means,
    flat_ranges,
    scatter_back,
    split_prefix_sums,
    to_sorted_transform,
)

__all__ = ["prox_divide_conquer_rows", "round_bound"]


def round_bound(d: int) -> int:
    """Most rounds divide and conquer takes on a row of length ``d``, whatever the input.

    ``L(L+1)/2`` with ``L = ceil(log2 d)`` levels: level ``l`` searches at most
    ``l + 1`` steps. (The issue's target ``L^2 + L`` is twice this.)

    >>> [round_bound(d) for d in (1, 2, 3, 1024, 1025)]
    [0, 1, 3, 55, 66]
    """
    levels = max(d - 1, 0).bit_length()
    return levels * (levels + 1) // 2


def prox_divide_conquer_rows(rows: torch.Tensor, lam: float):
    """Prox of every row of a 2-D float32/float64 tensor by divide and conquer.

    A rows kernel: ``(rows, lam) -> (out, rounds)``, contract in ``prox._registry``.
    """
    n_rows, d = rows.shape
    if rows.numel() == 0:
        return rows.clone(), 0
    z, order = to_sorted_transform(rows, lam)
    levels = max(d - 1, 0).bit_length()  # L, as in round_bound
    width = 1 << levels  # P
    n = n_rows * width
    device = z.device

    # Padded, row-centred transform: centring keeps the products mu * length
    # in the tests small without changing any block; dummies add nothing.
    padded = torch.zeros(n_rows, width, dtype=z.dtype, device=device)
    padded[:, :d] = z - z.mean(1, keepdim=True)
    # Range sums come from split prefix sums (exact part, small part): see
    # torch_blocks.split_prefix_sums for why plain prefix sums are not enough.
    incl = split_prefix_sums(padded)  # sums of z[row start .. k], shape (rows, P, 2)
    excl = torch.zeros_like(incl)  # sums of z[row start .. k-1]
    excl[:, 1:] = incl[:, :-1]
    incl, excl = incl.reshape(n, 2), excl.reshape(n, 2)

    padded[:, d:] = torch.inf  # the fit: each entry alone to begin with
    fit = padded.reshape(-1)
    pos = torch.arange(n, device=device)
    first = pos.clone()  # first[k]: start of the block holding k
    last = pos.clone()  # last[k]: end of the block holding k

    rounds = 0
    for level in range(levels):
        half = 1 << level
        n_seg = n // (2 * half)
        mids = pos[half :: 2 * half]  # midpoint m of every segment
        # Only segments whose halves meet out of order (and whose B is not all
        # dummies) can change; the rest of the level works on those alone.
        todo = ((mids % width) < d) & (fit.index_select(0, mids - 1) >= fit.index_select(0, mids))
        seg = todo.nonzero().squeeze(1)
        if seg.shape[0] == 0:
            continue
        mid = mids.index_select(0, seg)
        fit_b = fit.view(n_seg, 2 * half)[seg, half:]  # B's fit, sorted along each row
        incl_a_end = incl.index_select(0, mid - 1)
        excl_b_start = excl.index_select(0, mid)
        lo = mid - half
        hi = mid.clone()
        count_hi = torch.zeros_like(mid)

        # Binary search for the left end a (see the module docstring): one round per step.
        while True:
            open_ = lo < hi
            if not bool(open_.any()):
                break
            probe = (lo + hi) >> 1
            p = first.index_select(0, probe)  # start of the block tested
            mu = fit.index_select(0, p)
            slack = mu * (mid - p) - (incl_a_end - excl.index_select(0, p)).sum(1)
            count = torch.searchsorted(fit_b, mu[:, None], right=True).squeeze(1)
            gain = (incl.index_select(0, mid + count - 1) - excl_b_start).sum(1) - mu * count
            crosses = (count > 0) & (gain <= slack)
            move_hi = open_ & crosses
            hi = torch.where(move_hi, p, hi)
            count_hi = torch.where(move_hi, count, count_hi)
            lo = torch.where(open_ & ~crosses, last.index_select(0, probe) + 1, lo)
            rounds += 1

        merging = (lo < mid).nonzero().squeeze(1)
        if merging.shape[0] == 0:
            continue
        a = lo.index_select(0, merging)
        count_a = count_hi.index_select(0, merging)
        # Right end b: last argmin of mean(z[a..q]) over the block ends q of B
        # that the test at a counted (fit <= mu, so q < m + count).
        owner, q = flat_ranges(mid.index_select(0, merging), count_a)
        a_of_q = a.index_select(0, owner)
        sums = (incl.index_select(0, q) - excl.index_select(0, a_of_q)).sum(1)
        means = sums / (q - a_of_q + 1)
        means = torch.where(last.index_select(0, q) == q, means, torch.inf)
        pooled = torch.full_like(a, torch.inf, dtype=fit.dtype).scatter_reduce_(
            0, owner, means, "amin"
        )
        at_min = torch.where(means == pooled.index_select(0, owner), q, -1)
        b = torch.full_like(a, -1).scatter_reduce_(0, owner, at_min, "amax")

        # Entries [a, b] become one block with the pooled mean.
        owner, inside = flat_ranges(a, b - a + 1)
        fit.index_copy_(0, inside, pooled.index_select(0, owner))
        first.index_copy_(0, inside, a.index_select(0, owner))
        last.index_copy_(0, inside, b.index_select(0, owner))

    starts = (first == pos).view(n_rows, width)[:, :d]
    out = block_means(z.reshape(-1), starts.reshape(-1))
    return scatter_back(out, order, rows), rounds
