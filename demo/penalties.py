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

Figures are plotly functions of a path; the wall is a trace named ``"wall"``
in the particle and space-time figures. Every figure draws at most
``MAX_DRAWN`` particles (the drawing is subsampled, never the computation).
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

__all__ = [
    "PENALTIES",
    "OWL_SHAPES",
    "MAX_DRAWN",
    "PenaltyPath",
    "make_theta",
    "growl_matrix",
    "build_path",
    "time_axis_end",
    "clusters_at",
    "groups_table",
    "growl_stats",
    "particles_figure",
    "spacetime_figure",
    "theta_figure",
    "matrix_figure",
]

#: The penalties the app offers ("WSR" is the original Watch tab).
PENALTIES = ("WSR", "WSR + L1", "OSCAR", "OWL", "GrOWL")
#: Shapes of the OWL weights theta (all scaled so that theta_1 = 1).
OWL_SHAPES = ("Linear decay", "SLOPE (Benjamini-Hochberg, q = 0.1)", "Lasso (constant)",
              "Top third", "Custom (paste)")
#: Most particles any figure draws.
MAX_DRAWN = 300
#: Largest GrOWL matrix the app builds (rows).
MAX_GROWL_ROWS = 200
#: Time samples of the space-time diagram (event times are added, up to the same count).
N_TIMES = 120

_WALL_COLOUR = "#222222"
_ZERO_COLOUR = "#d62728"
_MOVING_COLOUR = "#1f77b4"
_LAM_COLOUR = "#d62728"


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


def _pick(n: int, most: int) -> np.ndarray:
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def _wall_trace(orientation: str, extent) -> go.Scatter:
    """The wall at 0: a thick line named "wall" (vertical on the particle line)."""
    lo, hi = extent
    xs, ys = ([0.0, 0.0], [lo, hi]) if orientation == "vertical" else ([lo, hi], [0.0, 0.0])
    return go.Scatter(x=xs, y=ys, mode="lines", name="wall",
                      line=dict(color=_WALL_COLOUR, width=5), hoverinfo="name")


def particles_figure(path: PenaltyPath, lam: float, t: float, *,
                     max_drawn: int = MAX_DRAWN) -> go.Figure:
    """The clusters at time ``t`` on a line, the wall at 0; zeros drawn in red on the wall."""
    now = clusters_at(path, t)
    start = path.coordinate(0.0)
    lo, hi = float(min(start.min(initial=0.0), 0.0)), float(max(start.max(initial=0.0), 0.0))
    pad = 0.05 * (hi - lo) if hi > lo else 1.0
    keep = _pick(now.value.size, max_drawn)
    value, size = now.value[keep], now.size[keep]
    on_wall = value == 0
    fig = go.Figure()
    fig.add_trace(_wall_trace("vertical", (-1.0, 1.0)))
    area = np.sqrt(size / max(path.d, 1)) * 40 + 6
    for mask, name, colour in ((~on_wall, "moving", _MOVING_COLOUR),
                               (on_wall, "on the wall (zero)", _ZERO_COLOUR)):
        fig.add_trace(go.Scatter(
            x=value[mask], y=np.zeros(int(mask.sum())), mode="markers", name=name,
            marker=dict(size=area[mask], color=colour, opacity=0.7,
                        line=dict(width=0.5, color="white")),
            customdata=size[mask],
            hovertemplate=f"{path.axis_title} %{{x:.4g}}<br>%{{customdata}} {path.particle}s"
                          "<extra></extra>"))
    drawn = "" if keep.size == now.value.size else f" (drawing {keep.size})"
    fig.update_layout(
        title=dict(text=f"{path.penalty}, t = {t:.4g}: {now.value.size:,} groups{drawn}, "
                        f"{now.n_zero:,} {path.particle}s on the wall", x=0.01,
                   font=dict(size=15)),
        height=260, margin=dict(l=20, r=20, t=50, b=40), showlegend=True,
        legend=dict(orientation="h", y=-0.35),
        xaxis=dict(title=path.axis_title, range=[lo - pad, hi + pad], zeroline=False),
        yaxis=dict(visible=False, range=[-1, 1], fixedrange=True), plot_bgcolor="#fafafa")
    return fig


def _sample_times(path: PenaltyPath, t_end: float) -> np.ndarray:
    events = path.event_times[(path.event_times > 0) & (path.event_times < t_end)]
    events = events[_pick(events.size, N_TIMES)]
    extra = [path.t_zero] if path.t_zero < t_end else []
    return np.unique(np.concatenate((np.linspace(0.0, t_end, N_TIMES), events, extra)))


def spacetime_figure(path: PenaltyPath, lam: float, t: float | None = None, *,
                     max_drawn: int = MAX_DRAWN) -> go.Figure:
    """Coordinate against time for (at most ``max_drawn``) particles, the wall at 0.

    Paths are straight between events, and the event times are among the
    sampled times (up to :data:`N_TIMES` of them), so the lines are exact there.
    """
    t_end = time_axis_end(path, lam)
    times = _sample_times(path, t_end)
    keep = _pick(path.d, max_drawn)
    paths = np.stack([path.coordinate(float(time))[keep] for time in times], axis=1)
    n = keep.size
    xs = np.full((n, times.size + 1), np.nan)
    ys = np.full((n, times.size + 1), np.nan)
    xs[:, :-1], ys[:, :-1] = times, paths
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs.ravel(), y=ys.ravel(), mode="lines", name=f"{path.particle}s",
                             line=dict(color=_MOVING_COLOUR, width=1), opacity=0.6,
                             hoverinfo="skip", connectgaps=False))
    fig.add_trace(_wall_trace("horizontal", (0.0, t_end)))
    fig.add_annotation(x=t_end, y=0.0, text="wall (0)", showarrow=False, xanchor="right",
                       yanchor="bottom", font=dict(color=_WALL_COLOUR))
    fig.add_vline(lam, line=dict(color=_LAM_COLOUR, width=2), annotation_text=f"λ = {lam:.4g}",
                  annotation_font_color=_LAM_COLOUR)
    if t is not None and t != lam:
        fig.add_vline(t, line=dict(color="#444444", width=1, dash="dot"),
                      annotation_text=f"t = {t:.4g}", annotation_position="bottom right")
    title = "Space-time: drifting to the wall, merging, sticking"
    if math.isfinite(path.t_zero):
        title += f" (all zero at t = {path.t_zero:.4g})"
    fig.update_layout(title=dict(text=title, x=0.01, font=dict(size=14)), height=420,
                      margin=dict(l=20, r=20, t=50, b=40), showlegend=False,
                      xaxis=dict(title="time t (= λ)", range=[0, t_end]),
                      yaxis=dict(title=path.axis_title))
    return fig


def theta_figure(theta: np.ndarray) -> go.Figure:
    """The OWL weights against the rank: the speed of each rank's particle."""
    ranks = np.arange(1, theta.size + 1)
    keep = _pick(theta.size, 2000)
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
