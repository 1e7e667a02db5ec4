"""The family of penalties as particle systems, for the app's Watch tab: paths and figures.

One :class:`PenaltyPath` per penalty answers "where are the particles at time
t" (time is the strength λ), for:

* ``"WSR + L1"``: ``λ (R + α ||.||_1)``. Its prox is R's prox soft-thresholded
  by ``α λ`` (:func:`prox.prox_ws_l1`): the weight-sharing motion plus a drift
  toward 0 at speed α; a group sits on the wall at 0 while its pull away from
  0 is weaker than α. Drawn on the values.
* ``"OSCAR"`` and ``"OWL"``: :func:`particles.simulate_owl`. The magnitudes
  drift toward a wall at 0, rank ``i`` at speed ``theta_i``, merge and stick
  to the wall. Drawn on the magnitudes (the signs come back in the prox).
* ``"GrOWL"``: :func:`particles.simulate_growl` on the rows of a small matrix
  made from the weights; the particles are the row norms.

(``"WSR"`` itself is the app's original Watch tab.)

The animation of a path is :func:`demo.animation.penalty_animation`; the
figures here are the OWL weights and the GrOWL matrix.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from particles import simulate, simulate_growl, simulate_owl
from prox.owl import check_theta, compression_stats, oscar_weights
from prox.penalty import soft_threshold

from .figures import MAX_DRAWN, evenly_spaced

__all__ = [
    "PENALTIES",
    "OWL_SHAPES",
    "CUSTOM_THETA",
    "PenaltyPath",
    "make_theta",
    "growl_matrix",
    "build_path",
    "time_axis_end",
    "clusters_at",
    "groups_table",
    "growl_stats",
    "theta_figure",
    "matrix_figure",
]

#: The penalties the app offers ("WSR" is the original Watch tab).
PENALTIES = ("WSR", "WSR + L1", "OSCAR", "OWL", "GrOWL")
#: Shapes of the OWL weights theta (all scaled so that theta_1 = 1).
OWL_SHAPES = ("Linear decay", "SLOPE (Benjamini-Hochberg, q = 0.1)", "Lasso (constant)",
              "Top third", "Custom (paste)")
#: The default pasted theta (ten values; :func:`make_theta` repeats the last one up to d).
CUSTOM_THETA = "1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1"
#: Largest GrOWL matrix the app builds (rows).
MAX_GROWL_ROWS = 200


@dataclass(frozen=True)
class PenaltyPath:
    """Where the particles of one penalty are at every time (time = λ).

    coordinate(t): (d,) float64, what is drawn (magnitudes, values or row norms)
    prox(t): the prox at strength t (a vector, or the matrix for GrOWL)
    """

    penalty: str
    d: int
    axis_title: str  # what the particle coordinate is
    particle: str  # "weight" or "row"
    coordinate: Callable[[float], np.ndarray]
    prox: Callable[[float], np.ndarray]
    t_zero: float  # every particle on the wall from here on (inf: never)
    event_times: np.ndarray
    theta: np.ndarray | None = None
    signs: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


# ------------------------------------------------------------------ building paths
def make_theta(shape: str, d: int, custom: str | None = None) -> np.ndarray:
    """OWL weights of one of :data:`OWL_SHAPES` (theta_1 = 1; custom: pasted numbers).

    ``custom`` holds 1 to ``d`` non-increasing numbers >= 0; fewer than ``d`` are
    extended to length ``d`` by repeating the last one (so a short list such as
    :data:`CUSTOM_THETA` is valid for every ``d`` >= its length).
    Raises ValueError naming theta for an unknown shape or bad pasted weights.
    """
    ranks = np.arange(1, d + 1, dtype=np.float64)
    if shape == "Linear decay":
        return (d + 1 - ranks) / d
    if shape.startswith("SLOPE"):
        from scipy.stats import norm

        bh = norm.isf(ranks * 0.1 / (2 * d))  # the Benjamini-Hochberg sequence, q = 0.1
        return bh / bh[0]
    if shape == "Lasso (constant)":
        return np.ones(d)
    if shape == "Top third":
        return np.where(ranks <= math.ceil(d / 3), 1.0, 0.2)
    if shape == "Custom (paste)":
        from .inputs import parse_vector

        if not custom or not custom.strip():
            raise ValueError(f"Invalid theta: paste {d} non-increasing numbers >= 0")
        try:
            values = parse_vector(custom, min_entries=1)
        except ValueError as error:
            raise ValueError(f"Invalid theta: {error}") from None
        if values.ndim == 1 and 0 < values.size < d:  # the tail repeats the last value
            values = np.concatenate([values, np.full(d - values.size, values[-1])])
        return check_theta(values, d)
    raise ValueError(f"Invalid theta shape: {shape!r}; expected one of {OWL_SHAPES}")


def oscar_theta(d: int, alpha: float, beta: float) -> np.ndarray:
    """OSCAR's weights ``alpha + beta (d - i) / (d - 1)`` (pairwise part scaled like R)."""
    return oscar_weights(d, alpha, beta / max(d - 1, 1))


