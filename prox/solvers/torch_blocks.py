"""Shared plumbing of the torch solvers: into the sorted transform and back out.

Every torch rows kernel (``parallel_pava``, ``lower_sets``, ``divide_conquer``)

1. copies its rows to float64 and calls :func:`prox.transform.sorted_transform`
   (the only place the rank velocities are written), giving ``z`` and ``order``;
2. finds the blocks of the non-decreasing isotonic fit of every row of ``z``;
3. turns the blocks into exact block means (:func:`block_means`) and scatters
   them back to the original positions (:func:`scatter_back`).

Solvers that compare means of ranges use :func:`split_prefix_sums`: a
difference of two plain prefix sums of a long row loses about
``eps * |prefix sum|`` (``~eps * d * max|z|``), enough to take a wrong pooling
decision at ``d = 2^20``; split prefix sums keep a range sum's error at
``eps * |range sum|``.

Blocks are described by a boolean ``starts`` tensor over the flattened rows
(``True`` where a block begins; every row begins a block). Means are recomputed
here from ``z`` by segment sums, not taken from the prefix sums a solver used
to *find* the blocks: a difference of two prefix sums of a long row loses about
``eps * |prefix sum|``, a segment sum only ``eps * |block sum|``.
"""
from __future__ import annotations

import torch

from ..transform import sorted_transform

__all__ = ["capped_lam", "to_sorted_transform", "split_prefix_sums", "block_means", "scatter_back",
           "flat_ranges", "pool_violating_runs"]


def capped_lam(x: torch.Tensor, lam: float) -> torch.Tensor:
    """``lam`` for each row of the float64 tensor ``x``, capped at ``(d-1)(max - min)``.

    Every gap closes no later than its two particles alone would meet,
    ``t_k <= (d-1)(x_(k+1) - x_(k)) / 2``, so ``lam_max <= (d-1)(max - min)/2`` and the
    prox at any larger ``lam`` is the row's mean. The cap is twice that bound, so that
    every gap is past closing by a margin no rounding can undo (at exactly ``lam_max``
    two sides of a gap can round apart), and capping keeps ``z = sort(x) + lam c`` from
    drowning ``x`` when ``lam / |x| > 2^53`` (a mean of ``z`` then came out as 0).
    Returns float64, shape ``(rows, 1)``.
    """
    d = x.shape[-1]
    cap = (d - 1) * (x.amax(-1, keepdim=True) - x.amin(-1, keepdim=True))
    return torch.clamp(cap, max=float(lam))


def to_sorted_transform(rows: torch.Tensor, lam: float):
    """``(z, order)`` of 2-D ``rows`` computed in float64 (``rows`` is not modified).

    ``z``: float64, shape ``rows.shape``, each row ``sort(w) + lam_r * c`` with ``lam_r``
    the row's :func:`capped_lam` (the same prox as ``lam``).
    ``order``: int64, the sorting permutation of each row.
    """
    x = rows.to(torch.float64)
    return sorted_transform(x, capped_lam(x, lam))


def split_prefix_sums(z: torch.Tensor):
    """Inclusive prefix sums of each row of ``z`` as an exact part and a small part.

    ``z = coarse + fine`` with ``coarse`` on the grid ``q = 2^(e - b)``
    (``2^e > max|row|``, ``b = 52 - bit_length(d)``) and ``|fine| <= q / 2``,
    both exactly. Every prefix sum of ``coarse`` is a multiple of ``q`` below
    ``2^52 q`` in size, hence exact in float64; those of ``fine`` are tiny. A
    range sum ``(C[j] - C[i]) + (F[j] - F[i])`` is then correct to about
    ``eps * |range sum| + eps * d^2 * q``.

    z : float64, shape (rows, d). Returns float64 (rows, d, 2): ``[..., 0]``
    the exact coarse sums, ``[..., 1]`` the fine ones. Work O(n), depth
    O(log d), no host sync.
    """
    d = z.shape[-1]
    _, exponent = torch.frexp(z.abs().amax(-1, keepdim=True))
    grid = torch.ldexp(torch.ones_like(z[..., :1]), exponent - (52 - d.bit_length()))
    coarse = torch.round(z / grid) * grid
    return torch.stack([torch.cumsum(coarse, -1), torch.cumsum(z - coarse, -1)], -1)


