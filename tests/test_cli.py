"""The `keras-cnn-ref` command, run the way a user runs it."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_cnn_ref import kernels
from keras_cnn_ref.cli import TYPICAL_TIMES, main

COMMANDS = {
    "console-script": [shutil.which("keras-cnn-ref", path=os.path.dirname(sys.executable))],
    "python-m": [sys.executable, "-m", "keras_cnn_ref"],
}


@pytest.mark.parametrize("name", COMMANDS)
def test_check_reports_the_documented_model_and_exits_zero(name, tmp_path):
    command = [*COMMANDS[name], "check", "--select", "documented_model"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tested: keras_cnn_ref 0.1.0's layers and plugin (plan: exact) | builtin: Keras 3.")
    assert "== documented_model" in lines
    for figure in (
        "tested=40 | builtin=40 | documented=40",
        "tested=296 | builtin=296 | documented=296",
        "tested=1168 | builtin=1168 | documented=1168",
        "tested=6474 | builtin=6474 | documented=6474",
        "tested=(5, 5, 8) | builtin=(5, 5, 8) | documented=(5, 5, 8)",
    ):
        assert figure in result.stdout
    assert lines[-1] == "cases: 11 passed, 0 failed (51 comparisons, 0 failed)"


def test_a_module_in_the_current_folder_is_found_and_named_at_the_top(tmp_path):
    (tmp_path / "mymod.py").write_text(
        textwrap.dedent("""
        import keras_cnn_ref

        class MyConv2D(keras_cnn_ref.Conv2D):
            pass
    """)
    )
    command = [
        *COMMANDS["console-script"],
        "check",
        "--conv2d",
        "mymod:MyConv2D",
        "--select",
        "documented_model/conv2d",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("tested: mymod:MyConv2D (--conv2d), and keras_cnn_ref 0.1.0's other layers")


@pytest.mark.quick
@pytest.mark.parametrize(
    "option, path, reason",
    [
        ("--json", "no/such/folder/report.json", "no folder no/such/folder to write report.json in"),
        ("--junit", ".", ". is a folder"),
    ],
)
def test_an_unwritable_report_path_is_one_line_and_status_2_before_any_case_runs(
    option, path, reason, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--select", "documented_model", option, path]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no header, no progress: nothing ran
    assert captured.err == f"keras-cnn-ref check: {option} {path}: {reason}.\n"


@pytest.mark.quick
def test_a_usage_error_is_one_line_and_status_2():
    result = subprocess.run([sys.executable, "-m", "keras_cnn_ref"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "keras-cnn-ref: the following arguments are required: {check,train,bench} (see keras-cnn-ref --help)\n"
    )


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--epochs", "0"], "argument --epochs: must be a whole number, 1 or more. Received: '0'"),
        (["--batch-size", "-8"], "argument --batch-size: must be a whole number, 1 or more. Received: '-8'"),
        (["--sides", "ours"], "--sides takes keras_cnn_ref, builtin or both, comma-separated. Received: 'ours'"),
        (["--data", "no-such-mnist.npz"], "keras-cnn-ref train: --data no-such-mnist.npz: no such file.\n"),
        (["--data", "text.npz"], "--data text.npz: not an .npz file (a zip of NumPy arrays, as numpy.savez writes"),
        (
            ["--data", "keys.npz"],
            "--data keys.npz: an MNIST file needs the arrays x_train, y_train, x_test, "
            "y_test (Keras's mnist.npz layout); it lacks y_train, y_test.\n",
        ),
    ],
)
def test_train_refuses_bad_arguments_with_status_2(arguments, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "text.npz").write_text("x_train,y_train\n1,2\n")
    np.savez(tmp_path / "keys.npz", x_train=np.zeros((1, 28, 28)), x_test=np.zeros((1, 28, 28)))
    try:
        status = main(["train", "--out", str(tmp_path / "run"), *arguments])
    except SystemExit as exit:  # argparse's own errors
        status = exit.code
    error = capsys.readouterr().err
    assert status == 2 and message in error and error.count("\n") == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.quick
def test_the_plan_runs_the_check_under_a_policy_and_is_recorded(tmp_path, capsys):
    try:
        assert (
            main(["check", "--select", "documented_model/conv2d", "--plan", "fast", "--json", str(tmp_path / "r.json")])
            == 0
        )
        assert "(plan: fast)" in capsys.readouterr().out.splitlines()[0]
        assert json.loads((tmp_path / "r.json").read_text())["summary"]["versions"]["plan"] == "fast"
        assert os.environ["KERAS_CNN_REF_POLICY"] == "fast"  # for the runner's worker processes too
    finally:
        os.environ.pop("KERAS_CNN_REF_POLICY", None)
        kernels.set_policy("exact")


@pytest.mark.quick
def test_a_plan_that_is_not_one_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--plan", "quickest"])
    assert exit_info.value.code == 2
    assert "argument --plan: invalid choice: 'quickest'" in capsys.readouterr().err


def test_under_another_plan_the_summary_names_the_cases_that_deviate():
    from keras_cnn_ref.compare import Comparison
    from keras_cnn_ref.conformance.report import Result, summary_line

    results = [
        Result("layer_grid", "conv2d-a", "output", Comparison(False)),
        Result("model_level", "b", "x", Comparison(True)),
    ]
    assert summary_line(results) == "cases: 1 passed, 1 failed (2 comparisons, 1 failed)"
    assert summary_line(results, "fast") == (
        "cases: 1 passed, 1 failed (2 comparisons, 1 failed); under the fast plan these cases deviate from "
        "built-in: layer_grid/conv2d-a"
    )


@pytest.mark.quick
def test_a_bench_data_file_that_is_not_mnist_is_a_usage_error_before_any_timing(tmp_path, capsys):
    (tmp_path / "text.npz").write_text("not a zip")
    assert main(["bench", "--quick", "--data", str(tmp_path / "text.npz")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(
        f"keras-cnn-ref bench: --data {tmp_path / 'text.npz'}: not an"
    )


@pytest.mark.quick
def test_a_closed_pipe_ends_the_listing_quietly():
    listing = subprocess.Popen(
        [*COMMANDS["python-m"], "check", "--list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    listing.stdout.close()  # the reader is gone before a line is written, as `| head` leaves early
    assert listing.wait(timeout=120) == 141 and listing.stderr.read() == ""  # 128 + SIGPIPE, no traceback


@pytest.mark.quick
def test_the_help_answers_sections_times_selections_exit_codes_and_defaults(capsys):
    helps = {}
    for command in ("check", "train", "bench"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        helps[command] = " ".join(capsys.readouterr().out.split())
    typical = json.loads(TYPICAL_TIMES.read_text())
    for name, section in typical["sections"].items():
        assert f" {name} {section['cases']} cases " in helps["check"]
    assert "all (a bare check) 811 cases about " in helps["check"] and '"layer_grid/conv2d-*"' in helps["check"]
    assert "exit status: 0 when every comparison holds, 1 when one fails, 2 for a usage error" in helps["check"]
    for default in ("(default: 10)", "(default: 128)", "(default: 0.001)", "(default: 0)", "(default: mnist-run)"):
        assert default in helps["train"]
    assert f"about {typical['bench_quick_seconds']:.0f} s on 2 CPU cores" in helps["bench"]
    assert f"(the full run: about {typical['bench_full_seconds'] / 60:.0f} min)" in helps["bench"]
