"""The examples run as a user runs them, from a fresh process."""

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def test_mnist_model_prints_both_summaries_side_by_side(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "mnist_model.py")], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "keras_cnn_ref" in first and "builtin_keras" in first
    assert result.stdout.count("1,168") == 2
    assert result.stdout.strip().endswith("parameters: keras_cnn_ref 6474, built-in 6474")
