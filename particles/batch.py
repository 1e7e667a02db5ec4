"""``TrajectoryBatch``: the one type ``simulate`` returns for a 2-D batch of rows."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .trajectory import Trajectory

__all__ = ["TrajectoryBatch"]


class TrajectoryBatch(Sequence):
    """The trajectories of every row of a (rows, d) input, simulated together.

    A sequence of :class:`Trajectory` (``batch[r]``, ``len(batch)``, iteration)
    with the queries that make sense for the whole batch: ``prox(lam)`` and
    ``positions(t)`` stack the rows' answers in the input's kind (ndarray, or a
    tensor of the input's dtype and device), and ``rounds`` is the number of
    parallel rounds the batch took (the slowest row's; each row keeps its own
    in ``batch[r].rounds``).
    """

    def __init__(self, trajectories: list[Trajectory], *, rounds=None, like=None):
        self._trajectories = list(trajectories)
        self.rounds = rounds
        self._like = like

    def __len__(self) -> int:
        return len(self._trajectories)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return TrajectoryBatch(self._trajectories[index], rounds=self.rounds, like=self._like)
        return self._trajectories[index]

    def _stack(self, rows: list) -> object:
        if self._like is None or not self._like.is_torch:
            return np.stack([np.asarray(row) for row in rows])
        import torch

        return torch.stack(rows)

    def prox(self, lam):
        """``prox_{lam R}`` of every row, shape (rows, d)."""
        return self._stack([trajectory.prox(lam) for trajectory in self._trajectories])

    def positions(self, t):
        """Positions of every row at time(s) ``t``: shape (rows, d) or (rows, len(t), d)."""
        return self._stack([trajectory.positions(t) for trajectory in self._trajectories])

    def n_clusters(self, t) -> np.ndarray:
        """Clusters of every row at time ``t``, int64 (rows,)."""
        return np.array([trajectory.n_clusters(t) for trajectory in self._trajectories])

    @property
    def lam_max(self) -> np.ndarray:
        """Each row's last merge time, float64 (rows,)."""
        return np.array([trajectory.lam_max for trajectory in self._trajectories])

    def __repr__(self) -> str:
        return f"TrajectoryBatch(rows={len(self)}, rounds={self.rounds})"
