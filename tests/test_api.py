"""API conventions: keyword-only options, autograd through the prox, the solver registry."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from oracle import oracle_prox, tolerance
from prox import SOLVERS, prox_ws, prox_ws_l1, solve
from prox.autograd import average_over_groups


# ----------------------------------------------------------------- keyword-only options
@pytest.mark.parametrize("call", [
    lambda w: prox_ws(w, 0.5, "pava"),
    lambda w: solve(w, 0.5, "pava"),
    lambda w: prox_ws_l1(w, 0.5, 0.1, "pava"),
])
def test_method_is_keyword_only(call):
    with pytest.raises(TypeError):
        call(np.arange(4.0))


def test_registry_lists_every_solver_after_importing_prox_alone():
    # "events" lives in particles; prox finds it through its entry-point group.
    program = "import prox; print(sorted(prox.SOLVERS))"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    names = eval(done.stdout)  # a printed list of strings
    assert {"pava", "events", "parallel_pava", "lower_sets", "divide_conquer"} <= set(names)


def test_import_prox_loads_the_plugin_solvers_only_when_asked():
    # import prox stays light: particles (and what it imports) loads at the first
    # question about a solver prox does not hold, then answers like a built-in one.
    program = (
        "import sys, numpy as np, prox\n"
        "before = 'particles' in sys.modules\n"
        "prox.prox_ws(np.arange(4.0), 0.5)\n"
        "after_pava = 'particles' in sys.modules\n"
        "out = prox.prox_ws(np.array([0.0, 1.0, 5.0]), 0.5, method='events')\n"
        "print(before, after_pava, 'particles' in sys.modules, out.tolist())\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "True", "[0.5,", "1.0,", "4.5]"]


# ----------------------------------------------------------------- requires_grad
def test_requires_grad_input_gives_a_differentiable_prox():
    w = torch.tensor([0.0, 1.0, 5.0], dtype=torch.float64, requires_grad=True)
    u = prox_ws(w, 1.0)
    # By hand: z = sort(w) + lam c = [1, 1, 4]; the first two pool into one group.
    np.testing.assert_allclose(u.detach().numpy(), [1.0, 1.0, 4.0])
    assert u.requires_grad and not w.grad
    (u * torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)).sum().backward()
    # du_0/dw = (1/2, 1/2, 0): the group {0, 1} shares the mean of its inputs.
    np.testing.assert_allclose(w.grad.numpy(), [0.5, 0.5, 0.0])


@pytest.mark.parametrize("method", ["pava", "divide_conquer", "parallel_pava"])
def test_gradcheck_on_generic_rows(method):
    w = torch.randn(3, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: prox_ws(x, 0.4, method=method), (w,))


def test_no_grad_and_plain_tensors_stay_detached():
    w = torch.randn(6, requires_grad=True, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not prox_ws(w, 0.5).requires_grad
    assert not prox_ws(w.detach(), 0.5).requires_grad
    assert w.grad is None


def test_requires_grad_input_is_not_modified_and_keeps_dtype():
    w = torch.tensor([3.0, -1.0, 2.0, 2.0], requires_grad=True)
    before = w.detach().clone()
    u = prox_ws(w, 0.7)
    assert u.dtype == torch.float32
    torch.testing.assert_close(w.detach(), before)
    np.testing.assert_allclose(u.detach().double().numpy(), oracle_prox(before.numpy(), 0.7),
                               atol=tolerance(before.numpy(), 0.7, np.float32))


def test_average_over_groups_matches_a_loop():
    rng = np.random.default_rng(4)
    values = torch.from_numpy(rng.integers(0, 4, (5, 11)).astype(np.float64))
    grad = torch.from_numpy(rng.normal(size=(5, 11)))
    got = average_over_groups(values, grad).numpy()
    for row_values, row_grad, row_got in zip(values.numpy(), grad.numpy(), got):
        for value in np.unique(row_values):
            members = row_values == value
            np.testing.assert_allclose(row_got[members], row_grad[members].mean())


def test_every_solver_is_in_the_registry_with_one_signature():
    w = np.array([2.0, -1.0, 0.5])
    for name, solver in SOLVERS.items():
        assert solver.name == name
        np.testing.assert_allclose(np.asarray(solver(w, 0.3)), oracle_prox(w, 0.3),
                                   atol=tolerance(w, 0.3))
