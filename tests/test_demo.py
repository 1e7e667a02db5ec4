"""Unit tests for demo/ (inputs, the animation, figures, compare) and prox/check.py."""
from __future__ import annotations

import numpy as np
import pytest

from app_helpers import array_of
from demo import animation, compare, figures, inputs, page, timeline
from demo.inputs import MAX_BYTES, MAX_ENTRIES, parse_vector
from filebytes import npy_bytes, pt_bytes
from particles import simulate
from prox import SOLVERS, check_prox, prox_ws

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
    pytest.param(npy_bytes(np.ones((2, 3))), "w.npy", r"got a 2 x 3 table", id="matrix"),
    pytest.param(b"1,2,3\n4,5,6\n", "w.csv", r"got a 2 x 3 table", id="csv-table"),
    pytest.param("1,5;2,5", None, r"Ambiguous decimal comma", id="decimal-comma"),
    pytest.param("0,25\t1,5", None, r"Ambiguous decimal comma", id="decimal-comma-tabs"),
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


def _table_csv(table) -> bytes:
    return "\n".join(",".join(map(repr, row)) for row in table.tolist()).encode()


def test_a_table_is_refused_the_same_way_in_every_format():
    import torch

    table = np.random.default_rng(0).normal(size=(20, 10))
    messages = set()
    for data, name in [(_table_csv(table), "w.csv"), (_table_csv(table), "w.txt"),
                       (npy_bytes(table), "w.npy"), (pt_bytes(torch.from_numpy(table)), "w.pt")]:
        with pytest.raises(ValueError) as error:
            parse_vector(data, name)
        messages.add(str(error.value))
    assert len(messages) == 1
    assert "got a 20 x 10 table" in messages.pop()


def test_one_row_or_column_is_a_vector_in_every_format():
    w = np.random.default_rng(1).normal(size=12)
    for data, name in [(_table_csv(w[None, :]), "w.csv"), (_table_csv(w[:, None]), "w.csv"),
                       (npy_bytes(w[None, :]), "w.npy"), (npy_bytes(w[:, None]), "w.npy")]:
        np.testing.assert_array_equal(parse_vector(data, name), w)


