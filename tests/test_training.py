"""A short side-by-side training run on the bundled sample."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_cnn_ref.cli import main
from keras_cnn_ref.datasets import SAMPLE_PATH


def test_short_run_learns_and_writes_plot_results_and_reloadable_models(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(
        [
            "train",
            "--data",
            str(SAMPLE_PATH),
            "--epochs",
            "3",
            "--batch-size",
            "64",
            "--learning-rate",
            "3e-3",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert status == 0 and "training on cpu" in printed and "weight gap" in printed
    headers = [line for line in printed.splitlines() if line.startswith(("[", "Epoch "))]  # "Epoch ": Keras's own
    assert headers == [f"[{side}] epoch {epoch}/3" for epoch in (1, 2, 3) for side in ("keras_cnn_ref", "builtin")]
    results = json.loads((out / "results.json").read_text())
    for side in ("keras_cnn_ref", "builtin"):
        epochs = results["history"][side]
        assert epochs[-1]["loss"] < epochs[0]["loss"]
        assert epochs[-1]["test_accuracy"] > 0.5  # chance is 0.1
    ours, builtin = results["history"]["keras_cnn_ref"], results["history"]["builtin"]
    assert abs(ours[-1]["test_accuracy"] - builtin[-1]["test_accuracy"]) <= 0.02
    assert results["weight_gap_after_epoch"][0] < 1e-4  # float32 round-off, not divergence
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    script = (
        "import sys, numpy as np, keras_cnn_ref, keras; m = keras.saving.load_model(sys.argv[1]); "
        "print(type(m.layers[0]).__module__, m.predict(np.zeros((2, 28, 28, 1), 'float32'), verbose=0).shape)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script, str(out / "mnist_keras_cnn_ref.keras")],
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"},
    )
    assert loaded.stdout.split() == ["keras_cnn_ref.layers._conv", "(2,", "10)"], loaded.stderr


def test_sides_both_is_both_sides(tmp_path):
    assert (
        main(
            [
                "train",
                "--data",
                str(SAMPLE_PATH),
                "--epochs",
                "1",
                "--subset",
                "256",
                "--sides",
                "both",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["history"]) == ["keras_cnn_ref", "builtin"] and len(results["weight_gap_after_epoch"]) == 1


@pytest.mark.quick
def test_the_plot_after_one_epoch_shows_every_point_on_plain_axes():
    from keras_cnn_ref.training import learning_curves_figure

    row = {"epoch": 1, "loss": 2.2695, "accuracy": 0.1832, "test_accuracy": 0.2101}
    history = {"keras_cnn_ref": [row], "builtin": [{**row, "loss": 2.2695001}]}
    figure = learning_curves_figure({"history": history, "data": "file mnist.npz"})
    figure.canvas.draw()
    for axes in figure.axes:
        assert all(line.get_marker() not in (None, "None", "") for line in axes.get_lines())
        assert axes.yaxis.get_offset_text().get_text() == ""  # no "1e-7+2.2695" above the axis
        low, high = axes.get_ylim()
        assert high - low >= 0.01 * max(abs(low), abs(high))  # ticks a readable distance apart
        left, right = axes.get_xlim()
        assert [tick for tick in axes.get_xticks() if left <= tick <= right] == [1]  # whole epochs


def test_one_side_alone_and_a_subset(tmp_path):
    assert (
        main(
            [
                "train",
                "--data",
                str(SAMPLE_PATH),
                "--epochs",
                "1",
                "--subset",
                "256",
                "--sides",
                "builtin",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert list(results["history"]) == ["builtin"] and results["weight_gap_after_epoch"] == []
    assert np.isfinite(results["history"]["builtin"][0]["loss"])


def test_without_matplotlib_the_plot_is_skipped_with_the_install_hint(tmp_path, monkeypatch, capsys):
    from keras_cnn_ref.training import plot_learning_curves

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    plot_learning_curves({"history": {}, "data": "x"}, tmp_path / "curves.png")
    assert "pip install 'keras-cnn-ref[plot]'" in capsys.readouterr().out
    assert not (tmp_path / "curves.png").exists()
