"""The weight-sharing particle system: one simulation, the prox for every lam.

Public API (the maths: docs/maths.md, 'The particle picture')::

    simulate(w, *, backend=None) -> Trajectory   (TrajectoryBatch for a 2-D torch batch)
    simulate_owl(w, theta), simulate_growl(W, theta)   the OWL family, with a wall at 0
    Trajectory.positions(t), .prox(lam), .linkage, .n_clusters(t),
    .lam_for_clusters(k), .labels(t), .lam_max, .events, .times, .rounds

Every trajectory (Trajectory, OwlTrajectory, GrowlTrajectory) answers with the
same words: prox(lam), positions(t), labels(t), n_clusters(t),
lam_for_clusters(k), lam_max, events, times, and linkage (for the OWL family
the wall is a merge with the zero cluster). Positions come back in the input's
kind and dtype (float32 stays float32).
"""
from prox import register_solver

from .batch import TrajectoryBatch
from .simulation import BACKENDS, simulate
from .trajectory import EVENT_DTYPE, Trajectory

# Importing particles adds method="events" to prox (prox itself never names particles).
register_solver(
    "events", "numpy", "particles.solver:prox_events_rows",
    "event-driven particle simulation up to time lam (Numba, CPU); work O(d log d), sequential",
)

from .owl import GrowlTrajectory, OwlTrajectory, simulate_growl, simulate_owl  # noqa: E402

__all__ = ["simulate", "Trajectory", "TrajectoryBatch", "EVENT_DTYPE", "BACKENDS",
           "simulate_owl", "simulate_growl", "OwlTrajectory", "GrowlTrajectory"]
