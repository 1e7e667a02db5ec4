"""The per-machine choice of the packed-key sort (``prox.solvers._sort_keys.sort_plan``)."""
from __future__ import annotations

import numpy as np
import pytest

from prox.solvers import _sort_keys
from prox.solvers.pava import prox_pava_rows


@pytest.fixture
def fresh_plans(monkeypatch):
    """An empty plan cache for the test; the process's cache comes back afterwards."""
    monkeypatch.setattr(_sort_keys, "_plans", {})
    monkeypatch.delenv(_sort_keys.SORT_ENV, raising=False)
    return monkeypatch


def _rows(dtype):
    rng = np.random.default_rng(7)
    d = 3 * _sort_keys.RADIX_MIN_LENGTH + 5  # inside the planned range
    rows = rng.standard_normal((2, d)).astype(dtype)
    rows[0, ::7] = rows[0, 3]  # ties
    rows[1] = np.round(rows[1], 1)  # quantized levels: long runs of equal keys
    rows[1, :10] = -0.0
    rows[1, 10:20] = 0.0
    return rows


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_both_paths_sort_identically(fresh_plans, dtype):
    results = {}
    for path in _sort_keys.SORT_PATHS:
        fresh_plans.setenv(_sort_keys.SORT_ENV, path)
        plan = _sort_keys.sort_plan(32 if dtype == np.float32 else 64, refresh=True)
        assert plan == {"path": path, "source": "env", "seconds": {}}
        rows = _rows(dtype)
        keys, index_bits = _sort_keys.sorted_keys(rows)
        order, xs = _sort_keys.sort_with_order(rows)
        fit, _ = prox_pava_rows(rows, 0.3)
        results[path] = keys, order, xs, fit
    radix, numpy_ = results["radix"], results["numpy"]
    for a, b in zip(radix, numpy_):
        np.testing.assert_array_equal(a, b)
    rows = _rows(dtype)
    np.testing.assert_array_equal(radix[2], np.sort(rows, axis=-1))
    # Equal values keep index order (-0.0 and 0.0 are different keys, so row 0 only).
    np.testing.assert_array_equal(radix[1][0], np.argsort(rows[0], kind="stable"))


def test_env_override_and_cache(fresh_plans):
    fresh_plans.setenv(_sort_keys.SORT_ENV, "numpy")
    assert _sort_keys.sort_plan(64)["path"] == "numpy"
    fresh_plans.setenv(_sort_keys.SORT_ENV, "radix")
    assert _sort_keys.sort_plan(64)["path"] == "numpy"  # cached until refreshed
    assert _sort_keys.sort_plan(64, refresh=True)["path"] == "radix"


def test_bad_override_names_the_variable(fresh_plans):
    fresh_plans.setenv(_sort_keys.SORT_ENV, "quick")
    with pytest.raises(ValueError, match="WS_SORT='quick'"):
        _sort_keys.sort_plan(32)
    with pytest.raises(ValueError, match="value_bits"):
        _sort_keys.sort_plan(16)


@pytest.mark.parametrize("faster", ["radix", "numpy"])
def test_timed_plan_picks_the_faster_and_sort_keys_follows_it(fresh_plans, faster):
    # Stand-in timings, so the test decides which path is faster, not the machine.
    timed = []

    def fake_timing(length, value_bits):
        timed.append((length, value_bits))
        return {path: (1.0 if path == faster else 2.0) for path in _sort_keys.SORT_PATHS}

    fresh_plans.setattr(_sort_keys, "_time_both", fake_timing)
    plan = _sort_keys.sort_plan(64)
    assert plan["source"] == "timed" and plan["path"] == faster
    assert timed == [(_sort_keys.PLAN_LENGTH, 64)]
    assert _sort_keys.sort_plan(64) is plan and len(timed) == 1  # decided once per width
    radix_calls = []
    real_radix = _sort_keys._radix_sort_rows
    fresh_plans.setattr(_sort_keys, "_radix_sort_rows",
                        lambda keys, bits: radix_calls.append(bits) or real_radix(keys, bits))
    keys, _ = _sort_keys.sorted_keys(_rows(np.float64))
    assert bool(radix_calls) == (faster == "radix")
    assert np.all(np.diff(keys.astype(np.float64), axis=-1) >= 0)  # sorted either way


def test_real_timing_measures_both_paths(fresh_plans):
    fresh_plans.setattr(_sort_keys, "PLAN_LENGTH", 1 << 14)  # keep the test short
    plan = _sort_keys.sort_plan(32)
    assert plan["source"] == "timed" and plan["path"] in _sort_keys.SORT_PATHS
    assert set(plan["seconds"]) == set(_sort_keys.SORT_PATHS)
    assert all(0 < seconds < 10 for seconds in plan["seconds"].values())