def test_pasted_text_is_a_list_however_it_is_wrapped():
    np.testing.assert_array_equal(parse_vector("1, 2, 3,\n4, 5"), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(parse_vector("1, 5; 2, 5"), [1, 5, 2, 5])  # spaced: a list
    np.testing.assert_array_equal(parse_vector("1.5; 2.5"), [1.5, 2.5])


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


# ----------------------------------------------------------------- geometry on Trajectory
@pytest.fixture(scope="module")
def trajectory():
    return simulate(np.random.default_rng(4).normal(size=400))


def test_cluster_state_matches_trajectory(trajectory):
    position, mass, leftmost = trajectory.cluster_state(0.7)
    assert position.size == trajectory.n_clusters(0.7)
    assert mass.sum() == 400
    assert np.all(np.diff(position) > 0)
    np.testing.assert_allclose(np.sort(np.unique(trajectory.prox(0.7))), position)
    np.testing.assert_array_equal(leftmost, np.concatenate(([0], np.cumsum(mass)[:-1])))


def _segment_positions(seg, t):
    """Positions at time t of the segments alive then (straight lines)."""
    alive = (seg["t0"] <= t) & ((seg["t1"] > t) | (seg["t1"] == seg["t1"].max()))
    span = np.where(seg["t1"] > seg["t0"], seg["t1"] - seg["t0"], 1.0)
    return (seg["x0"] + (t - seg["t0"]) / span * (seg["x1"] - seg["x0"]))[alive], alive


def test_spacetime_segments_join_at_merges(trajectory):
    seg = trajectory.spacetime_segments(0.0, trajectory.lam_max)
    assert seg["t0"].size == 2 * 400 - 1  # every cluster that ever exists
    np.testing.assert_array_equal(seg["id"], np.arange(2 * 400 - 1))
    # a segment's end point is where its parent starts
    starts = {(round(t, 12), round(x, 9)) for t, x in zip(seg["t0"], seg["x0"])}
    for e in trajectory.events[:50]:
        assert (round(float(e["time"]), 12), round(float(e["position"]), 9)) in starts
    # straight lines: the clusters at t lie on the segments alive then, with their colours
    for t in (0.0, 0.5, 1.3):
        x, alive = _segment_positions(seg, t)
        position, _, leftmost = trajectory.cluster_state(t)
        np.testing.assert_allclose(np.sort(x), position, atol=1e-12)
        assert set(seg["leftmost"][alive]) == set(leftmost)


def test_spacetime_segments_clip_to_a_window(trajectory):
    t0, t1 = 0.4, 1.1
    seg = trajectory.spacetime_segments(t0, t1)
    assert seg["t0"].min() == t0 and seg["t1"].max() == t1
    x, _ = _segment_positions(seg, 0.8)
    np.testing.assert_allclose(np.sort(x), trajectory.cluster_state(0.8)[0], atol=1e-12)
    with pytest.raises(ValueError, match="t1"):
        trajectory.spacetime_segments(1.0, 0.5)


@pytest.mark.parametrize("w", [[], [2.0], [1.0, 1.0, 3.0], [0.0, 0.0, 0.0]])
def test_geometry_of_tiny_and_tied_inputs(w):
    traj = simulate(np.array(w, dtype=np.float64))
    seg = traj.spacetime_segments()
    assert seg["id"].size == max(2 * len(w) - 1, 0)  # ties at t = 0 are kept as points
    position, mass, _ = traj.cluster_state(0.0)
    assert mass.sum() == len(w) and position.size == traj.n_clusters(0.0)


# ----------------------------------------------------------------- timeline
def test_time_rules():
    assert timeline.time_axis_end(2.4, 1e6) == pytest.approx(1.05 * 4.8)
    assert timeline.time_axis_end(2.4, 1.0) == pytest.approx(1.05 * 2.4)
    assert timeline.time_axis_end(2.4, 3.0) == pytest.approx(1.05 * 3.0)
    assert timeline.time_axis_end(0.0, 0.0) == 1.0
    assert timeline.slider_end(2.4, 1.0) == 1.0
    assert timeline.slider_end(2.4, 1e6) == pytest.approx(1.05 * 4.8)


def _drawn_count(x, y, lam):
    return y[np.searchsorted(x, lam, side="right") - 1]


@pytest.fixture(scope="module")
def large_trajectory():
    """d = 1e5, seed 0: the input on which the old chart lost the last merges."""
    return simulate(inputs.make_preset("Random normal", 100_000, seed=0))


def test_cluster_count_steps_keep_the_last_merges_at_large_d(large_trajectory):
    # d = 1e5, seed 0: the last merges (6 groups near lam 4.0, 2 near 4.5, one at
    # lam_max) must be drawn exactly; the numbers come from the trajectory.
    traj = large_trajectory
    t_end = timeline.time_axis_end(traj.lam_max, 1.0)
    x, y = timeline.cluster_count_steps(traj.times, traj.d, t_end, max_drawn=2000)
    assert x.size <= 2002 and np.all(np.diff(x) >= 0) and np.all(np.diff(y) <= 0)
    for lam in (4.0, 4.5, traj.lam_max, np.nextafter(traj.lam_max, 0.0)):
        assert _drawn_count(x, y, lam) == traj.n_clusters(lam)
    assert (traj.n_clusters(4.0), traj.n_clusters(4.5), traj.n_clusters(traj.lam_max)) == (
        6, 2, 1)
    last = traj.times[-999:]  # every merge down to 999 groups, and just before each
    for lam in np.concatenate((last, np.nextafter(last, 0.0))):
        assert _drawn_count(x, y, lam) == traj.n_clusters(lam)
    # everywhere else within the bound of the log-spaced levels
    for lam in np.linspace(0.0, t_end, 500):
        assert _drawn_count(x, y, lam) / traj.n_clusters(lam) == pytest.approx(1.0, rel=0.02)


def test_cluster_count_steps_exact_when_small_with_ties():
    traj = simulate(np.array([0.0, 0.0, 1.0, 2.0, 2.0, 5.0]))  # ties at t = 0
    x, y = timeline.cluster_count_steps(traj.times, traj.d, 10.0)
    assert y[0] == traj.n_clusters(0.0) == 4
    for lam in np.concatenate((traj.times, np.linspace(0, 10, 41))):
        assert _drawn_count(x, y, lam) == traj.n_clusters(lam)


# ----------------------------------------------------------------- animation
def _clusters_from_log(payload, t):
    """The rule the player runs (demo/player.js), in numpy: runs of closed gaps, then
    mean start position plus t times the mean velocity (an oracle for the event log)."""
    xs, gap, d = array_of(payload, "xs"), array_of(payload, "gap"), payload["d"]
    starts = np.concatenate(([0], np.flatnonzero(gap > t) + 1))
    stops = np.append(starts[1:], d) - 1
    means = np.array([xs[a:b + 1].mean() for a, b in zip(starts, stops)])
    velocity = (d - 1 - starts - stops) / (d - 1)
    return np.clip(means + min(t, payload["lam_max"]) * velocity, xs[0], xs[-1]), starts


def test_frame_times_include_the_last_events_and_the_end():
    times = animation.frame_times([0.1, 0.7, 0.75, 3.0], 1.0, n=5, n_events=2)
    assert times[0] == 0.0 and times[-1] == 1.0 and np.all(np.diff(times) > 0)
    assert {0.7, 0.75} <= set(times) and 0.1 not in set(times)  # the LAST events only
    np.testing.assert_array_equal(animation.frame_times([1.0], 0.0), [0.0])


@pytest.mark.parametrize("seed", [0, 1])
def test_event_log_gives_the_exact_state_at_any_time(seed):
    rng = np.random.default_rng(seed)
    w = np.round(rng.normal(size=300), 1)  # ties too
    traj = simulate(w)
    payload = animation.wsr_animation(traj, 2.0).payload
    scale = np.abs(w).max() + 2.0
    for t in np.concatenate((rng.uniform(0, 3.0, 20), traj.times[::37], [0.0, traj.lam_max])):
        position, mass, leftmost = traj.cluster_state(t)
        got, starts = _clusters_from_log(payload, t)
        np.testing.assert_array_equal(starts, leftmost)  # same clusters, same names
        np.testing.assert_allclose(got, position, rtol=0, atol=1e-13 * scale)


def test_the_player_needs_nothing_from_outside():
    traj = simulate(np.random.default_rng(3).normal(size=50))
    html = animation.wsr_animation(traj, 1.0).html(element_id="wsp-test")
    assert 'id="wsp-test"' in html and "requestAnimationFrame" in html
    assert "src=" not in html and "http" not in html  # no script or file fetched
    payload = animation.payload_of(html)
    assert payload["d"] == 50 and payload["end"] == 1.0 and payload["steps"] >= 100


def test_merge_tree_at_large_d_is_truncated_at_the_groups_of_the_cut():
    # d = 1000 used to show "last 199 merges" in grey with the cut running through them.
    traj = simulate(np.random.default_rng(0).normal(size=1000))
    lam = 2.0
    groups = traj.n_clusters(lam)
    tree = animation.merge_tree(traj, lam)
    assert tree["truncated"] and tree["leaves"].size == groups
    assert f"the {groups} groups at λ" in tree["title"]
    # each leaf is a group at λ, coloured like that group in the particle view
    _, mass, leftmost = traj.cluster_state(lam)
    np.testing.assert_array_equal(np.sort(tree["leaf_colour"]),
                                  np.sort(figures.colour_index(leftmost)))
    assert sorted(tree["leaf_size"]) == sorted(mass)
    assert tree["y"].min() >= 0 and np.all(tree["y"][:, 1] > lam)  # every link above the cut


def test_merge_tree_of_a_deep_cascade_keeps_every_group():
    from prox.worst_cases import cascade

    traj = simulate(cascade(3000))
    tree = animation.merge_tree(traj, 0.5)  # a depth-d tree: no RecursionError
    assert tree["leaves"].size == min(traj.n_clusters(0.5), animation.MAX_TREE_LEAVES)
    assert tree["x"].shape == (tree["leaves"].size - 1, 4)


def test_spacetime_at_large_d_starts_at_zero_with_a_short_title():
    # d = 10000 used to start the window at t ~ 1.45 and cut its title off.
    traj = simulate(inputs.make_preset("Random normal", 10_000, seed=0))
    payload = animation.wsr_animation(traj, 1.0).payload
    heat_t = array_of(payload, "heat_t")
    t_start = traj.lam_for_clusters(animation.MAX_MARKS)
    assert heat_t[0] == 0.0 and heat_t[-1] == pytest.approx(t_start)
    assert array_of(payload, "seg_t0").min() == pytest.approx(t_start)
    assert len(payload["spacetime"]["title"]) <= 110
    assert "density" in payload["spacetime"]["title"]


def test_extreme_values_stay_finite_and_exact():
    # 1e308, -1e308, 0, 5: four groups at λ = 1, axes out to λ_max = 1e308.
    traj = simulate(np.array([1e308, -1e308, 0.0, 5.0]))
    payload = animation.wsr_animation(traj, 1.0).payload
    assert "4 distinct values at λ = 1" in payload["shared_title"]
    assert array_of(payload, "count_y")[0] == 4
    lo, hi = payload["position_range"]
    assert np.isfinite([lo, hi]).all() and lo < -1e308 and hi > 1e308
    assert payload["t_end"] >= traj.lam_max and np.isfinite(payload["t_end"])
    got, _ = _clusters_from_log(payload, 1.0)
    np.testing.assert_allclose(got, traj.cluster_state(1.0)[0], rtol=1e-12, atol=0)
    assert array_of(payload, "seg_t0").size == 7 and array_of(payload, "tree_x").size == 12


@pytest.mark.parametrize("penalty", ["WSR + L1", "OSCAR", "OWL", "GrOWL"])
def test_family_frames_are_the_exact_states_at_their_times(penalty):
    from demo.penalties import build_path

    path = build_path(penalty, np.random.default_rng(2).normal(size=120))
    payload = animation.penalty_animation(path, 1.0, n_frames=20).payload
    offsets, x = array_of(payload, "mark_offsets"), array_of(payload, "mark_x")
    mass = array_of(payload, "mark_mass")
    assert payload["wall"] and payload["times"][-1] == 1.0
    for j, t in enumerate(payload["times"]):
        values, counts = np.unique(path.coordinate(t), return_counts=True)
        np.testing.assert_array_equal(x[offsets[j]:offsets[j + 1]], values)
        np.testing.assert_array_equal(mass[offsets[j]:offsets[j + 1]], counts)


@pytest.mark.parametrize("later", [[3.0, 1.0, 1.0, 0.0], [1.0, 3.0, 0.0, 1.0]])
def test_clusters_of_values_with_and_without_the_start_order(later):
    # Runs of equal values when the order of the start is kept (first), sorting otherwise.
    start = np.array([4.0, 2.0, 1.5, 0.5])
    order = np.argsort(start, kind="stable")
    state = animation._state_of_values(1.0, np.array(later), order)
    values, counts = np.unique(later, return_counts=True)
    np.testing.assert_array_equal(state.position, values)
    np.testing.assert_array_equal(state.mass, counts)
    rank = np.argsort(order)  # each particle's rank in the start order
    named = [min(rank[np.array(later) == v]) for v in values]
    np.testing.assert_array_equal(state.leftmost, named)


def test_a_frame_with_too_many_clusters_draws_the_density():
    from demo.penalties import build_path

    path = build_path("OSCAR", np.random.default_rng(2).normal(size=3000))
    payload = animation.penalty_animation(path, 1.0, n_frames=10, max_marks=500).payload
    dense = array_of(payload, "density_index")
    assert dense[0] == 0  # t = 0: 3000 clusters
    counts = array_of(payload, "density").reshape(-1, payload["density_bins"])
    assert counts[0].sum() == 3000
    assert "so the bars show the density" in payload["frame_notes"][0]


def test_export_writes_a_standalone_page(tmp_path):
    from demo import export

    path = export.main([str(tmp_path / "docs" / "page.html"), "--d", "40"])
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and page.count('class="wsp-root"') == 2
    assert "src=" not in page and "http" not in page  # nothing fetched: it opens offline
    payload = animation.payload_of(page)
    assert payload["d"] == 40 and payload["mode"] == "events"


def test_the_committed_standalone_page_runs_the_current_player():
    # docs/particles.html is written by `python -m demo.export docs/particles.html`;
    # after a change to the player, write it again.
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "particles.html").read_text(
        encoding="utf-8")
    script = (Path(animation.__file__).parent / "player.js").read_text(encoding="utf-8")
    body = script[: script.rindex("})(")]  # all but the element id it is called with
    assert page.count(body) == 2


