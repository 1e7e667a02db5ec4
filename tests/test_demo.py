"""Unit tests for demo/ (inputs, figures, compare) and prox/check.py."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from demo import compare, figures, inputs
from demo.inputs import MAX_BYTES, MAX_ENTRIES, parse_vector
from particles import simulate
from prox import SOLVERS, ProxCheck, check_prox, prox_ws
from prox.check import _count_strict_inversions
from filebytes import npy_bytes, pt_bytes


# ----------------------------------------------------------------- parse_vector


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        ("1, 2, 3", None, [1, 2, 3]),
        ("1 2\n3\t4;5", None, [1, 2, 3, 4, 5]),
        (b"1.5,-2e3\n", "w.csv", [1.5, -2000.0]),
        (b"\xef\xbb\xbf7 8", "w.txt", [7, 8]),  # UTF-8 byte order mark
        (npy_bytes(np.array([1, 2, 3], dtype=np.int32)), "w.npy", [1, 2, 3]),
        (npy_bytes(np.array([[1.0], [2.0]])), "w.npy", [1, 2]),  # a column is a vector
    ],
)
def test_parse_vector_reads(data, filename, expected):
    out = parse_vector(data, filename)
    assert out.dtype == np.float64 and out.ndim == 1
    np.testing.assert_array_equal(out, expected)


def test_parse_vector_reads_torch_tensor():
    import torch

    out = parse_vector(pt_bytes(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float32)), "w.pt")
    np.testing.assert_array_equal(out, [1.0, 2.0, 3.0])


def _oversize_text() -> str:
    return "1," * (MAX_BYTES // 2 + 10)


BAD_INPUTS = [
    pytest.param(_oversize_text(), None, r"limit is 20 MB", id="oversize-bytes"),
    pytest.param(npy_bytes(np.zeros(MAX_ENTRIES + 1, dtype=np.int8)), "w.npy", r"Too many numbers",
                 id="oversize-entries"),
    pytest.param("1, 2, abc", None, r"entry 3 \('abc'\)", id="malformed-text"),
    pytest.param(b"\xff\xfe\x00garbage", "w.csv", r"not text", id="binary-as-csv"),
    pytest.param(b"not an npy file", "w.npy", r"could not be read", id="malformed-npy"),
    pytest.param("1, nan, 3", None, r"NaN or infinite", id="nan"),
    pytest.param("1, 2, inf", None, r"NaN or infinite", id="inf"),
    pytest.param("1, 1e999", None, r"NaN or infinite", id="overflow"),
    pytest.param("", None, r"empty", id="empty-text"),
    pytest.param(b"  \n ", "w.txt", r"empty", id="blank-file"),
    pytest.param(npy_bytes(np.array([])), "w.npy", r"empty", id="empty-npy"),
    pytest.param(npy_bytes(np.ones((2, 3))), "w.npy", r"1-D vector", id="matrix"),
    pytest.param(npy_bytes(np.array(["a", "b"])), "w.npy", r"real numbers", id="strings-npy"),
    pytest.param(b"garbage", "w.pt", r"could not be loaded", id="malformed-pt"),
]


@pytest.mark.parametrize(("data", "filename", "match"), BAD_INPUTS)
def test_parse_vector_rejects(data, filename, match):
    with pytest.raises(ValueError, match=match):
        parse_vector(data, filename)


@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ({"weight": [1.0, 2.0]}, r"holds a dict, not a tensor"),
        ([1.0, 2.0], r"holds a list, not a tensor"),
    ],
)
def test_parse_vector_rejects_wrong_pt_content(obj, match):
    with pytest.raises(ValueError, match=match):
        parse_vector(pt_bytes(obj), "w.pt")


def test_parse_vector_rejects_pt_with_tensor_dict_and_bad_tensors():
    import torch

    with pytest.raises(ValueError, match="not a tensor"):
        parse_vector(pt_bytes({"w": torch.ones(3)}), "w.pt")
    with pytest.raises(ValueError, match="NaN or infinite"):
        parse_vector(pt_bytes(torch.tensor([1.0, float("nan")])), "w.pt")
    with pytest.raises(ValueError, match="dtype"):
        parse_vector(pt_bytes(torch.tensor([True, False])), "w.pt")


def test_parse_vector_refuses_pickled_objects_inpt_bytes():
    # weights_only=True: an arbitrary pickled object is refused, not executed.
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    with pytest.raises(ValueError, match="could not be loaded"):
        parse_vector(pickle.dumps(Evil(), protocol=2), "w.pt")


def test_parse_vector_min_entries():
    with pytest.raises(ValueError, match="at least 2"):
        parse_vector("3.0", min_entries=2)


def test_format_vector_round_trips():
    w = np.random.default_rng(0).normal(size=50)
    np.testing.assert_array_equal(parse_vector(inputs.format_vector(w, digits=17)), w)


# ----------------------------------------------------------------- presets
@pytest.mark.parametrize("name", list(inputs.PRESETS))
@pytest.mark.parametrize("d", [2, 7, 300])
def test_presets(name, d):
    w = inputs.make_preset(name, d, seed=3)
    assert w.shape == (d,) and w.dtype == np.float64 and np.isfinite(w).all()
    np.testing.assert_array_equal(w, inputs.make_preset(name, d, seed=3))


def test_preset_errors():
    with pytest.raises(ValueError, match="Unknown preset"):
        inputs.make_preset("nope", 10)
    with pytest.raises(ValueError, match="d must be"):
        inputs.make_preset("Random normal", 0)


def test_example_candidate_is_close_but_wrong():
    w = inputs.make_preset("Random normal", 100)
    u = inputs.example_candidate(w, 1.0)
    report = check_prox(w, 1.0, u)
    assert not report.exact and 0 < report.max_deviation < 0.1 * np.ptp(w)


# ----------------------------------------------------------------- check_prox
@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0, 50.0])
def test_check_prox_of_exact_prox(lam):
    w = np.random.default_rng(1).normal(size=300)
    report = check_prox(w, lam, prox_ws(w, lam))
    assert isinstance(report, ProxCheck)
    assert report.exact
    assert abs(report.objective_gap) < 1e-9
    assert report.max_deviation == 0.0
    assert report.order_violations.count == 0 and report.order_violations.examples == ()
    assert report.differing_groups == ()
    np.testing.assert_array_equal(report.optimum, prox_ws(w, lam))


def test_check_prox_of_perturbed_prox():
    w = np.random.default_rng(2).normal(size=200)
    u = prox_ws(w, 1.0).copy()
    u[[5, 17]] += [0.05, -0.2]
    report = check_prox(w, 1.0, u)
    assert not report.exact
    assert report.objective_gap > 0
    assert report.max_deviation == pytest.approx(0.2)
    flagged = set(itertools.chain.from_iterable(g.indices for g in report.differing_groups))
    assert {5, 17} <= flagged
    for g in report.differing_groups:
        assert set(g.reasons) <= {"split", "merged", "shifted"} and g.reasons


def test_check_prox_counts_order_violations_like_brute_force():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 6, size=60).astype(float)  # ties in w
    u = rng.integers(0, 6, size=60).astype(float)  # ties in u
    brute = sum(1 for i in range(60) for j in range(60) if w[i] < w[j] and u[i] > u[j])
    report = check_prox(w, 0.5, u)
    assert report.order_violations.count == brute
    assert 0 < len(report.order_violations.examples) <= 5
    for i, j in report.order_violations.examples:
        assert w[i] < w[j] and u[i] > u[j]


@pytest.mark.parametrize("d", [0, 1, 2, 3, 8, 33])
def test_strict_inversions(d):
    values = np.random.default_rng(d).integers(0, 4, size=d).astype(float)
    brute = sum(1 for a in range(d) for b in range(a + 1, d) if values[a] > values[b])
    assert _count_strict_inversions(values) == brute


def test_check_prox_merged_group():
    w = np.array([0.0, 1.0, 10.0, 11.0])
    u = np.full(4, 5.5)  # at lam = 2 the exact groups are {0, 1} and {2, 3}
    assert len(np.unique(prox_ws(w, 2.0))) == 2
    report = check_prox(w, 2.0, u)
    assert [g.reasons for g in report.differing_groups] == [("merged", "shifted")] * 2


@pytest.mark.parametrize(
    ("w", "lam", "candidate", "match"),
    [
        ([1.0, 2.0, 3.0], 1.0, [1.0, 2.0], r"2 entries but w has 3"),
        ([1.0, 2.0], -1.0, [1.0, 2.0], r"Invalid lam"),
        ([1.0, np.nan], 1.0, [1.0, 2.0], r"Invalid w"),
        ([1.0, 2.0], 1.0, [1.0, np.inf], r"Invalid candidate"),
        ([[1.0, 2.0]], 1.0, [[1.0, 2.0]], r"1-D"),
    ],
)
def test_check_prox_errors(w, lam, candidate, match):
    with pytest.raises(ValueError, match=match):
        check_prox(w, lam, candidate)


# ----------------------------------------------------------------- figures
@pytest.fixture(scope="module")
def trajectory():
    return simulate(np.random.default_rng(4).normal(size=400))


def test_cluster_state_matches_trajectory(trajectory):
    state = figures.cluster_state(trajectory, 0.7)
    assert state.position.size == trajectory.n_clusters(0.7)
    assert state.mass.sum() == 400
    assert np.all(np.diff(state.position) > 0)
    np.testing.assert_allclose(np.sort(np.unique(trajectory.prox(0.7))), state.position)


def test_spacetime_segments_join_at_merges(trajectory):
    t_end = figures.time_axis_end(trajectory, 1.0)
    seg = figures.spacetime_segments(trajectory, t_end)
    assert seg["t0"].size == 2 * 400 - 1  # every cluster that ever exists
    # a segment's end point is where its parent starts
    events = trajectory.events
    starts = {(round(t, 12), round(x, 9)) for t, x in zip(seg["t0"], seg["x0"])}
    for e in events[:50]:
        assert (round(float(e["time"]), 12), round(float(e["position"]), 9)) in starts
    # straight lines: the particle positions at t = 0.5 lie on the segments alive then
    alive = (seg["t0"] <= 0.5) & (seg["t1"] > 0.5)
    x = seg["x0"][alive] + (0.5 - seg["t0"][alive]) / (seg["t1"][alive] - seg["t0"][alive]) * (
        seg["x1"][alive] - seg["x0"][alive])
    np.testing.assert_allclose(np.sort(x), np.unique(trajectory.positions(0.5)), atol=1e-9)


def test_spacetime_segments_subsample_what_is_drawn():
    traj = simulate(np.random.default_rng(5).normal(size=3000))
    seg = figures.spacetime_segments(traj, 5.0, max_drawn=500)
    assert seg["t_start"] == traj.lam_for_clusters(500)
    assert seg["t0"].size < 1100


def _figure_text(fig) -> str:
    return fig.to_json()


def test_figures_depend_on_lam(trajectory):
    for make in (
        lambda lam: figures.particles_figure(trajectory, lam, lam / 2),
        lambda lam: figures.spacetime_figure(trajectory, lam, lam / 2),
        lambda lam: figures.dendrogram_figure(trajectory, lam),
        lambda lam: figures.shared_values_figure(trajectory, lam, lam / 2),
    ):
        assert _figure_text(make(0.5)) != _figure_text(make(1.5))


def test_particles_figure_frames_and_buttons(trajectory):
    fig = figures.particles_figure(trajectory, 1.0, 0.25)
    assert len(fig.frames) == figures.N_FRAMES
    labels = [b.label for b in fig.layout.updatemenus[0].buttons]
    assert any("Play" in label for label in labels) and any("Pause" in label for label in labels)
    assert f"{trajectory.n_clusters(0.25)} clusters" in fig.layout.title.text


def test_particles_frames_are_reusable(trajectory):
    frames = figures.particles_frames(trajectory, 1.0)
    assert len(frames) == figures.N_FRAMES and frames[-1]["layout"]["title_text"].startswith("t = 1")
    a = figures.particles_figure(trajectory, 1.0, 0.3, frames=frames)
    b = figures.particles_figure(trajectory, 1.0, 0.3)
    assert a.to_json() == b.to_json()
    assert figures.particles_frames(trajectory, 0.0) == []


def test_particles_figure_subsamples_drawing():
    traj = simulate(np.random.default_rng(6).normal(size=5000))
    fig = figures.particles_figure(traj, 0.01, 0.0, max_drawn=1000)
    assert len(fig.data[0].x) <= 1000
    assert "drawing" in fig.layout.title.text


def test_dendrogram_figure_cut_and_truncation(trajectory):
    fig = figures.dendrogram_figure(trajectory, 0.8, max_leaves=50)
    assert any(s.y0 == 0.8 for s in fig.layout.shapes)
    assert "last 49 merges" in fig.layout.title.text


def test_dendrogram_of_deep_cascade_tree():
    from prox.worst_cases import cascade

    traj = simulate(cascade(3000))
    figures.dendrogram_figure(traj, 0.5)  # no RecursionError on a depth-d tree


def test_shared_values_figure_is_a_step_down_to_one(trajectory):
    fig = figures.shared_values_figure(trajectory, 1.0)
    y = np.asarray(fig.data[0].y)
    assert y[0] == 400 and y[-1] == 1 and np.all(np.diff(y) <= 0)
    assert fig.data[0].line.shape == "hv"


def test_validation_figure():
    w = np.arange(10.0)
    fig = figures.validation_figure(w, prox_ws(w, 1.0), w)
    assert [t.name for t in fig.data] == ["exact prox", "yours"]


# ----------------------------------------------------------------- compare
def test_solver_table_has_every_solver():
    w = np.random.default_rng(7).normal(size=200)
    table = compare.solver_table(w, 0.7)
    assert list(table["solver"]) == list(SOLVERS)
    assert (table["max_deviation"] < 1e-9).all()
    assert (table["time_ms"] >= 0).all()


def test_solver_table_reports_a_failing_solver():
    class Broken:
        kind, summary = "numpy", "always fails"

        def solve(self, w, lam):
            raise RuntimeError("boom")

    table = compare.solver_table(np.arange(5.0), 1.0, solvers={"broken": Broken()})
    assert "boom" in table.loc[0, "summary"] and np.isnan(table.loc[0, "time_ms"])


def test_scaling_covers_grid_inputs_and_solvers():
    seen = []
    table = compare.scaling((16, 64), on_progress=lambda frac, msg: seen.append(frac))
    assert set(table["solver"]) == set(SOLVERS)
    assert set(table["input"]) == {"random", "worst case"}
    assert set(table["d"]) == {16, 64}
    assert (table["error"] == "").all()
    assert seen[-1] == pytest.approx(1.0)
    fig = figures.scaling_figure(table)
    assert len(fig.data) >= len(SOLVERS)


def test_worst_case_falls_back_to_cascade():
    from prox.worst_cases import cascade

    np.testing.assert_array_equal(compare.worst_case("pava", 20), cascade(20))
