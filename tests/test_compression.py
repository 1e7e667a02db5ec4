"""networks.compression (k values vs clustering, quantization, sparsity) and its Train view."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from networks import compression as C
from prox.sharing import count_shared_values


def _kmeans_cost(values, labels) -> float:
    return float(sum(((values[labels == g] - values[labels == g].mean()) ** 2).sum()
                     for g in np.unique(labels)))


def _brute_force_cost(values, k) -> float:
    """The optimal 1-D k-means cost over every split of the sorted values into k runs."""
    ordered = np.sort(values)
    best = np.inf
    for cuts in itertools.combinations(range(1, len(ordered)), k - 1):
        runs = np.split(ordered, cuts)
        best = min(best, sum(((r - r.mean()) ** 2).sum() for r in runs))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_kmeans_1d_is_optimal(seed):
    rng = np.random.default_rng(seed)
    values = np.round(rng.normal(size=9), 1 if seed % 2 else 3)  # ties on odd seeds
    for k in (1, 2, 3, 4):
        labels = C.kmeans_1d(values, k)
        assert len(np.unique(labels)) <= k
        scale = 1 + float((values ** 2).sum())
        assert _kmeans_cost(values, labels) <= _brute_force_cost(values, k) + 1e-12 * scale
        # ids increase with the value (contiguous runs of the sorted values)
        assert np.all(np.diff(labels[np.argsort(values, kind="stable")]) >= 0)


def test_kmeans_1d_on_many_values_stays_close_to_the_optimum():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(c, 0.05, 3000) for c in (-1.0, 0.0, 1.5)])
    labels = C.kmeans_1d(values, 3)
    centres = sorted(values[labels == g].mean() for g in range(3))
    np.testing.assert_allclose(centres, [-1.0, 0.0, 1.5], atol=0.01)


def test_uniform_levels_and_bits():
    labels = C.uniform_levels(np.array([0.0, 0.24, 0.26, 1.0]), 3)
    np.testing.assert_array_equal(labels, [0, 0, 1, 2])
    assert C.uniform_levels(np.ones(5), 4).tolist() == [0] * 5
    assert C.bits_shared(4, 1024) == pytest.approx(2 + 4 * 32 / 1024)
    bits = C.bits_shared(4, 196 * 128)
    fraction = C.sparse_fraction(bits, 196)
    assert fraction * (32 + 8) == pytest.approx(bits)  # value + ceil(log2 196) index bits


def test_group_means_stay_on_the_weights_device():
    # The labels come from NumPy (CPU); the "meta" device stands in for a GPU: any
    # buffer made on the CPU beside the weights raises "expected ... same device".
    labels = torch.arange(24).reshape(4, 6) // 5
    w = torch.randn(4, 6, device="meta")
    C._set_group_means(w, labels)
    assert w.device.type == "meta" and w.shape == (4, 6)
    cpu = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    C._set_group_means(cpu, labels)  # and on the CPU each group holds its mean
    np.testing.assert_allclose(cpu.reshape(-1), [2.0] * 5 + [7.0] * 5 + [12.0] * 5
                               + [17.0] * 5 + [21.5] * 4)


@pytest.mark.slow
def test_finetune_shared_keeps_the_groups():
    config = C.CompressionConfig(data="digits8", hidden=16, epochs=1, finetune_epochs=1)
    data = C._data(config)
    model = C.make_model(data[0].shape[1], config.hidden, 0)
    labels = [C._scope_labels(w, 3, "kmeans", "rows") for w in C.weights(model)]
    C.finetune_shared(model, labels, data, config, 0)
    w = C.weights(model)[0].detach()
    assert np.all(count_shared_values(w) <= 3)
    for row, label in zip(w, labels[0]):  # equal labels <=> equal values (within the row)
        for g in torch.unique(label):
            assert len(torch.unique(row[label == g])) == 1


@pytest.mark.slow
def test_one_command_writes_the_table_and_plot(tmp_path):
    out = tmp_path / "compression.json"
    (tmp_path / "compression.verdict.md").write_text("The verdict.")
    code = C.main(["--data", "digits8", "--epochs", "1", "--finetune-epochs", "1",
                   "--seeds", "0", "1", "--ks", "2", "4", "--hidden", "16", "--out", str(out)])
    assert code == 0
    table = json.loads(out.read_text())
    assert {(r["method"], r["k"]) for r in table["summary"]} == {
        (m, k) for m in C.METHODS for k in (2, 4)}
    for row in table["rows"]:
        if row["method"] not in C.SPARSE:
            assert max(row["distinct_per_scope"]) <= row["k"]
            assert row["bits_per_weight"] <= C.bits_shared(row["k"], 64 * 16) + 1e-12
    assert set(table["controller"]) == {"pi", "ascent"}
    text = out.with_suffix(".md").read_text()
    assert "k-means" in text and "The verdict." in text
    assert out.with_suffix(".png").stat().st_size > 10_000


# --- the Train tab's Compression view ------------------------------------------------------

def test_the_view_reads_the_file_and_the_ks_the_command_writes():
    from demo import compression as demo_compression

    assert demo_compression.KS is C.KS
    default_out = C.build_parser().parse_args([]).out
    assert demo_compression.RESULTS_FILE == default_out and default_out.suffix == ".json"


def _view(path):
    from demo.views.compression import render_compression

    render_compression(path)


@pytest.mark.slow
def test_compression_view_live_run_and_saved_table(tmp_path):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    from demo.compression import table_figures

    summary = [{"method": m, "k": k, "accuracy_mean": 0.9, "accuracy_sd": 0.01,
                "bits_mean": float(np.log2(k)), "seeds": 3}
               for m in C.METHODS for k in C.KS]
    path = tmp_path / "compression.json"
    path.write_text(json.dumps({"summary": summary}))
    path.with_suffix(".md").write_text("| method | k = 2 |\n|---|---|\n| kmeans | 0.9 |\n")
    by_k, by_bits = table_figures({"summary": summary})
    assert len(by_k.data) == len(C.METHODS) == len(by_bits.data)

    at = AppTest.from_function(_view, args=(str(path),), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    ids = [c.proto.id for c in at.get("plotly_chart")]
    assert any(i.endswith("fig_comp_by_k") for i in ids)
    assert any(i.endswith("fig_comp_by_bits") for i in ids)
    at.select_slider(key="comp_k").set_value(8)
    at.button(key="comp_run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith("fig_comp_controller"))
    spec = json.loads(chart.proto.spec)
    assert [t["name"] for t in spec["data"]][:2] == ["strength (geometric mean)",
                                                     "values per row (mean)"]
    assert at.session_state["comp_live"]["max_count"] <= 8
    metrics = {m.label: m.value for m in at.get("metric")}
    assert metrics["largest count in a row"] == str(at.session_state["comp_live"]["max_count"])


def test_compression_view_without_a_saved_table(tmp_path):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_view, args=(str(tmp_path / "none.json"),), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("networks.compression" in i.value for i in at.info)