def test_validation_figure_shows_the_residual():
    w = np.arange(10.0)
    exact = prox_ws(w, 1.0)
    fig = figures.validation_figure(w, exact, exact + 0.04 * (w == 3), tol=1e-9)
    assert [t.name for t in fig.data] == ["exact prox", "yours", "yours − exact"]
    assert max(fig.data[2].y) == pytest.approx(0.04)


def test_log_axes_are_labelled_at_decades():
    table = compare.scaling((16, 64), solvers={"pava": SOLVERS["pava"]})
    fig = figures.scaling_figure(table)
    assert fig.layout.xaxis.dtick == 1 and fig.layout.yaxis.dtick == 1


# ----------------------------------------------------------------- page and report table
def test_plural():
    assert [page.plural(n, "group") for n in (0, 1, 2, 12_345)] == [
        "0 groups", "1 group", "2 groups", "12,345 groups"]


def test_problem_message_names_the_problem_without_a_traceback():
    message = page.problem_message("The Watch tab", OverflowError("too big\nmore lines"))
    assert message.startswith("The Watch tab could not be shown: OverflowError: too big.")
    assert "more lines" not in message


def test_differing_groups_table():
    from demo.validate import COLUMNS, differing_groups_table

    w = np.random.default_rng(2).normal(size=200)
    u = prox_ws(w, 1.0).copy()
    u[[5, 17]] += [0.05, -0.2]
    report = check_prox(w, 1.0, u)
    table = differing_groups_table(report)
    assert list(table.columns) == COLUMNS and len(table) == len(report.differing_groups)
    listed = {int(i) for cell in table["indices"] for i in cell.replace(" ...", "").split(", ")}
    assert {5, 17} <= listed
    assert (table["problem"] != "").all()
    assert len(differing_groups_table(report, max_rows=1)) == 1
    assert differing_groups_table(check_prox(w, 1.0, prox_ws(w, 1.0))).empty


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
    assert "failed: RuntimeError: boom" in table.loc[0, "note"]
    assert np.isnan(table.loc[0, "time_ms"])


