"""OWL solver ``"parallel_pava"``: batched torch, whole-tensor rounds.

Same maths as the Numba solver (:mod:`prox.owl.pava`): sort ``|w|``
ascending, ``z_j = |w|_(j) - theta[d-1-j]``, non-decreasing isotonic fit of
``z``, clip at 0, restore signs and order. The fit is found by parallel
pool-adjacent-violators over all rows at once (as :mod:`prox.solvers.parallel_pava`):
each round pools every maximal run of blocks whose means strictly decrease
(legal PAVA pools, order-independent result), until no neighbours violate.
Block means are then recomputed by segment sums (:func:`prox.solvers.torch_blocks.
block_means`), so they are accurate to rounding of one sum per block.

Rounds: rounds in which at least one pool happened. A handful on typical
data; up to ``d - 1`` when one heavy block absorbs one neighbour per round.
Cost per round with ``B`` blocks left: work O(B), depth O(log B), one host
sync (the block count, also the termination test). Any device; no per-element
``.item()``.
"""
from __future__ import annotations

import torch

from ..solvers.torch_blocks import block_means, pool_violating_runs, scatter_back

__all__ = ["prox_owl_parallel_pava_rows"]


def _pool_runs(z: torch.Tensor):
    """Block starts (bool, over the flattened rows) of the non-decreasing fit of each row.

    z : float64 (n_rows, d). Returns ``(starts, rounds)``.
    """
    n_rows, d = z.shape
    _, sizes, rounds = pool_violating_runs(z)
    # Blocks tile the flattened rows in order: each starts where the ones before end.
    lengths = sizes.to(torch.int64)
    starts = torch.zeros(n_rows * d, dtype=torch.bool, device=z.device)
    starts[torch.cumsum(lengths, 0) - lengths] = True
    return starts, rounds


def prox_owl_parallel_pava_rows(rows: torch.Tensor, theta: torch.Tensor):
    """OWL prox of every row of a 2-D float32/float64 tensor (not modified).

    A rows kernel ``(rows, theta) -> (out, rounds)`` as in :mod:`prox._registry`,
    with a validated ``theta`` (float64, shape (d,)) instead of ``lam``.
    """
    n_rows, d = rows.shape
    if rows.numel() == 0:
        return rows.clone(), 0
    x = rows.to(torch.float64)
    magnitudes, order = x.abs().sort(dim=-1, stable=True)
    theta = torch.as_tensor(theta, dtype=torch.float64, device=rows.device)
    z = magnitudes - theta.flip(0)
    starts, rounds = _pool_runs(z)
    fit = block_means(z.reshape(-1), starts).clamp_min_(0.0)
    magnitude_out = scatter_back(fit, order, x)
    return torch.where(x < 0, -magnitude_out, magnitude_out).to(rows.dtype), rounds
