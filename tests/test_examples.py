"""The examples run as a user runs them, from a fresh process."""

import os
import pathlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


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


def _run_conformance_project(tmp_path, *arguments, pythonpath: str = ""):
    """`pytest` in examples/conformance_project, as its owner runs it (its pytest.ini adds the cases)."""
    project = EXAMPLES / "conformance_project"
    env = {key: value for key, value in os.environ.items() if key != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rx", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=project, env=env)


def test_the_conformance_project_runs_every_case_as_a_test_under_xdist_with_junit(tmp_path):
    junit = tmp_path / "report.xml"
    result = _run_conformance_project(tmp_path, "-n", "2", f"--junitxml={junit}")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " 13 passed, 2 xfailed in " in result.stdout.splitlines()[-1]  # 14 cases and its own test
    assert "XFAIL keras-cnn-ref::serialization/weights-h5-from-builtin - MyConv2D is not named Conv2D" in result.stdout
    names = {case.get("name") for case in ElementTree.parse(junit).iter("testcase")}
    assert {"documented_model/conv2d", "edge_semantics/conv-bias-is-added", "test_my_conv2d_keeps_its_filters"} <= names


def test_a_failing_case_fails_the_project_s_run_with_its_comparison(tmp_path):
    result = _run_conformance_project(
        tmp_path,
        "--keras-cnn-ref",
        "conv2d=tests.conformance.defects:MissingBiasConv2D",
        "-k",
        "conv-bias-is-added or conv2d_1",
        "-x",
        pythonpath=str(ROOT),  # where the planted defects are
    )
    assert result.returncode == 1 and " 1 failed, 1 passed, 13 deselected in " in result.stdout.splitlines()[-1]
    assert re.search(r"FAILED edge_semantics/conv-bias-is-added \[output\]: first difference at", result.stdout)


def test_a_bad_plugin_option_is_a_pytest_usage_error(tmp_path):
    result = _run_conformance_project(tmp_path, "--keras-cnn-ref", "maxpool2d=my_layers:MyConv2D")
    assert result.returncode == 4  # pytest's status for a usage error
    assert "--keras-cnn-ref maxpool2d=my_layers:MyConv2D: my_layers:MyConv2D is not a MaxPooling2D" in result.stderr
