"""Proximal-gradient training with weight sharing, for any torch optimizer.

Modules: :mod:`~prox.training.inplace` (``prox_ws_``, the prox written into a
tensor), :mod:`~prox.training.weight_sharing` (``WeightSharing``, the step after
the optimizer's), :mod:`~prox.training.target` (a target number of values: the
νPI-controlled strength and the exact finish).

Proximal gradient minimizes ``loss(x) + strength * R(x)`` by alternating an
ordinary optimizer step on the loss with the prox of the regularizer::

    x <- prox_{lam R}(x - lr * grad),      lam = lr * strength,

where ``R(w) = 1/(d-1) sum_{i>j} |w_i - w_j|`` is taken over each *row* of a
parameter or over the whole parameter (the *scope*); ``docs/maths.md``,
sections "The regularizer and its prox" and "Training", says why the prox
makes weights share values exactly. The optimizer does the first half,
:class:`WeightSharing` the second::

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    sharing = WeightSharing(model.parameters(), strength=1e-3)   # weights, not biases
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
        sharing.step(optimizer)     # each parameter: lam = (its group's lr) * strength

It follows ``torch.optim``'s conventions: ``params`` is an iterable of
tensors or of param-group dicts with per-group hyperparameters
(``strength``, ``scope``, ``method``, ``include_bias``; missing keys take the
constructor's values), ``param_groups`` can be edited between steps, and
``state_dict()`` / ``load_state_dict()`` save the hyperparameters with
parameters referred to by index.

What a step does to a parameter
-------------------------------
* **Rows.** ``scope="rows"``: one problem per slice along the first axis, i.e.
  per row of ``p.reshape(p.shape[0], -1)``. For a linear weight ``(out, in)``
  that is a neuron's incoming weights; for a conv weight
  ``(out, in, kh, kw)`` it is one output channel's whole filter
  (``in * kh * kw`` values). ``scope="tensor"``: one problem over all of
  ``p.reshape(-1)`` (the layer-wide sharing of the weight-sharing paper).
* **Biases.** Parameters with fewer than 2 dimensions (biases, norm scales and
  shifts) are left alone unless the group sets ``include_bias=True``; then a
  1-D parameter is one row whatever the scope. So
  ``WeightSharing(model.parameters(), s)`` shares the values of weight
  matrices and kernels only, and a list holding nothing but such parameters
  is an error rather than a silent no-op.
* **In place.** The update is written into the parameter's own storage under
  ``torch.no_grad()``: the parameter objects, their ``requires_grad`` and the
  optimizer's state (momentum, Adam moments) are untouched, so the optimizer
  keeps working. float16/bfloat16 parameters are proxed in float32 and
  rounded back once.
* **Learning rate.** ``step(optimizer)`` uses, for every parameter, the
  ``lr`` of the optimizer param group that holds it; ``step(lr)`` uses one
  float for all.
* **Cost.** The solver's on every ``(rows, d)`` view: ``O(numel log d)`` work
  with ``pava``; nothing for parameters skipped or with ``lam = 0``.

A target number of values
-------------------------
``WeightSharing(params, max_values=k)`` (also a param-group key) asks for at most
k distinct values per row (or per tensor) instead of a strength: each shared
parameter's strength becomes a Lagrange multiplier moved by a νPI controller
(``cooper.optim.nuPI``) on a violation measured at every step, and
``finalize()`` makes the count exact at the end (:mod:`prox.training.target`)::

    sharing = WeightSharing(model.parameters(), max_values=4)
    ...                                  # train as above
    sharing.finalize()                   # now <= 4 distinct values per row

Each row has its own multiplier (``sharing.strengths()``), the target falls from
d values to k over ``warmup`` steps, and ``sharing.controller.history`` records
the strength, the error and the count at every step. Cost per step: one particle
simulation per row on top of the prox. Under DistributedDataParallel every rank
measures the same parameters, so the multipliers stay identical too; sharded
parameters (DTensor) are not supported with ``max_values``. What it buys: the
count is exact, but WSR's groups at small k are one central value and k - 1 small
outer groups, and k-means clustering of a trained network keeps more accuracy at
the same k (``networks/results/compression.md``).

Distributed training
--------------------
* **DistributedDataParallel**: call ``step`` on every rank after
  ``optimizer.step()``. DDP all-reduces the gradients, so every replica enters
  the prox with identical parameters, and the prox is deterministic, so they
  leave it identical; there is no communication. (Bitwise on the CPU, where
  ``"auto"`` means ``pava``. On CUDA the torch solvers sum blocks with
  ``index_add_``, whose float atomics are not reproducible bit for bit: turn
  on ``torch.use_deterministic_algorithms(True)`` or pass ``method="pava"``
  to keep replicas bitwise equal.)
* **Sharded parameters** (FSDP2's ``fully_shard``, or any ``DTensor``): with
  ``scope="rows"`` and the parameter sharded along its first axis
  (``Shard(0)``, FSDP2's layout) or replicated, every row is whole on one rank
  and each rank proxes its own rows: no communication, and the result is the
  prox of the full tensor. Any other case (``scope="tensor"``, 1-D parameters,
  other placements) gathers the full tensor on every rank, proxes it there
  (identically) and keeps the local shard.
* **FSDP1** (``FullyShardedDataParallel``) flattens parameters into 1-D shards
  that cut rows anywhere, so a per-rank prox would be wrong and is not
  supported: use FSDP2, or inside ``FSDP.summon_full_params(model)`` call
  :func:`prox_ws_` on the full parameters (gather, prox, re-shard).
"""
from .inplace import SCOPES, prox_ws_
from .target import ASCENT, PI, lam_for_k, share_k_values, sharing_violation
from .weight_sharing import WeightSharing

__all__ = ["prox_ws_", "WeightSharing", "SCOPES", "PI", "ASCENT", "lam_for_k",
           "sharing_violation", "share_k_values"]
