"""The networks package: data variants, the conv-likeness score, runs, files and the CLI.

Tiny configurations (one channel, one or two epochs) keep the whole file to seconds.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from networks.data import (
    SIDE,
    VARIANTS,
    load_dataset,
    permute_pixels,
    pixel_permutation,
    teacher_labels,
    torus_shift,
    unpermute_pixels,
)
from networks.measures import conv_likeness, distinct_values_per_layer, locality, unroll_conv
from networks.models import build_model
from networks.results import decode_array, encode_array, load_results, save_results
from networks.training import RunConfig, run

ROOT = Path(__file__).resolve().parents[1]
TINY = RunConfig(variant="shuffled", model="fc_wsr", strength=0.3, epochs=2, channels=(1,),
                 snapshots=5)


def _conv(channels: int, seed: int = 0, in_channels: int = 1) -> torch.nn.Conv2d:
    torch.manual_seed(seed)
    return torch.nn.Conv2d(in_channels, channels, 3, padding=1, padding_mode="circular")


# ------------------------------------------------------------------ data
@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_shapes_and_splits(variant):
    data = load_dataset(variant)
    n = {"train": len(data.y_train), "val": len(data.y_val), "test": len(data.y_test)}
    for x, y in ((data.x_train, data.y_train), (data.x_val, data.y_val),
                 (data.x_test, data.y_test)):
        assert x.shape == (len(y), SIDE, SIDE) and x.dtype == np.float32
        assert y.dtype == np.int64 and y.min() >= 0 and y.max() < data.n_classes
    total = sum(n.values())
    assert total == (1797 if variant in ("plain", "shifted", "shuffled") else 1800)
    assert abs(n["train"] / total - 0.6) < 0.01 and abs(n["test"] / total - 0.2) < 0.01
    # every class is present in every split (stratified)
    assert all(np.unique(y).size == data.n_classes for y in (data.y_train, data.y_val,
                                                             data.y_test))


def test_shuffle_is_one_fixed_bijection_of_the_shifted_images():
    shifted, shuffled = load_dataset("shifted"), load_dataset("shuffled")
    perm = shuffled.permutation
    assert np.array_equal(np.sort(perm), np.arange(SIDE * SIDE))
    assert not np.array_equal(perm, np.arange(SIDE * SIDE))
    assert np.array_equal(perm, pixel_permutation(0))
    assert np.array_equal(shuffled.x_train, permute_pixels(shifted.x_train, perm))
    assert np.array_equal(shuffled.y_test, shifted.y_test)
    flat = shuffled.x_test.reshape(len(shuffled.x_test), -1)
    assert np.array_equal(unpermute_pixels(flat, perm),
                          shifted.x_test.reshape(len(flat), -1))


def test_shifted_images_are_torus_rolls_of_the_plain_ones():
    plain, shifted = load_dataset("plain"), load_dataset("shifted")
    assert np.array_equal(plain.y_train, shifted.y_train)  # same split, same order
    for a, b in zip(plain.x_train[:200], shifted.x_train[:200]):
        assert any(np.array_equal(np.roll(a, (dy, dx), axis=(0, 1)), b)
                   for dy in range(SIDE) for dx in range(SIDE))


def test_torus_shift_is_np_roll_per_image():
    rng = np.random.default_rng(1)
    images = rng.standard_normal((30, 8, 8))
    out, shifts = torus_shift(images, np.random.default_rng(2))
    for image, rolled, shift in zip(images, out, shifts):
        assert np.array_equal(rolled, np.roll(image, tuple(shift), axis=(0, 1)))
    assert len({tuple(s) for s in shifts}) > 10


def test_shift_maps_roll_in_the_natural_grid_for_shuffled_data():
    data = load_dataset("shuffled")
    flat = data.x_val.reshape(len(data.x_val), -1)
    natural = unpermute_pixels(flat, data.permutation).reshape(-1, SIDE, SIDE)
    maps = data.shift_maps()
    for dy, dx in ((0, 0), (1, 0), (3, 5), (7, 7)):
        rolled = unpermute_pixels(flat[:, maps[SIDE * dy + dx]], data.permutation)
        assert np.array_equal(rolled.reshape(-1, SIDE, SIDE),
                              np.roll(natural, (dy, dx), axis=(1, 2)))


def test_teacher_is_reproducible_balanced_and_shift_invariant():
    a, b = load_dataset("teacher"), load_dataset("teacher")
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_train, b.y_train)
    labels = np.concatenate((a.y_train, a.y_val, a.y_test))
    assert np.bincount(labels).min() > 0.05 * labels.size
    images = np.concatenate((a.x_train, a.x_val, a.x_test))
    y = teacher_labels(images, 0)
    rolled, _ = torus_shift(images, np.random.default_rng(5))
    # the ground truth IS a circular convolution + global pooling: shifts keep labels
    assert np.array_equal(teacher_labels(rolled, 0), y)
    assert not np.array_equal(teacher_labels(images, 1), y)
    # neighbouring pixels are correlated (smoothed noise), far ones much less
    flat = images.reshape(len(images), SIDE, SIDE)
    near = np.corrcoef(flat[:, 0, 0], flat[:, 0, 1])[0, 1]
    far = np.corrcoef(flat[:, 0, 0], flat[:, 4, 4])[0, 1]
    assert near > 0.5 > abs(far) + 0.3


@pytest.mark.parametrize("bad, error", [({"variant": "mnist"}, ValueError),
                                        ({"variant": "plain", "data_seed": 1.5}, TypeError)])
def test_load_dataset_rejects_bad_input(bad, error):
    with pytest.raises(error, match="variant|data_seed"):
        load_dataset(**bad)


# ------------------------------------------------------------------ conv-likeness
@pytest.mark.parametrize("in_channels", [1, 3])
def test_unroll_conv_is_the_convolution(in_channels):
    conv = _conv(4, in_channels=in_channels)
    x = torch.randn(5, in_channels, SIDE, SIDE)
    dense = unroll_conv(conv)
    assert dense.shape == (4 * 64, in_channels * 64)
    expected = conv(x).flatten(1) - conv.bias.repeat_interleave(64)
    assert torch.allclose(x.flatten(1) @ dense.T, expected.detach(), atol=1e-5)


@pytest.mark.parametrize("channels", [1, 2, 4])
def test_a_real_conv_layer_scores_one(channels):
    dense = unroll_conv(_conv(channels, seed=channels)).double().numpy()
    result = conv_likeness(dense)
    assert result.raw == pytest.approx(1.0, abs=1e-9)
    assert result.score == pytest.approx(1.0, abs=1e-9)
    assert locality(dense) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("units", [64, 256])
def test_random_weights_score_near_zero(units):
    weights = np.random.default_rng(units).standard_normal((units, 64))
    result = conv_likeness(weights)
    assert abs(result.score) < 0.1 and abs(result.gaussian_score) < 0.1
    assert 0.3 < result.gaussian_baseline < 0.7  # a best correlation over 63 shifts x units
    assert locality(weights) < 0.4


def test_score_is_invariant_to_shuffling_once_unpermuted():
    dense = unroll_conv(_conv(2)).double().numpy()
    perm = pixel_permutation(3)
    shuffled_layer = dense[:, perm]  # the conv as a layer on shuffled pixels:
    # unit weights on stored pixel j are its weights on natural pixel perm[j]
    assert np.array_equal(unpermute_pixels(shuffled_layer, perm), dense)
    assert conv_likeness(unpermute_pixels(shuffled_layer, perm)).score == pytest.approx(1.0)
    # Seen in the wrong pixel order: sparse filters without translation structure. The
    # permuted-filter null sees through the sparsity; the Gaussian one does not.
    scrambled = conv_likeness(shuffled_layer)
    assert abs(scrambled.score) < 0.1 and scrambled.gaussian_score > 0.15
    rows = np.random.default_rng(0).permutation(len(dense))  # order of units is irrelevant
    assert conv_likeness(dense[rows]).score == pytest.approx(1.0)


def test_hand_made_translates_and_flat_filters():
    base = np.zeros((8, 8))
    base[1, 1], base[1, 2], base[2, 1] = 1.0, -2.0, 0.5
    copies = np.stack([np.roll(base, (2, 3), axis=(0, 1)).ravel(), base.ravel()])
    assert conv_likeness(copies).raw == pytest.approx(1.0)
    with_flat = np.vstack((copies, np.full((2, 64), 0.7)))
    result = conv_likeness(with_flat)
    assert result.flat_fraction == 0.5 and result.raw == pytest.approx(1.0)
    # one-pixel filters are translates of each other whatever their arrangement: no evidence
    spikes = np.eye(64)[[3, 17, 40]]
    assert conv_likeness(spikes).raw == pytest.approx(1.0) and conv_likeness(spikes).score == 0
    # the same filter twice at the same place is a duplicate, not a translation
    assert conv_likeness(np.stack([base.ravel(), base.ravel()])).raw < 0.5


@pytest.mark.parametrize("bad", [np.zeros((3, 63)), np.zeros(64), np.full((2, 64), np.nan)])
def test_conv_likeness_rejects_bad_shapes(bad):
    with pytest.raises(ValueError, match="weights"):
        conv_likeness(bad)


def test_distinct_values_count_an_unrolled_conv_as_its_kernel_plus_zero():
    torch.manual_seed(0)
    cnn = build_model("cnn", channels=(2,), n_classes=10)
    fc = build_model("fc", channels=(2,), n_classes=10)
    assert distinct_values_per_layer(cnn) == [2 * 9 + 1]
    (count,) = distinct_values_per_layer(fc)
    assert 0.99 * 2 * 64 * 64 < count <= 2 * 64 * 64  # float32 init: rare exact ties


# ------------------------------------------------------------------ runs
@pytest.fixture(scope="module")
def tiny_result():
    return run(TINY)


def test_same_seed_same_result(tiny_result):
    again = run(TINY)
    assert again.metrics | {"seconds": 0} == tiny_result.metrics | {"seconds": 0}
    for key, value in tiny_result.history.items():
        assert np.array_equal(again.history[key], value), key
    other = run(replace(TINY, seed=1))
    assert not np.array_equal(other.history["filters"], tiny_result.history["filters"])


def test_run_records_history(tiny_result):
    h, m = tiny_result.history, tiny_result.metrics
    assert list(h["epoch"]) == [1, 2]
    assert h["distinct"].shape == (2, 1)
    assert h["snap_step"][0] == 0 and h["snap_step"][-1] == m["steps"]
    assert h["snap_neuron"].shape == (len(h["snap_step"]), 64)
    assert h["filters"].shape[1] == 64
    assert 0 <= m["test_acc"] <= 1 and m["distinct_layer1"] == h["distinct"][-1, 0]


def test_weight_sharing_shares_values():
    plain = run(replace(TINY, model="fc", strength=0.0, epochs=1))
    shared = run(replace(TINY, strength=3.0, epochs=1))
    rows = run(replace(TINY, model="fc_wsr_rows", strength=3.0, epochs=1))
    assert shared.metrics["distinct_layer1"] < plain.metrics["distinct_layer1"] / 10
    assert rows.metrics["distinct_per_unit_layer1"] < 64 / 4


@pytest.mark.parametrize("bad", [dict(variant="cifar"), dict(model="resnet"),
                                 dict(strength=-1.0), dict(lr=0.0), dict(epochs=0),
                                 dict(optimizer="lbfgs"), dict(batch_size=1.5)])
def test_run_config_rejects_bad_values(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        RunConfig(**bad)


def test_results_file_round_trip(tiny_result, tmp_path):
    path = save_results(tmp_path / "r.json", [tiny_result, run(replace(TINY, seed=1))],
                        meta={"note": "x"}, history_for=lambda r: r.config.seed == 0)
    runs, meta = load_results(path)
    assert meta == {"note": "x"} and runs[0].config == TINY
    assert runs[1].history == {} and runs[0].metrics == tiny_result.metrics
    for key, value in tiny_result.history.items():
        np.testing.assert_allclose(runs[0].history[key], value, rtol=1e-3, atol=1e-4)
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="format"):
        load_results(tmp_path / "bad.json")


def test_packed_arrays_keep_equal_values_equal():
    a = np.array([0.1, 0.1, 0.2, -3.5], dtype=np.float64)
    back = decode_array(encode_array(a))
    assert back[0] == back[1] != back[2] and back.shape == a.shape
    ints = np.arange(6).reshape(2, 3)
    assert np.array_equal(decode_array(encode_array(ints)), ints)


# ------------------------------------------------------------------ command line
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "networks", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def test_cli_run_in_a_subprocess(tmp_path):
    out = _cli("run", "--variant", "plain", "--model", "fc_wsr", "--strength", "0.1",
               "--epochs", "1", "--channels", "1", "--seeds", "0", "1",
               "--out", str(tmp_path / "run.json"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "test accuracy" in out.stdout
    runs, _ = load_results(tmp_path / "run.json")
    assert [r.config.seed for r in runs] == [0, 1] and runs[0].config.model == "fc_wsr"


def test_cli_table_writes_json_and_markdown(tmp_path, capsys):
    from networks.__main__ import main

    code = main(["table", "--variants", "plain", "--models", "fc", "fc_wsr", "--seeds", "2",
                 "--epochs", "1", "--channels", "1", "--lr-grid", "0.01",
                 "--strength-grid", "0.1", "--out", str(tmp_path / "t.json"),
                 "--markdown", str(tmp_path / "t.md")])
    assert code == 0
    runs, meta = load_results(tmp_path / "t.json")
    assert len(runs) == 4 and len(meta["rows"]) == 2
    assert {r["model"] for r in meta["rows"]} == {"fc", "fc_wsr"}
    assert [bool(r.history) for r in runs] == [r.config.seed == 0 for r in runs]
    text = (tmp_path / "t.md").read_text()
    assert "| plain | fc_wsr | 0.01 | 0.1 |" in text and "wall time" in text
    assert text in capsys.readouterr().out


def test_cli_reports_bad_arguments(tmp_path, capsys):
    from networks.__main__ import main

    assert main(["run", "--epochs", "0", "--out", str(tmp_path / "x.json")]) == 2
    assert "epochs" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
