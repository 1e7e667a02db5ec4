"""prox.training (WeightSharing, prox_ws_) and prox.sharing on real torch parameters.

Every numeric check is against the independent oracle (``oracle_prox_rows``),
with tolerances relative to the problem's scale (max|w| + lam).
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from oracle import oracle_prox, oracle_prox_rows, tolerance
from prox.sharing import count_shared_values, refit_groups
from prox.training import SCOPES, WeightSharing, prox_ws_

RNG = np.random.default_rng(12)


def expected(w: torch.Tensor, lam: float, scope: str = "rows") -> np.ndarray:
    """The oracle's answer for ``prox_ws_(w, lam, scope=scope)``, shaped like ``w``."""
    values = w.detach().to(torch.float64).numpy()
    if values.size == 0:
        return values.copy()  # nothing to prox (the oracle cannot iterate over 0 rows)
    if scope == "tensor" or values.ndim <= 1:
        return oracle_prox(values.reshape(-1), lam).reshape(values.shape)
    rows = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    return oracle_prox_rows(rows, lam).reshape(values.shape)


def assert_prox_of(after: torch.Tensor, before: torch.Tensor, lam: float, scope: str = "rows"):
    before64 = before.detach().to(torch.float64).numpy()
    np.testing.assert_allclose(
        after.detach().numpy(), expected(before, lam, scope), rtol=0, atol=tolerance(before64, lam)
    )


def model64(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3)
    ).double()


# --- prox_ws_ ---------------------------------------------------------------------------


def test_prox_ws_in_place_rows_and_tensor():
    W = torch.randn(4, 9, dtype=torch.float64)
    original = W.clone()
    pointer = W.data_ptr()
    assert prox_ws_(W, 0.5) is W
    assert W.data_ptr() == pointer
    assert_prox_of(W, original, 0.5, "rows")
    V = original.clone()
    prox_ws_(V, 0.5, scope="tensor")
    assert_prox_of(V, original, 0.5, "tensor")
    for bad in ("columns", None, "ROWS"):
        with pytest.raises(ValueError, match="Unknown scope"):
            prox_ws_(V, 0.5, scope=bad)


def test_rows_of_a_conv_weight_are_output_channels():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(3, 4, kernel_size=3).double()
    before = conv.weight.detach().clone()
    prox_ws_(conv.weight, 0.3)
    flat = before.reshape(4, 27).numpy()
    np.testing.assert_allclose(
        conv.weight.detach().reshape(4, 27).numpy(),
        oracle_prox_rows(flat, 0.3),
        rtol=0,
        atol=tolerance(flat, 0.3),
    )
    # not the kernel width: per-output-channel sharing pools across in, kh and kw
    assert (count_shared_values(conv.weight.reshape(4, -1)) < 27).all()


def test_non_contiguous_parameter_is_written_through():
    base = torch.randn(7, 5, dtype=torch.float64)
    parameter = torch.nn.Parameter(base.t())  # (5, 7) view with strides (1, 5)
    before = parameter.detach().clone()
    prox_ws_(parameter, 0.4)
    assert not parameter.is_contiguous()
    assert_prox_of(parameter, before, 0.4)
    assert_prox_of(base.t(), before, 0.4)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("scope", SCOPES)
def test_half_precision_is_proxed_in_float32(dtype, scope):
    w = torch.from_numpy(RNG.standard_normal((6, 40))).to(dtype)
    parameter = torch.nn.Parameter(w.clone())
    lam = 0.7
    prox_ws_(parameter, lam, scope=scope)
    assert parameter.dtype == dtype and parameter.requires_grad
    exact = expected(w, lam, scope)  # the oracle on the half values, in float64
    scale = float(np.abs(w.to(torch.float64).numpy()).max()) + lam
    # one rounding to the half format (half an ulp) plus float32 arithmetic
    atol = torch.finfo(dtype).eps * scale
    np.testing.assert_allclose(parameter.detach().double().numpy(), exact, rtol=0, atol=atol)
    # groups survive the rounding: no more values than the exact prox has
    assert (count_shared_values(_rows_np(parameter, scope)) <= count_shared_values(
        _rows_np(torch.from_numpy(exact), scope))).all()


