"""One small problem worked out by hand, in the style of SciPy's isotonic tests.

w = [3, 0, 6, 1], d = 4. Sorted x = [0, 1, 3, 6] with rank velocities
c = (d + 1 - 2k) / (d - 1) = [1, 1/3, -1/3, -1] (k = 1..4).

* R(w) = 1/3 (|3-0| + |3-6| + |3-1| + |0-6| + |0-1| + |6-1|) = 20/3.
* lam = 1.5: z = x + lam c = [1.5, 1.5, 2.5, 4.5] is already non-decreasing,
  so sorted prox = z and prox = [2.5, 1.5, 4.5, 1.5] in the original order.
* lam = 3: z = [3, 2, 2, 3]; PAVA pools the first three into 7/3, so
  prox = [7/3, 7/3, 3, 7/3].
* Particles: gaps 1, 2, 3 close at speed 2/3, so sorted 0 and 1 meet at
  t = 1.5 (at 1.5); that cluster moves at 2/3 and meets the particle at
  3 - t/3 when 1.5 + 2/3 (t - 1.5) = 3 - t/3, i.e. t = 2.5 (at 13/6); the
  cluster of three moves at 1/3 and meets 6 - t when
  13/6 + (t - 2.5)/3 = 6 - t, i.e. t = 3.5 = lam_max, at the mean 2.5.
* Linkage (original indices 0..3, new clusters 4, 5):
  [[1, 3, 1.5, 2], [4, 0, 2.5, 3], [5, 2, 3.5, 4]].
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from particles import simulate
from prox import SOLVERS, prox_ws, ws_penalty

W = np.array([3.0, 0.0, 6.0, 1.0])


def test_penalty_by_hand():
    assert ws_penalty(W) == pytest.approx(20 / 3, rel=1e-15)


@pytest.mark.parametrize("method", sorted(SOLVERS))
@pytest.mark.parametrize("lam, expected", [
    (0.0, [3.0, 0.0, 6.0, 1.0]),
    (1.5, [2.5, 1.5, 4.5, 1.5]),
    (3.0, [7 / 3, 7 / 3, 3.0, 7 / 3]),
    (3.5, [2.5, 2.5, 2.5, 2.5]),
    (100.0, [2.5, 2.5, 2.5, 2.5]),
])
def test_prox_by_hand(method, lam, expected):
    np.testing.assert_allclose(prox_ws(W, lam, method=method), expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_trajectory_by_hand(backend):
    traj = simulate(torch.from_numpy(W) if backend == "torch" else W)
    np.testing.assert_allclose(traj.times, [1.5, 2.5, 3.5], rtol=1e-15)
    np.testing.assert_allclose(traj.linkage, [[1, 3, 1.5, 2], [4, 0, 2.5, 3], [5, 2, 3.5, 4]],
                               rtol=1e-15)
    np.testing.assert_allclose(traj.events["position"], [1.5, 13 / 6, 2.5], rtol=1e-15)
    assert [traj.n_clusters(t) for t in (0.0, 1.5, 2.0, 2.5, 3.0, 3.5)] == [4, 3, 3, 2, 2, 1]
    assert [traj.lam_for_clusters(k) for k in (4, 3, 2, 1)] == pytest.approx([0, 1.5, 2.5, 3.5])
    assert traj.labels(3.0).tolist() == [0, 0, 1, 0]
    np.testing.assert_allclose(np.asarray(traj.prox(3.0)), [7 / 3, 7 / 3, 3.0, 7 / 3],
                               rtol=1e-15)
