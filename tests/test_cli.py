"""The `keras-cnn-ref` command, run the way a user runs it."""

import os
import shutil
import subprocess
import sys

import pytest

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
    assert "== documented_model" in lines
    for figure in ("ours=40 | builtin=40 | documented=40", "ours=296 | builtin=296 | documented=296",
                   "ours=1168 | builtin=1168 | documented=1168", "ours=6474 | builtin=6474 | documented=6474",
                   "ours=(5, 5, 8) | builtin=(5, 5, 8) | documented=(5, 5, 8)"):
        assert figure in result.stdout
    assert lines[-1].endswith(" passed, 0 failed")


def test_check_needs_a_subcommand():
    result = subprocess.run([sys.executable, "-m", "keras_cnn_ref"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "check" in result.stderr
