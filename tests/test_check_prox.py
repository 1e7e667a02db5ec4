"""check_prox judges at the problem's own scale (no absolute floor)."""
from __future__ import annotations

import numpy as np
import pytest

from prox import check_prox, prox_ws


@pytest.mark.parametrize("scale", [1e-9, 1e-200, 1.0, 1e200])
def test_tiny_and_huge_weights_are_judged_at_their_scale(scale):
    w = scale * np.random.default_rng(0).normal(size=300)
    exact = prox_ws(w, 0.1 * scale)
    assert check_prox(w, 0.1 * scale, exact).exact
    # An all-zero answer is far from the prox at this scale: never "exact".
    report = check_prox(w, 0.1 * scale, np.zeros(300))
    assert not report.exact
    # The gap scales like scale**2: representable for these two, inf / 0 beyond.
    if 1e-100 < scale < 1e100:
        assert np.isfinite(report.objective_gap) and report.objective_gap > 0
    else:
        assert not np.isnan(report.objective_gap)
    assert report.tol == pytest.approx(1e-7 * (np.abs(w).max() + 0.1 * scale))


def test_tolerance_includes_lam():
    w = np.array([0.0, 1.0])
    assert check_prox(w, 10.0, prox_ws(w, 10.0)).tol == pytest.approx(1e-7 * 11.0)
