"""Solver ``"lower_sets"``: minimum lower sets, one final block per step ("end collisions").

Maths (docs/maths.md, 'Algorithms'). For the sorted transform ``z`` of a row
(:func:`prox.transform.sorted_transform`) the first block of the isotonic fit
of ``z[i:]`` is ``z[i..j]`` with

    j = the LAST argmin over q >= i of  mean(z[i..q]) = (C[q+1] - C[i]) / (q + 1 - i),

``C`` the prefix sums of the row (the minimum lower set of the suffix). Its
value is that minimum; the fit of ``z[j+1:]`` is the rest. So one *step* takes
the next final block of every row at once, and each row continues at ``j + 1``;
rows of a batch advance independently and a finished row just waits. Taking
the last argmin pools ties, as PAVA does. In the particle picture a step finds
the cluster the left end belongs to at the end of time ``lam`` ("end
collisions").

Rounds: the number of steps, i.e. the largest number of blocks in the fit of
any row.

Cost per step: work O(n_rows * (d - i_min)) (the prefix means of every row
from the leftmost unfinished start ``i_min``), depth O(log d) (a min
reduction). Total work O(blocks * n_rows * d): sequential in the number of
blocks. It is the right choice when the fit has few blocks, i.e. large ``lam``
(from ``lam >= lam_max`` on, one step solves every row) or strongly clustered
weights; with ~d blocks (small ``lam``, well separated weights, see
:func:`prox.worst_cases.separated`) it is quadratic and ``"divide_conquer"``
is the parallel choice. One host sync per step (the termination test).

Precision: the prefix means use split prefix sums of the row-centred ``z``
(:func:`prox.solvers.torch_blocks.split_prefix_sums`); the returned values are block
means recomputed by segment sums.
"""
from __future__ import annotations

import torch

from .torch_blocks import block_means, scatter_back, split_prefix_sums, to_sorted_transform

__all__ = ["prox_lower_sets_rows"]


def prox_lower_sets_rows(rows: torch.Tensor, lam: float):
    """Prox of every row of a 2-D float32/float64 tensor by minimum lower sets.

    A rows kernel: ``(rows, lam) -> (out, rounds)``, contract in ``prox._registry``.
    """
    n_rows, d = rows.shape
    if rows.numel() == 0:
        return rows.clone(), 0
    z, order = to_sorted_transform(rows, lam)
    device = z.device
    # prefix[:, k] = sum of z[:k] as (exact part, small part), so that range sums
    # keep their precision on long rows (see torch_blocks.split_prefix_sums).
    prefix = torch.zeros(n_rows, d + 1, 2, dtype=z.dtype, device=device)
    prefix[:, 1:] = split_prefix_sums(z - z.mean(1, keepdim=True))
    row_ids = torch.arange(n_rows, device=device)
    ends = torch.arange(1, d + 1, device=device)  # q + 1 for q = 0 .. d-1
    start = torch.zeros(n_rows, dtype=torch.int64, device=device)
    # starts[r, k]: a block of row r begins at k; one extra column absorbs "j + 1 == d".
    starts = torch.zeros(n_rows, d + 1, dtype=torch.bool, device=device)
    starts[:, 0] = True
    rounds = 0
    while True:
        first = int(start.min())  # the one host sync of the step
        if first >= d:
            break
        # Prefix means of z[start..q] for q >= first; q < start is masked out.
        q_end = ends[first:]
        span = (q_end - start[:, None]).to(z.dtype)
        sums = (prefix[:, first + 1 :] - prefix[row_ids, start][:, None]).sum(-1)
        means = sums / span
        means = means.masked_fill(span <= 0, torch.inf)
        low = means.amin(1, keepdim=True)
        # Last argmin: the largest q attaining the minimum.
        last = torch.where(means == low, q_end, 0).amax(1)  # = j + 1
        active = start < d
        start = torch.where(active, last, start)
        starts.scatter_(1, start[:, None], True)
        rounds += 1
    fit = block_means(z.reshape(-1), starts[:, :d].reshape(-1))
    return scatter_back(fit, order, rows), rounds
