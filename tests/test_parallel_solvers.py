"""The torch solvers ("parallel_pava", "lower_sets", "divide_conquer") against an oracle.

The oracle (``tests/oracle.py``) is a textbook stack PAVA on the sorted
transform that shares no code with the package.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import prox
from oracle import assert_close, oracle_prox, oracle_prox_rows  # independent (tests/oracle.py)
from prox import solve
from prox._registry import SOLVER_SPECS
from prox.solvers.divide_conquer import round_bound
from prox.worst_cases import WORST_CASES, cascade, separated, staircase

TORCH_SOLVERS = ("parallel_pava", "lower_sets", "divide_conquer")
TOL32 = 1e-5  # relative to max|w| + lam: float32 torch solvers sum in float32


oracle_rows = oracle_prox_rows


def run(name, w, lam):
    return solve(torch.as_tensor(w), lam, method=name)


# ---------------------------------------------------------------- registry
@pytest.mark.parametrize("name", TORCH_SOLVERS)
def test_registered_as_torch_solver(name):
    assert SOLVER_SPECS[name].kind == "torch"
    assert name in prox.SOLVERS


def test_auto_keeps_cpu_tensors_on_pava():
    # Accelerator tensors would go to divide_conquer; no accelerator here.
    assert prox.auto_method(torch.zeros(3)) == "pava"
    assert "divide_conquer" in SOLVER_SPECS


# ---------------------------------------------------------------- agreement
finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
vectors = st.one_of(
    hnp.arrays(np.float64, st.integers(1, 40), elements=finite),
    # Ties: few distinct values.
    hnp.arrays(np.float64, st.integers(1, 40), elements=st.sampled_from([-1.0, 0.0, 0.5, 2.0])),
)
strengths = st.sampled_from([0.0, 1e-3, 0.1, 0.5, 1.0, 7.0, 1e4])


@pytest.mark.parametrize("name", TORCH_SOLVERS)
@given(w=vectors, lam=strengths)
def test_matches_oracle_and_pava(name, w, lam):
    want = oracle_rows(w, lam)
    got = run(name, w, lam).x
    assert_close(got, want, w, lam)
    assert_close(got, solve(w, lam, method="pava").x, w, lam)


@pytest.mark.parametrize("name", TORCH_SOLVERS)
@pytest.mark.parametrize("d", [1, 2, 3, 5, 7, 31, 33, 100])
@pytest.mark.parametrize("kind", ["normal", "ties", "scaled"])
def test_small_and_non_power_of_two(name, d, kind):
    rng = np.random.default_rng(d)
    w = {
        "normal": rng.normal(size=d),
        "ties": rng.integers(0, 3, size=d).astype(np.float64),
        "scaled": rng.normal(size=d) * 1e6 + 3e6,
    }[kind]
    for lam in (0.0, 0.3, 2.0, 1e7):
        assert_close(run(name, w, lam).x, oracle_rows(w, lam), w, lam)


@pytest.mark.parametrize("name", TORCH_SOLVERS)
@pytest.mark.parametrize("generator", [cascade, separated, staircase])
@pytest.mark.parametrize("d", [2, 3, 16, 100, 257])
def test_worst_cases_match_oracle(name, generator, d):
    for lam in (0.5, 1.0):
        w = np.random.default_rng(d).permutation(generator(d, lam))
        assert_close(run(name, w, lam).x, oracle_rows(w, lam), w, lam)


@pytest.mark.parametrize("name", TORCH_SOLVERS)
def test_float32_stays_float32(name):
    w = np.random.default_rng(1).normal(size=(3, 50)).astype(np.float32)
    for lam in (0.0, 0.5, 3.0):
        got = run(name, w, lam).x
        assert got.dtype == torch.float32
        assert_close(got, oracle_rows(w, lam), w, lam, rel=TOL32)


@pytest.mark.parametrize("name", TORCH_SOLVERS)
@pytest.mark.parametrize("lam", [1e17, 1e30, 1e300])
def test_beyond_lam_max_every_row_is_its_mean(name, lam):
    """lam >> max|w| once drowned w in z = sort(w) + lam c: the mean came out as 0."""
    rows = torch.tensor([[1.0, 2.0, 3.0], [-5.0, 0.25, 7.0], [4.0, 4.0, 4.0]],
                        dtype=torch.float64)
    got = prox.prox_ws(rows, lam, method=name)
    assert torch.equal(got, rows.mean(-1, keepdim=True).expand_as(rows))


@pytest.mark.parametrize("name", TORCH_SOLVERS)
def test_lam_capped_at_the_bound_on_lam_max_changes_no_prox(name, rng):
    """lam_max <= (d-1)(max-min)/2, half the cap: the cap changes no prox."""
    from particles import simulate

    w = rng.standard_normal(50)
    lam_max = simulate(w).lam_max
    bound = (w.size - 1) * np.ptp(w) / 2
    assert lam_max <= bound
    for lam in (0.5 * lam_max, lam_max, 0.999 * bound, bound, 4 * bound):
        got = prox.prox_ws(torch.from_numpy(w), lam, method=name).numpy()
        assert_close(got, oracle_prox(w, lam), w, lam)


@pytest.mark.parametrize("name", TORCH_SOLVERS)
def test_batch_of_rows_of_different_difficulty(name):
    d = 64
    rng = np.random.default_rng(2)
    w = np.stack([cascade(d), rng.normal(size=d), separated(d), np.full(d, 3.0)])
    w = rng.permuted(w, axis=1)
    result = run(name, w, 1.0)
    assert_close(result.x, oracle_rows(w, 1.0), w, 1.0)
    # Rows are independent: the batch needs as many rounds as its hardest row
    # (divide and conquer: levels add up, so at least that many).
    alone = [run(name, row, 1.0).rounds for row in w]
    if name == "divide_conquer":
        assert result.rounds >= max(alone)
    else:
        assert result.rounds == max(alone)


@pytest.mark.parametrize("name", TORCH_SOLVERS)
def test_leading_dimensions_and_empty_batches(name):
    w = np.random.default_rng(3).normal(size=(2, 3, 9))
    got = run(name, w, 0.7).x
    assert got.shape == (2, 3, 9)
    assert_close(got, oracle_rows(w, 0.7), w, 0.7)
    assert run(name, np.zeros((0, 5)), 1.0).x.shape == (0, 5)


def test_split_prefix_sums_keep_range_sums_exact():
    from fractions import Fraction

    from prox.solvers.torch_blocks import split_prefix_sums

    rng = np.random.default_rng(4)
    z = np.sort(rng.normal(size=2**16)) + 0.5
    prefix = split_prefix_sums(torch.from_numpy(z)[None])[0].numpy()
    for i, j in rng.integers(0, z.size, size=(20, 2)):
        i, j = min(i, j), max(i, j)
        exact = float(sum(Fraction(v) for v in z[i + 1 : j + 1]))
        got = (prefix[j, 0] - prefix[i, 0]) + (prefix[j, 1] - prefix[i, 1])
        assert abs(got - exact) <= 1e-15 * (abs(exact) + 1)


@pytest.mark.parametrize("name", ["parallel_pava", "divide_conquer"])
def test_long_rows_stay_exact(name):
    w = np.random.default_rng(6).normal(size=2**18)
    assert_close(run(name, w, 0.5).x, solve(w, 0.5, method="pava").x, w, 0.5)


# ---------------------------------------------------------------- rounds
@pytest.mark.parametrize("d", [2, 3, 5, 16, 100, 1000, 4096])
def test_divide_and_conquer_rounds_bound(d):
    rng = np.random.default_rng(d)
    inputs = [rng.normal(size=d), cascade(d), separated(d), staircase(d)]
    levels = math.ceil(math.log2(d))  # the padded length is 2^levels
    assert round_bound(d) == levels * (levels + 1) // 2
    for w in inputs:
        for lam in (0.01, 0.5, 1.0):
            assert run("divide_conquer", w, lam).rounds <= round_bound(d)


@pytest.mark.parametrize("d", [16, 64, 256, 1024])
def test_parallel_pava_is_linear_on_the_cascade(d):
    rounds = run("parallel_pava", cascade(d), 1.0).rounds
    assert rounds == d - max(2, math.ceil(math.sqrt(d))) + 1
    assert rounds >= 0.5 * d


def test_worst_case_table():
    assert set(WORST_CASES) == set(TORCH_SOLVERS)
    for generator in WORST_CASES.values():
        w = generator(33)
        assert w.dtype == np.float64 and w.shape == (33,)


@pytest.mark.parametrize("d", [1, 2, 10, 300])
def test_lower_sets_takes_one_step_per_block(d):
    assert run("lower_sets", separated(d), 1.0).rounds == (d if d > 1 else 0)
    w = np.random.default_rng(d).normal(size=d)
    blocks = len(np.unique(oracle_prox(w, 0.5)))
    assert run("lower_sets", w, 0.5).rounds == (blocks if d > 1 else 0)


def test_staircase_is_harder_for_divide_and_conquer_than_random():
    d = 4096
    random_rounds = run("divide_conquer", np.random.default_rng(0).normal(size=d), 0.5).rounds
    assert run("divide_conquer", staircase(d), 1.0).rounds > random_rounds


# ---------------------------------------------------------------- contract
@pytest.mark.parametrize("name", TORCH_SOLVERS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kernel_contract(name, dtype):
    rows = torch.randn(3, 20, dtype=dtype, generator=torch.Generator().manual_seed(0))
    before = rows.clone()
    out, rounds = SOLVER_SPECS[name].kernel(rows, 0.4)
    assert torch.equal(rows, before)  # not modified
    assert out.dtype == rows.dtype and out.device == rows.device and out.shape == rows.shape
    assert isinstance(rounds, int)
    assert out.data_ptr() != rows.data_ptr()


class _HostSyncCounter(torch.overrides.TorchFunctionMode):
    """Counts the calls that copy a tensor's value to Python (host syncs on a GPU)."""

    SYNCS = {
        torch.Tensor.__bool__,
        torch.Tensor.__int__,
        torch.Tensor.__float__,
        torch.Tensor.__index__,
        torch.Tensor.item,
        torch.Tensor.tolist,
        torch.Tensor.nonzero,
        torch.nonzero,
    }

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.SYNCS:
            self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("name", TORCH_SOLVERS)
def test_host_syncs_follow_rounds_not_elements(name):
    # Structural stand-in for "no per-element sync": the number of host syncs is
    # one per round (plus a few per level), independent of d.
    d = 2048
    rows = torch.from_numpy(np.random.default_rng(5).normal(size=(2, d)))
    lam = 5.0 if name == "lower_sets" else 0.5
    with torch.no_grad(), _HostSyncCounter() as counter:
        out, rounds = SOLVER_SPECS[name].kernel(rows, lam)
    levels = (d - 1).bit_length()
    extra = {"parallel_pava": 1, "lower_sets": 2, "divide_conquer": 5 * levels + 1}[name]
    assert rounds < d // 4
    assert counter.count <= rounds + extra
    assert_close(out, oracle_rows(rows.numpy(), lam), rows.numpy(), lam)