class _Counting:
    """A solver that records the length of every input it is called on."""

    kind, summary = "numpy", "counts its calls"

    def __init__(self, seconds_per_call: float = 0.0):
        self.sizes, self.seconds = [], seconds_per_call

    def solve(self, w, lam):
        import time

        from prox import solve

        self.sizes.append(len(w))
        end = time.perf_counter() + self.seconds
        while time.perf_counter() < end:  # Python-level work, as a torch solver's rounds
            pass
        return solve(w, lam, method="pava")


def test_solver_table_warms_up_on_a_prefix_then_times_untraced_runs():
    import sys

    solver = _Counting()
    traced = []
    solve = solver.solve
    solver.solve = lambda w, lam: (traced.append(sys.gettrace() is not None), solve(w, lam))[1]
    seen = []
    w = np.random.default_rng(8).normal(size=5000)
    table = compare.solver_table(w, 0.5, solvers={"counting": solver},
                                 on_progress=lambda frac, msg: seen.append(frac))
    runs = int(table.loc[0, "runs"])
    assert 1 <= runs <= compare.REPEATS
    assert solver.sizes == [compare.WARM_UP_D] + [5000] * (1 + runs)
    # only the guarded (untimed) run is traced: no trace hook inside a timed interval
    assert traced == [False, True] + [False] * runs
    assert table.loc[0, "max_deviation"] == 0.0 and table.loc[0, "note"] == ""
    assert table.loc[0, "rounds"] == "sequential" and table.loc[0, "runs on"] == "NumPy"
    assert table.loc[0, "spread_ms"] >= 0
    assert seen == [0.0, 1.0]


