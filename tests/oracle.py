"""Independent oracles for the tests.

Written plainly from docs/maths.md ('The sorted transform'), sharing no code
with the package: the velocities are typed out again here on purpose, so a mistake in
``prox.transform`` cannot hide in both places.
"""
from __future__ import annotations

import numpy as np


def stack_pava_increasing(z):
    """Non-decreasing least-squares fit of the 1-D sequence ``z`` (textbook PAVA)."""
    means, sizes = [], []
    for value in z:
        means.append(float(value))
        sizes.append(1)
        while len(means) > 1 and means[-2] >= means[-1]:
            mean_right, size_right = means.pop(), sizes.pop()
            mean_left, size_left = means.pop(), sizes.pop()
            size = size_left + size_right
            means.append((mean_left * size_left + mean_right * size_right) / size)
            sizes.append(size)
    return np.repeat(means, sizes)


def oracle_prox(w, lam):
    """prox_{lam R}(w) of a 1-D vector, in float64, via the sorted transform."""
    w = np.asarray(w, dtype=np.float64)
    d = w.size
    if d <= 1:
        return w.copy()
    order = np.argsort(w, kind="stable")
    ranks = np.arange(1, d + 1)
    z = w[order] + lam * (d + 1 - 2 * ranks) / (d - 1)
    out = np.empty(d)
    out[order] = stack_pava_increasing(z)
    return out


def oracle_prox_rows(w, lam):
    """``oracle_prox`` applied along the last axis of any array."""
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 1:
        return oracle_prox(w, lam)
    return np.apply_along_axis(oracle_prox, -1, w, lam)


def pairwise_penalty(w):
    """R(w) = 1/(d-1) sum_{i>j} |w_i - w_j| by the O(d^2) definition."""
    w = np.asarray(w, dtype=np.float64)
    d = w.size
    if d <= 1:
        return 0.0
    return float(np.abs(w[:, None] - w[None, :]).sum() / 2 / (d - 1))


def cvxpy_prox(w, lam, mu=0.0):
    """prox of lam R + mu ||.||_1 by a generic convex solver (small d only)."""
    import cvxpy as cp

    w = np.asarray(w, dtype=np.float64)
    d = w.size
    u = cp.Variable(d)
    pairs = [u[i] - u[j] for i in range(d) for j in range(i)]
    penalty = cp.sum(cp.abs(cp.hstack(pairs))) / (d - 1) if d > 1 else 0
    objective = 0.5 * cp.sum_squares(u - w) + lam * penalty + mu * cp.norm1(u)
    cp.Problem(cp.Minimize(objective)).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10
    )
    return np.asarray(u.value)


def cvxpy_prox_owl(w, theta):
    """prox of OWL_theta by a generic convex solver (small d only): OWL as top-k sums.

    ``OWL_theta(u) = sum_k (theta_k - theta_{k+1}) * (sum of the k largest |u|)``
    (``theta_{d+1} = 0``): a sum of convex functions CVXPY knows.
    """
    import cvxpy as cp

    w = np.asarray(w, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    d = w.size
    u = cp.Variable(d)
    steps = theta - np.append(theta[1:], 0.0)
    owl = sum(steps[k] * cp.sum_largest(cp.abs(u), k + 1) for k in range(d))
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(u - w) + owl)).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10
    )
    return np.asarray(u.value)


def tolerance(w, lam, dtype=np.float64, *, rel=None):
    """The tests' one tolerance: ``rel * (max|w| + max lam)``, relative to the problem's scale.

    ``lam`` is the strength: a float for weight sharing, the weight vector
    ``t * theta`` for OWL (its largest entry counts). ``rel`` defaults to 1e-12
    for float64 and 2e-6 for float32 results. There is no absolute floor: an
    all-zero problem must be solved exactly (the smallest positive float keeps
    the bound positive). Finite for every finite input, even near the top of
    the float range.
    """
    if rel is None:
        rel = 1e-12 if np.dtype(dtype) == np.float64 else 2e-6
    largest_w = float(np.max(np.abs(w), initial=0.0))
    largest_lam = float(np.max(lam, initial=0.0))
    # rel * a + rel * b, not rel * (a + b): near 1.8e308 the sum itself overflows.
    return rel * max(largest_w, np.finfo(np.float64).tiny) + rel * largest_lam


def assert_close(got, want, w, lam, dtype=np.float64, *, rel=None):
    """``got`` (ndarray or tensor) equals ``want`` within :func:`tolerance`."""
    if hasattr(got, "detach"):  # a torch tensor, without importing torch here
        got = got.detach().cpu().numpy()
    got = np.asarray(got, dtype=np.float64)
    bound = tolerance(w, lam, dtype, rel=rel)
    error = float(np.max(np.abs(got - np.asarray(want, np.float64)), initial=0.0))
    assert error <= bound, f"error {error:.3g} > {bound:.3g} (scale max|w| + lam)"


def input_cases(d: int, rng: np.random.Generator) -> dict:
    """Inputs (not answers): ``prox.worst_cases.input_families`` plus what the OWL wall meets.

    Exact zeros among the weights (on the wall from the start), all zeros, and
    the random family scaled near the top and the bottom of the float range.
    """
    from prox.worst_cases import input_families

    cases = input_families(d, rng)
    zeros = cases["random"].copy()
    zeros[::3] = 0.0
    return cases | {"zeros": zeros, "all_zero": np.zeros(d), "huge": cases["random"] * 1e300,
                    "tiny": cases["random"] * 1e-300}