def growl_matrix(w: np.ndarray, cols: int) -> np.ndarray:
    """A small matrix from the weights: consecutive runs of ``cols`` become rows.

    At most :data:`MAX_GROWL_ROWS` rows; the tail that does not fill a row is dropped.
    """
    cols = int(cols)
    if cols < 1:
        raise ValueError(f"Invalid cols: {cols} (must be >= 1)")
    rows = min(w.size // cols, MAX_GROWL_ROWS)
    if rows < 1:
        raise ValueError(f"Invalid cols: {cols} is more than the {w.size} weights")
    return np.asarray(w[: rows * cols], dtype=np.float64).reshape(rows, cols)


def _wsr_l1_t_zero(traj, alpha: float, w: np.ndarray) -> float:
    # Everything is 0 once max|prox_{tR}(w)| <= alpha t; that set of t is an interval
    # [t_zero, inf) (the prox's extremes move inward at speed <= 1, the threshold
    # grows at alpha). Bisection to a relative 1e-12.
    if alpha <= 0:
        return 0.0 if not np.any(w) else math.inf
    low, high = 0.0, float(np.abs(w).max()) / alpha
    if high == 0:
        return 0.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        if np.abs(traj.prox(middle)).max() <= alpha * middle:
            high = middle
        else:
            low = middle
        if high - low <= 1e-12 * high:
            break
    return high


def build_path(penalty: str, w, *, alpha: float = 0.2, beta: float = 1.0,
               shape: str = "Linear decay", custom: str | None = None,
               cols: int = 4) -> PenaltyPath:
    """The :class:`PenaltyPath` of ``penalty`` (one of :data:`PENALTIES` but "WSR").

    alpha : L1 part (WSR + L1, OSCAR, GrOWL); beta : OSCAR's pairwise part
    (scaled by 1/(d-1), like R); shape, custom : the OWL weights
    (:func:`make_theta`); cols : row length of the GrOWL matrix.
    """
    w = np.asarray(w, dtype=np.float64)
    if penalty == "WSR + L1":
        traj = simulate(w)
        alpha = float(alpha)

        def values(t):
            return soft_threshold(traj.positions(t), alpha * t)

        return PenaltyPath(penalty, w.size, "value", "weight", values, values,
                           _wsr_l1_t_zero(traj, alpha, w), np.asarray(traj.times))
    if penalty in ("OSCAR", "OWL"):
        theta = (oscar_theta(w.size, alpha, beta) if penalty == "OSCAR"
                 else make_theta(shape, w.size, custom))
        traj = simulate_owl(w, theta)
        return PenaltyPath(penalty, w.size, "magnitude |w|", "weight", traj.magnitudes,
                           traj.prox, traj.t_zero, traj.times, theta, np.sign(w),
                           extra={"trajectory": traj})
    if penalty == "GrOWL":
        W = growl_matrix(w, cols)
        theta = oscar_theta(W.shape[0], alpha, beta)
        traj = simulate_growl(W, theta)
        return PenaltyPath(penalty, W.shape[0], "row norm", "row", traj.norms.magnitudes,
                           traj.prox, traj.t_zero, traj.norms.times, theta,
                           extra={"trajectory": traj, "W": W})
    raise ValueError(f"Invalid penalty: {penalty!r}; expected one of {PENALTIES[1:]}")


# ------------------------------------------------------------------ what is shown
def time_axis_end(path: PenaltyPath, lam: float) -> float:
    """Right end of the time axes: past λ, and past t_zero unless that is beyond 4 λ."""
    end = float(lam)
    if math.isfinite(path.t_zero):
        end = max(end, min(path.t_zero, 4 * end)) if end > 0 else path.t_zero
    return 1.05 * end if end > 0 else 1.0


@dataclass(frozen=True)
class Clusters:
    """The clusters at one time: coordinate, size, and how many are on the wall."""

    time: float
    value: np.ndarray
    size: np.ndarray
    n_zero: int


def clusters_at(path: PenaltyPath, t: float) -> Clusters:
    """Distinct coordinates at ``t`` with their counts (equal coordinates = one cluster)."""
    x = path.coordinate(float(t))
    value, size = np.unique(x, return_counts=True)
    return Clusters(float(t), value, size, int(np.count_nonzero(x == 0)))


def groups_table(path: PenaltyPath, lam: float) -> pd.DataFrame:
    """Groups at λ, largest first: ``value``, ``count``, ``on the wall``."""
    state = clusters_at(path, lam)
    table = pd.DataFrame({path.axis_title: state.value, f"{path.particle}s": state.size,
                          "on the wall": state.value == 0})
    return table.sort_values(f"{path.particle}s", ascending=False, kind="stable")


def growl_stats(path: PenaltyPath, lam: float) -> dict:
    """GrOWL's compression measures at λ.

    ``zero_rows``, ``sparsity`` (zero entries / entries of the prox),
    ``row_groups`` (distinct non-zero row norms: rows that can share storage),
    ``compression`` (entries / unique values once every row group is stored as
    one row, the group's mean row; :func:`prox.owl.compression_stats`) and
    ``stored_fraction`` (rows kept, one per group, over all rows).
    """
    if path.penalty != "GrOWL":
        raise ValueError(f"Invalid path: {path.penalty!r} is not GrOWL")
    traj = path.extra["trajectory"]
    U = path.prox(lam)
    norms = traj.norms.magnitudes(float(lam))
    labels = traj.labels(float(lam))
    shared = U.copy()
    for label in np.unique(labels[norms > 0]):
        members = labels == label
        shared[members] = U[members].mean(axis=0)
    stats = compression_stats(shared)
    nonzero_norms = np.unique(norms[norms > 0])
    return {
        "rows": int(U.shape[0]),
        "zero_rows": int(np.count_nonzero(norms == 0)),
        "sparsity": compression_stats(U)["sparsity"],
        "row_groups": int(nonzero_norms.size),
        "compression": stats["compression"],
        "stored_fraction": nonzero_norms.size / U.shape[0],
    }


def theta_figure(theta: np.ndarray) -> go.Figure:
    """The OWL weights against the rank: the speed of each rank's particle."""
    ranks = np.arange(1, theta.size + 1)
    keep = evenly_spaced(theta.size, MAX_DRAWN)
    fig = go.Figure(go.Scatter(x=ranks[keep], y=theta[keep], mode="lines",
                               line=dict(shape="hv", width=2), name="theta"))
    fig.update_layout(title=dict(text="θ_i: speed of the i-th largest", x=0.01,
                                 font=dict(size=14)),
                      height=320, margin=dict(l=20, r=20, t=50, b=40),
                      xaxis=dict(title="rank i (1 = largest magnitude)"),
                      yaxis=dict(title="θ_i", rangemode="tozero"))
    return fig


def matrix_figure(W: np.ndarray, U: np.ndarray) -> go.Figure:
    """The GrOWL matrix before and after the prox, side by side (same colour scale)."""
    from plotly.subplots import make_subplots

    bound = float(np.abs(W).max()) or 1.0
    fig = make_subplots(rows=1, cols=2, subplot_titles=("W", "prox at λ"))
    for col, M in ((1, W), (2, U)):
        fig.add_trace(go.Heatmap(z=M, zmin=-bound, zmax=bound, colorscale="RdBu",
                                 showscale=col == 2), row=1, col=col)
    fig.update_yaxes(autorange="reversed", title_text="row")
    fig.update_layout(height=360, margin=dict(l=20, r=20, t=40, b=40))
    return fig