def test_solver_table_stops_a_run_over_its_budget():
    import sys

    slow = _Counting(seconds_per_call=0.5)
    hook = sys.gettrace()  # None, or a debugger's / coverage's
    table = compare.solver_table(np.arange(100.0), 1.0, solvers={"slow": slow}, budget=0.05)
    assert table.loc[0, "note"].startswith("stopped after 0.05 s")
    assert np.isnan(table.loc[0, "time_ms"])
    assert sys.gettrace() is hook  # the trace hook is restored


def test_solver_table_skips_lower_sets_with_many_blocks():
    from prox import SOLVERS

    w = np.random.default_rng(9).normal(size=30_000)
    n_blocks = np.unique(prox_ws(w, 1.0)).size
    assert compare.SECONDS_PER_ELEMENT_ROUND * n_blocks * w.size > compare.RUN_BUDGET
    table = compare.solver_table(w, 1.0, solvers={"lower_sets": SOLVERS["lower_sets"]})
    assert table.loc[0, "note"].startswith(f"skipped: one round per final block, {n_blocks:,}")
    # few blocks: it runs
    few = compare.solver_table(w, 50.0, solvers={"lower_sets": SOLVERS["lower_sets"]})
    assert few.loc[0, "note"] == "" and few.loc[0, "max_deviation"] < 1e-9


def test_scaling_covers_grid_inputs_and_solvers():
    seen = []
    table = compare.scaling((16, 64), on_progress=lambda frac, msg: seen.append(frac))
    assert set(table["solver"]) == set(SOLVERS)
    assert set(table["input"]) == {"random", "worst case"}
    assert set(table["d"]) == {16, 64}
    assert (table["error"] == "").all() and (table["note"] == "").all()
    assert seen[-1] == pytest.approx(1.0)
    fig = figures.scaling_figure(table)
    assert len(fig.data) >= len(SOLVERS)


def test_scaling_stops_and_then_skips_a_hopeless_solver():
    slow = _Counting(seconds_per_call=0.3)
    table = compare.scaling((16, 32, 64), solvers={"slow": slow}, budget=0.05)
    notes = list(table[table["input"] == "random"]["note"])
    assert notes[0].startswith("stopped") and all(n.startswith("skipped") for n in notes[1:])
    assert table["time_ms"].isna().all()


def test_worst_case_falls_back_to_cascade():
    from prox.worst_cases import cascade

    np.testing.assert_array_equal(compare.worst_case("pava", 20), cascade(20))
