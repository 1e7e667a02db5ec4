"""Check a claimed prox against the exact one: how far off it is, and where.

Researchers who write their own solver (or get a vector out of some other code)
call :func:`check_prox` to learn whether their output is ``prox_{lam R}(w)``,
and if not, by how much in objective value, by how much per entry, whether it
breaks the order of ``w`` (the exact prox never does: docs/maths.md, 'The
sorted transform') and which weight-sharing groups it gets wrong.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dispatch import prox_ws
from .penalty import ws_penalty
from .scaling import power_of_two_scale
from .validation import check_strength, check_weights

__all__ = ["check_prox", "ProxCheck", "OrderViolations", "GroupDifference", "prox_objective"]

#: How many violating pairs :func:`check_prox` reports as examples.
N_EXAMPLES = 5


@dataclass(frozen=True)
class OrderViolations:
    """Pairs ``(i, j)`` with ``w[i] < w[j]`` but ``u[i] > u[j]``.

    Attributes
    ----------
    count : int
        Number of such pairs (each unordered pair counted once).
    examples : tuple of (int, int)
        Up to five of them, as original indices ``(i, j)``.
    """

    count: int
    examples: tuple[tuple[int, int], ...]


@dataclass(frozen=True, eq=False)
class GroupDifference:
    """One group of the exact prox (weights sharing one value) the candidate gets wrong.

    Attributes
    ----------
    group : int
        Id of the exact group, 0, 1, ... by increasing value.
    indices : ndarray of int
        Original positions of the group's weights.
    exact_value : float
        The value the exact prox gives all of them.
    candidate_min, candidate_max : float
        Range of the candidate's values on the group.
    reasons : tuple of str
        Any of ``"split"`` (the candidate gives the group more than one value),
        ``"merged"`` (the candidate shares a group value with weights outside
        it) and ``"shifted"`` (a value off by more than the tolerance).
    """

    group: int
    indices: np.ndarray
    exact_value: float
    candidate_min: float
    candidate_max: float
    reasons: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class ProxCheck:
    """Result of :func:`check_prox`.

    Attributes
    ----------
    objective_gap : float
        ``F(candidate) - F(optimum)`` with ``F(u) = 1/2 ||u - w||^2 + lam R(u)``;
        >= 0 up to rounding, 0 only at the optimum.
    max_deviation : float
        ``max_i |candidate_i - optimum_i|``.
    order_violations : OrderViolations
        Count and examples of pairs whose order the candidate reverses.
    differing_groups : tuple of GroupDifference
        Exact groups the candidate splits, merges with others or shifts.
    exact : bool
        True when the candidate is within ``tol`` of the optimum everywhere.
    optimum : ndarray of float64, shape (d,)
        The exact prox.
    objective : float
        ``F(candidate)``.
    tol : float
        Absolute tolerance used for ``exact`` and for grouping values.
    """

    objective_gap: float
    max_deviation: float
    order_violations: OrderViolations
    differing_groups: tuple[GroupDifference, ...]
    exact: bool
    optimum: np.ndarray
    objective: float
    tol: float


def prox_objective(w, lam: float, u) -> float:
    """``1/2 ||u - w||^2 + lam R(u)``, the function the prox minimizes (float64).

    Evaluated on ``w / s``, ``u / s``, ``lam / s`` for a power of two ``s`` near
    the data's scale and multiplied by ``s**2`` (the objective is homogeneous of
    degree 2), so squares of numbers near 1e200 do not overflow unless the
    objective itself does.
    """
    w = np.asarray(w, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    scale = power_of_two_scale(max(float(np.max(np.abs(w), initial=0.0)),
                                   float(np.max(np.abs(u), initial=0.0)), lam))
    w, u, lam = w / scale, u / scale, lam / scale
    value = 0.5 * np.sum((u - w) ** 2) + lam * ws_penalty(u)
    with np.errstate(over="ignore"):
        return float(value * scale * scale)


def _vector(x, name: str) -> np.ndarray:
    x = check_weights(x, name)
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"Invalid {name}: expected a 1-D vector, got shape {x.shape}")
    return x


def _count_strict_inversions(values: np.ndarray) -> int:
    """Number of pairs ``a < b`` with ``values[a] > values[b]``; O(d log^2 d), vectorized.

    Bottom-up merge sort on dense integer ranks: at each level, for every
    element of a right block, count the elements of its left partner block
    with a strictly larger rank (one ``searchsorted`` over all blocks at once,
    each block's keys offset by ``block * d``).
    """
    d = values.size
    if d < 2:
        return 0
    ranks = np.unique(values, return_inverse=True)[1].astype(np.int64).ravel()
    n = 1 << int(np.ceil(np.log2(d)))
    # Pad with ranks larger than any real one: they never form an inversion
    # with an earlier element (they are at the end and strictly larger).
    keys = np.full(n, d, dtype=np.int64)
    keys[:d] = ranks
    span = d + 1  # rank values lie in 0..d
    total = 0
    width = 1
    while width < n:
        blocks = keys.reshape(-1, 2, width)  # (pairs, left/right, width), rows sorted
        pair = np.arange(blocks.shape[0], dtype=np.int64)[:, None]
        left = (blocks[:, 0, :] + pair * span).ravel()  # globally sorted
        right = blocks[:, 1, :] + pair * span
        greater = np.searchsorted(left, (pair + 1) * span, side="left") - np.searchsorted(
            left, right.ravel(), side="right"
        ).reshape(right.shape)
        total += int(greater.sum())
        keys = np.sort(blocks.reshape(-1, 2 * width), axis=1).ravel()
        width *= 2
    return total


def _order_violations(w: np.ndarray, u: np.ndarray) -> OrderViolations:
    # Order by (w, u): pairs with equal w then have u ascending and never count,
    # so the strict inversions of u in this order are exactly the violations.
    order = np.lexsort((u, w))
    u_sorted = u[order]
    count = _count_strict_inversions(u_sorted)
    if count == 0:
        return OrderViolations(0, ())
    # Examples: for each k, the largest u among weights strictly below w[k].
    w_sorted = w[order]
    group_start = np.searchsorted(w_sorted, w_sorted, side="left")
    running_max = np.maximum.accumulate(u_sorted)
    # position at which each running maximum was reached
    reached = np.where(u_sorted >= running_max, np.arange(u_sorted.size), 0)
    running_argmax = np.maximum.accumulate(reached)
    has_lower = group_start > 0
    prev = np.where(has_lower, group_start - 1, 0)
    bad = has_lower & (running_max[prev] > u_sorted)
    examples = tuple(
        (int(order[running_argmax[prev[k]]]), int(order[k]))
        for k in np.flatnonzero(bad)[:N_EXAMPLES]
    )
    return OrderViolations(count, examples)


def _group_labels(values_in_order: np.ndarray, tol: float) -> np.ndarray:
    """Label runs of a sorted sequence; a new label starts where a step exceeds ``tol``."""
    steps = np.abs(np.diff(values_in_order)) > tol
    return np.concatenate(([0], np.cumsum(steps)))


def _differing_groups(
    optimum: np.ndarray, u: np.ndarray, tol: float
) -> tuple[GroupDifference, ...]:
    order = np.argsort(optimum, kind="stable")
    exact_sorted = optimum[order]
    exact_label = _group_labels(exact_sorted, tol)
    # Candidate groups: equal values (within tol) anywhere in the vector.
    cand_order = np.argsort(u, kind="stable")
    cand_label_sorted = _group_labels(u[cand_order], tol)
    cand_label = np.empty_like(cand_label_sorted)
    cand_label[cand_order] = cand_label_sorted
    cand_label = cand_label[order]
    u_sorted = u[order]

    n_groups = int(exact_label[-1]) + 1
    starts = np.searchsorted(exact_label, np.arange(n_groups), side="left")
    # split: more than one candidate label inside an exact group
    pairs = np.unique(np.stack([exact_label, cand_label], axis=1), axis=0)
    labels_per_group = np.bincount(pairs[:, 0], minlength=n_groups)
    split = labels_per_group > 1
    # merged: a candidate label of the group also covers another exact group
    groups_per_cand = np.bincount(pairs[:, 1], minlength=int(cand_label.max()) + 1)
    merged = np.zeros(n_groups, dtype=bool)
    np.logical_or.at(merged, pairs[:, 0], groups_per_cand[pairs[:, 1]] > 1)
    # shifted: some value off by more than tol
    deviation = np.maximum.reduceat(np.abs(u_sorted - exact_sorted), starts)
    shifted = deviation > tol
    cmin = np.minimum.reduceat(u_sorted, starts)
    cmax = np.maximum.reduceat(u_sorted, starts)
    ends = np.append(starts[1:], optimum.size)

    out = []
    for g in np.flatnonzero(split | merged | shifted):
        reasons = tuple(
            name for name, flag in (("split", split), ("merged", merged), ("shifted", shifted))
            if flag[g]
        )
        out.append(
            GroupDifference(
                group=int(g),
                indices=np.sort(order[starts[g] : ends[g]]),
                exact_value=float(exact_sorted[starts[g]]),
                candidate_min=float(cmin[g]),
                candidate_max=float(cmax[g]),
                reasons=reasons,
            )
        )
    return tuple(out)


def check_prox(w, lam, candidate, *, rtol: float = 1e-7) -> ProxCheck:
    """Compare ``candidate`` with the exact ``prox_{lam R}(w)``.

    Parameters
    ----------
    w : array_like, shape (d,)
        The input weights (finite, real).
    lam : float >= 0
        Regularization strength.
    candidate : array_like, shape (d,)
        The vector claimed to be the prox.
    rtol : float, keyword-only
        Relative tolerance; the absolute tolerance is
        ``tol = rtol * (max|w| + lam)``, relative to the problem's scale with no
        absolute floor (weights of size 1e-9 are judged at 1e-9, not at 1).
        Values closer than ``tol`` count as shared, and ``exact`` means every
        entry is within ``tol``.

    Returns
    -------
    ProxCheck

    Raises
    ------
    ValueError
        If the lengths differ, either vector is not 1-D or holds NaN/inf, or
        ``lam`` is negative or not finite.

    Notes
    -----
    Cost: one exact prox (O(d log d)) plus O(d log^2 d) to count violations.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([0.0, 1.0, 5.0])
    >>> check_prox(w, 0.5, [0.5, 1.0, 4.5]).exact
    True
    """
    w = _vector(w, "w")
    u = _vector(candidate, "candidate")
    lam = check_strength(lam, "lam")
    rtol = check_strength(rtol, "rtol")
    if u.size != w.size:
        raise ValueError(
            f"Invalid candidate: it has {u.size} entries but w has {w.size}; "
            "they must have the same length"
        )
    tol = rtol * float(np.max(np.abs(w), initial=0.0)) + rtol * lam  # no overflow at 1e308
    optimum = np.asarray(prox_ws(w, lam), dtype=np.float64)
    if w.size == 0:
        return ProxCheck(0.0, 0.0, OrderViolations(0, ()), (), True, optimum, 0.0, tol)
    objective = prox_objective(w, lam, u)
    # The gap at unit scale, then scaled: inf - inf cannot happen.
    scale = power_of_two_scale(max(float(np.max(np.abs(w))), lam))
    gap = (prox_objective(w / scale, lam / scale, u / scale)
           - prox_objective(w / scale, lam / scale, optimum / scale)) * scale * scale
    max_dev = float(np.max(np.abs(u - optimum)))
    return ProxCheck(
        objective_gap=float(gap),
        max_deviation=max_dev,
        order_violations=_order_violations(w, u),
        differing_groups=_differing_groups(optimum, u, tol),
        exact=bool(max_dev <= tol),
        optimum=optimum,
        objective=objective,
        tol=tol,
    )