def _rows_np(t: torch.Tensor, scope: str) -> np.ndarray:
    t = t.detach().to(torch.float64)
    return (t.reshape(1, -1) if scope == "tensor" else t.reshape(t.shape[0], -1)).numpy()


@given(
    rows=st.integers(0, 4),
    d=st.integers(0, 12),
    levels=st.sampled_from([None, 3, 7]),
    lam=st.sampled_from([0.0, 1e-3, 0.5, 4.0, 1e3]),
    scope=st.sampled_from(SCOPES),
    seed=st.integers(0, 2**16),
)
def test_prox_ws_matches_the_oracle(rows, d, levels, lam, scope, seed):
    generator = np.random.default_rng(seed)
    values = generator.standard_normal((rows, d))
    if levels is not None:  # quantized weights: many exact ties
        values = np.round(values * levels) / levels
    w = torch.from_numpy(values)
    before = w.clone()
    prox_ws_(w, lam, scope=scope)
    assert_prox_of(w, before, lam, scope)


@pytest.mark.parametrize(
    "shape", [(0, 4), (3, 0), (0,), (1,), (2,), (3,), (0, 3, 2, 2), (2, 1, 1, 1)]
)
@pytest.mark.parametrize("scope", SCOPES)
def test_degenerate_shapes(shape, scope):
    w = torch.from_numpy(RNG.standard_normal(shape))
    before = w.clone()
    assert prox_ws_(w, 0.5, scope=scope).shape == shape
    assert_prox_of(w, before, 0.5, scope)


def test_prox_ws_bad_input():
    with pytest.raises(TypeError, match="Invalid tensor"):
        prox_ws_(np.zeros((2, 3)), 0.5)
    with pytest.raises(TypeError, match="floating dtype"):
        prox_ws_(torch.zeros(2, 3, dtype=torch.int64), 0.5)
    with pytest.raises(ValueError, match="Invalid lam"):
        prox_ws_(torch.zeros(2, 3), -0.5)
    with pytest.raises(ValueError, match="Unknown method"):
        prox_ws_(torch.zeros(2, 3), 0.5, method="magic")


# --- WeightSharing: construction -------------------------------------------------------


def test_weight_sharing_after_optimizer_step():
    torch.manual_seed(0)
    layer = torch.nn.Linear(6, 3).double()
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    sharing = WeightSharing([layer.weight], strength=2.0)
    x, y = torch.randn(16, 6, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)
    optimizer.zero_grad()
    torch.nn.functional.mse_loss(layer(x), y).backward()
    optimizer.step()
    after_step = layer.weight.detach().clone()
    sharing.step(optimizer)
    assert_prox_of(layer.weight, after_step, 0.2)
    assert layer.weight.requires_grad  # still a trainable parameter
    with pytest.raises(ValueError, match="Invalid strength"):
        WeightSharing([layer.weight], strength=-1.0)


