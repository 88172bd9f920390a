"""The examples run as a user runs them, from a fresh process."""

import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_mnist_model_prints_both_summaries_side_by_side(tmp_path):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_model.py")], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "keras_cnn_ref" in first and "builtin_keras" in first
    assert result.stdout.count("1,168") == 2
    assert result.stdout.strip().endswith("parameters: keras_cnn_ref 6474, built-in 6474")


def test_train_mnist_runs_offline_on_the_bundled_sample(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "KERAS_CNN_REF_MNIST"}
    command = [
        sys.executable,
        str(EXAMPLES / "train_mnist.py"),
        "--epochs",
        "1",
        "--subset",
        "512",
        "--sides",
        "keras_cnn_ref",
        "--out",
        str(tmp_path / "run"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "training on cpu" in result.stdout and (tmp_path / "run" / "mnist_keras_cnn_ref.keras").exists()
    if "using the bundled MNIST sample" in result.stderr:  # no network: said, and credited
        assert "CC BY-SA 3.0" in result.stderr
