"""The weight-sharing particle system: one simulation, the prox for every lam.

Public API (DESIGN.md §5)::

    simulate(w, *, backend=None) -> Trajectory   (list of Trajectory for 2-D torch)
    Trajectory.positions(t), .prox(lam), .linkage, .n_clusters(t),
    .lam_for_clusters(k), .labels(t), .lam_max, .events, .times, .rounds
"""
from .simulation import BACKENDS, simulate
from .trajectory import EVENT_DTYPE, Trajectory

__all__ = ["simulate", "Trajectory", "EVENT_DTYPE", "BACKENDS"]
