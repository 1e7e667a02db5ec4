"""WeightSharing under torch.distributed: two gloo processes on the CPU.

One start of two processes runs every scenario (starting them is most of the
cost: they are forked from this process after it has imported what they need,
where fork exists); the workers only record tensors, and the tests below
compare the ranks' records with each other and with the oracle:

* DistributedDataParallel, different data per rank, SGD with momentum and two
  optimizer groups, WeightSharing per row and per tensor: every replica's
  parameters are bitwise identical after every step, and sharing happens.
* FSDP2 (``fully_shard``: parameters are DTensors sharded by rows, unevenly
  here): per-row sharing on each rank's own rows, per-tensor sharing and a
  bias through the gather path; the full parameters equal the oracle's prox of
  the full parameters after the optimizer step.
* A DTensor sharded by columns (tensor-parallel layout) with per-row sharing:
  rows are split across ranks, so it goes through the gather path.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from oracle import oracle_prox, oracle_prox_rows, tolerance
from prox.sharing import count_shared_values
from prox.training import WeightSharing

WORLD = 2
STEPS = 4
TIMEOUT_S = 180


def _data(rank: int, step: int):
    generator = torch.Generator().manual_seed(1000 * rank + step)  # different data per rank
    return torch.randn(16, 8, generator=generator), torch.randn(16, 3, generator=generator)


def _snapshot(parameters) -> list[torch.Tensor]:
    return [p.detach().clone() for p in parameters]


def _train_ddp(rank: int) -> dict:
    from torch.nn.parallel import DistributedDataParallel

    torch.manual_seed(rank)  # different initial weights: DDP broadcasts rank 0's
    model = torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3))
    initial = _snapshot(model.parameters())
    ddp = DistributedDataParallel(model)
    first, second = model[0], model[2]
    optimizer = torch.optim.SGD(
        [
            {"params": [first.weight, first.bias], "lr": 0.5},
            {"params": [second.weight, second.bias], "lr": 0.2},
        ],
        momentum=0.9,
    )
    sharing = WeightSharing(
        [{"params": [first.weight]}, {"params": [second.weight], "scope": "tensor"}], 0.3
    )
    record = {"initial": initial, "start": _snapshot(model.parameters()), "after": [],
              "losses": []}
    for step in range(STEPS):
        x, y = _data(rank, step)
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(ddp(x), y)
        loss.backward()
        record["losses"].append(loss.item())  # this rank's own batch
        optimizer.step()
        sharing.step(optimizer)
        record["after"].append(_snapshot(model.parameters()))
    return record


def _train_fsdp(rank: int) -> dict:
    from torch.distributed.fsdp import fully_shard

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    fully_shard(model[0])
    fully_shard(model[2])
    fully_shard(model)
    first, second = model[0], model[2]
    optimizer = torch.optim.SGD(
        [{"params": first.parameters(), "lr": 0.5}, {"params": second.parameters(), "lr": 0.2}]
    )
    sharing = WeightSharing(
        [
            {"params": [first.weight]},  # rows: each rank's own rows
            {"params": [first.bias], "include_bias": True},  # 1-D: gathered
            {"params": [second.weight], "scope": "tensor"},  # whole tensor: gathered
        ],
        0.4,
    )
    shared = [first.weight, first.bias, second.weight]
    record = {
        "placements": [str(p.placements) for p in shared],
        "local_shapes": [tuple(p.to_local().shape) for p in shared],
        "before": [],
        "after": [],
    }
    for step in range(STEPS):
        x, y = _data(rank, step)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        record["before"].append([p.full_tensor().detach().clone() for p in shared])
        sharing.step(optimizer)
        record["after"].append([p.full_tensor().detach().clone() for p in shared])
    return record


def _column_sharded(rank: int) -> dict:
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_tensor

    mesh = init_device_mesh("cpu", (WORLD,))
    full = torch.randn(4, 9, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    parameter = torch.nn.Parameter(distribute_tensor(full, mesh, [Shard(1)]))
    WeightSharing([parameter], 2.0).step(0.25)
    return {"before": full, "after": parameter.full_tensor().detach().clone(),
            "local_shape": tuple(parameter.to_local().shape)}


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)  # first: a forked child must not enter the parent's thread pool
    if sys.platform == "linux":
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=WORLD)
    try:
        record = {"ddp": _train_ddp(rank), "fsdp": _train_fsdp(rank),
                  "columns": _column_sharded(rank)}
        torch.save(record, os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def _import_what_the_workers_use() -> None:
    """Import once here what each forked worker would otherwise import on its own."""
    import torch._dynamo  # noqa: F401  (DistributedDataParallel's constructor imports it)
    import torch.distributed.fsdp  # noqa: F401
    import torch.distributed.tensor  # noqa: F401

    from prox import prox_ws

    for dtype in (torch.float32, torch.float64):  # load the compiled kernels
        prox_ws(torch.zeros(1, 3, dtype=dtype), 0.1)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("distributed")
    start_method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    if start_method == "fork":
        _import_what_the_workers_use()
    context = mp.start_processes(
        _worker, args=(str(out_dir / "init"), str(out_dir)), nprocs=WORLD, join=False,
        start_method=start_method,
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not context.join(timeout=2):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the {WORLD} gloo workers did not finish within {TIMEOUT_S} s")
    return [torch.load(out_dir / f"rank{rank}.pt") for rank in range(WORLD)]


def _assert_matches_oracle(after: torch.Tensor, before: torch.Tensor, lam: float, scope: str):
    values = before.double().numpy()
    if scope == "tensor" or values.ndim == 1:
        exact = oracle_prox(values.reshape(-1), lam).reshape(values.shape)
    else:
        exact = oracle_prox_rows(values.reshape(values.shape[0], -1), lam).reshape(values.shape)
    atol = tolerance(values, lam, after.numpy().dtype)
    np.testing.assert_allclose(after.double().numpy(), exact, rtol=0, atol=atol)


def test_ddp_replicas_stay_bitwise_identical_after_every_step(records):
    for step in range(STEPS):
        for mine, theirs in zip(records[0]["ddp"]["after"][step], records[1]["ddp"]["after"][step]):
            assert torch.equal(mine, theirs), f"replicas differ after step {step}"


def test_ddp_training_shares_values(records):
    start, end = records[0]["ddp"]["start"], records[0]["ddp"]["after"][-1]
    # weights: fewer distinct values per row (first layer) and over the tensor (second)
    assert (count_shared_values(end[0]) < count_shared_values(start[0])).all()
    assert count_shared_values(end[2].reshape(-1)) < count_shared_values(start[2].reshape(-1))
    assert count_shared_values(end[2].reshape(-1)) < end[2].numel()

def test_ddp_ranks_really_differ(records):
    ddp = [records[rank]["ddp"] for rank in range(WORLD)]
    # other initial weights on rank 1, made equal by DDP's broadcast
    assert not torch.equal(ddp[0]["initial"][0], ddp[1]["initial"][0])
    assert all(torch.equal(a, b) for a, b in zip(ddp[0]["start"], ddp[1]["start"]))
    # other data: the same parameters give other losses on the two ranks
    assert all(a != b for a, b in zip(ddp[0]["losses"], ddp[1]["losses"]))


def test_fsdp2_sharding_gives_the_prox_of_the_full_parameters(records):
    fsdp = [records[rank]["fsdp"] for rank in range(WORLD)]
    assert fsdp[0]["placements"][0] == "(Shard(dim=0),)"
    # 5 rows over 2 ranks: 3 + 2 (uneven shards)
    assert [f["local_shapes"][0] for f in fsdp] == [(3, 8), (2, 8)]
    lams = [0.5 * 0.4, 0.5 * 0.4, 0.2 * 0.4]
    scopes = ["rows", "tensor", "tensor"]
    for step in range(STEPS):
        for index, (lam, scope) in enumerate(zip(lams, scopes)):
            before, after = fsdp[0]["before"][step][index], fsdp[0]["after"][step][index]
            _assert_matches_oracle(after, before, lam, scope)
            assert torch.equal(after, fsdp[1]["after"][step][index])
    final = fsdp[0]["after"][-1]
    assert (count_shared_values(final[0]) < 8).all()


def test_rows_split_across_ranks_are_gathered(records):
    for rank in range(WORLD):
        columns = records[rank]["columns"]
        assert columns["local_shape"] == (4, 5 - rank)  # 9 columns: 5 + 4
        _assert_matches_oracle(columns["after"], columns["before"], 0.5, "rows")