def test_bare_tensor_is_rejected_not_iterated():
    layer = torch.nn.Linear(4, 3)
    with pytest.raises(TypeError, match=r"got a Tensor of shape \(3, 4\).*\[tensor\]"):
        WeightSharing(layer.weight, 1.0)
    with pytest.raises(TypeError, match="a set has no order"):
        WeightSharing({layer.weight}, 1.0)
    with pytest.raises(TypeError, match="list of param groups"):
        WeightSharing({"params": [layer.weight]}, 1.0)
    with pytest.raises(TypeError, match="got int"):
        WeightSharing([layer.weight, 3], 1.0)
    with pytest.raises(TypeError, match="floating parameters"):
        WeightSharing([torch.zeros(2, 2, dtype=torch.int32)], 1.0)
    with pytest.raises(ValueError, match="more than once"):
        WeightSharing([layer.weight, layer.weight], 1.0)
    with pytest.raises(ValueError, match="more than once"):
        WeightSharing([{"params": [layer.weight]}, {"params": [layer.weight]}], 1.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        WeightSharing([], 1.0)
    with pytest.raises(ValueError, match="sets no 'strength'"):
        WeightSharing([layer.weight])
    with pytest.raises(TypeError, match="Invalid include_bias"):
        WeightSharing([layer.weight], 1.0, include_bias="yes")
    # torch.optim's convention: a single Tensor under a group's "params" is one parameter
    sharing = WeightSharing([{"params": layer.weight, "strength": 1.0}])
    assert sharing.params[0] is layer.weight and len(sharing.params) == 1


def test_scope_is_checked_everywhere_it_can_enter():
    layer = torch.nn.Linear(4, 3)
    with pytest.raises(ValueError, match="Unknown scope 'columns'"):
        WeightSharing([layer.weight], 1.0, scope="columns")
    with pytest.raises(ValueError, match="Unknown scope 'columns'"):
        WeightSharing([{"params": [layer.weight], "scope": "columns"}], 1.0)
    sharing = WeightSharing([layer.weight], 1.0)
    state = sharing.state_dict()
    state["param_groups"][0]["scope"] = "columns"
    with pytest.raises(ValueError, match="Unknown scope 'columns'"):
        sharing.load_state_dict(state)
    assert sharing.param_groups[0]["scope"] == "rows"  # a failed load changes nothing
    sharing.param_groups[0]["scope"] = "columns"  # edited by hand between steps
    with pytest.raises(ValueError, match="Unknown scope 'columns'"):
        sharing.step(0.1)


def test_param_groups_take_their_own_hyperparameters_and_the_defaults():
    torch.manual_seed(2)
    a, b, c = (torch.nn.Parameter(torch.randn(4, 11, dtype=torch.float64)) for _ in range(3))
    before = [p.detach().clone() for p in (a, b, c)]
    sharing = WeightSharing(
        [
            {"params": [a]},
            {"params": [b], "strength": 3.0, "scope": "tensor"},
            {"params": [c], "method": "divide_conquer"},
        ],
        0.5,
        scope="rows",
    )
    assert [g["strength"] for g in sharing.param_groups] == [0.5, 3.0, 0.5]
    assert [g["scope"] for g in sharing.param_groups] == ["rows", "tensor", "rows"]
    sharing.step(0.2)
    assert_prox_of(a, before[0], 0.2 * 0.5, "rows")
    assert_prox_of(b, before[1], 0.2 * 3.0, "tensor")
    assert_prox_of(c, before[2], 0.2 * 0.5, "rows")
    # strength can be scheduled between steps, like an optimizer's lr
    sharing.param_groups[0]["strength"] = 4.0
    again = a.detach().clone()
    sharing.step(0.2)
    assert_prox_of(a, again, 0.8)


# --- WeightSharing: the learning rate ----------------------------------------------------


def test_each_parameter_uses_the_lr_of_its_optimizer_group():
    torch.manual_seed(3)
    slow, fast = (torch.nn.Parameter(torch.randn(3, 20, dtype=torch.float64)) for _ in range(2))
    optimizer = torch.optim.SGD([{"params": [slow], "lr": 0.001}, {"params": [fast], "lr": 10.0}])
    # WeightSharing's own grouping need not match the optimizer's
    sharing = WeightSharing([fast, slow], strength=0.01)
    before_slow, before_fast = slow.detach().clone(), fast.detach().clone()
    sharing.step(optimizer)
    assert_prox_of(slow, before_slow, 0.001 * 0.01)
    assert_prox_of(fast, before_fast, 10.0 * 0.01)  # moved by lr * strength = 0.1
    assert count_shared_values(fast) .max() < 20
    # a float lr applies to every group
    before_slow, before_fast = slow.detach().clone(), fast.detach().clone()
    sharing.step(0.5)
    assert_prox_of(slow, before_slow, 0.005)
    assert_prox_of(fast, before_fast, 0.005)
    with pytest.raises(ValueError, match="Invalid lr"):
        sharing.step(-1.0)


def test_a_parameter_the_optimizer_does_not_hold_is_an_error():
    held, stray = torch.nn.Parameter(torch.randn(2, 5)), torch.nn.Parameter(torch.randn(2, 5))
    optimizer = torch.optim.SGD([held], lr=0.1)
    sharing = WeightSharing([held, stray], 1.0)
    with pytest.raises(ValueError, match=r"does not hold a parameter of shape \(2, 5\)"):
        sharing.step(optimizer)


def test_zero_lam_leaves_parameters_bitwise_unchanged():
    net = model64()
    before = [p.detach().clone() for p in net.parameters()]
    WeightSharing(net.parameters(), 0.0).step(0.1)
    WeightSharing(net.parameters(), 5.0).step(0.0)
    for p, b in zip(net.parameters(), before):
        assert torch.equal(p, b)


# --- WeightSharing: biases ---------------------------------------------------------------


def test_biases_are_skipped_unless_asked_for():
    net = model64(4)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    WeightSharing(net.parameters(), 2.0).step(0.1)
    for name, parameter in net.named_parameters():
        if name.endswith("bias"):
            assert torch.equal(parameter, before[name])
        else:
            assert_prox_of(parameter, before[name], 0.2)
    before = {name: p.detach().clone() for name, p in net.named_parameters()}
    WeightSharing(net.parameters(), 2.0, include_bias=True).step(0.1)
    for name, parameter in net.named_parameters():  # a bias is one row, whatever the scope
        assert_prox_of(parameter, before[name], 0.2, "tensor" if name.endswith("bias") else "rows")
    with pytest.raises(ValueError, match="include_bias=True"):
        WeightSharing([net[0].bias], 2.0)


# --- WeightSharing: optimizers keep working ----------------------------------------------


def test_optimizer_parameters_and_state_survive():
    net = model64(5)
    frozen = net[2].bias
    frozen.requires_grad_(False)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    sharing = WeightSharing(net.parameters(), 0.5, include_bias=True)
    held = [p for group in optimizer.param_groups for p in group["params"]]
    trained = [p for p in held if p.requires_grad]
    pointers = [p.data_ptr() for p in net.parameters()]
    x, y = torch.randn(32, 6, dtype=torch.float64), torch.randn(32, 3, dtype=torch.float64)
    for step in range(1, 6):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
        sharing.step(optimizer)
        for p in trained:
            assert optimizer.state[p]["step"] == step and "exp_avg_sq" in optimizer.state[p]
    assert [p for group in optimizer.param_groups for p in group["params"]] == held
    assert all(a is b for a, b in zip(held, net.parameters()))
    assert [p.data_ptr() for p in net.parameters()] == pointers
    assert [p.requires_grad for p in net.parameters()] == [True, True, True, False]
    assert net[0].weight.grad is not None  # still in the autograd graph
    assert isinstance(net[0].weight, torch.nn.Parameter)


# --- WeightSharing: state_dict -----------------------------------------------------------


def test_state_dict_round_trip():
    net = model64(6)
    optimizer = torch.optim.SGD(
        [{"params": [net[0].weight, net[0].bias], "lr": 0.1}, {"params": net[2].parameters()}],
        lr=0.3,
    )
    sharing = WeightSharing(
        [
            {"params": [net[0].weight, net[0].bias], "include_bias": True},
            {"params": net[2].parameters(), "strength": 2.0, "scope": "tensor"},
        ],
        1.0,
    )
    sharing.param_groups[0]["strength"] = 0.25  # scheduled, then saved
    state = sharing.state_dict()
    # parameters by index, numbered across groups like torch.optim
    assert [g["params"] for g in state["param_groups"]] == [
        g["params"] for g in optimizer.state_dict()["param_groups"]
    ]
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    copy = model64(6)
    restored = WeightSharing(
        [{"params": [copy[0].weight, copy[0].bias]}, {"params": copy[2].parameters()}], 9.0
    )
    restored.load_state_dict(torch.load(buffer))
    for mine, theirs in zip(restored.param_groups, sharing.param_groups):
        assert {k: v for k, v in mine.items() if k != "params"} == {
            k: v for k, v in theirs.items() if k != "params"
        }
        assert all(p.shape == q.shape for p, q in zip(mine["params"], theirs["params"]))
    assert restored.param_groups[0]["params"][0] is copy[0].weight
    sharing.step(optimizer)
    restored.step(torch.optim.SGD(
        [{"params": [copy[0].weight, copy[0].bias], "lr": 0.1}, {"params": copy[2].parameters()}],
        lr=0.3,
    ))
    for p, q in zip(net.parameters(), copy.parameters()):
        assert torch.equal(p, q)
    assert state == sharing.state_dict()  # saving does not alias the live groups
    wrong = sharing.state_dict()
    wrong["param_groups"][1]["params"] = [2]
    with pytest.raises(ValueError, match="param group 1 has 1 parameters, expected 2"):
        restored.load_state_dict(wrong)
    with pytest.raises(ValueError, match="1 param groups"):
        restored.load_state_dict({"state": {}, "param_groups": state["param_groups"][:1]})


# --- prox.sharing on parameters ----------------------------------------------------------


def test_count_shared_values():
    assert count_shared_values(np.array([1.0, 2.0, 1.0, 3.0])) == 3
    np.testing.assert_array_equal(count_shared_values(np.array([[1.0, 1.0], [0.0, 2.0]])), [1, 2])
    assert count_shared_values(np.zeros(0)) == 0
    w = RNG.standard_normal((3, 50))
    u = oracle_prox_rows(w, 0.5)
    np.testing.assert_array_equal(count_shared_values(u), [len(np.unique(r)) for r in u])


def test_refit_groups_keeps_groups_and_restores_group_means():
    w = RNG.standard_normal((4, 60))
    u = oracle_prox_rows(w, 0.8)
    refit = refit_groups(w, u)
    for row_w, row_u, row_r in zip(w, u, refit):
        for value in np.unique(row_u):
            group = row_u == value
            np.testing.assert_allclose(row_r[group], row_w[group].mean())
    np.testing.assert_allclose(refit.mean(axis=1), w.mean(axis=1))
    with pytest.raises(ValueError, match="does not match"):
        refit_groups(w, u[:, :-1])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_sharing_helpers_accept_parameters(dtype):
    torch.manual_seed(7)
    layer = torch.nn.Linear(30, 4).to(dtype)
    original = layer.weight.detach().clone()
    prox_ws_(layer.weight, 0.6)
    w = torch.nn.Parameter(original.clone())  # requires grad, like a trained layer's weight
    counts = count_shared_values(layer.weight)
    assert isinstance(counts, np.ndarray) and counts.dtype == np.int64 and counts.shape == (4,)
    exact = [len(torch.unique(row)) for row in layer.weight.detach().float()]
    np.testing.assert_array_equal(counts, exact)
    assert count_shared_values(layer.weight.reshape(-1)) == len(torch.unique(layer.weight.float()))
    refit = refit_groups(w, layer.weight)
    assert isinstance(refit, np.ndarray) and refit.dtype == np.float64 and refit.shape == (4, 30)
    w64 = original.double().numpy()
    shared = layer.weight.detach().double().numpy()
    for row_w, row_u, row_r in zip(w64, shared, refit):
        for value in np.unique(row_u):
            group = row_u == value
            np.testing.assert_allclose(row_r[group], row_w[group].mean(), rtol=1e-12)
    assert w.requires_grad and layer.weight.requires_grad  # read, not changed
    assert torch.equal(w.detach(), original)
