"""Solver ``"parallel_pava"``: pool adjacent violators, all at once ("imminent collisions").

Maths (docs/maths.md, 'Algorithms'). Each row starts as ``d`` blocks, one per entry of the
sorted transform ``z`` (:func:`prox.transform.sorted_transform`). A block is a
pair (sum ``S``, size ``n``) with mean ``S / n``. One *round*:

1. compare every pair of neighbouring blocks of the same row;
2. every maximal run of neighbours whose means strictly decrease is pooled into
   one block (sums and sizes add). Pooling a run ``m_1 > m_2 > ... > m_r`` is
   legal PAVA: the mean of any prefix of the run stays above the next mean, so
   it is a sequence of ordinary adjacent-violator pools, and PAVA's result does
   not depend on the order of the pools;
3. stop when no neighbours violate: the block means are the isotonic fit.

In the particle picture the pooled runs are the collisions that are about to
happen next ("imminent collisions").

All rows of a batch live in one flat list of blocks; a pool never crosses a
row boundary, so rows that finish early simply stop changing while the others
go on.

Rounds: the number of rounds in which at least one pool happened (the final
round that only finds nothing to pool is not counted).

Cost per round, with ``B`` blocks left over the whole batch: work O(B), depth
O(log B) (a comparison, a cumulative sum for the run ids, two scatter-adds).
Blocks only ever shrink in number, so the total work is O(rounds * n). Rounds
are few on typical data (random normal weights at ``lam = 0.5``: 3 at
``d = 2^10``, 6 at ``d = 2^20``) but ``d - ceil(sqrt d) + 1`` on
:func:`prox.worst_cases.cascade`, where one heavy cluster absorbs a single
neighbour per round: linear depth (and quadratic work) in the worst case.
One host sync per round (the number of blocks after it, which is also the
termination test).
"""
from __future__ import annotations

import torch

from .torch_blocks import pool_violating_runs, scatter_back, to_sorted_transform

__all__ = ["prox_parallel_pava_rows"]


def prox_parallel_pava_rows(rows: torch.Tensor, lam: float):
    """Prox of every row of a 2-D float32/float64 tensor by parallel PAVA.

    A rows kernel: ``(rows, lam) -> (out, rounds)``, contract in ``prox._registry``.
    """
    n_rows, d = rows.shape
    if rows.numel() == 0:
        return rows.clone(), 0
    z, order = to_sorted_transform(rows, lam)
    means, sizes, rounds = pool_violating_runs(z)
    fit = torch.repeat_interleave(means, sizes.to(torch.int64), output_size=n_rows * d)
    return scatter_back(fit, order, rows), rounds