def block_means(z: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """The fit that is constant on each block: every entry gets its block's mean.

    z      : float64, shape (n,), flattened rows
    starts : bool, shape (n,), ``starts[0]`` True; True where a block begins
    Work O(n), depth O(log n) (a cumulative sum and a scatter-add).
    """
    block = torch.cumsum(starts, 0) - 1  # block id of every entry
    n_blocks = block.shape[0] and int(block[-1]) + 1
    sums = torch.zeros(n_blocks, dtype=z.dtype, device=z.device).index_add_(0, block, z)
    sizes = torch.zeros(n_blocks, dtype=z.dtype, device=z.device).index_add_(
        0, block, torch.ones_like(z)
    )
    return (sums / sizes).index_select(0, block)


def scatter_back(fit: torch.Tensor, order: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Put the sorted fit (any shape with ``like.numel()`` entries) back in original order.

    Returns a new tensor with ``like``'s shape, dtype and device.
    """
    fit = fit.reshape(order.shape)
    out = torch.empty_like(fit).scatter_(-1, order, fit)
    return out.to(like.dtype)


def flat_ranges(begin: torch.Tensor, length: torch.Tensor):
    """Flat positions of the ranges ``[begin[i], begin[i] + length[i])``, all at once.

    Returns ``(owner, position)``: for each covered position, the range it is in
    and the position itself. Work O(len(begin) + sum(length)); one host sync
    (the total length, so that the output size is known).
    """
    total = int(length.sum())
    owner = torch.repeat_interleave(
        torch.arange(begin.shape[0], device=begin.device), length, output_size=total
    )
    offset = torch.cumsum(length, 0) - length  # exclusive prefix sums: range starts
    step = torch.arange(total, device=begin.device) - offset.index_select(0, owner)
    return owner, begin.index_select(0, owner) + step


def pool_violating_runs(z: torch.Tensor):
    """Parallel PAVA: the blocks of the non-decreasing least-squares fit of every row.

    z : float64 (n_rows, d). Each round pools, in every row at once, every
    maximal run of adjacent blocks whose means strictly decrease (segment sums
    by ``index_add_``); it stops when no run is left. Returns ``(means, sizes,
    rounds)``: the final blocks' means and sizes (float64, all rows' blocks in
    order, flattened) and the number of rounds. O(d) work and O(log d) depth per
    round, one host sync per round; O(d) rounds on a cascade.
    """
    n_rows, d = z.shape
    sums = z.reshape(-1)  # one block per entry: sum z_k, size 1, mean z_k
    sizes = torch.ones_like(sums)  # float64: exact counts, no casts in the means
    means = sums
    batched = n_rows > 1
    if batched:
        row = torch.arange(n_rows, device=z.device).repeat_interleave(d)
    rounds = 0
    while True:
        # A block opens a pooled block unless its left neighbour's mean is
        # strictly above its own (in the same row): runs of strict decreases pool.
        opens = torch.empty_like(means, dtype=torch.bool)
        opens[0] = True
        torch.le(means[:-1], means[1:], out=opens[1:])
        if batched:
            opens[1:] |= row[:-1] != row[1:]
        group = torch.cumsum(opens, 0)  # 1-based pooled block of each block
        n_groups = int(group[-1])  # the one host sync of the round
        if n_groups == sums.shape[0]:
            return means, sizes, rounds
        # Slot 0 of the pooled arrays is never hit (groups are 1-based): dropped.
        sums = z.new_zeros(n_groups + 1).index_add_(0, group, sums)[1:]
        sizes = z.new_zeros(n_groups + 1).index_add_(0, group, sizes)[1:]
        if batched:
            # Every member of a pooled block has the same row: any write wins.
            row = row.new_empty(n_groups + 1).scatter_(0, group, row)[1:]
        means = sums / sizes
        rounds += 1
